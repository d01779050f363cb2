"""Graph drawings (checked on their DOT source), rendering, and Module.summary."""
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import minigrad
from minigrad.autograd import Function
from minigrad.nn.module import Module, Sequential
from minigrad.nn.parameter import Parameter
from minigrad.viz import GraphvizNotFoundError, draw_graph, render, retain_grads

HAS_DOT = shutil.which("dot") is not None


def nodes_of(graph):
    """Node names declared in the DOT source, legend excluded."""
    names = re.findall(r"^\s*(\w+) \[", graph.source, flags=re.M)
    return [n for n in names if n not in ("graph", "node", "edge") and not n.startswith("legend_")]


def edges_of(graph):
    pairs = re.findall(r"^\s*(\w+) -> (\w+)", graph.source, flags=re.M)
    return [p for p in pairs if not p[0].startswith("legend_")]


def label_of(graph, node):
    return re.search(rf"^\s*{node} \[label=\"((?:[^\"\\]|\\.)*)\"", graph.source, flags=re.M).group(1)


# ---- hand-made modules (the real layers are tested elsewhere) ----------------------

class Lin(Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        rng = np.random.default_rng(0)
        self.weight = Parameter(rng.standard_normal((n_in, n_out)).astype(np.float32))
        self.bias = Parameter(np.zeros(n_out, dtype=np.float32))

    def forward(self, x):
        return x @ self.weight + self.bias

    def extra_repr(self):
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}"


class Act(Module):
    def forward(self, x):
        return x.relu()


class Residual(Module):
    def __init__(self, n):
        super().__init__()
        self.lin = Lin(n, n)
        self.act = Act()

    def forward(self, x):
        return x + self.act(self.lin(x))


class Shift(Function):
    """x - offset, where `offset` is a buffer passed as a param (like BN's running mean)."""

    def forward(self, x, offset):
        return x - offset.data

    def backward(self, grad):
        return grad


class Scaled(Module):
    """Uses one buffer as an op input and one through the op's params."""

    def __init__(self, n):
        super().__init__()
        self.register_buffer("scale", minigrad.Tensor(np.full(n, 2.0, dtype=np.float32)))
        self.register_buffer("offset", minigrad.Tensor(np.ones(n, dtype=np.float32)))
        self.register_buffer("calls", minigrad.Tensor(np.array(0, dtype=np.int64)))

    def forward(self, x):
        self.calls.data += 1                  # state changed even in eval mode
        if self.training:
            self.offset.data += 1.0
        return Shift.apply(x * self.scale, offset=self.offset)


def small_model():
    return Sequential(Lin(3, 4), Act(), Residual(4), Scaled(4), Lin(4, 2))


def model_and_loss():
    model = small_model()
    x = minigrad.Tensor(np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32))
    return model, x, (model(x) ** 2).mean()


# ---- the plain graph -------------------------------------------------------------------

def test_counts_and_labels_of_a_known_small_graph():
    a, b, c = (minigrad.Tensor(np.arange(3.0) + k, requires_grad=True) for k in range(3))
    root = (a * b + c).sum()
    graph = draw_graph(root, names={"a": a, "b": b, "c": c}, legend=False)
    # 3 leaves (a, b, c) + 3 ops (Mul, Add, Sum); edges a,b->Mul, Mul,c->Add, Add->Sum.
    assert len(nodes_of(graph)) == 6
    assert len(edges_of(graph)) == 5
    labels = [label_of(graph, n) for n in nodes_of(graph)]
    for op in ("Mul", "Add", "Sum"):
        assert any(label.startswith(op) for label in labels)
    assert sum("(3) float64" in label for label in labels) == 5
    assert "scalar float64" in label_of(graph, "op2")
    assert "darkolivegreen1" in re.search(r"^\s*op2 \[.*$", graph.source, flags=re.M).group(0)
    assert "cluster_legend" not in graph.source
    assert "cluster_legend" in draw_graph(root).source


def test_constants_and_inputs_are_leaves_too():
    w = minigrad.Tensor(np.ones(3), requires_grad=True)
    x = minigrad.Tensor(np.arange(3.0))
    graph = draw_graph((w * x + 2.0).sum(), legend=False)
    labels = [label_of(graph, n) for n in nodes_of(graph)]
    assert any(label.startswith("input") for label in labels)
    assert any(label.startswith("const 2") for label in labels)
    assert len(nodes_of(graph)) == 6 and len(edges_of(graph)) == 5


