"""Loss functions: cross_entropy (one fused log-softmax + NLL op), and nll_loss
and mse_loss composed from other ops, each with reduction 'mean' | 'sum' | 'none'.

Class-index losses take logits (N, C), (C,) or (N, C, d1, ...) and integer
targets (N,), () or (N, d1, ...), as PyTorch does. Both first move the class
axis last and flatten the rest into rows (B, C) with differentiable ops
(`_as_rows`), so the fused op works on rows only.

cross_entropy's backward is `softmax - onehot` (scaled by the incoming
gradient): no exp of a large logit is ever taken, because log-softmax
subtracts each row's maximum first, so logits of +-3e4 stay finite in float32.
"""
import numpy as np

from minigrad.autograd import Function
from minigrad.ops.common import as_tensor, broadcast_shape, check_float, is_int, is_real, raw
from minigrad.ops.select import where
from minigrad.ops.softmax import log_softmax_array
from minigrad.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def _as_rows(x: Tensor) -> Tensor:
    """(C,) / (N, C) / (N, C, d1, ...) -> (B, C), class axis last (autograd undoes it)."""
    if x.ndim <= 2:
        return x.reshape(1, -1) if x.ndim == 1 else x
    return x.permute(0, *range(2, x.ndim), 1).reshape(-1, x.shape[1])


def _scale_rows(grad_rows: np.ndarray, grad: np.ndarray, reduction: str, count: int) -> None:
    """Multiply per-row gradients by the incoming gradient of the reduced loss, in place."""
    if reduction == "none":
        grad = grad.reshape(-1, 1)
    elif reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            grad = grad / grad.dtype.type(count)
    grad_rows *= grad


def _valid_targets(target: np.ndarray, ignore_index: int):
    """Flat targets with ignored ones replaced by class 0 (to index safely), the
    mask of the kept ones, and their count."""
    target = target.reshape(-1)
    valid = target != ignore_index
    return np.where(valid, target, 0), valid, int(valid.sum())


class CrossEntropy(Function):
    """logits (B, C) and integer targets -> -log softmax(logits)[target].

    With label smoothing e the target is (1 - e) onehot + e / C, so the loss adds
    e * mean_c(-log softmax) and the backward is softmax - (1 - e) onehot - e / C.
    Rows whose target is ignore_index get loss 0 and gradient 0.
    """

    def forward(self, logits, *, target, reduction, ignore_index, label_smoothing):
        self.reduction, self.smoothing = reduction, label_smoothing
        self.target, self.valid, self.count = _valid_targets(target, ignore_index)
        log_probs = log_softmax_array(logits, axis=1)                         # (B, C)
        self.save_for_backward(log_probs)
        losses = -log_probs[np.arange(self.target.size), self.target]
        if label_smoothing:
            losses = (1 - label_smoothing) * losses - label_smoothing * log_probs.mean(axis=1)
        losses = np.where(self.valid, losses, losses.dtype.type(0))
        return reduce_losses(losses.reshape(target.shape), reduction, count=self.count)

    def backward(self, grad):
        grad_rows = np.exp(self.saved_arrays[0])                                     # softmax
        grad_rows[np.arange(self.target.size), self.target] -= 1 - self.smoothing  # - onehot
        if self.smoothing:
            grad_rows -= self.smoothing / grad_rows.shape[1]
        grad_rows[~self.valid] = 0
        _scale_rows(grad_rows, grad, self.reduction, self.count)
        return grad_rows


def reduce_losses(losses, reduction, weight=None, count=None):
    """Per-element losses, optionally weighted, reduced: composed ops on a Tensor, or
    numpy's on an array (CrossEntropy's forward; the same methods and operators).

    'mean' divides by `count` when it is given (the targets not ignored; with
    none left, 0 / 0 is nan, as in PyTorch), else by the number of losses."""
    if weight is not None:
        losses = losses * weight
    if reduction == "none":
        return losses
    if reduction == "sum" or count is None:
        return losses.sum() if reduction == "sum" else losses.mean()
    with np.errstate(invalid="ignore"):
        return losses.sum() / count


# ---------------------------------------------------------------- argument checks

