"""The activations beyond relu/sigmoid/tanh, each composed from existing ops, so
autograd derives every backward: leaky_relu, gelu, elu, silu, softplus, hardtanh.

Gradients at the kinks follow PyTorch: leaky_relu and elu take the negative
side's slope at 0, hardtanh passes no gradient at its bounds.
"""
import math

import numpy as np

from minigrad.ops.common import check_float, check_real
from minigrad.ops.elementwise import erf, maximum
from minigrad.ops.select import where

GELU_APPROXIMATIONS = ("none", "tanh")


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, negative_slope * x elsewhere."""
    check_float("leaky_relu", x)
    check_real("leaky_relu", negative_slope=negative_slope)
    return where(x.data > 0, x, x * negative_slope)


def gelu(x, approximate="none"):
    """x * Phi(x) with Phi the standard normal CDF ('none': exact, through erf), or
    PyTorch's 'tanh' approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    check_float("gelu", x)
    if approximate not in GELU_APPROXIMATIONS:
        raise ValueError(f"gelu: approximate must be one of {GELU_APPROXIMATIONS}, "
                         f"got {approximate!r}")
    if approximate == "tanh":
        inner = (x + 0.044715 * x ** 3) * math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + inner.tanh())
    return 0.5 * x * (1 + erf(x * (1 / math.sqrt(2))))


def elu(x, alpha=1.0):
    """x where x > 0, alpha * (exp(x) - 1) elsewhere. exp sees min(x, 0) only: an
    exp(x) of a large x would be inf, and where's zero gradient times inf is nan."""
    check_float("elu", x)
    check_real("elu", alpha=alpha)
    return where(x.data > 0, x, alpha * (x.clip(max=0).exp() - 1))


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    check_float("silu", x)
    return x * x.sigmoid()


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta; x itself where beta x > threshold (as PyTorch).

    Written as max(z, 0) + log(1 + exp(-|z|)) so that exp never overflows; the
    tie rule of maximum (half each side) gives the right slope 1/2 at z = 0.
    """
    check_float("softplus", x)
    check_real("softplus", beta=beta, threshold=threshold)
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    z = x * beta
    soft = (maximum(z, 0) + (1 + (-z.abs()).exp()).log()) / beta
    return where(z.data > threshold, x, soft)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 elsewhere."""
    check_float("hardtanh", x)
    check_real("hardtanh", min_val=min_val, max_val=max_val)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) is greater than max_val ({max_val})")
    inside = (x.data > min_val) & (x.data < max_val)
    return where(inside, x, np.clip(x.data, min_val, max_val))
