"""2-D max and average pooling on plain arrays, numba version (no Tensor, no autograd).

Names, signatures and rules are those of minigrad/kernels/reference/pool.py
(output sizes, the -inf padding, the first-maximum rule for ties and the
count_include_pad divisor are written down there, once).

The numba kernels run in parallel over the N*C image planes (one thread owns
a plane, so the backward's scatter-adds have no races) and keep the input's
dtype.
"""
import numpy as np
from numba import prange

from minigrad.kernels.fast import jit
from minigrad.kernels.shapes import pool_check, pool_output_size  # noqa: F401


# ---------------------------------------------------------------- numba kernels

@jit(parallel=True)
def _max_pool_fwd(x, kh, kw, sh, sw, ph, pw, OH, OW):
    N, C, H, W = x.shape
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = np.empty((N, C, OH, OW), dtype=np.int32)
    for task in prange(N * C):
        n = task // C
        c = task % C
        plane = x[n, c]
        for oh in range(OH):
            h_lo = max(oh * sh - ph, 0)
            h_hi = min(oh * sh - ph + kh, H)
            for ow in range(OW):
                w_lo = max(ow * sw - pw, 0)
                w_hi = min(ow * sw - pw + kw, W)
                best = plane[h_lo, w_lo]
                where = h_lo * W + w_lo
                for h in range(h_lo, h_hi):
                    for w in range(w_lo, w_hi):
                        v = plane[h, w]
                        if v > best or (v != v and best == best):   # first max; NaN wins
                            best = v
                            where = h * W + w
                out[n, c, oh, ow] = best
                argmax[n, c, oh, ow] = where
    return out, argmax


@jit(parallel=True)
def _max_pool_fwd_2x2(x, OH, OW):
    """The CNN's 2x2, stride-2, unpadded case. Same rules as _max_pool_fwd, but the
    window loops have a fixed length of 2, so LLVM unrolls them and turns the
    compare-and-keep into branch-free selects: 5-10x faster on random data than the
    general loop, whose data-dependent branch mispredicts about half the time."""
    N, C, H, W = x.shape
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = np.empty((N, C, OH, OW), dtype=np.int32)
    for task in prange(N * C):
        n = task // C
        c = task % C
        for oh in range(OH):
            for ow in range(OW):
                h0 = 2 * oh
                w0 = 2 * ow
                best = x[n, c, h0, w0]
                where = h0 * W + w0
                for i in range(2):
                    for j in range(2):
                        v = x[n, c, h0 + i, w0 + j]
                        if v > best or (v != v and best == best):
                            best = v
                            where = (h0 + i) * W + w0 + j
                out[n, c, oh, ow] = best
                argmax[n, c, oh, ow] = where
    return out, argmax


@jit(parallel=True)
def _max_pool_bwd(dy, argmax, H, W):
    N, C, OH, OW = dy.shape
    dx = np.empty((N, C, H * W), dtype=dy.dtype)
    for task in prange(N * C):
        n = task // C
        c = task % C
        plane = dx[n, c]
        plane[:] = 0
        for oh in range(OH):
            for ow in range(OW):
                plane[argmax[n, c, oh, ow]] += dy[n, c, oh, ow]
    return dx.reshape(N, C, H, W)


@jit(parallel=True)
def _avg_pool_fwd(x, kh, kw, sh, sw, ph, pw, OH, OW):
    N, C, H, W = x.shape
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    scale = 1.0 / (kh * kw)
    for task in prange(N * C):
        n = task // C
        c = task % C
        plane = x[n, c]
        for oh in range(OH):
            h_lo = max(oh * sh - ph, 0)
            h_hi = min(oh * sh - ph + kh, H)
            for ow in range(OW):
                w_lo = max(ow * sw - pw, 0)
                w_hi = min(ow * sw - pw + kw, W)
                total = 0.0                      # float64 accumulator
                for h in range(h_lo, h_hi):
                    for w in range(w_lo, w_hi):
                        total += plane[h, w]
                out[n, c, oh, ow] = total * scale
    return out


@jit(parallel=True)
def _avg_pool_bwd(dy, H, W, kh, kw, sh, sw, ph, pw):
    N, C, OH, OW = dy.shape
    dx = np.empty((N, C, H, W), dtype=dy.dtype)
    scale = 1.0 / (kh * kw)
    for task in prange(N * C):
        n = task // C
        c = task % C
        plane = dx[n, c]
        plane[:, :] = 0
        for oh in range(OH):
            h_lo = max(oh * sh - ph, 0)
            h_hi = min(oh * sh - ph + kh, H)
            for ow in range(OW):
                w_lo = max(ow * sw - pw, 0)
                w_hi = min(ow * sw - pw + kw, W)
                g = dy[n, c, oh, ow] * scale
                for h in range(h_lo, h_hi):
                    for w in range(w_lo, w_hi):
                        plane[h, w] += g
    return dx


# ---------------------------------------------------------------- public API

def max_pool2d_forward(x, kernel, stride, padding):
    """Max pooling forward. x (N, C, H, W) -> (out (N, C, OH, OW), argmax int32 (N, C, OH, OW)).

    argmax holds each output's flat index h*W + w inside its input plane, the
    first maximum in row-major window order. x is made C-contiguous first
    (a copy only when it is not). 2x2 windows with stride 2 and no padding take
    a dedicated, unrolled kernel.
    """
    OH, OW = pool_check(x.shape, kernel, stride, padding)
    x = np.ascontiguousarray(x)
    if tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and tuple(padding) == (0, 0):
        return _max_pool_fwd_2x2(x, OH, OW)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    return _max_pool_fwd(x, kh, kw, sh, sw, ph, pw, OH, OW)


def max_pool2d_backward(dy, argmax, x_shape):
    """Max pooling backward. dy, argmax (N, C, OH, OW) -> dx (N, C, H, W).

    Each output's gradient is added to the single element argmax names
    (added, because overlapping windows can share an element).
    """
    H, W = x_shape[2:]
    return _max_pool_bwd(np.ascontiguousarray(dy), np.ascontiguousarray(argmax), H, W)


def avg_pool2d_forward(x, kernel, stride, padding):
    """Average pooling forward (count_include_pad=True). x (N, C, H, W) -> (N, C, OH, OW).

    Sums are accumulated in float64; the output keeps x's dtype.
    """
    OH, OW = pool_check(x.shape, kernel, stride, padding)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    return _avg_pool_fwd(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, OH, OW)


def avg_pool2d_backward(dy, x_shape, kernel, stride, padding):
    """Average pooling backward. dy (N, C, OH, OW) -> dx (N, C, H, W): each input
    element gets dy / (kh*kw) from every window that covers it."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H, W = x_shape[2:]
    return _avg_pool_bwd(np.ascontiguousarray(dy), H, W, kh, kw, sh, sw, ph, pw)
