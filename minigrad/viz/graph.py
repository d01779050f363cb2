"""Drawing a computation graph with Graphviz.

    loss = F.cross_entropy(model(x), y)
    g = draw_graph(loss, model=model)               # every leaf module one box
    g = draw_graph(loss, model=model, expand=["BatchNorm2d"])
    render(g, "docs/img/cnn.svg")                   # needs the `dot` program

What is drawn (the legend repeats it):

* one grey box per op, labelled with the op's name, its output's shape and
  dtype, and its short parameters; the root (the tensor drawn from) is green;
* one node per leaf tensor: parameters (light blue ellipses, named by their
  dotted path when `model` is given), inputs and constants (white
  parallelograms), buffers (orange cylinders);
* with `model`, ops are grouped in clusters by the module whose forward ran
  them (`Function.modules`, recorded at run time), and each call of a leaf
  module collapses into one purple box unless `expand` opens it.

The drawing is planned in plain Python first (`_plan`), counted against
`max_nodes`, and only then turned into a `graphviz.Digraph`.
"""
import re

import graphviz
import numpy as np

from minigrad import autograd
from minigrad.nn.parameter import Parameter

# Shape and colour of each role, torchviz-like.
STYLES = {
    "root": dict(shape="box", style="filled", fillcolor="darkolivegreen1"),
    "op": dict(shape="box", style="filled", fillcolor="lightgrey"),
    "module": dict(shape="box3d", style="filled", fillcolor="thistle"),
    "param": dict(shape="ellipse", style="filled", fillcolor="lightblue"),
    "input": dict(shape="parallelogram", style="filled", fillcolor="white"),
    "buffer": dict(shape="cylinder", style="filled", fillcolor="orange"),
    "state": dict(shape="cylinder", style="filled,dashed", fillcolor="orange"),
}
LEGEND = {
    "root": "root (the tensor drawn from)",
    "op": "op: name, output shape, dtype",
    "module": "module call, collapsed",
    "param": "parameter (leaf with grad)",
    "input": "input or constant (no grad)",
    "buffer": "buffer used as an op input",
    "state": "buffer passed to an op, outside autograd",
}
_RECORD_SPECIALS = re.compile(r"([{}|<>])")


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz `dot` program is not installed, so nothing can be rendered."""


def _install_message(error) -> str:
    return ("cannot render the graph: the Graphviz program `dot` was not found on PATH "
            f"({error}).\nInstall Graphviz itself (the Python package alone is not enough):\n"
            "    Debian/Ubuntu:  sudo apt-get install graphviz\n"
            "    macOS:          brew install graphviz\n"
            "    conda:          conda install -c conda-forge graphviz\n"
            "The DOT text is still available without it: graph.source, or graph.save('graph.gv').")


class Graph(graphviz.Digraph):
    """A `graphviz.Digraph` whose render() and pipe() explain how to install
    Graphviz when `dot` is missing, instead of failing obscurely."""

    def render(self, *args, **kwargs):
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise GraphvizNotFoundError(_install_message(error)) from error

    def pipe(self, *args, **kwargs):
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise GraphvizNotFoundError(_install_message(error)) from error


def render(graph, path, format=None) -> str:
    """Write `graph` to `path` as svg, png or pdf (from `format`, else from
    the suffix of `path`, else svg) and return the file written.

    Raises GraphvizNotFoundError (a RuntimeError) with install instructions
    when the `dot` program is missing.
    """
    path = str(path)
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else None
    format = format or suffix or "svg"
    if suffix != format:
        path = f"{path}.{format}"
    try:
        return graph.render(outfile=path, format=format, cleanup=True)
    except graphviz.ExecutableNotFound as error:
        raise GraphvizNotFoundError(_install_message(error)) from error


def retain_grads(root):
    """Call retain_grad() on every tensor of the graph ending at `root`, so that
    after backward a drawing with show_grad=True can show every gradient.
    Call it before backward. Returns `root`."""
    for tensor in autograd.topological_order(root):
        tensor.retain_grad()
    return root


# ---- labels -----------------------------------------------------------------

def _shape_text(tensor) -> str:
    shape = tuple(tensor.shape)
    return "scalar" if shape == () else str(shape).replace(",)", ")")


def _short(value):
    """`value` as short text, or None when it is too long or not worth showing."""
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, (bool, int, float, str, type(None), np.generic, tuple, slice)):
        text = repr(value.item() if isinstance(value, np.generic) else value)
        return text if len(text) <= 24 else None
    return None


def _params_text(fn) -> str:
    """The op's short, non-default-looking params: "exponent=2.0, axes=(1,)"."""
    parts = []
    for key, value in fn.params.items():
        if value is None or value is False:
            continue                           # defaults such as axes=None, keepdims=False
        text = _short(value)
        if text is not None:
            parts.append(f"{key}={text}")
    return ", ".join(parts)


