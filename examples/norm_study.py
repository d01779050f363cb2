"""BatchNorm vs GroupNorm vs LayerNorm vs no normalization, as the batch shrinks.

    python examples/norm_study.py                       # the committed study (docs/results.md)
    python examples/norm_study.py --quick --out /tmp/q  # seconds: a smoke test

Wu & He (2018, "Group Normalization") claim that BN's error rises as the
batch shrinks, because its statistics come from fewer samples, while GN's
stays flat, because GN's statistics come from one sample. This measures that
claim on the main example's network, minigrad.models.mnist_cnn, with the
normalization layer of each block swapped (norm="batch" / "group" / "layer"
/ "none"; the convolutions before a normalization have no bias).

Protocol (the same for every arm; docs/results.md, "4. Normalization and the
batch size", states it and the reasons):
  * every (dataset, arm, batch size, seed) trains on the SAME number of
    images, --images, in --images / B steps of batches of B drawn without
    replacement from the first --subset training images (reshuffled per pass);
  * SGD with momentum 0.9 at a constant rate scaled linearly with the batch,
    lr = --base-lr * B / 64 (Goyal et al. 2017's rule, which Wu & He used);
  * then the error (1 - accuracy) on the first --val-size images of the
    "val" split, in eval() mode; for BN also in train() mode with batches of
    B, the statistics of that test batch itself (the train/eval gap);
  * a run whose loss becomes non-finite is "diverged" and counts as chance
    error (0.9).

Writes --out/norm_study.json and --out/norm_study.png.
"""
import argparse
import json
import os
import time

import numpy as np

import minigrad
from minigrad import optim
from minigrad.data import MNIST, DataLoader, FashionMNIST, TensorDataset
from minigrad.models import mnist_cnn
from minigrad.nn import functional as F

DATASETS = {"mnist": MNIST, "fashion": FashionMNIST}
# name -> mnist_cnn options. LayerNorm normalizes over (C, H, W) of each sample.
ARMS = {"BN": dict(norm="batch"), "GN2": dict(norm="group", groups=2),
        "GN4": dict(norm="group", groups=4), "GN8": dict(norm="group", groups=8),
        "LN": dict(norm="layer"), "none": dict(norm="none")}
CHANCE_ERROR = 0.9


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--datasets", default="mnist,fashion")
    p.add_argument("--arms", default=",".join(ARMS))
    p.add_argument("--batch-sizes", default="2,4,8,16,32,64")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--images", type=int, default=10000, help="training images seen by every run")
    p.add_argument("--subset", type=int, default=10000,
                   help="draw batches from the first N images")
    p.add_argument("--val-size", type=int, default=2000, help="validation images for the error")
    p.add_argument("--base-lr", type=float, default=0.05,
                   help="SGD rate at batch 64 (momentum 0.9)")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="error differences up to this count as no difference")
    p.add_argument("--quick", action="store_true", help="tiny settings for a smoke test")
    p.add_argument("--out", default="runs/norm_study")
    args = p.parse_args(argv)
    if args.quick:
        args.arms, args.batch_sizes, args.seeds = "BN,GN4,LN,none", "2,8", "0"
        args.images, args.subset, args.val_size = 32, 64, 32
    try:
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
        args.seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        p.error("--batch-sizes and --seeds must be comma-separated integers")
    args.datasets, args.arms = args.datasets.split(","), args.arms.split(",")
    if set(args.datasets) - set(DATASETS) or set(args.arms) - set(ARMS):
        p.error(f"--datasets from {sorted(DATASETS)}, --arms from {list(ARMS)}")
    smallest_set = min(args.images, args.subset, args.val_size)
    if min(args.batch_sizes) < 2 or smallest_set < max(args.batch_sizes):
        p.error("batch sizes must be >= 2 (BN needs two values), and --images, --subset and "
                "--val-size at least the largest batch size")
    return args


@minigrad.no_grad()
def error(model, images, labels, batch_size, train_mode=False):
    """1 - accuracy. train_mode: BN normalizes each test batch of `batch_size` by its
    own statistics (this also moves BN's running averages: call it last)."""
    model.train(train_mode)
    step = batch_size if train_mode else 500
    stop = len(images) - len(images) % step if train_mode else len(images)
    correct = sum(int((model(minigrad.Tensor(images[i:i + step])).data.argmax(1)
                       == labels[i:i + step]).sum()) for i in range(0, stop, step))
    model.train()
    return 1 - correct / stop


def run(arm, batch_size, seed, args, data):
    """Train one network on args.images images -> its errors and time."""
    minigrad.manual_seed(seed)
    model = mnist_cnn(**ARMS[arm])
    optimizer = optim.SGD(model.parameters(), lr=args.base_lr * batch_size / 64, momentum=0.9)
    loader = DataLoader(data["train"], batch_size=batch_size, shuffle=True, drop_last=True)
    steps, step, start, diverged = args.images // batch_size, 0, time.perf_counter(), False
    with np.errstate(all="ignore"):
        while step < steps and not diverged:
            for x, y in loader:
                loss = F.cross_entropy(model(x), y)
                if not np.isfinite(loss.item()):
                    diverged = True
                    break
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                if step == steps:
                    break
    result = {"seed": seed, "steps": steps, "diverged": diverged}
    result["error"] = CHANCE_ERROR if diverged else error(model, data["val_x"], data["val_y"], 0)
    if arm == "BN":
        result["train_mode_error"] = CHANCE_ERROR if diverged else error(
            model, data["val_x"], data["val_y"], batch_size, train_mode=True)
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result


