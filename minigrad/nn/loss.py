"""Loss modules; each calls the function of the same name in nn.functional."""
from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.ops.loss import REDUCTIONS


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


def _no_class_weight(name, weight):
    if weight is not None:
        raise NotImplementedError(f"{name}: per-class weight is not supported (pass weight=None)")


class CrossEntropyLoss(_Loss):
    """logits (N, C), integer targets (N,) -> softmax cross-entropy (fused, stable).
    Targets equal to ignore_index are skipped; label_smoothing as in F.cross_entropy."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        _no_class_weight("CrossEntropyLoss", weight)
        super().__init__(reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, logits, targets):
        return F.cross_entropy(logits, targets, reduction=self.reduction, ignore_index=self.ignore_index,
                               label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """log-probabilities (N, C), integer targets (N,) -> negative log-likelihood."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        _no_class_weight("NLLLoss", weight)
        super().__init__(reduction)
        self.ignore_index = ignore_index

    def forward(self, log_probs, targets):
        return F.nll_loss(log_probs, targets, reduction=self.reduction, ignore_index=self.ignore_index)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1]; weight (a buffer) rescales each element."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """sigmoid + binary cross-entropy in one stable expression; weight and pos_weight are buffers."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  pos_weight=self.pos_weight)


class MSELoss(_Loss):
    """Mean squared error between two tensors of the same shape."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)
