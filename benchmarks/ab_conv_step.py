"""The main example's training step and a no_grad batch of 500, with this tree's fast conv
(or BN) kernels against those of another git revision, in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \\
        .venv/bin/python benchmarks/ab_conv_step.py [REV] [--family batchnorm] [--threads N]

REV (default main) is any git revision: its minigrad/kernels/fast/conv.py (or
batchnorm.py) is loaded as a module of its own (from `git show`), and the numba
backend's family is pointed at one module or the other, round by round; the model,
the other kernels and the engine are the same objects for both. A BN module from
before backward_train gets that function composed from its two. On a shared machine
this measures a change far more tightly than two runs of bench_train.py: both sides
meet the same load.
Prints per-call minimum, 10th percentile and median over the rounds.
"""
import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def module_at(rev, paths, folder):
    """The first of `paths` (files of this repository) that exists at git revision `rev`,
    imported as a separate module from a copy in `folder`."""
    for path in paths:
        shown = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT,
                               capture_output=True, text=True)
        if shown.returncode == 0:
            break
    else:
        raise SystemExit(f"none of {paths} exists at {rev}")
    name = "at_rev_" + os.path.basename(path)[:-3]
    copy = os.path.join(folder, name + ".py")
    with open(copy, "w") as f:
        f.write(shown.stdout)
    spec = importlib.util.spec_from_file_location(name, copy)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module      # numba's cache finds a module's globals by its name
    spec.loader.exec_module(module)
    return module


def with_backward_train(bn):
    """An older fast BN module, callable by this tree's op: backward_train composed of
    backward_reduce and backward_dx, normalize_train taking (and not needing) relu."""
    if hasattr(bn, "backward_train"):
        return bn
    normalize = bn.normalize_train

    def backward_train(dy3, x3, mean, invstd, weight, bias=None, relu=False, out=None):
        assert not relu, "the main example's ReLUs go into the max-pools"
        sums = bn.backward_reduce(dy3, x3, mean, invstd)
        return (bn.backward_dx(dy3, x3, mean, invstd, weight, *sums, out=out), *sums)
    bn.backward_train = backward_train
    bn.normalize_train = lambda x3, w, b, eps, out=None, relu=False: normalize(x3, w, b, eps, out)
    return bn


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", nargs="?", default="main")
    parser.add_argument("--family", choices=["conv", "batchnorm"], default="conv")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()

    import minigrad.kernels.fast  # noqa: F401  (chooses numba's pool before set_num_threads)
    import numba
    numba.set_num_threads(args.threads)
    import minigrad
    from minigrad import kernels, optim
    this_tree = importlib.import_module(f"minigrad.kernels.fast.{args.family}")
    from minigrad.models import mnist_cnn
    from minigrad.nn import functional as F

    minigrad.set_backend("numba")
    clock = time.perf_counter if args.threads > 1 else time.process_time
    rng = np.random.default_rng(0)
    batches = [(minigrad.Tensor(rng.random((64, 1, 28, 28), dtype=np.float32)),
                minigrad.Tensor(rng.integers(0, 10, 64))) for _ in range(8)]
    images = minigrad.Tensor(rng.random((500, 1, 28, 28), dtype=np.float32))
    model = mnist_cnn()
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(i):
        x, y = batches[i % len(batches)]
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def evaluate(i):
        with minigrad.no_grad():
            model(images)

    with tempfile.TemporaryDirectory() as folder:
        other = module_at(args.rev, [f"minigrad/kernels/fast/{args.family}.py"], folder)
        sides = {args.rev: with_backward_train(other) if args.family == "batchnorm" else other,
                 "this tree": this_tree}
        times = {(side, what): [] for side in sides for what in ("step", "eval 500")}
        for _ in range(args.rounds + 1):          # the first round warms up (and compiles)
            for side, module in sides.items():
                kernels._modules[args.family] = module
                for what, fn, calls in (("step", step, 10), ("eval 500", evaluate, 2)):
                    fn(0)
                    for i in range(calls):
                        start = clock()
                        fn(i)
                        times[side, what].append(clock() - start)
        kernels._modules[args.family] = this_tree
    print(f"threads {args.threads}, load average {os.getloadavg()[0]:.2f}; ms per call")
    for (side, what), ts in times.items():
        ts = np.array(ts[len(ts) // (args.rounds + 1):]) * 1e3
        print(f"  {what:8s} {side:10s} min {ts.min():7.2f}  p10 {np.percentile(ts, 10):7.2f}  "
              f"median {np.median(ts):7.2f}")


if __name__ == "__main__":
    main()
