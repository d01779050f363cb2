"""+ - * / ** negation and matmul.

Binary ops broadcast as numpy does; their backward returns gradients in the
broadcast shape and the engine sums them back (autograd.unbroadcast).
"""
import numpy as np

from minigrad.autograd import Function
from minigrad.ops.common import broadcast_pair, broadcast_shape, is_real, pair_of_tensors
from minigrad.tensor import Tensor


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Mul(Function):
    owned_grads = (0, 1)                 # both products are new arrays

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved_arrays
        return grad * b, grad * a


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, grad):
        a, b = self.saved_arrays
        grad_a = grad / b
        return grad_a, -grad_a * a / b


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, grad):
        return -grad


class Pow(Function):
    """a ** b, b a tensor or a constant `exponent` (a number of a's dtype).

    Gradients as PyTorch defines them at the edges: d/da is 0 where b == 0 (even at
    a = 0), and d/db = a ** b * log(a) is 0 where a == 0 and b >= 0 (its limit), so
    0 ** b stays differentiable in b; a negative base gives nan for d/db (log of it)."""

    def forward(self, a, b=None, *, exponent=None):
        # A constant exponent is a param, not an input: graphs show x ** 2 as one node.
        b = np.asarray(exponent) if b is None else b
        self.needs_b = self.needs_input_grad[1:] == (True,)
        y = a ** b
        self.save_for_backward(a, b, y if self.needs_b else None)
        return y

    def backward(self, grad):
        a, b, y = self.saved_arrays
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:
                grad_a = grad * np.where(b == 0, 0, b * a ** (b - 1))
            if self.needs_b:
                grad_b = grad * np.where((a == 0) & (b >= 0), 0, y * np.log(a))
        return (grad_a, grad_b)[:len(self.needs_input_grad)]


class MatMul(Function):
    """a @ b with numpy's rules: 2-D, or batched with broadcast batch axes.

    a: (..., n, k), b: (..., k, m) -> (..., n, m). 1-D operands are treated as
    a row (a) or a column (b) and that axis is dropped from the result.
    """

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, grad):
        a, b = self.saved_arrays
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:                  # the column axis first: for 1-D @ 1-D, grad is 0-d
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        grad_a = g @ np.swapaxes(b2, -1, -2) if self.needs_input_grad[0] else None
        grad_b = np.swapaxes(a2, -1, -2) @ g if self.needs_input_grad[1] else None
        if a.ndim == 1 and grad_a is not None:
            grad_a = grad_a.reshape(grad_a.shape[:-2] + grad_a.shape[-1:])
        if b.ndim == 1 and grad_b is not None:
            grad_b = grad_b[..., 0]
        return grad_a, grad_b


def add(a, b):
    return Add.apply(*broadcast_pair("add", a, b))


def sub(a, b):
    a, b = broadcast_pair("sub", a, b)
    return Add.apply(a, Neg.apply(b))


def mul(a, b):
    return Mul.apply(*broadcast_pair("mul", a, b))


def div(a, b):
    return Div.apply(*broadcast_pair("div", a, b, true_division=True))


def neg(a):
    return Neg.apply(a)


def pow(x, exponent):
    """x ** exponent: a constant real exponent, or a tensor one (then either side may be
    a constant, e.g. 2 ** t, and both broadcast)."""
    if isinstance(exponent, (Tensor, np.ndarray)) or not isinstance(x, Tensor):
        a, b = broadcast_pair("pow", x, exponent)
        if a.dtype.kind != "f" or b.dtype.kind != "f":
            raise TypeError(f"pow: a tensor exponent needs floats, got {a.dtype} and {b.dtype}")
        return Pow.apply(a, b)
    if not is_real(exponent):
        raise TypeError(f"pow supports a real number or a tensor as exponent, "
                        f"got {type(exponent).__name__}")
    if x.dtype.kind == "f":
        exponent = x.dtype.type(exponent)   # a Python float must not upcast float32
    return Pow.apply(x, exponent=exponent)


def matmul(a, b):
    a, b = pair_of_tensors(a, b, op="matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul needs at least 1-D operands, got shapes {a.shape} and {b.shape}")
    inner_a = a.shape[-1]
    inner_b = b.shape[-2] if b.ndim >= 2 else b.shape[0]
    if inner_a != inner_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned "
                         f"({inner_a} columns in the first, {inner_b} rows in the second)")
    broadcast_shape(f"matmul: batch dimensions of {a.shape} and {b.shape} cannot be broadcast",
                    a.shape[:-2], b.shape[:-2])
    return MatMul.apply(a, b)
