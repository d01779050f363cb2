"""Train a CNN with BatchNorm between each convolution and its activation on
real MNIST, and see it reach high accuracy in one epoch.

    python examples/mnist_cnn.py                  # one epoch, BN, the default recipe
    python examples/mnist_cnn.py --no-bn          # the same net without BN
    python examples/mnist_cnn.py --limit 2000     # a quick look on 2,000 images

Writes to --out: model.npz (checkpoint), metrics.json, curves.png and, when
Graphviz is installed, graph.svg (one training step's computation graph).
The last line printed is `test_accuracy=0.XXXX`.

The default recipe: SGD with Nesterov momentum 0.9 and a one-cycle learning
rate (a linear warm-up to the peak over the first 15% of steps, then a
linear decay to zero). BN is what lets the peak be this high; without BN the
same rate trains worse or diverges (README: "What BN changed").
"""
import argparse
import json
import os
import sys
import time

import numpy as np

import minigrad
import minigrad.random
from minigrad import nn, optim
from minigrad.data import DataLoader, FashionMNIST, MNIST, TensorDataset
from minigrad.models import mnist_cnn
from minigrad.nn import functional as F
from minigrad.nn.utils import fuse_sequential

DATASETS = {"mnist": MNIST, "fashion-mnist": FashionMNIST}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=None,
                   help="peak learning rate (default: 0.1 for sgd, 0.003 for adam)")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--schedule", choices=["onecycle", "cosine", "constant"], default="onecycle")
    p.add_argument("--no-bn", action="store_true", help="the same net without BatchNorm (convs get a bias)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="train on the first N training images only")
    p.add_argument("--dataset", choices=sorted(DATASETS), default="mnist")
    p.add_argument("--out", default="runs/mnist_cnn")
    p.add_argument("--no-graph", action="store_true", help="skip rendering the computation graph")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.lr is None:
        args.lr = 0.1 if args.optimizer == "sgd" else 0.003
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        p.error("--epochs, --batch-size and --lr must be positive")
    if args.limit is not None and args.limit < args.batch_size:
        p.error(f"--limit ({args.limit}) must be at least --batch-size ({args.batch_size})")
    return args


def learning_rate(step, total_steps, peak, schedule, warmup=0.15):
    """The learning rate for `step` of `total_steps`."""
    progress = step / total_steps
    if schedule == "onecycle":
        if progress < warmup:
            return peak * progress / warmup
        return peak * (1 - progress) / (1 - warmup)
    if schedule == "cosine":
        return peak * 0.5 * (1 + np.cos(np.pi * progress))
    return peak


def make_optimizer(name, params, lr):
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    return optim.Adam(params, lr=lr)


@minigrad.no_grad()
def evaluate(model, dataset, batch_size=500):
    """(mean loss, accuracy) of `model` in eval mode over `dataset`."""
    model.eval()
    total_loss, correct = 0.0, 0
    for images, labels in DataLoader(dataset, batch_size=batch_size):
        logits = model(images)
        total_loss += F.cross_entropy(logits, labels, reduction="sum").item()
        correct += int((logits.argmax(axis=1).data == labels.data).sum())
    return total_loss / len(dataset), correct / len(dataset)


def train_epoch(model, loader, optimizer, step_lr, losses, accuracies, progress=iter):
    """One pass over `loader`, appending each step's loss and accuracy to the lists."""
    model.train()
    for images, labels in progress(loader):
        for group in optimizer.param_groups:
            group["lr"] = step_lr()
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        accuracies.append(float((logits.argmax(axis=1).data == labels.data).mean()))


def kernel_cache_is_cold():
    """True when numba will compile minigrad's kernels: JIT on and no cache index yet."""
    import numba
    import minigrad.kernels.fast

    if numba.config.DISABLE_JIT:
        return False
    cache = os.path.join(os.path.dirname(minigrad.kernels.fast.__file__), "__pycache__")
    return not (os.path.isdir(cache) and any(n.endswith(".nbi") for n in os.listdir(cache)))


def warm_up_kernels(model, dataset, cold):
    """One forward and backward (train and eval) on 2 images, so that numba
    compiles (or loads from its cache) every kernel before the progress bar
    starts timing; the model, its buffers and the random stream are restored,
    so the run is the same with or without it. Returns the seconds it took."""
    if cold:
        # 8-14 s on the machine of README's figures; the line after says how long it took here.
        print("compiling minigrad's kernels (first run only, 8-14 s; later runs "
              "load them from numba's cache) ...", flush=True)
    state, rng = model.state_dict(), minigrad.random.generator().bit_generator.state
    start = time.perf_counter()
    images, labels = next(iter(DataLoader(dataset, batch_size=2)))
    F.cross_entropy(model(images), labels).backward()
    with minigrad.no_grad():
        model.eval()(images)
    model.train()
    seconds = time.perf_counter() - start
    model.load_state_dict(state)
    for p in model.parameters():
        p.grad = None
    minigrad.random.generator().bit_generator.state = rng
    if cold:
        print(f"kernels ready in {seconds:.1f} s")
    return seconds


def progress_bar(description, losses, accuracies, batch_size):
    """Wrap a loader in a tqdm bar showing running loss, accuracy and images/s."""
    from tqdm import tqdm

    def wrap(loader):
        bar = tqdm(loader, desc=description, unit="batch", file=sys.stderr)
        start = time.perf_counter()
        for i, batch in enumerate(bar, start=1):
            yield batch
            if i % 20 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", acc=f"{np.mean(accuracies[-20:]):.3f}",
                                img_s=f"{i * batch_size / (time.perf_counter() - start):.0f}")
    return wrap


