"""Elementwise functions: exp, log, sqrt, abs, relu, sigmoid, tanh, sin, cos, erf,
maximum/minimum, clip (composed: where), and the non-differentiable cast."""
import math

import numpy as np

from minigrad.autograd import Function
from minigrad.kernels import activation as activation_kernels
from minigrad.tensor import check_dtype
from minigrad.ops.common import broadcast_pair, check_float, to_float
from minigrad.ops.select import where


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


def relu(x):
    if x.ndim == 0:                      # the kernel works on >= 1-D arrays; keep the shape ()
        return ReLU.apply(x.reshape(1)).reshape(())
    return ReLU.apply(x)


class Unary(Function):
    """y = f(x) whose derivative is a function of x, or of y when `of_output` (then
    y is what the backward keeps). The unary ops below are rows of this table:
    each row (`_unary`) sets f, derivative and of_output."""

    def forward(self, x):
        y = self.f(x)
        self.save_for_backward(y if self.of_output else x)
        return y

    def backward(self, grad):
        return grad * self.derivative(self.saved_arrays[0])


def _unary(name, f, derivative, of_output=False, prepare=to_float):
    """One row of the table: the Function `name` (forward f, backward grad *
    derivative) and the op that applies it to `prepare(x)`. The default, to_float,
    computes a float function of an integer or boolean tensor in float32 (PyTorch's rule)."""
    body = dict(f=staticmethod(f), derivative=staticmethod(derivative), of_output=of_output)
    op = type(name, (Unary,), body)

    def apply(x):
        return op.apply(prepare(x))
    apply.__name__ = apply.__qualname__ = name.lower()
    return apply


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow: exp only ever sees -|x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _float_only(x):
    check_float("erf", x)
    return x


# numpy has no erf, so each element goes through math.erf: exact, but a Python call each.
_erf = np.frompyfunc(math.erf, 1, 1)

exp = _unary("Exp", np.exp, lambda y: y, of_output=True)
log = _unary("Log", np.log, lambda x: 1 / x)
sqrt = _unary("Sqrt", np.sqrt, lambda y: 0.5 / y, of_output=True)
abs = _unary("Abs", np.abs, np.sign, prepare=lambda x: x)      # the gradient at 0 is 0; ints stay
sigmoid = _unary("Sigmoid", stable_sigmoid, lambda y: y * (1 - y), of_output=True)
tanh = _unary("Tanh", np.tanh, lambda y: 1 - y * y, of_output=True)
sin = _unary("Sin", np.sin, np.cos)
cos = _unary("Cos", np.cos, lambda x: -np.sin(x))
erf = _unary("Erf", lambda x: _erf(x).astype(x.dtype),
             lambda x: (2 / math.sqrt(math.pi)) * np.exp(-x * x), prepare=_float_only)


class Maximum(Function):
    """Elementwise max; where a == b each side gets half the gradient (as PyTorch)."""

    pick, wins = staticmethod(np.maximum), staticmethod(np.greater)

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.pick(a, b)

    def backward(self, grad):
        a, b = self.saved_arrays
        share_a = (self.wins(a, b) + 0.5 * (a == b)).astype(grad.dtype)
        return grad * share_a, grad * (1 - share_a)


class Minimum(Maximum):
    """Elementwise min, with maximum's tie rule."""

    pick, wins = staticmethod(np.minimum), staticmethod(np.less)


class Cast(Function):
    """Change dtype; the gradient is cast back by the engine."""

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, grad):
        return grad


def maximum(a, b):
    return Maximum.apply(*broadcast_pair("maximum", a, b))


def minimum(a, b):
    return Minimum.apply(*broadcast_pair("minimum", a, b))


def clip(x, min=None, max=None):
    """x clamped to [min, max]; the gradient passes where min <= x <= max (as PyTorch)."""
    if min is None and max is None:
        raise ValueError("clip needs at least one of min and max")
    low, high = -np.inf if min is None else min, np.inf if max is None else max
    if low > high:
        raise ValueError(f"clip: min ({min}) is greater than max ({max})")
    return where((x.data >= low) & (x.data <= high), x, np.clip(x.data, min, max))


def cast(x, dtype):
    check_dtype(dtype, "astype")
    if x.dtype == dtype:
        return x
    integer = np.dtype(dtype).kind != "f"            # an integer result has no gradient
    return Cast.apply(x.detach() if integer else x, dtype=dtype)
