"""2-D convolution on plain arrays, numba version: one column matrix, two ways to multiply it.

The names, signatures and cache fields are those of minigrad/kernels/reference/conv.py
(the cache's first array differs: see conv2d_forward).

Layouts follow PyTorch: x (N, C, H, W), weight (O, C, kh, kw), bias (O,),
out (N, O, OH, OW). kernel, stride, padding and dilation are pairs (the caller
normalises ints to pairs).

The column matrix has one row per (channel, kernel offset) and, per image, one
column per output position. It is cut from a zero-padded copy of x,
xp (N, C, H + 2ph + 1, W + 2pw), with one spare zero row at the bottom:

    cols[(c, i, j), n, oh, q] = xp[n, c, oh*sh + i*dh, q*sw + j*dw]
    cols: (K, N, OH, OWc), K = C*kh*kw

OWc, the width of a column row, is either OW (the reference's layout) or, when
sw == 1, the padded width Wp = W + 2pw ("wide" rows). The q >= OW columns are
windows that run off the right edge: they are computed and thrown away. In
exchange, when sh == 1 too, row (c, i, j) of an image is ONE contiguous run of
its xp plane, starting at (i*dh)*Wp + j*dw, and the gather is a plain copy:
3x faster than gathering OW-wide rows on conv2 of the main example, where Wp =
16 for OW = 14 costs 14 % more arithmetic.

conv2d_forward and conv2d_backward dispatch by K (each variant's docstring has
the measurement behind it, benchmarks/README.md the whole story):

* K <= _SMALL_K (conv1: one input channel, K = 9): numba loops, direct, for
  the forward and the weight gradient. A BLAS product with 9 rows is slow, and
  the loops write out (N, O, OH, OW) with no reorder pass. The cache keeps cols.
* otherwise (conv2: K = 144): BLAS, a block of images at a time, so that each
  block's cols is still in cache when the product reads it, then one pass that
  drops the wide columns and reorders (O, N, ...) to (N, O, ...). The cache
  keeps x, not the 8 MB of cols: the backward gathers each block again.

The input gradient is W2.T @ dy2 a block of images at a time, each block
scatter-added back (the adjoint of the gather) while it is in cache.

Every kernel keeps the input's dtype (float32 in, float32 out).
"""
import numpy as np
from numba import prange

from minigrad.kernels.fast import jit
from minigrad.kernels.shapes import conv2d_check, conv_output_size

# The one output-size formula, compiled so the kernels below can call it.
_conv_output_size = jit()(conv_output_size)

# Up to this many column rows (C*kh*kw), the direct variant. Measured on 3x3 kernels,
# 28x28, batch 64, forward+backward: K = 9 direct 1.4-1.8x faster; K = 18 and 27 even
# (direct ahead on two threads, BLAS on one), and the forward alone 1.8x faster by BLAS.
_SMALL_K = 12
# Wide rows while the padded width is at most this many times OW.
_WIDE_MAX = 1.25
# The BLAS variant makes its column matrix this many bytes at a time, so that it stays
# in the two cores' L2 (1 MiB each) between the gather and the product.
_BLOCK_BYTES = 2 << 20


# ---------------------------------------------------------------- numba kernels

@jit()
def _runs(Wp, stride, OH, OWc):
    """How the (c, i, j) row of one image's cols lies in its xp plane:
    (number of runs, run length, distance between the runs' starts in xp).
    One run of OH*OWc when the rows line up (unit strides, wide rows), else one per output row.
    """
    if stride[0] == 1 and stride[1] == 1 and OWc == Wp:
        return 1, OH * OWc, 0
    return OH, OWc, stride[0] * Wp


