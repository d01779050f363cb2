"""Loss modules; each calls the function of the same name in nn.functional."""
from minigrad.nn import functional as F
from minigrad.nn.module import _CallsFunction
from minigrad.ops.loss import check_reduction


class _Loss(_CallsFunction):
    """`function(input, target, reduction=..., **options)`; repr shows a reduction other
    than the default only, as PyTorch's does."""

    def __init__(self, reduction="mean", **options):
        check_reduction(type(self).__name__, reduction)
        super().__init__(reduction=reduction, **options)

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


def _no_class_weight(name, weight):
    if weight is not None:
        raise NotImplementedError(f"{name}: per-class weight is not supported (pass weight=None)")


class CrossEntropyLoss(_Loss):
    """logits (N, C), integer targets (N,) -> softmax cross-entropy (fused, stable).
    Targets equal to ignore_index are skipped; label_smoothing as in F.cross_entropy."""

    function = F.cross_entropy

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        _no_class_weight("CrossEntropyLoss", weight)
        super().__init__(reduction, ignore_index=ignore_index, label_smoothing=label_smoothing)


class NLLLoss(_Loss):
    """log-probabilities (N, C), integer targets (N,) -> negative log-likelihood."""

    function = F.nll_loss

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        _no_class_weight("NLLLoss", weight)
        super().__init__(reduction, ignore_index=ignore_index)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1]; weight (a buffer) rescales each
    element."""

    function = F.binary_cross_entropy

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction, weight=weight)
        self.register_buffer("weight", weight)        # an option, and saved in state_dict


class BCEWithLogitsLoss(_Loss):
    """sigmoid + binary cross-entropy in one stable expression; weight and pos_weight are
    buffers."""

    function = F.binary_cross_entropy_with_logits

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction, weight=weight, pos_weight=pos_weight)
        self.register_buffer("weight", weight)        # options, and saved in state_dict
        self.register_buffer("pos_weight", pos_weight)


class MSELoss(_Loss):
    """Mean squared error between two tensors of the same shape."""

    function = F.mse_loss

    def __init__(self, reduction="mean"):
        super().__init__(reduction)