def test_show_grad_gives_micrograd_records_and_grad_norms():
    a = minigrad.Tensor(2.0, requires_grad=True)
    b = minigrad.Tensor(-3.0, requires_grad=True)
    c = minigrad.Tensor(10.0, requires_grad=True)
    d = a * b
    root = d + c
    retain_grads(root)
    root.backward()
    graph = draw_graph(root, show_grad=True, names={"a": a, "b": b, "c": c}, rankdir="LR")
    assert "shape=record" in graph.source
    assert "{ a | scalar float32 | data 2 | grad -3 }" in graph.source
    assert "Mul | scalar float32 | data -6 | grad 1" in graph.source
    v = minigrad.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    (v * 1.0).sum().backward()
    assert "|grad| 1.414" in draw_graph((v * 1.0).sum(), show_grad=True).source.replace("\\|", "|")


def test_deep_chain_is_walked_without_recursion_and_refused_past_max_nodes():
    x = minigrad.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    with pytest.raises(ValueError, match="max_nodes=500.*model="):
        draw_graph(y.sum())
    assert len(nodes_of(draw_graph(y.sum(), max_nodes=10_000, legend=False))) == 1 + 3000 * 2 + 1


# ---- the module view -------------------------------------------------------------------

def test_parameters_are_named_and_ops_clustered_by_module():
    model, x, loss = model_and_loss()
    graph = draw_graph(loss, model=model, expand="all")
    source = graph.source
    for name in ("0.weight", "0.bias", "2.lin.weight", "4.bias"):
        assert f'label="{name}\\n' in source
    for title in ("0: Lin(3, 4)", "2: Residual()", "2.lin: Lin(4, 4)", "3: Scaled()"):
        assert f'label="{title}"' in source
    assert source.count("subgraph cluster_") == 9       # model, 0, 1, 2, 2.lin, 2.act, 3, 4, legend
    assert "MatMul" in source and "ReLU" in source
    # Residual's own Add sits directly in the Residual cluster, the block's Lin in a nested one.
    residual = source[source.index('label="2: Residual()"'):]
    assert residual.index("subgraph cluster_") < residual.index('label="2.lin: Lin(4, 4)"')


def test_default_collapses_each_leaf_module_call_into_one_box():
    model, x, loss = model_and_loss()
    graph = draw_graph(loss, model=model, legend=False)
    names = nodes_of(graph)
    boxes = [n for n in names if n.startswith("call")]
    assert len(boxes) == 6                               # 0, 1, 2.lin, 2.act, 3, 4
    assert "MatMul" not in graph.source and "ReLU" not in graph.source
    assert "0: Lin(3, 4)\\nout (5, 4) float32\\nweight (3, 4), bias (4)\\n2 ops" in graph.source
    # Parameters are inside their boxes; left: input, Residual's Add, Pow, Mean.
    assert len(names) == 6 + 4
    # A chain through the boxes: input->0->1->2.lin->2.act->Add(+skip from 1)->3->4->Pow->Mean.
    assert len(edges_of(graph)) == 10


def test_expand_by_type_name_path_and_predicate():
    model, x, loss = model_and_loss()

    def op_names(graph):
        return {label_of(graph, n).split("\\n")[0] for n in nodes_of(graph) if n.startswith("op")}

    assert op_names(draw_graph(loss, model=model, expand=["Act"])) == {"ReLU", "Add", "Pow", "Mean"}
    assert op_names(draw_graph(loss, model=model, expand=Lin)) >= {"MatMul"}
    assert "ReLU" not in op_names(draw_graph(loss, model=model, expand=Lin))
    # A path opens everything under it.
    by_path = draw_graph(loss, model=model, expand="2", legend=False)
    assert sum(n.startswith("call") for n in nodes_of(by_path)) == 4
    by_predicate = draw_graph(loss, model=model, expand=lambda path, m: path == "4", legend=False)
    assert sum(n.startswith("call") for n in nodes_of(by_predicate)) == 5
    assert 'label="4.weight' in by_predicate.source


def test_buffers_as_inputs_and_as_op_params():
    model, x, loss = model_and_loss()
    opened = draw_graph(loss, model=model, expand=["Scaled"]).source
    assert re.search(r'label="3\.scale\\n\(4\) float32".*cylinder', opened)
    assert re.search(r'label="3\.offset\\n\(4\) float32".*dashed', opened)
    assert re.search(r"state0 -> op\d+ \[style=dashed\]", opened)
    collapsed = draw_graph(loss, model=model).source
    assert "scale (4)" in collapsed and "3.offset" not in collapsed


