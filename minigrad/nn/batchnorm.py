"""BatchNorm1d and BatchNorm2d: the modules around the fused op in
minigrad/ops/batchnorm.py.

A module owns what persists between batches: gamma and beta (parameters),
the running mean and variance and the count of batches seen (buffers). Keys,
shapes, defaults and update rules are PyTorch's, so a state_dict loads into
torch.nn.BatchNorm1d/2d unchanged.
"""
import numpy as np

from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.ops.batchnorm import batch_norm, check_batch_norm_input
from minigrad.ops.common import is_real, positive_int
from minigrad.tensor import Tensor


class _BatchNorm(Module):
    expected_ranks = ()                  # set by each subclass
    _optional_buffers = ("num_batches_tracked",)     # added in PyTorch 0.4.1; older files lack it
    _repr_template = ("{num_features}, eps={eps}, momentum={momentum}, affine={affine}, "
                      "track_running_stats={track_running_stats}")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True):
        super().__init__()
        layer = type(self).__name__
        self.num_features = positive_int(num_features, f"{layer}: num_features")
        if not is_real(eps) or not eps > 0:
            raise ValueError(f"{layer}: eps must be a positive number, got {eps!r}")
        if momentum is not None and not (is_real(momentum) and 0.0 <= momentum <= 1.0):
            raise ValueError(f"{layer}: momentum must be a number in [0, 1] or None, "
                             f"got {momentum!r}")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
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
            raise ValueError(f"{type(self).__name__} expects {wanted} input, got {x.ndim}-D "
                             f"input of shape {tuple(x.shape)}")

    def forward(self, x, relu=False):
        """Batch statistics while training or without running ones, else the running ones;
        relu=True as F.batch_norm's (the fusion plan's BN then ReLU).

        batch_norm checks everything (eps and momentum too: plain attributes a user may
        reassign) before it updates the running statistics, and the batch counter moves
        after it: a call that raises changes no buffer.
        """
        use_batch_stats = self.training or not self.track_running_stats
        check_batch_norm_input(x, self.num_features, use_batch_stats)
        self._check_rank(x)
        updates_buffers = self.training and self.track_running_stats
        momentum = self.momentum
        if momentum is None:        # cumulative moving average: the n-th batch gets weight 1/n
            momentum = 1.0 / (int(self.num_batches_tracked.data) + 1) if updates_buffers else 0.0
        y = batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                       use_batch_stats, momentum, self.eps, relu=relu)
        if updates_buffers:
            self.num_batches_tracked.add_(1)
        return y


def register_affine(module, shape, weight: bool, bias: bool):
    """Register `weight` (ones) and `bias` (zeros) of `shape`, each as None when not wanted,
    as every normalization layer does."""
    module.weight = Parameter(np.ones(shape, np.float32)) if weight else None
    module.bias = Parameter(np.zeros(shape, np.float32)) if bias else None


class BatchNorm1d(_BatchNorm):
    """Per-feature BN over a batch: input (N, C) or (N, C, L); statistics over N (and L)."""
    expected_ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Per-channel BN for conv feature maps: input (N, C, H, W); statistics over N, H and W."""
    expected_ranks = (4,)
