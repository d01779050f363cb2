"""Reductions over axes: sum, mean, max, min, var, std, the running sum cumsum,
and the non-differentiable argmax and argmin.

Each takes numpy's `axis`/`keepdims` or PyTorch's `dim`/`keepdim`.
"""
import numpy as np

from minigrad.autograd import Function
from minigrad.ops.arithmetic import neg
from minigrad.ops.elementwise import sqrt
from minigrad.ops.common import check_float, resolve_axis, resolve_keepdims
from minigrad.tensor import Tensor


class Sum(Function):
    def forward(self, x, axes, keepdims):
        # x's shape with each reduced axis as 1: the gradient broadcasts back from it
        self.shape = x.shape
        self.kept = tuple(1 if axes is None or a in axes else n for a, n in enumerate(x.shape))
        return np.sum(x, axis=axes, keepdims=keepdims)

    def backward(self, grad):
        return np.broadcast_to(grad.reshape(self.kept), self.shape)


class Mean(Sum):
    def forward(self, x, axes, keepdims):
        self.count = x.dtype.type(x.size if axes is None else np.prod([x.shape[a] for a in axes]))
        return super().forward(x, axes, keepdims) / self.count

    def backward(self, grad):
        return super().backward(grad / self.count)


class Max(Function):
    """Maximum over axes. Ties: the gradient is split evenly among every
    element equal to the maximum (as PyTorch's amax does)."""

    def forward(self, x, axes, keepdims):
        self.axes = axes
        y = np.max(x, axis=axes, keepdims=True)
        self.save_for_backward(x, y)
        return y if keepdims else np.max(x, axis=axes, keepdims=False)

    def backward(self, grad):
        x, y = self.saved_arrays
        grad = grad.reshape(y.shape)             # the reduced axes back, as size 1
        winners = (x == y)
        counts = winners.sum(axis=self.axes, keepdims=True)
        return grad * winners / counts.astype(grad.dtype)


def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    axes = resolve_axis(axis, x.ndim, dim)
    return Sum.apply(x, axes=axes, keepdims=resolve_keepdims(keepdims, keepdim))


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    axes = resolve_axis(axis, x.ndim, dim)
    check_float("mean", x, hint=" (use .float() first)")
    return Mean.apply(x, axes=axes, keepdims=resolve_keepdims(keepdims, keepdim))


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    axes = resolve_axis(axis, x.ndim, dim)
    if x.size == 0:
        raise ValueError("max of an empty tensor")
    return Max.apply(x, axes=axes, keepdims=resolve_keepdims(keepdims, keepdim))


def var(x, axis=None, unbiased=True, keepdims=False, *, dim=None, keepdim=None):
    """Variance over axes, the mean square deviation; unbiased divides by (n - 1), biased by n."""
    axes = resolve_axis(axis, x.ndim, dim)
    check_float("var", x)
    count = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
    if unbiased and count < 2:
        raise ValueError(f"unbiased variance needs at least 2 values per reduction, got {count}")
    centered = x - mean(x, axes, keepdims=True)
    squares = sum(centered * centered, axes, resolve_keepdims(keepdims, keepdim))
    return squares / (count - 1 if unbiased else count)


def _arg(op, pick, x, axis, dim):
    axes = resolve_axis(axis, x.ndim, dim)
    if axes is not None and len(axes) > 1:
        raise ValueError(f"{op} takes a single axis, got {axes}")
    return Tensor(pick(x.data, axis=axes[0] if axes else None).astype(np.int64))


def argmax(x, axis=None, *, dim=None):
    """Index of the maximum (first on ties); an int64 tensor outside the graph."""
    return _arg("argmax", np.argmax, x, axis, dim)


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Minimum over axes: -max(-x), so ties split the gradient evenly as max does.
    Returns the values only (torch.amin's meaning); argmin gives the indices."""
    if x.size == 0:
        raise ValueError("min of an empty tensor")
    return neg(max(neg(x), axis, keepdims, dim=dim, keepdim=keepdim))


def argmin(x, axis=None, *, dim=None):
    """Index of the minimum (first on ties); an int64 tensor outside the graph."""
    return _arg("argmin", np.argmin, x, axis, dim)


def std(x, axis=None, unbiased=True, keepdims=False, *, dim=None, keepdim=None):
    """Standard deviation: sqrt(var); the same arguments as var."""
    return sqrt(var(x, axis, unbiased, keepdims, dim=dim, keepdim=keepdim))


class CumSum(Function):
    """Running sum along one axis. A Function rather than a composition: the
    composed form, a matmul with a triangular matrix of ones, costs O(n^2) time
    and memory in the length of the axis; this costs O(n) both ways."""

    def forward(self, x, axis):
        self.axis = axis
        return np.cumsum(x, axis=axis)

    def backward(self, grad):
        # input i feeds every output j >= i: its gradient is the running sum from the end
        reversed_sum = np.cumsum(np.flip(grad, self.axis), axis=self.axis)
        return np.flip(reversed_sum, self.axis)


def cumsum(x, dim):
    """out[..., j, ...] = sum of x[..., :j+1, ...] along `dim`; same shape as x."""
    if x.ndim == 0:
        return CumSum.apply(x.reshape(1), axis=0).reshape(())
    return CumSum.apply(x, axis=resolve_axis(dim, x.ndim)[0])
