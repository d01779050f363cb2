"""Ioffe & Szegedy (2015), section 4.1: the MNIST experiment of Figure 1.

    python examples/bn_paper_mnist.py                 # the default, short run
    python examples/bn_paper_mnist.py --steps 50000   # the paper's length

Two networks, trained one after the other from the same initial weights on
the same sequence of mini-batches; they differ only in BatchNorm:

    without BN: 784 -> [Linear(100) -> Sigmoid] x 3 -> Linear(10) -> softmax
    with BN:    784 -> [Linear(100, bias=False) -> BatchNorm1d -> Sigmoid] x 3 -> Linear(10)

Set-up (the paper gives the architecture, the batch of 60 and the 50,000
steps; the rest are our choices, stated here and in docs/results.md):
  * every weight drawn from N(0, 0.01^2) ("small random Gaussian values";
    --init-std changes it), biases zero;
  * plain SGD, no momentum, constant learning rate --lr, the same for both nets;
  * batches of 60 drawn by reshuffling the 50,000 training images each epoch;
  * test accuracy on the 10,000 test images every --eval-every steps, in
    eval() mode under no_grad (BN then uses its running averages);
  * the sigmoid we watch is unit --neuron of the LAST hidden layer. A forward
    hook on that Sigmoid module records its input for a FIXED evaluation
    batch (the first 1,000 validation images), at each evaluation, in eval()
    mode. The same inputs every time, so what moves is the network, not the
    batch. We plot its 15th, 50th and 85th percentiles over the 1,000 images,
    from the first evaluation after step 0 (at step 0 BN's running averages
    still hold their initial values, so its output is not normalized yet).

The last lines printed say whether (a) the BN net ends with the higher test
accuracy and (b, c) every percentile moves less (max - min over the
evaluations after step 0) with BN than without. They report what happened.

Writes to --out: figure.png (the paper's layout: (a) test accuracy, (b) and
(c) the percentiles without and with BN), metrics.json, and prints a table.
"""
import argparse
import json
import os
import time

import numpy as np

import minigrad
from minigrad import nn, optim
from minigrad.data import MNIST, DataLoader, TensorDataset
from minigrad.nn import functional as F

PERCENTILES = (15, 50, 85)
PROBE_IMAGES = 1000          # the fixed evaluation batch for the percentiles


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--steps", type=int, default=20000, help="training steps per network (paper: 50000)")
    p.add_argument("--lr", type=float, default=0.5, help="SGD learning rate, constant, both networks")
    p.add_argument("--batch-size", type=int, default=60)
    p.add_argument("--init-std", type=float, default=0.01, help="std of the Gaussian initial weights")
    p.add_argument("--eval-every", type=int, default=500, help="evaluate every this many steps")
    p.add_argument("--neuron", type=int, default=0, help="which unit of the last hidden layer to watch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/bn_paper_mnist")
    args = p.parse_args(argv)
    if min(args.steps, args.eval_every, args.batch_size) < 1 or args.lr <= 0 or args.init_std <= 0:
        p.error("--steps, --eval-every, --batch-size, --lr and --init-std must be positive")
    if not 0 <= args.neuron < 100:
        p.error("--neuron must be in [0, 100)")
    return args


def paper_mlp(batch_norm, hidden=100, depth=3):
    """(N, 784) -> (N, 10) logits; returns (model, the last hidden layer's Sigmoid).

    The layers keep their default init here: initial_model() replaces it.
    """
    layers, width = [], 28 * 28
    for _ in range(depth):
        layers.append(nn.Linear(width, hidden, bias=not batch_norm))   # BN's beta replaces the bias
        if batch_norm:
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(nn.Sigmoid())
        width = hidden
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers), layers[-2]


def initial_model(batch_norm, init_std, seed):
    """paper_mlp with every weight drawn from N(0, init_std^2) and biases zero.

    The generator is seeded AFTER the layers are built (building draws a
    different number of values with and without biases), so both networks get
    the same weights, and then draw the same batch order from the generator.
    """
    model, watched = paper_mlp(batch_norm)
    minigrad.manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, init_std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model, watched


