"""Layers, losses, initialisation and the Module system, with PyTorch's names.

    import minigrad.nn as nn
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 14 * 14, 10))
"""
from minigrad.nn import functional, init  # noqa: F401
from minigrad.nn.module import Module, Sequential, Identity, Flatten, RemovableHandle  # noqa: F401
from minigrad.nn.parameter import Parameter  # noqa: F401
from minigrad.nn.linear import Linear  # noqa: F401
from minigrad.nn.conv import Conv1d, Conv2d, ConvTranspose2d  # noqa: F401
from minigrad.nn.pooling import MaxPool2d, AvgPool2d, AdaptiveAvgPool2d  # noqa: F401
from minigrad.nn.activation import (  # noqa: F401
    ReLU, Sigmoid, Tanh, Softmax, LogSoftmax, LeakyReLU, GELU, ELU, SiLU, Softplus, Hardtanh)
from minigrad.nn.dropout import Dropout  # noqa: F401
from minigrad.nn.loss import (  # noqa: F401
    CrossEntropyLoss, NLLLoss, MSELoss, BCELoss, BCEWithLogitsLoss)
from minigrad.nn.batchnorm import BatchNorm1d, BatchNorm2d  # noqa: F401
from minigrad.nn.normalization import (  # noqa: F401
    LayerNorm, GroupNorm, InstanceNorm1d, InstanceNorm2d)
from minigrad.nn import utils  # noqa: F401
