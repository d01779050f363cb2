"""Batch normalization as ONE op with a hand-derived backward, and the same
computation composed from primitive ops so autograd can check it.

Shapes: x is (N, C), (N, C, L) or (N, C, H, W). Every statistic is per
channel, over the M = N * L (or N * H * W) values that share channel c; the
kernels see x as (N, C, S) with S = 1, L or H * W.

Forward (training), per channel, with the BIASED batch variance:

    mean   = sum(x) / M
    var    = sum((x - mean)^2) / M
    invstd = 1 / sqrt(var + eps)
    xhat   = (x - mean) * invstd
    y      = gamma * xhat + beta

Backward. mean and var are functions of every x in the channel, so dy/dx has
three paths: the direct one through xhat, one through mean, one through var.
Summing them (derivation in docs/batchnorm.md) gives the closed form

    dx     = gamma * invstd / M * (M * dy - sum(dy) - xhat * sum(dy * xhat))
    dgamma = sum(dy * xhat)
    dbeta  = sum(dy)

which needs two per-channel sums (one pass over dy and x) and one more pass
to write dx. xhat is recomputed from x, mean and invstd instead of being kept
alive as another full-size array.

In evaluation the statistics are the running estimates, constants with
respect to x, so the op is an affine map per channel: dx = dy * gamma * invstd.
"""
import numpy as np

from minigrad.autograd import Function
from minigrad.kernels import batchnorm as kernels
from minigrad.ops.common import is_real, raw
from minigrad.tensor import Tensor


class BatchNorm(Function):
    """Inputs: x, and (when affine) weight = gamma and bias = beta.

    params: running_mean / running_var (float arrays of length C, or None when
    not tracked; updated in place in training), use_batch_stats, momentum
    (the weight of the new batch statistic), eps.
    """

    owned_grads = (0, 1, 2)              # dx is written into a new array, the sums are cast copies

    def forward(self, x, weight=None, bias=None, *, running_mean, running_var,
                use_batch_stats, momentum, eps, relu=False):
        self.shape = x.shape
        x3 = kernels.as_ncs(x)
        self.save_for_backward(x3, weight, bias)
        self.use_batch_stats, self.relu = use_batch_stats, relu
        if use_batch_stats:
            y3, self.mean, self.invstd, var = kernels.normalize_train(x3, weight, bias, eps,
                                                                      relu=relu)
            if running_mean is not None:
                _update_running_stats(running_mean, running_var, self.mean, var, momentum, x3)
        else:
            self.mean = running_mean.astype(np.float64)
            self.invstd = 1.0 / np.sqrt(running_var.astype(np.float64) + eps)
            self.scale, shift = eval_scale_shift(running_mean, running_var, eps, weight, bias)
            y3 = kernels.scale_shift(x3, self.scale, shift)
        return y3.reshape(self.shape)

    def backward(self, grad):
        x3, weight, bias = self.saved_arrays
        dy3 = kernels.as_ncs(grad)
        if self.use_batch_stats:     # one call: the fast backend writes dx with the sums
            dx3, sum_dy, sum_dy_xhat = kernels.backward_train(dy3, x3, self.mean, self.invstd,
                                                              weight, bias, self.relu)
        else:                        # fixed statistics: y = x * scale + shift, so dx = dy * scale
            sum_dy, sum_dy_xhat = kernels.backward_reduce(dy3, x3, self.mean, self.invstd)
            dx3 = kernels.scale_shift(dy3, self.scale, None) if self.needs_input_grad[0] else None
        # dx3 is a new (N, C, S) array (or None): its view in x's shape owns its memory
        dx = dx3.reshape(self.shape) if self.needs_input_grad[0] else None
        if weight is None:
            return (dx,)
        return dx, sum_dy_xhat.astype(x3.dtype), sum_dy.astype(x3.dtype)


def eval_scale_shift(running_mean, running_var, eps, weight=None, bias=None):
    """BN with fixed statistics is y = x * scale + shift per channel -> (scale, shift),
    float64 (C,): scale = gamma / sqrt(var + eps), shift = beta - mean * scale.

    The one place this is computed: the op's evaluation forward and backward,
    and `fuse_conv_bn`, which folds it into the convolution before the BN.
    weight/bias None mean gamma = 1, beta = 0.
    """
    invstd = 1.0 / np.sqrt(np.asarray(running_var, dtype=np.float64) + eps)
    gamma = 1.0 if weight is None else np.asarray(weight, dtype=np.float64)
    beta = 0.0 if bias is None else np.asarray(bias, dtype=np.float64)
    scale = gamma * invstd
    return scale, beta - np.asarray(running_mean, dtype=np.float64) * scale


