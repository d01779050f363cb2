"""LayerNorm, GroupNorm, InstanceNorm1d/2d (minigrad/ops/normalization.py and
minigrad/nn/normalization.py): parity with PyTorch, gradchecks, the
per-sample property of GroupNorm, and the errors.

The parity tests skip with a printed reason when PyTorch is not installed.
"""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minigrad import Tensor, gradcheck, nn
from minigrad.models import mnist_cnn
from minigrad.nn import functional as F
from minigrad.ops.normalization import normalize_over

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-10)}


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed: parity not checked")


# (our module, torch module name, constructor args, input shape)
CASES = [
    ("LayerNorm", dict(normalized_shape=7), (4, 7)),
    ("LayerNorm", dict(normalized_shape=(3, 4, 5)), (2, 3, 4, 5)),
    ("LayerNorm", dict(normalized_shape=(4, 5), elementwise_affine=False), (2, 3, 4, 5)),
    ("LayerNorm", dict(normalized_shape=(4, 5), bias=False), (2, 3, 4, 5)),
    ("GroupNorm", dict(num_groups=2, num_channels=6), (3, 6, 4, 5)),
    ("GroupNorm", dict(num_groups=3, num_channels=6, affine=False), (3, 6, 7)),
    ("GroupNorm", dict(num_groups=1, num_channels=4), (2, 4)),
    ("GroupNorm", dict(num_groups=4, num_channels=4), (2, 4, 3, 3)),
] + [
    (name, dict(num_features=3, affine=affine, track_running_stats=track, momentum=momentum),
     shape)
    for (name, shape), affine, track, momentum in itertools.product(
        [("InstanceNorm1d", (4, 3, 6)), ("InstanceNorm1d", (3, 6)),
         ("InstanceNorm2d", (4, 3, 5, 4)), ("InstanceNorm2d", (3, 5, 4))],
        [False, True], [False, True], [0.1, None])
]


def _pair(name, kwargs, dtype):
    torch = _torch()
    ours = getattr(nn, name)(**kwargs).to(dtype)
    theirs = getattr(torch.nn, name)(**kwargs).to(getattr(torch, np.dtype(dtype).name))
    rng = np.random.default_rng(1)
    for key, value in ours.state_dict().items():       # non-trivial affine parameters
        if key in ("weight", "bias"):
            value = rng.uniform(0.5, 1.5, value.shape).astype(dtype)
            getattr(ours, key).data[...] = value
            with torch.no_grad():
                getattr(theirs, key).copy_(torch.from_numpy(value))
    return ours, theirs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, kwargs, shape", CASES)
def test_module_matches_pytorch_values_gradients_and_buffers(name, kwargs, shape, dtype):
    torch = _torch()
    ours, theirs = _pair(name, kwargs, dtype)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(0)
    for mode in ("train", "train", "eval"):
        ours.train(mode == "train")
        theirs.train(mode == "train")
        x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
        dy = rng.standard_normal(shape).astype(dtype)
        xo, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        yo.backward(dy)
        yt.backward(torch.from_numpy(dy))
        assert yo.dtype == dtype
        np.testing.assert_allclose(yo.data, yt.detach().numpy(), **TOL[dtype])
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), **TOL[dtype])
        for key, value in theirs.named_parameters():
            np.testing.assert_allclose(getattr(ours, key).grad, value.grad.numpy(), **TOL[dtype])
        for key, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), **TOL[dtype])


@pytest.mark.parametrize("name, kwargs, shape", [CASES[1], CASES[4], CASES[-1]])
def test_state_dict_loads_into_pytorch_and_back(name, kwargs, shape):
    torch = _torch()
    ours, theirs = _pair(name, kwargs, np.float32)
    ours(Tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32)))
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    back = getattr(nn, name)(**kwargs)
    back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key], value)


def test_functional_forms_match_pytorch_with_weights_and_running_stats():
    torch = _torch()
    tf = torch.nn.functional
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5, 2))
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    t = lambda a: torch.from_numpy(a.copy())
    np.testing.assert_allclose(F.group_norm(Tensor(x), 2, Tensor(w), Tensor(b), 1e-3).data,
                               tf.group_norm(t(x), 2, t(w), t(b), 1e-3).numpy(), rtol=1e-10)
    lw, lb = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    np.testing.assert_allclose(F.layer_norm(Tensor(x), (5, 2), Tensor(lw), Tensor(lb)).data,
                               tf.layer_norm(t(x), (5, 2), t(lw), t(lb)).numpy(), rtol=1e-10)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    rm_t, rv_t = t(rm), t(rv)
    for use_input_stats in (True, False):
        ours = F.instance_norm(Tensor(x), rm, rv, Tensor(w), Tensor(b), use_input_stats, 0.3)
        theirs = tf.instance_norm(t(x), rm_t, rv_t, t(w), t(b), use_input_stats, 0.3)
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10)
        np.testing.assert_allclose(rm, rm_t.numpy(), rtol=1e-12)
        np.testing.assert_allclose(rv, rv_t.numpy(), rtol=1e-12)


def test_one_value_per_set_gives_zeros_like_pytorch():
    # One value per group has zero variance: (x - mean) is 0, and PyTorch returns 0.
    np.testing.assert_array_equal(F.layer_norm(Tensor(np.ones((2, 1))), 1).data, 0)
    np.testing.assert_array_equal(F.group_norm(Tensor(np.arange(8.0).reshape(2, 4)), 4).data, 0)


