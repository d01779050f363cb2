"""Binary cross-entropy on probabilities and on logits, composed from existing ops.

input and target have the same shape (any); weight (and pos_weight for the logits
form) broadcast against it; reduction 'mean' | 'sum' | 'none' as the other losses.
"""
import math

import numpy as np

from minigrad.ops.common import as_tensor, broadcast_shape, check_float
from minigrad.ops.elementwise import maximum
from minigrad.ops.loss import check_reduction, reduce_losses

# PyTorch clamps each log at -100, so that a probability of exactly 0 or 1 gives a
# finite loss. The input is clipped first as well (at a value whose log is about
# -100), so that log never sees 0 and the gradient never becomes 0 / 0.
_LOG_FLOOR = -100.0
_CLIP_FLOOR = math.exp(_LOG_FLOOR)


def _checked(op, input, target, weight, reduction, pos_weight=None):
    """reduction checked; target, weight, pos_weight as tensors of input's dtype
    (the weights None when not given)."""
    check_reduction(op, reduction)
    check_float(op, input, "input")
    target = as_tensor(target, like=input)
    if target.shape != input.shape:
        raise ValueError(f"{op}: target of shape {target.shape} must have the input's shape "
                         f"{input.shape}")
    tensors = [target]
    for name, value in (("weight", weight), ("pos_weight", pos_weight)):
        if value is not None:
            value = as_tensor(value, like=input)
            broadcast_shape(f"{op}: {name} of shape {value.shape} does not broadcast against the "
                            f"input {input.shape}", value.shape, input.shape)
        tensors.append(value)
    return tensors


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(t log p + (1 - t) log(1 - p)) for probabilities p in [0, 1]."""
    target, weight, _ = _checked("binary_cross_entropy", input, target, weight, reduction)
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
    target, weight, pos_weight = _checked("binary_cross_entropy_with_logits", input, target,
                                          weight, reduction, pos_weight)
    softplus_neg = maximum(-input, 0) + (1 + (-input.abs()).exp()).log()
    scale = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    return reduce_losses((1 - target) * input + scale * softplus_neg, reduction, weight)
