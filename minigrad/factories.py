"""Functions that make new tensors. Random ones draw from minigrad's seeded generator."""
import numpy as np

from minigrad.random import generator
from minigrad.tensor import Tensor


def _shape(shape):
    """zeros(2, 3) and zeros((2, 3)) alike."""
    nested = len(shape) == 1 and isinstance(shape[0], (tuple, list))
    return tuple(shape[0]) if nested else tuple(shape)


def tensor(data, requires_grad=False, dtype=None) -> Tensor:
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, dtype=np.float32, requires_grad=False) -> Tensor:
    return Tensor(np.zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=np.float32, requires_grad=False) -> Tensor:
    return Tensor(np.ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def full(shape, value, dtype=np.float32, requires_grad=False) -> Tensor:
    return Tensor(np.full(_shape((shape,)), value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t: Tensor, requires_grad=False) -> Tensor:
    return Tensor(np.zeros_like(t.data), requires_grad=requires_grad)


def ones_like(t: Tensor, requires_grad=False) -> Tensor:
    return Tensor(np.ones_like(t.data), requires_grad=requires_grad)


def arange(*args, dtype=None) -> Tensor:
    return Tensor(np.arange(*args, dtype=dtype))


def eye(n, m=None, dtype=np.float32, requires_grad=False) -> Tensor:
    """(n, m) with ones on the diagonal (m defaults to n)."""
    for name, value in (("n", n), ("m", n if m is None else m)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"eye: {name} must be an int >= 0, got {value!r}")
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad)


def randn(*shape, dtype=np.float32, requires_grad=False) -> Tensor:
    data = generator().standard_normal(_shape(shape)).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape, dtype=np.float32, requires_grad=False) -> Tensor:
    data = generator().random(_shape(shape)).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)
