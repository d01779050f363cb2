"""2-D max and average pooling on plain arrays, in plain numpy.

x (N, C, H, W) -> out (N, C, OH, OW) with OH = (H + 2*ph - kh) // sh + 1 (floor
mode, like PyTorch's default). kernel, stride and padding are pairs. Each
function loops over the kh*kw kernel offsets and handles all windows at once.

Max pooling pads with -inf and records, for every output, the flat index
h*W + w of the chosen element inside its (H, W) input plane (int32, like the
indices of PyTorch's max_pool2d). Ties go to the FIRST maximum in row-major
window order, and the backward routes each output's gradient to that one
element only: on MNIST's blank background whole windows tie, and handing the
gradient to every tied element would multiply it.

Average pooling counts the padding in the divisor (count_include_pad=True,
PyTorch's default), so every window divides by kh*kw.
"""
import numpy as np

from minigrad.kernels.shapes import pool_check, pool_output_size, relu_of_pooled  # noqa: F401


def _window_slice(i, stride, out_size):
    """Slice of a padded axis that kernel offset i sees across all out_size windows."""
    return slice(i, i + stride * (out_size - 1) + 1, stride)


def max_pool2d_forward(x, kernel, stride, padding, relu=False):
    """x (N, C, H, W) -> (out (N, C, OH, OW), argmax int32 (N, C, OH, OW)).

    relu=True gives relu(max_pool2d(x)) (the fast backend's fusion plan; ReLU is monotone,
    so the max of the relus is the relu of the max): see shapes.relu_of_pooled."""
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    OH, OW = pool_check(x.shape, kernel, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    # row and column of each window's top-left corner in unpadded coordinates
    h0 = (np.arange(OH) * sh - ph)[:, None]
    w0 = (np.arange(OW) * sw - pw)[None, :]
    out = np.full((N, C, OH, OW), -np.inf, dtype=x.dtype)
    # start on the first element inside the input, so an all -inf window still names a real one
    argmax = np.broadcast_to(np.maximum(h0, 0) * W + np.maximum(w0, 0), out.shape)
    argmax = argmax.astype(np.int32)
    for i in range(kh):
        for j in range(kw):
            v = xp[:, :, _window_slice(i, sh, OH), _window_slice(j, sw, OW)]
            # strict '>': a later equal value keeps the first; the first NaN wins and stays
            better = (v > out) | (np.isnan(v) & ~np.isnan(out))
            out = np.where(better, v, out)
            argmax = np.where(better, (h0 + i) * W + (w0 + j), argmax).astype(np.int32)
    return relu_of_pooled(out, argmax) if relu else (out, argmax)


def max_pool2d_backward(dy, argmax, x_shape):
    """dy, argmax (N, C, OH, OW) -> dx (N, C, H, W): each gradient added to its argmax
    (none where argmax is -1: an output the fused ReLU zeroed)."""
    N, C, H, W = x_shape
    dx = np.zeros((N * C, H * W), dtype=dy.dtype)
    planes = np.arange(N * C)[:, None]
    where, grads = argmax.reshape(N * C, -1), dy.reshape(N * C, -1)
    np.add.at(dx, (planes, np.maximum(where, 0)), np.where(where < 0, 0, grads))
    return dx.reshape(x_shape)


def avg_pool2d_forward(x, kernel, stride, padding):
    """x (N, C, H, W) -> (N, C, OH, OW); padding counts as zeros. Sums in float64."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    OH, OW = pool_check(x.shape, kernel, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    total = np.zeros(x.shape[:2] + (OH, OW))
    for i in range(kh):
        for j in range(kw):
            total += xp[:, :, _window_slice(i, sh, OH), _window_slice(j, sw, OW)]
    return (total / (kh * kw)).astype(x.dtype)


def avg_pool2d_backward(dy, x_shape, kernel, stride, padding):
    """dy (N, C, OH, OW) -> dx (N, C, H, W): each element gets dy/(kh*kw) from every
    window that covers it."""
    N, C, H, W = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    OH, OW = dy.shape[2:]
    share = dy / dy.dtype.type(kh * kw)
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, _window_slice(i, sh, OH), _window_slice(j, sw, OW)] += share
    return np.ascontiguousarray(dxp[:, :, ph:ph + H, pw:pw + W])
