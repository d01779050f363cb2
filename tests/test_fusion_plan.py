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


def _with_plan(on):
    def forward(model, x):
        previous, fusion.enabled = fusion.enabled, on
        try:
            return model(x)
        finally:
            fusion.enabled = previous
    return forward


_fused_forward, _plain_forward = _with_plan(True), _with_plan(False)


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
    fused = _train_step(model, x, _fused_forward)
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
    calls, original = [], nn.BatchNorm2d.forward
    nn.BatchNorm2d.forward = lambda self, t: calls.append(self) or original(self, t)
    try:
        with minigrad.no_grad():
            fused = _fused_forward(model, x).data
            assert calls == []                   # both BNs folded into their convolutions
            plain = _plain_forward(model, x).data
    finally:
        nn.BatchNorm2d.forward = original
    np.testing.assert_allclose(fused, plain, rtol=1e-4, atol=1e-5)


def _relu_input_shapes(forward):
    seen, original = [], nn.ReLU.forward
    nn.ReLU.forward = lambda self, x: seen.append(x.shape) or original(self, x)
    try:
        forward(nn.Sequential(nn.ReLU(), nn.MaxPool2d(2)), Tensor(_images(2)))
    finally:
        nn.ReLU.forward = original
    return seen


def test_sequential_uses_the_plan_on_the_fast_backend_only():
    assert fusion.enabled is None
    fused = minigrad.get_backend() == "numba"
    assert fusion.uses_plan() == fused
    # on the fast backend the ReLU runs inside the max-pool: its module is not called
    assert _relu_input_shapes(lambda m, x: m(x)) == ([] if fused else [(2, 1, 28, 28)])
    assert _relu_input_shapes(_plain_forward) == [(2, 1, 28, 28)]


def test_relu_folds_into_the_max_pool_unless_a_hook_watches():
    seen = []
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    model[2].register_forward_hook(lambda m, args, out: seen.append(args[0].shape))
    _fused_forward(model, Tensor(_images(2)))
    assert seen == [(2, 2, 28, 28)]          # a hooked module keeps its order
    assert _relu_input_shapes(_fused_forward) == []
    x = Tensor(_images(2) * 2)
    plain, fused = nn.Sequential(nn.ReLU(), nn.MaxPool2d(3, 2, 1)), _fused_forward
    np.testing.assert_array_equal(fused(plain, x).data, _plain_forward(plain, x).data)


def test_no_fold_when_a_gradient_is_wanted():
    minigrad.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3)).eval()
    out = _fused_forward(model, Tensor(_images(2)))
    out.sum().backward()
    assert model[1].weight.grad is not None and model[0].weight.grad is not None


def _bn_relu_model(bn, shape, *tail):
    """A model whose BN (of `shape`'s channels) is followed by a ReLU, then `tail`."""
    return nn.Sequential(bn(shape[1]), nn.ReLU(), *tail)


@pytest.mark.parametrize("bn, shape, tail", [
    (nn.BatchNorm2d, (5, 3, 6, 7), (nn.Conv2d(3, 2, 3),)),
    (nn.BatchNorm1d, (40, 7), (nn.Linear(7, 3),)),
    (nn.BatchNorm1d, (300, 260), ()),              # more than SERIAL_BELOW: two tasks
    (nn.BatchNorm2d, (64, 4, 30, 30), ())])
def test_relu_folds_into_a_training_bn_with_the_same_values_and_gradients(bn, shape, tail):
    minigrad.manual_seed(3)
    model = _bn_relu_model(bn, shape, *tail)
    twin = copy.deepcopy(model)
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    calls, original = [], nn.ReLU.forward
    nn.ReLU.forward = lambda self, t: calls.append(t.shape) or original(self, t)
    try:
        fused = _train_step(model, x, _fused_forward)
        assert calls == []                   # the ReLU ran inside the BN
        plain = _train_step(twin, x, _plain_forward)
        assert calls == [shape]
    finally:
        nn.ReLU.forward = original
    assert (fused[0] >= 0).all() if not tail else True
    np.testing.assert_allclose(fused[0], plain[0], rtol=1e-5, atol=1e-6)
    for got, want in zip(fused[1] + fused[2], plain[1] + plain[2]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_relu_into_bn_only_with_batch_statistics_and_not_before_a_pool():
    """In eval mode with running statistics BN cannot take the ReLU (F.batch_norm says
    so); before a MaxPool2d the ReLU goes into the pool; a hooked ReLU stays a module."""
    shapes = []
    original = nn.ReLU.forward
    nn.ReLU.forward = lambda self, t: shapes.append(t.shape) or original(self, t)
    try:
        x = Tensor(_images(2))
        for model in (_bn_relu_model(nn.BatchNorm2d, (2, 1)).eval(),
                      _bn_relu_model(nn.BatchNorm2d, (2, 1), nn.MaxPool2d(2))):
            shapes.clear()
            _fused_forward(model, x)
            assert shapes == ([(2, 1, 28, 28)] if not model.training else [])
        model = _bn_relu_model(nn.BatchNorm2d, (2, 1))
        calls = []
        model[0].register_forward_hook(lambda m, args, out: calls.append(out.data.min()))
        shapes.clear()
        _fused_forward(model, x)
        assert shapes == [(2, 1, 28, 28)] and calls[0] < 0    # BN's own output, unclamped
    finally:
        nn.ReLU.forward = original
    with pytest.raises(ValueError, match="relu=True .* needs training=True"):
        nn.functional.batch_norm(x, Tensor(np.zeros(1, np.float32)),
                                 Tensor(np.ones(1, np.float32)), relu=True)
