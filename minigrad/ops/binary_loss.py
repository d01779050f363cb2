"""Binary cross-entropy on probabilities and on logits, composed from existing ops.

input and target have the same shape (any); weight (and pos_weight for the logits
form) broadcast against it; reduction 'mean' | 'sum' | 'none' as the other losses.
"""
import math

from minigrad.ops.elementwise import maximum
from minigrad.ops.loss import elementwise_operands, reduce_losses

# PyTorch clamps each log at -100, so that a probability of exactly 0 or 1 gives a
# finite loss. The input is clipped first as well (at a value whose log is about
# -100), so that log never sees 0 and the gradient never becomes 0 / 0.
_LOG_FLOOR = -100.0
_CLIP_FLOOR = math.exp(_LOG_FLOOR)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(t log p + (1 - t) log(1 - p)) for probabilities p in [0, 1]."""
    target, weight = elementwise_operands("binary_cross_entropy", input, target, reduction,
                                          weight=weight)
    if ((input.data < 0) | (input.data > 1)).any():
        raise ValueError("binary_cross_entropy: every input must be a probability in [0, 1] "
                         f"(got values from {input.data.min()} to {input.data.max()}); "
                         "for scores, use binary_cross_entropy_with_logits")
    log_p = input.clip(min=_CLIP_FLOOR).log().clip(min=_LOG_FLOOR)
    log_q = (1 - input).clip(min=_CLIP_FLOOR).log().clip(min=_LOG_FLOOR)
    return reduce_losses(-(target * log_p + (1 - target) * log_q), reduction, weight)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """binary_cross_entropy(sigmoid(x), t), stable for any logit x:

        loss = (1 - t) x + (1 + (pos_weight - 1) t) * softplus(-x)
        softplus(-x) = max(-x, 0) + log(1 + exp(-|x|))

    exp never sees a positive argument, so logits of +-300 (or +-1e4) stay finite.
    pos_weight (broadcast along the last axis, usually one per class) scales the
    positive targets' term.
    """
    target, weight, pos_weight = elementwise_operands(
        "binary_cross_entropy_with_logits", input, target, reduction, weight=weight,
        pos_weight=pos_weight)
    softplus_neg = maximum(-input, 0) + (1 + (-input.abs()).exp()).log()
    scale = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    return reduce_losses((1 - target) * input + scale * softplus_neg, reduction, weight)
