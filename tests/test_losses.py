"""Losses: cross_entropy (fused), nll_loss and mse_loss: values, gradients,
stability for huge logits, and clear errors for bad targets."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import Tensor, gradcheck

# Every value checked on both kernel backends (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("backend")


def logits_and_labels(n=5, c=4, seed=0):
    rng = np.random.default_rng(seed)
    return Tensor(rng.standard_normal((n, c)), requires_grad=True), rng.integers(0, c, size=n)


def reference_cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_gradcheck_and_value(reduction):
    logits, labels = logits_and_labels()
    assert gradcheck(lambda z: F.cross_entropy(z, labels, reduction=reduction), logits)
    losses = reference_cross_entropy(logits.data, labels)
    expected = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    np.testing.assert_allclose(F.cross_entropy(logits, labels, reduction=reduction).data, expected, rtol=1e-12)


def test_cross_entropy_backward_is_softmax_minus_onehot():
    logits, labels = logits_and_labels(n=3, c=5)
    F.cross_entropy(logits, Tensor(labels)).backward()         # labels as a Tensor
    softmax = np.exp(logits.data) / np.exp(logits.data).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(logits.grad, (softmax - np.eye(5)[labels]) / 3, rtol=1e-12)


def test_cross_entropy_matches_log_softmax_then_nll():
    logits, labels = logits_and_labels()
    fused = F.cross_entropy(logits, labels)
    split = F.nll_loss(F.log_softmax(logits, dim=1), labels)
    np.testing.assert_allclose(fused.data, split.data, rtol=1e-12)


def test_cross_entropy_on_spatial_and_single_sample_inputs():
    rng = np.random.default_rng(1)
    logits = Tensor(rng.standard_normal((2, 3, 4, 5)), requires_grad=True)
    labels = rng.integers(0, 3, size=(2, 4, 5))
    per_pixel = F.cross_entropy(logits, labels, reduction="none")
    assert per_pixel.shape == (2, 4, 5)
    moved = np.moveaxis(logits.data, 1, -1).reshape(-1, 3)
    np.testing.assert_allclose(per_pixel.data.reshape(-1), reference_cross_entropy(moved, labels.reshape(-1)))
    assert gradcheck(lambda z: F.cross_entropy(z, labels), logits)
    single = Tensor(rng.standard_normal(4), requires_grad=True)
    assert F.cross_entropy(single, np.array(2)).shape == ()
    assert gradcheck(lambda z: F.cross_entropy(z, np.array(2)), single)


def test_cross_entropy_is_stable_for_huge_logits_in_float32():
    logits = Tensor(np.array([[3e4, -3e4, 0.0], [-3e4, -3e4, 3e4], [3e4, 3e4, -3e4]], dtype=np.float32),
                    requires_grad=True)
    labels = np.array([1, 2, 0])
    loss = F.cross_entropy(logits, labels, reduction="none")
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.data, [6e4, 0.0, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    assert np.all(np.isfinite(logits.grad))
    np.testing.assert_allclose(logits.grad, [[1, -1, 0], [0, 0, 0], [-0.5, 0.5, 0]], atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_gradcheck(reduction):
    log_probs, labels = logits_and_labels(seed=2)
    assert gradcheck(lambda z: F.nll_loss(z, labels, reduction=reduction), log_probs)
    assert np.allclose(F.nll_loss(log_probs, labels, reduction="none").data,
                       -log_probs.data[np.arange(5), labels])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_gradcheck_for_both_inputs(reduction):
    rng = np.random.default_rng(3)
    a = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), a, b)
    squared = (a.data - b.data) ** 2
    expected = {"mean": squared.mean(), "sum": squared.sum(), "none": squared}[reduction]
    np.testing.assert_allclose(F.mse_loss(a, b, reduction=reduction).data, expected)


def test_loss_modules():
    logits, labels = logits_and_labels()
    assert np.allclose(nn.CrossEntropyLoss()(logits, labels).data, F.cross_entropy(logits, labels).data)
    assert nn.CrossEntropyLoss(reduction="none")(logits, labels).shape == (5,)
    assert np.allclose(nn.NLLLoss(reduction="sum")(logits, labels).data,
                       F.nll_loss(logits, labels, reduction="sum").data)
    assert np.allclose(nn.MSELoss()(logits, np.zeros((5, 4))).data, (logits.data ** 2).mean())
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.CrossEntropyLoss(reduction="average")


def test_float32_losses_stay_float32():
    logits = minigrad.randn(4, 3, requires_grad=True)
    loss = F.cross_entropy(logits, np.array([0, 1, 2, 0]))
    assert loss.dtype == np.float32
    loss.backward()
    assert logits.grad.dtype == np.float32


# ---------------------------------------------------------------- errors

def test_cross_entropy_rejects_out_of_range_labels():
    logits, _ = logits_and_labels(n=3, c=4)
    with pytest.raises(IndexError, match=r"target 4 at index \(1,\) is out of range for 4 classes"):
        F.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(IndexError, match=r"target -1 .* out of range"):
        F.cross_entropy(logits, np.array([0, 1, -1]))


def test_cross_entropy_rejects_float_targets_and_wrong_shapes():
    logits, _ = logits_and_labels(n=3, c=4)
    with pytest.raises(TypeError, match=r"integer class indices.*float32.*\.long\(\)"):
        F.cross_entropy(logits, Tensor(np.array([0.0, 1.0, 2.0], dtype=np.float32)))
    with pytest.raises(ValueError, match=r"needs targets of shape \(3,\), got \(3, 1\)"):
        F.cross_entropy(logits, np.zeros((3, 1), dtype=np.int64))
    with pytest.raises(ValueError, match=r"needs targets of shape \(3,\), got \(4,\)"):
        F.cross_entropy(logits, np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(logits, np.zeros(3, dtype=np.int64), reduction="avg")
    with pytest.raises(TypeError, match="float scores"):
        F.cross_entropy(Tensor(np.zeros((3, 4), dtype=np.int64)), np.zeros(3, dtype=np.int64))


def test_mse_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(4, 1\) and target of shape \(4,\)"):
        F.mse_loss(minigrad.randn(4, 1), minigrad.randn(4))
