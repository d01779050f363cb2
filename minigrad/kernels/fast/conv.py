"""2-D convolution on plain arrays, numba version: direct loops, or a column matrix and BLAS.

The names, signatures and cache fields are those of minigrad/kernels/reference/conv.py
(the cache's first array differs: see conv2d_forward).

Layouts follow PyTorch: x (N, C, H, W), weight (O, C, kh, kw), bias (O,),
out (N, O, OH, OW). kernel, stride, padding and dilation are pairs (the caller
normalises ints to pairs).

Both variants read a zero-padded copy of x, xp (N, C, H + 2ph + 1, Wr), with one
spare zero row at the bottom, and compute in "wide" rows where they can: an output
row is computed Wr wide, as if the image went on to the right, and its q >= OW
columns are thrown away. Then, at unit strides, output row oh of image n reads,
for kernel offset (i, j), ONE contiguous run of its xp plane, starting at
(oh + i*dh)*Wr + j*dw: the whole (OH, Wr) plane is one run of OH*Wr values.

conv2d_forward and conv2d_backward dispatch by shape (each variant's docstring has
the measurement behind it, benchmarks/README.md the whole story):

* unit strides, kw a multiple of 3, padding p <= d*(k-1) (both convolutions of the
  main example; _direct_serves): numba loops, direct, over those runs: no column
  matrix, no BLAS, no reorder. The input gradient is the same loop over dy padded
  by d*(k-1) - p, with the filters transposed and flipped; the weight gradient is
  dot products of dy's wide rows with the runs of xp. The cache keeps xp.
* otherwise: the column matrix, one row per (channel, kernel offset) and, per
  image, one column per output position,

    cols[(c, i, j), n, oh, q] = xp[n, c, oh*sh + i*dh, q*sw + j*dw]
    cols: (K, N, OH, OWc), K = C*kh*kw,

  with wide rows (OWc = Wr = W + 2pw) when sw == 1, then a row (c, i, j) of an
  image is one run of its xp plane and the gather a plain copy. BLAS multiplies
  it a block of images at a time, so that each block's cols is still in cache
  when the product reads it, then one pass drops the wide columns and reorders
  (O, N, ...) to (N, O, ...). The cache keeps x: the backward gathers each block
  again. The input gradient is W2.T @ dy2 a block at a time, each block
  scatter-added back (the adjoint of the gather) while it is in cache.

Every kernel keeps the input's dtype (float32 in, float32 out).
"""
import numpy as np
from numba import prange

from minigrad.kernels.fast import jit
from minigrad.kernels.shapes import conv2d_check, conv_output_size

# The one output-size formula, compiled so the kernels below can call it.
_conv_output_size = jit()(conv_output_size)

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


@jit()
def _three_taps(plane, start, dw):
    """The runs of a flattened padded plane that three neighbouring taps of one kernel
    row read, from `start` on: the direct kernels' inner loops go along them."""
    return plane[start:], plane[start + dw:], plane[start + 2 * dw:]


