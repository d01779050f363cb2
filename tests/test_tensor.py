"""Tensor: construction and dtype rules, attributes, numpy interop, clear errors,
and the rule that float32 stays float32 through every op."""
import numpy as np
import pytest

import minigrad
from minigrad import Tensor


# ---- construction and dtypes ------------------------------------------------

@pytest.mark.parametrize("data", [1.5, [1.0, 2.0], [[1.0], [2.5]], [1, 2.5]], ids=repr)
def test_python_floats_become_float32(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.array(data, dtype=np.float32))


def test_numpy_float_arrays_keep_their_dtype():
    assert Tensor(np.zeros(3, dtype=np.float64)).dtype == np.float64
    assert Tensor(np.zeros(3, dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("data, dtype", [
    ([1, 2, 3], np.int64),
    (np.array([1, 2], dtype=np.int32), np.int32),
    (np.array([1, 2], dtype=np.int64), np.int64),
    (np.array([True, False]), np.bool_),
])
def test_integer_and_boolean_data_stays_integer_and_boolean(data, dtype):
    assert Tensor(data).dtype == dtype


def test_dtype_argument_overrides_the_default():
    assert Tensor([1.0, 2.0], dtype=np.float64).dtype == np.float64
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert Tensor(np.ones(2), dtype=np.float32).dtype == np.float32


def test_only_float_tensors_can_require_grad():
    with pytest.raises(TypeError, match="int64"):
        Tensor([1, 2], requires_grad=True)
    assert Tensor([1.0], requires_grad=True).requires_grad


# ---- attributes ---------------------------------------------------------------

def test_attributes_describe_the_array():
    array = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    t = Tensor(array, requires_grad=True)
    assert isinstance(t.data, np.ndarray)
    np.testing.assert_array_equal(t.data, array)
    assert t.grad is None
    assert t.requires_grad is True
    assert Tensor(array).requires_grad is False
    assert t.shape == (2, 3, 4)
    assert t.ndim == 3
    assert t.dtype == np.float64
    assert t.size == 24
    assert len(t) == 2
    assert t.is_leaf and t.grad_fn is None


def test_numpy_returns_the_data():
    t = Tensor(np.array([[1.0, 2.0]]))
    assert isinstance(t.numpy(), np.ndarray)
    np.testing.assert_array_equal(t.numpy(), [[1.0, 2.0]])


def test_item_returns_a_python_number():
    value = Tensor([[2.5]]).item()
    assert value == 2.5 and isinstance(value, float)
    assert Tensor(np.array(3)).item() == 3


def test_item_of_several_elements_names_the_shape():
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        Tensor(np.zeros((2, 3))).item()


def test_len_of_a_0d_tensor_raises():
    with pytest.raises(TypeError):
        len(Tensor(1.0))


def test_detach_keeps_the_values_and_leaves_the_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    np.testing.assert_array_equal(d.data, [3.0, 6.0])
    # The detached branch contributes nothing to x's gradient.
    (y + d * d).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_repr_shows_values_dtype_and_graph_role():
    plain = repr(Tensor([1.5, -2.0]))
    assert plain.startswith("Tensor(") and "1.5" in plain and "-2." in plain
    assert "dtype" not in plain                      # float32 is the default
    assert "dtype=float64" in repr(Tensor(np.array([1.0])))
    leaf = Tensor([1.0], requires_grad=True)
    assert "requires_grad=True" in repr(leaf)
    assert "grad_fn=<Mul>" in repr(leaf * 2)


# ---- numpy interop ------------------------------------------------------------

def test_np_asarray_gives_the_values():
    t = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array = np.asarray(t)
    assert isinstance(array, np.ndarray)
    np.testing.assert_array_equal(array, [[1.0, 2.0], [3.0, 4.0]])
    assert np.asarray(t, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("expression, expected", [
    (lambda a, t: a * t, np.array([3.0, 8.0])),
    (lambda a, t: a + t, np.array([4.0, 6.0])),
    (lambda a, t: a - t, np.array([-2.0, -2.0])),
    (lambda a, t: a / t, np.array([1 / 3, 0.5])),
    (lambda a, t: a @ t, np.array(11.0)),
], ids=["mul", "add", "sub", "div", "matmul"])
def test_ndarray_on_the_left_hands_over_to_tensor(expression, expected):
    a = np.array([1.0, 2.0])
    t = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    out = expression(a, t)
    assert isinstance(out, Tensor)
    assert out.requires_grad
    np.testing.assert_allclose(out.data, expected)


def test_numpy_scalar_on_the_left_hands_over_to_tensor():
    out = np.float64(2.0) * Tensor([1.0, 2.0])
    assert isinstance(out, Tensor)
    np.testing.assert_array_equal(out.data, [2.0, 4.0])


# ---- float32 in, float32 out, for every op ------------------------------------

F64_ROW = np.linspace(0.5, 1.5, 4)           # a float64 array of shape (4,)

FLOAT32_OPS = {
    "add python float": lambda x, y: x + 2.5,
    "radd python float": lambda x, y: 2.5 + x,
    "add tensor": lambda x, y: x + y,
    "sub numpy scalar": lambda x, y: x - np.float64(0.5),
    "rsub numpy scalar": lambda x, y: np.float64(0.5) - x,
    "mul float64 array": lambda x, y: x * F64_ROW,
    "rmul float64 array": lambda x, y: F64_ROW * x,
    "div python float": lambda x, y: x / 3.0,
    "rdiv float64 array": lambda x, y: F64_ROW / x,
    "div tensor": lambda x, y: x / y,
    "pow float": lambda x, y: x ** 2.0,
    "pow fraction": lambda x, y: x ** 0.5,
    "pow int": lambda x, y: x ** 3,
    "neg": lambda x, y: -x,
    "matmul float64 array": lambda x, y: x @ np.ones((4, 2)),
    "rmatmul float64 array": lambda x, y: np.ones((2, 3)) @ x,
    "matmul tensor": lambda x, y: x @ y.T,
    "exp": lambda x, y: x.exp(),
    "log": lambda x, y: x.log(),
    "sqrt": lambda x, y: x.sqrt(),
    "abs": lambda x, y: x.abs(),
    "relu": lambda x, y: x.relu(),
    "sigmoid": lambda x, y: x.sigmoid(),
    "tanh": lambda x, y: x.tanh(),
    "maximum python float": lambda x, y: x.maximum(1.0),
    "minimum float64 array": lambda x, y: minigrad.minimum(F64_ROW, x),
    "maximum tensor": lambda x, y: minigrad.maximum(x, y),
    "clip": lambda x, y: x.clip(0.7, 1.2),
    "sum": lambda x, y: x.sum(),
    "sum axis": lambda x, y: x.sum(axis=0),
    "mean": lambda x, y: x.mean(),
    "mean axes keepdims": lambda x, y: x.mean(axis=(0, 1), keepdims=True),
    "max": lambda x, y: x.max(),
    "max axis": lambda x, y: x.max(axis=1),
    "var unbiased": lambda x, y: x.var(),
    "var biased axis": lambda x, y: x.var(axis=0, unbiased=False),
    "reshape": lambda x, y: x.reshape(2, 6),
    "transpose": lambda x, y: x.transpose(0, 1),
    "permute": lambda x, y: x.permute(1, 0),
    "T": lambda x, y: x.T,
    "flatten": lambda x, y: x.flatten(),
    "unsqueeze": lambda x, y: x.unsqueeze(1),
    "squeeze": lambda x, y: x.unsqueeze(0).squeeze(0),
    "getitem slice": lambda x, y: x[1:, ::2],
    "getitem int array": lambda x, y: x[np.array([0, 0, 2])],
    "getitem mask": lambda x, y: x[x.data > 1.0],
    "cat": lambda x, y: minigrad.cat([x, y], dim=1),
    "cat float64 array": lambda x, y: minigrad.cat([x, np.ones((3, 4))]),
    "stack": lambda x, y: minigrad.stack([x, y]),
    "stack float64 array": lambda x, y: minigrad.stack([np.ones((3, 4)), x]),
    "pad": lambda x, y: minigrad.pad(x, (1, 2), value=0.5),
    "softmax": lambda x, y: x.softmax(dim=1),
    "log_softmax": lambda x, y: x.log_softmax(dim=0),
}


@pytest.mark.parametrize("op", FLOAT32_OPS.values(), ids=FLOAT32_OPS.keys())
def test_float32_in_gives_float32_out(op, rng):
    x = Tensor(rng.uniform(0.5, 1.5, (3, 4)).astype(np.float32), requires_grad=True)
    y = Tensor(rng.uniform(0.5, 1.5, (3, 4)).astype(np.float32), requires_grad=True)
    out = op(x, y)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32
    assert y.grad is None or y.grad.dtype == np.float32


# ---- clear errors -------------------------------------------------------------

@pytest.mark.parametrize("a_shape, b_shape", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3, 4), (5, 4, 2))])
def test_matmul_shape_mismatch_names_both_shapes(a_shape, b_shape):
    a, b = Tensor(np.ones(a_shape)), Tensor(np.ones(b_shape))
    with pytest.raises(ValueError) as error:
        a @ b
    assert str(a_shape) in str(error.value) and str(b_shape) in str(error.value)


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
    minigrad.maximum, minigrad.minimum,
], ids=["add", "sub", "mul", "div", "maximum", "minimum"])
def test_incompatible_shapes_name_both_shapes(op):
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4,)))
    with pytest.raises(ValueError) as error:
        op(a, b)
    assert "(2, 3)" in str(error.value) and "(4,)" in str(error.value)


