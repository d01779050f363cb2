"""Every differentiable op of minigrad, one family per file.

    arithmetic.py   + - * / ** neg matmul
    elementwise.py  exp log sqrt abs relu sigmoid tanh sin cos erf maximum minimum clip cast
    reduction.py    sum mean max min var std cumsum argmax argmin
    shape.py        reshape permute transpose flatten squeeze unsqueeze getitem cat stack pad
                    expand repeat flip
    select.py       where masked_fill gather tril triu
    softmax.py      softmax log_softmax
    activation.py   leaky_relu gelu elu silu softplus hardtanh
    normalization.py  layer_norm group_norm instance_norm (on BN's fused op: batchnorm.py)
"""
from minigrad.ops.common import raw  # noqa: F401
from minigrad.ops.arithmetic import add, sub, mul, div, neg, pow, matmul  # noqa: F401
from minigrad.ops.elementwise import (  # noqa: F401
    exp, log, sqrt, abs, relu, sigmoid, tanh, sin, cos, erf, maximum, minimum, clip, cast)
from minigrad.ops.reduction import (  # noqa: F401
    sum, mean, max, min, var, std, cumsum, argmax, argmin)
from minigrad.ops.shape import (  # noqa: F401
    reshape, permute, transpose, flatten, squeeze, unsqueeze, getitem, cat, stack, pad,
    expand, repeat, flip)
from minigrad.ops.select import where, masked_fill, gather, tril, triu  # noqa: F401
from minigrad.ops.softmax import softmax, log_softmax  # noqa: F401
from minigrad.ops.activation import leaky_relu, gelu, elu, silu, softplus, hardtanh  # noqa: F401

# Tensor methods that are the op itself (the tensor is the op's first argument), set
# here rather than written out in tensor.py to keep the engine small.
from minigrad.tensor import Tensor as _Tensor  # noqa: E402
for _name in ("matmul exp log sqrt abs relu sigmoid tanh sin cos erf maximum minimum clip sum "
              "mean max min var std cumsum argmax argmin reshape transpose permute flatten "
              "squeeze unsqueeze expand repeat flip gather masked_fill tril triu softmax "
              "log_softmax").split():
    setattr(_Tensor, _name, globals()[_name])
_Tensor.view, _Tensor.clamp = reshape, clip


def _swapped(op):
    """op with its operands swapped: a reflected operator (2 - t calls t.__rsub__(2))."""
    return lambda self, other: op(other, self)


# The operators are the ops too; each reflected one is its op swapped.
for _name, _op in dict(add=add, sub=sub, mul=mul, truediv=div, pow=pow, matmul=matmul).items():
    setattr(_Tensor, f"__{_name}__", _op)
    setattr(_Tensor, f"__r{_name}__", _swapped(_op))
_Tensor.__getitem__, _Tensor.__neg__ = getitem, neg
from minigrad.ops.normalization import layer_norm, group_norm, instance_norm  # noqa: F401,E402
