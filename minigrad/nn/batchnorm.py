"""BatchNorm1d and BatchNorm2d: the modules around the fused op in
minigrad/ops/batchnorm.py.

A module owns what persists between batches: gamma and beta (parameters),
the running mean and variance and the count of batches seen (buffers). Keys,
shapes, defaults and update rules are PyTorch's, so a state_dict loads into
torch.nn.BatchNorm1d/2d unchanged.
"""
import numbers

import numpy as np

from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.ops.batchnorm import batch_norm, check_batch_norm_input
from minigrad.tensor import Tensor


class _BatchNorm(Module):
    expected_ranks = ()                  # set by each subclass
    _optional_buffers = ("num_batches_tracked",)     # added in PyTorch 0.4.1; older files lack it

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, numbers.Integral):
            raise TypeError(f"{type(self).__name__}: num_features must be an int, got {num_features!r}")
        if num_features < 1:
            raise ValueError(f"{type(self).__name__}: num_features must be positive, got {num_features}")
        _check_settings(type(self).__name__, eps, momentum)
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        register_affine(self, num_features, affine, affine)     # gamma, beta
        stats = (("running_mean", np.zeros(num_features, dtype=np.float32)),
                 ("running_var", np.ones(num_features, dtype=np.float32)),
                 ("num_batches_tracked", np.array(0, dtype=np.int64)))
        for name, value in stats:
            self.register_buffer(name, Tensor(value) if track_running_stats else None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def _check_rank(self, x):
        if x.ndim not in self.expected_ranks:
            wanted = " or ".join(f"{r}-D" for r in self.expected_ranks)
            raise ValueError(f"{type(self).__name__} expects {wanted} input, got {x.ndim}-D input of shape {x.shape}")

    def forward(self, x):
        # Every check before the counter moves: a call that raises changes no buffer.
        _check_settings(type(self).__name__, self.eps, self.momentum)
        check_batch_norm_input(x, training=self.training or not self.track_running_stats)
        self._check_rank(x)
        use_batch_stats = self.training or not self.track_running_stats
        check_batch_norm_input(x, self.num_features, training=use_batch_stats)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                # Cumulative moving average: the n-th batch gets weight 1/n.
                momentum = 1.0 / int(self.num_batches_tracked.data)
        updates_buffers = self.training and self.track_running_stats
        return batch_norm(
            x,
            self.running_mean if (updates_buffers or not use_batch_stats) else None,
            self.running_var if (updates_buffers or not use_batch_stats) else None,
            self.weight, self.bias, training=use_batch_stats, momentum=momentum, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


def register_affine(module, shape, weight: bool, bias: bool):
    """Register `weight` (ones) and `bias` (zeros) of `shape`, each as None when not wanted,
    as every normalization layer does."""
    module.register_parameter("weight", Parameter(np.ones(shape, np.float32)) if weight else None)
    module.register_parameter("bias", Parameter(np.zeros(shape, np.float32)) if bias else None)


def _check_settings(layer, eps, momentum):
    """eps > 0 and momentum in [0, 1] (or None), at construction and at every call,
    since both are plain attributes a user may reassign."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
        raise ValueError(f"{layer}: eps must be a positive number, got {eps!r}")
    if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, numbers.Real)
                                 or not 0.0 <= momentum <= 1.0):
        raise ValueError(f"{layer}: momentum must be a number in [0, 1] or None, got {momentum!r}")


class BatchNorm1d(_BatchNorm):
    """Per-feature BN over a batch: input (N, C) or (N, C, L); statistics over N (and L)."""
    expected_ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Per-channel BN for conv feature maps: input (N, C, H, W); statistics over N, H and W."""
    expected_ranks = (4,)
