"""Batch normalization kernels on arrays (no Tensor, no autograd).

Every input is viewed as a 3-D array ``x3`` of shape (N, C, S):

    BatchNorm1d (N, C)        -> (N, C, 1)
    BatchNorm1d (N, C, L)     -> (N, C, L)
    BatchNorm2d (N, C, H, W)  -> (N, C, H*W)

Channel c has M = N*S values, x3[:, c, :]. Each public function has a plain
numpy twin named ``<name>_ref``; read that one first, it is the definition
the tests hold the fast version to.

Conventions
-----------
- Full-size outputs (y, dx) have the dtype of x3 (float32 or float64).
- Per-channel results (mean, var, invstd, sums) are float64 arrays of length C.
- All arithmetic inside the kernels is done in float64, so float32 inputs far
  from zero (mean 1e4, std 0.1) still normalize to unit variance.
- The variance is biased (divided by M). The caller turns it into the unbiased
  one, var * M / (M - 1), for the running estimate.
- xhat = (x - mean) * invstd is never stored: the backward recomputes it.

How the numba kernels split the work (2 layouts)
------------------------------------------------
"planes" (S >= ROWS_BELOW_S): an (n, c) plane of S values is contiguous.
    Reductions walk the elements in channel-major order (c, n, s), cut into
    one equal piece per thread, so any C (even C=1) and any N (even N=1) keeps
    every thread busy. Element-wise passes cut memory order (n, c, s) the same way.
    When N >= 4 threads, threads take ranges of samples instead: the sums
    read 4 samples channel by channel and add their 4 planes in one inner
    loop, and for S < PAIRS_BELOW_S the element-wise passes write 2 planes per
    inner loop. A plane can be as short as 49 values (7x7), so the fixed cost
    of an inner loop (set-up, vector tail, accumulator loads and stores) is
    what these spread over more values.
"rows" (S < ROWS_BELOW_S, e.g. BatchNorm1d): a sample is a short row of
    R = C*S values. Each thread takes a block of rows and keeps float64
    accumulators for the R positions; per-channel coefficients are expanded
    to length R so the inner loop runs over contiguous memory.

In both layouts the innermost loop accumulates *per position* into a small
float64 array (``acc[i] += ...``) instead of into one scalar: without fastmath
a scalar sum cannot be reordered, so it would not vectorise.

The kernels compile lazily on first call (cache=True keeps the machine code on
disk for the next process); importing this module compiles nothing.
"""
import numba
import numpy as np
from numba import njit, prange

LANES = 256        # length of the per-position accumulators in "planes" kernels
ROWS_BELOW_S = 16  # S below this uses the "rows" layout
ROW_BLOCK = 4      # samples read together, channel by channel, in _sums_row_blocks
ROW_BLOCK_ACC = 16384  # cap on C*lanes accumulators per thread in _sums_row_blocks
PAIRS_BELOW_S = 128  # "planes" S below this (and N >= 4 threads): *_sample_pairs kernels


# --------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------

