"""MaxPool2d and AvgPool2d: (N, C, H, W) -> (N, C, OH, OW), stride defaulting to kernel_size;
AdaptiveAvgPool2d: any (H, W) -> output_size."""
from minigrad.nn import functional as F
from minigrad.nn.module import Module


class _Pool2d(Module):
    _repr_template = "kernel_size={kernel_size}, stride={stride}, padding={padding}"

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding


class MaxPool2d(_Pool2d):
    """Maximum over each window; the gradient goes to the first maximum only."""

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Mean over each window; zero padding counts in the divisor (count_include_pad=True)."""

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool2d(Module):
    """(N, C, H, W) -> (N, C, *output_size), PyTorch's windows (see F.adaptive_avg_pool2d)."""

    _repr_template = "output_size={output_size}"

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)
