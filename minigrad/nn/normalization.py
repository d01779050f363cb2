"""LayerNorm, GroupNorm, InstanceNorm1d/2d: the modules around the functions in
minigrad/ops/normalization.py, with PyTorch's arguments, defaults and
state_dict keys (weight, bias; running_mean, running_var, num_batches_tracked
for an InstanceNorm that tracks running statistics).

None of them needs the batch for its statistics except InstanceNorm's
optional running averages, so train() and eval() give the same output for
LayerNorm and GroupNorm, and for InstanceNorm unless track_running_stats=True.
"""
import numpy as np

from minigrad.nn.batchnorm import _BatchNorm, register_affine
from minigrad.nn.module import Module
from minigrad.ops.normalization import group_norm, instance_norm, layer_norm


class LayerNorm(Module):
    """x (*, *normalized_shape) -> same shape, standardized over the trailing axes.

    weight (init 1) and bias (init 0) have shape normalized_shape: LayerNorm's
    affine map is per element, not per channel.
    """

    _repr_template = "{normalized_shape}, eps={eps}, elementwise_affine={elementwise_affine}"

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()
        shape = tuple(np.atleast_1d(normalized_shape))     # an int or a sequence of them
        if not shape or any(not isinstance(d, np.integer) or d < 1 for d in shape):
            raise ValueError(f"normalized_shape must be a positive int or a non-empty tuple of "
                             f"them, got {normalized_shape!r}")
        self.normalized_shape = tuple(int(d) for d in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        register_affine(self, self.normalized_shape, elementwise_affine,
                        elementwise_affine and bias)

    def forward(self, x):
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


class GroupNorm(Module):
    """x (N, C, *) -> same shape; each sample's C channels in num_groups groups,
    each group standardized over its channels and positions. weight, bias: (C,).
    """

    _repr_template = "{num_groups}, {num_channels}, eps={eps}, affine={affine}"

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True):
        super().__init__()
        if num_groups < 1 or num_channels < 1 or num_channels % num_groups:
            raise ValueError(f"num_channels must be divisible by num_groups (both positive), "
                             f"got num_groups={num_groups}, num_channels={num_channels}")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = eps, affine
        register_affine(self, num_channels, affine, affine)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm was built for {self.num_channels} channels, got input of "
                             f"shape {tuple(x.shape)}")
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


class _InstanceNorm(_BatchNorm):
    """BN's constructor and buffers with InstanceNorm's defaults; the statistics
    are per sample and channel (ops/normalization.py: instance_norm).

    Differs from PyTorch: a channel count other than num_features is an error
    even with affine=False, where PyTorch only warns.
    """
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x):
        self._check_rank(x)
        batch = x if x.ndim == self.expected_ranks[0] else x.reshape(1, *x.shape)
        if batch.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__} was built for {self.num_features} channels "
                             f"(num_features), got input of shape {tuple(x.shape)}")
        # PyTorch: momentum=None means no running update for InstanceNorm (momentum 0).
        y = instance_norm(batch, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats,
                          0.0 if self.momentum is None else self.momentum, self.eps)
        return y if batch is x else y.reshape(*x.shape)


class InstanceNorm1d(_InstanceNorm):
    """x (N, C, L) or (C, L): each channel of each sample standardized over L."""
    expected_ranks = (3, 2)


class InstanceNorm2d(_InstanceNorm):
    """x (N, C, H, W) or (C, H, W): each channel of each sample standardized over H, W."""
    expected_ranks = (4, 3)