def plot_curves(metrics, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    steps = np.arange(1, len(metrics["step_loss"]) + 1)
    window = max(1, len(steps) // 50)
    smooth = lambda v: np.convolve(v, np.ones(window) / window, mode="valid")
    ax_loss.plot(steps[window - 1:], smooth(metrics["step_loss"]))
    ax_loss.set(xlabel="step", ylabel="training loss (moving average)", yscale="log", title="loss")
    ax_acc.plot(steps[window - 1:], smooth(metrics["step_accuracy"]), label="training batches")
    epoch_ends = np.cumsum([e["steps"] for e in metrics["epochs"]])
    ax_acc.plot(epoch_ends, [e["val_accuracy"] for e in metrics["epochs"]], "o", label="validation")
    ax_acc.set(xlabel="step", ylabel="accuracy", ylim=(0.8, 1.0), title="accuracy")
    ax_acc.legend()
    fig.suptitle(f"MNIST CNN, {'with' if metrics['config']['batch_norm'] else 'without'} BatchNorm")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render_training_graph(model, images, labels, path):
    """Draw one training step's graph with every module collapsed to one box."""
    try:
        from minigrad.viz import draw_graph, render
    except ImportError:
        return None
    loss = F.cross_entropy(model(images), labels)
    graph = draw_graph(loss, model=model)
    try:
        return render(graph, path, format="svg")
    except RuntimeError as missing_dot:
        print(f"note: graph not rendered ({missing_dot})", file=sys.stderr)
        with open(path + ".dot", "w") as f:
            f.write(graph.source)
        return None


def main(argv=None):
    args = parse_args(argv)
    minigrad.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    dataset_class = DATASETS[args.dataset]
    train_set, val_set, test_set = (dataset_class(split) for split in ("train", "val", "test"))
    if args.limit is not None:
        train_set = TensorDataset(train_set.images[:args.limit], train_set.labels[:args.limit])

    model = mnist_cnn(batch_norm=not args.no_bn)
    optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, drop_last=True)
    total_steps = args.epochs * len(loader)
    step_counter = iter(range(total_steps))
    step_lr = lambda: learning_rate(next(step_counter), total_steps, args.lr, args.schedule)

    print(f"{args.dataset}: {len(train_set)} training images, {len(val_set)} validation, {len(test_set)} test")
    print(f"model ({'with' if not args.no_bn else 'without'} BatchNorm): "
          f"{sum(p.size for p in model.parameters())} parameters; {args.optimizer} peak lr {args.lr}, "
          f"{args.schedule} schedule, batch {args.batch_size}")
    warm_up_kernels(model, train_set, kernel_cache_is_cold())     # before any bar measures a rate
    metrics = {"config": {**vars(args), "batch_norm": not args.no_bn}, "epochs": [],
               "step_loss": [], "step_accuracy": []}
    for epoch in range(1, args.epochs + 1):
        losses, accuracies = metrics["step_loss"], metrics["step_accuracy"]
        first_step = len(losses)
        progress = iter if args.quiet else progress_bar(f"epoch {epoch}/{args.epochs}", losses, accuracies,
                                                          args.batch_size)
        start = time.perf_counter()
        train_epoch(model, loader, optimizer, step_lr, losses, accuracies, progress)
        seconds = time.perf_counter() - start
        losses, accuracies = losses[first_step:], accuracies[first_step:]
        val_loss, val_accuracy = evaluate(model, val_set)
        images_per_second = len(loader) * args.batch_size / seconds
        metrics["epochs"].append({"epoch": epoch, "steps": len(loader), "train_loss": float(np.mean(losses)),
                                  "train_accuracy": float(np.mean(accuracies)), "val_loss": val_loss,
                                  "val_accuracy": val_accuracy, "seconds": seconds,
                                  "images_per_second": images_per_second})
        print(f"epoch {epoch}: train loss {np.mean(losses):.4f}, val loss {val_loss:.4f}, "
              f"val accuracy {val_accuracy:.4f}, {seconds:.1f} s, {images_per_second:.0f} images/s")

    eval_model = fuse_sequential(model) if not args.no_bn else model   # BN folded into the convs
    start = time.perf_counter()
    test_loss, test_accuracy = evaluate(eval_model, test_set)
    metrics.update(test_loss=test_loss, test_accuracy=test_accuracy,
                   test_seconds=time.perf_counter() - start)

    minigrad.save(model.state_dict(), os.path.join(args.out, "model.npz"))
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    plot_curves(metrics, os.path.join(args.out, "curves.png"))
    if not args.no_graph:
        images, labels = next(iter(DataLoader(train_set, batch_size=8)))
        render_training_graph(model, images, labels, os.path.join(args.out, "graph"))
    print(f"wrote {args.out}/: model.npz, metrics.json, curves.png" + ("" if args.no_graph else ", graph.svg"))
    print(f"test_accuracy={test_accuracy:.4f}")
    return metrics


if __name__ == "__main__":
    main()
