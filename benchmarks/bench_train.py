"""Time a training step of the main example's CNN against PyTorch CPU.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \
        .venv/bin/python benchmarks/bench_train.py

Prints, all measured in this one process:
  * the median training step (forward, loss, backward, SGD-momentum step) at
    batch 64, float32, for minigrad and (when importable) PyTorch with the
    same thread count, and their ratio;
  * a profile of minigrad's step by op type (forward and backward of each
    Function class, the optimizer, and the rest: graph bookkeeping);
  * evaluation throughput (no_grad) over the 10,000 test images, both frameworks;
  * in child processes: peak memory (max RSS) of one training epoch, and the
    time to import minigrad and run the first step, cold (empty numba cache, with
    each kernel the step compiled and its compile time, from numba's event API)
    and warm (cache filled).
"""
import argparse
import collections
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import minigrad  # noqa: E402
from minigrad import autograd, optim  # noqa: E402
from minigrad.models import mnist_cnn  # noqa: E402
from minigrad.nn import functional as F  # noqa: E402

BATCH = 64


def median_ms(fn, repeats, warmup=5):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def batches(n_batches, seed=0):
    from minigrad.data import MNIST
    data = MNIST("train")
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(data.labels))[: n_batches * BATCH].reshape(n_batches, BATCH)
    return [(data.images[i], data.labels[i]) for i in idx]


# ---- minigrad ---------------------------------------------------------------
def minigrad_step_fn(batch_list):
    minigrad.manual_seed(0)
    model = mnist_cnn()
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    counter = iter(range(10 ** 9))

    def step():
        images, labels = batch_list[next(counter) % len(batch_list)]
        loss = F.cross_entropy(model(minigrad.Tensor(images)), minigrad.Tensor(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step, model, optimizer


def profile_by_op(step, optimizer, steps=30):
    """Seconds per step spent in each Function's forward and backward, the
    optimizer, and everything else (module calls, graph walk, Tensor wrapping)."""
    spent = collections.defaultdict(float)

    def timed(name, method):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return wrapper

    def all_subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from all_subclasses(sub)

    originals = []
    for cls in set(all_subclasses(autograd.Function)):
        for method_name in ("forward", "backward"):
            if method_name in cls.__dict__:
                originals.append((cls, method_name, cls.__dict__[method_name]))
                setattr(cls, method_name, timed(f"{cls.__name__}.{method_name}", cls.__dict__[method_name]))
    original_step = optimizer.step
    optimizer.step = timed("optimizer.step", original_step)
    try:
        for _ in range(5):
            step()
        spent.clear()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        total = time.perf_counter() - start
    finally:
        for cls, method_name, method in originals:
            setattr(cls, method_name, method)
        optimizer.step = original_step
    rows = sorted(((name, seconds / steps) for name, seconds in spent.items()), key=lambda r: -r[1])
    rows.append(("everything else (modules, graph walk, wrapping)", total / steps - sum(s for _, s in rows)))
    return total / steps, rows


@minigrad.no_grad()
def minigrad_eval_seconds(model, images, batch_size=500):
    model.eval()
    start = time.perf_counter()
    for i in range(0, len(images), batch_size):
        model(minigrad.Tensor(images[i:i + batch_size]))
    return time.perf_counter() - start


# ---- PyTorch, the same model ----------------------------------------------------
def torch_model(torch, state):
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 10))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return model


def torch_step_fn(torch, model, batch_list):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    tensors = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batch_list]
    counter = iter(range(10 ** 9))

    def step():
        images, labels = tensors[next(counter) % len(tensors)]
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step


def torch_eval_seconds(torch, model, images, batch_size=500):
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            model(torch.from_numpy(images[i:i + batch_size]))
    return time.perf_counter() - start


# ---- child processes: memory and start-up ----------------------------------------
EPOCH_SCRIPT = """
import resource, sys, time
sys.path.insert(0, {root!r})
sys.argv = ["mnist_cnn.py", "--quiet", "--no-graph", "--out", {out!r}]
import runpy
runpy.run_path({example!r}, run_name="__main__")
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

FIRST_STEP_SCRIPT = """
import time
start = time.perf_counter()
import sys
sys.path.insert(0, {root!r})
import numpy as np
import minigrad
imported = time.perf_counter()
from numba.core import event
recording = event.install_recorder("numba:compile")
compiles = recording.__enter__()
from minigrad import optim
from minigrad.models import mnist_cnn
from minigrad.nn import functional as F
model = mnist_cnn()
opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x = minigrad.Tensor(np.random.rand(64, 1, 28, 28).astype(np.float32))
y = minigrad.Tensor(np.arange(64) % 10)
loss = F.cross_entropy(model(x), y); opt.zero_grad(); loss.backward(); opt.step()
first = time.perf_counter()
recording.__exit__(None, None, None)
loss = F.cross_entropy(model(x), y); opt.zero_grad(); loss.backward(); opt.step()
second = time.perf_counter()
print("IMPORT", imported - start, "FIRST", first - imported, "SECOND", second - first)
depth, began = 0, {{}}
for when, ev in compiles.buffer:      # kernels the step called (helpers compile inside them)
    depth += 1 if ev.is_start else -1
    name = ev.data["dispatcher"].py_func.__qualname__
    if ev.is_start and depth == 1:
        began[name] = when
    elif not ev.is_start and depth == 0:
        print("COMPILED", name, when - began[name])
