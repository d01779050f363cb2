"""Activation modules; each calls the function of the same name in nn.functional."""
from minigrad.nn import functional as F
from minigrad.nn.module import _CallsFunction


class ReLU(_CallsFunction):
    function = F.relu


class Sigmoid(_CallsFunction):
    function = F.sigmoid


class Tanh(_CallsFunction):
    function = F.tanh


class SiLU(_CallsFunction):
    function = F.silu


class Softmax(_CallsFunction):
    """Softmax along `dim` (None: PyTorch's legacy implicit choice; pass dim explicitly)."""

    function = F.softmax

    def __init__(self, dim=None):
        super().__init__(dim=dim)


class LogSoftmax(Softmax):
    """log(softmax(x)) along `dim`, computed stably."""

    function = F.log_softmax


class LeakyReLU(_CallsFunction):
    function = F.leaky_relu

    def __init__(self, negative_slope=0.01):
        super().__init__(negative_slope=negative_slope)


class GELU(_CallsFunction):
    function = F.gelu

    def __init__(self, approximate="none"):
        super().__init__(approximate=approximate)


class ELU(_CallsFunction):
    function = F.elu

    def __init__(self, alpha=1.0):
        super().__init__(alpha=alpha)


class Softplus(_CallsFunction):
    function = F.softplus

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__(beta=beta, threshold=threshold)


class Hardtanh(_CallsFunction):
    function = F.hardtanh

    def __init__(self, min_val=-1.0, max_val=1.0):
        super().__init__(min_val=min_val, max_val=max_val)
