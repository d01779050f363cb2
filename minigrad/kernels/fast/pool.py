"""2-D max and average pooling on plain arrays, numba version (no Tensor, no autograd).

Names, signatures and rules are those of minigrad/kernels/reference/pool.py
(output sizes, the -inf padding, the first-maximum rule for ties and the
count_include_pad divisor are written down there, once).

The numba kernels run in parallel over the N*C image planes (one thread owns
a plane, so the backward's scatter-adds have no races) and keep the input's
dtype.
"""
import numba
import numpy as np
from numba import prange

from minigrad.kernels.fast import jit
from minigrad.kernels.shapes import pool_check, pool_output_size, relu_of_pooled  # noqa: F401


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


@jit()
def _later_wins(first, later):
    """The first-maximum rule for two window elements in row-major order: the later one
    replaces the first when it is larger, or NaN while the first is not. Written with
    `&` so that LLVM compiles it to selects, not branches."""
    return (first == first) & ~(later <= first)


@jit()
def _window_corners(OH, OW, W):
    """Flat index h*W + w of each 2x2 window's top-left element, output order (int32)."""
    corners = np.empty(OH * OW, dtype=np.int32)
    for oh in range(OH):
        for ow in range(OW):
            corners[oh * OW + ow] = 2 * oh * W + 2 * ow
    return corners


@jit(parallel=True)
def _max_pool_fwd_2x2(x, OH, OW, chunks, relu):
    """The CNN's 2x2, stride-2, unpadded case, in a form LLVM vectorises.

    Output rows are short (14 or 7 values in the CNN), too short for 16-lane
    vectors, and each row costs a loop set-up. So each plane's even input rows are
    first copied side by side into `top`, its odd rows into `bottom` (the columns
    windows cover only), and one loop over all OH*OW windows of the plane reads
    pairs from both. The four elements are compared as a tree, (a, b) and (c, d)
    and then the two winners, the top pair winning ties: the same first-maximum
    rule as the row-major scan. The planes go in `chunks` contiguous groups, so
    the copies' buffers are allocated once per group.
    """
    N, C, H, W = x.shape
    P = N * C
    planes = x.reshape(P, H, W)
    out = np.empty((P, OH * OW), dtype=x.dtype)
    argmax = np.empty((P, OH * OW), dtype=np.int32)
    corners = _window_corners(OH, OW, W)
    width = 2 * OW                      # odd W: the last column is in no window
    for chunk in prange(chunks):
        top = np.empty(OH * width, dtype=x.dtype)
        bottom = np.empty(OH * width, dtype=x.dtype)
        for p in range(chunk * P // chunks, (chunk + 1) * P // chunks):
            for oh in range(OH):
                for w in range(width):
                    top[oh * width + w] = planes[p, 2 * oh, w]
                    bottom[oh * width + w] = planes[p, 2 * oh + 1, w]
            for k in range(OH * OW):
                a = top[2 * k]
                b = top[2 * k + 1]
                c = bottom[2 * k]
                d = bottom[2 * k + 1]
                b_wins = _later_wins(a, b)
                top_best = b if b_wins else a
                d_wins = _later_wins(c, d)
                bottom_best = d if d_wins else c
                bottom_wins = _later_wins(top_best, bottom_best)
                best = bottom_best if bottom_wins else top_best
                offset = W + d_wins if bottom_wins else b_wins
                where = corners[k] + offset
                # relu(max): 0 below zero, and a gradient only where the max is positive
                out[p, k] = 0.0 if relu and best < 0 else best
                argmax[p, k] = -1 if relu and not best > 0 else where
    return out.reshape(N, C, OH, OW), argmax.reshape(N, C, OH, OW)


@jit(parallel=True)
def _max_pool_bwd(dy, argmax, H, W):
    """Zero each plane, then add each output's gradient at its argmax. The planes are
    indexed as flat (N*C, OH*OW) rows: one loop per plane instead of one per output
    row, and no n, c arithmetic per element (15-30 % faster at the CNN's sizes)."""
    N, C, OH, OW = dy.shape
    P = N * C
    dx = np.empty((P, H * W), dtype=dy.dtype)
    grads = dy.reshape(P, OH * OW)
    where = argmax.reshape(P, OH * OW)
    for p in prange(P):
        plane = dx[p]
        plane[:] = 0
        for k in range(OH * OW):
            if where[p, k] >= 0:           # -1: the fused ReLU zeroed this output
                plane[where[p, k]] += grads[p, k]
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

def _chunks(planes):
    """How many groups of planes a chunked kernel makes: a few per thread, so that a
    thread slowed by another process on its core holds up less of the call."""
    return max(1, min(planes, 8 * numba.get_num_threads()))


def max_pool2d_forward(x, kernel, stride, padding, relu=False):
    """Max pooling forward. x (N, C, H, W) -> (out (N, C, OH, OW), argmax int32 (N, C, OH, OW)).

    argmax holds each output's flat index h*W + w inside its input plane, the
    first maximum in row-major window order. x is made C-contiguous first
    (a copy only when it is not). 2x2 windows with stride 2 and no padding take
    a dedicated kernel that LLVM vectorises, which also applies `relu` in the same
    pass; other windows apply it after (the reference's relu_of_pooled).
    """
    OH, OW = pool_check(x.shape, kernel, stride, padding)
    x = np.ascontiguousarray(x)
    if tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and tuple(padding) == (0, 0):
        return _max_pool_fwd_2x2(x, OH, OW, _chunks(x.shape[0] * x.shape[1]), relu)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    out, argmax = _max_pool_fwd(x, kh, kw, sh, sw, ph, pw, OH, OW)
    return relu_of_pooled(out, argmax) if relu else (out, argmax)


def max_pool2d_backward(dy, argmax, x_shape):
    """Max pooling backward. dy, argmax (N, C, OH, OW) -> dx (N, C, H, W).

    Each output's gradient is added to the single element argmax names
    (added, because overlapping windows can share an element); none where argmax
    is -1 (an output the fused ReLU zeroed).
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