def summarize(runs):
    cell = {"runs": runs}
    for key in ("error", "train_mode_error"):
        if key in runs[0]:
            values = [r[key] for r in runs]
            cell[key] = float(np.mean(values))
            cell[key + "_std"] = float(np.std(values))
    return cell


def verdict(cells, batch_sizes, tol):
    """Wu & He's claim on one dataset, from the mean errors: -> (word, reason)."""
    small, large = min(batch_sizes), max(batch_sizes)
    err = lambda arm, b: cells[arm][str(b)]["error"]
    rise = {arm: err(arm, small) - err(arm, large) for arm in cells}
    gns = [a for a in cells if a.startswith("GN")]
    numbers = ", ".join(f"{a} {100 * err(a, large):.1f}% -> {100 * err(a, small):.1f}%"
                        for a in cells)
    numbers = f"error at batch {large} -> batch {small}: {numbers}"
    if "BN" not in cells or not gns:
        return "n/a", numbers
    bn_rises = rise["BN"] > tol
    gn_flat = [a for a in gns if abs(rise[a]) <= tol]
    gn_beats_bn = [a for a in gns if err(a, small) < err("BN", small) - tol]
    if bn_rises and len(gn_flat) == len(gns):
        return "agrees", f"BN's error rises as the batch shrinks, every GN stays flat ({numbers})"
    if bn_rises and (gn_flat or gn_beats_bn):
        return "partly", (f"BN's error rises; flat GN: {gn_flat or 'none'}, GN better than BN at "
                          f"batch {small}: {gn_beats_bn or 'none'} ({numbers})")
    if bn_rises:
        return "partly", f"BN's error rises, but so does GN's ({numbers})"
    return "disagrees", f"BN's error does not rise by more than {tol:g} ({numbers})"


def plot(results, args, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4), squeeze=False)
    for ax, (dataset, entry) in zip(axes[0], results.items()):
        for arm, cells in entry["cells"].items():
            mean = [100 * cells[str(b)]["error"] for b in args.batch_sizes]
            std = [100 * cells[str(b)]["error_std"] for b in args.batch_sizes]
            ax.errorbar(args.batch_sizes, mean, yerr=std, marker="o", ms=3, capsize=2, label=arm)
            if arm == "BN":
                train = [100 * cells[str(b)]["train_mode_error"] for b in args.batch_sizes]
                ax.plot(args.batch_sizes, train, "k:", marker="x", label="BN, train-mode test")
        ax.set_xscale("log", base=2)
        ax.set_xticks(args.batch_sizes, [str(b) for b in args.batch_sizes])
        ax.invert_xaxis()                                   # the batch shrinks to the right
        ax.set(xlabel="batch size (same images seen)",
               ylabel=f"val. error, % ({args.val_size} images)",
               title=f"{dataset}: {entry['verdict']}")
        ax.legend(fontsize=7)
    fig.suptitle(f"{args.images} images, lr = {args.base_lr} x B/64, SGD momentum 0.9; "
                 f"mean and std of {len(args.seeds)} seeds", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save(out, args, started):
    out["seconds"] = round(time.perf_counter() - started, 1)
    with open(os.path.join(args.out, "norm_study.json"), "w") as f:
        json.dump(out, f, indent=1)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    started, results = time.perf_counter(), {}
    print(f"{args.images} images per run, batches {args.batch_sizes}, arms {args.arms}, seeds "
          f"{args.seeds}, lr {args.base_lr} x B/64, {args.val_size} val images", flush=True)
    out = {"config": vars(args), "results": results, "complete": False,
           "threads": {k: os.environ.get(k) for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS")}}
    for dataset in args.datasets:
        train, val = DATASETS[dataset]("train"), DATASETS[dataset]("val")
        data = {"train": TensorDataset(train.images[:args.subset], train.labels[:args.subset]),
                "val_x": val.images[:args.val_size], "val_y": val.labels[:args.val_size]}
        cells = {}
        for arm in args.arms:
            cells[arm] = {}
            for b in args.batch_sizes:
                runs = [run(arm, b, seed, args, data) for seed in args.seeds]
                cells[arm][str(b)] = cell = summarize(runs)
                extra = f", train mode {cell['train_mode_error']:.3f}" if arm == "BN" else ""
                print(f"  [{time.perf_counter() - started:6.0f} s] {dataset} {arm} batch {b}: "
                      f"error {cell['error']:.3f} +- {cell['error_std']:.3f}{extra}", flush=True)
                results[dataset] = {"cells": cells}
                save(out, args, started)             # partial results survive an interrupted run
        word, reason = verdict(cells, args.batch_sizes, args.tolerance)
        print(f"verdict ({dataset}): {word.upper()}: {reason}", flush=True)
        results[dataset] = {"verdict": word, "reason": reason, "cells": cells}
    out["complete"] = True
    save(out, args, started)
    plot(results, args, os.path.join(args.out, "norm_study.png"))
    print(f"wrote {args.out}/norm_study.json and norm_study.png ({out['seconds']:.0f} s)")
    return out


if __name__ == "__main__":
    main()
