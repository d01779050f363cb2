"""Ops that move values around without changing them: reshape, permute,
transpose, flatten, squeeze/unsqueeze, indexing, cat, pad, and the
compositions stack, expand, repeat and flip.

Their backward moves the gradient back to where each value came from.
"""
import numpy as np

from minigrad.autograd import Function
from minigrad.ops.common import as_tensor, is_int, raw, resolve_axis
from minigrad.tensor import Tensor


class Reshape(Function):
    view_of_input = True
    def forward(self, x, shape):
        self.input_shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.input_shape)


class Permute(Function):
    view_of_input = True
    def forward(self, x, dims):
        self.inverse = tuple(np.argsort(dims))
        return x.transpose(dims)

    def backward(self, grad):
        return grad.transpose(self.inverse)


class GetItem(Function):
    """x[index]. The backward scatter-adds, so an element picked several
    times by an integer-array index receives every one of its gradients."""

    view_of_input = True                 # for basic indices; the engine checks the memory

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        return x[index]

    def backward(self, grad):
        full = np.zeros(self.shape, dtype=grad.dtype)
        if all(isinstance(p, _BASIC_INDEX) for p in self.index):
            full[self.index] = grad          # views never overlap: plain assignment
        else:
            np.add.at(full, self.index, grad)
        return full


_BASIC_INDEX = (int, np.integer, slice, type(None), type(Ellipsis))    # each gives a view


class Cat(Function):
    def forward(self, *arrays, axis):
        self.axis = axis
        self.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad):
        return tuple(np.split(grad, self.bounds, axis=self.axis))


class Pad(Function):
    """Constant padding; `widths` is numpy's per-axis ((before, after), ...)."""

    def forward(self, x, widths, value):
        self.crop = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    def backward(self, grad):
        return grad[self.crop]


def _normalize_shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(x, *shape):
    shape = _normalize_shape(shape)
    try:
        np.empty(x.shape, dtype=np.bool_).reshape(shape)   # validates without touching data
    except ValueError:
        raise ValueError(f"cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                         f"into {shape}") from None
    return Reshape.apply(x, shape=shape)


def permute(x, *dims):
    dims = _normalize_shape(dims)
    if len(dims) != x.ndim:
        raise ValueError(f"permute: {dims} is not a permutation of the axes of shape {x.shape}")
    # resolve_axis raises on out-of-range or repeated axes
    return Permute.apply(x, dims=resolve_axis(dims, x.ndim))


def transpose(x, dim0, dim1):
    dims = list(range(x.ndim))
    swap = [resolve_axis(None, x.ndim, dim=d) for d in (dim0, dim1)]    # raises naming a bad dim
    if x.ndim:
        dims[swap[0][0]], dims[swap[1][0]] = dims[swap[1][0]], dims[swap[0][0]]
    return permute(x, *dims)


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = resolve_axis(start_dim, x.ndim)[0], resolve_axis(end_dim, x.ndim)[0]
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:start] + (int(np.prod(x.shape[start:end + 1])),) + x.shape[end + 1:]
    return reshape(x, shape)


def squeeze(x, dim=None):
    """Drop the size-1 axes among `dim` (an int or a tuple; None: all axes).
    A 0-d tensor accepts 0 and -1, as in PyTorch."""
    axes = range(x.ndim) if dim is None else resolve_axis(dim, x.ndim)
    return reshape(x, tuple(n for a, n in enumerate(x.shape) if n != 1 or a not in axes))


def unsqueeze(x, dim):
    dim = resolve_axis(dim, x.ndim + 1)[0]
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def getitem(x, index):
    """x[index]; the index is always a tuple here (x[i] is x[(i,)]), its tensors and
    lists as arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    index = tuple(np.asarray(raw(p)) if isinstance(p, (Tensor, list)) else p for p in parts)
    # integers mixed with index arrays: PyTorch's order differs from numpy's
    if any(map(is_int, index)) and any(isinstance(p, np.ndarray) for p in index):
        select, rest = _split_integers(index)
        return GetItem.apply(GetItem.apply(x, index=select), index=rest)
    return GetItem.apply(x, index=index)


def _split_integers(index):
    """PyTorch selects with integers first, then applies the array indices, so
    x[1, :, idx] of a (2, 3, 4) x is (3, len(idx)); numpy counts the integer
    as an array index and puts the broadcast index axes first: (len(idx), 3).
    Returns (the integer selection, the rest) as two basic/advanced indices."""
    select = []
    for part in index:
        if is_int(part) or part is Ellipsis:
            select.append(part)
        elif part is not None:           # a slice or an index array: its axes stay for the rest
            width = part.ndim if isinstance(part, np.ndarray) and part.dtype == bool else 1
            select += [slice(None)] * width
    return tuple(select), tuple(part for part in index if not is_int(part))


def _check_shapes_match(what, tensors, shapes):
    """Raise, naming `what`, at the first tensor whose entry in `shapes` is not tensor 0's."""
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise ValueError(f"{what}: tensor 0 has shape {tensors[0].shape}, tensor {i} has "
                             f"shape {tensors[i].shape}")