def _module_title(path, module) -> str:
    extra = module.extra_repr()
    if len(extra) > 48:
        extra = extra[:45] + "..."
    kind = f"{type(module).__name__}({extra})"
    return f"{path}: {kind}" if path else kind


def _grad_lines(tensor, show_grad):
    """(data line, grad line) for show_grad, either may be None."""
    if not show_grad:
        return None, None
    data = f"data {tensor.data.item():.4g}" if tensor.size == 1 else None
    grad = getattr(tensor, "grad", None)
    if grad is None:
        return data, None
    if tensor.size == 1:
        return data, f"grad {np.asarray(grad).item():.4g}"
    return data, f"|grad| {float(np.linalg.norm(np.asarray(grad, dtype=np.float64))):.4g}"


# ---- planning ------------------------------------------------------------------

class _Node:
    def __init__(self, key, role, lines, cluster=None, record=False):
        self.key, self.role, self.lines, self.cluster, self.record = key, role, lines, cluster, record


def _expand_rule(expand):
    """expand=None/'all'/name/type/predicate/list of those -> predicate(path, module)."""
    if expand is None:
        return lambda path, module: False
    if isinstance(expand, str) and expand == "all":
        return lambda path, module: True
    if callable(expand) and not isinstance(expand, type):
        return expand
    items = [expand] if isinstance(expand, (str, type)) else list(expand)

    def rule(path, module):
        for item in items:
            if isinstance(item, type):
                if isinstance(module, item):
                    return True
            elif callable(item):
                if item(path, module):
                    return True
            elif item == path or item == type(module).__name__:
                return True
        return False
    return rule


def _find(parent, key):
    """Union-find root of `key`, with path halving (iterative)."""
    while parent[key] != key:
        parent[key] = parent[parent[key]]
        key = parent[key]
    return key


