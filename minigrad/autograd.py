"""The autograd engine.

Three ideas live here and nowhere else:

* `Function`: one differentiable op. A subclass writes `forward` (numpy arrays
  in, one numpy array out) and `backward` (the output's gradient in, one
  gradient per input out) side by side. `Function.apply` runs the forward and,
  when a gradient will be needed, links the output Tensor to the op that made
  it. That link is the computation graph.
* `unbroadcast`: the single place where a gradient is summed back to the shape
  of an input that numpy broadcast in the forward pass.
* `backward`: the reverse walk over the graph, iterative (no recursion limit)
  and in topological order, so that every tensor has received all of its
  gradient contributions before it passes them on.
"""
import functools
import sys

import numpy as np

_grad_enabled = True

# Modules whose forward is running, outermost first. `Module.__call__` pushes
# and pops; each op records the stack so that graph drawings can group ops by
# the module that created them.
module_stack = []


def is_grad_enabled() -> bool:
    return _grad_enabled


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


class Function:
    """One op of the graph: its forward and its backward, side by side.

    Subclasses implement

        forward(self, *arrays, **params) -> ndarray
        backward(self, grad) -> ndarray | tuple of (ndarray | None), one per input

    and keep whatever the backward needs as attributes of `self`. The backward
    may return gradients in the broadcast shape of the forward's output; the
    engine sums them back to each input's shape (see `unbroadcast`).
    """

    def __init__(self):
        self.inputs = ()               # the input Tensors, kept only when a graph is built
        self.needs_input_grad = ()     # one bool per input
        self.params = {}               # non-tensor arguments, shown in graph drawings
        self.modules = ()              # the module stack when this op ran

    @property
    def name(self) -> str:
        return type(self).__name__

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors; record it in the graph if a gradient is needed."""
        from minigrad.tensor import Tensor

        fn = cls()
        fn.needs_input_grad = tuple(t.requires_grad for t in inputs)
        out = fn.forward(*(t.data for t in inputs), **params)
        requires_grad = _grad_enabled and any(fn.needs_input_grad)
        if not requires_grad:
            return Tensor._make(out, requires_grad=False, fn=None)
        fn.inputs = inputs
        fn.params = params
        fn.modules = tuple(module_stack)
        return Tensor._make(out, requires_grad=True, fn=fn)


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


def topological_order(root):
    """Tensors of the graph ending at `root`, each after all of its inputs.

    Iterative depth-first search with an explicit stack, so that a chain of
    100,000 ops does not hit Python's recursion limit; `visited` is a set of
    ids, so the walk is linear in the size of the graph.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._fn is not None:
            for parent in tensor._fn.inputs:
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order


def _references(array) -> int:
    return sys.getrefcount(array)


def _references_to_an_unshared_local() -> int:
    probe = np.empty(1)
    return _references(probe)


# What sys.getrefcount reports for an array held by one local variable and
# passed to _references: the count differs between Python versions, so it is
# measured rather than assumed.
_UNSHARED = _references_to_an_unshared_local()


def backward(root, grad: np.ndarray) -> None:
    """Propagate `grad` (d root / d root) to every tensor that requires grad.

    Leaves (tensors no op made) accumulate into `.grad` across calls, as in
    PyTorch; intermediate tensors keep theirs only after `retain_grad()`.
    """
    pending = {id(root): grad}          # gradients not yet passed on, by tensor id
    for tensor in reversed(topological_order(root)):
        grad = pending.pop(id(tensor), None)
        if grad is None:
            continue
        if tensor._fn is None:
            # A leaf's first gradient is adopted, not copied, when no other
            # object holds it (a view of it would hold a reference too), as
            # PyTorch's engine does: one full-size copy fewer per leaf.
            # (Counted on a line of its own, the way _UNSHARED was measured: as
            # an argument of the call below, `grad` would be counted twice.)
            unshared = _references(grad) <= _UNSHARED
            tensor._accumulate_grad(grad, unshared)
            continue
        if tensor._retains_grad:
            tensor._accumulate_grad(grad)
        _pass_to_inputs(tensor._fn, grad, pending)


def _pass_to_inputs(fn, grad, pending) -> None:
    """Run one op's backward and add each input's gradient to `pending`."""
    input_grads = fn.backward(grad)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if len(input_grads) != len(fn.inputs):
        raise RuntimeError(f"{fn.name}.backward returned {len(input_grads)} gradients "
                           f"for {len(fn.inputs)} inputs")
    for parent, parent_grad in zip(fn.inputs, input_grads):
        if parent_grad is None or not parent.requires_grad:
            continue
        parent_grad = unbroadcast(np.asarray(parent_grad), parent.shape)
        if parent_grad.dtype != parent.dtype:
            parent_grad = parent_grad.astype(parent.dtype)
        previous = pending.get(id(parent))
        # `previous + new`, never `+=`: a backward may return a view of its
        # incoming gradient, which must not be modified in place.
        pending[id(parent)] = parent_grad if previous is None else previous + parent_grad
