"""Measure the claims made for BatchNorm on the MNIST CNN, one small sweep each.

    python examples/bn_study.py                              # all five studies, ~5 minutes
    python examples/bn_study.py --studies lr,init --seeds 0,1,2

The network is minigrad.models.mnist_cnn (two Conv-[BN]-activation-Pool
blocks and a linear classifier). Every arm trains for --steps steps with
batches of 64 from the first --subset training images, SGD with momentum 0.9
at a CONSTANT learning rate (no schedule: a schedule would hide what the rate
itself does). Every --eval-every steps it is evaluated (eval() mode, no_grad)
on a fixed validation subset, the first --val-size images of MNIST "val".

Studies and the claim each one tests (Ioffe & Szegedy 2015 and the lectures):
  lr         lr x1, x5, x30 of --base-lr, with and without BN.
             Claim: BN makes much higher learning rates usable.
  activation ReLU vs sigmoid, with and without BN.
             Claim: BN makes saturating activations (sigmoid) trainable.
  init       every conv/linear weight multiplied by 0.1, 1 or 10 after the
             default init, with and without BN.
             Claim: BN makes training less sensitive to the initial scale.
  dropout    dropout --dropout after each block or none, with and without BN.
             Claim: BN regularizes, so it needs dropout less.
  placement  BN before the activation (Conv-BN-ReLU) vs after it (Conv-ReLU-BN).
             Claim: before is the place (the paper's choice).

For each arm: validation accuracy after --steps steps, and the first
evaluated step at which it reached --target ("never" if it did not). A
diverged run (non-finite loss) is recorded as diverged, with its step. Each
study ends with a verdict line computed from the numbers: "agrees",
"disagrees" or "partly". Differences under --tolerance (default one point of
accuracy) count as no difference: with 1,000 validation images one
accuracy has a sampling error of about 0.7 points, before seed-to-seed noise.

Writes to --out: bn_study_<study>.png per study and metrics.json.
"""
import argparse
import json
import os
import time

import numpy as np

import minigrad
from minigrad import nn, optim
from minigrad.data import MNIST, DataLoader, TensorDataset
from minigrad.models import mnist_cnn
from minigrad.nn import functional as F

STUDIES = ("lr", "activation", "init", "dropout", "placement")
BASELINE = dict(batch_norm=True, lr_factor=1, activation="relu", init_scale=1.0, dropout=0.0,
                bn_position="before")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--studies", default=",".join(STUDIES), help="comma-separated subset of " + ",".join(STUDIES))
    p.add_argument("--steps", type=int, default=300, help="training steps per arm")
    p.add_argument("--subset", type=int, default=10000, help="train on the first N training images")
    p.add_argument("--val-size", type=int, default=1000, help="validation images used for accuracy")
    p.add_argument("--eval-every", type=int, default=25)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--base-lr", type=float, default=0.01, help="SGD (momentum 0.9) rate of the x1 arms")
    p.add_argument("--dropout", type=float, default=0.25, help="dropout rate of the dropout arms")
    p.add_argument("--target", type=float, default=0.9, help="accuracy for the steps-to-target column")
    p.add_argument("--tolerance", type=float, default=0.01, help="accuracy differences below this count as equal")
    p.add_argument("--seeds", default="0", help="comma-separated seeds; accuracies are averaged over them")
    p.add_argument("--out", default="runs/bn_study")
    args = p.parse_args(argv)
    args.studies = [s.strip() for s in args.studies.split(",") if s.strip()]
    unknown = sorted(set(args.studies) - set(STUDIES))
    if unknown or not args.studies:
        p.error(f"--studies: unknown {unknown}; choose from {','.join(STUDIES)}")
    try:
        args.seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        p.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    if min(args.steps, args.subset, args.val_size, args.eval_every, args.batch_size) < 1 or args.base_lr <= 0:
        p.error("--steps, --subset, --val-size, --eval-every, --batch-size and --base-lr must be positive")
    if args.subset < args.batch_size:
        p.error(f"--subset ({args.subset}) must be at least --batch-size ({args.batch_size})")
    return args


