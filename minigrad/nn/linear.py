"""Linear: y = x @ W.T + b."""

import numpy as np

from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.ops.common import positive_int


class _WeightAndBias(Module):
    """A layer with a weight and an optional bias, initialised as PyTorch initialises
    Linear and Conv2d (init.default_layer_init_): Linear and the conv layers."""

    def _add_weight_and_bias(self, weight_shape, bias_size, dtype):
        """Register an uninitialised weight of `weight_shape` and bias of `bias_size`
        (None: no bias) in `dtype` (None: float32), then reset_parameters()."""
        dtype = np.float32 if dtype is None else dtype
        self.weight = Parameter(np.empty(weight_shape, dtype))
        self.bias = None if bias_size is None else Parameter(np.empty(bias_size, dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.default_layer_init_(self.weight, self.bias)


class Linear(_WeightAndBias):
    """x (..., in_features) -> (..., out_features).

    weight: (out_features, in_features); bias: (out_features,). Initialised as
    PyTorch does: kaiming_uniform_(a=sqrt(5)) for the weight, which is
    U(-1/sqrt(in_features), 1/sqrt(in_features)), and the same range for the bias.
    """

    def __init__(self, in_features, out_features, bias=True, *, dtype=None):
        super().__init__()
        self.in_features = positive_int(in_features, "Linear: in_features", at_least=0)
        self.out_features = positive_int(out_features, "Linear: out_features", at_least=0)
        self._add_weight_and_bias((self.out_features, self.in_features),
                                  self.out_features if bias else None, dtype)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
