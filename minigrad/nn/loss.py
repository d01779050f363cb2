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


class CrossEntropyLoss(_Loss):
    """logits (N, C), integer targets (N,) -> softmax cross-entropy (fused, stable)."""

    def forward(self, logits, targets):
        return F.cross_entropy(logits, targets, reduction=self.reduction)


class NLLLoss(_Loss):
    """log-probabilities (N, C), integer targets (N,) -> negative log-likelihood."""

    def forward(self, log_probs, targets):
        return F.nll_loss(log_probs, targets, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error between two tensors of the same shape."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)
