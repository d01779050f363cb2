"""The layers and losses added for breadth (issue 14): parity with torch.nn
(state_dict keys and shapes, forward, backward), PyTorch's init bounds, and the
edge cases each op documents (stability, kinks, ignored targets)."""
import math
import warnings

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import Tensor


def leaf(values, dtype=np.float64):
    return Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ---- layers with parameters: state_dict keys, shapes, forward and backward against torch.nn ----

LAYERS = {
    "Conv2d groups": (lambda m: m.Conv2d(4, 6, 3, padding=1, groups=2), (2, 4, 6, 6)),
    "Conv2d depthwise no bias": (lambda m: m.Conv2d(3, 6, 3, groups=3, bias=False), (2, 3, 5, 5)),
    "Conv2d same even": (lambda m: m.Conv2d(2, 3, (4, 3), padding="same", dilation=(1, 2)), (1, 2, 7, 6)),
    "Conv1d": (lambda m: m.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    "Conv1d groups same": (lambda m: m.Conv1d(4, 4, 4, padding="same", groups=4), (2, 4, 7)),
    "ConvTranspose2d": (lambda m: m.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), (2, 3, 4, 4)),
    "ConvTranspose2d groups dilation": (lambda m: m.ConvTranspose2d(4, 6, (2, 3), groups=2, dilation=2),
                                        (1, 4, 3, 3)),
}


@pytest.mark.parametrize("build, shape", LAYERS.values(), ids=LAYERS.keys())
def test_layer_matches_torch(build, shape):
    torch = pytest.importorskip("torch")
    theirs = build(torch.nn).double()
    ours = build(nn).double()
    expected_state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(expected_state)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in expected_state.items()}
    ours.load_state_dict(expected_state)
    x = np.random.default_rng(0).standard_normal(shape)
    mx, tx = leaf(x), torch.tensor(x, requires_grad=True)
    out, expected = ours(mx), theirs(tx)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    projection = np.random.default_rng(1).standard_normal(out.shape)
    (out * projection).sum().backward()
    (expected * torch.from_numpy(projection)).sum().backward()
    np.testing.assert_allclose(mx.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, dict(theirs.named_parameters())[name].grad.numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("layer", [nn.ConvTranspose2d(6, 4, 3, groups=2), nn.Conv1d(4, 8, 5, groups=2),
                                   nn.Conv2d(6, 3, 3, groups=3)], ids=repr)
def test_init_bounds_follow_pytorch_fan_in(layer):
    """fan_in = weight.shape[1] * prod(kernel), for transposed convolutions too (as PyTorch)."""
    minigrad.manual_seed(0)
    layer.reset_parameters()
    fan_in = layer.weight.shape[1] * int(np.prod(layer.weight.shape[2:]))
    bound = 1 / math.sqrt(fan_in)
    assert np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.8 * bound          # drawn over the whole range
    assert np.abs(layer.bias.data).max() <= bound


def test_layer_reprs_name_their_arguments():
    assert repr(nn.Conv2d(4, 4, 3, padding="same", groups=4)) == \
        "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding='same', groups=4)"
    assert repr(nn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1)) == \
        "ConvTranspose2d(2, 3, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1))"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"


# ---- parameter-free modules against torch.nn -------------------------------------------------

