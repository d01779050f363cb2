"""Linear: y = x @ W.T + b."""

import numpy as np

from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.ops.common import positive_int


class Linear(Module):
    """x (..., in_features) -> (..., out_features).

    weight: (out_features, in_features); bias: (out_features,). Initialised as
    PyTorch does: kaiming_uniform_(a=sqrt(5)) for the weight, which is
    U(-1/sqrt(in_features), 1/sqrt(in_features)), and the same range for the bias.
    """

    def __init__(self, in_features, out_features, bias=True, *, dtype=None):
        super().__init__()
        self.in_features = positive_int(in_features, "Linear: in_features", at_least=0)
        self.out_features = positive_int(out_features, "Linear: out_features", at_least=0)
        add_weight_and_bias(self, (self.out_features, self.in_features),
                            self.out_features if bias else None, dtype)

    def reset_parameters(self):
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def add_weight_and_bias(layer, weight_shape, bias_size, dtype):
    """Give a Linear or conv layer its weight of `weight_shape` and its bias of `bias_size`
    (None: no bias) in `dtype` (None: float32), initialised by its reset_parameters()."""
    dtype = np.float32 if dtype is None else dtype
    layer.weight = Parameter(np.empty(weight_shape, dtype))
    layer.bias = None if bias_size is None else Parameter(np.empty(bias_size, dtype))
    layer.reset_parameters()
