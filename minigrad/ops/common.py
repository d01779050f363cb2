"""Helpers every op file uses: turning constants into tensors, PyTorch's dtype
promotion (the table in docs/architecture.md, "dtype rules"), reading axes."""
import numbers

import numpy as np

from minigrad.tensor import Tensor


def raw(value):
    """The ndarray inside a Tensor, or the value itself."""
    return value.data if isinstance(value, Tensor) else value


def as_tensor(value, like: Tensor = None, op: str = "op") -> Tensor:
    """A Tensor for `value`; constants take the dtype of the tensor they meet.

    `2 * t` and `t - np.ones(3)` must not turn a float32 `t` into float64, so a
    Python number or numpy array meeting a float tensor is cast to its dtype.
    An integer tensor meeting a Python float becomes float32, and a Python int
    meeting an integer tensor takes its dtype, as in PyTorch.
    """
    if isinstance(value, Tensor):
        return value
    array = np.asarray(value) if isinstance(value, _CONSTANTS) else None
    if array is None or array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: expected a Tensor, a number or a numeric array, "
                        f"got {type(value).__name__} {value!r:.40}")
    if like is not None:
        if like.dtype.kind == "f":
            array = array.astype(like.dtype, copy=False)
        elif array.dtype.kind == "f":
            array = array.astype(np.float32, copy=False)
        elif isinstance(value, numbers.Integral) and like.dtype.kind in "iu":
            array = array.astype(like.dtype)
    return Tensor(array)


_CONSTANTS = (numbers.Number, np.ndarray, np.generic, list, tuple)


def to_float(t: Tensor) -> Tensor:
    """An integer or boolean tensor as float32 (float functions, true division);
    such a tensor never requires grad, so no graph link is lost."""
    return t if t.dtype.kind == "f" else Tensor(t.data.astype(np.float32))


def pair_of_tensors(a, b, op="op", true_division=False):
    """Both operands of a binary op as Tensors of one dtype kind: a float
    operand makes the other one float (its dtype), and true division of two
    integer or boolean operands is done in float32, as in PyTorch."""
    b = as_tensor(b, like=a, op=op) if isinstance(a, Tensor) else b
    a = as_tensor(a, like=b, op=op)              # a itself when a Tensor, else a constant like b
    if true_division:
        a, b = to_float(a), to_float(b)
    if a.dtype.kind == "f" and b.dtype.kind != "f":
        b = Tensor(b.data.astype(a.dtype))
    elif b.dtype.kind == "f" and a.dtype.kind != "f":
        a = Tensor(a.data.astype(b.dtype))
    return a, b


def broadcast_shape(message: str, *shapes) -> tuple:
    """The shape `shapes` broadcast to, or a ValueError saying `message` (which
    names the shapes: numpy's own error does not say which operands they were)."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(message) from None


def broadcast_pair(op, a, b, true_division=False):
    """pair_of_tensors, then a clear error if the two shapes do not broadcast."""
    a, b = pair_of_tensors(a, b, op=op, true_division=true_division)
    broadcast_shape(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together",
                    a.shape, b.shape)
    return a, b


def check_float(op: str, x, what: str = "tensor", hint: str = "") -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{op} needs a float {what}, got dtype {x.dtype}{hint}")


def is_real(value) -> bool:
    """A Python or numpy real number, and not a bool (True is an int to Python)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_int(value) -> bool:
    """A Python or numpy integer, and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_real(op: str, **values) -> None:
    """Each keyword a real number (is_real): a scalar argument."""
    for name, value in values.items():
        if not is_real(value):
            raise TypeError(f"{op}: {name} must be a real number, got {value!r}")


def resolve_axis(axis, ndim, dim=None):
    """Accept numpy's `axis` or PyTorch's `dim`; return a tuple of axes or None.

    A 0-d tensor accepts 0 and -1, as in PyTorch, and reduces over no axis: ().
    """
    name = "axis"
    if dim is not None:
        if axis is not None:
            raise TypeError("give either axis or dim, not both")
        axis, name = dim, "dim"
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    bound = max(ndim, 1)
    normalized = []
    for a in axes:
        if not is_int(a):
            raise TypeError(f"{name} must be an int or a tuple of ints, got {axis!r}")
        if not -bound <= a < bound:
            raise IndexError(f"{name} {a} is out of range for a tensor with {ndim} dimensions "
                             f"(valid: {-bound} to {bound - 1})")
        normalized.append(int(a) % bound)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"repeated {name} in {axis}")
    return tuple(normalized) if ndim else ()


def resolve_keepdims(keepdims, keepdim=None) -> bool:
    return bool(keepdim) if keepdim is not None else bool(keepdims)


def int_tuple(value, name: str, length: int = 2, at_least: int = None) -> tuple:
    """An int, or a tuple or list of `length` ints, as a `length`-tuple: a conv's or a
    pool's kernel_size, stride, ... as (h, w), or Conv1d's as (k,). An entry below
    `at_least` (when given) is a ValueError; anything else but ints a TypeError."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * length
    if len(values) != length or not all(map(is_int, values)):
        wanted = "a pair of ints" if length == 2 else f"a tuple of length {length}"
        raise TypeError(f"{name} must be an int or {wanted}, got {value!r}")
    if at_least is not None and min(values) < at_least:
        raise ValueError(f"{name} must be at least {at_least}, got {value!r}")
    return tuple(int(v) for v in values)


def positive_int(value, name: str, at_least: int = 1) -> int:
    """A layer size or count: an int >= `at_least`, else an error naming the argument."""
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < at_least:
        raise ValueError(f"{name} must be at least {at_least}, got {value}")
    return int(value)


def check_window_fits(op: str, shape: tuple, kernel, padding, dilation=(1, 1)) -> None:
    """A conv's or a pool's (dilated) kernel must fit in the padded input (N, C, H, W)."""
    for axis, name in enumerate(("height", "width")):
        k, d = kernel[axis], dilation[axis]
        padded, span = shape[2 + axis] + 2 * padding[axis], d * (k - 1) + 1
        if span > padded:
            spanning = f" (dilation {d}, spanning {span})" if d > 1 else ""
            raise ValueError(f"{op}: kernel {name} {k}{spanning} is larger than the padded input "
                             f"{name} {padded} (input {shape}, padding {padding})")


def check_bias(op: str, bias, count: int, unit: str) -> None:
    """A layer's bias, when given, has one value per output channel or feature."""
    if bias is not None and bias.shape != (count,):
        raise ValueError(f"{op}: bias of shape {bias.shape} does not match {count} {unit}")


def check_same_float_dtype(op: str, **arrays) -> None:
    """PyTorch refuses to mix dtypes in a layer; numpy would silently upcast."""
    present = {name: a for name, a in arrays.items() if a is not None}
    dtypes = {a.dtype for a in present.values()}
    if len(dtypes) > 1 or dtypes.pop().kind != "f":
        listed = ", ".join(f"{name} {a.dtype}" for name, a in present.items())
        raise TypeError(f"{op} needs one float dtype for all of its inputs, got {listed}")
