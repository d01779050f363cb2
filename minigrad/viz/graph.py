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
import functools
import re
import weakref
from collections import namedtuple

import graphviz
import numpy as np

from minigrad import autograd
from minigrad.nn.parameter import Parameter

# Each role's shape, style and colour (torchviz-like), and what the legend says of it.
ROLES = {
    "root": ("box", "filled", "darkolivegreen1", "root (the tensor drawn from)"),
    "op": ("box", "filled", "lightgrey", "op: name, output shape, dtype"),
    "module": ("box3d", "filled", "thistle", "module call, collapsed"),
    "param": ("ellipse", "filled", "lightblue", "parameter (leaf with grad)"),
    "input": ("parallelogram", "filled", "white", "input or constant (no grad)"),
    "buffer": ("cylinder", "filled", "orange", "buffer used as an op input"),
    "state": ("cylinder", "filled,dashed", "orange", "buffer passed to an op, outside autograd"),
}
STYLES = {role: dict(shape=shape, style=style, fillcolor=colour)
          for role, (shape, style, colour, _) in ROLES.items()}
_RECORD_SPECIALS = re.compile(r"([{}|<>])")


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz `dot` program is not installed, so nothing can be rendered."""


def _explaining(call):
    """`call`, raising GraphvizNotFoundError with install instructions where graphviz
    raises ExecutableNotFound."""
    @functools.wraps(call)
    def explained(*args, **kwargs):
        try:
            return call(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise GraphvizNotFoundError(
                "cannot render the graph: the Graphviz program `dot` was not found on PATH "
                f"({error}).\nInstall Graphviz itself (the Python package is not enough):\n"
                "    Debian/Ubuntu:  sudo apt-get install graphviz\n"
                "    macOS:          brew install graphviz\n"
                "    conda:          conda install -c conda-forge graphviz\n"
                "The DOT text is still available without it: graph.source, or "
                "graph.save('graph.gv').") from error
    return explained


class Graph(graphviz.Digraph):
    """A `graphviz.Digraph` whose render() and pipe() explain how to install
    Graphviz when `dot` is missing, instead of failing obscurely."""

    render = _explaining(graphviz.Digraph.render)
    pipe = _explaining(graphviz.Digraph.pipe)


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
    # `graph` may be a plain graphviz.Digraph.
    return _explaining(graph.render)(outfile=path, format=format, cleanup=True)


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


def _describe(value) -> str:
    """A tensor's (or _Value's) shape and dtype: "(5, 4) float32"."""
    return f"{_shape_text(value)} {value.dtype}"


def _short(value):
    """`value` as short text, or None when it is too long or not worth showing
    (None and False: defaults such as axes=None, keepdims=False)."""
    if value is None or value is False:
        return None
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, (bool, int, float, str, np.generic, tuple, slice)):
        text = repr(value.item() if isinstance(value, np.generic) else value)
        return text if len(text) <= 24 else None
    return None


def _params_text(fn) -> str:
    """The op's short params worth showing: "exponent=2.0, axes=(1,)"."""
    texts = [(key, _short(value)) for key, value in fn.params.items()]
    return ", ".join(f"{key}={text}" for key, text in texts if text is not None)


def _module_title(path, module) -> str:
    extra = module.extra_repr()
    extra = extra if len(extra) <= 48 else extra[:45] + "..."
    kind = f"{type(module).__name__}({extra})"
    return f"{path}: {kind}" if path else kind


# ---- planning ------------------------------------------------------------------

class _Value(namedtuple("_Value", "shape dtype value grad tensor", defaults=(None,) * 3)):
    """What a drawing shows of one tensor of the graph: shape, dtype, its value
    when it has one element, its gradient, and the Tensor when it is alive."""

    size = property(lambda self: int(np.prod(self.shape)))


def _op_value(fn):
    return _Value(fn.output_shape, fn.output_dtype, fn.output_scalar, fn.retained_grad)


def _leaf_value(entry):
    """A leaf Tensor, or an autograd.Input (its Tensor when still alive)."""
    tensor = entry.ref() if isinstance(entry, autograd.Input) else entry
    if tensor is None:
        return _Value(entry.shape, entry.dtype, entry.value)
    value = tensor.data.item() if tensor.size == 1 else None
    return _Value(tensor.shape, tensor.dtype, value, tensor.grad, tensor)


# One node of the drawing; a `record` node is drawn as micrograd's `name | data | grad`.
_Node = namedtuple("_Node", "key role lines cluster record", defaults=(None, False))


def _expand_rule(expand):
    """expand=None/'all'/name/type/predicate/list of those -> predicate(path, module)."""
    if isinstance(expand, str) and expand == "all":
        return lambda path, module: True
    items = [expand] if isinstance(expand, str) or callable(expand) else list(expand or [])

    def matches(item, path, module):
        if isinstance(item, type):
            return isinstance(module, item)
        if callable(item):
            return item(path, module)
        return item in (path, type(module).__name__)
    return lambda path, module: any(matches(item, path, module) for item in items)


