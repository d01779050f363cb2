"""Loss functions as single ops: cross_entropy (fused log-softmax + NLL),
nll_loss and mse_loss, each with reduction 'mean' | 'sum' | 'none'.

Class-index losses take logits (N, C), (C,) or (N, C, d1, ...) and integer
targets (N,), () or (N, d1, ...), as PyTorch does. Internally the class axis
is moved last and the rest flattened into rows, so every op works on (B, C).

cross_entropy's backward is `softmax - onehot` (scaled by the incoming
gradient): no exp of a large logit is ever taken, because log-softmax
subtracts each row's maximum first, so logits of +-3e4 stay finite in float32.
"""
import numpy as np

from minigrad.autograd import Function
from minigrad.ops.common import as_tensor
from minigrad.ops.softmax import log_softmax_array
from minigrad.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def _rows(x: np.ndarray) -> np.ndarray:
    """(C,) / (N, C) / (N, C, d1, ...) -> (B, C), class axis last."""
    if x.ndim == 1:
        return x[None, :]
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _unrows(rows: np.ndarray, shape: tuple) -> np.ndarray:
    """Inverse of _rows: (B, C) -> `shape`."""
    if len(shape) == 1:
        return rows[0]
    moved = rows.reshape((shape[0],) + tuple(shape[2:]) + (shape[1],))
    return np.moveaxis(moved, -1, 1)


def _reduce(losses: np.ndarray, reduction: str, target_shape: tuple) -> np.ndarray:
    if reduction == "none":
        return losses.reshape(target_shape)
    total = losses.sum() if reduction == "sum" else losses.mean()
    return np.asarray(total, dtype=losses.dtype)


def _scale_rows(grad_rows: np.ndarray, grad: np.ndarray, reduction: str, count: int) -> np.ndarray:
    """Multiply per-row gradients by the incoming gradient of the reduced loss, in place."""
    if reduction == "none":
        grad_rows *= grad.reshape(-1, 1)
    elif reduction == "sum":
        grad_rows *= grad
    else:
        grad_rows *= grad / count
    return grad_rows


class CrossEntropy(Function):
    """logits (.., C, ..) and integer targets -> -log softmax(logits)[target]."""

    def forward(self, logits, *, target, reduction):
        self.shape, self.reduction = logits.shape, reduction
        self.target = target.reshape(-1)
        log_probs = log_softmax_array(_rows(logits), axis=1)                  # (B, C)
        self.save_for_backward(log_probs)
        losses = -log_probs[np.arange(self.target.size), self.target]
        return _reduce(losses, reduction, target.shape)

    def backward(self, grad):
        grad_rows = np.exp(self.saved_arrays[0])                                 # softmax
        grad_rows[np.arange(self.target.size), self.target] -= 1                 # - onehot
        _scale_rows(grad_rows, grad, self.reduction, self.target.size)
        return _unrows(grad_rows, self.shape)


class NLLLoss(Function):
    """log-probabilities (.., C, ..) and integer targets -> -log_probs[target]."""

    def forward(self, log_probs, *, target, reduction):
        self.shape, self.dtype, self.reduction = log_probs.shape, log_probs.dtype, reduction
        self.target = target.reshape(-1)
        losses = -_rows(log_probs)[np.arange(self.target.size), self.target]
        return _reduce(losses, reduction, target.shape)

    def backward(self, grad):
        grad_rows = np.zeros((self.target.size, self.shape[1 if len(self.shape) > 1 else 0]), dtype=self.dtype)
        grad_rows[np.arange(self.target.size), self.target] = -1
        _scale_rows(grad_rows, grad, self.reduction, self.target.size)
        return _unrows(grad_rows, self.shape)


class MSELoss(Function):
    """(input - target)^2, reduced; both inputs may require grad."""

    def forward(self, x, target, *, reduction):
        self.reduction = reduction
        diff = x - target
        self.save_for_backward(diff)
        return _reduce(diff * diff, reduction, diff.shape)

    def backward(self, grad):
        (diff,) = self.saved_arrays
        scale = 2 * grad if self.reduction != "mean" else 2 * grad / diff.size
        dx = diff * scale
        return dx, -dx


# ---------------------------------------------------------------- argument checks

def _check_reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _class_targets(op: str, input: Tensor, target) -> np.ndarray:
    """Validate integer class-index targets against input (.., C, ..); return them as intp."""
    if input.dtype.kind != "f":
        raise TypeError(f"{op} needs float scores, got input of dtype {input.dtype}")
    if input.ndim == 0:
        raise ValueError(f"{op} needs an input with a class axis, got a 0-d tensor")
    target = np.asarray(target.data if isinstance(target, Tensor) else target)
    if target.dtype.kind not in "iu":
        hint = " (class probabilities are not supported; convert whole-number labels with .long())" \
            if target.dtype.kind == "f" else ""
        raise TypeError(f"{op} expects integer class indices as targets, got dtype {target.dtype}{hint}")
    expected = () if input.ndim == 1 else (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        raise ValueError(f"{op}: input of shape {input.shape} needs targets of shape {expected}, "
                         f"got {target.shape}")
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    bad = (target < 0) | (target >= classes)
    if bad.any():
        where = np.argwhere(bad)[0] if target.ndim else ()
        raise IndexError(f"{op}: target {target[tuple(where)]} at index {tuple(int(i) for i in where)} "
                         f"is out of range for {classes} classes (valid labels are 0..{classes - 1})")
    return target.astype(np.intp, copy=False)


# ---------------------------------------------------------------- the losses

def cross_entropy(logits, targets, reduction="mean"):
    """Softmax cross-entropy of logits (N, C) against class indices (N,) in one op.

    Same as nll_loss(log_softmax(logits, 1), targets) but fused: one pass
    forward and `softmax - onehot` backward.
    """
    _check_reduction("cross_entropy", reduction)
    target = _class_targets("cross_entropy", logits, targets)
    return CrossEntropy.apply(logits, target=target, reduction=reduction)


def nll_loss(log_probs, targets, reduction="mean"):
    """Negative log-likelihood of log-probabilities (N, C) at class indices (N,)."""
    _check_reduction("nll_loss", reduction)
    target = _class_targets("nll_loss", log_probs, targets)
    return NLLLoss.apply(log_probs, target=target, reduction=reduction)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error; input and target must have the same shape."""
    _check_reduction("mse_loss", reduction)
    target = as_tensor(target, like=input)
    if input.shape != target.shape:
        raise ValueError(f"mse_loss: input of shape {input.shape} and target of shape {target.shape} differ "
                         f"(broadcasting them is almost always a bug; reshape one explicitly)")
    if input.dtype.kind != "f":
        raise TypeError(f"mse_loss needs a float input, got {input.dtype}")
    return MSELoss.apply(input, target, reduction=reduction)
