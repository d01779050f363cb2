"""Tensor methods that only route to minigrad/ops, and the in-place updates.

Kept apart from tensor.py so that the engine file holds what a Tensor is and
how it joins the graph; `Tensor` inherits all of these.
"""
import numpy as np

from minigrad import autograd

_ops = None                       # minigrad.ops, bound by minigrad.tensor once it is importable


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
        extras = []
        if self.data.dtype != np.float32:
            extras.append(f"dtype={self.data.dtype}")
        if self._fn is not None:
            extras.append(f"grad_fn=<{self._fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "Tensor(" + body + "".join(", " + e for e in extras) + ")"

    def astype(self, dtype) -> "Tensor":
        return _ops.cast(self, np.dtype(dtype))

    to = astype

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def long(self) -> "Tensor":
        return self.astype(np.int64)
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

    # ---- operators: each routes to minigrad/ops ----------------------------
    def __add__(self, other): return _ops.add(self, other)
    def __radd__(self, other): return _ops.add(other, self)
    def __sub__(self, other): return _ops.sub(self, other)
    def __rsub__(self, other): return _ops.sub(other, self)
    def __mul__(self, other): return _ops.mul(self, other)
    def __rmul__(self, other): return _ops.mul(other, self)
    def __truediv__(self, other): return _ops.div(self, other)
    def __rtruediv__(self, other): return _ops.div(other, self)
    def __pow__(self, exponent): return _ops.pow(self, exponent)
    def __rpow__(self, base): return _ops.pow(base, self)
    def __neg__(self): return _ops.neg(self)
    def __matmul__(self, other): return _ops.matmul(self, other)
    def __rmatmul__(self, other): return _ops.matmul(other, self)
    def __getitem__(self, index): return _ops.getitem(self, index)

    # Comparisons give boolean tensors outside the graph (they have no gradient).
    def __eq__(self, other): return type(self)(self.data == _ops.raw(other))
    def __ne__(self, other): return type(self)(self.data != _ops.raw(other))
    def __lt__(self, other): return type(self)(self.data < _ops.raw(other))
    def __le__(self, other): return type(self)(self.data <= _ops.raw(other))
    def __gt__(self, other): return type(self)(self.data > _ops.raw(other))
    def __ge__(self, other): return type(self)(self.data >= _ops.raw(other))
    __hash__ = object.__hash__          # tensors are graph nodes, hashed by identity

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    @property
    def T(self): return _ops.permute(self, *reversed(range(self.ndim)))