def check_reduction(op, reduction):
    """The check every loss function and loss module makes of its reduction."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def elementwise_operands(op, input, target, reduction, **weights) -> list:
    """The checks of the losses that compare input and target element by element (mse,
    the binary cross-entropies): the reduction, a float input, a target of its shape,
    weights that broadcast against it. -> [target, *weights] as tensors of the input's
    dtype (a weight None when not given)."""
    check_reduction(op, reduction)
    check_float(op, input, "input")
    target = as_tensor(target, like=input)
    if target.shape != input.shape:
        raise ValueError(f"{op}: input of shape {input.shape} and target of shape "
                         f"{target.shape} differ; the target must have the input's shape "
                         "(broadcasting them is almost always a bug; reshape one explicitly)")
    tensors = [target]
    for name, value in weights.items():
        if value is not None:
            value = as_tensor(value, like=input)
            broadcast_shape(f"{op}: {name} of shape {value.shape} does not broadcast against the "
                            f"input {input.shape}", value.shape, input.shape)
        tensors.append(value)
    return tensors


def _class_targets(op: str, input: Tensor, target, ignore_index, reduction) -> np.ndarray:
    """Validate the reduction, and integer class-index targets against input (.., C, ..);
    return the targets as intp."""
    check_reduction(op, reduction)
    if input.dtype.kind != "f":
        raise TypeError(f"{op} needs float scores, got input of dtype {input.dtype}")
    if input.ndim == 0:
        raise ValueError(f"{op} needs an input with a class axis, got a 0-d tensor")
    target = np.asarray(raw(target))
    if target.dtype.kind not in "iu":
        hint = (" (class probabilities are not supported; convert whole-number labels with "
                ".long())") if target.dtype.kind == "f" else ""
        raise TypeError(f"{op} expects integer class indices as targets, got dtype "
                        f"{target.dtype}{hint}")
    expected = () if input.ndim == 1 else (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        raise ValueError(f"{op}: input of shape {input.shape} needs targets of shape {expected}, "
                         f"got {target.shape}")
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    if not is_int(ignore_index):
        raise TypeError(f"{op}: ignore_index must be an int, got {ignore_index!r}")
    bad = ((target < 0) | (target >= classes)) & (target != ignore_index)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if target.ndim else ()
        raise IndexError(f"{op}: target {target[where]} at index {where} is out of range for "
                         f"{classes} classes (valid labels are 0..{classes - 1}, or "
                         f"ignore_index={ignore_index})")
    return target.astype(np.intp, copy=False)


# ---------------------------------------------------------------- the losses

def cross_entropy(logits, targets, reduction="mean", *, ignore_index=-100, label_smoothing=0.0):
    """Softmax cross-entropy of logits (N, C) against class indices (N,) in one op.

    Same as nll_loss(log_softmax(logits, 1), targets) but fused: one pass
    forward and `softmax - onehot` backward. Targets equal to ignore_index count
    for nothing, and 'mean' divides by the number of the others (PyTorch's rule).
    label_smoothing e in [0, 1] mixes e / C of every class into the target.
    """
    if not is_real(label_smoothing) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError("cross_entropy: label_smoothing must be a number in [0, 1], got "
                         f"{label_smoothing!r}")
    target = _class_targets("cross_entropy", logits, targets, ignore_index, reduction)
    return CrossEntropy.apply(_as_rows(logits), target=target, reduction=reduction,
                              ignore_index=int(ignore_index),
                              label_smoothing=float(label_smoothing))


def nll_loss(log_probs, targets, reduction="mean", *, ignore_index=-100):
    """Negative log-likelihood of log-probabilities (N, C) at class indices (N,);
    ignore_index as in cross_entropy."""
    target = _class_targets("nll_loss", log_probs, targets, ignore_index, reduction)
    safe, valid, count = _valid_targets(target, ignore_index)
    picked = _as_rows(log_probs)[np.arange(safe.size), safe]                 # (B,)
    return reduce_losses(where(valid, -picked, 0).reshape(target.shape), reduction, count=count)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error; input and target must have the same shape."""
    (target,) = elementwise_operands("mse_loss", input, target, reduction)
    return reduce_losses((input - target) ** 2, reduction)