"""


def run_child(script, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return result.stdout


def start_up_times():
    cache = tempfile.mkdtemp(prefix="numba-cache-")
    timings = []
    for label in ("cold", "warm"):
        out = run_child(FIRST_STEP_SCRIPT.format(root=ROOT), {"NUMBA_CACHE_DIR": cache})
        words = out.split()
        compiled = [line.split()[1:] for line in out.splitlines() if line.startswith("COMPILED")]
        timings.append((label, float(words[1]), float(words[3]), float(words[5]), compiled))
    return timings


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-children", action="store_true", help="skip the epoch memory and start-up runs")
    args = parser.parse_args()

    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.threads))
    # The fast backend chooses numba's thread pool (tbb first) when it is loaded;
    # set_num_threads launches the pool, so load the backend before it.
    import minigrad.kernels.fast  # noqa: F401
    import numba
    numba.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_info
        blas = [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()]
    except ImportError:
        blas = "threadpoolctl not installed"
    print(f"numpy {np.__version__}, numba {numba.__version__}, threads {args.threads}, BLAS {blas}")

    batch_list = batches(20)
    step, model, optimizer = minigrad_step_fn(batch_list)
    compile_start = time.perf_counter()
    step()
    print(f"first minigrad step (includes any numba compilation or cache load): "
          f"{1000 * (time.perf_counter() - compile_start):.0f} ms")

    try:
        import torch
        torch.set_num_threads(args.threads)
        t_model = torch_model(torch, model.state_dict())
        t_step = torch_step_fn(torch, t_model, batch_list)
    except ImportError:
        torch = None

    # Interleave the two frameworks in rounds so that machine noise hits both alike.
    ours, theirs = [], []
    for _ in range(3):
        ours.append(median_ms(step, args.repeats // 3))
        if torch is not None:
            theirs.append(median_ms(t_step, args.repeats // 3))
    ours_ms = statistics.median(ours)
    print(f"\ntraining step, batch {BATCH}: minigrad {ours_ms:.2f} ms", end="")
    if torch is not None:
        theirs_ms = statistics.median(theirs)
        print(f", PyTorch {theirs_ms:.2f} ms, ratio {ours_ms / theirs_ms:.2f}x")
    else:
        print(" (PyTorch not installed: no ratio)")

    total, rows = profile_by_op(step, optimizer)
    print(f"\nprofile of one minigrad step ({1000 * total:.2f} ms with timers on):")
    for name, seconds in rows:
        print(f"  {name:48s} {1000 * seconds:7.3f} ms  {100 * seconds / total:5.1f} %")

    from minigrad.data import MNIST
    test_images = MNIST("test").images
    minigrad_eval_seconds(model, test_images[:1000])
    ours_eval = statistics.median(minigrad_eval_seconds(model, test_images) for _ in range(3))
    line = f"\nevaluation over {len(test_images)} test images (batch 500, no_grad): minigrad {ours_eval:.3f} s " \
           f"({len(test_images) / ours_eval:.0f} images/s)"
    if torch is not None:
        theirs_eval = statistics.median(torch_eval_seconds(torch, t_model, test_images) for _ in range(3))
        line += f", PyTorch {theirs_eval:.3f} s, ratio {ours_eval / theirs_eval:.2f}x"
    print(line)

    if args.skip_children:
        return
    with tempfile.TemporaryDirectory() as out:
        epoch = run_child(EPOCH_SCRIPT.format(root=ROOT, out=out,
                                              example=os.path.join(ROOT, "examples", "mnist_cnn.py")))
    maxrss_kb = int(epoch.split("MAXRSS_KB")[1].split()[0])
    epoch_line = [line for line in epoch.splitlines() if line.startswith("epoch 1:")][0]
    print(f"\none epoch of examples/mnist_cnn.py (child process): peak RSS {maxrss_kb / 1024:.0f} MiB; {epoch_line}")
    for label, imported, first, second, compiled in start_up_times():
        print(f"start-up, {label} numba cache: import minigrad {1000 * imported:.0f} ms, "
              f"first step {1000 * first:.0f} ms, second step {1000 * second:.0f} ms")
        if compiled:
            print("  compiled in the first step: " + ", ".join(
                f"{name} {float(seconds):.2f} s" for name, seconds in compiled))


if __name__ == "__main__":
    main()
