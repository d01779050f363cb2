"""`Module`: the base of every layer, the containers built on it, and
`_CallsFunction`, the base of the layers that only call one function.

A Module owns three ordered collections, filled by attribute assignment:
parameters (Parameter), buffers (`register_buffer`, Tensors that are state
but not trained, like BatchNorm's running mean) and submodules (Module).
Everything that walks a model (parameters(), state_dict(), train()) walks
these three, depth first, in registration order, giving PyTorch's dotted names.
"""
import itertools
from collections import OrderedDict
from functools import partialmethod

import numpy as np

from minigrad import autograd
from minigrad.nn.parameter import Parameter
from minigrad.nn.utils import fusion
from minigrad.ops.common import raw
from minigrad.ops.shape import flatten
from minigrad.tensor import Tensor


# Module calls in progress, and the number of the current outermost forward pass.
_running = 0
_forward_pass = 0


class RemovableHandle:
    """Returned by register_forward_hook; `remove()` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self):
        self._hooks.pop(self.id, None)


class Module:
    # Buffers an older checkpoint may lack; loading keeps their current value
    # instead of reporting them missing (PyTorch: BN's num_batches_tracked).
    _optional_buffers = ()
    # extra_repr's text: "{name}" fields filled from the module's attributes
    _repr_template = ""

    def __init__(self):
        # object.__setattr__: our own __setattr__ routes into these dicts.
        for registry in ("_parameters", "_buffers", "_modules", "_forward_hooks"):
            object.__setattr__(self, registry, OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration ------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before assigning attributes (assigning {name!r})")
        is_buffer = name in self._buffers
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif is_buffer:                    # a registered buffer stays one, even set to None
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor) -> None:
        """State saved in state_dict but not trained (None: declared, absent)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"buffer {name!r} must be a Tensor or None, "
                            f"got {type(tensor).__name__}")
        self._buffers[name] = None         # declared: __setattr__ keeps it a buffer
        setattr(self, name, tensor)

    def register_parameter(self, name: str, param) -> None:
        """A Parameter, or None: declared, no parameter (assigning None drops it too)."""
        setattr(self, name, param)

    def add_module(self, name: str, module) -> None:
        setattr(self, name, module)

    # ---- running -------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        global _running, _forward_pass
        recording = autograd.is_grad_enabled()
        if recording and not _running:
            _forward_pass += 1                 # an outermost call starts a new forward pass
        start = autograd.next_sequence_nr()
        _running += 1
        try:
            output = self.forward(*args, **kwargs)
        finally:
            _running -= 1
        if recording:
            # Graph drawings group ops by module with these ranges: the graph nodes numbered
            # [start, end) came from this call. Only the calls of the latest forward pass
            # (since no module was running) are kept; under no_grad nothing is recorded,
            # as no graph is built.
            if self.__dict__.get("_calls", [None])[0] != _forward_pass:
                object.__setattr__(self, "_calls", [_forward_pass])
            self._calls.append((start, autograd.next_sequence_nr()))
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, args, output)
            output = output if replaced is None else replaced
        return output

    def call_ranges(self) -> list:
        """[(start, end), ...]: sequence numbers of the graph nodes of each call
        of this module in the latest forward pass (recorded by `__call__`)."""
        return self.__dict__.get("_calls", [None])[1:]

    def register_forward_hook(self, hook) -> RemovableHandle:
        """Call `hook(module, inputs, output)` after every forward; it may
        return a replacement output. Returns a handle whose remove() undoes it."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def train(self, mode: bool = True) -> "Module":
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) expects a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def to(self, dtype) -> "Module":
        """Convert every float parameter and buffer (and its grad) to `dtype`.

        The Parameter objects stay the same (only their arrays change), so an
        optimizer that holds them keeps working. Integer buffers are left alone.
        """
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to(dtype) expects a float dtype, got {dtype}")
        for _, tensor in self._named_members("_parameters", "_buffers"):
            if tensor.dtype.kind == "f" and tensor.dtype != dtype:
                tensor.data = tensor.data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad = tensor.grad.astype(dtype)
        return self

    float = partialmethod(to, np.float32)
    double = partialmethod(to, np.float64)

    # ---- walking the tree --------------------------------------------------
    def named_modules(self, memo=None, prefix=""):
        """(dotted name, module) for this module and every descendant, depth first,
        each module once (`memo` holds the ones already given)."""
        memo = set() if memo is None else memo
        if self not in memo:
            memo.add(self)
            yield prefix, self
            for name, module in self._modules.items():
                yield from module.named_modules(memo, _dotted(prefix, name))

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_children(self):
        return iter(self._modules.items())

    def children(self):
        return iter(self._modules.values())

    def _named_members(self, *registries, unique=True):
        """(dotted name, tensor) in the given registries of every module, each module's
        own before its children's; a tensor held twice comes once when `unique`."""
        seen = set()
        for prefix, module in self.named_modules():
            for registry in registries:
                for name, value in getattr(module, registry).items():
                    if value is not None and not (unique and id(value) in seen):
                        seen.add(id(value))
                        yield _dotted(prefix, name), value

    def named_parameters(self):
        yield from self._named_members("_parameters")

    def parameters(self):
        return (p for _, p in self.named_parameters())

    def named_buffers(self):
        yield from self._named_members("_buffers")

    def buffers(self):
        return (b for _, b in self.named_buffers())

    # ---- saving and loading --------------------------------------------------
    def _state_items(self):
        """(name, Tensor) for every parameter and buffer, in PyTorch's order: each
        module's own parameters, then its buffers, then its children (tied ones twice)."""
        return self._named_members("_parameters", "_buffers", unique=False)

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of every parameter and buffer as numpy arrays, keyed as PyTorch keys them."""
        return OrderedDict((name, tensor.data.copy()) for name, tensor in self._state_items())

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy arrays into parameters and buffers.

        Every key, shape and dtype kind is checked before anything is written:
        on any problem a KeyError/ValueError lists all of them and the model is
        left exactly as it was. Returns (missing_keys, unexpected_keys).
        """
        own = OrderedDict(self._state_items())
        given = {name: np.asarray(raw(value)) for name, value in state_dict.items()}
        optional = {_dotted(prefix, name) for prefix, module in self.named_modules()
                    for name in module._optional_buffers}
        missing = [k for k in own if k not in given and k not in optional]
        unexpected = [k for k in given if k not in own]
        mismatched = [f"{k}: model has {own[k].shape}, state_dict has {given[k].shape}"
                      for k in own if k in given and own[k].shape != given[k].shape]
        # any integer dtype loads into any other (PyTorch's int64 counter from an int32 file)
        bad_kind = [f"{k}: model has {own[k].dtype}, state_dict has {given[k].dtype}"
                    for k in own if k in given and _kind(own[k]) != _kind(given[k])]
        found = (("missing keys: ", ", ", missing if strict else []),
                 ("unexpected keys: ", ", ", unexpected if strict else []),
                 ("shape mismatches: ", "; ", mismatched), ("dtype mismatches: ", "; ", bad_kind))
        problems = [label + sep.join(items) for label, sep, items in found if items]
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__} failed; the model was "
                             "not changed.\n  " + "\n  ".join(problems))
        with autograd.no_grad():
            for name, tensor in own.items():
                if name in given:
                    tensor.copy_(given[name].astype(tensor.dtype, copy=False))   # bumps _version
        return missing, unexpected

    # ---- printing ----------------------------------------------------------------
    def summary(self, input_shape, dtype=np.float32) -> str:
        """Print and return a table of layers, output shapes and parameter
        counts, from one forward on zeros (see minigrad.viz.summary)."""
        from minigrad.viz.summary import summary
        return summary(self, input_shape, dtype)

    def extra_repr(self) -> str:
        """The text between repr's parentheses: `_repr_template` filled in, unless overridden."""
        return self._repr_template.format_map(vars(self))

    def __repr__(self):
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")"
        children = "\n".join(f"({name}): {module!r}" for name, module in self._modules.items())
        return head + "\n  " + children.replace("\n", "\n  ") + "\n)"


