"""Inverted dropout: zero each element with probability p and scale the
survivors by 1 / (1 - p), so the expected value is unchanged and evaluation
needs no rescaling. The keep-mask is drawn from minigrad's seeded generator,
or given (a boolean array of x's shape) so a test can check gradients with
a fixed mask.
"""
import numpy as np

from minigrad.autograd import Function
from minigrad.ops.common import check_float, is_real, raw
from minigrad.random import generator


class Dropout(Function):
    """y = x * keep * scale; the gradient is masked and scaled the same way."""

    def forward(self, x, *, keep, scale):
        # keep * scale as one array of x's dtype: the backward reuses it as is.
        multiplier = np.multiply(keep, x.dtype.type(scale), dtype=x.dtype)
        self.save_for_backward(multiplier)
        return x * multiplier

    def backward(self, grad):
        return grad * self.saved_arrays[0]


def check_probability(p) -> float:
    if not is_real(p) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def dropout(x, p=0.5, training=True, *, mask=None):
    """Zero elements of x with probability p (training only); identity otherwise.

    mask: optional boolean keep-mask of x's shape (True = keep) used instead of
    a random draw.
    """
    p = check_probability(p)
    if not training or p == 0.0:
        return x
    check_float("dropout", x, "input")
    if mask is None:
        keep = generator().random(x.shape, dtype=np.float32) >= p
    else:
        keep = np.asarray(raw(mask))
        if keep.shape != x.shape or keep.dtype != np.bool_:
            raise ValueError(f"dropout mask must be a boolean array of shape {x.shape}, "
                             f"got {keep.dtype} of shape {keep.shape}")
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return Dropout.apply(x, keep=keep, scale=scale)