# ------------------------------------------------------------------ the arms

def arm(**changes):
    """One configuration: the baseline (BN before ReLU, lr x1, default init) with `changes`."""
    config = dict(BASELINE, **changes)
    return tuple(sorted(config.items()))


def arm_name(key):
    c = dict(key)
    parts = ["BN" if c["batch_norm"] else "no BN", f"lr x{c['lr_factor']:g}", c["activation"]]
    if c["init_scale"] != 1:
        parts.append(f"init x{c['init_scale']:g}")
    if c["dropout"]:
        parts.append(f"dropout {c['dropout']:g}")
    if c["batch_norm"] and c["bn_position"] != "before":
        parts.append(f"BN {c['bn_position']} act.")
    return ", ".join(parts)


def study_arms(study, args):
    """The arms of one study, as (label, key) pairs."""
    both = (True, False)
    if study == "lr":
        return [(f"x{f}", arm(batch_norm=bn, lr_factor=f)) for f in (1, 5, 30) for bn in both]
    if study == "activation":
        return [(a, arm(batch_norm=bn, activation=a)) for a in ("relu", "sigmoid") for bn in both]
    if study == "init":
        return [(f"x{s:g}", arm(batch_norm=bn, init_scale=s)) for s in (0.1, 1.0, 10.0) for bn in both]
    if study == "dropout":
        return [(f"dropout {d:g}", arm(batch_norm=bn, dropout=d)) for d in (0.0, args.dropout) for bn in both]
    if study == "placement":
        return [(f"BN {pos}", arm(bn_position=pos)) for pos in ("before", "after")] + [
            ("no BN", arm(batch_norm=False))]
    raise ValueError(study)


def build(config, seed):
    minigrad.manual_seed(seed)
    model = mnist_cnn(batch_norm=config["batch_norm"], activation=config["activation"],
                      bn_position=config["bn_position"], dropout=config["dropout"])
    if config["init_scale"] != 1:
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.data *= np.float32(config["init_scale"])
    return model


@minigrad.no_grad()
def accuracy(model, images, labels):
    model.eval()
    correct = 0
    for start in range(0, len(images), 500):
        logits = model(minigrad.Tensor(images[start:start + 500])).data
        correct += int((logits.argmax(axis=1) == labels[start:start + 500]).sum())
    model.train()
    return correct / len(images)


def run_arm(config, seed, args, data):
    """Train one arm with one seed -> its validation curve and summary."""
    model = build(config, seed)
    optimizer = optim.SGD(model.parameters(), lr=args.base_lr * config["lr_factor"], momentum=0.9)
    loader = DataLoader(data["train"], batch_size=args.batch_size, shuffle=True, drop_last=True)
    curve, step, diverged_at, start = [], 0, None, time.perf_counter()
    model.train()
    with np.errstate(all="ignore"):                 # overflow in a diverging run is recorded, not printed
        while step < args.steps and diverged_at is None:
            for x, y in loader:
                loss = F.cross_entropy(model(x), y)
                if not np.isfinite(loss.item()):
                    diverged_at = step + 1
                    break
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                if step % args.eval_every == 0 or step == args.steps:
                    curve.append((step, accuracy(model, data["val_x"], data["val_y"])))
                if step == args.steps:
                    break
    reached = next((s for s, a in curve if a >= args.target), None)
    return {"seed": seed, "curve": curve, "diverged_at": diverged_at,
            "val_accuracy": None if diverged_at else curve[-1][1],
            "train_accuracy": None if diverged_at else accuracy(model, data["probe_x"], data["probe_y"]),
            "steps_to_target": reached, "seconds": time.perf_counter() - start}


def summarize(runs):
    """Combine the seeds of one arm: mean accuracy (a diverged seed counts as chance, 0.1)."""
    accs = [0.1 if r["diverged_at"] else r["val_accuracy"] for r in runs]
    diverged = [r["diverged_at"] for r in runs if r["diverged_at"]]
    reached = [r["steps_to_target"] for r in runs]
    train = [r["train_accuracy"] for r in runs if r["train_accuracy"] is not None]
    return {"val_accuracy": float(np.mean(accs)), "diverged": len(diverged), "diverged_at": diverged,
            "steps_to_target": None if None in reached else float(np.mean(reached)),
            "reached_target": sum(s is not None for s in reached),
            "train_accuracy": float(np.mean(train)) if train else None, "runs": runs}


