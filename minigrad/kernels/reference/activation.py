"""ReLU on plain arrays, in plain numpy. Any shape in, the same shape and dtype
out (C-contiguous). NaN passes through unchanged, as in PyTorch."""
import numpy as np

from minigrad.kernels.shapes import check_same_shape


def relu_forward(x):
    """y = max(x, 0): x (any shape) -> y, same shape and dtype."""
    return np.ascontiguousarray(np.maximum(x, x.dtype.type(0)))


def relu_backward(dy, y_or_x):
    """dx = dy where the ReLU's input was positive, else 0: dy, y_or_x (same shape) -> dx.

    y_or_x may be the ReLU's output or its input: both are positive at the same places.
    """
    check_same_shape("relu_backward (dy, y_or_x)", dy, y_or_x)
    return np.where(y_or_x > 0, dy, dy.dtype.type(0))
