"""Layers: gradients against finite differences (float64), shapes, argument
errors, dropout behaviour and PyTorch-style initialisation."""
import math

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import Tensor, gradcheck


# Gradchecks run thousands of tiny kernels: one numba thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_numba_thread", "backend")  # both kernel backends


def randn(*shape, seed=0, requires_grad=True):
    data = np.random.default_rng(seed).standard_normal(shape)
    return Tensor(data, requires_grad=requires_grad)


# ---------------------------------------------------------------- conv2d

CONV_CASES = [
    # (N, C, H, W), (O, kh, kw), stride, padding, dilation
    ((2, 3, 7, 7), (4, 3, 3), 1, 0, 1),
    ((2, 3, 7, 7), (4, 3, 3), 1, 1, 1),
    ((1, 2, 9, 7), (3, 3, 3), 2, 1, 1),       # batch 1, odd and unequal sizes, stride 2
    ((2, 2, 9, 9), (3, 5, 5), 1, 2, 1),
    ((2, 2, 8, 8), (3, 5, 5), 2, 2, 1),
    ((2, 3, 5, 5), (4, 1, 1), 1, 0, 1),       # 1x1 kernel
    ((2, 3, 5, 5), (4, 1, 1), 2, 0, 1),
    ((1, 2, 11, 9), (2, 3, 3), 1, 2, 2),      # dilation 2
    ((2, 2, 9, 9), (2, 3, 3), 2, 1, 2),
    ((1, 1, 6, 8), (2, 3, 5), (1, 2), (1, 2), (1, 1)),   # pair arguments
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation", CONV_CASES)
def test_conv2d_gradcheck(x_shape, w_shape, stride, padding, dilation):
    x = randn(*x_shape, seed=1)
    w = randn(w_shape[0], x_shape[1], *w_shape[1:], seed=2)
    b = randn(w_shape[0], seed=3)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation), x, w, b, max_elements=60)


def test_conv2d_gradcheck_without_bias_and_with_frozen_input():
    x = randn(2, 2, 6, 6, seed=1, requires_grad=False)
    w = randn(3, 2, 3, 3, seed=2)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding=1), x, w)


def test_conv2d_matches_a_direct_loop():
    x = randn(2, 3, 6, 5, seed=4, requires_grad=False).data
    w = randn(4, 3, 3, 2, seed=5, requires_grad=False).data
    b = np.arange(4.0)
    out = F.conv2d(Tensor(x), Tensor(w), Tensor(b), stride=(2, 1), padding=(1, 0)).data
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    expected = np.zeros((2, 4, 3, 4))
    for oh in range(3):
        for ow in range(4):
            patch = xp[:, :, 2 * oh:2 * oh + 3, ow:ow + 2]
            expected[:, :, oh, ow] = np.einsum("nchw,ochw->no", patch, w) + b
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def test_conv2d_module_shapes_dtype_and_repr():
    conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    assert conv.weight.shape == (8, 3, 3, 3) and conv.bias.shape == (8,)
    assert conv.weight.dtype == np.float32
    y = conv(minigrad.randn(2, 3, 9, 9))
    assert y.shape == (2, 8, 5, 5) and y.dtype == np.float32
    assert repr(conv) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    assert repr(nn.Conv2d(1, 2, (3, 5), dilation=2, bias=False)) == \
        "Conv2d(1, 2, kernel_size=(3, 5), stride=(1, 1), dilation=(2, 2), bias=False)"
    assert [name for name, _ in conv.named_parameters()] == ["weight", "bias"]