# ------------------------------------------------------------------ verdicts

def verdict(study, acc, args):
    """One line saying whether the measurements agree with the claim. acc(label, bn) -> mean accuracy."""
    tol = args.tolerance
    if study == "lr":
        bn_keeps_up = all(acc(f, True) >= acc("x1", True) - tol for f in ("x5", "x30"))
        bn_beats_plain = acc("x30", True) > acc("x30", False) + tol
        numbers = (f"BN x1/x5/x30: {acc('x1', True):.3f}/{acc('x5', True):.3f}/{acc('x30', True):.3f}; "
                   f"no BN: {acc('x1', False):.3f}/{acc('x5', False):.3f}/{acc('x30', False):.3f}")
        if bn_keeps_up and bn_beats_plain:
            return "agrees", f"BN trains as well at 5x and 30x, the net without BN does not at 30x ({numbers})"
        if bn_beats_plain:
            return "partly", (f"at 30x BN trains better than the net without BN, but BN's own accuracy "
                              f"falls as the rate grows ({numbers})")
        return "disagrees", f"BN does not make the 30x rate usable ({numbers})"
    if study == "activation":
        gain_sigmoid = acc("sigmoid", True) - acc("sigmoid", False)
        gain_relu = acc("relu", True) - acc("relu", False)
        numbers = f"BN's gain: sigmoid {gain_sigmoid:+.3f}, ReLU {gain_relu:+.3f}"
        if gain_sigmoid > tol and gain_sigmoid > gain_relu + tol:
            return "agrees", f"BN helps the sigmoid net, and more than the ReLU net ({numbers})"
        if gain_sigmoid > tol:
            return "partly", f"BN helps the sigmoid net, but no more than the ReLU net ({numbers})"
        return "disagrees", f"BN does not help the sigmoid net here ({numbers})"
    if study == "init":
        spread = {bn: max(acc(s, bn) for s in ("x0.1", "x1", "x10")) - min(acc(s, bn) for s in ("x0.1", "x1", "x10"))
                  for bn in (True, False)}
        numbers = f"accuracy spread over the 3 scales: BN {spread[True]:.3f}, no BN {spread[False]:.3f}"
        if spread[True] < spread[False] - tol:
            return "agrees", f"BN is less sensitive to the initial scale ({numbers})"
        if spread[True] <= spread[False] + tol:
            return "partly", f"no clear difference in sensitivity ({numbers})"
        return "disagrees", f"BN is MORE sensitive to the initial scale here ({numbers})"
    if study == "dropout":
        label = f"dropout {args.dropout:g}"
        effect_bn = acc(label, True) - acc("dropout 0", True)
        effect_plain = acc(label, False) - acc("dropout 0", False)
        numbers = f"dropout's effect on accuracy: with BN {effect_bn:+.3f}, without BN {effect_plain:+.3f}"
        if effect_bn <= tol and effect_plain > tol:
            return "agrees", f"dropout helps only the net without BN ({numbers})"
        if effect_bn <= tol:
            return "partly", (f"dropout helped neither net by more than {tol:g}: {args.steps} steps are too few "
                              f"to overfit, so this cannot show a regularizer's benefit either way ({numbers})")
        return "disagrees", f"dropout still helps the BN net ({numbers})"
    if study == "placement":
        diff = acc("BN before", True) - acc("BN after", True)
        numbers = f"before {acc('BN before', True):.3f}, after {acc('BN after', True):.3f}"
        if diff > tol:
            return "agrees", f"BN before the activation trains better ({numbers})"
        if diff >= -tol:
            return "partly", f"no difference beyond {tol:g} between before and after ({numbers})"
        return "disagrees", f"BN after the activation trains better ({numbers})"
    raise ValueError(study)