class Sequential(Module):
    """Modules applied in order; children are named "0", "1", ... (or by the keys of
    the one dict given)."""

    def __init__(self, *modules):
        super().__init__()
        named = modules[0].items() if len(modules) == 1 and isinstance(modules[0], dict) \
            else ((str(i), module) for i, module in enumerate(modules))
        for i, (name, module) in enumerate(named):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes Modules; argument {i} is a "
                                f"{type(module).__name__}")
            self.add_module(name, module)

    def forward(self, x):
        # in order; on the fast backend with the rewrites of nn/utils/fusion.py
        return fusion.run_fused(self._modules.values(), x)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        if not -len(modules) <= index < len(modules):
            raise IndexError(f"index {index} is out of range for a Sequential of "
                             f"{len(modules)} modules")
        return modules[index]

    def append(self, module) -> "Sequential":
        self.add_module(str(len(self)), module)
        return self


class _CallsFunction(Module):
    """Stores its constructor's options, in order, and calls `function(*inputs, **those)`
    (keywords given to the call are passed on too: the fusion plan's relu=True).

    A subclass names `function` and, when it has options, writes an `__init__`
    with PyTorch's signature that passes them on by keyword: the activations, the
    losses, the pooling layers and Flatten.
    """

    function = None

    def __init__(self, **options):
        super().__init__()
        self._options = tuple(options)
        for name, value in options.items():
            setattr(self, name, value)

    def forward(self, *inputs, **extra):
        options = {name: getattr(self, name) for name in self._options}
        # through the class: a function stored on it would otherwise bind `self`
        return type(self).function(*inputs, **options, **extra)

    def extra_repr(self):
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._options)


class Identity(Module):
    def forward(self, x):
        return x


class Flatten(_CallsFunction):
    """(N, d1, d2, ...) -> (N, d1*d2*...) with the default start_dim=1."""

    function = flatten

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__(start_dim=start_dim, end_dim=end_dim)


def _dotted(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _kind(array):
    """The dtype kind load_state_dict compares: signed and unsigned integers are one kind."""
    return array.dtype.kind.replace("u", "i")