def test_conv2d_errors_are_clear_and_raised_before_work():
    x = minigrad.randn(2, 3, 8, 8)
    with pytest.raises(ValueError, match=r"input has 3 channels.*expects 4 input channels"):
        F.conv2d(x, minigrad.randn(5, 4, 3, 3))
    with pytest.raises(ValueError, match=r"4-D input"):
        F.conv2d(minigrad.randn(3, 8, 8), minigrad.randn(5, 3, 3, 3))
    with pytest.raises(ValueError, match=r"4-D weight"):
        F.conv2d(x, minigrad.randn(5, 3, 3))
    with pytest.raises(ValueError, match=r"kernel height 11.*larger than the padded input height 10"):
        F.conv2d(x, minigrad.randn(5, 3, 11, 3), padding=1)
    with pytest.raises(ValueError, match=r"spanning 9.*larger than the padded input width 8"):
        F.conv2d(x, minigrad.randn(5, 3, 3, 5), dilation=2)
    with pytest.raises(ValueError, match=r"bias of shape \(4,\)"):
        F.conv2d(x, minigrad.randn(5, 3, 3, 3), minigrad.randn(4))
    with pytest.raises(TypeError, match=r"one float dtype"):
        F.conv2d(x.double(), minigrad.randn(5, 3, 3, 3))
    with pytest.raises(TypeError, match=r"stride must be an int or a pair"):
        F.conv2d(x, minigrad.randn(5, 3, 3, 3), stride=(1, 2, 3))
    with pytest.raises(ValueError, match=r"input has 1 channels.*expects 3"):
        nn.Conv2d(3, 4, 3)(minigrad.randn(1, 1, 5, 5))


# ---------------------------------------------------------------- pooling

def distinct_values(*shape, seed=0):
    """No two values closer than 0.1: max pooling has no ties, even under finite differences."""
    values = np.random.default_rng(seed).permutation(int(np.prod(shape))) * 0.1
    return Tensor(values.reshape(shape), requires_grad=True)


@pytest.mark.parametrize("kernel, stride, padding, shape", [
    (2, None, 0, (2, 3, 6, 6)),
    (3, 2, 1, (1, 2, 7, 9)),
    ((2, 3), (1, 2), (1, 1), (2, 1, 5, 7)),
    (3, 1, 0, (2, 2, 5, 5)),          # overlapping windows share elements
])
def test_max_pool2d_gradcheck(kernel, stride, padding, shape):
    x = distinct_values(*shape)
    assert gradcheck(lambda x: F.max_pool2d(x, kernel, stride, padding), x)


@pytest.mark.parametrize("kernel, stride, padding, shape", [
    (2, None, 0, (2, 3, 6, 6)),
    (3, 2, 1, (1, 2, 7, 9)),
    ((2, 3), (1, 2), (1, 1), (2, 1, 5, 7)),
])
def test_avg_pool2d_gradcheck(kernel, stride, padding, shape):
    x = randn(*shape)
    assert gradcheck(lambda x: F.avg_pool2d(x, kernel, stride, padding), x)


def test_max_pool_stride_defaults_to_kernel_and_ties_go_to_the_first_maximum():
    pool = nn.MaxPool2d(2)
    assert pool.stride == 2
    assert repr(pool) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    x = Tensor(np.zeros((1, 1, 4, 4), dtype=np.float32), requires_grad=True)
    y = pool(x)
    assert y.shape == (1, 1, 2, 2)
    y.sum().backward()
    expected = np.zeros((4, 4), dtype=np.float32)
    expected[::2, ::2] = 1                   # the first element of every tied window
    np.testing.assert_array_equal(x.grad[0, 0], expected)


def test_avg_pool_values_and_errors():
    x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    np.testing.assert_allclose(nn.AvgPool2d(2)(x).data[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    with pytest.raises(ValueError, match="4-D input"):
        F.max_pool2d(minigrad.randn(4, 4), 2)
    with pytest.raises(ValueError, match="at most half"):
        F.avg_pool2d(minigrad.randn(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.max_pool2d(minigrad.randn(1, 1, 4, 4), 5)


# ---------------------------------------------------------------- linear

def test_linear_gradcheck_2d_3d_and_without_bias():
    w, b = randn(4, 5, seed=1), randn(4, seed=2)
    assert gradcheck(F.linear, randn(3, 5), w, b)
    assert gradcheck(F.linear, randn(2, 3, 5), w, b)
    assert gradcheck(lambda x, w: F.linear(x, w), randn(3, 5), w)


def test_linear_module_is_one_op_with_pytorch_layout():
    layer = nn.Linear(5, 3)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert repr(layer) == "Linear(in_features=5, out_features=3, bias=True)"
    x = minigrad.randn(4, 5)
    y = layer(x)
    assert y.grad_fn.name == "Linear"
    np.testing.assert_allclose(y.data, x.data @ layer.weight.data.T + layer.bias.data, rtol=1e-5)
    assert nn.Linear(5, 3, bias=False).bias is None
    with pytest.raises(ValueError, match="has 4 features, weight .* expects 5"):
        layer(minigrad.randn(2, 4))


# ---------------------------------------------------------------- activations

def test_activation_modules_match_functions():
    x = randn(3, 4, requires_grad=False)
    np.testing.assert_allclose(nn.ReLU()(x).data, np.maximum(x.data, 0))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)))
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x.data))
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).data.sum(axis=1), np.ones(3))
    np.testing.assert_allclose(np.exp(nn.LogSoftmax(dim=1)(x).data), nn.Softmax(1)(x).data)
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"


