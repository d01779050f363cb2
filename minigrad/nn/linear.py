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
        dtype = np.float32 if dtype is None else np.dtype(dtype)
        self.in_features = positive_int(in_features, "Linear: in_features", at_least=0)
        self.out_features = positive_int(out_features, "Linear: out_features", at_least=0)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        bias = Parameter(np.empty(self.out_features, dtype=dtype)) if bias else None
        self.register_parameter("bias", bias)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