# ------------------------------------------------------------------ output

def show_steps(summary, seeds):
    if summary["steps_to_target"] is not None:
        return f"{summary['steps_to_target']:.0f}"
    return "never" if summary["reached_target"] == 0 else f"never ({summary['reached_target']}/{seeds} seeds)"


def print_table(study, rows, args):
    print(f"\n== {study} ==")
    print(f"{'arm':<14} {'BN':<4} {'val acc @' + str(args.steps):>13} {'steps to ' + format(args.target, 'g'):>14} "
          f"{'train acc':>9}  notes")
    for row in rows:
        s = row["summary"]
        notes = f"diverged at step {', '.join(map(str, s['diverged_at']))}" if s["diverged"] else ""
        train = "-" if s["train_accuracy"] is None else f"{s['train_accuracy']:.3f}"
        print(f"{row['label']:<14} {'yes' if row['batch_norm'] else 'no':<4} {s['val_accuracy']:>13.3f} "
              f"{show_steps(s, len(args.seeds)):>14} {train:>9}  {notes}")


def plot_study(study, rows, args, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    labels = list(dict.fromkeys(row["label"] for row in rows))
    colors = dict(zip(labels, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for row in rows:
        run = row["summary"]["runs"][0]               # the first seed's curve
        steps = [s for s, _ in run["curve"]]
        accs = [a for _, a in run["curve"]]
        name = f"{row['label']}, {'BN' if row['batch_norm'] else 'no BN'}"
        if run["diverged_at"]:
            name += f" (diverged at {run['diverged_at']})"
        ax.plot(steps, accs, "-" if row["batch_norm"] else "--", color=colors[row["label"]], label=name)
    ax.axhline(args.target, color="grey", lw=0.5)
    ax.set(xlabel="training steps", ylabel=f"validation accuracy ({args.val_size} images)", ylim=(0, 1),
           title=f"{study}: {rows[0]['verdict']}")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    train, val = MNIST("train"), MNIST("val")
    data = {"train": TensorDataset(train.images[:args.subset], train.labels[:args.subset]),
            "val_x": val.images[:args.val_size], "val_y": val.labels[:args.val_size],
            "probe_x": train.images[:1000], "probe_y": train.labels[:1000]}  # training accuracy, for the gap
    print(f"{args.steps} steps per arm, batch {args.batch_size}, first {args.subset} training images, "
          f"{args.val_size} validation images, SGD momentum 0.9 constant lr, base lr {args.base_lr}, "
          f"seeds {args.seeds}")

    arms, studies, started = {}, {}, time.perf_counter()
    for study in args.studies:
        rows = []
        for label, key in study_arms(study, args):
            if key not in arms:
                config = dict(key)
                arms[key] = summarize([run_arm(config, seed, args, data) for seed in args.seeds])
                s = arms[key]
                state = "diverged" if s["diverged"] else f"val acc {s['val_accuracy']:.3f}"
                print(f"  [{time.perf_counter() - started:5.0f} s] {arm_name(key)}: {state}", flush=True)
            rows.append({"label": label, "batch_norm": dict(key)["batch_norm"], "config": dict(key),
                         "summary": arms[key]})
        acc = lambda label, bn: next(r["summary"]["val_accuracy"] for r in rows
                                     if r["label"] == label and r["batch_norm"] == bn)
        word, reason = verdict(study, acc, args)
        for row in rows:
            row["verdict"] = word
        print_table(study, rows, args)
        print(f"verdict ({study}): {word.upper()}: {reason}")
        plot_study(study, rows, args, os.path.join(args.out, f"bn_study_{study}.png"))
        studies[study] = {"verdict": word, "reason": reason, "rows": rows}

    config = {k: v for k, v in vars(args).items()}
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"config": config, "studies": studies, "seconds": time.perf_counter() - started}, f, indent=1)
    print(f"\nwrote {args.out}/metrics.json and bn_study_<study>.png for {', '.join(args.studies)} "
          f"({time.perf_counter() - started:.0f} s)")
    return studies


if __name__ == "__main__":
    main()
