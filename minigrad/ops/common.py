"""Helpers every op file uses: turning constants into tensors, reading axes."""
import numpy as np

from minigrad.tensor import Tensor


def raw(value):
    """The ndarray inside a Tensor, or the value itself."""
    return value.data if isinstance(value, Tensor) else value


def as_tensor(value, like: Tensor = None) -> Tensor:
    """A Tensor for `value`; constants take the dtype of the tensor they meet.

    `2 * t` and `t - np.ones(3)` must not turn a float32 `t` into float64, so a
    Python number or numpy array meeting a float tensor is cast to its dtype.
    An integer tensor meeting a Python float becomes float32, as in PyTorch.
    """
    if isinstance(value, Tensor):
        return value
    array = np.asarray(value)
    if like is not None:
        if like.dtype.kind == "f":
            array = array.astype(like.dtype, copy=False)
        elif array.dtype.kind == "f":
            array = array.astype(np.float32, copy=False)
    return Tensor(array)


def pair_of_tensors(a, b):
    """Both operands of a binary op as Tensors (at least one already is)."""
    if isinstance(a, Tensor):
        return a, as_tensor(b, like=a)
    return as_tensor(a, like=b), b


def check_broadcastable(op_name: str, a: Tensor, b: Tensor) -> None:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op_name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


def resolve_axis(axis, ndim, dim=None):
    """Accept numpy's `axis` or PyTorch's `dim`; return a tuple of axes or None."""
    if dim is not None:
        if axis is not None:
            raise TypeError("give either axis or dim, not both")
        axis = dim
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalized = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise IndexError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        normalized.append(int(a) % max(ndim, 1))
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(normalized)


def resolve_keepdims(keepdims, keepdim=None) -> bool:
    return bool(keepdim) if keepdim is not None else bool(keepdims)