MODULES = {
    "LeakyReLU": (lambda m: m.LeakyReLU(0.2), (3, 4)),
    "GELU": (lambda m: m.GELU(), (3, 4)),
    "GELU tanh": (lambda m: m.GELU(approximate="tanh"), (3, 4)),
    "ELU": (lambda m: m.ELU(0.5), (3, 4)),
    "SiLU": (lambda m: m.SiLU(), (3, 4)),
    "Softplus": (lambda m: m.Softplus(2.0, 1.0), (3, 4)),
    "Hardtanh": (lambda m: m.Hardtanh(-0.5, 0.5), (3, 4)),
    "AdaptiveAvgPool2d": (lambda m: m.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
    "AdaptiveAvgPool2d int": (lambda m: m.AdaptiveAvgPool2d(1), (2, 3, 4, 4)),
}


@pytest.mark.parametrize("build, shape", MODULES.values(), ids=MODULES.keys())
def test_module_matches_torch(build, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(shape)
    mx, tx = leaf(x), torch.tensor(x, requires_grad=True)
    out, expected = build(nn)(mx), build(torch.nn)(tx)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(mx.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


LABELS = np.array([1, -100, 3, 0, 2, -100])


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss"])
def test_class_losses_with_ignored_targets_match_torch(name):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((6, 4))
    kwargs = dict(ignore_index=-100) if name == "NLLLoss" else dict(label_smoothing=0.15)
    mx, tx = leaf(x), torch.tensor(x, requires_grad=True)
    out = getattr(nn, name)(**kwargs)(mx, LABELS)
    expected = getattr(torch.nn, name)(**kwargs)(tx, torch.as_tensor(LABELS))
    np.testing.assert_allclose(out.data, expected.item(), rtol=1e-12)
    out.backward()
    expected.backward()
    np.testing.assert_allclose(mx.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_bce_modules_match_torch_and_keep_weights_as_buffers():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, t, pw = rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 3)), np.array([0.5, 2.0, 1.0])
    ours = nn.BCEWithLogitsLoss(pos_weight=Tensor(pw))
    theirs = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["pos_weight"]
    np.testing.assert_allclose(ours(leaf(x), t).data, theirs(torch.tensor(x), torch.tensor(t)).item(), rtol=1e-12)
    p = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(nn.BCELoss(reduction="sum")(leaf(p), t).data,
                               torch.nn.BCELoss(reduction="sum")(torch.tensor(p), torch.tensor(t)).item(),
                               rtol=1e-12)


# ---- documented edge cases ---------------------------------------------------------------

def no_float_errors():
    return np.errstate(over="raise", divide="raise", invalid="raise")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_stable_for_huge_logits(dtype):
    x = leaf([-300.0, 300.0, -1e4, 1e4, 0.0], dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    with no_float_errors(), warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
        loss.sum().backward()
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss.data, [300.0, 300.0, 0.0, 0.0, math.log(2)], rtol=1e-6)
    np.testing.assert_allclose(x.grad, [-1.0, 1.0, 0.0, 0.0, -0.5], atol=1e-6)   # sigmoid(x) - t


def test_bce_clamps_the_log_at_minus_100_like_pytorch():
    p = leaf([0.0, 1.0, 0.5])
    loss = F.binary_cross_entropy(p, np.array([1.0, 0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [100.0, 100.0, math.log(2)], rtol=1e-12)
    loss.sum().backward()
    assert np.isfinite(p.grad).all()


def test_where_ignores_inf_and_nan_on_the_side_not_chosen():
    a, b = leaf([1.0, np.inf, 2.0]), leaf([np.nan, 3.0, -np.inf])
    out = minigrad.where(np.array([True, False, True]), a, b)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [1.0, 3.0, 2.0])
    np.testing.assert_array_equal(a.grad, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad, [0.0, 1.0, 0.0])


def test_elu_and_softplus_stay_finite_for_large_inputs():
    x = leaf([-1000.0, 0.0, 1000.0])
    with no_float_errors():
        (F.elu(x) + F.softplus(x)).sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 1.0 + 0.5, 2.0])


def test_gradients_at_the_kinks_follow_pytorch():
    x = leaf([0.0])
    F.leaky_relu(x, 0.1).backward()
    assert x.grad[0] == pytest.approx(0.1)               # the negative side's slope at 0
    x = leaf([-1.0, 1.0, 0.0])
    F.hardtanh(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])   # no gradient at the bounds
    x = leaf([0.0])
    F.softplus(x).backward()
    assert x.grad[0] == pytest.approx(0.5)


def test_cross_entropy_with_every_target_ignored_is_nan_like_pytorch():
    loss = F.cross_entropy(leaf(np.zeros((2, 3))), np.array([-100, -100]))
    assert np.isnan(loss.item())
    assert F.cross_entropy(leaf(np.zeros((2, 3))), np.array([-100, -100]), reduction="sum").item() == 0.0


def test_pow_with_a_zero_base_has_a_finite_exponent_gradient():
    a, b = leaf([0.0, 2.0]), leaf([2.0, 3.0])
    (a ** b).sum().backward()
    np.testing.assert_allclose(a.grad, [0.0, 12.0])
    np.testing.assert_allclose(b.grad, [0.0, 8 * math.log(2)])


def test_eye_and_min_max_conventions():
    np.testing.assert_array_equal(minigrad.eye(2, 3).data, np.eye(2, 3))
    assert minigrad.eye(3).dtype == np.float32
    x = Tensor(np.array([[3.0, 1.0], [0.0, 5.0]]))
    np.testing.assert_array_equal(x.max(dim=1).data, [3.0, 5.0])     # values only (torch.amax)
    np.testing.assert_array_equal(x.min(dim=0).data, [0.0, 1.0])
    np.testing.assert_array_equal(x.argmin(dim=1).data, [1, 0])


def test_gather_accumulates_the_gradient_of_repeated_indices():
    x = leaf([[1.0, 2.0, 3.0]])
    x.gather(1, np.array([[2, 2, 0]])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0, 2.0]])
