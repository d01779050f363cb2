"""The two weighted layers as ops: linear (x @ W.T + b) and conv2d.

Each is one Function, so a layer is one node of the graph and its backward
makes one BLAS call per gradient. The convolution's arithmetic lives in
minigrad/kernels/*/conv.py (im2col + matrix product); this file checks the
arguments, normalises ints to (h, w) pairs and links the kernels to autograd.

Every check runs before any work, and errors name the numbers involved.
"""
import numbers

import numpy as np

from minigrad.autograd import Function
from minigrad.kernels import conv as conv_kernels


def pair(value, name: str) -> tuple:
    """An int or a pair of ints -> (h, w); anything else is a TypeError/ValueError."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        return int(value[0]), int(value[1])
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def positive_int(value, name: str, at_least: int = 1) -> int:
    """A layer size or count: an int >= `at_least`, else an error naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < at_least:
        raise ValueError(f"{name} must be at least {at_least}, got {value}")
    return int(value)


def check_same_float_dtype(op: str, **arrays) -> None:
    """PyTorch refuses to mix dtypes in a layer; numpy would silently upcast."""
    present = {name: a for name, a in arrays.items() if a is not None}
    dtypes = {a.dtype for a in present.values()}
    first = next(iter(present.values()))
    if len(dtypes) > 1 or first.dtype.kind != "f":
        listed = ", ".join(f"{name} {a.dtype}" for name, a in present.items())
        raise TypeError(f"{op} needs one float dtype for all of its inputs, got {listed}")


# ---------------------------------------------------------------- linear

class Linear(Function):
    """y = x @ weight.T + bias.

    x: (..., in_features), weight: (out_features, in_features), bias: (out_features,)
    -> (..., out_features). Leading axes are flattened into one batch axis, so
    forward and each gradient is a single 2-D matrix product.
    """

    owned_grads = (0, 1, 2)              # matrix products and a sum: new arrays

    def forward(self, x, weight, bias=None):
        self.x_shape = x.shape
        x2 = x.reshape(-1, x.shape[-1])                 # (B, in)
        self.save_for_backward(x2, weight)
        out = x2 @ weight.T                             # (B, out)
        if bias is not None:
            out += bias
        return out.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, grad):
        grad2 = grad.reshape(-1, grad.shape[-1])       # (B, out)
        x2, weight = self.saved_arrays
        need_x, need_weight, *need_bias = self.needs_input_grad     # need_bias is [] without a bias
        dx = (grad2 @ weight).reshape(self.x_shape) if need_x else None
        dweight = grad2.T @ x2 if need_weight else None                 # (out, in)
        if not need_bias:
            return dx, dweight
        return dx, dweight, (grad2.sum(axis=0) if need_bias[0] else None)


def linear(x, weight, bias=None):
    """x (..., in) @ weight (out, in).T + bias (out,) -> (..., out)."""
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} features, "
                         f"weight {weight.shape} expects {weight.shape[1]}")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias of shape {bias.shape} does not match {weight.shape[0]} output features")
    check_same_float_dtype("linear", input=x, weight=weight, bias=bias)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Linear.apply(*inputs)


# ---------------------------------------------------------------- conv2d

class Conv2d(Function):
    """2-D cross-correlation, PyTorch's layout.

    x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O,) -> (N, O, OH, OW) with
    OH = floor((H + 2*ph - dh*(kh-1) - 1) / sh) + 1 (and likewise OW).
    """

    def forward(self, x, weight, bias=None, *, stride, padding, dilation):
        out, cache = conv_kernels.conv2d_forward(x, weight, bias, stride, padding, dilation)
        # The kernel's cache is (cols, x shape, weight, flags...): the two arrays
        # are saved, the small rest kept as is.
        self.save_for_backward(cache[0], cache[2])
        self.cache_rest = cache[1:2] + cache[3:]
        return out

    def backward(self, grad):
        cols, weight = self.saved_arrays
        cache = (cols, self.cache_rest[0], weight) + self.cache_rest[1:]
        dx, dweight, dbias = conv_kernels.conv2d_backward(grad, cache,
                                                          need_dx=self.needs_input_grad[0])
        if len(self.needs_input_grad) == 2:
            return dx, dweight
        return dx, dweight, dbias


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """x (N, C, H, W) conv weight (O, C, kh, kw) [+ bias (O,)] -> (N, O, OH, OW)."""
    stride, padding, dilation = pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"conv2d: stride {stride} and dilation {dilation} must be >= 1 "
                         f"and padding {padding} >= 0")
    if x.ndim != 4:
        raise ValueError(f"conv2d expects a 4-D input (N, C, H, W), got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"conv2d expects a 4-D weight (out_channels, in_channels, kh, kw), got shape {weight.shape}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: input has {x.shape[1]} channels but the weight {weight.shape} "
                         f"expects {weight.shape[1]} input channels")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"conv2d: bias of shape {bias.shape} does not match {weight.shape[0]} output channels")
    check_same_float_dtype("conv2d", input=x, weight=weight, bias=bias)
    for axis, name in ((0, "height"), (1, "width")):
        padded = x.shape[2 + axis] + 2 * padding[axis]
        span = dilation[axis] * (weight.shape[2 + axis] - 1) + 1
        if span > padded:
            raise ValueError(f"conv2d: kernel {name} {weight.shape[2 + axis]} (dilation {dilation[axis]}, "
                             f"spanning {span}) is larger than the padded input {name} {padded} "
                             f"(input {x.shape}, padding {padding})")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=padding, dilation=dilation)