@jit(parallel=True)
def _gather(xp, kernel, stride, dilation, OWc, cols):
    """xp (N, C, Hp, Wp) -> cols (K', N, OH*OWc), rows k < K written in place
    (the module docstring's map). Parallel over the K*N (row, image) pairs.
    """
    N, C, Hp, Wp = xp.shape
    kh, kw = kernel
    sw = stride[1]
    runs, run, step = _runs(Wp, stride, cols.shape[2] // OWc, OWc)
    planes = xp.reshape(N, C, Hp * Wp)
    for task in prange(C * kh * kw * N):
        k = task // N
        n = task % N
        start = (k // kw % kh) * dilation[0] * Wp + k % kw * dilation[1]
        for r in range(runs):
            src = planes[n, k // (kh * kw), start + r * step:]
            dst = cols[k, n, r * run:(r + 1) * run]
            if sw == 1:
                for q in range(run):
                    dst[q] = src[q]
            else:
                for q in range(run):
                    dst[q] = src[q * sw]


@jit(parallel=True)
def _scatter(cols, kernel, stride, padding, dilation, OWc, dx):
    """cols (K, N, OH*OWc) -> dx (N, C, H, W), written in place: the adjoint of _gather.

    Parallel over the N*C image planes: a thread adds all kh*kw rows of its
    plane into a padded scratch plane, then copies the inside to dx, so no two
    threads write one place. Wide columns must hold zeros (they land on padding).
    """
    N, C, H, W = dx.shape
    kh, kw = kernel
    ph, pw = padding
    sw = stride[1]
    Hp, Wp = H + 2 * ph + 1, W + 2 * pw
    OH = _conv_output_size(H, kh, stride[0], ph, dilation[0])
    runs, run, step = _runs(Wp, stride, OH, OWc)
    for task in prange(N * C):
        n = task // C
        c = task % C
        plane = np.empty(Hp * Wp, dtype=dx.dtype)
        for p in range(Hp * Wp):
            plane[p] = 0
        for k in range(c * kh * kw, (c + 1) * kh * kw):
            start = (k // kw % kh) * dilation[0] * Wp + k % kw * dilation[1]
            for r in range(runs):
                dst = plane[start + r * step:]
                src = cols[k, n, r * run:(r + 1) * run]
                if sw == 1:
                    for q in range(run):
                        dst[q] += src[q]
                else:
                    for q in range(run):
                        dst[q * sw] += src[q]
        for h in range(H):
            src = plane[(h + ph) * Wp + pw:]
            dst = dx[n, c, h]
            for w in range(W):
                dst[w] = src[w]


@jit(parallel=True)
def _transpose(src, bias, dst):
    """src (A, B, H, Ws) -> dst (B, A, H, Wd), written in place: dst[b, a, h, w] =
    src[a, b, h, w] + bias[a] for w < min(Ws, Wd). Parallel over (b, a).

    The two reorders around a BLAS product: forward, y (O, N, OH, OWc) -> out
    (N, O, OH, OW) + bias, dropping the wide columns; backward, dy -> dy2
    (O, N, OH, OWc), whose wide columns the caller has zeroed. (Zeroing them
    here too, a second loop, made the kernel compile in 1.6 s instead of 0.6 s.)
    """
    A, B, H, Ws = src.shape
    width = min(Ws, dst.shape[3])
    for task in prange(B * A):
        b = task // A
        a = task % A
        for h in range(H):
            s = src[a, b, h]
            d = dst[b, a, h]
            for w in range(width):
                d[w] = s[w] + bias[a]


@jit(parallel=True)
def _small_forward(cols, w2, bias, out):
    """out (N, O, L) = w2 (O, K) @ cols (K, N, L) + bias, for small K a multiple of 3
    (padded with zero rows); written in place.

    Parallel over images. Each output row is updated three taps at a time: one
    pass over the row per three column rows (1.75x faster than one tap per pass).
    """
    K, N, L = cols.shape
    for n in prange(N):
        for o in range(w2.shape[0]):
            dst = out[n, o]
            for q in range(L):
                dst[q] = bias[o]
            for k in range(0, K, 3):
                a, b, c = cols[k, n], cols[k + 1, n], cols[k + 2, n]
                wa, wb, wc = w2[o, k], w2[o, k + 1], w2[o, k + 2]
                for q in range(L):
                    dst[q] += wa * a[q] + wb * b[q] + wc * c[q]


@jit(parallel=True, fastmath={"reassoc"})
def _small_weight_grad(cols, dy3, part):
    """part (N, O, K) <- the dot products of dy3[n, o] (L,) and cols[k, n] (L,): image
    n's share of the weight gradient dW2[o, k], for small K (summed over n after).

    Parallel over images: each task reads its image's dy and cols once, and
    they stay in cache for all O*K products. fastmath "reassoc" only lets LLVM
    reorder each product's additions, so the sum runs in vector registers. (Four
    output channels per task with per-position accumulators, reading cols O/4
    times, took 1.6-2x as long on conv1.)
    """
    K, N, L = cols.shape
    for n in prange(N):
        for o in range(dy3.shape[1]):
            g = dy3[n, o]
            for k in range(K):
                c = cols[k, n]
                total = np.float32(0)      # float64 inputs make it float64
                for q in range(L):
                    total += g[q] * c[q]
                part[n, o, k] = total


# ---------------------------------------------------------------- the column matrix

def _padded(x, padding):
    """x (N, C, H, W) -> xp (N, C, H + 2ph + 1, W + 2pw): zeros around, one spare zero row."""
    N, C, H, W = x.shape
    ph, pw = padding
    xp = np.zeros((N, C, H + 2 * ph + 1, W + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + H, pw:pw + W] = x
    return xp


def _columns(xp, args, OH, OWc, rows):
    """xp's images -> cols (rows, N, OH*OWc): the module docstring's map, then zero rows."""
    kernel, stride, _, dilation = args
    cols = np.empty((rows, xp.shape[0], OH * OWc), dtype=xp.dtype)
    cols[xp.shape[1] * kernel[0] * kernel[1]:] = 0
    _gather(xp, kernel, stride, dilation, OWc, cols)
    return cols


def _sizes(x_shape, kernel, stride, padding, dilation):
    """-> (OH, OW, OWc): OWc is the padded width Wp (wide rows) when sw == 1 and
    Wp <= _WIDE_MAX * OW, else OW."""
    OH = conv_output_size(x_shape[2], kernel[0], stride[0], padding[0], dilation[0])
    OW = conv_output_size(x_shape[3], kernel[1], stride[1], padding[1], dilation[1])
    Wp = x_shape[3] + 2 * padding[1]
    return OH, OW, (Wp if stride[1] == 1 and Wp <= _WIDE_MAX * OW else OW)


def _blocks(N, image_bytes):
    """Slices of the batch holding about _BLOCK_BYTES of cols each."""
    step = max(1, _BLOCK_BYTES // image_bytes)
    return [slice(s, s + step) for s in range(0, N, step)]


def im2col(x, kernel, stride, padding, dilation):
    """x (N, C, H, W) -> cols (C*kh*kw, N*OH*OW), same dtype, the reference's layout."""
    args = tuple(kernel), tuple(stride), tuple(padding), tuple(dilation)
    OH, OW, _ = _sizes(x.shape, *args)
    K = x.shape[1] * args[0][0] * args[0][1]
    return _columns(_padded(np.ascontiguousarray(x), args[2]), args, OH, OW, K).reshape(K, -1)


def col2im(cols, x_shape, kernel, stride, padding, dilation):
    """cols (C*kh*kw, N*OH*OW) -> dx (N, C, H, W), same dtype: the adjoint of im2col."""
    args = tuple(kernel), tuple(stride), tuple(padding), tuple(dilation)
    OH, OW, _ = _sizes(x_shape, *args)
    dx = np.empty(tuple(x_shape), dtype=cols.dtype)
    cols = np.ascontiguousarray(cols).reshape(cols.shape[0], x_shape[0], OH * OW)
    _scatter(cols, *args, OW, dx)
    return dx


# ---------------------------------------------------------------- the variants

def _forward_direct(x, w2, bias, args, OH, OW):
    """K = C*kh*kw <= _SMALL_K (conv1 of the main example, K = 9): reference-layout
    cols, kept for the weight gradient, then _small_forward writes (N, O, OH, OW).
    Alone it is about as fast as _forward_blas on conv1 (0.33-0.42 ms against
    0.33-0.42 ms); with the direct weight gradient, forward+backward takes 0.96 ms
    against 1.71 ms on one thread, 1.24 against 1.79 ms on two."""
    N, (O, K) = x.shape[0], w2.shape
    K3 = -(-K // 3) * 3
    cols = _columns(_padded(x, args[2]), args, OH, OW, K3)
    w3 = np.zeros((O, K3), dtype=x.dtype)
    w3[:, :K] = w2
    out = np.empty((N, O, OH, OW), dtype=x.dtype)
    _small_forward(cols, w3, bias, out.reshape(N, O, OH * OW))
    return out, cols[:K].reshape(K, -1)


def _forward_blas(x, w2, bias, args, OH, OW):
    """Every other K (conv2, K = 144): a block of images at a time, cols (wide rows
    when _sizes allows) into a fresh block that stays in cache, one BLAS product,
    and the pass that drops the wide columns and reorders to (N, O, OH, OW). Keeps
    x, not cols: the backward gathers again. Conv2, one thread: 1.5 ms against
    2.5 ms for one product over the whole batch's cols (8 MB written to memory and
    read back); 12 ms against 23 ms at batch 500."""
    N, (O, K) = x.shape[0], w2.shape
    _, _, OWc = _sizes(x.shape, *args)
    xp = _padded(x, args[2])
    out = np.empty((N, O, OH, OW), dtype=x.dtype)
    for s in _blocks(N, K * OH * OWc * x.itemsize):
        y = w2 @ _columns(xp[s], args, OH, OWc, K).reshape(K, -1)
        _transpose(y.reshape(O, -1, OH, OWc), bias, out[s])
    return out, x


def _weight_grad_direct(cols, dy):
    """K <= _SMALL_K, the cached cols: _small_weight_grad on dy as it comes, no
    reorder. Conv1: 0.31 ms on one thread, 0.18 ms on two, against 0.58 and 0.73 ms
    for the reorder + BLAS product (a 16 x 9 product that BLAS keeps on one thread)."""
    (K, N, L), O = cols.shape, dy.shape[1]
    part = np.empty((N, O, K), dtype=cols.dtype)
    _small_weight_grad(cols, dy.reshape(N, O, L), part)
    return part.sum(axis=0, dtype=np.float64).astype(cols.dtype)


def _backward_blocks(dy, x_shape, xp, weight, args, OWc, need_dx):
    """The BLAS backward, a block of images at a time: dy reordered to dy2 (O, N,
    OH*OWc) once; per block, when xp is given, its cols gathered again for
    dW += dy2 @ cols.T, and dcols = W2.T @ dy2 scatter-added into dx while it is in
    cache. (On conv2 one product for the whole batch's dcols, writing 8 MB, took
    1.8x as long as the blocks on one thread, 1.1-1.2x on two.) -> (dx or None, dW)."""
    N, O, OH, OW = dy.shape
    K = weight.size // O
    dy2 = (np.zeros if OWc > OW else np.empty)((O, N, OH, OWc), dtype=dy.dtype)
    _transpose(dy, np.zeros(N, dtype=dy.dtype), dy2)
    dy2 = dy2.reshape(O, N, OH * OWc)
    w2t = np.ascontiguousarray(weight).reshape(O, K).T
    dwt = np.zeros((K, O), dtype=dy.dtype)
    dx = np.empty(x_shape, dtype=dy.dtype) if need_dx else None
    for s in _blocks(N, K * OH * OWc * dy.itemsize):
        g = dy2[:, s].reshape(O, -1)
        if xp is not None:
            dwt += _columns(xp[s], args, OH, OWc, K).reshape(K, -1) @ g.T
        if need_dx:
            _scatter((w2t @ g).reshape(K, -1, OH * OWc), *args, OWc, dx[s])
    return dx, dwt.T


# ---------------------------------------------------------------- the convolution

def conv2d_forward(x, weight, bias, stride, padding, dilation):
    """Convolution forward. x (N, C, H, W), weight (O, C, kh, kw), bias (O,) or None
    -> (out (N, O, OH, OW), cache).

    x, weight and bias must share one float dtype; out has it too. cache is a
    tuple (saved, x_shape, weight, has_bias, stride, padding, dilation), the
    reference's fields, where saved is the column matrix (C*kh*kw, N*OH*OW) for
    the direct variant and x itself for the BLAS one (the weight is a reference,
    not a copy). So the numpy backend cannot run this backward's cache.

    Dispatch by K = C*kh*kw: _forward_direct up to _SMALL_K, else _forward_blas.
    """
    OH, OW = conv2d_check(x, weight, bias, stride, padding, dilation)
    x = np.ascontiguousarray(x)
    args = tuple(weight.shape[2:]), tuple(stride), tuple(padding), tuple(dilation)
    w2 = np.ascontiguousarray(weight).reshape(weight.shape[0], -1)
    b = bias if bias is not None else np.zeros(weight.shape[0], dtype=x.dtype)
    forward = _forward_direct if w2.shape[1] <= _SMALL_K else _forward_blas
    out, saved = forward(x, w2, b, args, OH, OW)
    return out, (saved, x.shape, weight, bias is not None) + args[1:]


def conv2d_backward(dy, cache, need_dx=True):
    """Convolution backward. dy (N, O, OH, OW) -> (dx (N, C, H, W) or None,
    dweight (O, C, kh, kw), dbias (O,) or None).

    dx is None when need_dx is False (e.g. the first layer), which skips one
    matrix product and the scatter; dbias is None when the forward had no bias.
    The variant follows the cache: cols (2-D) from _forward_direct, x from _forward_blas.
    """
    saved, x_shape, weight, has_bias, stride, padding, dilation = cache
    args = tuple(weight.shape[2:]), stride, padding, dilation
    N, O = dy.shape[:2]
    dy = np.ascontiguousarray(dy, dtype=weight.dtype)
    if saved.ndim == 2:        # _forward_direct's cols
        dweight = _weight_grad_direct(saved.reshape(saved.shape[0], N, -1), dy)
        dx = None
        if need_dx:
            dx = _backward_blocks(dy, x_shape, None, weight, args, dy.shape[3], True)[0]
    else:                      # _forward_blas's x
        OWc = _sizes(x_shape, *args)[2]
        dx, dweight = _backward_blocks(dy, x_shape, _padded(saved, padding), weight, args,
                                       OWc, need_dx)
    dbias = None
    if has_bias:   # pairwise sums per image in the input's dtype, then float64 over images
        dbias = dy.reshape(N, O, -1).sum(axis=2).sum(axis=0, dtype=np.float64).astype(dy.dtype)
    return dx, np.ascontiguousarray(dweight).reshape(weight.shape), dbias
