"""2-D convolution on plain arrays, numba version: one column matrix, two ways to multiply it.

The names, signatures and cache fields are those of minigrad/kernels/reference/conv.py.

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
  the forward and the weight gradient. A BLAS product with 9 rows is slow,
  and the loops write out (N, O, OH, OW) with no reorder pass.
* otherwise (conv2: K = 144): one BLAS product on wide rows, then one pass
  that drops the wide columns and reorders (O, N, ...) to (N, O, ...).

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

# Up to this many column rows (C*kh*kw) the direct loops beat BLAS (measured: K = 9
# direct 1.2x faster, K = 18 BLAS 1.3x faster; 3x3 kernels, 28x28, batch 64).
_SMALL_K = 12
# Wide rows while the padded width is at most this many times OW.
_WIDE_MAX = 1.25
# The input gradient's column matrix is made this many bytes at a time.
_BLOCK_BYTES = 1 << 20


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
    here too doubled the kernel's compile time, to 1.6 s.)
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


@jit(parallel=True)
def _small_weight_grad(cols, dy3, acc):
    """acc (4*ceil(O/4), K, L), zeros in: acc[o, k, l] += dy3[n, o, l] * cols[k, n, l]
    summed over n, the weight gradient per position l for small K (summed over l after).

    Parallel over blocks of four output channels (a short last block repeats
    channel O-1 into rows that are dropped after): each cols row is read once
    per block, for four accumulator rows. Accumulating per position keeps the
    loop a vector multiply-add (a scalar sum would not vectorise). Conv1: 1.3x
    faster than one channel per task, and than the reorder + BLAS product.
    """
    K, N, L = cols.shape
    O = dy3.shape[1]
    for block in prange(acc.shape[0] // 4):
        o = 4 * block
        for n in range(N):
            g0, g1 = dy3[n, o], dy3[n, min(o + 1, O - 1)]
            g2, g3 = dy3[n, min(o + 2, O - 1)], dy3[n, min(o + 3, O - 1)]
            for k in range(K):
                c = cols[k, n]
                a0, a1, a2, a3 = acc[o, k], acc[o + 1, k], acc[o + 2, k], acc[o + 3, k]
                for q in range(L):
                    a0[q] += g0[q] * c[q]
                    a1[q] += g1[q] * c[q]
                    a2[q] += g2[q] * c[q]
                    a3[q] += g3[q] * c[q]


# ---------------------------------------------------------------- the column matrix

def _columns(x, kernel, stride, padding, dilation, OH, OWc, rows=0):
    """x (N, C, H, W) -> cols (K, N, OH*OWc) (the module docstring's map),
    followed by zero rows up to `rows` rows."""
    N, C, H, W = x.shape
    ph, pw = padding
    xp = np.zeros((N, C, H + 2 * ph + 1, W + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + H, pw:pw + W] = x
    K = C * kernel[0] * kernel[1]
    cols = np.empty((max(K, rows), N, OH * OWc), dtype=x.dtype)
    cols[K:] = 0
    _gather(xp, kernel, stride, dilation, OWc, cols)
    return cols


def _output_size(x_shape, kernel, stride, padding, dilation):
    return (conv_output_size(x_shape[2], kernel[0], stride[0], padding[0], dilation[0]),
            conv_output_size(x_shape[3], kernel[1], stride[1], padding[1], dilation[1]))


def im2col(x, kernel, stride, padding, dilation):
    """x (N, C, H, W) -> cols (C*kh*kw, N*OH*OW), same dtype, the reference's layout."""
    args = tuple(kernel), tuple(stride), tuple(padding), tuple(dilation)
    cols = _columns(np.ascontiguousarray(x), *args, *_output_size(x.shape, *args))
    return cols.reshape(cols.shape[0], -1)


def col2im(cols, x_shape, kernel, stride, padding, dilation):
    """cols (C*kh*kw, N*OH*OW) -> dx (N, C, H, W), same dtype: the adjoint of im2col."""
    args = tuple(kernel), tuple(stride), tuple(padding), tuple(dilation)
    OH, OW = _output_size(x_shape, *args)
    dx = np.empty(tuple(x_shape), dtype=cols.dtype)
    cols = np.ascontiguousarray(cols).reshape(cols.shape[0], x_shape[0], OH * OW)
    _scatter(cols, *args, OW, dx)
    return dx


# ---------------------------------------------------------------- the variants

def _forward_direct(x, w2, bias, args, OH, OW):
    """K = C*kh*kw <= _SMALL_K (conv1 of the main example, K = 9): reference-layout
    cols, then _small_forward writes (N, O, OH, OW) itself. On conv1 it measured
    0.35 ms against 0.50 ms for BLAS + reorder (one thread, benchmarks/README.md)."""
    N, (O, K) = x.shape[0], w2.shape
    K3 = -(-K // 3) * 3
    cols = _columns(x, *args, OH, OW, rows=K3)
    w3 = np.zeros((O, K3), dtype=x.dtype)
    w3[:, :K] = w2
    out = np.empty((N, O, OH, OW), dtype=x.dtype)
    _small_forward(cols, w3, bias, out.reshape(N, O, OH * OW))
    return out, cols[:K]


def _forward_blas(x, w2, bias, args, OH, OW):
    """Every other K (conv2, K = 144): wide rows when sw == 1 and Wp <= _WIDE_MAX * OW,
    one BLAS product, then the pass that drops the wide columns and reorders to
    (N, O, OH, OW). (Blocks of images, one product each, measured no faster here.)"""
    N, (O, K) = x.shape[0], w2.shape
    Wp = x.shape[3] + 2 * args[2][1]
    OWc = Wp if args[1][1] == 1 and Wp <= _WIDE_MAX * OW else OW
    cols = _columns(x, *args, OH, OWc)
    y = w2 @ cols.reshape(K, -1)
    out = np.empty((N, O, OH, OW), dtype=x.dtype)
    _transpose(y.reshape(O, N, OH, OWc), bias, out)
    return out, cols


def _weight_grad_direct(cols, dy):
    """K <= _SMALL_K, reference-layout cols: _small_weight_grad on dy as it comes,
    no reorder. Conv1: 0.6 ms against 0.75 ms for the reorder + BLAS product."""
    (K, N, L), O = cols.shape, dy.shape[1]
    acc = np.zeros((-(-O // 4) * 4, K, L), dtype=cols.dtype)
    _small_weight_grad(cols, dy.reshape(N, O, L), acc)
    return acc[:O].sum(axis=2, dtype=np.float64).astype(cols.dtype)


def _weight_grad_blas(cols, dy2):
    """Every other case: one BLAS product on the reordered gradient. (Blocks bring
    nothing here: the long dimension is the one summed over.)"""
    K, O = cols.shape[0], dy2.shape[0]
    # Same product either way round; OpenBLAS measured 15-20 % faster with the
    # operand that has more rows on the left.
    if K > O:
        return np.ascontiguousarray((cols.reshape(K, -1) @ dy2.reshape(O, -1).T).T)
    return dy2.reshape(O, -1) @ cols.reshape(K, -1).T


def _input_grad(dy2, weight, x_shape, args, OWc):
    """dx, a block of images at a time: dcols = W2.T @ dy2 into about _BLOCK_BYTES, then
    the scatter while that block is in cache. (On conv2 one product for the whole
    batch, writing 8 MB, took 1.5-1.8x as long as the eight 1 MB blocks.)"""
    O, N, L = dy2.shape
    w2t = np.ascontiguousarray(weight).reshape(O, -1).T
    dx = np.empty(tuple(x_shape), dtype=dy2.dtype)
    step = max(1, _BLOCK_BYTES // (w2t.shape[0] * L * dy2.itemsize))
    for s in range(0, N, step):
        dcols = w2t @ dy2[:, s:s + step].reshape(O, -1)
        _scatter(dcols.reshape(w2t.shape[0], -1, L), *args, OWc, dx[s:s + step])
    return dx


# ---------------------------------------------------------------- the convolution

def conv2d_forward(x, weight, bias, stride, padding, dilation):
    """Convolution forward. x (N, C, H, W), weight (O, C, kh, kw), bias (O,) or None
    -> (out (N, O, OH, OW), cache).

    x, weight and bias must share one float dtype; out has it too. cache is a
    tuple (cols, x_shape, weight, has_bias, stride, padding, dilation): the
    column matrix (C*kh*kw, N*OH*OWc) is kept for the weight gradient and the
    weight (a reference, not a copy) for the input gradient. With OWc = OW
    (small K, or no wide rows) it is the reference's cache exactly.

    Dispatch by K = C*kh*kw: _forward_direct up to _SMALL_K, else _forward_blas.
    """
    OH, OW = conv2d_check(x, weight, bias, stride, padding, dilation)
    x = np.ascontiguousarray(x)
    args = tuple(weight.shape[2:]), tuple(stride), tuple(padding), tuple(dilation)
    w2 = np.ascontiguousarray(weight).reshape(weight.shape[0], -1)
    b = bias if bias is not None else np.zeros(weight.shape[0], dtype=x.dtype)
    forward = _forward_direct if w2.shape[1] <= _SMALL_K else _forward_blas
    out, cols = forward(x, w2, b, args, OH, OW)
    cache = (cols.reshape(cols.shape[0], -1), x.shape, weight, bias is not None) + args[1:]
    return out, cache


def conv2d_backward(dy, cache, need_dx=True):
    """Convolution backward. dy (N, O, OH, OW) -> (dx (N, C, H, W) or None,
    dweight (O, C, kh, kw), dbias (O,) or None).

    dx is None when need_dx is False (e.g. the first layer), which skips one
    matrix product and the scatter; dbias is None when the forward had no bias.
    Takes the reference's cache too (its cols are the OWc = OW layout).
    """
    cols, x_shape, weight, has_bias, stride, padding, dilation = cache
    N, O, OH, OW = dy.shape
    K = cols.shape[0]
    OWc = cols.shape[1] // (N * OH)
    cols = cols.reshape(K, N, OH * OWc)
    dy = np.ascontiguousarray(dy, dtype=cols.dtype)
    direct = K <= _SMALL_K
    dy2 = None
    if need_dx or not direct:
        dy2 = (np.zeros if OWc > OW else np.empty)((O, N, OH, OWc), dtype=dy.dtype)
        _transpose(dy, np.zeros(N, dtype=dy.dtype), dy2)
        dy2 = dy2.reshape(O, N, OH * OWc)
    if direct:
        dweight = _weight_grad_direct(cols, dy)
    else:
        dweight = _weight_grad_blas(cols, dy2)
    dbias = None
    if has_bias:   # pairwise sums in the input's dtype per image, then float64 over images
        dbias = dy.reshape(N, O, -1).sum(axis=2).sum(axis=0, dtype=np.float64)
        dbias = dbias.astype(dy.dtype)
    dx = None
    if need_dx:
        args = tuple(weight.shape[2:]), stride, padding, dilation
        dx = _input_grad(dy2, weight, x_shape, args, OWc)
    return dx, dweight.reshape(weight.shape), dbias
