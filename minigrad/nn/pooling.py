"""MaxPool2d and AvgPool2d: (N, C, H, W) -> (N, C, OH, OW), stride defaulting to
kernel_size; AdaptiveAvgPool2d: any (H, W) -> output_size."""
from minigrad.nn import functional as F
from minigrad.nn.module import _CallsFunction


class _Pool2d(_CallsFunction):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(kernel_size=kernel_size,
                         stride=kernel_size if stride is None else stride, padding=padding)


class MaxPool2d(_Pool2d):
    """Maximum over each window; the gradient goes to the first maximum only."""

    function = F.max_pool2d


class AvgPool2d(_Pool2d):
    """Mean over each window; zero padding counts in the divisor (count_include_pad=True)."""

    function = F.avg_pool2d


class AdaptiveAvgPool2d(_CallsFunction):
    """(N, C, H, W) -> (N, C, *output_size), PyTorch's windows (see F.adaptive_avg_pool2d)."""

    function = F.adaptive_avg_pool2d

    def __init__(self, output_size):
        super().__init__(output_size=output_size)
