"""BatchNorm's relatives: layer, group and instance normalization, written as
ONE formulation on top of BN's fused op (minigrad/ops/batchnorm.py).

Every member of the family standardizes x over some axes and then applies a
learned scale and shift. They differ only in which values share a mean and a
variance. View x so that each such set of values becomes one BN "channel" of
a batch of one, and BN's per-channel reduction does the rest:

    GroupNorm     (N, C, *)           -> (1, N*G, (C/G) * S)
    InstanceNorm  (N, C, *)           -> (1, N*C, S)            (GroupNorm with G = C)
    LayerNorm     (*, normalized)     -> (1, prod(leading), prod(normalized))

with S the number of spatial positions. `normalize_over` does that view, runs
the fused op in batch-statistics mode without affine (so the backward is BN's
closed form, through the mean and the variance), and reshapes back. The scale
and shift are then ordinary broadcasting ops, differentiated by autograd:
per channel for GroupNorm and InstanceNorm, per element for LayerNorm.
"""
import math

import numpy as np

from minigrad.ops.batchnorm import BatchNorm, batch_norm
from minigrad.ops.common import check_float, is_int, raw


def normalize_over(x, groups, eps=1e-5):
    """Standardize x in `groups` equal, contiguous sets of values (in C order).

    x: any shape whose size is a multiple of `groups`, e.g. (N, G * k, ...).
    -> x's shape: each set has mean 0 and biased variance 1 (up to eps).
    """
    flat = x.reshape(1, groups, x.size // groups)
    y = BatchNorm.apply(flat, running_mean=None, running_var=None, momentum=0.0,
                        use_batch_stats=True, eps=float(eps))
    return y.reshape(*x.shape)


def _channel_affine(y, weight, bias, per_element=False):
    """y (N, C, *) * weight (C,) + bias (C,), broadcast over N and the spatial axes;
    per_element: weight and bias have y's trailing shape and broadcast as they are."""
    shape = None if per_element else (y.shape[1],) + (1,) * (y.ndim - 2)
    if weight is not None:
        y = y * (weight if per_element else weight.reshape(*shape))
    if bias is not None:
        y = y + (bias if per_element else bias.reshape(*shape))
    return y


def _check(op, input, shape, eps, **params):
    """The checks all three share: a float input, each given parameter of `shape`, eps > 0."""
    check_float(op, input)
    for name, t in params.items():
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"{op}: {name} must have shape {shape}, got {tuple(t.shape)}")
    if eps <= 0:
        raise ValueError(f"{op}: eps must be positive, got {eps}")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """PyTorch's F.layer_norm: standardize over the trailing axes `normalized_shape`.

    input: (*, *normalized_shape); weight, bias: normalized_shape or None.
    -> input's shape. One mean and one (biased) variance per leading index.
    """
    shape = (normalized_shape,) if is_int(normalized_shape) else tuple(normalized_shape)
    lead = input.ndim - len(shape)              # the axes that keep their own statistics
    if not shape or lead < 0 or tuple(input.shape[lead:]) != shape:
        raise ValueError(f"layer_norm: expected input with trailing shape {shape} "
                         f"(normalized_shape), got input of shape {tuple(input.shape)}")
    _check("layer_norm", input, shape, eps, weight=weight, bias=bias)
    y = normalize_over(input, int(np.prod(input.shape[:lead], dtype=np.int64)), eps)
    return _channel_affine(y, weight, bias, per_element=True)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """PyTorch's F.group_norm: split the C channels into `num_groups` groups of
    C / num_groups and standardize each group of each sample over its channels
    and positions.

    input: (N, C, *); weight, bias: (C,) or None. -> input's shape.
    """
    if input.ndim < 2:
        raise ValueError(f"group_norm expects input of shape (N, C, *), got {tuple(input.shape)}")
    channels = input.shape[1]
    if num_groups < 1 or channels % num_groups:
        raise ValueError(f"group_norm: the {channels} channels of input {tuple(input.shape)} "
                         f"must be divisible by num_groups, got num_groups={num_groups}")
    _check("group_norm", input, (channels,), eps, weight=weight, bias=bias)
    return _channel_affine(normalize_over(input, input.shape[0] * num_groups, eps), weight, bias)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """PyTorch's F.instance_norm: standardize each channel of each sample over
    its positions.

    input: (N, C, *); running_mean / running_var / weight / bias: (C,) or None.
    use_input_stats=True: each instance's own statistics; when the running
    buffers are given, they are updated in place with weight `momentum` by the
    MEAN OVER THE N SAMPLES of the per-instance mean and unbiased variance
    (PyTorch's rule). use_input_stats=False: the running statistics, which is
    batch norm in evaluation mode.
    """
    if input.ndim < 3:
        raise ValueError(f"instance_norm expects input of shape (N, C, *) with at least one "
                         f"spatial axis, got {tuple(input.shape)}")
    n, channels = input.shape[:2]
    _check("instance_norm", input, (channels,), eps, running_mean=running_mean,
           running_var=running_var, weight=weight, bias=bias)
    if (running_mean is None) != (running_var is None):
        raise ValueError("instance_norm: give both running_mean and running_var, or neither")
    if not use_input_stats:
        if running_mean is None:
            raise ValueError("instance_norm: running_mean and running_var are needed "
                             "when use_input_stats=False")
        return batch_norm(input, running_mean, running_var, weight, bias, training=False, eps=eps)
    if math.prod(input.shape[2:]) < 2:
        raise ValueError(f"instance_norm: expected more than 1 spatial element when training, "
                         f"got input of shape {tuple(input.shape)}")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"instance_norm: momentum must be in [0, 1], got {momentum}")
    if input.size == 0:                 # as batch_norm: an empty output, the buffers untouched
        return input.reshape(input.shape)
    if running_mean is not None:
        per_instance = input.data.reshape(n, channels, -1).astype(np.float64)
        for buffer, stat in ((raw(running_mean), per_instance.mean(axis=2)),
                             (raw(running_var), per_instance.var(axis=2, ddof=1))):
            buffer *= 1 - momentum
            buffer += (momentum * stat.mean(axis=0)).astype(buffer.dtype)
    return _channel_affine(normalize_over(input, n * channels, eps), weight, bias)
