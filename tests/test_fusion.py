"""Folding an eval-mode BatchNorm into the layer before it changes nothing but rounding."""
import numpy as np
import pytest

import minigrad
from minigrad import Tensor, nn
from minigrad.models import mnist_cnn
from minigrad.nn.utils import fuse_conv_bn, fuse_linear_bn, fuse_sequential


def _trained_bn(bn, shape, steps=3, seed=0):
    """Give a BN non-trivial running statistics and affine parameters."""
    rng = np.random.default_rng(seed)
    bn.weight.data[:] = rng.uniform(0.5, 2.0, bn.num_features)
    bn.bias.data[:] = rng.standard_normal(bn.num_features)
    for _ in range(steps):
        bn(Tensor((rng.standard_normal(shape) * 3 + 2).astype(np.float32)))
    return bn.eval()


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 0)])
def test_fused_conv_equals_conv_then_bn_in_eval(bias, stride, padding):
    minigrad.manual_seed(0)
    conv = nn.Conv2d(3, 5, 3, stride=stride, padding=padding, bias=bias)
    bn = _trained_bn(nn.BatchNorm2d(5), (4, 5, 6, 6))
    x = Tensor(np.random.default_rng(1).standard_normal((2, 3, 9, 9)).astype(np.float32))
    expected = bn(conv(x)).data
    fused = fuse_conv_bn(conv, bn)
    np.testing.assert_allclose(fused(x).data, expected, rtol=1e-4, atol=1e-4)
    assert fused.bias is not None and fused.stride == conv.stride and fused.padding == conv.padding


def test_fused_linear_equals_linear_then_bn_in_eval():
    minigrad.manual_seed(1)
    linear = nn.Linear(6, 4)
    bn = _trained_bn(nn.BatchNorm1d(4), (16, 4))
    x = Tensor(np.random.default_rng(2).standard_normal((7, 6)).astype(np.float32))
    np.testing.assert_allclose(fuse_linear_bn(linear, bn)(x).data, bn(linear(x)).data, rtol=1e-4, atol=1e-4)


def test_fuse_sequential_folds_every_conv_bn_pair_of_the_mnist_cnn():
    minigrad.manual_seed(2)
    model = mnist_cnn()
    for module in model:
        if isinstance(module, nn.BatchNorm2d):
            _trained_bn(module, (4, module.num_features, 5, 5))
    model.eval()
    fused = fuse_sequential(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert len(fused) == len(model) - 2
    x = Tensor(np.random.default_rng(3).random((5, 1, 28, 28)).astype(np.float32))
    np.testing.assert_allclose(fused(x).data, model(x).data, rtol=1e-4, atol=1e-4)
    assert model[1].running_mean.data.any()          # the original model still has its BN


def test_fusion_refuses_mismatched_or_statless_bn():
    conv = nn.Conv2d(1, 4, 3)
    with pytest.raises(ValueError, match="4 output channels.*num_features=3"):
        fuse_conv_bn(conv, nn.BatchNorm2d(3))
    with pytest.raises(ValueError, match="track_running_stats=False"):
        fuse_conv_bn(conv, nn.BatchNorm2d(4, track_running_stats=False))
