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
  them, and each call of a leaf module collapses into one purple box unless
  `expand` opens it. Membership comes from sequence numbers: every graph node
  has one (`Function.sequence_nr`) and `Module.__call__` records the range
  of each call (`Module.call_ranges()`). Only the calls of a model's latest
  forward pass with grad enabled are kept, so draw a loss before running the
  model again (a forward under no_grad, as in `summary`, does not count).

The drawing is planned in plain Python first (`_Plan`), counted against
`max_nodes`, and only then turned into a `graphviz.Digraph`.
"""
import re
import weakref

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
    """Make every op of the graph ending at `root` keep its output's gradient
    (`Function.retains_grad`), so that after backward a drawing with
    show_grad=True can show every gradient, even of tensors no longer alive.
    Call it before backward. Returns `root`."""
    for node in autograd.topological_order(root):
        if isinstance(node, autograd.Function):
            node.retains_grad = True
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


def _grad_lines(value, show_grad):
    """(data line, grad line) of a _Value for show_grad, either may be None."""
    if not show_grad:
        return None, None
    data = f"data {value.value:.4g}" if value.value is not None else None
    grad = value.grad
    if grad is None:
        return data, None
    if value.size == 1:
        return data, f"grad {np.asarray(grad).item():.4g}"
    return data, f"|grad| {float(np.linalg.norm(np.asarray(grad, dtype=np.float64))):.4g}"


# ---- planning ------------------------------------------------------------------

class _Value:
    """What a drawing shows of one tensor of the graph: shape, dtype, its value
    when it has one element, its gradient, and the Tensor when it is alive."""

    def __init__(self, shape, dtype, value=None, grad=None, tensor=None):
        self.shape, self.dtype, self.value = shape, dtype, value
        self.grad, self.tensor = grad, tensor
        self.size = int(np.prod(shape))


def _op_value(fn):
    return _Value(fn.output_shape, fn.output_dtype, fn.output_scalar, fn.retained_grad)


def _leaf_value(entry):
    """A leaf Tensor, or an autograd.Input (its Tensor when still alive)."""
    tensor = entry.ref() if isinstance(entry, autograd.Input) else entry
    if tensor is None:
        return _Value(entry.shape, entry.dtype, entry.value)
    value = tensor.data.item() if tensor.size == 1 else None
    return _Value(tensor.shape, tensor.dtype, value, tensor.grad, tensor)


class _Node:
    def __init__(self, key, role, lines, cluster=None, record=False):
        self.key, self.role, self.lines = key, role, lines
        self.cluster, self.record = cluster, record


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


class _Plan:
    """Nodes, edges and clusters of the drawing, as plain Python objects, built
    in named steps: walk the graph, name the leaves, assign ops to module calls,
    give every drawn node a key, then emit op, call, leaf and cluster nodes."""

    def __init__(self, root, model, show_grad, expand, names):
        self.root, self.model, self.show_grad = root, model, show_grad
        self.nodes, self.edges, self.clusters = [], [], {}
        self._walk(root)
        self._name_leaves(model, names)
        self._assign_module_calls(_expand_rule(expand))
        self._assign_keys()
        self._absorb_module_leaves()
        self._op_nodes()
        self._call_nodes()
        self._leaf_nodes()
        self._prune_clusters()

    def _walk(self, root):
        """Ops in topological order; leaves (deduplicated) with their drawn values."""
        self.root_node = root._fn or root
        self.ops = [node for node in autograd.topological_order(root)
                    if isinstance(node, autograd.Function)]
        self.leaves, self.leaf_id = [], {}        # leaf_id: id(parent entry) -> identity
        seen = set()
        for fn in self.ops:
            for entry in fn.parents:
                if isinstance(entry, autograd.Function) or id(entry) in self.leaf_id:
                    continue
                value = _leaf_value(entry)
                ident = id(value.tensor) if value.tensor is not None else id(entry)
                self.leaf_id[id(entry)] = ident
                if ident not in seen:
                    seen.add(ident)
                    self.leaves.append((ident, value))
        if root._fn is None:
            self.leaves = [(id(root), _leaf_value(root))]
            self.leaf_id[id(root)] = id(root)

    def _ident(self, entry):
        return id(entry) if isinstance(entry, autograd.Function) else self.leaf_id[id(entry)]

    def _name_leaves(self, model, names):
        """Names for leaves: the model's parameters and buffers, then the caller's."""
        self.leaf_name, self.buffer_ids = {}, set()
        self.module_path, self.module_of_path = {}, {}
        if model is not None:
            for name, p in model.named_parameters():
                self.leaf_name[id(p)] = name
            for name, b in model.named_buffers():
                self.leaf_name[id(b)] = name
                self.buffer_ids.add(id(b))
            for path, module in model.named_modules():
                self.module_path[id(module)] = path
                self.module_of_path[path] = module
        for name, tensor in (names or {}).items():
            self.leaf_name[id(tensor)] = name

    def _collapsed(self, module, wants_open):
        """A leaf module is one box unless it, or a module containing it, matches `expand`."""
        path = self.module_path[id(module)]
        prefixes = [""] + [path[:i] for i, ch in enumerate(path) if ch == "."] + [path]
        has_children = any(True for _ in module.children())    # containers stay open
        return not has_children and not any(
            wants_open(p, self.module_of_path[p]) for p in dict.fromkeys(prefixes)
            if p in self.module_of_path)

    def _assign_module_calls(self, wants_open):
        """For each op, the chain of module calls whose recorded range holds its
        sequence number (outermost first), cut at the first collapsed module."""
        calls = []                                 # (start, -end, preorder, module, call index)
        for order, module in enumerate(self.module_of_path.values()):
            for i, (start, end) in enumerate(module.call_ranges()):
                calls.append((start, -end, order, module, i))
        calls.sort(key=lambda call: call[:3])      # ranges nest: outer ones sort first
        collapsed = {id(c[3]): self._collapsed(c[3], wants_open) for c in calls}
        self.chain_of, self.unit_of = {}, {}
        for fn in self.ops:
            chain = []
            for start, neg_end, _, module, i in calls:
                if start <= fn.sequence_nr < -neg_end:
                    chain.append(module)
                    if collapsed[id(module)]:
                        self.unit_of[id(fn)] = (module, i)
                        break
            self.chain_of[id(fn)] = chain

    def _assign_keys(self):
        """One key per drawn node, numbered in topological order for stable output;
        the ops of one call of a collapsed module share their box's key."""
        self.key_of, self.groups = {}, {}
        for i, (ident, _) in enumerate(self.leaves):
            self.key_of[ident] = f"leaf{i}"
        for i, fn in enumerate(self.ops):
            unit = self.unit_of.get(id(fn))
            if unit is None:
                self.key_of[id(fn)] = f"op{i}"
                continue
            group = self.groups.setdefault((id(unit[0]), unit[1]), dict(
                key=f"call{len(self.groups)}", module=unit[0], chain=self.chain_of[id(fn)][:-1],
                ops=[], absorbed=[]))
            group["ops"].append(fn)
            self.key_of[id(fn)] = group["key"]
        self.root_key = self.key_of[self._ident(self.root_node)]
        self.consumers = {}
        for fn in self.ops:
            for entry in fn.parents:
                self.consumers.setdefault(self._ident(entry), set()).add(self.key_of[id(fn)])

    def _absorb_module_leaves(self):
        """A collapsed module's own parameters and buffers go into its box's label
        when nothing outside the box uses them."""
        self.absorbed = set()
        group_by_key = {g["key"]: g for g in self.groups.values()}
        for ident, value in self.leaves:
            users = self.consumers.get(ident, set())
            if len(users) != 1 or ident not in self.leaf_name:
                continue
            group = group_by_key.get(next(iter(users)))
            if group is None:
                continue
            module = group["module"]
            own = {id(v) for v in (*module._parameters.values(), *module._buffers.values())}
            if ident in own:
                self.absorbed.add(ident)
                name = self.leaf_name[ident].rsplit(".", 1)[-1]
                group["absorbed"].append(f"{name} {_shape_text(value)}")

    def _cluster_for(self, chain):
        """The cluster of the innermost module of `chain`, creating its ancestors."""
        if not chain:
            return None
        for i, module in enumerate(chain):
            path = self.module_path[id(module)]
            if path not in self.clusters:
                parent_path = self.module_path[id(chain[i - 1])] if i else None
                self.clusters[path] = dict(parent=parent_path, title=_module_title(path, module))
        return self.module_path[id(chain[-1])]

    def _edges_into(self, fn, key, once=None):
        for entry in fn.parents:
            ident = self._ident(entry)
            source = self.key_of[ident]
            if ident in self.absorbed:
                continue
            if once is not None and (source == key or (source, key) in once):
                continue
            if once is not None:
                once.add((source, key))
            self.edges.append((source, key, "solid"))

    def _op_nodes(self):
        """One box per op outside collapsed modules, its edges, and dashed edges
        from the buffers it reads through its params (BatchNorm's running stats)."""
        buffer_by_id, state_nodes, once = {}, {}, set()
        for buffer_name, b in (self.model.named_buffers() if self.model is not None else ()):
            buffer_by_id[id(b)] = buffer_by_id[id(b.data)] = (buffer_name, b)
        for fn in self.ops:
            key = self.key_of[id(fn)]
            if id(fn) in self.unit_of:
                self._edges_into(fn, key, once)
                continue
            value = _op_value(fn)
            lines = [fn.name, f"{_shape_text(value)} {value.dtype}"]
            params = _params_text(fn)
            if params:
                lines.append(params)
            lines += [x for x in _grad_lines(value, self.show_grad) if x]
            role = "root" if key == self.root_key else "op"
            cluster = self._cluster_for(self.chain_of[id(fn)])
            self.nodes.append(_Node(key, role, lines, cluster, self.show_grad and value.size == 1))
            self._edges_into(fn, key)
            for param in fn.params.values():
                param = param() if isinstance(param, weakref.ref) else param
                if id(param) not in buffer_by_id:
                    continue
                buffer_name, b = buffer_by_id[id(param)]
                if buffer_name not in state_nodes:
                    state_nodes[buffer_name] = f"state{len(state_nodes)}"
                    owner = buffer_name.rsplit(".", 1)[0] if "." in buffer_name else None
                    self.nodes.append(_Node(state_nodes[buffer_name], "state",
                                            [buffer_name, f"{_shape_text(b)} {b.dtype}"],
                                            owner if owner in self.clusters else None))
                self.edges.append((state_nodes[buffer_name], key, "dashed"))

    def _call_nodes(self):
        """One box per call of a collapsed module: its outputs, absorbed leaves, op count."""
        for group in self.groups.values():
            key, module = group["key"], group["module"]
            outputs = [fn for fn in group["ops"] if fn is self.root_node
                       or any(k != key for k in self.consumers.get(id(fn), ()))]
            outputs = [_op_value(fn) for fn in outputs or group["ops"][-1:]]
            lines = [_module_title(self.module_path[id(module)], module)]
            lines += [f"out {_shape_text(v)} {v.dtype}" for v in outputs[:3]]
            if group["absorbed"]:
                lines.append(", ".join(group["absorbed"]))
            n_ops = len(group["ops"])
            lines.append(f"{n_ops} op" + ("s" if n_ops > 1 else ""))
            if self.show_grad and len(outputs) == 1:
                lines += [x for x in _grad_lines(outputs[0], self.show_grad) if x]
            role = "root" if key == self.root_key else "module"
            self.nodes.append(_Node(key, role, lines, self._cluster_for(group["chain"])))

    def _leaf_nodes(self):
        for ident, value in self.leaves:
            if ident in self.absorbed:
                continue
            tensor, name = value.tensor, self.leaf_name.get(ident)
            is_param = isinstance(tensor, Parameter)
            if ident in self.buffer_ids:
                role = "buffer"
            else:
                wants_grad = is_param or (tensor is not None and tensor.requires_grad)
                role = "param" if wants_grad else "input"
            if name is None:
                if role == "param":
                    name = "parameter" if is_param else "leaf"
                elif value.value is not None:
                    name = f"const {value.value:.4g}"
                else:
                    name = "input"
            owner = name.rsplit(".", 1)[0] if "." in name else None
            if is_param and not tensor.requires_grad:
                name += " (frozen)"
            lines = [name, f"{_shape_text(value)} {value.dtype}"]
            lines += [x for x in _grad_lines(value, self.show_grad) if x]
            key = self.key_of[ident]
            role = "root" if key == self.root_key else role
            cluster = owner if owner in self.clusters else None
            self.nodes.append(_Node(key, role, lines, cluster, self.show_grad and value.size == 1))

    def _prune_clusters(self):
        """Keep only clusters that hold a node, directly or through a sub-cluster."""
        used = set()
        for node in self.nodes:
            path = node.cluster
            while path is not None and path not in used:
                used.add(path)
                path = self.clusters[path]["parent"]
        self.clusters = {p: c for p, c in self.clusters.items() if p in used}


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
    plan = _Plan(root, model, show_grad, expand, names)
    nodes, edges, clusters = plan.nodes, plan.edges, plan.clusters
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