def as_ncs(x):
    """(N, C) or (N, C, d1, d2, ...) -> C-contiguous (N, C, S) with S = d1*d2*...

    No copy when x is already C-contiguous (the result is a view);
    otherwise one contiguous copy.
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"batch norm expects (N, C, ...) input, got shape {x.shape}")
    n, c = x.shape[:2]
    s = int(np.prod(x.shape[2:], dtype=np.int64))
    return np.ascontiguousarray(x).reshape(n, c, s)


def _check3(name, a):
    """Return a as a C-contiguous 3-D array, raising a clear error otherwise."""
    if np.ndim(a) != 3:
        raise ValueError(f"{name} must be 3-D (N, C, S); got shape {np.shape(a)} "
                         "(use as_ncs to reshape)")
    return np.ascontiguousarray(a)


def _per_channel(v, c, default):
    """A length-C float64 vector; None means the constant `default`."""
    if v is None:
        return np.full(c, default, dtype=np.float64)
    v = np.ascontiguousarray(v, dtype=np.float64).reshape(-1)
    if v.shape[0] != c:
        raise ValueError(f"expected {c} per-channel values, got {v.shape[0]}")
    return v


def _use_rows(x3):
    return x3.shape[2] < ROWS_BELOW_S


# --------------------------------------------------------------------------
# Numba kernels: per-channel sums
# --------------------------------------------------------------------------
# Two sums per channel, in one pass:
#   statistics: sum(x - k[c]) and sum((x - k[c])**2), k[c] a value of channel c
#   backward:   sum(dy)       and sum(dy * (x - mean[c]))
# `pair` says which; the branch sits outside the inner loops.

@njit(parallel=True, cache=True)
def _sums_planes(u, x, k, pair, ntasks):
    """Per channel c, with d = x - k[c]:
        pair=False: s1[c] = sum(d),  s2[c] = sum(d * d)        (u unused)
        pair=True:  s1[c] = sum(u),  s2[c] = sum(u * d)

    u, x: C-contiguous (N, C, S), float32 or float64; k: float64 (C,).
    Parallel: prange over `ntasks` equal pieces of the channel-major sequence
    (c, n, s); a piece may span several channels or cover part of one.
    Accumulation: float64, LANES per-position accumulators per piece, emptied
    into part[task, c] when the piece leaves a channel; pieces are added at
    the end (serial, ntasks*C values).
    """
    n_, c_, s_ = x.shape
    per_channel = n_ * s_
    total = c_ * per_channel
    lanes = min(s_, LANES)
    part1 = np.zeros((ntasks, c_))
    part2 = np.zeros((ntasks, c_))
    for t in prange(ntasks):
        acc1 = np.zeros(lanes)
        acc2 = np.zeros(lanes)
        pos = total * t // ntasks
        end = total * (t + 1) // ntasks
        while pos < end:
            c = pos // per_channel
            channel_end = min(end, (c + 1) * per_channel)
            kc = k[c]
            while pos < channel_end:
                r = pos - c * per_channel
                n = r // s_
                s = r - n * s_
                run = min(channel_end - pos, s_ - s)
                for start in range(s, s + run, lanes):
                    m = min(lanes, s + run - start)
                    # 0-based loops over slices: numba then knows i >= 0 and
                    # the loop vectorises (indexing x[start + i] does not).
                    xseg = x[n, c, start:start + m]
                    if pair:
                        useg = u[n, c, start:start + m]
                        for i in range(m):
                            acc1[i] += useg[i]
                            acc2[i] += useg[i] * (xseg[i] - kc)
                    else:
                        for i in range(m):
                            d = xseg[i] - kc
                            acc1[i] += d
                            acc2[i] += d * d
                pos += run
            t1 = 0.0
            t2 = 0.0
            for i in range(lanes):
                t1 += acc1[i]
                t2 += acc2[i]
                acc1[i] = 0.0
                acc2[i] = 0.0
            part1[t, c] = t1
            part2[t, c] = t2
    s1 = np.zeros(c_)
    s2 = np.zeros(c_)
    for t in range(ntasks):
        for c in range(c_):
            s1[c] += part1[t, c]
            s2[c] += part2[t, c]
    return s1, s2


@njit(parallel=True, cache=True)
def _sums_row_blocks(u, x, k, pair, ntasks):
    """Same result as _sums_planes, when N is at least a few times ntasks.

    u, x: C-contiguous (N, C, S); k: float64 (C,).
    Parallel: prange over `ntasks` ranges of samples n, so each thread reads
    its own contiguous region of memory. Inside, ROW_BLOCK samples at a time
    are read channel by channel (a few interleaved streams, which the
    hardware prefetcher follows; the block stays in cache). The planes of a
    whole block are summed in one inner loop, pairwise, before being added
    to the accumulators.
    Accumulation: float64, `lanes` per-position accumulators for each
    channel (a (C, lanes) array per task), summed at the end of the task.
    """
    n_, c_, s_ = x.shape
    lanes = max(1, min(s_, LANES, ROW_BLOCK_ACC // c_))
    part1 = np.zeros((ntasks, c_))
    part2 = np.zeros((ntasks, c_))
    for t in prange(ntasks):
        acc1 = np.zeros((c_, lanes))
        acc2 = np.zeros((c_, lanes))
        lo = n_ * t // ntasks
        hi = n_ * (t + 1) // ntasks
        for n0 in range(lo, hi, ROW_BLOCK):
            full = ROW_BLOCK == 4 and n0 + 4 <= hi  # the loop below reads 4 samples
            for c in range(c_):
                kc = k[c]
                a1 = acc1[c]
                a2 = acc2[c]
                if full:
                    # The 4 planes of channel c summed in one loop: one
                    # load/store of each accumulator per 4 values, and one
                    # loop set-up per 4 planes (planes can be only ~50 values).
                    for start in range(0, s_, lanes):
                        m = min(lanes, s_ - start)
                        x0 = x[n0, c, start:start + m]
                        x1 = x[n0 + 1, c, start:start + m]
                        x2 = x[n0 + 2, c, start:start + m]
                        x3 = x[n0 + 3, c, start:start + m]
                        if pair:
                            u0 = u[n0, c, start:start + m]
                            u1 = u[n0 + 1, c, start:start + m]
                            u2 = u[n0 + 2, c, start:start + m]
                            u3 = u[n0 + 3, c, start:start + m]
                            for i in range(m):
                                # float32 * float32 would stay float32
                                v0 = np.float64(u0[i])
                                v1 = np.float64(u1[i])
                                v2 = np.float64(u2[i])
                                v3 = np.float64(u3[i])
                                a1[i] += (v0 + v1) + (v2 + v3)
                                a2[i] += ((v0 * (x0[i] - kc) + v1 * (x1[i] - kc))
                                          + (v2 * (x2[i] - kc) + v3 * (x3[i] - kc)))
                        else:
                            for i in range(m):
                                d0 = x0[i] - kc
                                d1 = x1[i] - kc
                                d2 = x2[i] - kc
                                d3 = x3[i] - kc
                                a1[i] += (d0 + d1) + (d2 + d3)
                                a2[i] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)
                    continue
                for n in range(n0, min(hi, n0 + ROW_BLOCK)):
                    for start in range(0, s_, lanes):
                        m = min(lanes, s_ - start)
                        xseg = x[n, c, start:start + m]
                        if pair:
                            useg = u[n, c, start:start + m]
                            for i in range(m):
                                a1[i] += useg[i]
                                a2[i] += useg[i] * (xseg[i] - kc)
                        else:
                            for i in range(m):
                                d = xseg[i] - kc
                                a1[i] += d
                                a2[i] += d * d
        for c in range(c_):
            t1 = 0.0
            t2 = 0.0
            for i in range(lanes):
                t1 += acc1[c, i]
                t2 += acc2[c, i]
            part1[t, c] = t1
            part2[t, c] = t2
    s1 = np.zeros(c_)
    s2 = np.zeros(c_)
    for t in range(ntasks):
        for c in range(c_):
            s1[c] += part1[t, c]
            s2[c] += part2[t, c]
    return s1, s2


@njit(parallel=True, cache=True)
def _sums_rows(u, x, k, pair, ntasks):
    """Same result as _sums_planes, for short rows (small S).

    u, x: C-contiguous (N, C, S), seen as (N, R) with R = C*S.
    Parallel: prange over `ntasks` blocks of rows (samples); each block reads
    its rows in memory order.
    Accumulation: float64, one accumulator per position j of a row, then
    folded over blocks and over S into the C channels (serial, ntasks*R values).
    With pair=True it sums u*x and subtracts k[c]*sum(u) at the end (one
    stream less in the loop; float64 keeps that exact enough).
    """
    n_, c_, s_ = x.shape
    r_ = c_ * s_
    u2 = u.reshape(n_, r_)
    x2 = x.reshape(n_, r_)
    kr = np.empty(r_)
    for j in range(r_):
        kr[j] = k[j // s_]
    part1 = np.empty((ntasks, r_))
    part2 = np.empty((ntasks, r_))
    for t in prange(ntasks):
        acc1 = np.zeros(r_)
        acc2 = np.zeros(r_)
        for n in range(n_ * t // ntasks, n_ * (t + 1) // ntasks):
            xrow = x2[n]
            if pair:  # sum(u*x); k[c]*sum(u) is taken off after the loop
                urow = u2[n]
                for j in range(r_):
                    uj = np.float64(urow[j])  # float32 * float32 would stay float32
                    acc1[j] += uj
                    acc2[j] += uj * xrow[j]
            else:
                for j in range(r_):
                    d = xrow[j] - kr[j]
                    acc1[j] += d
                    acc2[j] += d * d
        part1[t] = acc1
        part2[t] = acc2
    s1 = np.zeros(c_)
    s2 = np.zeros(c_)
    for t in range(ntasks):
        for j in range(r_):
            s1[j // s_] += part1[t, j]
            s2[j // s_] += part2[t, j]
    if pair:
        for c in range(c_):
            s2[c] -= k[c] * s1[c]
    return s1, s2


# --------------------------------------------------------------------------
# Numba kernels: element-wise passes
# --------------------------------------------------------------------------

@njit(parallel=True, cache=True)
def _affine_planes(x, scale, shift, out, ntasks):
    """out[n, c, s] = x[n, c, s] * scale[c] + shift[c], computed in float64.

    x, out: C-contiguous (N, C, S); scale, shift: float64 (C,).
    Parallel: prange over `ntasks` equal pieces of memory order (n, c, s).
    """
    n_, c_, s_ = x.shape
    planes = n_ * c_
    total = planes * s_
    xf = x.reshape(planes, s_)
    of = out.reshape(planes, s_)
    for t in prange(ntasks):
        pos = total * t // ntasks
        end = total * (t + 1) // ntasks
        while pos < end:
            p = pos // s_
            s = pos - p * s_
            run = min(end - pos, s_ - s)
            c = p % c_
            a = scale[c]
            b = shift[c]
            xseg = xf[p, s:s + run]
            oseg = of[p, s:s + run]
            for i in range(run):
                oseg[i] = xseg[i] * a + b
            pos += run


@njit(parallel=True, cache=True)
def _affine_rows(x, scale, shift, out, ntasks):
    """Same as _affine_planes for short rows; parallel over blocks of rows."""
    n_, c_, s_ = x.shape
    r_ = c_ * s_
    x2 = x.reshape(n_, r_)
    o2 = out.reshape(n_, r_)
    ar = np.empty(r_)
    br = np.empty(r_)
    for j in range(r_):
        ar[j] = scale[j // s_]
        br[j] = shift[j // s_]
    for t in prange(ntasks):
        for n in range(n_ * t // ntasks, n_ * (t + 1) // ntasks):
            xrow = x2[n]
            orow = o2[n]
            for j in range(r_):
                orow[j] = xrow[j] * ar[j] + br[j]


@njit(parallel=True, cache=True)
def _affine_sample_pairs(x, scale, shift, out, ntasks):
    """Same as _affine_planes, for small S and N at least a few times ntasks.

    Parallel: prange over `ntasks` ranges of samples n. Inside, two samples
    at a time, channel by channel: each inner loop writes the two planes
    x[n, c] and x[n + 1, c] (whole planes, no slicing), so the fixed cost of
    a loop (set-up, vector tail) is paid once per 2*S values.
    """
    n_, c_, s_ = x.shape
    for t in prange(ntasks):
        lo = n_ * t // ntasks
        hi = n_ * (t + 1) // ntasks
        n0 = lo
        while n0 + 2 <= hi:
            for c in range(c_):
                a = scale[c]
                b = shift[c]
                x0 = x[n0, c]
                x1 = x[n0 + 1, c]
                o0 = out[n0, c]
                o1 = out[n0 + 1, c]
                for i in range(s_):
                    o0[i] = x0[i] * a + b
                    o1[i] = x1[i] * a + b
            n0 += 2
        if n0 < hi:  # odd count: one sample left
            for c in range(c_):
                a = scale[c]
                b = shift[c]
                xs = x[n0, c]
                os = out[n0, c]
                for i in range(s_):
                    os[i] = xs[i] * a + b


@njit(parallel=True, cache=True)
def _dx_planes(dy, x, mean, a, b, d, out, ntasks):
    """out = a[c]*dy + b[c]*(x - mean[c]) + d[c], computed in float64.

    dy, x, out: C-contiguous (N, C, S); mean, a, b, d: float64 (C,).
    Parallel: prange over `ntasks` equal pieces of memory order (n, c, s).
    """
    n_, c_, s_ = x.shape
    planes = n_ * c_
    total = planes * s_
    dyf = dy.reshape(planes, s_)
    xf = x.reshape(planes, s_)
    of = out.reshape(planes, s_)
    for t in prange(ntasks):
        pos = total * t // ntasks
        end = total * (t + 1) // ntasks
        while pos < end:
            p = pos // s_
            s = pos - p * s_
            run = min(end - pos, s_ - s)
            c = p % c_
            mc = mean[c]
            ac = a[c]
            bc = b[c]
            dc = d[c]
            dyseg = dyf[p, s:s + run]
            xseg = xf[p, s:s + run]
            oseg = of[p, s:s + run]
            for i in range(run):
                oseg[i] = ac * dyseg[i] + bc * (xseg[i] - mc) + dc
            pos += run


@njit(parallel=True, cache=True)
def _dx_sample_pairs(dy, x, mean, a, b, d, out, ntasks):
    """Same as _dx_planes (same formula, same rounding), for small S and N at
    least a few times ntasks; parallel and inner loops as in _affine_sample_pairs.
    """
    n_, c_, s_ = x.shape
    for t in prange(ntasks):
        lo = n_ * t // ntasks
        hi = n_ * (t + 1) // ntasks
        n0 = lo
        while n0 + 2 <= hi:
            for c in range(c_):
                mc = mean[c]
                ac = a[c]
                bc = b[c]
                dc = d[c]
                g0 = dy[n0, c]
                g1 = dy[n0 + 1, c]
                x0 = x[n0, c]
                x1 = x[n0 + 1, c]
                o0 = out[n0, c]
                o1 = out[n0 + 1, c]
                for i in range(s_):
                    o0[i] = ac * g0[i] + bc * (x0[i] - mc) + dc
                    o1[i] = ac * g1[i] + bc * (x1[i] - mc) + dc
            n0 += 2
        if n0 < hi:  # odd count: one sample left
            for c in range(c_):
                mc = mean[c]
                ac = a[c]
                bc = b[c]
                dc = d[c]
                gs = dy[n0, c]
                xs = x[n0, c]
                os = out[n0, c]
                for i in range(s_):
                    os[i] = ac * gs[i] + bc * (xs[i] - mc) + dc


@njit(parallel=True, cache=True)
def _dx_rows(dy, x, mean, a, b, d, out, ntasks):
    """Same as _dx_planes for short rows; parallel over blocks of rows."""
    n_, c_, s_ = x.shape
    r_ = c_ * s_
    dy2 = dy.reshape(n_, r_)
    x2 = x.reshape(n_, r_)
    o2 = out.reshape(n_, r_)
    # b*(x - mean) + d = b*x + e with e = d - b*mean: one coefficient stream
    # fewer. Exact enough in float64 (unlike float32) even for a mean of 1e4.
    ar = np.empty(r_)
    br = np.empty(r_)
    er = np.empty(r_)
    for j in range(r_):
        c = j // s_
        ar[j] = a[c]
        br[j] = b[c]
        er[j] = d[c] - b[c] * mean[c]
    for t in prange(ntasks):
        for n in range(n_ * t // ntasks, n_ * (t + 1) // ntasks):
            dyrow = dy2[n]
            xrow = x2[n]
            orow = o2[n]
            for j in range(r_):
                orow[j] = ar[j] * dyrow[j] + br[j] * xrow[j] + er[j]


# --------------------------------------------------------------------------
# Dispatch between the two layouts
# --------------------------------------------------------------------------

def _sums(u3, x3, k, pair):
    threads = numba.get_num_threads()
    if _use_rows(x3):
        return _sums_rows(u3, x3, k, pair, max(1, min(x3.shape[0], threads)))
    if x3.shape[0] >= 4 * threads:
        return _sums_row_blocks(u3, x3, k, pair, threads)
    return _sums_planes(u3, x3, k, pair, threads)


def _use_sample_pairs(x3, threads):
    return x3.shape[2] < PAIRS_BELOW_S and x3.shape[0] >= 4 * threads


def _affine(x3, scale, shift, out):
    threads = numba.get_num_threads()
    if _use_rows(x3):
        _affine_rows(x3, scale, shift, out, max(1, min(x3.shape[0], threads)))
    elif _use_sample_pairs(x3, threads):
        _affine_sample_pairs(x3, scale, shift, out, threads)
    else:
        _affine_planes(x3, scale, shift, out, threads)
    return out


def _output(out, like):
    if out is None:
        return np.empty_like(like)
    if out.shape != like.shape or out.dtype != like.dtype or not out.flags.c_contiguous:
        raise ValueError("out must be a C-contiguous array with x3's shape and dtype")
    return out


# --------------------------------------------------------------------------
# Public API: fast versions, each followed by its numpy reference
# --------------------------------------------------------------------------

def batch_stats(x3):
    """Per-channel mean and biased variance of x3 (N, C, S) -> (mean, var), float64 (C,).

    One pass over x3. Sums are taken of x - K[c] (K[c] = x3[0, c, 0], a value
    of the channel), in float64, so that a large mean does not cancel the variance.
    """
    x3 = _check3("x3", x3)
    n, c, s = x3.shape
    m = n * s
    k = x3[0, :, 0].astype(np.float64)
    s1, s2 = _sums(x3, x3, k, False)
    d = s1 / m
    mean = k + d
    var = np.maximum(s2 / m - d * d, 0.0)
    return mean, var


def batch_stats_ref(x3):
    """Numpy reference for batch_stats."""
    x = np.asarray(x3, dtype=np.float64)
    mean = x.mean(axis=(0, 2))
    var = ((x - mean[None, :, None]) ** 2).mean(axis=(0, 2))
    return mean, var


def normalize_train(x3, weight, bias, eps, out=None):
    """Training-mode forward: y = (x - mean) * invstd * gamma + beta.

    x3: (N, C, S) float32/float64; weight, bias: (C,) or None (gamma=1, beta=0).
    Returns (y, mean, invstd, var): y like x3, the rest float64 (C,), var biased.
    Two passes over x: one for the statistics, one writing y. `out`, if given,
    receives y (saves an allocation).
    """
    x3 = _check3("x3", x3)
    c = x3.shape[1]
    mean, var = batch_stats(x3)
    invstd = 1.0 / np.sqrt(var + eps)
    scale = _per_channel(weight, c, 1.0) * invstd
    shift = _per_channel(bias, c, 0.0) - mean * scale
    y = _affine(x3, scale, shift, _output(out, x3))
    return y, mean, invstd, var


def normalize_train_ref(x3, weight, bias, eps):
    """Numpy reference for normalize_train."""
    x = np.asarray(x3, dtype=np.float64)
    c = x.shape[1]
    gamma = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    beta = np.zeros(c) if bias is None else np.asarray(bias, dtype=np.float64)
    mean, var = batch_stats_ref(x)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean[None, :, None]) * invstd[None, :, None]
    y = xhat * gamma[None, :, None] + beta[None, :, None]
    return y.astype(x3.dtype), mean, invstd, var


def scale_shift(x3, scale, shift, out=None):
    """y = x * scale[c] + shift[c] (computed in float64, stored like x3).

    Evaluation mode: scale = gamma*invstd, shift = beta - mean*scale.
    Evaluation backward: dx = scale_shift(dy, gamma*invstd, 0).
    scale, shift: (C,), any float dtype. One read of x, one write of y.
    """
    x3 = _check3("x3", x3)
    c = x3.shape[1]
    return _affine(x3, _per_channel(scale, c, 1.0), _per_channel(shift, c, 0.0),
                   _output(out, x3))


def scale_shift_ref(x3, scale, shift):
    """Numpy reference for scale_shift."""
    x = np.asarray(x3, dtype=np.float64)
    y = x * np.asarray(scale, np.float64)[None, :, None] + np.asarray(shift, np.float64)[None, :, None]
    return y.astype(x3.dtype)


def backward_reduce(dy3, x3, mean, invstd):
    """Per-channel sums for the backward -> (sum_dy, sum_dy_xhat), float64 (C,).

    sum_dy[c] = sum(dy), sum_dy_xhat[c] = sum(dy * (x - mean[c]) * invstd[c]).
    One pass reading dy3 and x3 together; xhat is recomputed, not stored.
    """
    dy3 = _check3("dy3", dy3)
    x3 = _check3("x3", x3)
    c = x3.shape[1]
    mean = _per_channel(mean, c, 0.0)
    s1, s2 = _sums(dy3, x3, mean, True)
    return s1, s2 * _per_channel(invstd, c, 1.0)


def backward_reduce_ref(dy3, x3, mean, invstd):
    """Numpy reference for backward_reduce."""
    dy = np.asarray(dy3, dtype=np.float64)
    x = np.asarray(x3, dtype=np.float64)
    xhat = (x - mean[None, :, None]) * invstd[None, :, None]
    return dy.sum(axis=(0, 2)), (dy * xhat).sum(axis=(0, 2))


def backward_dx(dy3, x3, mean, invstd, weight, sum_dy, sum_dy_xhat, out=None):
    """Training-mode input gradient, one pass over dy and x:

        dx = gamma*invstd/M * (M*dy - sum_dy - xhat*sum_dy_xhat),  M = N*S

    (weight None means gamma = 1). Per channel this is
        dx = a*dy + b*(x - mean) + d,  a = gamma*invstd,
        b = -a*invstd*sum_dy_xhat/M,   d = -a*sum_dy/M,
    evaluated in float64. Returns dx with x3's dtype; `out` may receive it.
    """
    dy3 = _check3("dy3", dy3)
    x3 = _check3("x3", x3)
    n, c, s = x3.shape
    m = n * s
    mean = _per_channel(mean, c, 0.0)
    invstd = _per_channel(invstd, c, 1.0)
    a = _per_channel(weight, c, 1.0) * invstd
    b = -a * invstd * _per_channel(sum_dy_xhat, c, 0.0) / m
    d = -a * _per_channel(sum_dy, c, 0.0) / m
    dx = _output(out, x3)
    threads = numba.get_num_threads()
    if _use_rows(x3):
        _dx_rows(dy3, x3, mean, a, b, d, dx, max(1, min(n, threads)))
    elif _use_sample_pairs(x3, threads):
        _dx_sample_pairs(dy3, x3, mean, a, b, d, dx, threads)
    else:
        _dx_planes(dy3, x3, mean, a, b, d, dx, threads)
    return dx


def backward_dx_ref(dy3, x3, mean, invstd, weight, sum_dy, sum_dy_xhat):
    """Numpy reference for backward_dx."""
    dy = np.asarray(dy3, dtype=np.float64)
    x = np.asarray(x3, dtype=np.float64)
    n, c, s = x.shape
    m = n * s
    gamma = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    xhat = (x - mean[None, :, None]) * invstd[None, :, None]
    k = (gamma * invstd / m)[None, :, None]
    dx = k * (m * dy - sum_dy[None, :, None] - xhat * sum_dy_xhat[None, :, None])
    return dx.astype(x3.dtype)
