"""The autograd engine, independent of Tensor.

* `Function`: one differentiable op. A subclass writes `forward` (numpy arrays
  in, one numpy array out) and `backward` (the output's gradient in, one
  gradient per input out) side by side. `Function.apply` runs the forward and,
  when a gradient will be needed, makes the Function a node of the graph.
* The graph holds no intermediate Tensor. A node knows its `parents`, one per
  input: the Function that made it, the leaf Tensor itself (it receives
  `.grad`), or an `Input` (shape, dtype, a weak reference) when no gradient
  flows to it; and the shape and dtype of its own output. Everything
  full-size that the backward needs is saved with `save_for_backward`, which
  records each saved array's version; backward checks it, then frees it.
* `unbroadcast`: the single place where a gradient is summed back to the shape
  of an input that numpy broadcast in the forward pass.
* `backward`: the reverse walk over the graph, iterative (no recursion limit)
  and in topological order, so that every node has received all of its
  gradient contributions before it passes them on.
"""
import functools
import weakref

import numpy as np

_grad_enabled = True
_sequence_nr = 0             # numbers every graph node in creation order (PyTorch's sequence_nr)
make_tensor = None           # Tensor._make, bound by minigrad.tensor (which imports this module)
_FREED = ("freed",)          # a Function's saved arrays after a backward without retain_graph


def is_grad_enabled() -> bool:
    return _grad_enabled


def next_sequence_nr() -> int:
    """The sequence number the next graph node will get (modules record ranges of them)."""
    return _sequence_nr


class no_grad:
    """Context manager and decorator: ops inside build no graph.

        with minigrad.no_grad():
            logits = model(x)          # no graph, no saved arrays

        @minigrad.no_grad()
        def evaluate(model, loader): ...
    """

    def __init__(self):
        self._previous = []            # a stack, so one instance can be nested in itself

    def __enter__(self):
        global _grad_enabled
        self._previous.append(_grad_enabled)
        _grad_enabled = False
        return self

    def __exit__(self, *exc_info):
        global _grad_enabled
        _grad_enabled = self._previous.pop()
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def without_grad(*args, **kwargs):
            with no_grad():
                return func(*args, **kwargs)
        return without_grad


class Input:
    """An op input no gradient flows to (data, constants, frozen weights), as
    the graph keeps it for drawings: shape, dtype, its value when it has one
    element, and a weak reference, so the graph never keeps its data alive."""

    __slots__ = ("ref", "shape", "dtype", "value")

    def __init__(self, tensor):
        self.ref, self.shape, self.dtype = weakref.ref(tensor), tensor.shape, tensor.dtype
        self.value = tensor.data.item() if tensor.data.size == 1 else None


