"""`Tensor`: a numpy array that remembers the op that made it.

The arithmetic lives in `minigrad/ops/`; the methods below only route to it,
so that `x.sigmoid()` and `minigrad.sigmoid(x)` run the same code.

dtype rules:
* Python floats and lists of floats become float32 (as in PyTorch); numpy
  float arrays and scalars keep their dtype, so float64 is kept when given.
* Integer and boolean arrays stay integer and boolean (labels, masks).
* float16 is refused with a TypeError, never silently widened to float32.
* Constants combined with a float tensor (`2 * t`, `t - np.ones(3)`) take the
  tensor's dtype: a Python float or a float64 numpy array never silently
  turns a float32 model into float64.
"""
import numpy as np

from minigrad import autograd

_FLOAT_TYPES = (np.float32, np.float64)


def check_dtype(dtype, where="Tensor") -> None:
    """float16 is refused at every door (the numba kernels have no half
    precision), never silently widened: see docs/architecture.md, dtype rules."""
    if np.dtype(dtype) == np.float16:
        raise TypeError(f"{where}: minigrad supports float32 and float64, not float16 "
                        "(cast with .astype(np.float32) first)")


def _to_array(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    array = np.asarray(data)
    if dtype is None and array.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
        array = array.astype(np.float32)          # Python floats -> float32; numpy keeps its dtype
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Tensor needs numeric data, got a {array.dtype} array from {type(data).__name__}")
    check_dtype(array.dtype)
    return array


class Tensor:
    """A numpy array with reverse-mode autograd.

    `data` is the ndarray; `grad` is None until a backward pass reaches this
    tensor, then an ndarray of the same shape and dtype that accumulates
    across backward calls (call `zero_grad` on the optimizer or set it to None).
    """

    # Make numpy hand `ndarray * Tensor` to Tensor.__rmul__ instead of
    # broadcasting over the Tensor as if it were a Python object.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, dtype)
        if requires_grad and self.data.dtype.type not in _FLOAT_TYPES:
            raise TypeError(f"only float tensors can require grad, got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._fn = None                  # the Function that made this tensor (None: a leaf)
        self._retains_grad = False

    @classmethod
    def _make(cls, array, requires_grad, fn):
        """An op's output: wraps `array` as is (no dtype change, no copy)."""
        tensor = cls.__new__(cls)
        tensor.data = array if isinstance(array, np.ndarray) else np.asarray(array)
        tensor.requires_grad = requires_grad
        tensor.grad = None
        tensor._fn = fn
        tensor._retains_grad = False
        return tensor

    # ---- what a Tensor is ------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self) -> int:
        """Number of elements (numpy's meaning; `numel()` says the same)."""
        return self.data.size

    def numel(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._fn is None

    @property
    def grad_fn(self):
        return self._fn

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

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor._make(self.data, requires_grad=False, fn=None)

    def requires_grad_(self, requires_grad=True) -> "Tensor":
        if requires_grad and self.data.dtype.type not in _FLOAT_TYPES:
            raise TypeError(f"only float tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> "Tensor":
        """Keep `.grad` on this intermediate tensor after backward (leaves always do)."""
        self._retains_grad = True
        return self

    def astype(self, dtype) -> "Tensor":
        return _ops.cast(self, np.dtype(dtype))

    def to(self, dtype) -> "Tensor":
        return self.astype(dtype)

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def long(self) -> "Tensor":
        return self.astype(np.int64)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="Tensor(", threshold=50, precision=4)
        extras = []
        if self.data.dtype != np.float32:
            extras.append(f"dtype={self.data.dtype}")
        if self._fn is not None:
            extras.append(f"grad_fn=<{self._fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "Tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ---- autograd ---------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Compute d self / d leaf for every leaf that requires grad.

        `grad` is d loss / d self; it may be omitted only for a scalar, where
        it is 1.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad "
                               "(no input of the graph has requires_grad=True, or it was built under no_grad)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a scalar; this tensor has shape "
                                   f"{self.shape}: pass grad= of that shape, or reduce it first (e.g. .sum())")
            grad = np.ones_like(self.data)
        else:
            grad = _to_array(grad, self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward() got a gradient of shape {grad.shape} for a tensor of shape {self.shape}")
        autograd.backward(self, grad)

    def _accumulate_grad(self, grad: np.ndarray, unshared: bool = False) -> None:
        """Add `grad` into `.grad`. An `unshared` array (no other reference,
        owning its memory) is adopted as `.grad` instead of copied."""
        if grad.shape != self.shape:
            raise RuntimeError(f"gradient of shape {grad.shape} for a tensor of shape {self.shape}")
        if self.grad is not None:
            self.grad += grad
        elif unshared and grad.dtype == self.dtype and grad.flags.owndata and grad.flags.writeable:
            self.grad = grad
        else:
            self.grad = np.array(grad, dtype=self.dtype, copy=True)

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
    def __eq__(self, other): return Tensor(self.data == _ops.raw(other))
    def __ne__(self, other): return Tensor(self.data != _ops.raw(other))
    def __lt__(self, other): return Tensor(self.data < _ops.raw(other))
    def __le__(self, other): return Tensor(self.data <= _ops.raw(other))
    def __gt__(self, other): return Tensor(self.data > _ops.raw(other))
    def __ge__(self, other): return Tensor(self.data >= _ops.raw(other))
    __hash__ = object.__hash__          # tensors are graph nodes, hashed by identity

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    def matmul(self, other): return _ops.matmul(self, other)
    def exp(self): return _ops.exp(self)
    def log(self): return _ops.log(self)
    def sqrt(self): return _ops.sqrt(self)
    def abs(self): return _ops.abs(self)
    def relu(self): return _ops.relu(self)
    def sigmoid(self): return _ops.sigmoid(self)
    def tanh(self): return _ops.tanh(self)
    def maximum(self, other): return _ops.maximum(self, other)
    def minimum(self, other): return _ops.minimum(self, other)
    def clip(self, min=None, max=None): return _ops.clip(self, min, max)
    clamp = clip

    def sum(self, axis=None, keepdims=False, **kw): return _ops.sum(self, axis, keepdims, **kw)
    def mean(self, axis=None, keepdims=False, **kw): return _ops.mean(self, axis, keepdims, **kw)
    def max(self, axis=None, keepdims=False, **kw): return _ops.max(self, axis, keepdims, **kw)
    def var(self, axis=None, unbiased=True, keepdims=False, **kw):
        return _ops.var(self, axis, unbiased, keepdims, **kw)
    def argmax(self, axis=None, **kw): return _ops.argmax(self, axis, **kw)

    def reshape(self, *shape): return _ops.reshape(self, *shape)
    def view(self, *shape): return _ops.reshape(self, *shape)
    def transpose(self, dim0, dim1): return _ops.transpose(self, dim0, dim1)
    def permute(self, *dims): return _ops.permute(self, *dims)
    def flatten(self, start_dim=0, end_dim=-1): return _ops.flatten(self, start_dim, end_dim)
    def squeeze(self, dim=None): return _ops.squeeze(self, dim)
    def unsqueeze(self, dim): return _ops.unsqueeze(self, dim)

    @property
    def T(self): return _ops.permute(self, *reversed(range(self.ndim)))

    def softmax(self, dim=-1, **kw): return _ops.softmax(self, dim, **kw)
    def log_softmax(self, dim=-1, **kw): return _ops.log_softmax(self, dim, **kw)


# Imported last: the ops import Tensor from this module.
from minigrad import ops as _ops  # noqa: E402
