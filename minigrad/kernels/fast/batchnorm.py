"""Batch normalization on arrays, as parallel numba kernels (no Tensor, no autograd).

Every input is viewed as a 3-D array ``x3`` of shape (N, C, S):

    BatchNorm1d (N, C)        -> (N, C, 1)
    BatchNorm1d (N, C, L)     -> (N, C, L)
    BatchNorm2d (N, C, H, W)  -> (N, C, H*W)

Channel c has M = N*S values, x3[:, c, :]. The public functions have the
names, signatures and conventions of minigrad/kernels/reference/batchnorm.py
(read that one first: it is the definition the tests hold these to).

Each of the three passes (per-channel sums; y = x*scale + shift; dx) has
layout-specialised kernels, chosen by one table, DISPATCH, at the bottom.

How the numba kernels split the work (2 layouts)
------------------------------------------------
"planes" (S >= ROWS_BELOW_S): an (n, c) plane of S values is contiguous.
    Reductions walk the elements in channel-major order (c, n, s), cut into
    one equal piece per thread, so any C (even C=1) and any N (even N=1) keeps
    every thread busy. Element-wise passes cut memory order (n, c, s) the same way.
    When N >= 4*threads, threads take ranges of samples instead: the sums
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

The kernels compile lazily on first call (minigrad/kernels/fast/__init__.py
says where their cache goes); importing this module compiles nothing.
"""
import numba
import numpy as np
from numba import prange

from minigrad.kernels.fast import jit
from minigrad.kernels.shapes import as_ncs, check3, output, per_channel  # noqa: F401

LANES = 256        # length of the per-position accumulators in "planes" kernels
ROWS_BELOW_S = 16  # S below this uses the "rows" layout
ROW_BLOCK_ACC = 16384  # cap on C*lanes accumulators per thread in _sums_row_blocks
PAIRS_BELOW_S = 128  # "planes" S below this (and N >= 4*threads): *_sample_pairs kernels


# --------------------------------------------------------------------------
# Numba kernels: per-channel sums
# --------------------------------------------------------------------------
# Two sums per channel, in one pass:
#   statistics: sum(x - k[c]) and sum((x - k[c])**2), k[c] a value of channel c
#   backward:   sum(dy)       and sum(dy * (x - mean[c]))
# `pair` says which; the branch sits outside the inner loops.

@jit(parallel=True)
def _sums_planes(u, x, k, pair, ntasks):
    """Serves S >= ROWS_BELOW_S with few samples (N < 4*threads): any C and N,
    even C = 1 or N = 1, keeps every thread busy. The per-position
    accumulators are what make it fast: 1.5-2.4x the plain scalar-sum loop
    (/work/shared/PERF_NOTES.md, lessons); the large shapes run at 62-90 % of
    the memory floor (benchmarks/README.md, lessons).

    Per channel c, with d = x - k[c]:
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


@jit(parallel=True)
def _sums_row_blocks(u, x, k, pair, ntasks):
    """Same result as _sums_planes; serves S >= ROWS_BELOW_S with N >= 4*threads.

    Earned its place on small planes (benchmarks/README.md, optimisation 8):
    at (64, 128, 7, 7) summing 4 planes per inner loop took the statistics
    from about 88 to 50 µs and the backward sums from about 100 to 60 µs.

    u, x: C-contiguous (N, C, S); k: float64 (C,).
    Parallel: prange over `ntasks` ranges of samples n, so each thread reads
    its own contiguous region of memory. Inside, 4 samples at a time
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
        # Blocks of 4 samples: the unrolled loop below is written for exactly 4
        # (x0..x3), and a last, shorter block takes the plain loop.
        for n0 in range(lo, hi, 4):
            full = n0 + 4 <= hi
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
                for n in range(n0, min(hi, n0 + 4)):
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


