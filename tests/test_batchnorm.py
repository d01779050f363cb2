"""BatchNorm: the fused op's gradients, its agreement with autograd through
primitive ops, running statistics, modes, flags and errors."""
import numpy as np
import pytest

import minigrad
from minigrad import Tensor
from minigrad.nn.batchnorm import BatchNorm1d, BatchNorm2d
from minigrad.ops.batchnorm import batch_norm, batch_norm_composed

# Every value checked on both kernel backends (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("backend")

SHAPES = [(4, 3), (5, 2, 7), (3, 4, 5, 6), (1, 2, 3, 3), (6, 1, 2, 2), (2, 3, 1, 1)]


def _random_inputs(shape, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = Tensor(rng.standard_normal(shape) * 2 + 0.5, requires_grad=requires_grad)
    weight = Tensor(rng.uniform(0.5, 1.5, c), requires_grad=requires_grad)
    bias = Tensor(rng.standard_normal(c), requires_grad=requires_grad)
    return x, weight, bias


def _numpy_batch_norm(x, gamma, beta, eps=1e-5):
    """The brief's four formulas, in numpy, per channel (axis 1)."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return gamma.reshape(shape) * (x - mu) / np.sqrt(var + eps) + beta.reshape(shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_training_forward_matches_the_formulas(shape):
    x, w, b = _random_inputs(shape, requires_grad=False)
    y = batch_norm(x, None, None, w, b, training=True)
    np.testing.assert_allclose(y.data, _numpy_batch_norm(x.data, w.data, b.data), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck_training_mode_through_batch_statistics(shape):
    x, w, b = _random_inputs(shape)
    minigrad.gradcheck(lambda x, w, b: batch_norm(x, None, None, w, b, training=True), x, w, b)


@pytest.mark.parametrize("shape", SHAPES[:3])
def test_gradcheck_eval_mode(shape):
    x, w, b = _random_inputs(shape)
    rng = np.random.default_rng(1)
    running_mean = rng.standard_normal(shape[1])
    running_var = rng.uniform(0.5, 2.0, shape[1])
    minigrad.gradcheck(lambda x, w, b: batch_norm(x, running_mean, running_var, w, b, training=False), x, w, b)


def test_gradcheck_without_affine():
    x, _, _ = _random_inputs((5, 3, 4))
    minigrad.gradcheck(lambda x: batch_norm(x, None, None, training=True), x)


@pytest.mark.parametrize("shape", SHAPES)
def test_hand_derived_backward_equals_autograd_through_primitive_ops(shape):
    fused_inputs = _random_inputs(shape, seed=3)
    composed_inputs = _random_inputs(shape, seed=3)
    dy = np.random.default_rng(4).standard_normal(shape)

    batch_norm(fused_inputs[0], None, None, *fused_inputs[1:], training=True).backward(dy)
    batch_norm_composed(*composed_inputs).backward(dy)

    for fused, composed in zip(fused_inputs, composed_inputs):
        np.testing.assert_allclose(fused.grad, composed.grad, rtol=1e-7, atol=1e-10)


def test_treating_mean_and_variance_as_constants_would_be_wrong():
    """The classic bug: the direct path alone (dy * gamma * invstd) is not the gradient."""
    x, w, b = _random_inputs((8, 2))
    dy = np.random.default_rng(5).standard_normal((8, 2))
    batch_norm(x, None, None, w, b, training=True).backward(dy)
    invstd = 1 / np.sqrt(x.data.var(axis=0) + 1e-5)
    direct_path_only = dy * w.data * invstd
    assert np.max(np.abs(x.grad - direct_path_only)) > 1e-2


def test_gradient_of_a_sum_of_outputs_is_zero_for_x():
    """sum(y) = M * sum(beta) does not depend on x: the mean path cancels the direct one."""
    x, w, b = _random_inputs((6, 3, 2, 2))
    batch_norm(x, None, None, w, b, training=True).sum().backward()
    np.testing.assert_allclose(x.grad, 0, atol=1e-12)
    np.testing.assert_allclose(b.grad, np.full(3, 6 * 2 * 2))


def test_float32_stays_float32_and_matches_float64():
    x64, w64, b64 = _random_inputs((7, 3, 5, 5))
    x32 = Tensor(x64.data.astype(np.float32), requires_grad=True)
    bn = BatchNorm2d(3)
    bn.weight.data[:] = w64.data
    bn.bias.data[:] = b64.data
    y32 = bn(x32)
    assert y32.dtype == np.float32
    dy = np.random.default_rng(0).standard_normal(y32.shape)
    y32.backward(dy.astype(np.float32))
    y64 = batch_norm(x64, None, None, w64, b64, training=True)
    y64.backward(dy)
    assert x32.grad.dtype == np.float32 and bn.weight.grad.dtype == np.float32
    np.testing.assert_allclose(y32.data, y64.data, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(x32.grad, x64.grad, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(bn.weight.grad, w64.grad, rtol=1e-4, atol=1e-4)


def test_large_mean_small_spread_float32_still_normalizes_to_unit_variance():
    rng = np.random.default_rng(0)
    x = (1e4 + 0.1 * rng.standard_normal((64, 2, 8, 8))).astype(np.float32)
    y = BatchNorm2d(2)(Tensor(x)).data.astype(np.float64)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1.0, atol=0.02)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=0.02)


def test_constant_channel_gives_finite_outputs_and_gradients():
    x = Tensor(np.full((4, 2, 3, 3), 7.0, dtype=np.float32), requires_grad=True)
    bn = BatchNorm2d(2)
    y = bn(x)
    y.backward(np.ones(y.shape, dtype=np.float32))
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    assert np.all(np.isfinite(bn.weight.grad))
    np.testing.assert_allclose(y.data, 0.0)          # xhat = 0, beta = 0


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_running_statistics_after_several_steps_equal_a_hand_computation(momentum):
    rng = np.random.default_rng(7)
    bn = BatchNorm2d(3, momentum=momentum)
    expected_mean, expected_var = np.zeros(3), np.ones(3)
    batches = [rng.standard_normal((4, 3, 5, 5)) * (i + 1) + i for i in range(4)]
    for n, batch in enumerate(batches, start=1):
        bn(Tensor(batch.astype(np.float32)))
        m = batch.size // 3
        batch_mean = batch.mean(axis=(0, 2, 3))
        unbiased_var = batch.var(axis=(0, 2, 3)) * m / (m - 1)
        factor = 1.0 / n if momentum is None else momentum
        expected_mean = (1 - factor) * expected_mean + factor * batch_mean
        expected_var = (1 - factor) * expected_var + factor * unbiased_var
    np.testing.assert_allclose(bn.running_mean.data, expected_mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, expected_var, rtol=1e-5, atol=1e-5)
    assert int(bn.num_batches_tracked.data) == 4


def test_momentum_none_is_the_plain_average_of_batch_statistics():
    rng = np.random.default_rng(8)
    bn = BatchNorm1d(2, momentum=None)
    batches = [rng.standard_normal((10, 2)) + k for k in range(5)]
    for batch in batches:
        bn(Tensor(batch.astype(np.float32)))
    np.testing.assert_allclose(bn.running_mean.data, np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-5)


def test_eval_uses_running_statistics_and_is_deterministic_per_sample():
    rng = np.random.default_rng(9)
    bn = BatchNorm1d(3)
    bn.running_mean.data[:] = [1.0, -2.0, 0.5]
    bn.running_var.data[:] = [4.0, 0.25, 1.0]
    bn.weight.data[:] = [2.0, 1.0, 0.5]
    bn.bias.data[:] = [0.0, 1.0, -1.0]
    bn.eval()
    x = rng.standard_normal((5, 3)).astype(np.float32)
    y = bn(Tensor(x)).data
    expected = (x - bn.running_mean.data) / np.sqrt(bn.running_var.data + 1e-5) * bn.weight.data + bn.bias.data
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    single = bn(Tensor(x[2:3])).data                  # a batch of one works in eval
    np.testing.assert_allclose(single, y[2:3], rtol=1e-6)
    assert int(bn.num_batches_tracked.data) == 0       # eval changes no buffer


def test_train_output_depends_on_the_rest_of_the_batch_eval_output_does_not():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((6, 2)).astype(np.float32)
    other = x.copy()
    other[1:] += 3.0
    bn = BatchNorm1d(2)
    assert not np.allclose(bn(Tensor(x)).data[0], bn(Tensor(other)).data[0])
    bn.eval()
    np.testing.assert_allclose(bn(Tensor(x)).data[0], bn(Tensor(other)).data[0])


def test_track_running_stats_false_uses_batch_statistics_in_both_modes_and_has_no_buffers():
    bn = BatchNorm2d(2, track_running_stats=False)
    assert list(bn.state_dict()) == ["weight", "bias"]
    x = Tensor(np.random.default_rng(11).standard_normal((3, 2, 4, 4)).astype(np.float32))
    train_out = bn(x).data
    bn.eval()
    np.testing.assert_allclose(bn(x).data, train_out)


def test_affine_false_has_no_parameters():
    bn = BatchNorm1d(4, affine=False)
    assert list(bn.parameters()) == []
    assert list(bn.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]


def test_state_dict_keys_shapes_and_dtypes_are_pytorchs():
    state = BatchNorm2d(5).state_dict()
    assert list(state) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [state[k].shape for k in state] == [(5,), (5,), (5,), (5,), ()]
    assert state["num_batches_tracked"].dtype == np.int64


def test_worked_example_from_the_lectures():
    """3, 5, 8, 9, 11, 24: mean 10, variance 46, normalized -1.03 ... 2.06."""
    values = np.array([3, 5, 8, 9, 11, 24], dtype=np.float64).reshape(6, 1)
    y = batch_norm(Tensor(values), None, None, training=True, eps=0.0 + 1e-12).data.ravel()
    np.testing.assert_allclose(y, [-1.03, -0.74, -0.29, -0.15, 0.15, 2.06], atol=0.005)
    bn = BatchNorm1d(1)
    bn(Tensor(values.astype(np.float32)))
    np.testing.assert_allclose(bn.running_mean.data, [0.1 * 10], rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.data, [0.9 + 0.1 * 46 * 6 / 5], rtol=1e-6)


@pytest.mark.parametrize("module, shape, message", [
    (BatchNorm2d(3), (2, 3, 4), "4-D"),
    (BatchNorm1d(3), (2, 3, 4, 5), "2-D or 3-D"),
    (BatchNorm2d(3), (2, 4, 5, 5), "3 channels"),
    (BatchNorm1d(6), (2, 5), "but the input has 5"),
    (BatchNorm1d(3), (1, 3), "more than 1 value per channel"),
    (BatchNorm2d(3), (1, 3, 1, 1), "more than 1 value per channel"),
])
def test_errors_name_what_was_expected_and_leave_buffers_unchanged(module, shape, message):
    before = {k: v.copy() for k, v in module.state_dict().items()}
    with pytest.raises(ValueError, match=message):
        module(Tensor(np.ones(shape, dtype=np.float32)))
    after = module.state_dict()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])


def test_batch_of_one_works_in_eval_and_with_spatial_extent_in_training():
    bn = BatchNorm2d(3)
    bn(Tensor(np.random.default_rng(0).standard_normal((1, 3, 4, 4)).astype(np.float32)))  # M = 16
    bn.eval()
    assert bn(Tensor(np.ones((1, 3, 1, 1), dtype=np.float32))).shape == (1, 3, 1, 1)


def test_no_grad_training_still_updates_running_statistics():
    bn = BatchNorm1d(2)
    with minigrad.no_grad():
        y = bn(Tensor(np.array([[1.0, 2.0], [3.0, 6.0]], dtype=np.float32)))
    assert y.grad_fn is None
    np.testing.assert_allclose(bn.running_mean.data, [0.2, 0.4], rtol=1e-6)


def test_non_contiguous_input_gives_the_same_result_as_a_contiguous_copy():
    rng = np.random.default_rng(12)
    base = rng.standard_normal((5, 5, 3, 4)).astype(np.float32)
    view = base.transpose(1, 0, 2, 3)                      # (N, C, H, W) view with odd strides
    assert not view.flags.c_contiguous
    out_view = BatchNorm2d(5)(Tensor(view)).data
    out_copy = BatchNorm2d(5)(Tensor(np.ascontiguousarray(view))).data
    np.testing.assert_allclose(out_view, out_copy, rtol=1e-6)
