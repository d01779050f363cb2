"""2-D max and average pooling as ops over the pool kernels (minigrad/kernels/*/pool.py).

x: (N, C, H, W) -> (N, C, OH, OW), OH = floor((H + 2*ph - kh) / sh) + 1 (PyTorch's
default floor mode). Max pooling routes each output's gradient to the first
maximum of its window only; average pooling counts the zero padding in the
divisor (count_include_pad=True), both as PyTorch does by default.
adaptive_avg_pool2d is composed from two matrix products.
"""
import numpy as np

from minigrad.autograd import Function
from minigrad.kernels import pool as pool_kernels
from minigrad.ops.common import check_float, check_window_fits, int_tuple, is_int
from minigrad.tensor import Tensor


class MaxPool2d(Function):
    def forward(self, x, *, kernel_size, stride, padding, relu=False):
        self.x_shape = x.shape
        out, argmax = pool_kernels.max_pool2d_forward(x, kernel_size, stride, padding, relu)
        self.save_for_backward(argmax)
        return out

    def backward(self, grad):
        return pool_kernels.max_pool2d_backward(grad, self.saved_arrays[0], self.x_shape)


class AvgPool2d(Function):
    def forward(self, x, *, kernel_size, stride, padding):
        self.x_shape, self.window = x.shape, (kernel_size, stride, padding)
        return pool_kernels.avg_pool2d_forward(x, kernel_size, stride, padding)

    def backward(self, grad):
        return pool_kernels.avg_pool2d_backward(grad, self.x_shape, *self.window)


def _pool_arguments(op, x, kernel_size, stride, padding):
    """kernel_size/stride/padding as pairs (stride None -> kernel_size), checked against x:
    the keyword arguments of the pool ops."""
    kernel = int_tuple(kernel_size, f"{op}: kernel_size", at_least=1)
    stride = kernel if stride is None else int_tuple(stride, f"{op}: stride", at_least=1)
    padding = int_tuple(padding, f"{op}: padding", at_least=0)
    if x.ndim != 4:
        raise ValueError(f"{op} expects a 4-D input (N, C, H, W), got shape {x.shape}")
    check_float(op, x, "input")
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
        raise ValueError(f"{op}: padding {padding} must be at most half of kernel_size {kernel}")
    check_window_fits(op, x.shape, kernel, padding)
    return dict(kernel_size=kernel, stride=stride, padding=padding)


def max_pool2d(x, kernel_size, stride=None, padding=0, relu=False):
    """Max over kh x kw windows; stride defaults to kernel_size. (N, C, H, W) -> (N, C, OH, OW).

    relu=True (not in PyTorch) gives relu(max_pool2d(x)) in one pass, the same values and
    gradients (ReLU is monotone): what the fast backend's plan for Sequential runs for a
    ReLU followed by a MaxPool2d (minigrad/nn/utils/fusion.py)."""
    arguments = _pool_arguments("max_pool2d", x, kernel_size, stride, padding)
    return MaxPool2d.apply(x, relu=relu, **arguments)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over kh x kw windows; stride defaults to kernel_size.
    (N, C, H, W) -> (N, C, OH, OW)."""
    return AvgPool2d.apply(x, **_pool_arguments("avg_pool2d", x, kernel_size, stride, padding))


def _adaptive_matrix(n_in: int, n_out: int, dtype) -> np.ndarray:
    """(n_out, n_in): row i averages x[start:end], start = floor(i n_in / n_out),
    end = ceil((i + 1) n_in / n_out), PyTorch's windows (they overlap when n_out
    does not divide n_in)."""
    matrix = np.zeros((n_out, n_in), dtype=dtype)
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def adaptive_avg_pool2d(x, output_size):
    """(N, C, H, W) or (C, H, W) -> (..., OH, OW); output_size an int, a pair, None keeps a size.

    An average over a rectangle is an average of row averages, so the op is two
    matrix products, rows (OH, H) @ x @ cols (W, OW): composition, any sizes."""
    if x.ndim not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d expects a 3-D or 4-D input, got shape {x.shape}")
    check_float("adaptive_avg_pool2d", x, "input")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(sizes) != 2 or not all(s is None or is_int(s) for s in sizes):
        raise TypeError("adaptive_avg_pool2d: output_size must be an int or a pair of ints/None, "
                        f"got {sizes!r}")
    sizes = [x.shape[-2 + i] if s is None else s for i, s in enumerate(sizes)]
    if min(sizes) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be >= 1, got {output_size!r}")
    rows, cols = (_adaptive_matrix(n, size, x.dtype) for n, size in zip(x.shape[-2:], sizes))
    return Tensor(rows) @ x @ Tensor(cols.T)
