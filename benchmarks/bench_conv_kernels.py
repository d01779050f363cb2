"""Time the conv, max-pool and ReLU kernels on the MNIST CNN's shapes (batch 64).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_conv_kernels.py
    ... bench_conv_kernels.py --cpu-time      # one thread everywhere, CPU time

Each row times one kernel three ways in the same process, interleaved call by
call so that a noisy, shared machine slows all three alike: our numba/BLAS
kernel, the plain numpy reference, and PyTorch's CPU kernel (the aten op
itself, without autograd bookkeeping). Times are medians after a warm-up, plus
each kernel's best call; numba's compile time is reported separately. The
floor column is the least time the work can take here: flops at the measured
sgemm rate (conv) or bytes read + written at the measured rate of a parallel
copy (pool, ReLU).

By default everything runs on 2 threads and is timed by the wall clock. When
other processes keep the 2 cores busy, a parallel region waits for scheduler
slices (times jump to multiples of 4 ms) and those numbers say little: then
--cpu-time runs numba, OpenBLAS and PyTorch on ONE thread and times each call
by the calling thread's CPU time, which preemption does not inflate. It
compares the work each kernel does, not its parallel speed-up.

A second table times each convolution variant of the fast backend (the
direct loops, BLAS on wide rows, BLAS on the reference's rows; the dispatch's
choice is starred) on the two convolutions of the main example, forward and
forward+backward, against torch.nn.functional.conv2d through autograd in the
same process, call by call in turn like the first table: median and best call.

The script re-runs itself once with the glibc malloc settings of PERF_NOTES
(so fresh multi-MiB outputs do not page-fault on every call), without the
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE overrides, and with one thread set for
--cpu-time.
"""
import os
import sys

