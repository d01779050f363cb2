"""Benchmark the array-level BatchNorm kernels against their numpy references and PyTorch.

Run (the glibc settings stop large outputs from page-faulting on every call):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \\
        .venv/bin/python benchmarks/bench_batchnorm_kernels.py [--quick]

All inputs are float32. Times are medians over repeats taken in rounds, so
that the kernel and PyTorch see the same machine load. "fwd" is
normalize_train; "f+b" is normalize_train + backward_reduce + backward_dx.
Effective bandwidth counts the minimum traffic: forward 3 x numel x 4 bytes
(read x twice, write y), forward+backward 8 x numel x 4 bytes.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np
from numba import njit, prange

from minigrad.kernels.fast import batchnorm as bn
from minigrad.kernels.reference import batchnorm as ref

THREADS = 2
EPS = 1e-5
SHAPES = [
    (64, 8, 28, 28), (128, 16, 28, 28), (128, 32, 14, 14), (256, 64, 14, 14),
    (64, 128, 7, 7), (32, 64, 56, 56), (256, 100), (4096, 1024),
]

try:
    import torch
except ImportError:
    torch = None


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def timed_rounds(fns, budget, calls=3):
    """Median time of each fn in `fns` (a dict), measured in rounds.

    Each round runs every fn `calls` times in a row and keeps all but the
    first call (which may meet the other library's OpenMP threads still
    spinning). Rounds alternate the fns, so all see the same machine load.
    """
    for fn in fns.values():  # warm-up
        fn()
    single = max(median_time(fn, 1) for fn in fns.values())
    rounds = int(min(40, max(5, budget / max(single * len(fns) * calls, 1e-9))))
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            fn()
            for _ in range(calls - 1):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


@njit(parallel=True, cache=True)
def _parallel_copy(src, dst):
    for i in prange(src.shape[0]):
        dst[i] = src[i]


def copy_bandwidth(numel):
    src = np.random.default_rng(0).random(numel, dtype=np.float32)
    dst = np.empty_like(src)
    _parallel_copy(src, dst)
    t = timed_rounds({"copy": lambda: _parallel_copy(src, dst)}, 1.0)["copy"]
    return 2 * numel * 4 / t / 1e9


def kernel_fns(x, dy, w, b):
    def fwd():
        x3 = bn.as_ncs(x)
        return bn.normalize_train(x3, w, b, EPS)

    def fwd_bwd():
        x3 = bn.as_ncs(x)
        dy3 = bn.as_ncs(dy)
        _, mean, invstd, _ = bn.normalize_train(x3, w, b, EPS)
        sum_dy, sum_dy_xhat = bn.backward_reduce(dy3, x3, mean, invstd)
        return bn.backward_dx(dy3, x3, mean, invstd, w, sum_dy, sum_dy_xhat)

    def ref_fwd():
        return ref.normalize_train(bn.as_ncs(x), w, b, EPS)

    def ref_fwd_bwd():
        x3 = bn.as_ncs(x)
        dy3 = bn.as_ncs(dy)
        _, mean, invstd, _ = ref.normalize_train(x3, w, b, EPS)
        sum_dy, sum_dy_xhat = ref.backward_reduce(dy3, x3, mean, invstd)
        return ref.backward_dx(dy3, x3, mean, invstd, w, sum_dy, sum_dy_xhat)

    return fwd, fwd_bwd, ref_fwd, ref_fwd_bwd


def torch_fns(x, dy, w, b):
    c = x.shape[1]
    layer = torch.nn.BatchNorm2d(c) if x.ndim == 4 else torch.nn.BatchNorm1d(c)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w))
        layer.bias.copy_(torch.from_numpy(b))
    layer.train()
    xt = torch.from_numpy(x).requires_grad_(True)
    dyt = torch.from_numpy(dy)

    def fwd():
        return layer(xt)

    def fwd_bwd():
        xt.grad = None
        layer.weight.grad = None
        layer.bias.grad = None
        layer(xt).backward(dyt)
        return xt.grad

    return fwd, fwd_bwd


def check_against_torch(x, dy, w, b):
    """Guard against benchmarking something wrong: compare one result with PyTorch."""
    fwd, fwd_bwd, _, _ = kernel_fns(x, dy, w, b)
    tfwd, tfwd_bwd = torch_fns(x, dy, w, b)
    y = fwd()[0].reshape(x.shape)
    dx = fwd_bwd().reshape(x.shape)
    ty = tfwd().detach().numpy()
    tdx = tfwd_bwd().numpy()
    assert np.allclose(y, ty, rtol=1e-4, atol=1e-4), "forward differs from torch"
    assert np.allclose(dx, tdx, rtol=1e-3, atol=1e-4), "backward differs from torch"


COMPILE_SCRIPT = """
import time
import numpy as np
from numba.core import event
from minigrad.kernels.fast import batchnorm as bn
spent = {}
with event.install_recorder("numba:compile") as recorder:
    start = time.perf_counter()
    for shape in %r:
        x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
        w = np.ones(shape[1], np.float32)
        _, mean, invstd, _ = bn.normalize_train(x, w, w, 1e-5)
        bn.backward_dx(x, x, mean, invstd, w, *bn.backward_reduce(x, x, mean, invstd))
    total = time.perf_counter() - start
