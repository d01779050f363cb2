"""Batch normalization on arrays, as parallel numba kernels (no Tensor, no autograd).

Every input is viewed as a 3-D array ``x3`` of shape (N, C, S):

    BatchNorm1d (N, C)        -> (N, C, 1)
    BatchNorm1d (N, C, L)     -> (N, C, L)
    BatchNorm2d (N, C, H, W)  -> (N, C, H*W)

Channel c has M = N*S values, x3[:, c, :]. The public functions have the
names, signatures and conventions of minigrad/kernels/reference/batchnorm.py
(read that one first: it is the definition the tests hold these to).

Inputs up to FUSED_BELOW bytes (4 MiB: the small BatchNorm2d and BatchNorm1d
of bench_batchnorm.py, both of the MNIST CNN's) take fused kernels: each task
owns whole channels and does both passes of one direction while its channels
are in cache, the statistics-to-coefficients arithmetic between them included:

    _train_planes / _train_rows            forward: statistics, then y
    _train_back_planes / _train_back_rows  backward: the two sums, then dx

one launch per direction and no numpy between the passes (benchmarks/README.md,
"Fused BN kernels"). Either may fuse a ReLU (y = max(bn(x), 0), and dy masked
where bn(x) <= 0 inside the backward: normalize_train and backward_train with
relu=True; with it, planes of RELU_FUSED_FROM values or more stay fused at any size).
Larger inputs take two split kernels, which divide samples among threads too (a
channel would not stay in cache between its passes; a fused ReLU is then
activation.py's kernel, in place):

    sums  two per-channel sums: of x - K and (x - K)**2 for the statistics,
          of dy and dy * (x - mean) for the backward
    map   out = a[c]*x + e[c] (normalize, scale_shift) or
          out = a[c]*dy + b[c]*x + e[c] (dx), per element, in float64

Each sample is a row of R = C*S contiguous values, and every kernel comes in
two forms, chosen by S:

"planes" (S >= PLANES_FROM, most BatchNorm2d): a plane of S values shares one
    channel, so each (part of a) plane is one inner loop with the channel's
    coefficients in scalars, and the sums of a plane in scalar accumulators.
"rows" (short planes: BatchNorm1d, 7x7): a plane is too short for a loop of
    its own, so the inner loop runs along a row, over chunks of CHUNK
    positions, with coefficients given per position and one float64
    accumulator per position (``acc[i] += ...``).

The split kernels' tasks are (a block of samples) x (a block of positions): a
block of samples per thread when N allows, positions split when N is smaller
(N = 1), so every thread has work for any N and C; the fused kernels' tasks
are blocks of channels, one per thread, and need C >= threads. Inputs below
SERIAL_BELOW elements are one task: split in two, (256, 100) and (32, 8, 14,
14) took about 20 % longer (benchmarks/README.md, optimisation 9).

Each kernel is one prange over tasks, and compiles in 1-3 s (about 40 % of it
LLVM, the rest numba's typing and parfor lowering): only the forms a program uses are compiled,
lazily, on first call (minigrad/kernels/fast/__init__.py says where the cache
goes); importing this module compiles nothing.

Preconditions (the op checks its inputs; the kernels do not): x3, dy3 and
`out` are C-contiguous (N, C, S) arrays of one float dtype with N*C*S > 0, as
as_ncs makes them; per-channel vectors are arrays of length C (weight and bias
may be None).
"""
import numba
import numpy as np
from numba import prange

from minigrad.kernels.fast import jit
from minigrad.kernels.fast.activation import _relu_bwd, _relu_fwd
from minigrad.kernels.shapes import as_ncs, per_channel  # noqa: F401

PLANES_FROM = 64      # S from which a plane gets inner loops of its own (7x7 stays rows)
FUSED_BELOW = 4 << 20  # bytes of x up to which the fused kernels serve (channels stay in cache)
RELU_FUSED_FROM = 512  # S from which a fused ReLU keeps the fused kernels above FUSED_BELOW
CHUNK = 1024          # rows form: positions per inner loop (its arrays stay in L1)
SERIAL_BELOW = 65536  # elements: smaller inputs run as one task


