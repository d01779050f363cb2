"""The BN kernels of this tree against those of another git revision, in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \\
        .venv/bin/python benchmarks/ab_batchnorm_kernels.py [REV] [--shapes 64,128,7,7 ...]

REV (default main) is any git revision; its fast BN module (minigrad/kernels/fast/batchnorm.py,
or minigrad/kernels/batchnorm.py before the backend split) is loaded as a module of its own.
The public functions (batch_stats, normalize_train, backward_reduce, backward_dx, and the
whole backward: backward_train, or the last two where a revision lacks it) of both sides
run in alternating rounds on float32 inputs, so both meet the same machine load;
medians per call in microseconds, REV / this tree. (Its kernels compile on the first round.)
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ab_conv_step import module_at  # noqa: E402
from bench_batchnorm import SHAPES  # noqa: E402

PATHS = ["minigrad/kernels/fast/batchnorm.py", "minigrad/kernels/batchnorm.py"]


def calls(bn, x, dy):
    x3, dy3 = bn.as_ncs(x), bn.as_ncs(dy)
    gamma = np.ones(x3.shape[1], np.float32)
    beta = np.zeros(x3.shape[1], np.float32)
    _, mean, invstd, _ = bn.normalize_train(x3, gamma, beta, 1e-5)
    sums = bn.backward_reduce(dy3, x3, mean, invstd)
    return {"batch_stats": lambda: bn.batch_stats(x3),
            "normalize_train": lambda: bn.normalize_train(x3, gamma, beta, 1e-5),
            "backward_reduce": lambda: bn.backward_reduce(dy3, x3, mean, invstd),
            "backward_dx": lambda: bn.backward_dx(dy3, x3, mean, invstd, gamma, *sums),
            "backward (both)": lambda: backward(bn, dy3, x3, mean, invstd, gamma)}


def backward(bn, dy3, x3, mean, invstd, gamma):
    """The whole training backward: backward_train where the revision has it."""
    if hasattr(bn, "backward_train"):
        return bn.backward_train(dy3, x3, mean, invstd, gamma)
    return bn.backward_dx(dy3, x3, mean, invstd, gamma, *bn.backward_reduce(dy3, x3, mean, invstd))


def per_call(fn, repeats):
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", nargs="?", default="main")
    parser.add_argument("--shapes", nargs="*", help="e.g. 64,128,7,7 256,100 (default: bench_batchnorm's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    from minigrad.kernels.fast import batchnorm as this_tree  # chooses numba's pool first
    import numba
    numba.set_num_threads(args.threads)
    shapes = [tuple(map(int, s.split(","))) for s in args.shapes] if args.shapes else SHAPES
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        sides = {args.rev: module_at(args.rev, PATHS, folder), "this tree": this_tree}
        print(f"threads {args.threads}, load average {os.getloadavg()[0]:.2f}; "
              f"us per call, median of {args.rounds} rounds, {args.rev} / this tree")
        for shape in shapes:
            x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
            dy = rng.standard_normal(shape).astype(np.float32)
            fns = {side: calls(bn, x, dy) for side, bn in sides.items()}
            repeats = max(3, int(0.01 / per_call(fns["this tree"]["normalize_train"], 3)))
            times = {(side, name): [] for side in fns for name in fns[side]}
            for _ in range(args.rounds):
                for side, named in fns.items():
                    for name, fn in named.items():
                        times[side, name].append(per_call(fn, repeats))
            cells = [f"{name} {1e6 * np.median(times[args.rev, name]):6.1f} / "
                     f"{1e6 * np.median(times['this tree', name]):6.1f}" for name in fns[args.rev]]
            print(f"{str(shape):>18}  " + "  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