def test_reshape_to_an_incompatible_shape_names_both_shapes():
    with pytest.raises(ValueError) as error:
        Tensor(np.ones((2, 3))).reshape(4, 2)
    assert "(2, 3)" in str(error.value) and "(4, 2)" in str(error.value)


@pytest.mark.parametrize("op", [
    lambda x: x.permute(0, 1, 5), lambda x: x.permute(0, 0, 1), lambda x: x.permute(0, 1),
    lambda x: x.squeeze(3), lambda x: x.unsqueeze(4), lambda x: x.flatten(0, 3),
    lambda x: minigrad.cat([x, x], dim=3), lambda x: minigrad.stack([x, x], dim=4),
], ids=["permute range", "permute repeated", "permute short", "squeeze", "unsqueeze",
        "flatten", "cat", "stack"])
def test_out_of_range_axes_raise_instead_of_wrapping(op):
    with pytest.raises((IndexError, ValueError)):
        op(Tensor(np.ones((2, 3, 1))))


# ---- factories and the seeded generator ------------------------------------------

def test_manual_seed_makes_randn_reproducible():
    minigrad.manual_seed(123)
    first = minigrad.randn(3, 4).data.copy()
    minigrad.manual_seed(123)
    second = minigrad.randn(3, 4).data
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.float32 and first.shape == (3, 4)
    minigrad.manual_seed(124)
    assert not np.array_equal(first, minigrad.randn(3, 4).data)


def test_manual_seed_rejects_non_integers():
    with pytest.raises(TypeError):
        minigrad.manual_seed(1.5)


def test_constant_factories():
    np.testing.assert_array_equal(minigrad.zeros(2, 3).data, np.zeros((2, 3)))
    np.testing.assert_array_equal(minigrad.ones((2,)).data, [1.0, 1.0])
    np.testing.assert_array_equal(minigrad.full((2, 2), 7.0).data, np.full((2, 2), 7.0))
    assert minigrad.zeros(2).dtype == np.float32
    assert minigrad.zeros(2, dtype=np.float64).dtype == np.float64
