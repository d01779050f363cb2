"""Conv1d, Conv2d and ConvTranspose2d, with PyTorch's arguments, layouts and init."""

from minigrad.nn import functional as F
from minigrad.nn.linear import _WeightAndBias
from minigrad.ops.common import int_tuple, positive_int
from minigrad.ops.conv_forms import PADDING_STRINGS


class _ConvNd(_WeightAndBias):
    """Holds the arguments and parameters shared by every conv layer; its
    constructor is Conv2d's and Conv1d's (`dims` sizes per kernel, stride, ...).

    weight: (out_channels, in_channels / groups, *kernel) for a convolution,
    (in_channels, out_channels / groups, *kernel) for a transposed one, as in
    PyTorch; bias: (out_channels,). Initialised as PyTorch does:
    kaiming_uniform_(a=sqrt(5)) and U(-1/sqrt(fan_in), 1/sqrt(fan_in)), where
    fan_in = weight.shape[1] * prod(kernel). Zero padding only.
    """

    dims = 2
    transposed = False
    function = F.conv2d

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", *, dtype=None):
        super().__init__()
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f"{name} supports padding_mode='zeros' only, got {padding_mode!r}")
        self.in_channels = positive_int(in_channels, f"{name}: in_channels")
        self.out_channels = positive_int(out_channels, f"{name}: out_channels")
        self.groups = positive_int(groups, f"{name}: groups")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{name}: groups={groups} must be >= 1 and divide in_channels "
                             f"({in_channels}) and out_channels ({out_channels})")
        self.kernel_size = self._sizes(kernel_size, "kernel_size")
        self.stride = self._sizes(stride, "stride")
        self.dilation = self._sizes(dilation, "dilation")
        if isinstance(padding, str) and (self.transposed or padding not in PADDING_STRINGS):
            strings = "" if self.transposed else f", or one of {PADDING_STRINGS}"
            raise ValueError(f"{name}: padding must be an int or a pair{strings}, got {padding!r}")
        if padding == "same" and self.stride != (1,) * self.dims:
            raise ValueError(f"{name}: padding='same' needs stride 1, got stride={stride}")
        self.padding = padding if isinstance(padding, str) else self._sizes(padding, "padding", 0)
        first, second = (self.in_channels, self.out_channels) if self.transposed else \
            (self.out_channels, self.in_channels)
        self._add_weight_and_bias((first, second // self.groups) + self.kernel_size,
                                  self.out_channels if bias else None, dtype)

    def _sizes(self, value, arg, at_least=1):
        """An int or a tuple of `dims` ints, each at least `at_least`, as a `dims`-tuple."""
        return int_tuple(value, f"{type(self).__name__}: {arg}", self.dims, at_least)

    def forward(self, x):
        # through the class: a function stored on it would otherwise bind `self`
        return type(self).function(x, self.weight, self.bias, self.stride, self.padding,
                                   self.dilation, self.groups)

    def extra_repr(self):
        ones, zeros = (1,) * self.dims, (0,) * self.dims
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        # PyTorch prints an option only when it differs from its default
        optional = (("padding", self.padding, zeros),
                    ("output_padding", getattr(self, "output_padding", zeros), zeros),
                    ("dilation", self.dilation, ones), ("groups", self.groups, 1),
                    ("bias", self.bias is not None, True))
        return text + "".join(f", {k}={v!r}" for k, v, default in optional if v != default)


class Conv2d(_ConvNd):
    """x (N, in_channels, H, W) -> (N, out_channels, OH, OW).

    OH = floor((H + 2*padding - dilation*(kh-1) - 1) / stride) + 1; padding may
    be 'same' (stride 1) or 'valid'. groups splits the channels into independent
    convolutions (groups == in_channels: depthwise).
    """


class Conv1d(_ConvNd):
    """x (N, in_channels, L) -> (N, out_channels, OL); weight (out, in / groups, k)."""

    dims = 1
    function = F.conv1d


class ConvTranspose2d(_ConvNd):
    """x (N, in_channels, H, W) -> (N, out_channels, OH, OW), the gradient of a Conv2d as a
    layer; OH = (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1.
    weight: (in_channels, out_channels / groups, kh, kw)."""

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros", *,
                 dtype=None):
        output_padding = self._sizes(output_padding, "output_padding", 0)  # before init draws
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype=dtype)
        self.output_padding = output_padding

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)
