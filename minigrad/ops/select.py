"""Ops that choose between values by a mask or an index: where, masked_fill,
gather, tril, triu.

`where` is the one Function here; the rest are compositions of it or of getitem.
"""
import numpy as np

from minigrad.autograd import Function
from minigrad.ops.common import broadcast_shape, pair_of_tensors, raw, resolve_axis
from minigrad.ops.shape import getitem
from minigrad.tensor import Tensor


class Where(Function):
    """condition ? a : b, broadcast. Each side gets the incoming gradient where it
    was chosen and 0 elsewhere. Not `mask * a + (1 - mask) * b`: 0 * inf is nan, so
    an inf on the side not chosen would poison both the value and the gradient."""

    def forward(self, a, b, condition):
        self.save_for_backward(condition)
        return np.where(condition, a, b)

    def backward(self, grad):
        (condition,), zero = self.saved_arrays, grad.dtype.type(0)
        return np.where(condition, grad, zero), np.where(condition, zero, grad)


def _bool_mask(op, mask) -> np.ndarray:
    mask = np.asarray(raw(mask))
    if mask.dtype != np.bool_:
        raise TypeError(f"{op} needs a boolean mask (compare first: x > 0), got {mask.dtype}")
    return mask


def where(condition, input, other):
    """condition (bool, broadcastable) ? input : other -> broadcast shape of the three."""
    condition = _bool_mask("where", condition)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("where needs a Tensor as input or other, got two constants")
    a, b = pair_of_tensors(input, other, op="where")       # one dtype kind, as for `+`
    broadcast_shape(f"where: condition {condition.shape}, input {a.shape} and other {b.shape} "
                    "cannot be broadcast together", condition.shape, a.shape, b.shape)
    return Where.apply(a, b, condition=condition)


def masked_fill(x, mask, value):
    """x with `value` wherever mask (bool, broadcastable to x.shape) is True."""
    mask = _bool_mask("masked_fill", mask)
    if np.ndim(raw(value)) != 0:
        raise ValueError("masked_fill takes a number or a 0-d tensor as value, got shape "
                         f"{np.shape(raw(value))}")
    mismatch = (f"masked_fill: mask of shape {mask.shape} does not broadcast to the input "
                f"shape {x.shape}")
    if broadcast_shape(mismatch, mask.shape, x.shape) != x.shape:
        raise ValueError(mismatch)
    return where(mask, value, x)


def gather(x, dim, index):
    """out[i][j][k] = x[index[i][j][k]][j][k] for dim=0 (likewise for other dims).

    index: an integer tensor with x's number of dimensions and no larger than x
    along every other axis -> out of index's shape. Built on getitem, whose
    backward scatter-adds, so an index that repeats accumulates its gradients.
    """
    index = np.asarray(raw(index))
    if x.ndim == 0:
        raise ValueError("gather needs an input with at least one dimension")
    axis = resolve_axis(dim, x.ndim)[0]
    if index.dtype.kind not in "iu":
        raise TypeError(f"gather needs an integer index, got dtype {index.dtype}")
    if index.ndim != x.ndim:
        raise ValueError(f"gather: index has {index.ndim} dimensions but the input {x.shape} "
                         f"has {x.ndim}")
    for d, (n, m) in enumerate(zip(index.shape, x.shape)):
        if d != axis and n > m:
            raise ValueError(f"gather: index of shape {index.shape} is larger than the input "
                             f"{x.shape} along dimension {d}")
    if index.size and (index.min() < 0 or index.max() >= x.shape[axis]):
        bad = index.min() if index.min() < 0 else index.max()
        raise IndexError(f"gather: index {bad} is out of range for dimension {axis} of size "
                         f"{x.shape[axis]}")
    grid = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    return getitem(x, tuple(grid))


def _triangle(op, x, diagonal, keep):
    if x.ndim < 2:
        raise ValueError(f"{op} needs at least 2 dimensions, got shape {x.shape}")
    return where(keep(np.ones(x.shape[-2:], dtype=bool), int(diagonal)), x, 0)


def tril(x, diagonal=0):
    """Zero above the `diagonal`-th diagonal of the last two axes (..., n, m)."""
    return _triangle("tril", x, diagonal, np.tril)


def triu(x, diagonal=0):
    """Zero below the `diagonal`-th diagonal of the last two axes (..., n, m)."""
    return _triangle("triu", x, diagonal, np.triu)
