"""The engine: seeding backward, accumulation, deep graphs, no_grad,
retain_grad, custom Functions and unbroadcast."""
import numpy as np
import pytest

import minigrad
from minigrad import Function, Tensor
from minigrad.autograd import unbroadcast


# ---- backward(grad=None) --------------------------------------------------------

def test_scalar_backward_seeds_one():
    x = Tensor(np.array([1.0, -2.0, 4.0]), requires_grad=True)
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0, 3.0])


def test_backward_of_a_0d_leaf_gives_one():
    x = Tensor(np.array(5.0), requires_grad=True)
    x.backward()
    assert x.grad.shape == () and x.grad == 1.0


def test_non_scalar_backward_without_grad_names_the_shape():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        y.backward()


def test_backward_with_an_explicit_gradient():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).backward(np.array([10.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [20.0, -4.0])      # g * 2x


def test_backward_with_a_gradient_of_the_wrong_shape_names_both_shapes():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(ValueError) as error:
        y.backward(np.ones((3, 2)))
    assert "(3, 2)" in str(error.value) and "(2, 3)" in str(error.value)


def test_backward_on_a_tensor_outside_the_graph_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2).sum().backward()


def test_inputs_that_do_not_require_grad_get_none():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = Tensor(np.array([3.0, 4.0]))
    (x * w).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    assert w.grad is None


# ---- accumulation ---------------------------------------------------------------

def test_gradient_accumulates_when_a_tensor_is_reused():
    values = np.array([-1.5, 0.0, 2.0])
    x = Tensor(values, requires_grad=True)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * values + 1)


def test_gradient_accumulates_through_a_diamond():
    values = np.array([0.5, 2.0])
    x = Tensor(values, requires_grad=True)
    a = x * 2
    b = x.exp()
    (a * b + a).sum().backward()              # d/dx (2x e^x + 2x) = 2e^x + 2x e^x + 2
    np.testing.assert_allclose(x.grad, 2 * np.exp(values) + 2 * values * np.exp(values) + 2)


def test_gradient_accumulates_across_backward_calls():
    x = Tensor(np.array([1.0, 3.0]), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 6.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 12.0])
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_accumulated_grad_does_not_alias_the_incoming_gradient():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    seed = np.array([1.0, 1.0])
    (x + 0).backward(seed)
    (x + 0).backward(seed)
    np.testing.assert_array_equal(seed, [1.0, 1.0])           # not modified in place
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_a_chain_of_100000_ops_backprops_without_recursion_error():
    x = Tensor(np.array([2.0]), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0])


# ---- no_grad ------------------------------------------------------------------------

def test_no_grad_context_manager_builds_nothing():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with minigrad.no_grad():
        assert not minigrad.is_grad_enabled()
        y = (x * 2).exp().sum()
    assert minigrad.is_grad_enabled()
    assert y.requires_grad is False and y._fn is None
    np.testing.assert_allclose(y.data, np.exp(2.0) + np.exp(4.0))


def test_no_grad_decorator_builds_nothing():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    @minigrad.no_grad()
    def double(t):
        assert not minigrad.is_grad_enabled()
        return t * 2

    y = double(x)
    assert minigrad.is_grad_enabled()
    assert y.requires_grad is False and y._fn is None
    assert double.__name__ == "double"


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(KeyError):
        with minigrad.no_grad():
            raise KeyError("boom")
    assert minigrad.is_grad_enabled()

    @minigrad.no_grad()
    def failing():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        failing()
    assert minigrad.is_grad_enabled()


def test_nested_no_grad_restores_the_previous_mode():
    with minigrad.no_grad():
        with minigrad.no_grad():
            pass
        assert not minigrad.is_grad_enabled()       # still inside the outer block
    assert minigrad.is_grad_enabled()


def test_graph_built_before_no_grad_still_backprops_after_it():
    x = Tensor(np.array([3.0]), requires_grad=True)
    y = x * x
    with minigrad.no_grad():
        z = y * 10                                   # outside the graph
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0])
    assert not z.requires_grad


# ---- retain_grad and leaves ---------------------------------------------------------