def flat(dataset):
    """MNIST images (N, 1, 28, 28) -> (N, 784) float32, labels unchanged."""
    return dataset.images.reshape(len(dataset.images), -1), dataset.labels


@minigrad.no_grad()
def evaluate(model, watched, test_x, test_y, probe_x, neuron):
    """Test accuracy, and the percentiles of the watched sigmoid's input on the probe batch."""
    model.eval()
    correct = 0
    for start in range(0, len(test_x), 2000):
        logits = model(minigrad.Tensor(test_x[start:start + 2000]))
        correct += int((logits.data.argmax(axis=1) == test_y[start:start + 2000]).sum())
    seen = []
    handle = watched.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].data[:, neuron]))
    model(minigrad.Tensor(probe_x))
    handle.remove()
    model.train()
    return correct / len(test_x), [float(v) for v in np.percentile(seen[0], PERCENTILES)]


def train(batch_norm, args, train_set, test_x, test_y, probe_x):
    """Train one network; returns its curves (step, accuracy, percentiles) as a dict."""
    model, watched = initial_model(batch_norm, args.init_std, args.seed)   # same weights for both nets
    optimizer = optim.SGD(model.parameters(), lr=args.lr)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, drop_last=True)
    curve = {"step": [], "test_accuracy": [], "percentiles": [], "train_loss": [], "diverged_at": None}

    def record(step, losses):
        accuracy, percentiles = evaluate(model, watched, test_x, test_y, probe_x, args.neuron)
        curve["step"].append(step)
        curve["test_accuracy"].append(accuracy)
        curve["percentiles"].append(percentiles)
        curve["train_loss"].append(float(np.mean(losses)) if losses else None)

    start, step, losses = time.perf_counter(), 0, []
    record(0, losses)
    model.train()
    while step < args.steps and curve["diverged_at"] is None:
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            if not np.isfinite(loss.item()):
                curve["diverged_at"] = step + 1
                break
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            losses.append(loss.item())
            if step % args.eval_every == 0 or step == args.steps:
                record(step, losses)
                losses = []
            if step == args.steps:
                break
    curve["seconds"] = time.perf_counter() - start
    return curve


def drift(curve):
    """How far each percentile moved over training: max - min over the evaluations
    after step 0. Step 0 is left out: BN's running averages are still at their
    initial values (mean 0, variance 1) then, so its eval-mode output is not yet normalized."""
    values = np.array(curve["percentiles"][1:] or curve["percentiles"])
    return {f"p{q}": float(values[:, i].max() - values[:, i].min()) for i, q in enumerate(PERCENTILES)}


