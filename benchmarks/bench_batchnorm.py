"""BatchNorm through the module, autograd included, against PyTorch CPU.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \\
        .venv/bin/python benchmarks/bench_batchnorm.py [--threads 2] [--budget 1.5]

For each shape (float32, training mode): the forward `bn(x)` and the
forward+backward `bn(x).backward(dy)` of minigrad's BatchNorm1d/2d module,
the same with the plain-numpy reference kernels, and torch.nn.BatchNorm1d/2d
with the same thread count, all in this process, timed in alternating rounds
(medians) so that machine noise hits each alike. The JIT compile time of the
first call is reported separately and excluded.

Effective bandwidth counts the bytes a kernel must move at least: the
forward reads x twice (statistics, then normalize) and writes y, 3 x numel x 4
bytes; forward+backward adds reading dy and x twice and writing dx, 8 x numel
x 4 bytes in all. The machine's own ceiling is measured by a plain parallel
copy of the largest array (read + write).
"""
import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import minigrad  # noqa: E402
from minigrad.kernels.reference import batchnorm as kernels  # noqa: E402
from minigrad.nn import BatchNorm1d, BatchNorm2d  # noqa: E402
from bench_batchnorm_kernels import copy_bandwidth, timed_rounds  # noqa: E402

SHAPES = [(64, 8, 28, 28), (128, 16, 28, 28), (128, 32, 14, 14), (256, 64, 14, 14),
          (64, 128, 7, 7), (32, 64, 56, 56), (256, 100), (4096, 1024)]


def minigrad_fns(shape, x, dy):
    module = (BatchNorm2d if len(shape) == 4 else BatchNorm1d)(shape[1])
    leaf = minigrad.Tensor(x, requires_grad=True)

    def forward():
        return module(leaf)

    def forward_backward():
        leaf.grad = None
        module.weight.grad = module.bias.grad = None
        module(leaf).backward(dy)
    return forward, forward_backward


def reference_fns(x, dy):
    """The numpy reference kernels, composed as the op composes the numba ones."""
    x3, dy3 = kernels.as_ncs(x), kernels.as_ncs(dy)
    gamma = np.ones(x3.shape[1], np.float32)
    beta = np.zeros(x3.shape[1], np.float32)

    def forward():
        return kernels.normalize_train(x3, gamma, beta, 1e-5)

    def forward_backward():
        _, mean, invstd, _ = kernels.normalize_train(x3, gamma, beta, 1e-5)
        sums = kernels.backward_reduce(dy3, x3, mean, invstd)
        return kernels.backward_dx(dy3, x3, mean, invstd, gamma, *sums)
    return forward, forward_backward


def torch_fns(torch, shape, x, dy):
    module = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(shape[1])
    leaf = torch.from_numpy(x).requires_grad_(True)
    grad = torch.from_numpy(dy)

    def forward():
        with torch.no_grad():
            return module(leaf)

    def forward_backward():
        leaf.grad = None
        module.zero_grad(set_to_none=True)
        module(leaf).backward(grad)
    return forward, forward_backward


def calls_for(fns, at_least, block_seconds=0.01):
    """Calls per block so that each framework's block lasts ~10 ms: after a call,
    the other framework's OpenMP threads spin for a while and slow the first
    sub-millisecond calls that follow; long blocks leave them a small share."""
    for fn in fns.values():
        fn()
    slowest_fastest = min(min(_time_once(fn) for _ in range(3)) for fn in fns.values())
    return max(at_least, int(block_seconds / max(slowest_fastest, 1e-6)) + 1)


def _time_once(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget", type=float, default=1.5, help="seconds of timing per shape and mode")
    parser.add_argument("--no-ref", action="store_true", help="skip the (slow) numpy reference")
    parser.add_argument("--calls", type=int, default=6,
                        help="calls in a row per framework and round; the first is dropped: "
                             "it may meet the other framework's OpenMP threads still spinning")
    args = parser.parse_args()

    # The fast backend chooses numba's thread pool (tbb first) when it is loaded;
    # set_num_threads launches the pool, so load the backend before it.
    import minigrad.kernels.fast  # noqa: F401
    import numba
    numba.set_num_threads(args.threads)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
        print("PyTorch not installed: no PyTorch column (pip install torch==2.13.0)")
    print(f"threads {args.threads}; load average at start {os.getloadavg()[0]:.2f}")

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    warm = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    for shape in ((4, 3, 5, 5), (4, 3)):
        _, fb = minigrad_fns(shape, warm.reshape(shape) if len(shape) == 4 else warm[:, :, 0, 0].copy(),
                             np.ones(shape, np.float32))
        fb()
    print(f"first calls (numba compile, or load from cache): {time.perf_counter() - start:.2f} s, excluded below\n")

    largest = max(int(np.prod(s)) for s in SHAPES)
    ceiling = copy_bandwidth(largest)
    print(f"plain parallel copy of {largest * 4 / 2**20:.0f} MiB: {ceiling:.1f} GB/s (read + write)\n")

    header = (f"{'shape':>18} | {'fwd ms':>7} {'GB/s':>5} {'torch':>7} {'ratio':>5} | "
              f"{'f+b ms':>7} {'GB/s':>5} {'%copy':>5} {'torch':>7} {'ratio':>5}" + ("" if args.no_ref else f" | {'ref f+b':>8}"))
    print(header)
    print("-" * len(header))
    for shape in SHAPES:
        x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
        dy = rng.standard_normal(shape).astype(np.float32)
        numel = x.size
        fns = {}
        fns["ours_f"], fns["ours_fb"] = minigrad_fns(shape, x, dy)
        if torch is not None:
            fns["torch_f"], fns["torch_fb"] = torch_fns(torch, shape, x, dy)
        forward_only = {k: v for k, v in fns.items() if k.endswith("_f")}
        both = {k: v for k, v in fns.items() if k.endswith("_fb")}
        t = {**timed_rounds(forward_only, args.budget, calls=calls_for(forward_only, args.calls)),
             **timed_rounds(both, args.budget, calls=calls_for(both, args.calls))}
        if not args.no_ref:
            _, ref_fb = reference_fns(x, dy)
            t["ref_fb"] = timed_rounds({"ref": ref_fb}, args.budget / 3)["ref"]
        gbs_f = 3 * numel * 4 / t["ours_f"] / 1e9
        gbs_fb = 8 * numel * 4 / t["ours_fb"] / 1e9
        torch_f = f"{1000 * t['torch_f']:7.3f}" if torch else "      -"
        torch_fb = f"{1000 * t['torch_fb']:7.3f}" if torch else "      -"
        ratio_f = f"{t['ours_f'] / t['torch_f']:5.2f}" if torch else "    -"
        ratio_fb = f"{t['ours_fb'] / t['torch_fb']:5.2f}" if torch else "    -"
        line = (f"{str(shape):>18} | {1000 * t['ours_f']:7.3f} {gbs_f:5.1f} {torch_f} {ratio_f} | "
                f"{1000 * t['ours_fb']:7.3f} {gbs_fb:5.1f} {100 * gbs_fb / ceiling:5.0f} {torch_fb} {ratio_fb}")
        if not args.no_ref:
            line += f" | {1000 * t['ref_fb']:8.2f}"
        print(line, flush=True)
    print(f"\nratio = minigrad time / PyTorch time (below 1: minigrad faster); "
          f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