_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
if "--cpu-time" in sys.argv:
    _ENV.update(OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
if __name__ == "__main__" and any(os.environ.get(k) != v for k, v in _ENV.items()):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(_ENV)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import argparse
import time

import numpy as np
from numba import njit, prange

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from minigrad.kernels.fast import conv as fast_conv
from minigrad.kernels.fast.activation import relu_backward, relu_forward
from minigrad.kernels.fast.conv import conv2d_backward, conv2d_forward
from minigrad.kernels.fast.pool import max_pool2d_backward, max_pool2d_forward
from minigrad.kernels.reference.activation import (relu_backward as relu_backward_ref,
                                                   relu_forward as relu_forward_ref)
from minigrad.kernels.reference.conv import col2im as col2im_ref, im2col as im2col_ref
from minigrad.kernels.reference.pool import (max_pool2d_backward as max_pool2d_backward_ref,
                                             max_pool2d_forward as max_pool2d_forward_ref)


# ---------------------------------------------------------------- the plain numpy conv

def conv2d_forward_numpy(x, weight, bias, stride, padding, dilation):
    """The same algorithm built only from the numpy references."""
    N, O = x.shape[0], weight.shape[0]
    cols = im2col_ref(x, weight.shape[2:], stride, padding, dilation)
    y = (weight.reshape(O, -1) @ cols).reshape(O, N, -1) + bias[:, None, None]
    OH = (x.shape[2] + 2 * padding[0] - dilation[0] * (weight.shape[2] - 1) - 1) // stride[0] + 1
    return np.ascontiguousarray(y.transpose(1, 0, 2)).reshape(N, O, OH, -1), cols


def conv2d_backward_numpy(dy, cols, x_shape, weight, stride, padding, dilation, need_dx):
    N, O = dy.shape[:2]
    dy2 = dy.reshape(N, O, -1).transpose(1, 0, 2).reshape(O, -1)
    dweight = (dy2 @ cols.T).reshape(weight.shape)
    dbias = dy.sum(axis=(0, 2, 3))
    dx = None
    if need_dx:
        dx = col2im_ref(weight.reshape(O, -1).T @ dy2, x_shape, weight.shape[2:], stride, padding, dilation)
    return dx, dweight, dbias


# ---------------------------------------------------------------- machine limits

@njit(parallel=True, cache=True)
def _copy(src, dst):
    for i in prange(src.size):
        dst[i] = src[i]


def measure_limits(repeats):
    """(sgemm GFLOP/s, parallel copy GB/s), each the best of several runs.

    sgemm: the larger rate of conv2's forward product and a 2048^3 product;
    copy: a parallel numba copy of a cache-sized (3 MiB) float32 array.
    """
    a = np.random.rand(32, 144).astype(np.float32)
    b = np.random.rand(144, 64 * 196).astype(np.float32)
    t = timings([lambda: a @ b], repeats)[0].min()
    gflops = 2 * a.shape[0] * a.shape[1] * b.shape[1] / t / 1e9
    big = np.random.rand(2048, 2048).astype(np.float32)
    t = timings([lambda: big @ big], 5)[0].min()
    gflops = max(gflops, 2 * 2048 ** 3 / t / 1e9)
    src = np.random.rand(64 * 16 * 28 * 28).astype(np.float32)
    dst = np.empty_like(src)
    t = timings([lambda: _copy(src, dst)], repeats)[0].min()
    return gflops, 2 * src.nbytes / t / 1e9


CLOCK = time.perf_counter          # time.thread_time with --cpu-time


def timings(funcs, repeats, warmup=3):
    """Seconds of each call of each function, the functions called in turn (interleaved)."""
    for f in funcs:
        for _ in range(warmup):
            f()
    times = [[] for _ in funcs]
    for _ in range(repeats):
        for f, ts in zip(funcs, times):
            t0 = CLOCK()
            f()
            ts.append(CLOCK() - t0)
    return [np.array(ts) for ts in times]


# ---------------------------------------------------------------- the cases

def build_cases(torch, rng):
    """Yield (name, ours, numpy_ref, torch_fn, work, unit); work counts flops or bytes."""
    aten = torch.ops.aten
    f32 = np.float32
    one, pad1 = (1, 1), (1, 1)
    for label, xs, ws, need_dx in [("conv1", (64, 1, 28, 28), (16, 1, 3, 3), False),
                                   ("conv2", (64, 16, 14, 14), (32, 16, 3, 3), True)]:
        x = rng.standard_normal(xs, dtype=f32)
        w = rng.standard_normal(ws, dtype=f32) * 0.1
        b = rng.standard_normal(ws[0], dtype=f32)
        out, cache = conv2d_forward(x, w, b, one, pad1, one)
        _, cols = conv2d_forward_numpy(x, w, b, one, pad1, one)
        dy = rng.standard_normal(out.shape, dtype=f32)
        xt, wt, bt, dyt = (torch.from_numpy(a) for a in (x, w, b, dy))
        macs = out.size * ws[1] * ws[2] * ws[3]
        yield (f"{label} fwd x{xs} w{ws[:2]}",
               lambda x=x, w=w, b=b: conv2d_forward(x, w, b, one, pad1, one),
               lambda x=x, w=w, b=b: conv2d_forward_numpy(x, w, b, one, pad1, one),
               lambda xt=xt, wt=wt, bt=bt: aten.convolution(xt, wt, bt, one, pad1, one, False, (0, 0), 1),
               2 * macs, "flop")
        mask = [need_dx, True, True]
        yield (f"{label} bwd ({'dx,' if need_dx else ''}dw,db)",
               lambda dy=dy, cache=cache, nd=need_dx: conv2d_backward(dy, cache, need_dx=nd),
               lambda dy=dy, cols=cols, x=x, w=w, nd=need_dx:
                   conv2d_backward_numpy(dy, cols, x.shape, w, one, pad1, one, nd),
               lambda dyt=dyt, xt=xt, wt=wt, mask=mask:
                   aten.convolution_backward(dyt, xt, wt, [wt.shape[0]], one, pad1, one,
                                             False, (0, 0), 1, mask),
               2 * macs * (2 if need_dx else 1), "flop")

    for xs in [(64, 16, 28, 28), (64, 32, 14, 14)]:
        x = rng.standard_normal(xs, dtype=f32)
        xt = torch.from_numpy(x)
        k = s = (2, 2)
        p = (0, 0)
        out, idx = max_pool2d_forward(x, k, s, p)
        yt, it = aten.max_pool2d_with_indices(xt, k, s, p)
        dy = rng.standard_normal(out.shape, dtype=f32)
        dyt = torch.from_numpy(dy)
        yield (f"maxpool2 fwd x{xs}",
               lambda x=x: max_pool2d_forward(x, k, s, p),
               lambda x=x: max_pool2d_forward_ref(x, k, s, p),
               lambda xt=xt: aten.max_pool2d_with_indices(xt, k, s, p),
               x.nbytes + out.nbytes + idx.nbytes, "byte")
        yield (f"maxpool2 bwd x{xs}",
               lambda dy=dy, idx=idx, xs=xs: max_pool2d_backward(dy, idx, xs),
               lambda dy=dy, idx=idx, xs=xs: max_pool2d_backward_ref(dy, idx, xs),
               lambda dyt=dyt, xt=xt, it=it: aten.max_pool2d_with_indices_backward(
                   dyt, xt, k, s, p, (1, 1), False, it),
               dy.nbytes + idx.nbytes + x.nbytes, "byte")

    for xs in [(64, 16, 28, 28), (64, 32, 14, 14)]:
        x = rng.standard_normal(xs, dtype=f32)
        y = relu_forward(x)
        dy = rng.standard_normal(xs, dtype=f32)
        xt, yt, dyt = (torch.from_numpy(a) for a in (x, y, dy))
        yield (f"relu fwd x{xs}", lambda x=x: relu_forward(x), lambda x=x: relu_forward_ref(x),
               lambda xt=xt: torch.relu(xt), 2 * x.nbytes, "byte")
        yield (f"relu bwd x{xs}", lambda dy=dy, y=y: relu_backward(dy, y),
               lambda dy=dy, y=y: relu_backward_ref(dy, y),
               lambda dyt=dyt, yt=yt: aten.threshold_backward(dyt, yt, 0), 3 * x.nbytes, "byte")


# ---------------------------------------------------------------- conv variants

CONV_LAYERS = [("conv1", (64, 1, 28, 28), (16, 1, 3, 3), False),
               ("conv2", (64, 16, 14, 14), (32, 16, 3, 3), True)]
# Each variant as the settings of the fast conv's two dispatch knobs: whether its
# _direct_serves test is kept (else nothing is direct) and _WIDE_MAX.
VARIANTS = {"direct": (True, 0.0), "blas wide": (False, float("inf")),
            "blas exact": (False, 0.0)}


def blocked_timings(funcs, rounds, block=0.01):
    """{name: per-call seconds}: in each round every function runs for a block of
    >= `block` seconds, in turn, and the first call of each block is dropped (it may
    meet PyTorch's OpenMP threads still spinning after PyTorch's block; see
    benchmarks/README.md, optimisation 4)."""
    calls = {}
    for name, f in funcs.items():
        f()
        start = CLOCK()
        f()
        calls[name] = 2 + int(block / max(CLOCK() - start, 1e-6))
    times = {name: [] for name in funcs}
    for _ in range(rounds):
        for name, f in funcs.items():
            f()
            for _ in range(calls[name] - 1):
                start = CLOCK()
                f()
                times[name].append(CLOCK() - start)
    return {name: np.array(ts) for name, ts in times.items()}


def conv_variants(torch, rng, rounds):
    """Print fwd and fwd+bwd per variant against torch.nn.functional.conv2d + autograd."""
    F = torch.nn.functional
    one, pad1 = (1, 1), (1, 1)
    default = fast_conv._direct_serves, fast_conv._WIDE_MAX
    print(f"\nconv variants, ms per call, median (best) over {rounds} rounds of 10 ms blocks; "
          "* = the dispatch's choice")
    head = (f"{'layer':6s} {'variant':12s} {'fwd':>15s} {'f+b':>15s} {'torch fwd':>15s} "
            f"{'torch f+b':>15s} {'f+b ratio':>9s} {'best':>5s}")
    print(head)
    print("-" * len(head))
    for label, xs, ws, need_dx in CONV_LAYERS:
        x = rng.standard_normal(xs, dtype=np.float32)
        w = rng.standard_normal(ws, dtype=np.float32) * 0.1
        dy = rng.standard_normal((xs[0], ws[0]) + xs[2:], dtype=np.float32)
        xt = torch.from_numpy(x).requires_grad_(need_dx)
        wt = torch.from_numpy(w).requires_grad_(True)
        dyt = torch.from_numpy(dy)

        def torch_fb():
            wt.grad = xt.grad = None
            F.conv2d(xt, wt, None, one, pad1).backward(dyt)

        def ours(knobs, backward):
            fast_conv._direct_serves = default[0] if knobs[0] else (lambda *shapes: False)
            fast_conv._WIDE_MAX = knobs[1]
            _, cache = conv2d_forward(x, w, None, one, pad1, one)
            if backward:
                conv2d_backward(dy, cache, need_dx=need_dx)

        funcs = {"torch fwd": lambda: F.conv2d(xt, wt, None, one, pad1), "torch f+b": torch_fb}
        for variant, knobs in VARIANTS.items():
            funcs[variant + " fwd"] = lambda knobs=knobs: ours(knobs, False)
            funcs[variant + " f+b"] = lambda knobs=knobs: ours(knobs, True)
        t = blocked_timings(funcs, rounds)
        fast_conv._direct_serves, fast_conv._WIDE_MAX = default
        _, OW, OWc = fast_conv._sizes(xs, ws[2:], one, pad1, one)
        chosen = ("direct" if fast_conv._direct_serves(xs, ws[2:], one, pad1, one) else
                  "blas wide" if OWc > OW else "blas exact")

        def cell(name):
            return f"{np.median(t[name]) * 1e3:7.3f} ({t[name].min() * 1e3:5.3f})"
        for variant in VARIANTS:
            ratio = np.median(t[variant + " f+b"]) / np.median(t["torch f+b"])
            best = t[variant + " f+b"].min() / t["torch f+b"].min()
            print(f"{label:6s} {variant + ('*' if variant == chosen else ' '):12s} "
                  f"{cell(variant + ' fwd')} {cell(variant + ' f+b')} {cell('torch fwd')} "
                  f"{cell('torch f+b')} {ratio:9.2f} {best:5.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10,
                        help="rounds of the conv variants table")
    parser.add_argument("--variants-only", action="store_true",
                        help="only the conv variants table")
    parser.add_argument("--cpu-time", action="store_true",
                        help="one thread everywhere, timed by the thread's CPU time")
    args = parser.parse_args()
    global CLOCK
    threads = 1 if args.cpu_time else 2
    if args.cpu_time:
        CLOCK = time.thread_time

    try:
        import torch
    except ImportError:
        sys.exit("bench_conv_kernels needs PyTorch as the reference: `make torch`")
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_info
        blas = "; ".join(f"{i['internal_api']} {i['version']} {i.get('architecture', '')} "
                         f"{i['num_threads']} threads" for i in threadpool_info())
    except ImportError:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"].get("openblas configuration", "?")
    import numba
    print(f"numpy {np.__version__}, numba {numba.__version__}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); numba {numba.get_num_threads()} threads; BLAS: {blas}")
    print("timing by", "CPU time of the calling thread" if args.cpu_time else "wall clock")

    if args.variants_only:
        conv_variants(torch, np.random.default_rng(0), args.rounds)
        return
    t0 = time.perf_counter()
    cases = list(build_cases(torch, np.random.default_rng(0)))
    print(f"first calls (numba compile or cache load): {time.perf_counter() - t0:.2f} s")
    gflops, gbs = measure_limits(args.repeats)
    print(f"measured limits: sgemm {gflops:.0f} GFLOP/s, parallel copy {gbs:.0f} GB/s\n")

    print("ms, median over the repeats; 'best' columns use each kernel's fastest call, which")
    print("a busy machine disturbs least. floor: flops / sgemm rate or bytes / copy rate.\n")
    head = (f"{'kernel':38s} {'ours':>7s} {'numpy':>7s} {'torch':>7s} {'ours/torch':>10s} "
            f"{'best ours':>9s} {'best torch':>10s} {'best ratio':>10s} {'floor':>6s} {'best/floor':>10s}")
    print(head)
    print("-" * len(head))
    for name, ours, ref, theirs, work, unit in cases:
        t_ours, t_ref, t_torch = timings([ours, ref, theirs], args.repeats)
        m_ours, m_ref, m_torch = (np.median(t) * 1e3 for t in (t_ours, t_ref, t_torch))
        b_ours, b_torch = t_ours.min() * 1e3, t_torch.min() * 1e3
        floor = work / (gflops * 1e9 if unit == "flop" else gbs * 1e9) * 1e3
        print(f"{name:38s} {m_ours:7.3f} {m_ref:7.3f} {m_torch:7.3f} {m_ours / m_torch:10.2f} "
              f"{b_ours:9.3f} {b_torch:10.3f} {b_ours / b_torch:10.2f} {floor:6.3f} {b_ours / floor:10.1f}")
    conv_variants(torch, np.random.default_rng(0), args.rounds)


if __name__ == "__main__":
    main()
