"""Draw the learner's figures into docs/img/ (`make figures`), byte for byte reproducibly.

bn_datapath.png: BatchNorm2d's forward and backward as the arrays they move.
norm_axes.png: which values share one statistic in batch, layer, instance and group norm,
drawn as PyTorch's (N, C, H*W) cube picture.
conv_im2col.png: conv2d as im2col, one GEMM and a reorder; its backward, two GEMMs and col2im.
bn_graph_fused.svg, bn_graph_composed.svg: the autograd graph of the lectures' six values
through the fused BatchNorm op and through batch_norm_composed (needs Graphviz's `dot`).
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "img"
N, C, S = 4, 6, 5          # cells along batch, channel, spatial (H*W)
DX, DY = 0.45, 0.35        # the depth axis (S) drawn as an oblique offset


def _cube(ax, shaded, title):
    """One (N, C, S) cube: N to the right, C upwards, S into the page; `shaded(n, c)` marks
    the cells (all S positions of them) that one statistic is computed over."""
    def face(points, colour):
        ax.add_patch(Polygon(points, closed=True, facecolor=colour, edgecolor="k", lw=0.5))
    for n in range(N):
        for c in range(C):
            colour = "#4a90d9" if shaded(n, c) else "white"
            face([(n, c), (n + 1, c), (n + 1, c + 1), (n, c + 1)], colour)       # front
            if c == C - 1:                                                          # top
                face([(n, C), (n + 1, C), (n + 1 + S * DX, C + S * DY),
                      (n + S * DX, C + S * DY)], colour)
        if n == N - 1:                                                              # side
            for c in range(C):
                face([(N, c), (N + S * DX, c + S * DY), (N + S * DX, c + 1 + S * DY),
                      (N, c + 1)], "#4a90d9" if shaded(n, c) else "white")
    ax.set_title(title, fontsize=10)
    ax.text(N / 2, -0.7, "N", ha="center")
    ax.text(-0.7, C / 2, "C", va="center")
    ax.text(N + S * DX / 2 + 0.3, S * DY / 2 - 0.3, "H·W", fontsize=8)
    ax.set_xlim(-1, N + S * DX + 1)
    ax.set_ylim(-1, C + S * DY + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")


def norm_axes(path):
    fig, axes = plt.subplots(1, 4, figsize=(10, 3.6))
    _cube(axes[0], lambda n, c: c == 0, "Batch norm\n(per channel: N, H·W)")
    _cube(axes[1], lambda n, c: n == 0, "Layer norm\n(per sample: C, H·W)")
    _cube(axes[2], lambda n, c: n == 0 and c == 0, "Instance norm\n(per sample, channel)")
    _cube(axes[3], lambda n, c: n == 0 and c < 3, "Group norm\n(per sample, group of C)")
    fig.tight_layout()
    # No date or software version in the file, so a rerun is byte-identical.
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def _box(ax, xy, text, colour="#eef3fb"):
    ax.text(*xy, text, ha="center", va="center", fontsize=9,
            bbox=dict(boxstyle="round,pad=0.4", facecolor=colour, edgecolor="#335"))


def _arrow(ax, start, end, text=""):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color="#335"))
    if text:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.12, text,
                ha="center", fontsize=7, color="#335")


def bn_datapath(path):
    """BatchNorm2d's forward (top row) and backward (bottom row) as array shapes."""
    fig, ax = plt.subplots(figsize=(11, 3.4))
    top = [(0.6, "x (N, C, H, W)"), (2.5, "x3 (N, C, H·W)\nview, no copy"),
           (4.6, "per channel c:\nsum x, sum (x - mean)²\nfloat64 (C,)"),
           (6.9, "mean, invstd (C,)\nbroadcast back"),
           (9.1, "y = x·scale + shift\n(N, C, H·W) -> NCHW")]
    bottom = [(9.1, "dy (N, C, H, W)"),
              (6.9, "reductions: sum_dy,\nsum_dy·xhat  (C,)\n= dbeta, dgamma"),
              (4.6, "xhat recomputed\nfrom x, mean, invstd"),
              (2.5, "dx = γ·invstd/M·(M·dy\n - sum_dy - xhat·sum_dy_xhat)"),
              (0.6, "dx (N, C, H, W)")]
    for row, y, colour in ((top, 1.6, "#eef3fb"), (bottom, 0.2, "#fbefe6")):
        for (x, text), nxt in zip(row, row[1:] + [None]):
            _box(ax, (x, y), text, colour)
            if nxt:
                step = 0.75 if nxt[0] > x else -0.75
                _arrow(ax, (x + step, y), (nxt[0] - step, y))
    ax.text(0.0, 2.35, "forward (training)", fontsize=9, weight="bold")
    ax.text(0.0, -0.55, "backward: one pass for the two sums, one pass to write dx",
            fontsize=9, weight="bold")
    ax.set_xlim(-0.5, 10.3)
    ax.set_ylim(-0.7, 2.5)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def conv_im2col(path):
    """conv2d's forward (top row) and backward (bottom row) as the arrays the kernels move."""
    fig, ax = plt.subplots(figsize=(12, 3.8))
    top = [(0.7, "x\n(N, C, H, W)"), (3.0, "im2col: cols\n(C·kh·kw, N·OH·OW)"),
           (5.6, "one GEMM:\nW2 (O, C·kh·kw)\n@ cols"), (8.0, "Y2\n(O, N·OH·OW)"),
           (10.3, "reorder, + bias\ny (N, O, OH, OW)")]
    bottom = [(10.3, "dy\n(N, O, OH, OW)"), (8.0, "reorder: dY2\n(O, N·OH·OW)\ndb = sum dy"),
              (5.6, "two GEMMs:\ndW2 = dY2 @ colsᵀ\ndcols = W2ᵀ @ dY2"),
              (3.0, "col2im: adds each\ncolumn back\n(overlaps sum)"), (0.7, "dx\n(N, C, H, W)")]
    for row, y, colour in ((top, 1.6, "#eef3fb"), (bottom, 0.2, "#fbefe6")):
        for (x, text), nxt in zip(row, row[1:] + [None]):
            _box(ax, (x, y), text, colour)
            if nxt:
                step = 0.95 if nxt[0] > x else -0.95
                _arrow(ax, (x + step, y), (nxt[0] - step, y))
    ax.text(0.0, 2.45, "forward: row (c, i, j) of cols holds x under kernel offset (i, j); "
            "W2 is W (O, C, kh, kw) as a matrix", fontsize=9, weight="bold")
    ax.text(0.0, -0.7, "backward: cols is kept from the forward; col2im is im2col's adjoint",
            fontsize=9, weight="bold")
    ax.set_xlim(-0.5, 11.5)
    ax.set_ylim(-0.85, 2.6)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def bn_graphs():
    """{file name: graphviz.Digraph} of the six values 3, 5, 8, 9, 11, 24 normalized by the
    fused op (one node, its own backward) and by the composed ops (autograd's chain)."""
    import numpy as np

    import minigrad
    from minigrad.ops.batchnorm import batch_norm, batch_norm_composed
    from minigrad.viz import draw_graph

    values = np.array([3, 5, 8, 9, 11, 24], dtype=np.float64).reshape(6, 1)
    graphs = {}
    for name, op in (("fused", lambda x: batch_norm(x, None, None, training=True)),
                     ("composed", batch_norm_composed)):
        x = minigrad.Tensor(values, requires_grad=True)
        graphs[f"bn_graph_{name}.svg"] = draw_graph(op(x), names={"x": x}, legend=False)
    return graphs


FIGURES = {"norm_axes.png": norm_axes, "bn_datapath.png": bn_datapath,
           "conv_im2col.png": conv_im2col}


def main(out=OUT):
    from minigrad.viz import render

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        draw(out / name)
        print(out / name)
    for name, graph in bn_graphs().items():
        print(render(graph, out / name))


if __name__ == "__main__":
    main(*sys.argv[1:])
