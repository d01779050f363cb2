"""Every differentiable op of minigrad, one family per file.

    arithmetic.py   + - * / ** neg matmul
    elementwise.py  exp log sqrt abs relu sigmoid tanh maximum minimum clip cast
    reduction.py    sum mean max var argmax
    shape.py        reshape permute transpose flatten squeeze unsqueeze getitem cat stack pad
    softmax.py      softmax log_softmax
    normalization.py  layer_norm group_norm instance_norm (on BN's fused op: batchnorm.py)
"""
from minigrad.ops.common import raw  # noqa: F401
from minigrad.ops.arithmetic import add, sub, mul, div, neg, pow, matmul  # noqa: F401
from minigrad.ops.elementwise import (  # noqa: F401
    exp, log, sqrt, abs, relu, sigmoid, tanh, maximum, minimum, clip, cast)
from minigrad.ops.reduction import sum, mean, max, var, argmax  # noqa: F401
from minigrad.ops.shape import (  # noqa: F401
    reshape, permute, transpose, flatten, squeeze, unsqueeze, getitem, cat, stack, pad)
from minigrad.ops.softmax import softmax, log_softmax  # noqa: F401
from minigrad.ops.normalization import layer_norm, group_norm, instance_norm  # noqa: F401,E402
