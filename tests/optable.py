"""Helpers of the op table (tests/test_ops_table.py): input makers, the one
tolerance rule per dtype, and the three checks every row goes through.

A row is `Case(name, inputs, fn, torch=SAME, ref=None)`:
* `inputs`: makers, each `maker(rng) -> float64 array` (a differentiable input)
  or a `Const` (an index, a mask: passed as is, never differentiated);
* `fn(m, *inputs)`: the call, with `m` the namespace, so one lambda such as
  `lambda m, a, b: m.maximum(a, b)` runs on minigrad and on torch;
* `torch`: SAME (run `fn` with m=torch), another callable of the same form, or None;
* `ref`: optional `ref(*arrays) -> ndarray` in numpy, checked instead of torch.
"""
from typing import Callable, NamedTuple, Optional

import numpy as np

import minigrad

SAME = "same"

# One tolerance rule per dtype: float32 results are compared with a float64 reference.
TOLERANCE = {np.dtype(np.float64): dict(rtol=1e-9, atol=1e-11),
             np.dtype(np.float32): dict(rtol=2e-4, atol=2e-5)}


class Const(NamedTuple):
    """A non-differentiable input (index array, mask, integer labels)."""
    value: object


class Case(NamedTuple):
    name: str
    inputs: list
    fn: Callable
    torch: object = SAME
    ref: Optional[Callable] = None


# ---- makers: rng -> float64 array ------------------------------------------------------

def N(*shape):
    return lambda rng: rng.standard_normal(shape)


def U(low, high, *shape):
    return lambda rng: rng.uniform(low, high, shape)


def P(*shape):
    """Positive, away from 0 (log, sqrt, division)."""
    return U(0.5, 2.0, *shape)


def A(*shape):
    """Away from 0 on both sides (kinks of abs, relu, leaky_relu at 0)."""
    return lambda rng: rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def T(rows, cols):
    """A non-contiguous (Fortran-ordered) view: the transpose of a (cols, rows) array."""
    return lambda rng: rng.standard_normal((cols, rows)).T


def V(values):
    return lambda rng: np.asarray(values, dtype=np.float64)


# ---- running a row -----------------------------------------------------------------------

def make_arrays(case, seed=0):
    rng = np.random.default_rng(seed)
    return [x if isinstance(x, Const) else x(rng) for x in case.inputs]


def run_minigrad(case, arrays, dtype=np.float64, requires_grad=True):
    tensors = [x.value if isinstance(x, Const) else
               minigrad.Tensor(np.asarray(x, dtype=dtype), requires_grad=requires_grad) for x in arrays]
    return case.fn(minigrad, *tensors), tensors


def run_torch(case, arrays):
    import torch
    fn = case.fn if case.torch == SAME else case.torch

    def convert(x):
        if isinstance(x, Const):
            value = x.value.data if isinstance(x.value, minigrad.Tensor) else x.value
            return torch.as_tensor(value) if isinstance(value, np.ndarray) else value
        return torch.tensor(np.array(x), dtype=torch.float64, requires_grad=True)
    tensors = [convert(x) for x in arrays]
    return fn(torch, *tensors), tensors


def assert_close(actual, expected, dtype, what=""):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                               err_msg=what, **TOLERANCE[np.dtype(dtype)])


def differentiable(tensors):
    return [t for t in tensors if isinstance(t, minigrad.Tensor) and t.requires_grad]