def _operands(name, tensors):
    """cat's and stack's operands as tensors of one rank (arrays take a tensor's dtype,
    as in +)."""
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    tensors = [as_tensor(t, like=like, op=name) for t in tensors]
    if not tensors:
        raise ValueError(f"{name} needs at least one tensor")
    _check_shapes_match(f"{name} needs tensors with the same number of dimensions", tensors,
                        [t.ndim for t in tensors])
    return tensors


def cat(tensors, dim=0, *, axis=None):
    tensors = _operands("cat", tensors)
    if tensors[0].ndim == 0:
        raise ValueError("cat: 0-d tensors cannot be concatenated (use stack)")
    axis = resolve_axis(dim if axis is None else axis, tensors[0].ndim)[0]
    _check_shapes_match(f"cat along axis {axis}", tensors,
                        [t.shape[:axis] + t.shape[axis + 1:] for t in tensors])
    return Cat.apply(*tensors, axis=axis)


def stack(tensors, dim=0, *, axis=None):
    tensors = _operands("stack", tensors)
    _check_shapes_match("stack needs equal shapes", tensors, [t.shape for t in tensors])
    axis = resolve_axis(dim if axis is None else axis, tensors[0].ndim + 1)[0]
    return Cat.apply(*(unsqueeze(t, axis) for t in tensors), axis=axis)


def pad(x, pad, value=0.0):
    """Constant padding with PyTorch's convention: `pad` lists (before, after)
    pairs starting from the LAST axis, e.g. (left, right, top, bottom)."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad needs an even number of values, at most 2 per axis ({x.ndim} "
                         f"axes), got {pad}")
    if any(p < 0 for p in pad):
        raise ValueError(f"negative padding is not supported, got {pad}")
    pairs = [(pad[i], pad[i + 1]) for i in range(0, len(pad), 2)]     # last axis first
    widths = ((0, 0),) * (x.ndim - len(pairs)) + tuple(reversed(pairs))
    return Pad.apply(x, widths=widths, value=x.dtype.type(value))


def expand(x, *sizes):
    """Broadcast x to `sizes` (-1 keeps a size; new axes go in front), as x + zeros:
    the engine's unbroadcast sums the gradient back to x's shape."""
    sizes = _normalize_shape(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes {sizes} for a tensor of shape {x.shape}")
    shape = sizes[:lead] + tuple(n if s == -1 else s for s, n in zip(sizes[lead:], x.shape))
    for i, (s, n) in enumerate(zip(shape[lead:], x.shape)):
        if n != 1 and s != n:
            raise ValueError(f"expand: size {s} at dimension {lead + i} does not match {n} (only "
                             f"size-1 dimensions expand), input {x.shape}, sizes {sizes}")
    if any(s < 0 for s in shape):
        raise ValueError("expand: sizes must be >= 0 (-1 only for existing dimensions), "
                         f"got {sizes}")
    return x + np.zeros(shape, dtype=x.dtype)


def repeat(x, *sizes):
    """Tile x: sizes (r0, ..., rk), k+1 >= x.ndim -> shape (r0 * n0, ...), as PyTorch's repeat
    (numpy's tile). Composed: interleave size-1 axes, expand them, merge the pairs."""
    sizes = _normalize_shape(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: {len(sizes)} repeats {sizes} for a tensor of shape {x.shape}")
    if any(r < 0 for r in sizes):
        raise ValueError(f"repeat: repeats must be >= 0, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    pairs = reshape(x, sum(((1, n) for n in shape), ()))
    tiled = expand(pairs, sum(((r, n) for r, n in zip(sizes, shape)), ()))
    return reshape(tiled, tuple(r * n for r, n in zip(sizes, shape)))


def flip(x, dims):
    """Reverse the order of elements along `dims` (an int or a sequence), via getitem."""
    axes = resolve_axis(dims, x.ndim)
    index = tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim))
    return getitem(x, index)
