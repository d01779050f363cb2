"""Conv2d: 2-D convolution over (N, C, H, W) images."""

import numpy as np

from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.ops.conv import pair, positive_int


class Conv2d(Module):
    """x (N, in_channels, H, W) -> (N, out_channels, OH, OW).

    weight: (out_channels, in_channels, kh, kw); bias: (out_channels,).
    OH = floor((H + 2*padding - dilation*(kh-1) - 1) / stride) + 1.
    Initialised as PyTorch does: kaiming_uniform_(a=sqrt(5)) for the weight
    and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias, fan_in = in_channels*kh*kw.
    Only groups=1 and zero padding are supported; the arguments are kept so
    that positional calls match PyTorch's order.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", *, dtype=None):
        super().__init__()
        dtype = np.float32 if dtype is None else np.dtype(dtype)
        if groups != 1:
            raise ValueError(f"Conv2d supports groups=1 only, got groups={groups}")
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d supports padding_mode='zeros' only, got {padding_mode!r}")
        self.in_channels = positive_int(in_channels, "Conv2d: in_channels")
        self.out_channels = positive_int(out_channels, "Conv2d: out_channels")
        self.kernel_size = pair(kernel_size, "Conv2d: kernel_size")
        self.stride = pair(stride, "Conv2d: stride")
        self.padding = pair(padding, "Conv2d: padding")
        self.dilation = pair(dilation, "Conv2d: dilation")
        for name, at_least in (("kernel_size", 1), ("stride", 1), ("padding", 0), ("dilation", 1)):
            for v in getattr(self, name):
                positive_int(v, f"Conv2d: {name}", at_least)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        bias = Parameter(np.empty(self.out_channels, dtype=dtype)) if bias else None
        self.register_parameter("bias", bias)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text
