"""Property-based tests of the broadcasting binary ops (+ - * / maximum minimum).

Hypothesis draws pairs of mutually broadcastable shapes (including 0-d and
size-1 axes) and a seed for the values. Forward values are compared with
numpy; gradients of L = sum(w * op(a, b)) with the rule "each input element
receives the sum of the local gradients at every output position that read
it", computed here with an index map and np.bincount, independently of the
engine's `unbroadcast`.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import minigrad
from minigrad import Tensor

SHAPE_PAIRS = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=4)
SEEDS = st.integers(0, 2**32 - 1)

# name: (minigrad op, numpy forward, local gradients (d out/d a, d out/d b) in the broadcast shape)
BINARY_OPS = {
    "add": (lambda a, b: a + b, np.add, lambda a, b: (np.ones_like(a + b), np.ones_like(a + b))),
    "sub": (lambda a, b: a - b, np.subtract, lambda a, b: (np.ones_like(a - b), -np.ones_like(a - b))),
    "mul": (lambda a, b: a * b, np.multiply, lambda a, b: (b + 0 * a, a + 0 * b)),
    "div": (lambda a, b: a / b, np.divide, lambda a, b: (1 / b + 0 * a, -a / b ** 2)),
    "maximum": (minigrad.maximum, np.maximum, lambda a, b: ((a > b) + 0 * b, (b > a) + 0 * a)),
    "minimum": (minigrad.minimum, np.minimum, lambda a, b: ((a < b) + 0 * b, (b < a) + 0 * a)),
}


def draw_values(seed, a_shape, b_shape):
    """Continuous random values (no ties for maximum/minimum), b kept away from 0 for division."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(a_shape)
    b = rng.uniform(0.5, 2.0, b_shape) * rng.choice([-1.0, 1.0], b_shape)
    return a, b, rng


def gradient_by_reading_positions(values_shape, out_shape, local):
    """d L / d input: for every output position, find the input element that
    broadcasting read there, and add that position's local gradient to it."""
    element_ids = np.arange(int(np.prod(values_shape))).reshape(values_shape)
    read_at = np.broadcast_to(element_ids, out_shape)
    sums = np.bincount(read_at.ravel(), weights=local.ravel(), minlength=element_ids.size)
    return sums.reshape(values_shape)


@pytest.mark.parametrize("name", BINARY_OPS)
@settings(deadline=None, max_examples=40)
@given(shapes=SHAPE_PAIRS, seed=SEEDS)
def test_binary_op_forward_and_gradient(name, shapes, seed):
    op, numpy_op, local_gradients = BINARY_OPS[name]
    a_shape, b_shape = shapes.input_shapes
    a_values, b_values, rng = draw_values(seed, a_shape, b_shape)
    a, b = Tensor(a_values, requires_grad=True), Tensor(b_values, requires_grad=True)

    out = op(a, b)
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.data, numpy_op(a_values, b_values), rtol=1e-12)

    w = rng.standard_normal(shapes.result_shape)
    (out * w).sum().backward()
    local_a, local_b = local_gradients(a_values, b_values)
    expected_a = gradient_by_reading_positions(a_shape, shapes.result_shape, w * local_a)
    expected_b = gradient_by_reading_positions(b_shape, shapes.result_shape, w * local_b)
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    np.testing.assert_allclose(a.grad, expected_a, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad, expected_b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", BINARY_OPS)
@settings(deadline=None, max_examples=8)
@given(shapes=SHAPE_PAIRS, seed=SEEDS)
def test_binary_op_gradcheck(name, shapes, seed):
    op = BINARY_OPS[name][0]
    a_values, b_values, _ = draw_values(seed, *shapes.input_shapes)
    assert minigrad.gradcheck(op, Tensor(a_values, requires_grad=True), Tensor(b_values, requires_grad=True))


@pytest.mark.parametrize("name", BINARY_OPS)
@settings(deadline=None, max_examples=20)
@given(shapes=SHAPE_PAIRS, seed=SEEDS, constant=st.floats(0.5, 4.0))
def test_binary_op_keeps_float32_with_any_float64_operand(name, shapes, seed, constant):
    op = BINARY_OPS[name][0]
    a_values, b_values, _ = draw_values(seed, *shapes.input_shapes)
    a = Tensor(a_values.astype(np.float32), requires_grad=True)
    for other in (b_values, constant, np.float64(constant)):    # float64 array, Python float, numpy scalar
        for out in (op(a, other), op(other, a)):
            assert out.dtype == np.float32
    op(a, b_values).sum().backward()
    assert a.grad.dtype == np.float32


@settings(deadline=None, max_examples=30)
@given(shapes=SHAPE_PAIRS, seed=SEEDS)
def test_sum_to_a_broadcast_shape_matches_numpy(shapes, seed):
    """The gradient of a + b wrt each input, seeded with w, is w summed over the copies."""
    a_shape, b_shape = shapes.input_shapes
    a_values, b_values, rng = draw_values(seed, a_shape, b_shape)
    a = Tensor(a_values, requires_grad=True)
    w = rng.standard_normal(shapes.result_shape)
    (a + Tensor(b_values)).backward(w)
    ones = np.ones(a_shape)
    # Independent route: d/da sum(w * (a + b)) = (w * broadcast(1)) read back by position.
    expected = gradient_by_reading_positions(a_shape, shapes.result_shape, w * np.broadcast_to(ones, w.shape))
    np.testing.assert_allclose(a.grad, expected, rtol=1e-10, atol=1e-12)