def _leaf(rng, *shape):
    return Tensor(rng.standard_normal(shape), requires_grad=True)


def test_gradcheck_layer_norm(rng, one_numba_thread):
    x, w, b = _leaf(rng, 3, 4, 5), _leaf(rng, 4, 5), _leaf(rng, 4, 5)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (4, 5), w, b), x, w, b)
    assert gradcheck(lambda x: F.layer_norm(x, 5), x)


def test_gradcheck_group_norm(rng, one_numba_thread):
    x, w, b = _leaf(rng, 2, 6, 3, 2), _leaf(rng, 6), _leaf(rng, 6)
    assert gradcheck(lambda x, w, b: F.group_norm(x, 3, w, b), x, w, b)
    assert gradcheck(lambda x: F.group_norm(x.permute(0, 1, 3, 2), 2), x)   # non-contiguous input


def test_gradcheck_instance_norm(rng, one_numba_thread):
    x, w, b = _leaf(rng, 2, 3, 4, 3), _leaf(rng, 3), _leaf(rng, 3)
    assert gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), x, w, b)
    rm, rv = np.zeros(3), np.ones(3)
    eval_mode = lambda x, w, b: F.instance_norm(x, rm, rv, w, b, use_input_stats=False)
    assert gradcheck(eval_mode, x, w, b)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 5), groups=st.sampled_from([1, 2, 4]), spatial=st.integers(1, 6),
       seed=st.integers(0, 2**16), i=st.integers(0, 4))
def test_group_norm_of_one_sample_ignores_the_rest_of_the_batch(n, groups, spatial, seed, i):
    rng = np.random.default_rng(seed)
    i = i % n
    layer = nn.GroupNorm(groups, 4)
    layer.weight.data[:] = rng.standard_normal(4)
    x = rng.standard_normal((n, 4, spatial)).astype(np.float32)
    other = x.copy()
    other[np.arange(n) != i] = rng.standard_normal((n - 1, 4, spatial)) * 10 + 5
    alone = layer(Tensor(x[i:i + 1])).data[0]
    np.testing.assert_allclose(layer(Tensor(x)).data[i], alone, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer(Tensor(other)).data[i], alone, rtol=1e-5, atol=1e-5)


def test_normalize_over_standardizes_each_set():
    x = np.random.default_rng(3).standard_normal((3, 8, 5)) * 4 + 7
    y = normalize_over(Tensor(x), 6).data.reshape(6, -1)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), 1, rtol=1e-3)


def test_errors_are_clear_and_leave_state_alone():
    with pytest.raises(ValueError, match="divisible by num_groups.*num_groups=3, num_channels=8"):
        nn.GroupNorm(3, 8)
    with pytest.raises(ValueError, match="built for 8 channels"):
        nn.GroupNorm(2, 8)(Tensor(np.zeros((2, 6, 3), np.float32)))
    with pytest.raises(ValueError, match=r"trailing shape \(4, 5\).*\(2, 5, 4\)"):
        nn.LayerNorm((4, 5))(Tensor(np.zeros((2, 5, 4), np.float32)))
    with pytest.raises(ValueError, match="normalized_shape must be"):
        nn.LayerNorm(0)
    with pytest.raises(ValueError, match="weight must have shape"):
        F.group_norm(Tensor(np.zeros((2, 4, 3))), 2, Tensor(np.ones(3)))
    with pytest.raises(TypeError, match="float tensor"):
        F.layer_norm(Tensor(np.zeros((2, 3), np.int64)), 3)
    layer = nn.InstanceNorm2d(3, track_running_stats=True, affine=True)
    before = layer.state_dict()
    with pytest.raises(ValueError, match=r"built for 3 channels.*\(2, 4, 5, 5\)"):
        layer(Tensor(np.ones((2, 4, 5, 5), np.float32)))
    with pytest.raises(ValueError, match="expects 4-D"):
        layer(Tensor(np.ones((3, 5), np.float32)))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        layer(Tensor(np.ones((2, 3, 1, 1), np.float32)))
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize("norm, kwargs, layer_type", [
    ("batch", {}, nn.BatchNorm2d), ("group", dict(groups=8), nn.GroupNorm),
    ("layer", {}, nn.LayerNorm), ("none", {}, None)])
def test_mnist_cnn_norm_option(norm, kwargs, layer_type):
    model = mnist_cnn(norm=norm, **kwargs)
    assert model(Tensor(np.zeros((2, 1, 28, 28), np.float32))).shape == (2, 10)
    conv = model[0]
    assert (conv.bias is None) == (layer_type is not None)
    if layer_type is not None:
        assert isinstance(model[1], layer_type)
    if norm == "layer":
        assert model[1].normalized_shape == (16, 28, 28)
        assert model[5].normalized_shape == (32, 14, 14)
    if norm == "group":
        assert model[1].num_groups == 8
    with pytest.raises(ValueError, match="norm must be one of"):
        mnist_cnn(norm="weird")


def test_instance_norm_of_an_empty_batch_is_empty_and_leaves_the_buffers():
    norm = nn.InstanceNorm2d(3, track_running_stats=True)
    out = norm(Tensor(np.zeros((0, 3, 4, 4), np.float32)))
    assert out.shape == (0, 3, 4, 4)
    np.testing.assert_array_equal(norm.running_mean.data, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        norm(Tensor(np.zeros((2, 3, 1, 1), np.float32)))
