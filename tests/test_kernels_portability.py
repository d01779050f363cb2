"""Every fast kernel once, on small shapes, against the reference backend, plus one
training step on each backend. Small enough to run under NUMBA_DISABLE_JIT=1:
CI runs this file with tbb hidden, with the JIT disabled, and from a read-only
copy as an unprivileged user (.ci/run), to prove that each of those paths works."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from minigrad import Tensor, optim
from minigrad.kernels.fast import activation, batchnorm, conv, pool
from minigrad.kernels.reference import (activation as activation_ref, batchnorm as batchnorm_ref,
                                        conv as conv_ref, pool as pool_ref)
from minigrad.nn import functional as F

EPS = 1e-5


# (3, 2, 5), (2, 3, 20), (9, 2, 20): the kernels' rows form; (9, 2, 130): their planes
# form (minigrad/kernels/fast/batchnorm.py). Inputs this small take the fused kernels for
# normalize_train and backward_train (with and without a ReLU), the split ones for the rest.
@pytest.mark.parametrize("shape", [(3, 2, 5), (2, 3, 20), (9, 2, 20), (9, 2, 130)])
def test_batchnorm_kernels(shape):
    rng = np.random.default_rng(0)
    x3 = rng.normal(3, 2, size=shape).astype(np.float32)
    dy3 = rng.normal(size=shape).astype(np.float32)
    w, b = rng.normal(1, 0.3, shape[1]), rng.normal(0, 0.3, shape[1])
    for relu in (False, True):
        want = batchnorm_ref.normalize_train(x3, w, b, EPS, relu=relu)
        for g, r in zip(batchnorm.normalize_train(x3, w, b, EPS, relu=relu), want):
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5)
        _, mean, invstd, _ = want
        for g, r in zip(batchnorm.backward_train(dy3, x3, mean, invstd, w, b, relu),
                        batchnorm_ref.backward_train(dy3, x3, mean, invstd, w, b, relu)):
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5)
    sums = batchnorm.backward_reduce(dy3, x3, mean, invstd)
    np.testing.assert_allclose(sums, batchnorm_ref.backward_reduce(dy3, x3, mean, invstd),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(batchnorm.backward_dx(dy3, x3, mean, invstd, w, *sums),
                               batchnorm_ref.backward_dx(dy3, x3, mean, invstd, w, *sums),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(batchnorm.scale_shift(x3, w, b),
                               batchnorm_ref.scale_shift(x3, w, b), rtol=1e-6, atol=1e-6)


def test_conv_kernels():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 7, 6))
    w = rng.normal(size=(4, 3, 3, 3))
    bias = rng.normal(size=4)
    geometry = ((2, 1), (1, 0), (1, 2))
    out, cache = conv.conv2d_forward(x, w, bias, *geometry)
    out_r, cache_r = conv_ref.conv2d_forward(x, w, bias, *geometry)
    np.testing.assert_allclose(out, out_r, rtol=1e-10, atol=1e-10)
    dy = rng.normal(size=out.shape)
    for g, r in zip(conv.conv2d_backward(dy, cache), conv_ref.conv2d_backward(dy, cache_r)):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("window", [((2, 2), (2, 2), (0, 0)), ((3, 2), (1, 2), (1, 1))])
def test_pool_and_relu_kernels(window):
    rng = np.random.default_rng(2)
    x = rng.integers(-2, 3, size=(2, 3, 6, 5)).astype(np.float32)   # ties in windows
    out, argmax = pool.max_pool2d_forward(x, *window)
    out_r, argmax_r = pool_ref.max_pool2d_forward(x, *window)
    np.testing.assert_array_equal(out, out_r)
    np.testing.assert_array_equal(argmax, argmax_r)
    dy = rng.normal(size=out.shape).astype(np.float32)
    np.testing.assert_allclose(pool.max_pool2d_backward(dy, argmax, x.shape),
                               pool_ref.max_pool2d_backward(dy, argmax, x.shape), rtol=1e-6)
    np.testing.assert_allclose(pool.avg_pool2d_forward(x, *window),
                               pool_ref.avg_pool2d_forward(x, *window), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(pool.avg_pool2d_backward(dy, x.shape, *window),
                               pool_ref.avg_pool2d_backward(dy, x.shape, *window),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(activation.relu_forward(x), activation_ref.relu_forward(x))
    np.testing.assert_array_equal(activation.relu_backward(x, x),
                                  activation_ref.relu_backward(x, x))


def _one_training_step():
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    rng = np.random.default_rng(3)
    images = rng.random((6, 1, 8, 8), dtype=np.float32)
    labels = rng.integers(0, 3, 6)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = F.cross_entropy(model(Tensor(images)), Tensor(labels))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.item()), [p.data.copy() for p in model.parameters()]


def test_a_training_step_is_the_same_on_both_backends():
    with minigrad.backend("numba"):
        loss, params = _one_training_step()
    with minigrad.backend("numpy"):
        loss_r, params_r = _one_training_step()
    assert np.isfinite(loss) and loss == pytest.approx(loss_r, rel=1e-5)
    for p, r in zip(params, params_r):
        np.testing.assert_allclose(p, r, rtol=1e-4, atol=1e-5)
