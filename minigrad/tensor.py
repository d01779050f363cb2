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

from minigrad import autograd, tensor_methods

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
    from_python = not isinstance(data, (np.ndarray, np.generic))
    if dtype is None and array.dtype == np.float64 and from_python:
        array = array.astype(np.float32)          # Python floats -> float32; numpy keeps its dtype
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Tensor needs numeric data, got a {array.dtype} array "
                        f"from {type(data).__name__}")
    check_dtype(array.dtype)
    return array


class Tensor(tensor_methods.TensorMethods):
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
        self._grad = None
        self._fn = None                  # the Function that made this tensor (None: a leaf)
        self._version_counter = [0]      # shared by views: bumped by every in-place change

    @classmethod
    def _make(cls, array, requires_grad, fn, version_counter=None):
        """An op's output: wraps `array` as is (no dtype change, no copy). A
        view passes the version counter of the tensor it views."""
        tensor = cls.__new__(cls)
        tensor.data = array if isinstance(array, np.ndarray) else np.asarray(array)
        tensor.requires_grad = requires_grad
        tensor._grad = None
        tensor._fn = fn
        tensor._version_counter = [0] if version_counter is None else version_counter
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

    @property
    def grad(self):
        """A leaf's accumulated gradient; an intermediate's after `retain_grad()`
        (kept by the Function that made it, so the graph holds no Tensor)."""
        return self._grad if self._fn is None else self._fn.retained_grad

    @grad.setter
    def grad(self, value):
        if self._fn is None:
            self._grad = value
        else:
            self._fn.retained_grad = value

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor (or a view of the same data) has had."""
        return self._version_counter[0]

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor._make(self.data, False, None, self._version_counter)

    def requires_grad_(self, requires_grad=True) -> "Tensor":
        if requires_grad and self.data.dtype.type not in _FLOAT_TYPES:
            raise TypeError(f"only float tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> "Tensor":
        """Keep `.grad` on this intermediate tensor after backward (leaves always do)."""
        if self._fn is not None:
            self._fn.retains_grad = True
        return self


    # ---- autograd ---------------------------------------------------------
    def backward(self, grad=None, retain_graph=False) -> None:
        """Compute d self / d leaf for every leaf that requires grad.

        `grad` is d loss / d self; it may be omitted only for a scalar, where
        it is 1. The arrays the ops saved are freed on the way unless
        `retain_graph=True`; a second backward through a freed graph raises.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad "
                               "(no input of the graph has requires_grad=True, "
                               "or it was built under no_grad)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError("backward() without a gradient needs a scalar; this tensor has "
                                   f"shape {self.shape}: pass grad= of that shape, or reduce "
                                   "it first (e.g. .sum())")
            grad = np.ones_like(self.data)
        else:
            grad = _to_array(grad, self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward() got a gradient of shape {grad.shape} "
                                 f"for a tensor of shape {self.shape}")
        autograd.backward(self._fn or self, grad, retain_graph)

    def _accumulate_grad(self, grad: np.ndarray, owned: bool = False) -> None:
        """Add `grad` into `.grad`. An `owned` array (allocated by the engine or
        by an op that says so in `owned_grads`) is adopted instead of copied."""
        if grad.shape != self.shape:
            raise RuntimeError(f"gradient of shape {grad.shape} for a tensor of shape "
                               f"{self.shape}")
        if self._grad is not None:
            self._grad += grad
        elif owned and grad.dtype == self.dtype and grad.flags.writeable:
            self._grad = grad
        else:
            self._grad = np.array(grad, dtype=self.dtype, copy=True)


autograd.make_tensor = Tensor._make

# Imported last: the ops import Tensor from this module.
from minigrad import ops as _ops  # noqa: E402

tensor_methods._ops = _ops