class _Plan:
    """Nodes, edges and clusters of the drawing, as plain Python objects, built
    in named steps: walk the graph, name the leaves, assign ops to module calls,
    give every drawn node a key, then emit op, call and leaf nodes (and, on the
    way, the clusters that hold them)."""

    def __init__(self, root, model, show_grad, expand, names):
        self.show_grad = show_grad
        self.nodes, self.edges, self.clusters = [], [], {}
        self._walk(root)
        self._name_leaves(model, names)
        self._assign_module_calls(_expand_rule(expand))
        self._assign_keys()
        self._absorb_module_leaves()
        self._op_nodes()
        self._call_nodes()
        self._leaf_nodes()
        # The root is drawn green, whatever kind of node it is.
        self.nodes = [node._replace(role="root") if node.key == self.root_key else node
                      for node in self.nodes]

    def _walk(self, root):
        """Ops in topological order; leaves (deduplicated) with their drawn values."""
        self.root_node = root._fn or root
        self.ops = [node for node in autograd.topological_order(root)
                    if isinstance(node, autograd.Function)]
        entries = [entry for fn in self.ops for entry in fn.parents
                   if not isinstance(entry, autograd.Function)]
        self.leaves, self.leaf_id = {}, {}      # leaf_id: id(parent entry) -> identity
        for entry in entries if self.ops else [root]:
            value = _leaf_value(entry)
            ident = id(value.tensor) if value.tensor is not None else id(entry)
            self.leaf_id[id(entry)] = ident
            self.leaves.setdefault(ident, value)

    def _ident(self, entry):
        return id(entry) if isinstance(entry, autograd.Function) else self.leaf_id[id(entry)]

    def _name_leaves(self, model, names):
        """Names for leaves: the model's parameters and buffers, then the caller's."""
        modules, params, buffers = [], [], []
        if model is not None:
            modules, params = list(model.named_modules()), list(model.named_parameters())
            buffers = list(model.named_buffers())
        self.module_of_path = dict(modules)
        self.module_path = {id(module): path for path, module in modules}
        named = [*params, *buffers, *(names or {}).items()]
        self.leaf_name = {id(tensor): name for name, tensor in named}
        self.buffer_ids = {id(b) for _, b in buffers}
        # An op may hold a buffer, or its array, in its params (BatchNorm's running stats).
        self.buffer_of = {key: (name, b) for name, b in buffers for key in (id(b), id(b.data))}

    def _collapsed(self, module, wants_open):
        """A leaf module is one box unless it, or a module containing it, matches `expand`."""
        if any(True for _ in module.children()):      # containers stay open
            return False
        path = self.module_path[id(module)]
        prefixes = [""] + [path[:i] for i, ch in enumerate(path) if ch == "."] + [path]
        return not any(wants_open(p, self.module_of_path[p]) for p in dict.fromkeys(prefixes)
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
        self.key_of = {ident: f"leaf{i}" for i, ident in enumerate(self.leaves)}
        self.groups = {}
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
        for ident, value in self.leaves.items():
            users = self.consumers.get(ident, ())
            group = group_by_key.get(next(iter(users))) if len(users) == 1 else None
            if group is None or ident not in self.leaf_name:
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

    def _owner_cluster(self, name):
        """The drawn cluster of the module that owns parameter or buffer `name`, or None."""
        owner = name.rsplit(".", 1)[0] if "." in name else None
        return owner if owner in self.clusters else None

    def _grad_lines(self, value):
        """With show_grad: a _Value's data when it is a scalar, and its grad (or grad norm)."""
        if not self.show_grad:
            return []
        lines = [] if value.value is None else [f"data {value.value:.4g}"]
        if value.grad is not None:
            grad = np.asarray(value.grad, dtype=np.float64)
            lines.append(f"grad {grad.item():.4g}" if value.size == 1
                         else f"|grad| {float(np.linalg.norm(grad)):.4g}")
        return lines

    def _edges_into(self, fn, key):
        """Solid edges from fn's inputs; inside a collapsed box, once per source and none
        from the box to itself."""
        collapsed = id(fn) in self.unit_of
        for entry in fn.parents:
            ident = self._ident(entry)
            edge = (self.key_of[ident], key, "solid")
            if ident in self.absorbed or (collapsed and (edge[0] == key or edge in self.seen)):
                continue
            self.seen.add(edge)
            self.edges.append(edge)

    def _op_nodes(self):
        """One box per op outside collapsed modules; the edges of every op."""
        self.seen, self.state_keys = set(), {}
        for fn in self.ops:
            key = self.key_of[id(fn)]
            self._edges_into(fn, key)
            if id(fn) in self.unit_of:
                continue
            value = _op_value(fn)
            lines = [fn.name, _describe(value), _params_text(fn), *self._grad_lines(value)]
            cluster = self._cluster_for(self.chain_of[id(fn)])
            record = self.show_grad and value.size == 1
            self.nodes.append(_Node(key, "op", [x for x in lines if x], cluster, record))
            self._state_edges(fn, key)

    def _state_edges(self, fn, key):
        """Dashed edges from the buffers an op reads through its params, outside autograd."""
        for param in fn.params.values():
            param = param() if isinstance(param, weakref.ref) else param
            if id(param) not in self.buffer_of:
                continue
            name, b = self.buffer_of[id(param)]
            if name not in self.state_keys:
                self.state_keys[name] = f"state{len(self.state_keys)}"
                self.nodes.append(_Node(self.state_keys[name], "state", [name, _describe(b)],
                                        self._owner_cluster(name)))
            self.edges.append((self.state_keys[name], key, "dashed"))

    def _call_nodes(self):
        """One box per call of a collapsed module: its outputs, absorbed leaves, op count."""
        for group in self.groups.values():
            key, module = group["key"], group["module"]
            outputs = [fn for fn in group["ops"] if fn is self.root_node
                       or any(k != key for k in self.consumers.get(id(fn), ()))]
            outputs = [_op_value(fn) for fn in outputs or group["ops"][-1:]]
            lines = [_module_title(self.module_path[id(module)], module)]
            lines += [f"out {_describe(v)}" for v in outputs[:3]]
            if group["absorbed"]:
                lines.append(", ".join(group["absorbed"]))
            n_ops = len(group["ops"])
            lines.append(f"{n_ops} op" + ("s" if n_ops > 1 else ""))
            if len(outputs) == 1:
                lines += self._grad_lines(outputs[0])
            self.nodes.append(_Node(key, "module", lines, self._cluster_for(group["chain"])))

    def _leaf_nodes(self):
        for ident, value in self.leaves.items():
            if ident in self.absorbed:
                continue
            tensor, name = value.tensor, self.leaf_name.get(ident)
            is_param = isinstance(tensor, Parameter)
            wants_grad = is_param or (tensor is not None and tensor.requires_grad)
            role = "param" if wants_grad else "input"
            role = "buffer" if ident in self.buffer_ids else role
            if name is None and role == "param":
                name = "parameter" if is_param else "leaf"
            elif name is None:
                name = "input" if value.value is None else f"const {value.value:.4g}"
            cluster = self._owner_cluster(name)
            if is_param and not tensor.requires_grad:
                name += " (frozen)"
            lines = [name, _describe(value), *self._grad_lines(value)]
            record = self.show_grad and value.size == 1
            self.nodes.append(_Node(self.key_of[ident], role, lines, cluster, record))


# ---- building the Digraph ---------------------------------------------------------

def _node_attrs(node, rankdir):
    attrs = dict(STYLES[node.role])
    if node.record:
        fields = " | ".join(_RECORD_SPECIALS.sub(r"\\\1", line) for line in node.lines)
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
    if len(plan.nodes) > max_nodes:
        hint = ("pass model= to collapse each module call into one box"
                if model is None else
                "collapse more modules (expand=None collapses every leaf module)")
        raise ValueError(f"the graph has {len(plan.nodes)} nodes, more than max_nodes="
                         f"{max_nodes}: such a drawing is unreadable and slow to lay out. "
                         f"Either {hint}, draw a smaller part of it, or raise max_nodes.")
    graph = Graph(name="minigrad", graph_attr=dict(rankdir=rankdir, fontname="Helvetica"),
                  node_attr=dict(fontname="Helvetica", fontsize="10"),
                  edge_attr=dict(arrowsize="0.7"))
    _add_clusters(graph, plan, rankdir)
    for source, target, style in plan.edges:
        graph.edge(source, target, **({"style": "dashed"} if style == "dashed" else {}))
    if legend:
        roles = [role for role in STYLES if any(node.role == role for node in plan.nodes)]
        with graph.subgraph(name="cluster_legend") as box:
            box.attr(label="legend", style="rounded", color="grey60", fontname="Helvetica",
                     fontsize="10")
            for role in roles:
                box.node(f"legend_{role}", label=ROLES[role][3], fontsize="9", **STYLES[role])
            for first, second in zip(roles, roles[1:]):
                box.edge(f"legend_{first}", f"legend_{second}", style="invis")
    return graph


def _add_clusters(graph, plan, rankdir):
    """The plan's nodes, each in the subgraph of its cluster, the clusters nested."""
    subgraphs = {}
    for i, (path, cluster) in enumerate(plan.clusters.items()):
        slug = re.sub(r"\W", "_", path) or "model"
        subgraphs[path] = graphviz.Digraph(
            name=f"cluster_{i}_{slug}",
            graph_attr=dict(label=cluster["title"], style="rounded,dashed", color="grey40",
                            fontname="Helvetica", fontsize="10", labeljust="l"))
    for node in plan.nodes:
        target = subgraphs[node.cluster] if node.cluster is not None else graph
        target.node(node.key, **_node_attrs(node, rankdir))

    # A subgraph is copied when added to its parent: complete each one before adding it.
    def nest(parent, target):
        for path, cluster in plan.clusters.items():
            if cluster["parent"] == parent:
                nest(path, subgraphs[path])
                target.subgraph(subgraphs[path])
    nest(None, graph)
