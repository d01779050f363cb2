"""softmax and log_softmax along one axis, numerically stable: the maximum is
subtracted before exponentiating, so no exp ever sees a positive argument."""
import numpy as np

from minigrad.autograd import Function
from minigrad.ops.common import check_float, resolve_axis


def log_softmax_array(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class LogSoftmax(Function):
    def forward(self, x, axis):
        self.axis = axis
        y = log_softmax_array(x, axis)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        # d/dx_i of (x_i - logsumexp x) = delta_ij - softmax_j
        softmax = np.exp(self.saved_arrays[0])
        return grad - softmax * np.sum(grad, axis=self.axis, keepdims=True)


def _one_axis(name, x, dim, axis):
    check_float(name, x, hint=" (use .float() first)")
    axes = resolve_axis(axis, x.ndim, dim)
    if axes is None or len(axes) > 1 or (x.ndim and not axes):
        raise ValueError(f"{name} works along exactly one axis, got {axis if dim is None else dim}")
    return axes[0] if axes else ()       # (): a 0-d tensor, its own one-element axis


def log_softmax(x, dim=-1, *, axis=None):
    if axis is not None:
        dim = None
    return LogSoftmax.apply(x, axis=_one_axis("log_softmax", x, dim, axis))


def softmax(x, dim=-1, *, axis=None):
    """exp(log_softmax(x)): the same forward values, and autograd derives the backward."""
    if axis is not None:
        dim = None
    return LogSoftmax.apply(x, axis=_one_axis("softmax", x, dim, axis)).exp()