class Function:
    """One op of the graph: its forward and its backward, side by side.

    Subclasses implement

        forward(self, *arrays, **params) -> ndarray
        backward(self, grad) -> ndarray | tuple of (ndarray | None), one per input

    The forward passes every full-size array its backward needs to
    `self.save_for_backward(...)` and the backward reads them back from
    `self.saved_arrays`; plain attributes hold only small metadata (shapes,
    axes), since only saved arrays are version-checked and freed. The backward
    may return gradients in the broadcast shape of the forward's output; the
    engine sums them back to each input's shape (see `unbroadcast`).
    `owned_grads` lists the inputs whose returned gradient the backward always
    allocates itself: a leaf adopts such an array as its `.grad` uncopied.
    `view_of_input`: the output may share memory with input 0 (and then shares
    its version counter).
    """

    owned_grads = ()
    view_of_input = False
    needs_input_grad = ()
    parents = ()
    params = {}
    retains_grad = False
    retained_grad = None
    output_scalar = None           # the output's value when it has one element (for drawings)
    _saved = ()

    @property
    def name(self) -> str:
        return type(self).__name__

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def save_for_backward(self, *arrays) -> None:
        """Keep arrays (or None) for the backward; read them as `self.saved_arrays`."""
        self._saved = arrays

    @property
    def saved_arrays(self) -> tuple:
        """The saved arrays, checked: not freed, and not modified in place since saved."""
        if self._saved is _FREED:
            raise RuntimeError(
                f"Trying to backward through the graph a second time ({self.name}'s saved arrays "
                "were freed by the first backward). Specify retain_graph=True in the first "
                "backward() if you need to backward through the graph a second time.")
        for _, counter, version, shape in self._saved:
            if counter is not None and counter[0] != version:
                raise RuntimeError(
                    f"one of the arrays {self.name} saved for backward, a tensor of shape "
                    f"{shape}, was modified by an in-place operation: it is at version "
                    f"{counter[0]}, it was at version {version} when saved. Was "
                    "optimizer.step() (or another in-place update: add_, copy_, "
                    "load_state_dict) called between the forward and backward()? Update "
                    "after backward(), or run the forward again.")
        return tuple(record[0] for record in self._saved)

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors; make it a node of the graph if a gradient is needed."""
        global _sequence_nr
        fn = cls()
        fn.needs_input_grad = needs = tuple([t.requires_grad for t in inputs])
        out = fn.forward(*[t.data for t in inputs], **params)
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        shares = cls.view_of_input and np.may_share_memory(out, inputs[0].data)
        counter = inputs[0]._version_counter if shares else None
        if not (_grad_enabled and any(needs)):
            return make_tensor(out, False, None, counter)
        fn.parents = tuple([_parent(t) for t in inputs])
        fn.params, fn.output_shape, fn.output_dtype = params, out.shape, out.dtype
        fn.sequence_nr, _sequence_nr = _sequence_nr, _sequence_nr + 1
        if out.size == 1:
            fn.output_scalar = out.item()
        tensor = make_tensor(out, True, fn, counter)
        if fn._saved:
            tensors = inputs + (tensor,)
            fn._saved = tuple([_saved_record(a, tensors) for a in fn._saved])
        return tensor

    def _free(self) -> None:
        """Drop what the backward needed; the structure stays, so drawings still work."""
        if self._saved:
            self._saved = _FREED
        if any(isinstance(v, np.ndarray) for v in self.params.values()):
            self.params = {k: weakref.ref(v) if isinstance(v, np.ndarray) else v
                           for k, v in self.params.items()}


def _parent(tensor):
    if tensor._fn is not None:
        return tensor._fn
    return tensor if tensor.requires_grad else Input(tensor)


def _owner(array):
    return array if array.base is None else array.base


def _saved_record(array, tensors):
    """(array, version counter, version now, shape) of the tensor `array` is (a view of):
    the tensor whose data it is, else one whose data shares its owner."""
    if array is None:
        return None, None, 0, None
    match = next((t for t in tensors if t.data is array), None)
    if match is None:
        match = next((t for t in tensors if _owner(t.data) is _owner(array)), None)
    if match is None:
        return array, None, 0, None
    return array, match._version_counter, match._version_counter[0], match.shape


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` down to `shape`, undoing numpy broadcasting.

    Broadcasting (a) prepends axes and (b) stretches size-1 axes; the gradient
    of a broadcast input is the sum over every copy that broadcasting made.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"gradient of shape {grad.shape} cannot be reduced to {shape}")
    grad = grad.sum(axis=tuple(range(extra))) if extra else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        raise ValueError(f"gradient of shape {grad.shape} does not match input shape {shape}")
    return grad


def topological_order(root) -> list:
    """Nodes (Functions and leaf tensors) of the graph ending at `root` (a
    tensor or a node), each after all of its parents; `Input`s are left out.

    Iterative depth-first search with an explicit stack, so that a chain of
    100,000 ops does not hit Python's recursion limit; `visited` is a set of
    ids, so the walk is linear in the size of the graph.
    """
    order, visited = [], set()
    stack = [(getattr(root, "grad_fn", None) or root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if isinstance(node, Function):
            stack.extend((p, False) for p in node.parents
                         if type(p) is not Input and id(p) not in visited)
    return order


def backward(root, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Propagate `grad` (d root / d root) from node `root` to every leaf.

    Leaves accumulate into `.grad` across calls, as in PyTorch; a Function
    keeps its output's gradient only after `retain_grad()`. Unless
    `retain_graph`, each Function frees its saved arrays once it has run.
    """
    pending = {id(root): (grad, False)}   # by node id: (gradient, allocated by the engine or op)
    for node in reversed(topological_order(root)):
        grad, owned = pending.pop(id(node), (None, False))
        if grad is None:
            continue
        if not isinstance(node, Function):
            node._accumulate_grad(grad, owned)
            continue
        if node.retains_grad:
            previous = node.retained_grad
            node.retained_grad = np.array(grad) if previous is None else previous + grad
        _pass_to_parents(node, grad, pending)
        if not retain_graph:
            node._free()


def _pass_to_parents(fn, grad, pending) -> None:
    """Run one op's backward and add each parent's gradient to `pending`."""
    grads = fn.backward(grad)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(fn.parents):
        raise RuntimeError(f"{fn.name}.backward returned {len(grads)} gradients "
                           f"for {len(fn.parents)} inputs")
    for i, (parent, parent_grad) in enumerate(zip(fn.parents, grads)):
        if parent_grad is None or not fn.needs_input_grad[i]:
            continue
        is_fn = isinstance(parent, Function)
        shape = parent.output_shape if is_fn else parent.shape
        dtype = parent.output_dtype if is_fn else parent.dtype
        parent_grad, owned = np.asarray(parent_grad), i in fn.owned_grads
        if parent_grad.shape != shape:
            parent_grad, owned = unbroadcast(parent_grad, shape), True
        if parent_grad.dtype != dtype:
            parent_grad, owned = parent_grad.astype(dtype), True
        previous = pending.get(id(parent))
        # `previous + new`, never `+=`: a backward may return a view of its
        # incoming gradient, which must not be modified in place.
        pending[id(parent)] = ((parent_grad, owned) if previous is None
                               else (previous[0] + parent_grad, True))