# --------------------------------------------------------------------------
# Kernels: prange over tasks, each task one block of rows x positions
# --------------------------------------------------------------------------
# Sums go to arrays of the task's own first, and to parts[t] at the end: the
# tasks' rows of `parts` share cache lines, and accumulating in them made two
# threads slower than one. 0-based loops over slices: numba then knows i >= 0
# and the loop vectorises (indexing x2[n, j0 + i] does not). In the rows form,
# a branch between two inner loops sits outside the loop over rows: inside it,
# on rows of 100-1000 values, they ran 20-40 % slower.

@jit()
def _bounds(t, n_, r_, row_blocks, col_blocks):
    """Task t's rows [lo, hi) and positions [jlo, jhi) -> (lo, hi, jlo, jhi)."""
    rb = t // col_blocks
    cb = t - rb * col_blocks
    return (n_ * rb // row_blocks, n_ * (rb + 1) // row_blocks,
            r_ * cb // col_blocks, r_ * (cb + 1) // col_blocks)


@jit(parallel=True, fastmath={"reassoc"})
def _sums_planes(u2, x2, k, w, s_, row_blocks, col_blocks, parts):
    """Per channel c, with v = u - w*k[c]: sum(v) and sum(v * (x - k[c])) -> parts[t].

    u2, x2: (N, R) rows, float32 or float64; k: float64 (C,); w: 1.0 or 0.0;
    parts: float64 (ntasks, 2, C), task t's sums into parts[t] (zero where it has no values).
    The statistics take u = x, w = 1 and k[c] = a value of the channel: sums
    of d = x - k[c] and d*d, deviations small even when the mean is large
    (mean 1e4, std 0.1 in float32), so the variance does not cancel. The
    backward takes u = dy, w = 0, k = mean. Accumulation is in float64.
    fastmath "reassoc" only lets LLVM reorder the additions: so it keeps
    several partial sums of a plane in vector registers (a sum into one scalar
    may not be reordered, so it would not vectorise).
    """
    n_, r_ = x2.shape
    for t in prange(row_blocks * col_blocks):
        lo, hi, jlo, jhi = _bounds(t, n_, r_, row_blocks, col_blocks)
        sum1 = np.zeros(parts.shape[2])
        sum2 = np.zeros(parts.shape[2])
        for n in range(lo, hi):
            c = jlo // s_
            j = jlo
            while j < jhi:             # channel c's positions [j, end) of row n
                end = min(jhi, (c + 1) * s_)
                us = u2[n, j:end]
                xs = x2[n, j:end]
                kc = k[c]
                uc = w * kc
                t1 = 0.0
                t2 = 0.0
                if w == 1.0:           # the statistics: u is x, read it once
                    for i in range(end - j):
                        d = xs[i] - kc
                        t1 += d
                        t2 += d * d
                else:
                    for i in range(end - j):
                        v = us[i] - uc     # float64, as uc is
                        t1 += v
                        t2 += v * (xs[i] - kc)
                sum1[c] += t1
                sum2[c] += t2
                j = end
                c += 1
        for c in range(parts.shape[2]):
            parts[t, 0, c] = sum1[c]
            parts[t, 1, c] = sum2[c]


@jit(parallel=True)
def _sums_rows(u2, x2, k, w, s_, row_blocks, col_blocks, parts):
    """_sums_planes's sums with k given per position (R,): accumulated per
    position over the rows, then folded into the channels (parts as there).

    The backward's sums of float32 inputs take sum(u*x) - k*sum(u) instead of
    sum(u*(x - k)): a float32 product is exact in float64, and the loop loses a
    load and a subtraction per value (backward_reduce at (4096, 1024) 30-50 %
    faster: benchmarks/README.md, "Short planes"). With a mean of 1e4 and a
    spread of 0.1 this keeps about eleven digits, far more than float32 data
    holds; float64 inputs keep the centred form.
    """
    exact = w == 0.0 and x2.itemsize == 4 and u2.itemsize == 4      # both float32
    n_, r_ = x2.shape
    for t in prange(row_blocks * col_blocks):
        lo, hi, jlo, jhi = _bounds(t, n_, r_, row_blocks, col_blocks)
        sum1 = np.zeros(parts.shape[2])
        sum2 = np.zeros(parts.shape[2])
        acc1 = np.empty(CHUNK)
        acc2 = np.empty(CHUNK)
        for j0 in range(jlo, jhi, CHUNK):
            m = min(jhi - j0, CHUNK)
            kr = k[j0:j0 + m]
            acc1[:m] = 0.0
            acc2[:m] = 0.0
            for n in range(lo, hi):
                us = u2[n, j0:j0 + m]
                xs = x2[n, j0:j0 + m]
                if w == 1.0:           # the statistics, as in _sums_planes
                    for i in range(m):
                        d = xs[i] - kr[i]
                        acc1[i] += d
                        acc2[i] += d * d
                elif exact:            # float32 u*x is exact in float64: k comes off below
                    for i in range(m):
                        v = np.float64(us[i])
                        acc1[i] += v
                        acc2[i] += v * xs[i]
                else:
                    for i in range(m):
                        v = us[i] - w * kr[i]
                        acc1[i] += v
                        acc2[i] += v * (xs[i] - kr[i])
            # position j0 + i is channel (j0 + i) // s_: counted, not divided (a
            # division per position cost more than the rows' loop)
            c = j0 // s_
            pos = j0 - c * s_
            for i in range(m):
                sum1[c] += acc1[i]
                sum2[c] += acc2[i] - kr[i] * acc1[i] if exact else acc2[i]
                pos += 1
                if pos == s_:
                    pos = 0
                    c += 1
        for c in range(parts.shape[2]):
            parts[t, 0, c] = sum1[c]
            parts[t, 1, c] = sum2[c]


@jit(parallel=True)
def _map_planes(u2, x2, a, b, e, s_, pair, o2, row_blocks, col_blocks):
    """o = a[c]*u + b[c]*x + e[c] (pair) or a[c]*x + e[c], computed in float64.

    u2, x2, o2: (N, R) rows; a, b, e: float64 (C,) (u2 and b unused without pair).
    """
    n_, r_ = x2.shape
    for t in prange(row_blocks * col_blocks):
        lo, hi, jlo, jhi = _bounds(t, n_, r_, row_blocks, col_blocks)
        for n in range(lo, hi):
            c = jlo // s_
            j = jlo
            while j < jhi:
                end = min(jhi, (c + 1) * s_)
                xs = x2[n, j:end]
                os = o2[n, j:end]
                ac = a[c]
                ec = e[c]
                if pair:
                    us = u2[n, j:end]
                    bc = b[c]
                    for i in range(end - j):
                        os[i] = ac * us[i] + bc * xs[i] + ec
                else:
                    for i in range(end - j):
                        os[i] = xs[i] * ac + ec
                j = end
                c += 1


@jit(parallel=True)
def _map_rows(u2, x2, a, b, e, pair, o2, row_blocks, col_blocks):
    """_map_planes with a, b, e per position (R,)."""
    n_, r_ = x2.shape
    for t in prange(row_blocks * col_blocks):
        lo, hi, jlo, jhi = _bounds(t, n_, r_, row_blocks, col_blocks)
        for j0 in range(jlo, jhi, CHUNK):
            j1 = min(jhi, j0 + CHUNK)
            ar = a[j0:j1]
            br = b[j0:j1]
            er = e[j0:j1]
            if pair:
                for n in range(lo, hi):
                    us = u2[n, j0:j1]
                    xs = x2[n, j0:j1]
                    os = o2[n, j0:j1]
                    for i in range(j1 - j0):
                        os[i] = ar[i] * us[i] + br[i] * xs[i] + er[i]
            else:
                for n in range(lo, hi):
                    xs = x2[n, j0:j1]
                    os = o2[n, j0:j1]
                    for i in range(j1 - j0):
                        os[i] = xs[i] * ar[i] + er[i]


# --------------------------------------------------------------------------
# Fused kernels: each task owns whole channels and does both passes
# --------------------------------------------------------------------------
# For inputs up to FUSED_BELOW bytes a task's channels are still in cache when
# its second pass reads them, and the per-channel arithmetic between the passes
# (statistics to coefficients) happens inside the kernel: one launch per forward
# and one per backward instead of two each, and no numpy glue between them. lo
# is 0.0 when a ReLU is fused (y = max(bn(x), 0), and the backward takes dy
# where bn(x) > 0 only) and -inf otherwise: one code path in the forward; the
# backward's mask has loops of its own behind `if lo == 0.0` (a mask on every
# value made the plain backward slower).

@jit()
def _train_coefficients(c, sum1, sum2, k, count, gamma, beta, eps, stats):
    """Channel c's statistics from the sums of d = x - k and d*d -> stats[:, c] (mean,
    var, invstd); returns the forward's (a, e): y = a*x + e."""
    md = sum1 / count
    mean = k + md
    var = max(sum2 / count - md * md, 0.0)
    inv = 1.0 / np.sqrt(var + eps)
    stats[0, c], stats[1, c], stats[2, c] = mean, var, inv
    a = inv * gamma[c]
    return a, beta[c] - mean * a


@jit()
def _dx_coefficients(c, sum_dy, sum_dy_xmu, count, mean, invstd, gamma, sums):
    """Channel c's backward sums -> sums[:, c] (sum_dy, sum_dy_xhat); returns backward_dx's
    (a, b, e): dx = a*dy + b*x + e."""
    inv = invstd[c]
    sums[0, c], sums[1, c] = sum_dy, sum_dy_xmu * inv
    a = gamma[c] * inv
    b = -a * inv * inv * sum_dy_xmu / count
    return a, b, -a * sum_dy / count - b * mean[c]


@jit(parallel=True, fastmath={"reassoc"})
def _train_planes(x2, s_, gamma, beta, eps, lo, tasks, y2, stats):
    """Training forward of planes (S >= PLANES_FROM), fused: task t normalizes its
    channels one at a time, the statistics (as _sums_planes) then y = max(a*x + e, lo).
    gamma, beta: float64 (C,); stats: float64 (3, C) <- mean, biased var, invstd."""
    n_ = x2.shape[0]
    c_ = stats.shape[1]
    for t in prange(tasks):
        for c in range(c_ * t // tasks, c_ * (t + 1) // tasks):
            j = c * s_
            k = np.float64(x2[0, j])
            t1 = 0.0
            t2 = 0.0
            for n in range(n_):
                xs = x2[n, j:j + s_]
                for i in range(s_):
                    d = xs[i] - k
                    t1 += d
                    t2 += d * d
            a, e = _train_coefficients(c, t1, t2, k, n_ * s_, gamma, beta, eps, stats)
            for n in range(n_):
                xs = x2[n, j:j + s_]
                ys = y2[n, j:j + s_]
                for i in range(s_):
                    v = xs[i] * a + e
                    ys[i] = lo if v < lo else v     # NaN stays NaN


@jit(parallel=True, fastmath={"reassoc"})
def _train_back_planes(dy2, x2, s_, mean, invstd, gamma, fwd, lo, tasks, dx2, sums):
    """Training backward of planes, fused: per channel the two sums (as _sums_planes) of
    u = dy where the forward's a*x + e > lo (fwd[0], fwd[1]: a and e), then dx = a*u + b*x + e.
    sums: float64 (2, C) <- sum_dy, sum_dy_xhat."""
    n_ = x2.shape[0]
    for t in prange(tasks):
        for c in range(mean.size * t // tasks, mean.size * (t + 1) // tasks):
            j = c * s_
            mc, af, ef = mean[c], fwd[0, c], fwd[1, c]
            t1 = 0.0
            t2 = 0.0
            for n in range(n_):
                us = dy2[n, j:j + s_]
                xs = x2[n, j:j + s_]
                if lo == 0.0:          # a fused ReLU: its mask, in loops of their own
                    for i in range(s_):
                        u = us[i] if xs[i] * af + ef > lo else 0.0
                        t1 += u
                        t2 += u * (xs[i] - mc)
                else:
                    for i in range(s_):
                        t1 += us[i]
                        t2 += us[i] * (xs[i] - mc)
            a, b, e = _dx_coefficients(c, t1, t2, n_ * s_, mean, invstd, gamma, sums)
            for n in range(n_):
                us = dy2[n, j:j + s_]
                xs = x2[n, j:j + s_]
                os = dx2[n, j:j + s_]
                if lo == 0.0:
                    for i in range(s_):
                        u = us[i] if xs[i] * af + ef > lo else 0.0
                        os[i] = a * u + b * xs[i] + e
                else:
                    for i in range(s_):
                        os[i] = a * us[i] + b * xs[i] + e


@jit()
def _spread(v, c0, s_, j0, m, out):
    """out[i] = v[c - c0] for the channel c of position j0 + i, i < m (a per-channel
    vector as the rows form reads it; channels counted, not divided)."""
    c = j0 // s_
    pos = j0 - c * s_
    for i in range(m):
        out[i] = v[c - c0]
        pos += 1
        if pos == s_:
            pos = 0
            c += 1


@jit()
def _fold(acc1, acc2, c0, s_, j0, m, sum1, sum2):
    """Per-position sums acc1/acc2[:m] of positions j0... added into their channels' sum1/2."""
    c = j0 // s_
    pos = j0 - c * s_
    for i in range(m):
        sum1[c - c0] += acc1[i]
        sum2[c - c0] += acc2[i]
        pos += 1
        if pos == s_:
            pos = 0
            c += 1


@jit(parallel=True)
def _train_rows(x2, s_, gamma, beta, eps, lo, tasks, y2, stats):
    """_train_planes for short planes (S < PLANES_FROM, BatchNorm1d): task t's channels are
    the positions [c0*S, c1*S) of every row, summed per position over the rows (chunks of
    CHUNK positions, as _sums_rows) and folded into channels, then mapped."""
    n_ = x2.shape[0]
    c_ = stats.shape[1]
    for t in prange(tasks):
        c0, c1 = c_ * t // tasks, c_ * (t + 1) // tasks
        k, sum1, sum2 = np.empty(c1 - c0), np.zeros(c1 - c0), np.zeros(c1 - c0)
        for c in range(c0, c1):
            k[c - c0] = x2[0, c * s_]
        acc1, acc2, ar, er = np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK)
        for j0 in range(c0 * s_, c1 * s_, CHUNK):
            m = min(c1 * s_ - j0, CHUNK)
            _spread(k, c0, s_, j0, m, ar)
            acc1[:m] = 0.0
            acc2[:m] = 0.0
            for n in range(n_):
                xs = x2[n, j0:j0 + m]
                for i in range(m):
                    d = xs[i] - ar[i]
                    acc1[i] += d
                    acc2[i] += d * d
            _fold(acc1, acc2, c0, s_, j0, m, sum1, sum2)
        a, e = np.empty(c1 - c0), np.empty(c1 - c0)
        for c in range(c0, c1):
            a[c - c0], e[c - c0] = _train_coefficients(c, sum1[c - c0], sum2[c - c0], k[c - c0],
                                                       n_ * s_, gamma, beta, eps, stats)
        for j0 in range(c0 * s_, c1 * s_, CHUNK):
            m = min(c1 * s_ - j0, CHUNK)
            _spread(a, c0, s_, j0, m, ar)
            _spread(e, c0, s_, j0, m, er)
            for n in range(n_):
                xs = x2[n, j0:j0 + m]
                ys = y2[n, j0:j0 + m]
                for i in range(m):
                    v = xs[i] * ar[i] + er[i]
                    ys[i] = lo if v < lo else v


@jit(parallel=True)
def _train_back_rows(dy2, x2, s_, mean, invstd, gamma, fwd, lo, tasks, dx2, sums):
    """_train_back_planes for short planes, by positions as _train_rows."""
    n_ = x2.shape[0]
    c_ = mean.size
    for t in prange(tasks):
        c0, c1 = c_ * t // tasks, c_ * (t + 1) // tasks
        sum1, sum2 = np.zeros(c1 - c0), np.zeros(c1 - c0)
        acc1, acc2, mr = np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK)
        ar, br, er, fa, fe = (np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK),
                              np.empty(CHUNK), np.empty(CHUNK))
        for j0 in range(c0 * s_, c1 * s_, CHUNK):
            m = min(c1 * s_ - j0, CHUNK)
            _spread(mean, 0, s_, j0, m, mr)
            _spread(fwd[0], 0, s_, j0, m, fa)
            _spread(fwd[1], 0, s_, j0, m, fe)
            acc1[:m] = 0.0
            acc2[:m] = 0.0
            for n in range(n_):
                us = dy2[n, j0:j0 + m]
                xs = x2[n, j0:j0 + m]
                if lo == 0.0:          # a fused ReLU: its mask, in loops of their own
                    for i in range(m):
                        u = us[i] if xs[i] * fa[i] + fe[i] > lo else 0.0
                        acc1[i] += u
                        acc2[i] += u * (xs[i] - mr[i])
                else:
                    for i in range(m):
                        acc1[i] += us[i]
                        acc2[i] += us[i] * (xs[i] - mr[i])
            _fold(acc1, acc2, c0, s_, j0, m, sum1, sum2)
        a, b, e = np.empty(c1 - c0), np.empty(c1 - c0), np.empty(c1 - c0)
        for c in range(c0, c1):
            a[c - c0], b[c - c0], e[c - c0] = _dx_coefficients(
                c, sum1[c - c0], sum2[c - c0], n_ * s_, mean, invstd, gamma, sums)
        for j0 in range(c0 * s_, c1 * s_, CHUNK):
            m = min(c1 * s_ - j0, CHUNK)
            _spread(a, c0, s_, j0, m, ar)
            _spread(b, c0, s_, j0, m, br)
            _spread(e, c0, s_, j0, m, er)
            _spread(fwd[0], 0, s_, j0, m, fa)
            _spread(fwd[1], 0, s_, j0, m, fe)
            for n in range(n_):
                us = dy2[n, j0:j0 + m]
                xs = x2[n, j0:j0 + m]
                os = dx2[n, j0:j0 + m]
                if lo == 0.0:
                    for i in range(m):
                        u = us[i] if xs[i] * fa[i] + fe[i] > lo else 0.0
                        os[i] = ar[i] * u + br[i] * xs[i] + er[i]
                else:
                    for i in range(m):
                        os[i] = ar[i] * us[i] + br[i] * xs[i] + er[i]