@jit(fastmath={"contract"})
def _direct_block(xp, w, bias, dilation, out, n, o):
    """out[n, o:o + 4] (OH, OW) <- the stride-1 convolution of image n's padded planes
    xp[n] (C, Hp, Wr) with the filters w[o:o + 4] (C, kh, kw), plus bias; one task of
    _direct. kw is a multiple of 3; xp's spare bottom row keeps every read in bounds.

    The 4 planes are computed in wide rows (OH*Wr, each row's last Wr - OW columns
    thrown away) in a scratch buffer that stays in L1: one pass over it per (input
    channel, kernel row, 3 taps) reads the input once for 12 multiply-adds per
    position, the weights being loop-invariant scalars. (8 filters per pass, or 2
    filters and all 9 taps of a 3x3 kernel, took 1.15x and 1.6x as long on conv2.)
    "contract" only lets each a + w*x become one fused multiply-add.
    """
    N, O, OH, OW = out.shape
    C, kh, kw = w.shape[1:]
    Wr = xp.shape[3]
    dh, dw = dilation
    L = OH * Wr
    planes = xp.reshape(N, C, -1)
    acc = np.empty((4, L), dtype=out.dtype)
    for k in range(4):
        for q in range(L):
            acc[k, q] = bias[o + k]
    for c in range(C):
        for i in range(kh):
            for j in range(0, kw, 3):
                x0, x1, x2 = _three_taps(planes[n, c], i * dh * Wr + j * dw, dw)
                a0, a1, a2 = w[o, c, i, j], w[o, c, i, j + 1], w[o, c, i, j + 2]
                b0, b1, b2 = w[o + 1, c, i, j], w[o + 1, c, i, j + 1], w[o + 1, c, i, j + 2]
                c0, c1, c2 = w[o + 2, c, i, j], w[o + 2, c, i, j + 1], w[o + 2, c, i, j + 2]
                d0, d1, d2 = w[o + 3, c, i, j], w[o + 3, c, i, j + 1], w[o + 3, c, i, j + 2]
                for q in range(L):
                    v0, v1, v2 = x0[q], x1[q], x2[q]
                    acc[0, q] = acc[0, q] + a0 * v0 + a1 * v1 + a2 * v2
                    acc[1, q] = acc[1, q] + b0 * v0 + b1 * v1 + b2 * v2
                    acc[2, q] = acc[2, q] + c0 * v0 + c1 * v1 + c2 * v2
                    acc[3, q] = acc[3, q] + d0 * v0 + d1 * v1 + d2 * v2
    for k in range(min(4, O - o)):
        for h in range(OH):
            src = acc[k, h * Wr:]
            dst = out[n, o + k, h]
            for q in range(OW):
                dst[q] = src[q]