def _plan(root, model, show_grad, expand, names):
    """Nodes, edges and clusters of the drawing, as plain Python objects."""
    ops = [t for t in autograd.topological_order(root) if t._fn is not None]
    leaves, seen = [], set()
    for tensor in ops:
        for parent in tensor._fn.inputs:
            if parent._fn is None and id(parent) not in seen:
                seen.add(id(parent))
                leaves.append(parent)
    if root._fn is None:
        leaves = [root]

    # Names for leaves: the model's parameters and buffers, then the caller's.
    leaf_name, buffer_ids = {}, set()
    module_path, module_of_path = {}, {}
    if model is not None:
        for name, p in model.named_parameters():
            leaf_name[id(p)] = name
        for name, b in model.named_buffers():
            leaf_name[id(b)] = name
            buffer_ids.add(id(b))
        for path, module in model.named_modules():
            module_path[id(module)] = path
            module_of_path[path] = module
    for name, tensor in (names or {}).items():
        leaf_name[id(tensor)] = name

    # Which module each op belongs to: the chain of `model`'s modules that were
    # running (outermost first), cut at the first collapsed one.
    # A leaf module is opened when it, or a module containing it, matches `expand`.
    wants_open, is_collapsed = _expand_rule(expand), {}

    def collapsed(module):
        if id(module) not in is_collapsed:
            path = module_path[id(module)]
            prefixes = [""] + [path[:i] for i, ch in enumerate(path) if ch == "."] + [path]
            has_children = any(True for _ in module.children())    # containers stay open
            is_collapsed[id(module)] = not has_children and not any(
                wants_open(p, module_of_path[p]) for p in dict.fromkeys(prefixes) if p in module_of_path)
        return is_collapsed[id(module)]

    chain_of, unit_of = {}, {}
    for tensor in ops:
        chain = [m for m in tensor._fn.modules if id(m) in module_path]
        for i, module in enumerate(chain):
            if collapsed(module):
                unit_of[id(tensor)] = module
                chain = chain[:i + 1]
                break
        chain_of[id(tensor)] = chain

    # One box per module *call*: ops of the same collapsed module joined by
    # op-to-op edges are one call (a module used twice gives two boxes).
    parent = {id(t): id(t) for t in ops if id(t) in unit_of}
    for tensor in ops:
        if id(tensor) not in unit_of:
            continue
        for inp in tensor._fn.inputs:
            if id(inp) in parent and unit_of[id(inp)] is unit_of[id(tensor)]:
                parent[_find(parent, id(inp))] = _find(parent, id(tensor))

    # Keys: one per drawn node, numbered in topological order for stable output.
    key_of, groups = {}, {}
    for i, tensor in enumerate(leaves):
        key_of[id(tensor)] = f"leaf{i}"
    for i, tensor in enumerate(ops):
        if id(tensor) in unit_of:
            group = _find(parent, id(tensor))
            if group not in groups:
                groups[group] = dict(key=f"call{len(groups)}", module=unit_of[id(tensor)],
                                     chain=chain_of[id(tensor)][:-1], tensors=[], absorbed=[])
            groups[group]["tensors"].append(tensor)
            key_of[id(tensor)] = groups[group]["key"]
        else:
            key_of[id(tensor)] = f"op{i}"

    consumers = {}
    for tensor in ops:
        for inp in tensor._fn.inputs:
            consumers.setdefault(id(inp), set()).add(key_of[id(tensor)])

    # A collapsed module's own parameters and buffers go into its box's label
    # when nothing outside the box uses them.
    absorbed = set()
    group_by_key = {g["key"]: g for g in groups.values()}
    for leaf in leaves:
        users = consumers.get(id(leaf), set())
        if len(users) == 1 and id(leaf) in leaf_name:
            group = group_by_key.get(next(iter(users)))
            if group is not None:
                own = {id(v) for v in list(group["module"]._parameters.values())
                       + list(group["module"]._buffers.values())}
                if id(leaf) in own:
                    absorbed.add(id(leaf))
                    name = leaf_name[id(leaf)].rsplit(".", 1)[-1]
                    group["absorbed"].append(f"{name} {_shape_text(leaf)}")

    # Clusters: one per module of `model` that holds something drawn.
    clusters = {}                              # path -> dict(parent path, title)

    def cluster_for(chain):
        if not chain:
            return None
        for i, module in enumerate(chain):
            path = module_path[id(module)]
            if path not in clusters:
                parent_path = module_path[id(chain[i - 1])] if i else None
                clusters[path] = dict(parent=parent_path, title=_module_title(path, module))
        return module_path[id(chain[-1])]

    nodes, edges, edge_set = [], [], set()
    root_key = key_of[id(root)]
    record = show_grad
    buffer_by_id = {}
    for buffer_name, b in (model.named_buffers() if model is not None else ()):
        buffer_by_id[id(b)] = buffer_by_id[id(b.data)] = (buffer_name, b)
    state_nodes = {}
    for tensor in ops:
        fn, key = tensor._fn, key_of[id(tensor)]
        if id(tensor) not in unit_of:
            lines = [fn.name, f"{_shape_text(tensor)} {tensor.dtype}"]
            params = _params_text(fn)
            if params:
                lines.append(params)
            lines += [x for x in _grad_lines(tensor, show_grad) if x]
            role = "root" if key == root_key else "op"
            cluster = cluster_for(chain_of[id(tensor)])
            nodes.append(_Node(key, role, lines, cluster, record and tensor.size == 1))
            for inp in fn.inputs:
                if id(inp) not in absorbed:
                    edges.append((key_of[id(inp)], key, "solid"))
            # Buffers the op reads through its params (BatchNorm's running stats).
            for value in fn.params.values():
                if id(value) not in buffer_by_id:
                    continue
                buffer_name, b = buffer_by_id[id(value)]
                if buffer_name not in state_nodes:
                    state_nodes[buffer_name] = f"state{len(state_nodes)}"
                    owner = buffer_name.rsplit(".", 1)[0] if "." in buffer_name else None
                    nodes.append(_Node(state_nodes[buffer_name], "state",
                                       [buffer_name, f"{_shape_text(b)} {b.dtype}"],
                                       owner if owner in clusters else None))
                edges.append((state_nodes[buffer_name], key, "dashed"))
        else:
            for inp in fn.inputs:
                source = key_of[id(inp)]
                if source != key and id(inp) not in absorbed and (source, key) not in edge_set:
                    edge_set.add((source, key))
                    edges.append((source, key, "solid"))

    for group in groups.values():
        key, module = group["key"], group["module"]
        outputs = [t for t in group["tensors"]
                   if t is root or any(k != key for k in consumers.get(id(t), ()))]
        outputs = outputs or group["tensors"][-1:]
        lines = [_module_title(module_path[id(module)], module)]
        lines += [f"out {_shape_text(t)} {t.dtype}" for t in outputs[:3]]
        if group["absorbed"]:
            lines.append(", ".join(group["absorbed"]))
        n_ops = len(group["tensors"])
        lines.append(f"{n_ops} op" + ("s" if n_ops > 1 else ""))
        if show_grad and len(outputs) == 1:
            lines += [x for x in _grad_lines(outputs[0], show_grad) if x]
        role = "root" if key == root_key else "module"
        nodes.append(_Node(key, role, lines, cluster_for(group["chain"])))

    for leaf in leaves:
        if id(leaf) in absorbed:
            continue
        name = leaf_name.get(id(leaf))
        if id(leaf) in buffer_ids:
            role = "buffer"
        elif leaf.requires_grad or isinstance(leaf, Parameter):
            role = "param"
        else:
            role = "input"
        if name is None:
            if role == "param":
                name = "parameter" if isinstance(leaf, Parameter) else "leaf"
            elif leaf.size == 1:
                name = f"const {leaf.data.item():.4g}"
            else:
                name = "input"
        owner = name.rsplit(".", 1)[0] if "." in name else None
        if isinstance(leaf, Parameter) and not leaf.requires_grad:
            name += " (frozen)"
        lines = [name, f"{_shape_text(leaf)} {leaf.dtype}"]
        lines += [x for x in _grad_lines(leaf, show_grad) if x]
        if key_of[id(leaf)] == root_key:
            role = "root"
        cluster = owner if owner in clusters else None
        nodes.append(_Node(key_of[id(leaf)], role, lines, cluster, record and leaf.size == 1))

    # Keep only clusters that hold a node, directly or through a sub-cluster.
    used = set()
    for node in nodes:
        path = node.cluster
        while path is not None and path not in used:
            used.add(path)
            path = clusters[path]["parent"]
    clusters = {p: c for p, c in clusters.items() if p in used}
    return nodes, edges, clusters


