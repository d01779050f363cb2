"""Batch normalization on arrays, in plain numpy: the definition (no Tensor, no autograd).

Every input is viewed as a 3-D array ``x3`` of shape (N, C, S):

    BatchNorm1d (N, C)        -> (N, C, 1)
    BatchNorm1d (N, C, L)     -> (N, C, L)
    BatchNorm2d (N, C, H, W)  -> (N, C, H*W)

Channel c has M = N*S values, x3[:, c, :].

Conventions (both backends)
---------------------------
- Full-size outputs (y, dx) have the dtype of x3 (float32 or float64).
- Per-channel results (mean, var, invstd, sums) are float64 arrays of length C.
- All arithmetic is done in float64, so float32 inputs far from zero
  (mean 1e4, std 0.1) still normalize to unit variance.
- The variance is biased (divided by M). The caller turns it into the unbiased
  one, var * M / (M - 1), for the running estimate.
- xhat = (x - mean) * invstd is never kept: the backward recomputes it.
- `out`, where accepted, is a C-contiguous array like x3 that receives the result.
"""
import numpy as np

from minigrad.kernels.shapes import as_ncs, check3, output, per_channel  # noqa: F401


def _c(v):
    """A per-channel (C,) vector -> (1, C, 1), to broadcast against (N, C, S)."""
    return v[None, :, None]


def batch_stats(x3):
    """Per-channel mean and biased variance: x3 (N, C, S) -> (mean, var), float64 (C,)."""
    x = check3("x3", x3).astype(np.float64)
    mean = x.mean(axis=(0, 2))
    var = ((x - _c(mean)) ** 2).mean(axis=(0, 2))
    return mean, var


def _bn_output(x3, mean, invstd, weight, bias):
    """gamma * xhat + beta in float64, xhat = (x - mean) * invstd: BN's y before any cast."""
    c = x3.shape[1]
    xhat = (x3.astype(np.float64) - _c(per_channel(mean, c, 0.0))) * _c(invstd)
    return xhat * _c(per_channel(weight, c, 1.0)) + _c(per_channel(bias, c, 0.0))


def normalize_train(x3, weight, bias, eps, out=None, relu=False):
    """Training-mode forward: y = (x - mean) * invstd * gamma + beta, then max(y, 0) if relu
    (a ReLU fused into BN; backward_train takes relu=True too).

    x3: (N, C, S); weight, bias: (C,) or None (gamma=1, beta=0).
    Returns (y, mean, invstd, var): y like x3, the rest float64 (C,), var biased.
    """
    x3 = check3("x3", x3)
    mean, var = batch_stats(x3)
    invstd = 1.0 / np.sqrt(var + eps)
    y = _bn_output(x3, mean, invstd, weight, bias)
    dest = output(out, x3)
    dest[...] = np.maximum(y, 0) if relu else y
    return dest, mean, invstd, var


def scale_shift(x3, scale, shift, out=None):
    """y = x * scale[c] + shift[c]: x3 (N, C, S) -> y like x3, computed in float64.

    Evaluation mode: scale = gamma*invstd, shift = beta - mean*scale.
    Evaluation backward: dx = scale_shift(dy, gamma*invstd, 0).
    """
    x3 = check3("x3", x3)
    c = x3.shape[1]
    dest = output(out, x3)
    dest[...] = x3.astype(np.float64) * _c(per_channel(scale, c, 1.0)) \
        + _c(per_channel(shift, c, 0.0))
    return dest


def backward_reduce(dy3, x3, mean, invstd):
    """The backward's two per-channel sums -> (sum_dy, sum_dy_xhat), float64 (C,).

    sum_dy[c] = sum(dy) (beta's gradient), sum_dy_xhat[c] = sum(dy * xhat) (gamma's).
    """
    dy = check3("dy3", dy3).astype(np.float64)
    x = check3("x3", x3).astype(np.float64)
    c = x.shape[1]
    xhat = (x - _c(per_channel(mean, c, 0.0))) * _c(per_channel(invstd, c, 1.0))
    return dy.sum(axis=(0, 2)), (dy * xhat).sum(axis=(0, 2))


def backward_dx(dy3, x3, mean, invstd, weight, sum_dy, sum_dy_xhat, out=None):
    """Training-mode input gradient, dy3 and x3 (N, C, S) -> dx like x3:

        dx = gamma*invstd/M * (M*dy - sum_dy - xhat*sum_dy_xhat),  M = N*S

    (weight None means gamma = 1): the batch statistics depend on every x, so
    each dx subtracts the channel's mean gradient and its projection on xhat.
    """
    x3 = check3("x3", x3)
    dy = check3("dy3", dy3).astype(np.float64)
    n, c, s = x3.shape
    m = n * s
    invstd = per_channel(invstd, c, 1.0)
    xhat = (x3.astype(np.float64) - _c(per_channel(mean, c, 0.0))) * _c(invstd)
    k = _c(per_channel(weight, c, 1.0) * invstd / m)
    dest = output(out, x3)
    dest[...] = k * (m * dy - _c(per_channel(sum_dy, c, 0.0))
                     - xhat * _c(per_channel(sum_dy_xhat, c, 0.0)))
    return dest


def backward_train(dy3, x3, mean, invstd, weight, bias=None, relu=False, out=None):
    """The training backward -> (dx, sum_dy, sum_dy_xhat): backward_reduce, then backward_dx.

    relu: the forward was normalize_train(..., relu=True), so the gradient reaching BN is
    dy where y = gamma*xhat + beta > 0 and 0 elsewhere (ReLU's), y recomputed from x.
    """
    if relu:
        dy3 = np.where(_bn_output(check3("x3", x3), mean, invstd, weight, bias) > 0, dy3, 0)
    sum_dy, sum_dy_xhat = backward_reduce(dy3, x3, mean, invstd)
    dx = backward_dx(dy3, x3, mean, invstd, weight, sum_dy, sum_dy_xhat, out=out)
    return dx, sum_dy, sum_dy_xhat
