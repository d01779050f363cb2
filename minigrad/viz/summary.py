"""`summary`: a table of a model's layers, output shapes and parameter counts.

    >>> model.summary((64, 1, 28, 28))
    Layer            Type         Output shape      Params
    ======================================================
    (model)          Sequential   (64, 10)          --
      0              Conv2d       (64, 16, 28, 28)  144
    ...

How it finds the output shapes: a forward hook on every module records what
each call returned, during one forward pass on zeros of `input_shape`.

That pass must not change the model, so it runs
* under no_grad (no graph is built),
* in evaluation mode (BatchNorm normalizes with its running statistics
  instead of updating them; a batch of one sample works too), after which
  every module gets back the training flag it had, and
* with a copy of every buffer written back afterwards, for modules that
  update state even in evaluation mode.
"""
import numpy as np

from minigrad.autograd import no_grad
from minigrad.tensor import Tensor


def _describe(output) -> str:
    """The shape of a forward's output: a Tensor, or a tuple/list/dict of them."""
    if isinstance(output, Tensor):
        return str(tuple(output.shape)).replace(",)", ")")
    if isinstance(output, (tuple, list)):
        return "[" + ", ".join(_describe(o) for o in output) + "]"
    if isinstance(output, dict):
        return "{" + ", ".join(f"{k}: {_describe(v)}" for k, v in output.items()) + "}"
    return type(output).__name__


def _run_recording_shapes(model, input_shape, dtype):
    """{id(module): [output description per call]} for one forward on zeros."""
    seen = {}

    def record(module, inputs, output):
        seen.setdefault(id(module), []).append(_describe(output))
    handles = [module.register_forward_hook(record) for module in model.modules()]
    modes = [(module, module.training) for module in model.modules()]
    saved_buffers = [(b, b.data.copy()) for b in model.buffers()]
    model.eval()
    try:
        with no_grad():
            model(Tensor(np.zeros(input_shape, dtype=dtype)))
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
        for b, data in saved_buffers:
            b.data[...] = data
    return seen


def summary(model, input_shape, dtype=np.float32) -> str:
    """Print and return a table: for every module (depth first, indented by
    nesting), its dotted path, type, output shape(s) and the number of
    parameters it holds itself; then the total, trainable and non-trainable
    parameter counts (shared parameters counted once).

    input_shape includes the batch dimension, e.g. (1, 1, 28, 28). The forward
    pass runs on zeros in evaluation mode and leaves the model as it was
    (see the module docstring).
    """
    input_shape = tuple(input_shape)
    seen = _run_recording_shapes(model, input_shape, dtype)

    rows = [("Layer", "Type", "Output shape", "Params")]
    for path, module in model.named_modules():
        depth = path.count(".") + 1 if path else 0
        name = "  " * depth + (path.rsplit(".", 1)[-1] if path else "(model)")
        calls = seen.get(id(module), [])
        shape = ", ".join(dict.fromkeys(calls)) or "(not called)"
        if len(calls) > 1:
            shape += f" x{len(calls)} calls"
        own = [p for p in module._parameters.values() if p is not None]
        has_children = any(True for _ in module.children())
        count = "--" if not own and has_children else f"{sum(p.size for p in own):,}"
        rows.append((name, type(module).__name__, shape, count))

    params = list(model.parameters())                 # each shared parameter once
    total = sum(p.size for p in params)
    trainable = sum(p.size for p in params if p.requires_grad)
    buffers = sum(b.size for b in model.buffers())
    widths = [max(len(row[i]) for row in rows) for i in range(4)]

    def line(row):
        cells = [row[i].ljust(widths[i]) for i in range(3)] + [row[3].rjust(widths[3])]
        return "  ".join(cells)

    rule = "=" * (sum(widths) + 6)
    lines = [f"Input: {input_shape} {np.dtype(dtype).name}", line(rows[0]), rule,
             *(line(row) for row in rows[1:]), rule,
             f"Total params:         {total:,}",
             f"Trainable params:     {trainable:,}",
             f"Non-trainable params: {total - trainable:,}",
             f"Buffer values:        {buffers:,} (not trained: e.g. BatchNorm running statistics)"]
    table = "\n".join(lines)
    print(table)
    return table