# ---- building the Digraph ---------------------------------------------------------

def _escape_record(text):
    return _RECORD_SPECIALS.sub(r"\\\1", text)


def _node_attrs(node, rankdir):
    attrs = dict(STYLES[node.role])
    if node.record:
        fields = " | ".join(_escape_record(line) for line in node.lines)
        # A record lays its fields out across the rank direction: wrap them in
        # braces for top-to-bottom graphs so that they read left to right.
        attrs["label"] = "{ " + fields + " }" if rankdir in ("LR", "RL") else fields
        attrs["shape"] = "record"
    else:
        attrs["label"] = "\\n".join(line.replace("\\", "\\\\") for line in node.lines)
    return attrs


def draw_graph(root, model=None, show_grad=False, expand=None, rankdir="TB", max_nodes=500,
               *, names=None, legend=True) -> Graph:
    """The computation graph ending at tensor `root`, as a graphviz.Digraph.

    model:     a Module: names parameters/buffers by their dotted path, groups
               ops in one cluster per module, and collapses each call of a
               leaf module into one box (see `expand`).
    show_grad: add each tensor's gradient norm where `.grad` exists, and the
               data and grad of scalars (micrograd's `data | grad` records).
               Use `retain_grads(root)` before backward to keep them all.
    expand:    which leaf modules are drawn op by op instead of one box per
               call: None (none), 'all', or a list of module paths
               ('features.1'), type names ('BatchNorm2d'), classes, or
               predicates `f(path, module) -> bool`; a single one of these
               also works. A leaf module opens when it or a module
               containing it matches, so expand='features' opens that block.
    rankdir:   'TB' (root at the bottom) or 'LR', as in Graphviz.
    max_nodes: refuse (ValueError) a drawing with more nodes than this.
    names:     optional {name: tensor} to label leaves such as inputs.
    legend:    draw the cluster that explains the colours.

    The returned graph renders with `render(graph, path)` or `graph.render`;
    it needs the Graphviz `dot` program only for rendering, not to be built.
    """
    nodes, edges, clusters = _plan(root, model, show_grad, expand, names)
    if len(nodes) > max_nodes:
        hint = ("pass model= to collapse each module call into one box"
                if model is None else
                "collapse more modules (expand=None collapses every leaf module)")
        raise ValueError(f"the graph has {len(nodes)} nodes, more than max_nodes={max_nodes}: "
                         f"such a drawing is unreadable and slow to lay out. Either {hint}, "
                         f"draw a smaller part of it, or raise max_nodes.")

    graph = Graph(name="minigrad", graph_attr=dict(rankdir=rankdir, fontname="Helvetica"),
                  node_attr=dict(fontname="Helvetica", fontsize="10"),
                  edge_attr=dict(arrowsize="0.7"))
    subgraphs = {}
    for i, (path, cluster) in enumerate(clusters.items()):
        slug = re.sub(r"\W", "_", path) or "model"
        subgraphs[path] = graphviz.Digraph(
            name=f"cluster_{i}_{slug}",
            graph_attr=dict(label=cluster["title"], style="rounded,dashed", color="grey40",
                            fontname="Helvetica", fontsize="10", labeljust="l"))
    for node in nodes:
        target = subgraphs[node.cluster] if node.cluster is not None else graph
        target.node(node.key, **_node_attrs(node, rankdir))
    # Nest clusters deepest first: a subgraph is copied when added to its parent.
    def depth(path):
        d, parent = 0, clusters[path]["parent"]
        while parent is not None:
            d, parent = d + 1, clusters[parent]["parent"]
        return d
    for path in sorted(clusters, key=depth, reverse=True):
        parent = clusters[path]["parent"]
        (subgraphs[parent] if parent is not None else graph).subgraph(subgraphs[path])
    for source, target, style in edges:
        graph.edge(source, target, **({"style": "dashed"} if style == "dashed" else {}))

    if legend:
        roles = [role for role in STYLES if any(node.role == role for node in nodes)]
        with graph.subgraph(name="cluster_legend") as box:
            box.attr(label="legend", style="rounded", color="grey60", fontname="Helvetica",
                     fontsize="10")
            for role in roles:
                box.node(f"legend_{role}", label=LEGEND[role], fontsize="9", **{
                    k: v for k, v in STYLES[role].items()})
            for first, second in zip(roles, roles[1:]):
                box.edge(f"legend_{first}", f"legend_{second}", style="invis")
    return graph
