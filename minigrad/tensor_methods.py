"""Tensor methods that only route to minigrad/ops, and the in-place updates.

Kept apart from tensor.py so that the engine file holds what a Tensor is and
how it joins the graph; `Tensor` inherits all of these.
"""
import operator
from functools import partialmethod

import numpy as np

from minigrad import autograd

_ops = None                       # minigrad.ops, bound by minigrad.tensor once it is importable


def _compared(compare):
    return lambda self, other: type(self)(compare(self.data, _ops.raw(other)))


class TensorMethods:
    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="Tensor(", threshold=50,
                               precision=4)
        extras = [f"dtype={self.data.dtype}"] if self.data.dtype != np.float32 else []
        if self._fn is not None:
            extras.append(f"grad_fn=<{self._fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "Tensor(" + ", ".join([body] + extras) + ")"

    def astype(self, dtype) -> "Tensor":
        return _ops.cast(self, np.dtype(dtype))

    to = astype

    float = partialmethod(astype, np.float32)
    double = partialmethod(astype, np.float64)
    long = partialmethod(astype, np.int64)

    # ---- in-place changes: outside the graph, each one bumps the version ----
    def _bump_version(self) -> "Tensor":
        self._version_counter[0] += 1
        return self

    def _in_place(self, name, update) -> "Tensor":
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(f"{name}() on a tensor that requires grad: in-place ops are not "
                               "differentiable in minigrad; run it under no_grad() (as optimizers "
                               "do), or on a tensor that does not require grad")
        update(self.data)
        return self._bump_version()

    def add_(self, other, alpha=1):
        other = _ops.raw(other)
        return self._in_place("add_", lambda d: np.add(d, other if alpha == 1 else alpha * other,
                                                       out=d, casting="same_kind"))

    def sub_(self, other, alpha=1):
        return self.add_(_ops.raw(other), -alpha)

    def mul_(self, other):
        return self._in_place("mul_", lambda d: np.multiply(d, _ops.raw(other), out=d))

    def div_(self, other):
        return self._in_place("div_", lambda d: np.divide(d, _ops.raw(other), out=d))

    def copy_(self, src):
        return self._in_place("copy_", lambda d: np.copyto(d, _ops.raw(src)))

    def fill_(self, value):
        return self._in_place("fill_", lambda d: d.fill(value))

    def zero_(self):
        return self.fill_(0)

    # ---- comparisons: boolean tensors outside the graph (they have no gradient) ----
    # (+ - * / ** @, [] and unary - are the ops themselves, set in minigrad/ops/__init__.py)
    __eq__, __ne__ = _compared(operator.eq), _compared(operator.ne)
    __lt__, __le__ = _compared(operator.lt), _compared(operator.le)
    __gt__, __ge__ = _compared(operator.gt), _compared(operator.ge)
    __hash__ = object.__hash__          # tensors are graph nodes, hashed by identity

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    @property
    def T(self): return _ops.permute(self, *reversed(range(self.ndim)))