@jit(parallel=True)
def _sums_rows(u, x, k, pair, ntasks):
    """Same result as _sums_planes; serves S < ROWS_BELOW_S (BatchNorm1d).

    A plane of fewer than 16 values is too short for a loop of its own, so a
    sample's whole row of C*S values is the inner loop (BatchNorm1d (256, 100)
    and (4096, 1024) in benchmarks/bench_batchnorm.py use it).

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

@jit(parallel=True)
def _affine_planes(x, scale, shift, out, ntasks):
    """out[n, c, s] = x[n, c, s] * scale[c] + shift[c], computed in float64.

    Serves S >= PAIRS_BELOW_S, or any S >= ROWS_BELOW_S with N < 4*threads:
    equal pieces of memory keep both threads busy whatever N and C are.

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


@jit(parallel=True)
def _affine_rows(x, scale, shift, out, ntasks):
    """Same as _affine_planes; serves S < ROWS_BELOW_S (as _sums_rows).

    Parallel over blocks of rows; the coefficients are expanded to the row's
    length R = C*S so the inner loop runs over contiguous memory.
    """
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


@jit(parallel=True)
def _affine_sample_pairs(x, scale, shift, out, ntasks):
    """Same as _affine_planes; serves ROWS_BELOW_S <= S < PAIRS_BELOW_S, N >= 4*threads.

    Earned its place at (64, 128, 7, 7): affine from 53 to 37 µs
    (benchmarks/README.md, optimisation 8).

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


@jit(parallel=True)
def _dx_planes(dy, x, mean, a, b, d, out, ntasks):
    """out = a[c]*dy + b[c]*(x - mean[c]) + d[c], computed in float64.

    dy, x, out: C-contiguous (N, C, S); mean, a, b, d: float64 (C,).
    Parallel: prange over `ntasks` equal pieces of memory order (n, c, s).
    Serves the shapes _affine_planes serves.
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


