"""Activation modules; each calls the function of the same name in nn.functional."""
from minigrad.nn import functional as F
from minigrad.nn.module import Module


class _CallsFunction(Module):
    """Stores its constructor's options, in order, and calls `function(*inputs, **those)`.

    A subclass names `function` and, when it has options, writes an `__init__`
    with PyTorch's signature that passes them on by keyword. The losses use it too.
    """

    function = None

    def __init__(self, **options):
        super().__init__()
        self._options = tuple(options)
        for name, value in options.items():
            setattr(self, name, value)

    def forward(self, *inputs):
        options = {name: getattr(self, name) for name in self._options}
        # through the class: a function stored on it would otherwise bind `self`
        return type(self).function(*inputs, **options)

    def extra_repr(self):
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._options)


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
