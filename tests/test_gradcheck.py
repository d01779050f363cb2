"""minigrad.gradcheck itself: it must catch wrong gradients, say where, and
stay fast on large inputs by sampling elements."""
import re
import time

import numpy as np
import pytest

import minigrad
from minigrad import Function, GradcheckError, Tensor


class MulWithWrongGradient(Function):
    """a * b, with the gradient wrt b doubled at the single element (1, 2)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        grad_b = grad * self.a
        grad_b[1, 2] *= 2
        return grad * self.b, grad_b


class SquareWithWrongSign(Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return -2 * grad * self.x


def leaf(rng, *shape):
    return Tensor(rng.standard_normal(shape), requires_grad=True)


def test_gradcheck_passes_a_correct_op(rng):
    assert minigrad.gradcheck(lambda a, b: (a * b).tanh(), leaf(rng, 3, 4), leaf(rng, 4)) is True


def test_gradcheck_catches_a_wrong_backward(rng):
    with pytest.raises(GradcheckError):
        minigrad.gradcheck(SquareWithWrongSign.apply, leaf(rng, 5))
    assert issubclass(GradcheckError, AssertionError)        # reads as a failed assertion in pytest


def test_the_error_names_the_input_the_index_and_both_values(rng):
    a, b = leaf(rng, 3, 4), leaf(rng, 3, 4)
    with pytest.raises(GradcheckError) as error:
        minigrad.gradcheck(MulWithWrongGradient.apply, a, b)
    message = str(error.value)
    assert "input 1" in message                               # b, not a: a's gradient is right
    assert "(1, 2)" in message                                # the only wrong element
    analytic = float(re.search(r"analytic (\S+),", message).group(1))
    numerical = float(re.search(r"numerical (\S+),", message).group(1))
    assert analytic == pytest.approx(2 * numerical, rel=1e-5)  # the backward doubled it


def test_every_element_of_a_small_input_is_checked(rng):
    class WrongAtLastElement(Function):
        def forward(self, x):
            return 3 * x

        def backward(self, grad):
            grad = 3 * grad
            grad[-1, -1] += 1.0
            return grad

    with pytest.raises(GradcheckError, match=r"\(3, 4\)"):
        minigrad.gradcheck(WrongAtLastElement.apply, leaf(rng, 4, 5))


def test_large_inputs_are_sampled_and_fast(rng):
    calls = []

    def fn(x):
        calls.append(1)
        return (x * x).sigmoid()

    x = leaf(rng, 100, 1000)                                   # 10^5 elements
    start = time.perf_counter()
    assert minigrad.gradcheck(fn, x, max_elements=200)
    elapsed = time.perf_counter() - start
    assert len(calls) == 1 + 2 * 200           # one backward pass, then two nudges per sampled element
    assert elapsed < 5.0


def test_sampling_still_catches_a_gradient_wrong_everywhere(rng):
    with pytest.raises(GradcheckError):
        minigrad.gradcheck(SquareWithWrongSign.apply, leaf(rng, 100, 1000), max_elements=20)


def test_gradcheck_runs_in_float64_and_leaves_the_inputs_alone(rng):
    seen = []

    def fn(x):
        seen.append(x.dtype)
        return x.exp()

    values = rng.standard_normal((3, 2)).astype(np.float32)
    x = Tensor(values.copy(), requires_grad=True)
    assert minigrad.gradcheck(fn, x)
    assert set(seen) == {np.dtype(np.float64)}
    assert x.dtype == np.float32 and x.grad is None
    np.testing.assert_array_equal(x.data, values)


def test_non_contiguous_inputs_reach_the_op_non_contiguous(rng):
    layouts = []

    def fn(x):
        layouts.append(x.data.flags.c_contiguous)
        return x * x

    assert minigrad.gradcheck(fn, Tensor(rng.standard_normal((3, 4)).T, requires_grad=True))
    assert not any(layouts)


def test_other_arguments_pass_through_unchanged(rng):
    index = Tensor(np.array([2, 0, 2]))
    assert minigrad.gradcheck(lambda x, i, scale: x[i] * scale, leaf(rng, 3, 2), index, 4.0)
    assert minigrad.gradcheck(lambda x, c: x * c, leaf(rng, 3), Tensor(np.ones(3)))


def test_gradcheck_needs_an_input_that_requires_grad(rng):
    with pytest.raises(ValueError, match="requires grad"):
        minigrad.gradcheck(lambda x: x * 2, Tensor(rng.standard_normal(3)))


def test_gradcheck_needs_a_tensor_output(rng):
    with pytest.raises(ValueError, match="Tensor"):
        minigrad.gradcheck(lambda x: float(x.data.sum()), leaf(rng, 3))
