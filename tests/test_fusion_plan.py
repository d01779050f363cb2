"""The fast backend's plan for Sequential (nn/utils/fusion.py::run_fused) changes
nothing a user can observe but the time: values, gradients and buffers are those
of running the layers one by one."""
import copy

import numpy as np
import pytest

import minigrad
from minigrad import Tensor, nn
from minigrad.models import mnist_cnn
from minigrad.nn.utils import fusion

pytestmark = pytest.mark.usefixtures("backend")


def _images(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28)).astype(np.float32) - 0.3


def _plain_forward(model, x):
    for layer in model:
        x = layer(x)
    return x


def _train_step(model, x, forward):
    out = forward(model, Tensor(x))
    (out * out).sum().backward()
    return out.data, [p.grad for p in model.parameters()], \
        [b.data.copy() for b in model.buffers()]


def test_training_step_fused_equals_layer_by_layer():
    minigrad.manual_seed(0)
    model = mnist_cnn()
    twin = copy.deepcopy(model)
    x = _images()
    fused = _train_step(model, x, lambda m, t: fusion.run_fused(m, t))
    plain = _train_step(twin, x, _plain_forward)
    np.testing.assert_array_equal(fused[0], plain[0])
    for got, want in zip(fused[1] + fused[2], plain[1] + plain[2]):
        np.testing.assert_array_equal(got, want)


def test_evaluation_fused_equals_layer_by_layer():
    minigrad.manual_seed(1)
    model = mnist_cnn()
    for _ in range(3):                      # running statistics away from 0 and 1
        model(Tensor(_images(16, seed=2) * 3 + 1))
    model.eval()
    x = Tensor(_images(seed=3))
    with minigrad.no_grad():
        fused = fusion.run_fused(model, x).data
        plain = _plain_forward(model, x).data
    np.testing.assert_allclose(fused, plain, rtol=1e-4, atol=1e-5)


def test_sequential_uses_the_plan_on_the_fast_backend_only():
    assert fusion.uses_plan() == (minigrad.get_backend() == "numba")
    fusion.enabled = False
    try:
        assert not fusion.uses_plan()
    finally:
        fusion.enabled = True


def test_reordered_relu_sees_a_quarter_of_the_data():
    seen = []
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    model[2].register_forward_hook(lambda m, args, out: seen.append(args[0].shape))
    fusion.run_fused(model, Tensor(_images(2)))
    assert seen == [(2, 2, 28, 28)]          # a hooked module keeps its order
    seen.clear()
    original = nn.ReLU.forward
    nn.ReLU.forward = lambda self, x: seen.append(x.shape) or original(self, x)
    try:
        fusion.run_fused(nn.Sequential(nn.ReLU(), nn.MaxPool2d(2)), Tensor(_images(2)))
    finally:
        nn.ReLU.forward = original
    assert seen == [(2, 1, 14, 14)]


def test_no_fold_when_a_gradient_is_wanted():
    minigrad.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3)).eval()
    out = fusion.run_fused(model, Tensor(_images(2)))
    out.sum().backward()
    assert model[1].weight.grad is not None and model[0].weight.grad is not None
