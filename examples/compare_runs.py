"""Overlay the training-loss curves of several mnist_cnn.py runs.

    python examples/compare_runs.py runs/mnist_cnn runs/mnist_cnn_nobn --out docs/img/mnist_cnn_bn_vs_nobn.png

Each argument is a run's --out folder (or its metrics.json); the legend
shows each run's configuration and test accuracy.
"""
import argparse
import json
import os

import numpy as np


def load_metrics(path):
    if os.path.isdir(path):
        path = os.path.join(path, "metrics.json")
    with open(path) as f:
        return json.load(f)


def describe(metrics):
    c = metrics["config"]
    return (f"{'BN' if c['batch_norm'] else 'no BN'}, {c['optimizer']} {c['schedule']} lr {c['lr']:g}: "
            f"test {metrics['test_accuracy']:.2%}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="run folders or metrics.json files")
    p.add_argument("--out", default="runs/compare.png")
    p.add_argument("--window", type=int, default=25, help="moving-average window, in steps")
    args = p.parse_args(argv)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4))
    for path in args.runs:
        metrics = load_metrics(path)
        loss = np.asarray(metrics["step_loss"])
        window = min(args.window, len(loss))
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(window, len(loss) + 1), smooth, label=describe(metrics))
    ax.set(xlabel="training step (batch 64)", ylabel=f"training loss ({args.window}-step average)",
           yscale="log", title="MNIST CNN, one epoch")
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