@jit(parallel=True)
def _dx_sample_pairs(dy, x, mean, a, b, d, out, ntasks):
    """Same as _dx_planes (same formula, same rounding); serves the shapes
    _affine_sample_pairs serves, with its loops. Earned its place at
    (64, 128, 7, 7): dx from 81 to 67 µs (benchmarks/README.md, optimisation 8).
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


@jit(parallel=True)
def _dx_rows(dy, x, mean, a, b, d, out, ntasks):
    """Same as _dx_planes; serves S < ROWS_BELOW_S (as _sums_rows), parallel over
    blocks of rows."""
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
# Dispatch: per pass, the first (condition, kernel) whose condition holds
# --------------------------------------------------------------------------

def _short_rows(x3, threads):
    return x3.shape[2] < ROWS_BELOW_S


def _many_samples(x3, threads):
    return x3.shape[0] >= 4 * threads


def _small_planes_many_samples(x3, threads):
    return x3.shape[2] < PAIRS_BELOW_S and _many_samples(x3, threads)


def _always(x3, threads):
    return True


DISPATCH = {
    "sums": [(_short_rows, _sums_rows), (_many_samples, _sums_row_blocks),
             (_always, _sums_planes)],
    "affine": [(_short_rows, _affine_rows), (_small_planes_many_samples, _affine_sample_pairs),
               (_always, _affine_planes)],
    "dx": [(_short_rows, _dx_rows), (_small_planes_many_samples, _dx_sample_pairs),
           (_always, _dx_planes)],
}


def _run(name, x3, *args):
    """Call the kernel DISPATCH picks for pass `name` on x3: kernel(*args, ntasks)."""
    threads = numba.get_num_threads()
    for condition, kernel in DISPATCH[name]:
        if condition(x3, threads):
            # the rows kernels split samples: no more pieces than there are
            ntasks = max(1, min(x3.shape[0], threads)) if condition is _short_rows else threads
            return kernel(*args, ntasks)


# --------------------------------------------------------------------------
# Public API: the names and signatures of reference/batchnorm.py
# --------------------------------------------------------------------------

def batch_stats(x3):
    """Per-channel mean and biased variance of x3 (N, C, S) -> (mean, var), float64 (C,).

    One pass over x3. Sums are taken of x - K[c] (K[c] = x3[0, c, 0], a value
    of the channel), in float64, so that a large mean does not cancel the variance.
    """
    x3 = check3("x3", x3)
    n, c, s = x3.shape
    m = n * s
    k = x3[0, :, 0].astype(np.float64)
    s1, s2 = _run("sums", x3, x3, x3, k, False)
    d = s1 / m
    mean = k + d
    var = np.maximum(s2 / m - d * d, 0.0)
    return mean, var


def normalize_train(x3, weight, bias, eps, out=None):
    """Training-mode forward: y = (x - mean) * invstd * gamma + beta.

    x3: (N, C, S) float32/float64; weight, bias: (C,) or None (gamma=1, beta=0).
    Returns (y, mean, invstd, var): y like x3, the rest float64 (C,), var biased.
    Two passes over x: one for the statistics, one writing y. `out`, if given,
    receives y (saves an allocation).
    """
    x3 = check3("x3", x3)
    c = x3.shape[1]
    mean, var = batch_stats(x3)
    invstd = 1.0 / np.sqrt(var + eps)
    scale = per_channel(weight, c, 1.0) * invstd
    shift = per_channel(bias, c, 0.0) - mean * scale
    y = output(out, x3)
    _run("affine", x3, x3, scale, shift, y)
    return y, mean, invstd, var


def scale_shift(x3, scale, shift, out=None):
    """y = x * scale[c] + shift[c] (computed in float64, stored like x3).

    Evaluation mode: scale = gamma*invstd, shift = beta - mean*scale.
    Evaluation backward: dx = scale_shift(dy, gamma*invstd, 0).
    scale, shift: (C,), any float dtype. One read of x, one write of y.
    """
    x3 = check3("x3", x3)
    c = x3.shape[1]
    y = output(out, x3)
    _run("affine", x3, x3, per_channel(scale, c, 1.0), per_channel(shift, c, 0.0), y)
    return y


def backward_reduce(dy3, x3, mean, invstd):
    """Per-channel sums for the backward -> (sum_dy, sum_dy_xhat), float64 (C,).

    sum_dy[c] = sum(dy), sum_dy_xhat[c] = sum(dy * (x - mean[c]) * invstd[c]).
    One pass reading dy3 and x3 together; xhat is recomputed, not stored.
    """
    dy3 = check3("dy3", dy3)
    x3 = check3("x3", x3)
    c = x3.shape[1]
    mean = per_channel(mean, c, 0.0)
    s1, s2 = _run("sums", x3, dy3, x3, mean, True)
    return s1, s2 * per_channel(invstd, c, 1.0)


def backward_dx(dy3, x3, mean, invstd, weight, sum_dy, sum_dy_xhat, out=None):
    """Training-mode input gradient, one pass over dy and x:

        dx = gamma*invstd/M * (M*dy - sum_dy - xhat*sum_dy_xhat),  M = N*S

    (weight None means gamma = 1). Per channel this is
        dx = a*dy + b*(x - mean) + d,  a = gamma*invstd,
        b = -a*invstd*sum_dy_xhat/M,   d = -a*sum_dy/M,
    evaluated in float64. Returns dx with x3's dtype; `out` may receive it.
    """
    dy3 = check3("dy3", dy3)
    x3 = check3("x3", x3)
    n, c, s = x3.shape
    m = n * s
    mean = per_channel(mean, c, 0.0)
    invstd = per_channel(invstd, c, 1.0)
    a = per_channel(weight, c, 1.0) * invstd
    b = -a * invstd * per_channel(sum_dy_xhat, c, 0.0) / m
    d = -a * per_channel(sum_dy, c, 0.0) / m
    dx = output(out, x3)
    _run("dx", x3, dy3, x3, mean, a, b, d, dx)
    return dx
