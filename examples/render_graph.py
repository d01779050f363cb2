"""Render the computation graphs shown in docs/graphs.md.

    python examples/render_graph.py                 # writes docs/img/*.svg
    python examples/render_graph.py --out /tmp/g --format png

Four pictures:
  1. scalar.svg        a*b + c, micrograd style: data and grad of every value
  2. mlp.svg           Linear-ReLU-Linear + cross-entropy, op by op
  3. cnn.svg           the MNIST CNN's training loss, one box per module call
  4. cnn_bn.svg        the same with the BatchNorm2d layers expanded

Needs the Graphviz `dot` program (apt-get install graphviz / brew install
graphviz); without it the DOT sources (*.gv) are written instead.
"""
import argparse
import os

import numpy as np

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.viz import GraphvizNotFoundError, draw_graph, render, retain_grads


def scalar_expression():
    a = minigrad.Tensor(2.0, requires_grad=True)
    b = minigrad.Tensor(-3.0, requires_grad=True)
    c = minigrad.Tensor(10.0, requires_grad=True)
    out = a * b + c
    retain_grads(out)                     # keep the intermediate grads for the picture
    out.backward()
    return draw_graph(out, show_grad=True, rankdir="LR", names={"a": a, "b": b, "c": c})


def mlp():
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = minigrad.randn(5, 4)
    y = minigrad.Tensor(np.array([0, 2, 1, 1, 0]))
    loss = F.cross_entropy(model(x), y)
    retain_grads(loss)
    loss.backward()
    return draw_graph(loss, model=model, expand="all", show_grad=True, names={"x": x})


def mnist_cnn():
    # the layers as written: the fast backend's plan would fold each ReLU into its max-pool
    nn.utils.fusion.enabled = False
    from minigrad.nn.batchnorm import BatchNorm2d    # until minigrad.nn exports it
    minigrad.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    x = minigrad.randn(4, 1, 28, 28)
    y = minigrad.Tensor(np.array([3, 1, 4, 1]))
    loss = F.cross_entropy(model(x), y)
    return model, x, loss


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/img", help="output directory (default: docs/img)")
    parser.add_argument("--format", default="svg", choices=["svg", "png", "pdf"])
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    model, x, loss = mnist_cnn()
    model.summary(tuple(x.shape))
    graphs = {
        "scalar": scalar_expression(),
        "mlp": mlp(),
        "cnn": draw_graph(loss, model=model, names={"images": x}),
        "cnn_bn": draw_graph(loss, model=model, expand=["BatchNorm2d"], names={"images": x}),
    }
    for name, graph in graphs.items():
        path = os.path.join(args.out, f"{name}.{args.format}")
        try:
            written = render(graph, path, args.format)
        except GraphvizNotFoundError as error:
            written = graph.save(os.path.join(args.out, f"{name}.gv"))
            print(f"{error}\nwrote the DOT source instead")
        print(f"{written}: {os.path.getsize(written):,} bytes")


if __name__ == "__main__":
    main()
