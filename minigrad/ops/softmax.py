"""softmax and log_softmax along one axis, numerically stable: the maximum is
subtracted before exponentiating, so no exp ever sees a positive argument.

log_softmax is composed from existing ops (autograd derives its backward,
grad - softmax * sum(grad)); the fused cross-entropy in loss.py computes the
same values with log_softmax_array, on arrays.
"""
import numpy as np

from minigrad.ops.common import check_float, resolve_axis


def log_softmax_array(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _log_softmax(name, x, dim, axis):
    check_float(name, x, hint=" (use .float() first)")
    axes = resolve_axis(axis, x.ndim, None if axis is not None else dim)
    if axes is None or len(axes) > 1 or (x.ndim and not axes):
        raise ValueError(f"{name} works along exactly one axis, got "
                         f"{dim if axis is None else axis}")
    # The maximum enters as a constant: log-softmax does not change when x is shifted.
    shifted = x - np.max(x.data, axis=axes, keepdims=True)
    return shifted - shifted.exp().sum(axes, keepdims=True).log()


def log_softmax(x, dim=-1, *, axis=None):
    return _log_softmax("log_softmax", x, dim, axis)


def softmax(x, dim=-1, *, axis=None):
    """exp(log_softmax(x)): the same forward values, and autograd derives the backward."""
    return _log_softmax("softmax", x, dim, axis).exp()
