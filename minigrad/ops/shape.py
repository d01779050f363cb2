"""Ops that move values around without changing them: reshape, permute,
transpose, flatten, squeeze/unsqueeze, indexing, cat, stack and pad.

Their backward moves the gradient back to where each value came from.
"""
import numpy as np

from minigrad.autograd import Function
from minigrad.ops.common import as_tensor, resolve_axis
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
        if _is_basic_index(self.index):
            full[self.index] = grad          # views never overlap: plain assignment
        else:
            np.add.at(full, self.index, grad)
        return full


def _is_basic_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


class Cat(Function):
    def forward(self, *arrays, axis):
        self.axis = axis
        self.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad):
        return tuple(np.split(grad, self.bounds, axis=self.axis))


class Stack(Function):
    def forward(self, *arrays, axis):
        self.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(self, grad):
        return tuple(np.moveaxis(grad, self.axis, 0))


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
        raise ValueError(f"cannot reshape a tensor of shape {x.shape} ({x.size} elements) into {shape}") from None
    return Reshape.apply(x, shape=shape)


def permute(x, *dims):
    dims = _normalize_shape(dims)
    if len(dims) != x.ndim:
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Permute.apply(x, dims=resolve_axis(dims, x.ndim))   # raises on out-of-range or repeated axes


def transpose(x, dim0, dim1):
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
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
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dim = resolve_axis(dim, x.ndim)[0]
        shape = x.shape if x.shape[dim] != 1 else x.shape[:dim] + x.shape[dim + 1:]
    return reshape(x, shape)


def unsqueeze(x, dim):
    dim = resolve_axis(dim, x.ndim + 1)[0]
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def getitem(x, index):
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    elif isinstance(index, list):
        index = np.asarray(index)
    return GetItem.apply(x, index=index)


def _check_same_rank(name, tensors, axis):
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    tensors = [as_tensor(t, like=like) for t in tensors]     # arrays take a tensor's dtype, as in `+`
    if not tensors:
        raise ValueError(f"{name} needs at least one tensor")
    first = tensors[0]
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim:
            raise ValueError(f"{name}: tensor 0 has {first.ndim} dimensions but tensor {i} has {t.ndim}")
    return tensors


def cat(tensors, dim=0, *, axis=None):
    tensors = _check_same_rank("cat", tensors, dim)
    axis = resolve_axis(dim if axis is None else axis, tensors[0].ndim)[0]
    for i, t in enumerate(tensors):
        if t.shape[:axis] + t.shape[axis + 1:] != tensors[0].shape[:axis] + tensors[0].shape[axis + 1:]:
            raise ValueError(f"cat along axis {axis}: tensor 0 has shape {tensors[0].shape}, "
                             f"tensor {i} has shape {t.shape}")
    return Cat.apply(*tensors, axis=axis)


def stack(tensors, dim=0, *, axis=None):
    tensors = _check_same_rank("stack", tensors, dim)
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack needs equal shapes: tensor 0 has {tensors[0].shape}, tensor {i} has {t.shape}")
    axis = resolve_axis(dim if axis is None else axis, tensors[0].ndim + 1)[0]
    return Stack.apply(*tensors, axis=axis)


def pad(x, pad, value=0.0):
    """Constant padding with PyTorch's convention: `pad` lists (before, after)
    pairs starting from the LAST axis, e.g. (left, right, top, bottom)."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad needs an even number of values, at most 2 per axis ({x.ndim} axes), got {pad}")
    if any(p < 0 for p in pad):
        raise ValueError(f"negative padding is not supported, got {pad}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    fill = x.dtype.type(value)
    return Pad.apply(x, widths=tuple(widths), value=fill)
