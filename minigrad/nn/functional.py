"""Stateless layer functions with PyTorch's names and argument orders.

    import minigrad.nn.functional as F
    y = F.relu(F.conv2d(x, weight, bias, padding=1))
    loss = F.cross_entropy(logits, labels)

Every function here routes to an op in minigrad/ops; the layer modules in
minigrad/nn call these, so a module and its function run the same code.
"""
from minigrad import ops
from minigrad.ops.activation import (  # noqa: F401
    leaky_relu, gelu, elu, silu, softplus, hardtanh)
from minigrad.ops.elementwise import relu, sigmoid, tanh  # noqa: F401
from minigrad.ops.binary_loss import (  # noqa: F401
    binary_cross_entropy, binary_cross_entropy_with_logits)
from minigrad.ops.linear import linear  # noqa: F401
from minigrad.ops.conv_forms import conv1d, conv2d, conv_transpose2d  # noqa: F401
from minigrad.ops.dropout import dropout  # noqa: F401
from minigrad.ops.loss import cross_entropy, nll_loss, mse_loss  # noqa: F401
from minigrad.ops.pool import max_pool2d, avg_pool2d, adaptive_avg_pool2d  # noqa: F401

__all__ = ["linear", "conv1d", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d",
           "adaptive_avg_pool2d", "relu", "sigmoid", "tanh", "leaky_relu", "gelu", "elu",
           "silu", "softplus", "hardtanh", "dropout", "log_softmax", "softmax", "cross_entropy",
           "nll_loss", "mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "pad", "batch_norm", "layer_norm", "group_norm", "instance_norm"]


def implicit_softmax_dim(ndim: int) -> int:
    """PyTorch's legacy choice when no dim is given: 0 for 0-, 1- and 3-D inputs, else 1."""
    return 0 if ndim in (0, 1, 3) else 1


def softmax(x, dim=None):
    return ops.softmax(x, implicit_softmax_dim(x.ndim) if dim is None else dim)


def log_softmax(x, dim=None):
    return ops.log_softmax(x, implicit_softmax_dim(x.ndim) if dim is None else dim)


def pad(x, pad, mode="constant", value=0.0):
    """Constant padding; `pad` lists (before, after) from the last axis:
    (left, right, top, bottom)."""
    if mode != "constant":
        raise ValueError(f"pad supports mode='constant' only, got {mode!r}")
    return ops.pad(x, pad, value=0.0 if value is None else value)


# ---- batch normalization: the fused op and its checks live in minigrad/ops/batchnorm.py ----
from minigrad.ops.batchnorm import batch_norm  # noqa: E402,F401
from minigrad.ops.normalization import layer_norm, group_norm, instance_norm  # noqa: E402,F401