def _update_running_stats(running_mean, running_var, mean, var, momentum, x3):
    """running = (1 - momentum) * running + momentum * batch_stat, in place.

    The running variance takes the UNBIASED batch variance (divide by M - 1),
    while the normalization above used the biased one: PyTorch's convention.
    """
    count = x3.shape[0] * x3.shape[2]
    unbiased_var = var * (count / (count - 1))
    # float64 statistics added into float32 buffers: `+=` rounds once (same_kind casting)
    running_mean *= 1 - momentum
    running_mean += momentum * mean
    running_var *= 1 - momentum
    running_var += momentum * unbiased_var


def batch_norm_composed(x, weight=None, bias=None, eps=1e-5):
    """Training-mode batch norm written with minigrad's primitive ops.

    Autograd differentiates this through the batch mean and variance on its
    own, one small op at a time: the result the fused op's closed-form
    backward must agree with (tests/test_batchnorm.py checks that it does).
    """
    axes = (0,) + tuple(range(2, x.ndim))               # every axis but the channel axis
    stats_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)  # broadcasts against x per channel
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)   # biased: divide by M
    xhat = centered / (var + eps).sqrt()
    if weight is not None:
        xhat = xhat * weight.reshape(stats_shape)
    if bias is not None:
        xhat = xhat + bias.reshape(stats_shape)
    return xhat


def check_batch_norm_input(x, num_features=None, training=True):
    """Raise a clear error for input BN cannot normalize, before any state changes."""
    if getattr(x, "dtype", None) not in (np.float32, np.float64):
        raise TypeError(f"batch norm supports float32 and float64 tensors, "
                        f"got {getattr(x, 'dtype', type(x).__name__)}")
    if not isinstance(x, Tensor):
        raise TypeError(f"batch norm expects a Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"batch norm expects input of shape (N, C, ...), got shape {x.shape}")
    if num_features is not None and x.shape[1] != num_features:
        raise ValueError(f"batch norm was built for {num_features} channels (num_features="
                         f"{num_features}) but the input has {x.shape[1]} channels "
                         f"(shape {x.shape})")
    if training and x.size and x.size // x.shape[1] < 2:          # values per channel
        raise ValueError("Expected more than 1 value per channel when training, got input of "
                         f"shape {x.shape}: one value has no variance (use a larger batch, or "
                         "eval() mode for single samples)")


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, *, relu=False):
    """PyTorch's F.batch_norm: normalize x per channel (axis 1).

    training=True: use the batch's statistics (biased variance) and, when
    running_mean / running_var are given, update them in place with weight
    `momentum` (the running variance with the unbiased batch variance).
    training=False: use running_mean / running_var.

    relu=True (minigrad's, not PyTorch's; training only) returns relu(batch_norm(x)) as
    one op: the fast backend writes the ReLU with y and applies its mask inside BN's
    backward, in its fused kernels with no pass of its own (Sequential's fusion plan uses
    it for BN then ReLU).
    """
    check_batch_norm_input(x, training=training)
    channels = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise ValueError(f"batch norm: {name} must have shape ({channels},) for an input with "
                             f"{channels} channels, got {tuple(t.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch norm: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError("batch norm: running_mean and running_var are needed when training=False")
    if relu and not training:
        raise ValueError("batch norm: relu=True (a ReLU fused into BN) needs training=True")
    if not is_real(momentum) or not 0 <= momentum <= 1:
        raise ValueError(f"batch norm: momentum must be a number in [0, 1], got {momentum!r}")
    if not is_real(eps) or not eps > 0:
        raise ValueError(f"batch norm: eps must be a positive number, got {eps!r}")
    if (weight is None) != (bias is None):
        raise ValueError("batch norm: give both weight and bias (affine), or neither")

    if x.size == 0:
        return x.reshape(x.shape)        # as PyTorch: an empty output, the running stats untouched
    inputs = (x,) if weight is None else (x, weight, bias)
    out = BatchNorm.apply(*inputs, running_mean=raw(running_mean), running_var=raw(running_var),
                          use_batch_stats=training, momentum=float(momentum), eps=float(eps),
                          relu=bool(relu))
    if training and isinstance(running_mean, Tensor):
        running_mean._bump_version()        # updated in place: an in-place change like add_
        running_var._bump_version()
    return out