# ---------------------------------------------------------------- dropout

def test_dropout_gradcheck_with_a_fixed_mask():
    x = randn(4, 5)
    mask = np.random.default_rng(1).random((4, 5)) > 0.3
    assert gradcheck(lambda x: F.dropout(x, 0.3, mask=mask), x)
    y = F.dropout(x, 0.3, mask=mask)
    np.testing.assert_allclose(y.data, x.data * mask / 0.7)


def test_dropout_training_eval_and_reproducibility():
    layer = nn.Dropout(0.25)
    x = minigrad.ones(200, 100)
    minigrad.manual_seed(3)
    y = layer(x).data
    assert y.dtype == np.float32
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02                 # about p of the elements dropped
    minigrad.manual_seed(3)
    np.testing.assert_array_equal(layer(x).data, y)           # the mask comes from minigrad's generator
    layer.eval()
    assert layer(x) is x
    assert np.all(F.dropout(x, 1.0).data == 0)
    assert repr(layer) == "Dropout(p=0.25)"


@pytest.mark.parametrize("p", [-0.1, 1.5, "half", True])
def test_dropout_rejects_bad_probabilities(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(minigrad.ones(3), p)


# ---------------------------------------------------------------- init

def test_default_init_ranges_follow_pytorch():
    minigrad.manual_seed(0)
    conv = nn.Conv2d(16, 32, 3)
    fan_in = 16 * 9
    bound = 1 / math.sqrt(fan_in)       # kaiming_uniform_(a=sqrt(5)) gives exactly this bound
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.weight.data).max() > 0.95 * bound
    assert np.abs(conv.bias.data).max() <= bound
    linear = nn.Linear(400, 50)
    assert np.abs(linear.weight.data).max() <= 1 / 20 and np.abs(linear.bias.data).max() <= 1 / 20


def test_init_functions():
    w = nn.Parameter(np.empty((300, 200), dtype=np.float32))
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert w.dtype == np.float32
    assert abs(w.data.std() - math.sqrt(2 / 200)) < 0.005
    nn.init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    assert abs(np.abs(w.data).max() - math.sqrt(6 / 300)) < 1e-3
    nn.init.xavier_uniform_(w)
    assert abs(np.abs(w.data).max() - math.sqrt(6 / 500)) < 1e-3
    nn.init.xavier_normal_(w, gain=2.0)
    assert abs(w.data.std() - 2 * math.sqrt(2 / 500)) < 0.005
    nn.init.normal_(w, 1.0, 0.5)
    assert abs(w.data.mean() - 1.0) < 0.01
    nn.init.uniform_(w, -2, 3)
    assert w.data.min() >= -2 and w.data.max() <= 3
    assert np.all(nn.init.zeros_(w).data == 0) and np.all(nn.init.ones_(w).data == 1)
    assert np.all(nn.init.constant_(w, 0.25).data == 0.25)
    assert nn.init.calculate_gain("relu") == math.sqrt(2)
    assert nn.init.calculate_gain("tanh") == 5 / 3
    assert nn.init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert nn.init.calculate_gain("conv2d") == 1
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(3)))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


def test_init_is_reproducible_with_manual_seed():
    minigrad.manual_seed(7)
    a = nn.Linear(4, 3).weight.data.copy()
    minigrad.manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(4, 3).weight.data, a)


def test_pad_follows_pytorch_order():
    x = randn(1, 2, 3, 4)
    y = F.pad(x, (1, 2, 0, 1))
    assert y.shape == (1, 2, 4, 7)
    assert gradcheck(lambda x: F.pad(x, (1, 2, 0, 1)), x)