opened = {}
for when, ev in recorder.buffer:   # nested compiles (helpers) count in their caller too
    name = ev.data["dispatcher"].py_func.__name__
    if ev.is_start:
        opened[name] = when
    else:
        spent[name] = spent.get(name, 0.0) + when - opened[name]
print(f"{total:.2f}", " ".join(f"{k}={v:.2f}" for k, v in spent.items() if k.startswith("_")))
"""


def compile_report(shapes):
    """First f+b of the BN kernels with an empty numba cache, in a child process:
    (seconds in all, {kernel: seconds compiling it, helpers it calls included})."""
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-c", COMPILE_SCRIPT % (shapes,)], check=True,
                             capture_output=True, text=True,
                             env=dict(os.environ, NUMBA_CACHE_DIR=cache)).stdout.split()
    return float(out[0]), dict((k, float(v)) for k, v in (w.split("=") for w in out[1:]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="shorter timing budget")
    parser.add_argument("--no-ref", action="store_true", help="skip the numpy references")
    parser.add_argument("--threads", type=int, default=THREADS,
                        help="threads for numba and torch alike (default 2)")
    args = parser.parse_args()
    budget = 0.5 if args.quick else 2.0

    numba.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(f"numba {numba.__version__}, numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
          f"threads {args.threads}")
    print("load average at start:", open("/proc/loadavg").read().split()[:3],
          "(other processes share the cores: compare ratios, not absolute times)")
    print("OPENBLAS_CORETYPE =", os.environ.get("OPENBLAS_CORETYPE"),
          " MALLOC_MMAP_THRESHOLD_ =", os.environ.get("MALLOC_MMAP_THRESHOLD_"))
    # the main example's BN2d shapes (planes form), then BatchNorm1d's (rows form)
    for shapes in ([(64, 16, 784), (64, 32, 196)], [(256, 100, 1)]):
        total, kernels = compile_report(shapes)
        print(f"first f+b, empty cache, {shapes}: {total:.2f} s; compiling "
              + ", ".join(f"{k} {v:.2f} s" for k, v in kernels.items()))
    print(f"numba threading layer: {numba.threading_layer()}")

    largest = max(int(np.prod(s)) for s in SHAPES)
    copy_gbs = copy_bandwidth(largest)
    print(f"parallel numba copy of {largest * 4 / 2**20:.1f} MiB: {copy_gbs:.1f} GB/s (read+write)\n")

    header = (f"{'shape':>18} | {'fwd ms':>7} {'GB/s':>5} {'x ref':>6} {'x torch':>7} | "
              f"{'f+b ms':>7} {'GB/s':>5} {'%copy':>5} {'x ref':>6} {'x torch':>7} | "
              f"{'torch fwd':>9} {'torch f+b':>9} | {'ref fwd':>8} {'ref f+b':>8}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        x = rng.normal(0.5, 2.0, size=shape).astype(np.float32)
        dy = rng.normal(size=shape).astype(np.float32)
        c = shape[1]
        w = rng.normal(1.0, 0.1, size=c).astype(np.float32)
        b = rng.normal(0.0, 0.1, size=c).astype(np.float32)
        numel = x.size
        fwd, fwd_bwd, ref_fwd, ref_fwd_bwd = kernel_fns(x, dy, w, b)
        fns = {"fwd": fwd, "fb": fwd_bwd}
        if torch is not None:
            check_against_torch(x, dy, w, b)
            tfwd, tfwd_bwd = torch_fns(x, dy, w, b)
            fns.update({"tfwd": tfwd, "tfb": tfwd_bwd})
        t = timed_rounds(fns, budget)
        if not args.no_ref:
            t.update(timed_rounds({"rfwd": ref_fwd, "rfb": ref_fwd_bwd}, budget / 2))
        gbs_f = 3 * numel * 4 / t["fwd"] / 1e9
        gbs_fb = 8 * numel * 4 / t["fb"] / 1e9

        def ratio(a, b_):
            return f"{t[a] / t[b_]:.2f}" if b_ in t else "-"

        def ms(key):
            return f"{t[key] * 1e3:.3f}" if key in t else "-"

        print(f"{str(shape):>18} | {ms('fwd'):>7} {gbs_f:5.1f} {ratio('fwd', 'rfwd'):>6} "
              f"{ratio('fwd', 'tfwd'):>7} | {ms('fb'):>7} {gbs_fb:5.1f} "
              f"{100 * gbs_fb / copy_gbs:5.0f} {ratio('fb', 'rfb'):>6} {ratio('fb', 'tfb'):>7} | "
              f"{ms('tfwd'):>9} {ms('tfb'):>9} | {ms('rfwd'):>8} {ms('rfb'):>8}")
    print("\nload average at end:", open("/proc/loadavg").read().split()[:3])
    print("x ref / x torch: kernel time divided by the numpy reference's / PyTorch's "
          "(below 1 = kernel faster). %copy: f+b effective bandwidth as a share of the copy's.")


if __name__ == "__main__":
    main()
