"""ReLU on plain arrays, numba version (names as in minigrad/kernels/reference/activation.py).

numpy's element-wise ops run on one thread, and ReLU sits on the CNN's hot
path, so the kernels are parallel numba loops over the flattened array
(static chunks, one per thread). Inputs are made C-contiguous first (a copy
only when they are not); outputs are C-contiguous with the input's shape and
dtype (float32 in, float32 out). NaN passes through ReLU unchanged, as in
numpy's maximum and PyTorch.
"""
import numpy as np
from numba import prange

from minigrad.kernels.fast import jit
from minigrad.kernels.shapes import check_same_shape


# ---------------------------------------------------------------- numba kernels

# `zero` is passed in as a scalar of the array's dtype, so no value is converted
# to float64 and back inside the loop.

@jit(parallel=True)
def _relu_fwd(x, y, zero):
    for i in prange(x.size):
        v = x[i]
        y[i] = zero if v < zero else v


@jit(parallel=True)
def _relu_bwd(dy, y_or_x, dx, zero):
    for i in prange(dy.size):
        dx[i] = dy[i] if y_or_x[i] > 0 else zero


def relu_forward(x):
    """ReLU forward: x (any shape) -> y, same shape and dtype; parallel over elements."""
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _relu_fwd(x.reshape(-1), y.reshape(-1), x.dtype.type(0))
    return y


def relu_backward(dy, y_or_x):
    """ReLU backward: dy, y_or_x (same shape) -> dx, dy's dtype; parallel over elements.

    y_or_x is the forward's output or its input (either marks where x > 0).
    """
    check_same_shape("relu_backward (dy, y_or_x)", dy, y_or_x)
    dy = np.ascontiguousarray(dy)
    dx = np.empty_like(dy)
    _relu_bwd(dy.reshape(-1), np.ascontiguousarray(y_or_x).reshape(-1), dx.reshape(-1),
              dy.dtype.type(0))
    return dx
