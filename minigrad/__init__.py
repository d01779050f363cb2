"""minigrad: a small, readable autograd framework centred on batch normalization.

    import minigrad
    x = minigrad.Tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * 3).sigmoid().sum()
    y.backward()
    x.grad          # d y / d x

Kernels run on numba by default; minigrad.set_backend("numpy") (or
MINIGRAD_BACKEND=numpy) switches to the plain-numpy reference ones.
"""
import numpy as np

from minigrad.tensor import Tensor
from minigrad.autograd import no_grad, is_grad_enabled, Function
from minigrad.random import manual_seed
from minigrad.gradcheck import gradcheck, GradcheckError
from minigrad.ops import (  # noqa: F401  (functions of the same name as the Tensor methods)
    add, sub, mul, div, neg, matmul, exp, log, sqrt, abs, relu, sigmoid, tanh, maximum, minimum,
    clip, sum, mean, max, var, argmax, reshape, permute, transpose, flatten, squeeze, unsqueeze,
    cat, stack, pad, softmax, log_softmax, sin, cos, erf, min, argmin, std, cumsum, expand, repeat,
    flip, where, masked_fill, gather, tril, triu)
from minigrad.factories import (  # noqa: F401
    tensor, zeros, ones, zeros_like, ones_like, full, arange, randn, rand, eye)
from minigrad.serialization import save, load  # noqa: F401
from minigrad.kernels import set_backend, get_backend, backend  # noqa: F401
import minigrad.nn  # noqa: E402,F401
import minigrad.optim  # noqa: E402,F401

float32 = np.float32
float64 = np.float64
int64 = np.int64

__version__ = "0.1.0"

# Loaded on first use, so that `import minigrad` stays light: viz needs graphviz,
# the examples' plots need matplotlib, and most programs need neither.
_LAZY_SUBMODULES = ("viz", "data", "models", "explain")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib
        return importlib.import_module(f"minigrad.{name}")
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