def plot(runs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for name, style in (("without_bn", "--"), ("with_bn", "-")):
        label = "Without BN" if name == "without_bn" else "With BN"
        axes[0].plot(runs[name]["step"], runs[name]["test_accuracy"], style, color="k", label=label)
    axes[0].set(xlabel="training steps", ylabel="test accuracy", title="(a) test accuracy")
    axes[0].legend(loc="lower right")
    first = 1 if len(runs["without_bn"]["step"]) > 1 else 0   # from the first evaluation after step 0
    low = min(min(min(p) for p in run["percentiles"][first:]) for run in runs.values())
    high = max(max(max(p) for p in run["percentiles"][first:]) for run in runs.values())
    for ax, name, title in ((axes[1], "without_bn", "(b) without BN"), (axes[2], "with_bn", "(c) with BN")):
        values = np.array(runs[name]["percentiles"][first:])
        for i, q in enumerate(PERCENTILES):
            ax.plot(runs[name]["step"][first:], values[:, i], color="k", lw=2 if q == 50 else 1, label=f"{q}th pct")
        ax.set(xlabel="training steps", ylabel="input to the sigmoid", title=title,
               ylim=(low - 0.05 * (high - low), high + 0.05 * (high - low)))
        ax.legend(loc="best", fontsize=8)
    fig.suptitle("3 x 100 sigmoid MLP on MNIST, batch 60 (Ioffe & Szegedy 2015, Fig. 1)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_table(runs):
    plain, bn = runs["without_bn"], runs["with_bn"]
    fmt = lambda p: "/".join(f"{v:+.2f}" for v in p)
    print(f"{'step':>7}  {'acc no BN':>9}  {'acc BN':>7}  {'sigmoid input p15/p50/p85, no BN':>34}  "
          f"{'with BN':>20}")
    every = max(1, -(-(len(plain["step"]) - 1) // 10))       # about ten rows
    for i, step in enumerate(plain["step"]):
        if i % every and i != len(plain["step"]) - 1:
            continue
        bn_acc = f"{bn['test_accuracy'][i]:.4f}" if i < len(bn["step"]) else "-"
        bn_pct = fmt(bn["percentiles"][i]) if i < len(bn["step"]) else "-"
        print(f"{step:>7}  {plain['test_accuracy'][i]:>9.4f}  {bn_acc:>7}  {fmt(plain['percentiles'][i]):>34}  "
              f"{bn_pct:>20}")


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    train_x, train_y = flat(MNIST("train"))
    test_x, test_y = flat(MNIST("test"))
    probe_x = flat(MNIST("val"))[0][:PROBE_IMAGES]
    train_set = TensorDataset(train_x, train_y)
    print(f"{args.steps} steps of batch {args.batch_size}, SGD lr {args.lr}, weights N(0, {args.init_std}^2), "
          f"seed {args.seed}; watching unit {args.neuron} of the last hidden layer")

    runs = {}
    for name, batch_norm in (("without_bn", False), ("with_bn", True)):
        runs[name] = train(batch_norm, args, train_set, test_x, test_y, probe_x)
        run = runs[name]
        status = f", DIVERGED at step {run['diverged_at']}" if run["diverged_at"] else ""
        print(f"{name}: test accuracy {run['test_accuracy'][-1]:.4f} after {run['step'][-1]} steps, "
              f"{run['seconds']:.0f} s{status}")
        run["percentile_range"] = drift(run)
        run["steps_to_95"] = next((s for s, a in zip(run["step"], run["test_accuracy"]) if a >= 0.95), None)

    print_table(runs)
    plain, bn = runs["without_bn"], runs["with_bn"]
    higher = bn["test_accuracy"][-1] > plain["test_accuracy"][-1]
    steadier = all(bn["percentile_range"][k] < plain["percentile_range"][k] for k in plain["percentile_range"])
    summary = {
        "final_step": plain["step"][-1],
        "final_test_accuracy": {"without_bn": plain["test_accuracy"][-1], "with_bn": bn["test_accuracy"][-1]},
        "percentile_range": {"without_bn": plain["percentile_range"], "with_bn": bn["percentile_range"]},
        "steps_to_95": {"without_bn": plain["steps_to_95"], "with_bn": bn["steps_to_95"]},
        "bn_higher_accuracy": higher,
        "bn_percentiles_move_less": steadier,
    }
    print("percentile range over training (max - min), p15/p50/p85: without BN "
          + "/".join(f"{v:.2f}" for v in plain["percentile_range"].values()) + ", with BN "
          + "/".join(f"{v:.2f}" for v in bn["percentile_range"].values()))
    reached = lambda run: "never" if run["steps_to_95"] is None else f"step {run['steps_to_95']}"
    print(f"first evaluation at >= 95% test accuracy: without BN {reached(plain)}, with BN {reached(bn)}")
    print(f"claim (a) BN reaches a higher test accuracy at step {plain['step'][-1]}: "
          f"{'YES' if higher else 'NO'} ({bn['test_accuracy'][-1]:.4f} vs {plain['test_accuracy'][-1]:.4f})")
    print(f"claim (b, c) the sigmoid's input distribution moves less with BN: {'YES' if steadier else 'NO'}")

    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"config": vars(args), "percentiles": PERCENTILES, "probe_images": PROBE_IMAGES,
                   "summary": summary, "runs": runs}, f, indent=1)
    plot(runs, os.path.join(args.out, "figure.png"))
    print(f"wrote {args.out}/figure.png and {args.out}/metrics.json")
    return summary


if __name__ == "__main__":
    main()
