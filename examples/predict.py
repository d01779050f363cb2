"""Load the checkpoint that mnist_cnn.py wrote and classify a few test digits.

    python examples/predict.py                        # 8 digits from runs/mnist_cnn/model.npz
    python examples/predict.py --count 12 --png digits.png

Each digit is drawn in the terminal (and, with --png, in a picture) beside
the predicted label, its probability and the true label.
"""
import argparse
import os

import numpy as np

import minigrad
from minigrad.data import MNIST
from minigrad.models import mnist_cnn

SHADES = " .:-=+*#%@"


def load_model(checkpoint):
    state = minigrad.load(checkpoint)
    has_bn = any("running_mean" in key for key in state)
    model = mnist_cnn(batch_norm=has_bn)
    model.load_state_dict(state)
    return model.eval()


def ascii_digit(image):
    """28x28 floats in [0, 1] -> 14 lines of characters (every other row: terminal cells are tall)."""
    rows = image[::2]
    return ["".join(SHADES[min(int(v * len(SHADES)), len(SHADES) - 1)] for v in row) for row in rows]


def save_png(images, predictions, probabilities, labels, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(images), figsize=(1.6 * len(images), 2.0))
    for ax, image, pred, prob, label in zip(np.atleast_1d(axes), images, predictions, probabilities, labels):
        ax.imshow(image, cmap="gray_r")
        ax.set_title(f"{pred} ({prob:.0%})", color="black" if pred == label else "red", fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default="runs/mnist_cnn/model.npz")
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--start", type=int, default=0, help="index of the first test image")
    p.add_argument("--png", default=None, help="also save the digits with their predictions to this PNG")
    args = p.parse_args(argv)
    if not os.path.exists(args.checkpoint):
        p.error(f"no checkpoint at {args.checkpoint}: run examples/mnist_cnn.py first")

    model = load_model(args.checkpoint)
    test = MNIST("test")
    if not 0 <= args.start < len(test) or args.count < 1:
        p.error(f"--start must be in [0, {len(test)}) and --count positive")
    images = test.images[args.start:args.start + args.count]
    labels = test.labels[args.start:args.start + args.count]
    with minigrad.no_grad():
        probabilities = model(minigrad.Tensor(images)).softmax(dim=1).data
    predictions = probabilities.argmax(axis=1)

    for image, pred, prob, label in zip(images, predictions, probabilities, labels):
        verdict = "right" if pred == label else "WRONG"
        lines = ascii_digit(image[0])
        lines[6] += f"   predicted {pred} ({prob[pred]:.1%}), true {label}: {verdict}"
        print("\n".join(lines))
    if args.png:
        save_png(images[:, 0], predictions, probabilities[np.arange(len(predictions)), predictions], labels, args.png)
        print(f"wrote {args.png}")
    print(f"{int((predictions == labels).sum())}/{len(labels)} right")


if __name__ == "__main__":
    main()
