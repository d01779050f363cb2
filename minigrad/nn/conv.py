"""Conv1d, Conv2d and ConvTranspose2d, with PyTorch's arguments, layouts and init."""

import numpy as np

from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.ops.common import pair, positive_int
from minigrad.ops.conv_forms import PADDING_STRINGS


class _ConvNd(Module):
    """Holds the arguments and parameters shared by every conv layer.

    weight: (out_channels, in_channels / groups, *kernel) for a convolution,
    (in_channels, out_channels / groups, *kernel) for a transposed one, as in
    PyTorch; bias: (out_channels,). Initialised as PyTorch does:
    kaiming_uniform_(a=sqrt(5)) and U(-1/sqrt(fan_in), 1/sqrt(fan_in)), where
    fan_in = weight.shape[1] * prod(kernel). Zero padding only.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, dtype, dims, output_padding=None):
        super().__init__()
        transposed = output_padding is not None
        if transposed:
            self.output_padding = pair(output_padding, "output_padding")
        dtype = np.float32 if dtype is None else np.dtype(dtype)
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f"{name} supports padding_mode='zeros' only, got {padding_mode!r}")
        self.in_channels = positive_int(in_channels, f"{name}: in_channels")
        self.out_channels = positive_int(out_channels, f"{name}: out_channels")
        self.groups = positive_int(groups, f"{name}: groups")
        if self.groups < 1 or self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{name}: groups={groups} must be >= 1 and divide in_channels "
                             f"({in_channels}) and out_channels ({out_channels})")
        if isinstance(padding, str) and (transposed or padding not in PADDING_STRINGS):
            allowed = "an int or a pair" if transposed else f"an int, a pair or one of {PADDING_STRINGS}"
            raise ValueError(f"{name}: padding must be {allowed}, got {padding!r}")
        if padding == "same" and stride not in (1, (1,) * dims):
            raise ValueError(f"{name}: padding='same' needs stride 1, got stride={stride}")
        tuples = (lambda v, n: pair(v, n)) if dims == 2 else (lambda v, n: (_one(v, n),))
        self.kernel_size, self.stride = tuples(kernel_size, "kernel_size"), tuples(stride, "stride")
        self.padding = padding if isinstance(padding, str) else tuples(padding, "padding")
        self.dilation = tuples(dilation, "dilation")
        for arg, at_least in (("kernel_size", 1), ("stride", 1), ("dilation", 1), ("padding", 0)):
            values = getattr(self, arg)
            for v in () if isinstance(values, str) else values:
                positive_int(v, f"{name}: {arg}", at_least)
        first, second = (self.in_channels, self.out_channels) if transposed else \
            (self.out_channels, self.in_channels)
        self.weight = Parameter(np.empty((first, second // self.groups) + self.kernel_size, dtype=dtype))
        bias = Parameter(np.empty(self.out_channels, dtype=dtype)) if bias else None
        self.register_parameter("bias", bias)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_layer_init_(self.weight, self.bias)

    def extra_repr(self):
        ones, zeros = (1,) * len(self.kernel_size), (0,) * len(self.kernel_size)
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        # PyTorch prints an option only when it differs from its default
        optional = (("padding", self.padding, zeros),
                    ("output_padding", getattr(self, "output_padding", zeros), zeros),
                    ("dilation", self.dilation, ones), ("groups", self.groups, 1),
                    ("bias", self.bias is not None, True))
        return text + "".join(f", {k}={v!r}" for k, v, default in optional if v != default)


def _one(value, name):
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return int(value)


class Conv2d(_ConvNd):
    """x (N, in_channels, H, W) -> (N, out_channels, OH, OW).

    OH = floor((H + 2*padding - dilation*(kh-1) - 1) / stride) + 1; padding may
    be 'same' (stride 1) or 'valid'. groups splits the channels into independent
    convolutions (groups == in_channels: depthwise).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", *, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype, dims=2)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """x (N, in_channels, L) -> (N, out_channels, OL); weight (out, in / groups, k)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", *, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype, dims=1)

    def forward(self, x):
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)


class ConvTranspose2d(_ConvNd):
    """x (N, in_channels, H, W) -> (N, out_channels, OH, OW), the gradient of a Conv2d as a layer;
    OH = (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1.
    weight: (in_channels, out_channels / groups, kh, kw)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", *, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype, dims=2, output_padding=output_padding)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)