def test_a_module_called_twice_gives_two_boxes():
    act = Act()
    lin = Lin(3, 3)

    class Twice(Module):
        def __init__(self):
            super().__init__()
            self.lin, self.act = lin, act

        def forward(self, x):
            return self.act(self.lin(self.act(self.lin(x))))

    model = Twice()
    x = minigrad.Tensor(np.ones((2, 3), dtype=np.float32))
    graph = draw_graph(model(x).sum(), model=model, legend=False)
    assert sum(n.startswith("call") for n in nodes_of(graph)) == 4
    # The shared weights are used by two boxes, so they are drawn, not absorbed.
    assert 'label="lin.weight' in graph.source


def test_collapsed_view_fits_where_the_op_view_is_refused():
    model = Sequential(*[Residual(3) for _ in range(40)])
    x = minigrad.Tensor(np.ones((2, 3), dtype=np.float32))
    loss = model(x).sum()
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(loss, model=model, expand="all", max_nodes=200)
    assert len(nodes_of(draw_graph(loss, model=model, max_nodes=200))) <= 200


# ---- rendering -------------------------------------------------------------------------

def test_missing_dot_still_builds_the_graph_and_explains_rendering(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))            # no `dot` anywhere
    a = minigrad.Tensor(np.ones(2), requires_grad=True)
    graph = draw_graph((a * a).sum())
    assert graph.source.startswith("digraph")
    graph.save(tmp_path / "graph.gv")
    assert (tmp_path / "graph.gv").read_text().startswith("digraph")
    for attempt in (lambda: render(graph, tmp_path / "g.svg"),
                    lambda: graph.render(tmp_path / "g", format="svg")):
        with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz") as error:
            attempt()
        assert isinstance(error.value, RuntimeError)
        assert "brew install graphviz" in str(error.value)


def test_render_svg_and_png(tmp_path):
    if not HAS_DOT:
        print("skipped: the Graphviz `dot` program is not installed (apt-get install graphviz)")
        pytest.skip("Graphviz `dot` is not installed")
    model, x, loss = model_and_loss()
    graph = draw_graph(loss, model=model, expand=["Scaled"])
    svg = render(graph, tmp_path / "graph.svg")
    assert svg.endswith("graph.svg")
    assert ET.parse(svg).getroot().tag.endswith("svg")
    png = render(graph, tmp_path / "graph", format="png")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "graph.gv").exists()          # no stray DOT source next to the picture


# ---- summary ---------------------------------------------------------------------------

def test_summary_table_counts_and_leaves_the_model_unchanged(capsys):
    model = small_model()
    model.train()
    model[4].training = False                                 # a mixed mode must come back as it was
    before = {name: b.data.copy() for name, b in model.named_buffers()}
    table = model.summary((5, 3))
    assert capsys.readouterr().out.strip() == table.strip()
    assert re.search(r"^  0\s+Lin\s+\(5, 4\)\s+16$", table, flags=re.M)
    assert re.search(r"^    lin\s+Lin\s+\(5, 4\)\s+20$", table, flags=re.M)
    assert re.search(r"^  2\s+Residual\s+\(5, 4\)\s+--$", table, flags=re.M)
    assert re.search(r"^\(model\)\s+Sequential\s+\(5, 2\)", table, flags=re.M)
    assert "Total params:         46" in table
    assert "Trainable params:     46" in table
    assert [m.training for m in model.modules()] == [True, True, True, True, True, True, True, False]
    for name, b in model.named_buffers():
        np.testing.assert_array_equal(b.data, before[name])


def test_summary_counts_frozen_parameters_as_non_trainable():
    model = Sequential(Lin(3, 4), Lin(4, 2))
    model[0].weight.requires_grad_(False)
    table = model.summary((1, 3))
    assert "Total params:         26" in table
    assert "Trainable params:     14" in table
    assert "Non-trainable params: 12" in table


def test_the_example_renders_its_four_pictures(tmp_path, monkeypatch):
    pytest.importorskip("minigrad.nn.batchnorm", reason="BatchNorm2d is not written yet")
    import runpy
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "examples" / "render_graph.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--out", str(tmp_path)])
    runpy.run_path(str(script), run_name="__main__")
    suffix = "svg" if HAS_DOT else "gv"
    for name in ("scalar", "mlp", "cnn", "cnn_bn"):
        assert (tmp_path / f"{name}.{suffix}").stat().st_size > 1000