# --------------------------------------------------------------------------
# Choosing the form and the tasks
# --------------------------------------------------------------------------

def _split(x3):
    """(row_blocks, col_blocks): one task per thread, or (1, 1) for a small input."""
    if x3.size < SERIAL_BELOW:
        return 1, 1
    threads = numba.get_num_threads()
    rows = min(x3.shape[0], threads)
    return rows, -(-threads // rows)


def _fused_tasks(x3, relu=False):
    """Tasks for the fused kernels (whole channels each), or 0 where the split ones serve
    x3 better: above FUSED_BELOW bytes (a channel's second pass would miss the cache), or
    fewer channels than threads (the split kernels divide samples too). With a fused ReLU,
    planes of RELU_FUSED_FROM values or more stay fused at any size: the split path
    would add two passes for the ReLU, which cost more than the misses."""
    if x3.size < SERIAL_BELOW:
        return 1
    threads = numba.get_num_threads()
    fits = x3.nbytes <= FUSED_BELOW or (relu and x3.shape[2] >= RELU_FUSED_FROM)
    return threads if fits and x3.shape[1] >= threads else 0


def _per_position(v, s):
    """A per-channel vector (C,) as the rows form takes it: one value per position."""
    return v if s == 1 else np.repeat(v, s)


def _sums(u3, x3, k, w):
    """The sums kernel over all of x3 -> (2, C) float64: sum(v), sum(v * (x - k[c]))."""
    n, c, s = x3.shape
    u2, x2 = u3.reshape(n, c * s), x3.reshape(n, c * s)
    rows, cols = _split(x3)
    parts = np.empty((rows * cols, 2, c))
    if s >= PLANES_FROM:
        _sums_planes(u2, x2, k, w, s, rows, cols, parts)
    else:
        _sums_rows(u2, x2, _per_position(k, s), w, s, rows, cols, parts)
    return parts[0] if rows * cols == 1 else parts.sum(axis=0)


def _map(u3, x3, a, b, e, pair, out):
    """The map kernel over all of x3, into `out` (or a new array) -> out."""
    n, c, s = x3.shape
    out = np.empty_like(x3) if out is None else out
    u2, x2, o2 = u3.reshape(n, c * s), x3.reshape(n, c * s), out.reshape(n, c * s)
    rows, cols = _split(x3)
    if s >= PLANES_FROM:
        _map_planes(u2, x2, a, b, e, s, pair, o2, rows, cols)
    else:
        a, e = _per_position(a, s), _per_position(e, s)
        b = _per_position(b, s) if pair else a
        _map_rows(u2, x2, a, b, e, pair, o2, rows, cols)
    return out


# --------------------------------------------------------------------------
# Public API: the names and signatures of reference/batchnorm.py
# --------------------------------------------------------------------------

def batch_stats(x3):
    """Per-channel mean and biased variance of x3 (N, C, S) -> (mean, var), float64 (C,).

    One pass over x3. Sums are taken of x - K[c] (K[c] = x3[0, c, 0], a value
    of the channel), in float64, so that a large mean does not cancel the variance.
    """
    m = x3.shape[0] * x3.shape[2]
    k = x3[0, :, 0].astype(np.float64)
    sum_d, sum_dd = _sums(x3, x3, k, 1.0)
    mean_d = sum_d / m
    return k + mean_d, np.maximum(sum_dd / m - mean_d * mean_d, 0.0)


def normalize_train(x3, weight, bias, eps, out=None, relu=False):
    """Training-mode forward: y = (x - mean) * invstd * gamma + beta (then max(y, 0) if relu).

    x3: (N, C, S) float32/float64; weight, bias: (C,) arrays or None (gamma=1, beta=0).
    Returns (y, mean, invstd, var): y like x3, the rest float64 (C,), var biased.
    Two passes over x: one for the statistics, one writing y, in one fused kernel up to
    FUSED_BELOW bytes, else two split ones (and the ReLU kernel in place). `out`, if
    given, receives y (saves an allocation).
    """
    n, c, s = x3.shape
    out = np.empty_like(x3) if out is None else out
    tasks = _fused_tasks(x3, relu)
    if tasks:
        stats = np.empty((3, c))
        kernel = _train_planes if s >= PLANES_FROM else _train_rows
        kernel(x3.reshape(n, c * s), s, per_channel(weight, c, 1.0), per_channel(bias, c, 0.0),
               eps, 0.0 if relu else -np.inf, tasks, out.reshape(n, c * s), stats)
        return out, stats[0], stats[2], stats[1]
    mean, var = batch_stats(x3)
    invstd = 1.0 / np.sqrt(var + eps)
    scale, shift = _forward_coefficients(mean, invstd, weight, bias)
    _map(x3, x3, scale, scale, shift, False, out)
    if relu:
        _relu_fwd(out.reshape(-1), out.reshape(-1), x3.dtype.type(0))
    return out, mean, invstd, var


def _forward_coefficients(mean, invstd, weight, bias):
    """The training forward as y = scale[c]*x + shift[c] -> (scale, shift), float64 (C,)."""
    scale = invstd if weight is None else invstd * weight
    return scale, (-mean * scale if bias is None else bias - mean * scale)


def scale_shift(x3, scale, shift, out=None):
    """y = x * scale[c] + shift[c] (computed in float64, stored like x3).

    Evaluation mode: scale = gamma*invstd, shift = beta - mean*scale.
    Evaluation backward: dx = scale_shift(dy, gamma*invstd, 0).
    scale, shift: (C,), any float dtype, or None (1 and 0). One read of x, one write of y.
    """
    c = x3.shape[1]
    scale, shift = per_channel(scale, c, 1.0), per_channel(shift, c, 0.0)
    return _map(x3, x3, scale, scale, shift, False, out)


def backward_reduce(dy3, x3, mean, invstd):
    """Per-channel sums for the backward -> (sum_dy, sum_dy_xhat), float64 (C,).

    sum_dy[c] = sum(dy), sum_dy_xhat[c] = sum(dy * (x - mean[c]) * invstd[c]).
    One pass reading dy3 and x3 together; xhat is recomputed, not stored.
    """
    sum_dy, sum_dy_xmu = _sums(dy3, x3, np.asarray(mean, dtype=np.float64), 0.0)
    return sum_dy, sum_dy_xmu * invstd


def backward_dx(dy3, x3, mean, invstd, weight, sum_dy, sum_dy_xhat, out=None):
    """Training-mode input gradient, one pass over dy and x:

        dx = gamma*invstd/M * (M*dy - sum_dy - xhat*sum_dy_xhat),  M = N*S

    (weight None means gamma = 1). Per channel this is
        dx = a*dy + b*(x - mean) + d,  a = gamma*invstd,
        b = -a*invstd*sum_dy_xhat/M,   d = -a*sum_dy/M,
    evaluated in float64 as a*dy + b*x + (d - b*mean): one coefficient fewer
    per position, and exact enough in float64 even for a mean of 1e4.
    Returns dx with x3's dtype; `out` may receive it.
    """
    m = x3.shape[0] * x3.shape[2]
    invstd = np.asarray(invstd, dtype=np.float64)
    a = invstd if weight is None else invstd * weight
    b = -a * invstd * sum_dy_xhat / m
    e = -a * sum_dy / m - b * mean
    return _map(dy3, x3, a, b, e, True, out)


def backward_train(dy3, x3, mean, invstd, weight, bias=None, relu=False, out=None):
    """The training backward in one call -> (dx, sum_dy, sum_dy_xhat): backward_reduce's
    sums and backward_dx's dx, in one fused kernel up to FUSED_BELOW bytes.

    relu: the forward was normalize_train(..., relu=True), so dy is taken where
    gamma*xhat + beta > 0 only (ReLU's gradient), recomputed from x (bias is beta there).
    """
    n, c, s = x3.shape
    fwd = np.zeros((2, c))
    if relu:
        fwd[0], fwd[1] = _forward_coefficients(mean, invstd, weight, bias)
    tasks = _fused_tasks(x3, relu)
    if tasks:
        out = np.empty_like(x3) if out is None else out
        sums = np.empty((2, c))
        kernel = _train_back_planes if s >= PLANES_FROM else _train_back_rows
        kernel(dy3.reshape(n, c * s), x3.reshape(n, c * s), s, mean, invstd,
               per_channel(weight, c, 1.0), fwd, 0.0 if relu else -np.inf, tasks,
               out.reshape(n, c * s), sums)
        return out, sums[0], sums[1]
    if relu:   # dy where the forward's y = a*x + e > 0 (y recomputed, then masked in place)
        y3 = _map(x3, x3, fwd[0], fwd[0], fwd[1], False, None)
        _relu_bwd(dy3.reshape(-1), y3.reshape(-1), y3.reshape(-1), dy3.dtype.type(0))
        dy3 = y3
    sum_dy, sum_dy_xhat = backward_reduce(dy3, x3, mean, invstd)
    dx = backward_dx(dy3, x3, mean, invstd, weight, sum_dy, sum_dy_xhat, out=out)
    return dx, sum_dy, sum_dy_xhat