@jit(parallel=True)
def _direct(xp, w, bias, dilation, out):
    """out (N, O, OH, OW) <- _direct_block for every image and block of 4 filters of
    w (O4, C, kh, kw), bias (O4,), O4 being O rounded up to 4 with zero filters.
    (The tasks are calls: the same loops inside the prange took 1 s longer to compile.)"""
    blocks = w.shape[0] // 4
    for task in prange(out.shape[0] * blocks):
        _direct_block(xp, w, bias, dilation, out, task // blocks, task % blocks * 4)


@jit(fastmath={"reassoc", "contract"})
def _weight_grad_block(xp, dy, dilation, part, n, o):
    """part[n, o:o + 4] (C, kh, kw) <- image n's share of the weight gradient of the
    filters o..o+3 (summed over n after); one task of _direct_weight_grad.

    dy[n, o:o + 4] is first copied into wide rows, OH*Wr values with zeros beyond OW
    (and zero planes past the last filter). Then per tap, the dot product of such a
    plane and the run of xp[n, c] the tap reads: one pass per (input channel, kernel
    row, 3 taps) computes 12 of them, reading each run once (one filter per pass took
    1.8x as long on conv2). kw is a multiple of 3. "reassoc" lets LLVM keep the
    partial sums in vector registers, in the input's dtype.
    """
    N, O, C, kh, kw = part.shape
    OH, OW = dy.shape[2:]
    Wr = xp.shape[3]
    dh, dw = dilation
    L = OH * Wr
    planes = xp.reshape(N, C, -1)
    g = np.zeros((4, L), dtype=dy.dtype)
    for k in range(min(4, O - o)):
        for h in range(OH):
            src = dy[n, o + k, h]
            dst = g[k, h * Wr:]
            for q in range(OW):
                dst[q] = src[q]
    g0, g1, g2, g3 = g[0], g[1], g[2], g[3]
    t = np.empty((4, 3), dtype=part.dtype)
    for c in range(C):
        for i in range(kh):
            for j in range(0, kw, 3):
                x0, x1, x2 = _three_taps(planes[n, c], i * dh * Wr + j * dw, dw)
                a0 = a1 = a2 = b0 = b1 = b2 = np.float32(0)  # float64 inputs: float64
                c0 = c1 = c2 = d0 = d1 = d2 = np.float32(0)
                for q in range(L):
                    v0, v1, v2 = x0[q], x1[q], x2[q]
                    a0 += g0[q] * v0
                    a1 += g0[q] * v1
                    a2 += g0[q] * v2
                    b0 += g1[q] * v0
                    b1 += g1[q] * v1
                    b2 += g1[q] * v2
                    c0 += g2[q] * v0
                    c1 += g2[q] * v1
                    c2 += g2[q] * v2
                    d0 += g3[q] * v0
                    d1 += g3[q] * v1
                    d2 += g3[q] * v2
                t[0, 0], t[0, 1], t[0, 2] = a0, a1, a2
                t[1, 0], t[1, 1], t[1, 2] = b0, b1, b2
                t[2, 0], t[2, 1], t[2, 2] = c0, c1, c2
                t[3, 0], t[3, 1], t[3, 2] = d0, d1, d2
                for k in range(min(4, O - o)):
                    for r in range(3):
                        part[n, o + k, c, i, j + r] = t[k, r]


@jit(parallel=True)
def _direct_weight_grad(xp, dy, dilation, part):
    """part (N, O, C, kh, kw) <- _weight_grad_block for every image and block of 4 filters."""
    blocks = -(-part.shape[1] // 4)
    for task in prange(part.shape[0] * blocks):
        _weight_grad_block(xp, dy, dilation, part, task // blocks, task % blocks * 4)


# ---------------------------------------------------------------- the column matrix

def _padded(x, padding, width=None):
    """x (N, C, H, W) -> xp (N, C, H + 2ph + 1, width): zeros around, one spare zero row;
    width W + 2pw unless given (then at least that)."""
    N, C, H, W = x.shape
    ph, pw = padding
    width = W + 2 * pw if width is None else width
    xp = np.zeros((N, C, H + 2 * ph + 1, width), dtype=x.dtype)
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

def _forward_blas(x, w2, bias, args, OH, OW):
    """The shapes _direct_serves does not: a block of images at a time, cols (wide rows
    when _sizes allows) into a fresh block that stays in cache, one BLAS product,
    and the pass that drops the wide columns and reorders to (N, O, OH, OW). Keeps
    x, not cols: the backward gathers again. Conv2 (before the direct variant took
    it), one thread: 1.5 ms against
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


def _backward_blocks(dy, x_shape, xp, weight, args, OWc, need_dx):
    """The BLAS backward, a block of images at a time: dy reordered to dy2 (O, N,
    OH*OWc) once; per block, its cols gathered again from xp for
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
        dwt += _columns(xp[s], args, OH, OWc, K).reshape(K, -1) @ g.T
        if need_dx:
            _scatter((w2t @ g).reshape(K, -1, OH * OWc), *args, OWc, dx[s])
    return dx, dwt.T


def _direct_serves(x_shape, kernel, stride, padding, dilation):
    """True when the direct kernels serve the convolution: unit stride, a kernel width
    that is a multiple of 3, and padding p <= d*(k-1), so that dy padded by d*(k-1) - p
    turns the input gradient into a convolution too."""
    reach = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return (tuple(stride) == (1, 1) and kernel[1] % 3 == 0
            and all(p <= r for p, r in zip(padding, reach)))


def _blocks_of_four(w):
    """w (O, ...) -> (O4, ...), O4 = O rounded up to 4: zero filters (or biases) added."""
    w4 = np.zeros((-(-len(w) // 4) * 4,) + w.shape[1:], dtype=w.dtype)
    w4[:len(w)] = w
    return w4


def _forward_direct(x, weight, bias, args, OH, OW):
    """_direct_serves's convolutions (both of the main example): no column matrix, no
    BLAS, no reorder; the cache keeps xp, padded to the row width the backward's padded
    dy needs too (W + max(2pw, dw*(kw-1)))."""
    kw, padding, dw = args[0][1], args[2], args[3][1]
    xp = _padded(x, padding, x.shape[3] + max(2 * padding[1], dw * (kw - 1)))
    out = np.empty((x.shape[0], weight.shape[0], OH, OW), dtype=x.dtype)
    _direct(xp, _blocks_of_four(weight), _blocks_of_four(bias), args[3], out)
    return out, xp


def _backward_direct(dy, xp, x_shape, weight, args, need_dx):
    """The backward of _forward_direct -> (dx or None, dW). dW is per-image dot products
    of dy's planes in wide rows with the runs of xp (float64 across images); dx the
    convolution, by the forward's kernel, of dy padded by d*(k-1) - p to xp's row
    width with the filters transposed and flipped."""
    (kh, kw), _, (ph, pw), (dh, dw) = args
    part = np.empty(dy.shape[:2] + weight.shape[1:], dtype=dy.dtype)
    _direct_weight_grad(xp, dy, args[3], part)
    dx = None
    if need_dx:
        gp = _padded(dy, (dh * (kh - 1) - ph, dw * (kw - 1) - pw), xp.shape[3])
        dx = np.empty(x_shape, dtype=dy.dtype)
        flipped = _blocks_of_four(weight.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
        _direct(gp, flipped, np.zeros(len(flipped), dtype=dy.dtype), args[3], dx)
    return dx, part.sum(axis=0, dtype=np.float64).astype(dy.dtype)


# ---------------------------------------------------------------- the convolution

def conv2d_forward(x, weight, bias, stride, padding, dilation):
    """Convolution forward. x (N, C, H, W), weight (O, C, kh, kw), bias (O,) or None
    -> (out (N, O, OH, OW), cache).

    x, weight and bias must share one float dtype; out has it too. cache is a
    tuple (saved, x_shape, weight, has_bias, stride, padding, dilation), the
    reference's fields, where saved is xp (padded x) for the direct variant and x
    itself for the BLAS one (the weight is a reference, not a copy). So the numpy
    backend cannot run this backward's cache.

    Dispatch by shape: _forward_direct where _direct_serves, else _forward_blas.
    """
    OH, OW = conv2d_check(x, weight, bias, stride, padding, dilation)
    x = np.ascontiguousarray(x)
    args = tuple(weight.shape[2:]), tuple(stride), tuple(padding), tuple(dilation)
    b = bias if bias is not None else np.zeros(weight.shape[0], dtype=x.dtype)
    if _direct_serves(x.shape, *args):
        out, saved = _forward_direct(x, weight, b, args, OH, OW)
    else:
        w2 = np.ascontiguousarray(weight).reshape(weight.shape[0], -1)
        out, saved = _forward_blas(x, w2, b, args, OH, OW)
    return out, (saved, x.shape, weight, bias is not None) + args[1:]


def conv2d_backward(dy, cache, need_dx=True):
    """Convolution backward. dy (N, O, OH, OW) -> (dx (N, C, H, W) or None,
    dweight (O, C, kh, kw), dbias (O,) or None).

    dx is None when need_dx is False (e.g. the first layer), which skips one
    matrix product and the scatter (or the direct variant's second loop); dbias is
    None when the forward had no bias. The variant follows the shapes, as in the forward.
    """
    saved, x_shape, weight, has_bias, stride, padding, dilation = cache
    args = tuple(weight.shape[2:]), stride, padding, dilation
    N, O = dy.shape[:2]
    dy = np.ascontiguousarray(dy, dtype=weight.dtype)
    if _direct_serves(x_shape, *args):
        dx, dweight = _backward_direct(dy, saved, x_shape, weight, args, need_dx)
    else:
        dx, dweight = _backward_blocks(dy, x_shape, _padded(saved, padding), weight, args,
                                       _sizes(x_shape, *args)[2], need_dx)
    dbias = None
    if has_bias:   # pairwise sums per image in the input's dtype, then float64 over images
        dbias = dy.reshape(N, O, -1).sum(axis=2).sum(axis=0, dtype=np.float64).astype(dy.dtype)
    return dx, np.ascontiguousarray(dweight).reshape(weight.shape), dbias
