"""Elementwise functions: exp, log, sqrt, abs, relu, sigmoid, tanh, sin, cos, erf,
maximum/minimum, clip, and the non-differentiable cast."""
import math

import numpy as np

from minigrad.autograd import Function
from minigrad.kernels import activation as activation_kernels
from minigrad.tensor import check_dtype
from minigrad.ops.common import check_broadcastable, pair_of_tensors, to_float


class Exp(Function):
    def forward(self, x):
        y = np.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        return grad * self.saved_arrays[0]


class Log(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return np.log(x)

    def backward(self, grad):
        return grad / self.saved_arrays[0]


class Sqrt(Function):
    def forward(self, x):
        y = np.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        return grad / (2 * self.saved_arrays[0])


class Abs(Function):
    """|x|; the gradient at 0 is 0 (np.sign), as in PyTorch."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.abs(x)

    def backward(self, grad):
        return grad * np.sign(self.saved_arrays[0])


class ReLU(Function):
    """max(x, 0); the gradient at 0 is 0, as in PyTorch.

    It sits after every conv of a CNN, so it runs on parallel numba kernels
    (numpy's elementwise ops use one core): kernels/fast/activation.py, with
    the numpy reference in kernels/reference/activation.py.
    """

    def forward(self, x):
        y = activation_kernels.relu_forward(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        return activation_kernels.relu_backward(grad, self.saved_arrays[0])


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow: exp only ever sees -|x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid(Function):
    def forward(self, x):
        y = stable_sigmoid(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_arrays
        return grad * y * (1 - y)


class Tanh(Function):
    def forward(self, x):
        y = np.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_arrays
        return grad * (1 - y * y)


class Sin(Function):
    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, grad):
        return grad * np.cos(self.x)


class Cos(Function):
    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, grad):
        return -grad * np.sin(self.x)


_erf = np.frompyfunc(math.erf, 1, 1)


class Erf(Function):
    """The error function (for the exact GELU). numpy has no erf, so each element
    goes through math.erf: exact, but a Python call per element."""

    def forward(self, x):
        self.x = x
        return _erf(x).astype(x.dtype)

    def backward(self, grad):
        return grad * (2 / math.sqrt(math.pi)) * np.exp(-self.x * self.x)


class Maximum(Function):
    """Elementwise max; where a == b each side gets half the gradient (as PyTorch)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return np.maximum(a, b)

    def backward(self, grad):
        a, b = self.saved_arrays
        share_a = (a > b) + 0.5 * (a == b)
        share_a = share_a.astype(grad.dtype)
        return grad * share_a, grad * (1 - share_a)


class Minimum(Function):
    """Elementwise min; where a == b each side gets half the gradient (as PyTorch)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return np.minimum(a, b)

    def backward(self, grad):
        a, b = self.saved_arrays
        share_a = (a < b) + 0.5 * (a == b)
        share_a = share_a.astype(grad.dtype)
        return grad * share_a, grad * (1 - share_a)


class Clip(Function):
    """Clamp to [low, high]; the gradient passes where low <= x <= high (as PyTorch)."""

    def forward(self, x, low, high):
        inside = np.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        self.save_for_backward(inside)
        return np.clip(x, low, high)

    def backward(self, grad):
        return grad * self.saved_arrays[0]


class Cast(Function):
    """Change dtype; the gradient is cast back by the engine."""

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, grad):
        return grad


# Float functions of integer or boolean tensors compute in float32 (PyTorch's rule).
def exp(x): return Exp.apply(to_float(x))
def log(x): return Log.apply(to_float(x))
def sqrt(x): return Sqrt.apply(to_float(x))
def sigmoid(x): return Sigmoid.apply(to_float(x))
def tanh(x): return Tanh.apply(to_float(x))
def abs(x): return Abs.apply(x)


def relu(x):
    if x.ndim == 0:                      # the kernel works on >= 1-D arrays; keep the shape ()
        return ReLU.apply(x.reshape(1)).reshape(())
    return ReLU.apply(x)
def sin(x): return Sin.apply(to_float(x))
def cos(x): return Cos.apply(to_float(x))


def erf(x):
    if x.dtype.kind != "f":
        raise TypeError(f"erf needs a float tensor, got dtype {x.dtype}")
    return Erf.apply(x)


def maximum(a, b):
    a, b = pair_of_tensors(a, b, op="maximum")
    check_broadcastable("maximum", a, b)
    return Maximum.apply(a, b)


def minimum(a, b):
    a, b = pair_of_tensors(a, b, op="minimum")
    check_broadcastable("minimum", a, b)
    return Minimum.apply(a, b)


def clip(x, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clip needs at least one of min and max")
    if min is not None and max is not None and min > max:
        raise ValueError(f"clip: min ({min}) is greater than max ({max})")
    cast = x.dtype.type if x.dtype.kind == "f" else (lambda v: v)
    low = None if min is None else cast(min)
    high = None if max is None else cast(max)
    return Clip.apply(x, low=low, high=high)


def cast(x, dtype):
    check_dtype(dtype, "astype")
    if x.dtype == dtype:
        return x
    if x.requires_grad and np.dtype(dtype).kind != "f":
        return Cast.apply(x.detach(), dtype=dtype)
    return Cast.apply(x, dtype=dtype)