def test_retain_grad_keeps_an_intermediate_gradient():
    values = np.array([1.0, -2.0])
    x = Tensor(values, requires_grad=True)
    h = x * 3
    other = x * 4
    assert h.retain_grad() is h
    (h * h + other).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * 3 * values)        # d(h^2)/dh = 2h
    assert other.grad is None                                  # not retained
    np.testing.assert_allclose(x.grad, 18 * values + 4)
    assert not h.is_leaf and h.grad_fn is not None


# ---- a custom Function ---------------------------------------------------------------

class Cube(Function):
    def forward(self, x):
        self.x = x
        return x ** 3

    def backward(self, grad):
        return grad * 3 * self.x ** 2


def test_a_function_subclass_joins_the_graph():
    values = np.array([1.0, -2.0])
    x = Tensor(values, requires_grad=True)
    y = Cube.apply(x)
    assert y.grad_fn.name == "Cube" and y.grad_fn.parents == (x,)
    assert y.grad_fn.needs_input_grad == (True,)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 3 * values ** 2)


def test_a_function_without_grad_inputs_records_nothing():
    y = Cube.apply(Tensor(np.array([2.0])))
    assert y.grad_fn is None and not y.requires_grad
    np.testing.assert_array_equal(y.data, [8.0])


# ---- unbroadcast ----------------------------------------------------------------------

def test_unbroadcast_sums_prepended_and_stretched_axes(rng):
    grad = rng.standard_normal((4, 5, 3))
    reduced = unbroadcast(grad, (5, 1))
    np.testing.assert_allclose(reduced, grad.sum(axis=(0, 2))[:, None])
    np.testing.assert_allclose(unbroadcast(grad, (4, 1, 3)), grad.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(unbroadcast(grad, ()), grad.sum())
    assert unbroadcast(grad, (4, 5, 3)) is grad


def test_unbroadcast_refuses_an_impossible_shape():
    with pytest.raises(ValueError):
        unbroadcast(np.ones((3,)), (2, 3))
    with pytest.raises(ValueError):
        unbroadcast(np.ones((4, 3)), (2, 3))


def test_broadcast_inputs_receive_summed_gradients(rng):
    a_values, b_values = rng.standard_normal((4, 1, 3)), rng.standard_normal((5, 1))
    a = Tensor(a_values, requires_grad=True)
    b = Tensor(b_values, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (4, 1, 3) and b.grad.shape == (5, 1)
    # sum over i, j, k of a[i, 0, k] * b[j, 0]
    np.testing.assert_allclose(a.grad, np.broadcast_to(b_values.sum(), (4, 1, 3)))
    np.testing.assert_allclose(b.grad, np.full((5, 1), a_values.sum()))


def test_leaves_given_the_same_gradient_object_do_not_share_memory():
    """Add's backward returns one array for both inputs; adopting it for both would alias."""
    a = minigrad.Tensor(np.ones(3), requires_grad=True)
    b = minigrad.Tensor(np.ones(3), requires_grad=True)
    (a + b).backward(np.array([1.0, 2.0, 3.0]))
    a.grad += 10
    np.testing.assert_array_equal(b.grad, [1.0, 2.0, 3.0])


def test_a_callers_gradient_array_is_never_adopted():
    x = minigrad.Tensor(np.ones(3), requires_grad=True)
    seed = np.array([1.0, 2.0, 3.0])
    x.backward(seed)
    seed[:] = 0
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])



def test_a_fresh_gradient_is_adopted_by_its_leaf_and_a_shared_one_is_not(adoptions):
    """The engine's one-copy-fewer rule: adopt only arrays an op marks as its own (owned_grads)."""
    seen = adoptions
    x = minigrad.Tensor(np.ones((4, 3)), requires_grad=True)
    (x * 2.0).sum().backward()           # Mul's backward makes a new array for x
    a = minigrad.Tensor(np.ones(3), requires_grad=True)
    b = minigrad.Tensor(np.ones(3), requires_grad=True)
    (a + b).backward(np.ones(3))          # Add hands one array to both a and b
    assert seen == [True, False, False]
