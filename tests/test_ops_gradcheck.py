"""Every op: forward against numpy, gradient against finite differences
(minigrad.gradcheck, float64), the documented tie rules, and numerical stability.

Gradchecks keep away from kinks: abs/relu inputs away from 0, max without
ties, clip inputs away from the bounds. The tie rules have their own tests
with hand-written expected gradients.
"""
import warnings

import numpy as np
import pytest

import minigrad
from minigrad import Tensor

# Every value checked on both kernel backends (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("backend")


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def randn(rng, *shape):
    return leaf(rng.standard_normal(shape))


def positive(rng, *shape):
    return leaf(rng.uniform(0.5, 2.0, shape))


def away_from_zero(rng, *shape):
    return leaf(rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape))


def transposed(rng, rows, cols):
    """A non-contiguous (Fortran-ordered) view: the transpose of a (cols, rows) array."""
    return leaf(rng.standard_normal((cols, rows)).T)


# Each case: rng -> (fn, inputs) for minigrad.gradcheck(fn, *inputs).
CASES = {
    # ---- arithmetic
    "add": lambda r: (lambda a, b: a + b, [randn(r, 3, 4), randn(r, 3, 4)]),
    "add broadcast (4,1,3) (5,1)": lambda r: (lambda a, b: a + b, [randn(r, 4, 1, 3), randn(r, 5, 1)]),
    "add 0-d": lambda r: (lambda a, b: a + b, [randn(r), randn(r, 3)]),
    "add constant": lambda r: (lambda a: 2.5 + a, [randn(r, 3)]),
    "sub broadcast": lambda r: (lambda a, b: a - b, [randn(r, 3, 1), randn(r, 1, 4)]),
    "rsub constant": lambda r: (lambda a: 1.0 - a, [randn(r, 2, 3)]),
    "mul": lambda r: (lambda a, b: a * b, [randn(r, 3, 4), randn(r, 3, 4)]),
    "mul broadcast (4,1,3) (5,1)": lambda r: (lambda a, b: a * b, [randn(r, 4, 1, 3), randn(r, 5, 1)]),
    "mul same tensor twice": lambda r: (lambda a: a * a, [randn(r, 5)]),
    "mul non-contiguous": lambda r: (lambda a, b: a * b, [transposed(r, 3, 4), randn(r, 4)]),
    "div": lambda r: (lambda a, b: a / b, [randn(r, 3, 4), away_from_zero(r, 3, 4)]),
    "div broadcast": lambda r: (lambda a, b: a / b, [randn(r, 2, 1, 4), away_from_zero(r, 3, 1)]),
    "rdiv constant": lambda r: (lambda b: 2.0 / b, [away_from_zero(r, 4)]),
    "pow 2": lambda r: (lambda a: a ** 2, [randn(r, 3, 4)]),
    "pow 3": lambda r: (lambda a: a ** 3, [randn(r, 3)]),
    "pow 0.5": lambda r: (lambda a: a ** 0.5, [positive(r, 3, 4)]),
    "pow -1.5": lambda r: (lambda a: a ** -1.5, [positive(r, 4)]),
    "neg": lambda r: (lambda a: -a, [randn(r, 2, 3)]),
    # ---- matmul
    "matmul 2-D": lambda r: (lambda a, b: a @ b, [randn(r, 3, 4), randn(r, 4, 5)]),
    "matmul batched": lambda r: (lambda a, b: a @ b, [randn(r, 2, 3, 4), randn(r, 2, 4, 5)]),
    "matmul broadcast batch": lambda r: (lambda a, b: a @ b, [randn(r, 2, 1, 3, 4), randn(r, 5, 4, 2)]),
    "matmul batched @ 2-D": lambda r: (lambda a, b: a @ b, [randn(r, 2, 3, 4), randn(r, 4, 5)]),
    "matmul 1-D @ 2-D": lambda r: (lambda a, b: a @ b, [randn(r, 4), randn(r, 4, 3)]),
    "matmul 2-D @ 1-D": lambda r: (lambda a, b: a @ b, [randn(r, 3, 4), randn(r, 4)]),
    "matmul 1-D @ 1-D": lambda r: (lambda a, b: a @ b, [randn(r, 4), randn(r, 4)]),
    "matmul 1-D @ batched": lambda r: (lambda a, b: a @ b, [randn(r, 4), randn(r, 2, 4, 3)]),
    "matmul batched @ 1-D": lambda r: (lambda a, b: a @ b, [randn(r, 2, 3, 4), randn(r, 4)]),
    "matmul size-1 dims": lambda r: (lambda a, b: a @ b, [randn(r, 1, 4), randn(r, 4, 1)]),
    "matmul non-contiguous": lambda r: (lambda a, b: a @ b, [transposed(r, 3, 4), transposed(r, 4, 2)]),
    # ---- elementwise
    "exp": lambda r: (lambda a: a.exp(), [randn(r, 3, 4)]),
    "log": lambda r: (lambda a: a.log(), [positive(r, 3, 4)]),
    "sqrt": lambda r: (lambda a: a.sqrt(), [positive(r, 3, 4)]),
    "abs": lambda r: (lambda a: a.abs(), [away_from_zero(r, 3, 4)]),
    "relu": lambda r: (lambda a: a.relu(), [away_from_zero(r, 3, 4)]),
    "relu non-contiguous": lambda r: (lambda a: minigrad.relu(a), [leaf(away_from_zero(r, 4, 3).data.T)]),
    "sigmoid": lambda r: (lambda a: a.sigmoid(), [leaf(3 * r.standard_normal((3, 4)))]),
    "tanh": lambda r: (lambda a: a.tanh(), [randn(r, 3, 4)]),
    "maximum": lambda r: (minigrad.maximum, [randn(r, 3, 4), randn(r, 3, 4)]),
    "maximum broadcast": lambda r: (minigrad.maximum, [randn(r, 4, 1, 3), randn(r, 5, 1)]),
    "maximum constant": lambda r: (lambda a: a.maximum(0.1), [away_from_zero(r, 6)]),
    "minimum": lambda r: (minigrad.minimum, [randn(r, 3, 4), randn(r, 3, 4)]),
    "minimum broadcast": lambda r: (minigrad.minimum, [randn(r, 3, 1), randn(r, 1, 4)]),
    "clip": lambda r: (lambda a: a.clip(-0.5, 0.7), [randn(r, 4, 5)]),
    "clip min only": lambda r: (lambda a: a.clip(min=0.2), [randn(r, 4, 5)]),
    "clip max only": lambda r: (lambda a: a.clip(max=-0.2), [randn(r, 4, 5)]),
    # ---- reductions
    "sum all": lambda r: (lambda a: a.sum(), [randn(r, 3, 4)]),
    "sum axis": lambda r: (lambda a: a.sum(axis=1), [randn(r, 3, 4, 2)]),
    "sum negative axis": lambda r: (lambda a: a.sum(axis=-1), [randn(r, 3, 4)]),
    "sum axes tuple": lambda r: (lambda a: a.sum(axis=(0, 2)), [randn(r, 3, 4, 2)]),
    "sum keepdims": lambda r: (lambda a: a.sum(axis=1, keepdims=True), [randn(r, 3, 4)]),
    "sum all keepdims": lambda r: (lambda a: a.sum(keepdims=True), [randn(r, 3, 4)]),
    "sum dim keepdim": lambda r: (lambda a: a.sum(dim=0, keepdim=True), [randn(r, 3, 4)]),
    "sum size-1 axis": lambda r: (lambda a: a.sum(axis=1), [randn(r, 3, 1)]),
    "sum non-contiguous": lambda r: (lambda a: a.sum(axis=0), [transposed(r, 3, 4)]),
    "mean all": lambda r: (lambda a: a.mean(), [randn(r, 3, 4)]),
    "mean axis": lambda r: (lambda a: a.mean(axis=0), [randn(r, 3, 4)]),
    "mean axes tuple keepdims": lambda r: (lambda a: a.mean(axis=(1, 2), keepdims=True), [randn(r, 2, 3, 4)]),
    "max all": lambda r: (lambda a: a.max(), [randn(r, 3, 4)]),
    "max axis": lambda r: (lambda a: a.max(axis=1), [randn(r, 3, 4)]),
    "max axes tuple": lambda r: (lambda a: a.max(axis=(0, 2)), [randn(r, 3, 4, 2)]),
    "max keepdims": lambda r: (lambda a: a.max(axis=0, keepdims=True), [randn(r, 3, 4)]),
    "max size-1 axis": lambda r: (lambda a: a.max(axis=0), [randn(r, 1, 4)]),
    "var all unbiased": lambda r: (lambda a: a.var(), [randn(r, 3, 4)]),
    "var all biased": lambda r: (lambda a: a.var(unbiased=False), [randn(r, 3, 4)]),
    "var axis unbiased": lambda r: (lambda a: a.var(axis=1), [randn(r, 3, 4)]),
    "var axis biased": lambda r: (lambda a: a.var(axis=0, unbiased=False), [randn(r, 3, 4)]),
    "var axes tuple keepdims": lambda r: (lambda a: a.var(axis=(0, 2), keepdims=True), [randn(r, 3, 2, 4)]),
    "var axes tuple biased": lambda r: (lambda a: a.var(axis=(0, 2), unbiased=False), [randn(r, 3, 2, 4)]),
    "var non-contiguous": lambda r: (lambda a: a.var(axis=1), [transposed(r, 3, 4)]),
    # ---- shape
    "reshape": lambda r: (lambda a: a.reshape(4, 3), [randn(r, 3, 4)]),
    "reshape -1": lambda r: (lambda a: a.reshape((2, -1)), [randn(r, 3, 4)]),
    "reshape non-contiguous": lambda r: (lambda a: a.reshape(12), [transposed(r, 3, 4)]),
    "transpose": lambda r: (lambda a: a.transpose(0, 2), [randn(r, 2, 3, 4)]),
    "permute": lambda r: (lambda a: a.permute(2, 0, 1), [randn(r, 2, 3, 4)]),
    "T": lambda r: (lambda a: a.T, [randn(r, 3, 4)]),
    "flatten": lambda r: (lambda a: a.flatten(), [randn(r, 2, 3, 4)]),
    "flatten range": lambda r: (lambda a: a.flatten(1, 2), [randn(r, 2, 3, 4, 2)]),
    "squeeze all": lambda r: (lambda a: a.squeeze(), [randn(r, 3, 1, 4, 1)]),
    "squeeze dim": lambda r: (lambda a: a.squeeze(-1), [randn(r, 3, 1, 4, 1)]),
    "unsqueeze": lambda r: (lambda a: a.unsqueeze(1), [randn(r, 3, 4)]),
    "unsqueeze last": lambda r: (lambda a: a.unsqueeze(-1), [randn(r, 3, 4)]),
    # ---- indexing
    "getitem slices": lambda r: (lambda a: a[1:3, ::2], [randn(r, 4, 5)]),
    "getitem negative step": lambda r: (lambda a: a[::-1, 1], [randn(r, 4, 5)]),
    "getitem int": lambda r: (lambda a: a[2], [randn(r, 4, 5)]),
    "getitem ellipsis None": lambda r: (lambda a: a[..., None, 0], [randn(r, 2, 3, 4)]),
    "getitem repeated int array": lambda r: (lambda a: a[np.array([0, 2, 0, 0])], [randn(r, 4, 3)]),
    "getitem list": lambda r: (lambda a: a[[1, 1, 3]], [randn(r, 4)]),
    "getitem tensor index": lambda r: (lambda a: a[Tensor(np.array([3, 3, 0]))], [randn(r, 4, 2)]),
    "getitem bool mask": lambda r: (lambda a: a[np.array([[True, False, True], [False, False, True]])],
                                    [randn(r, 2, 3)]),
    "getitem row mask": lambda r: (lambda a: a[np.array([True, False, True, True])], [randn(r, 4, 3)]),
    "getitem slice and array": lambda r: (lambda a: a[1:, np.array([0, 0, 4])], [randn(r, 3, 5)]),
    "getitem array pairs": lambda r: (lambda a: a[np.array([0, 0, 2]), np.array([1, 1, 3])],
                                      [randn(r, 3, 4)]),
    "getitem non-contiguous": lambda r: (lambda a: a[np.array([2, 2]), 1:], [transposed(r, 3, 4)]),
    # ---- joining and padding
    "cat dim 0": lambda r: (lambda a, b, c: minigrad.cat([a, b, c]),
                            [randn(r, 2, 3), randn(r, 4, 3), randn(r, 1, 3)]),
    "cat dim -1": lambda r: (lambda a, b: minigrad.cat([a, b], dim=-1), [randn(r, 2, 3), randn(r, 2, 1)]),
    "cat with constant": lambda r: (lambda a: minigrad.cat([a, np.ones((1, 3))], dim=0), [randn(r, 2, 3)]),
    "stack dim 0": lambda r: (lambda a, b: minigrad.stack([a, b]), [randn(r, 2, 3), randn(r, 2, 3)]),
    "stack last dim": lambda r: (lambda a, b, c: minigrad.stack([a, b, c], dim=-1),
                                 [randn(r, 2, 3), randn(r, 2, 3), randn(r, 2, 3)]),
    "stack same tensor": lambda r: (lambda a: minigrad.stack([a, a * 2], dim=1), [randn(r, 3)]),
    "pad last axis": lambda r: (lambda a: minigrad.pad(a, (1, 2)), [randn(r, 2, 3)]),
    "pad two axes with value": lambda r: (lambda a: minigrad.pad(a, (1, 0, 2, 3), value=1.5),
                                          [randn(r, 2, 3, 4)]),
    # ---- softmax
    "softmax last": lambda r: (lambda a: a.softmax(dim=-1), [randn(r, 3, 5)]),
    "softmax dim 0": lambda r: (lambda a: minigrad.softmax(a, dim=0), [randn(r, 3, 5)]),
    "softmax axis 3-D": lambda r: (lambda a: minigrad.softmax(a, axis=1), [randn(r, 2, 3, 4)]),
    "softmax size-1 axis": lambda r: (lambda a: a.softmax(dim=1), [randn(r, 3, 1)]),
    "log_softmax last": lambda r: (lambda a: a.log_softmax(dim=-1), [randn(r, 3, 5)]),
    "log_softmax dim 0": lambda r: (lambda a: minigrad.log_softmax(a, dim=0), [randn(r, 3, 5)]),
    "log_softmax non-contiguous": lambda r: (lambda a: a.log_softmax(dim=1), [transposed(r, 3, 4)]),
    # ---- compositions
    "mlp layer": lambda r: (lambda x, w, b: (x @ w + b).tanh().sum(axis=1),
                            [randn(r, 5, 3), randn(r, 3, 4), randn(r, 4)]),
    "normalize": lambda r: (lambda x: (x - x.mean(axis=0)) / (x.var(axis=0, unbiased=False) + 1e-5).sqrt(),
                            [randn(r, 6, 3)]),
}


@pytest.mark.parametrize("build", CASES.values(), ids=CASES.keys())
def test_gradcheck(build, rng):
    fn, inputs = build(rng)
    assert minigrad.gradcheck(fn, *inputs)


# ---- forward values against numpy ------------------------------------------------

V = np.random.default_rng(1).standard_normal((3, 4))
P = np.random.default_rng(2).uniform(0.5, 2.0, (3, 4))

FORWARD = {
    "exp": (lambda t: t.exp(), np.exp(V)),
    "log": (lambda t: Tensor(P).log(), np.log(P)),
    "sqrt": (lambda t: Tensor(P).sqrt(), np.sqrt(P)),
    "pow 0.5": (lambda t: Tensor(P) ** 0.5, P ** 0.5),
    "pow 3": (lambda t: t ** 3, V * V * V),
    "abs": (lambda t: t.abs(), np.abs(V)),
    "relu": (lambda t: t.relu(), np.where(V > 0, V, 0.0)),
    "sigmoid": (lambda t: t.sigmoid(), 1 / (1 + np.exp(-V))),
    "tanh": (lambda t: t.tanh(), np.tanh(V)),
    "clip": (lambda t: t.clip(-0.5, 0.5), np.minimum(np.maximum(V, -0.5), 0.5)),
    "sum axis": (lambda t: t.sum(axis=1), V.sum(axis=1)),
    "mean keepdims": (lambda t: t.mean(axis=0, keepdims=True), V.mean(axis=0, keepdims=True)),
    "max axis": (lambda t: t.max(axis=0), V.max(axis=0)),
    "var unbiased": (lambda t: t.var(axis=1), ((V - V.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) / 3),
    "var biased": (lambda t: t.var(unbiased=False), ((V - V.mean()) ** 2).mean()),
    "matmul": (lambda t: t @ t.T, np.einsum("ik,jk->ij", V, V)),
    "matmul 1-D @ 1-D": (lambda t: t[0] @ t[1], (V[0] * V[1]).sum()),
    "transpose": (lambda t: t.transpose(0, 1), V.T),
    "flatten": (lambda t: t.flatten(), V.ravel()),
    "unsqueeze": (lambda t: t.unsqueeze(0), V[None]),
    "getitem repeated": (lambda t: t[[2, 2, 0]], V[[2, 2, 0]]),
    "cat": (lambda t: minigrad.cat([t, t[:1]]), np.vstack([V, V[:1]])),
    "stack": (lambda t: minigrad.stack([t, 2 * t], dim=1), np.stack([V, 2 * V], axis=1)),
    "pad": (lambda t: minigrad.pad(t, (1, 2), value=3.0), np.pad(V, ((0, 0), (1, 2)), constant_values=3.0)),
    "softmax": (lambda t: t.softmax(dim=1), np.exp(V) / np.exp(V).sum(axis=1, keepdims=True)),
    "log_softmax": (lambda t: t.log_softmax(dim=0), V - np.log(np.exp(V).sum(axis=0, keepdims=True))),
}


@pytest.mark.parametrize("op, expected", FORWARD.values(), ids=FORWARD.keys())
def test_forward_matches_numpy(op, expected):
    out = op(Tensor(V))
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


# ---- indexing accumulates gradients of repeated elements -------------------------------

def test_repeated_integer_indices_accumulate():
    x = leaf([10.0, 20.0, 30.0, 40.0])
    weights = np.array([1.0, 2.0, 3.0, 4.0])
    (x[np.array([0, 2, 0, 0])] * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0 + 3.0 + 4.0, 0.0, 2.0, 0.0])


def test_repeated_index_pairs_accumulate():
    x = leaf(np.zeros((2, 3)))
    x[np.array([1, 1, 0]), np.array([2, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])


def test_boolean_mask_routes_gradient_to_selected_elements():
    x = leaf(np.arange(6.0).reshape(2, 3))
    mask = np.array([[True, False, True], [False, True, False]])
    (x[mask] * np.array([5.0, 6.0, 7.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[5.0, 0.0, 6.0], [0.0, 7.0, 0.0]])


# ---- documented tie rules ----------------------------------------------------------------

def test_max_splits_the_gradient_evenly_among_ties():
    x = leaf([1.0, 3.0, 3.0, 2.0])
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5, 0.0])


def test_max_along_an_axis_splits_ties_per_row():
    x = leaf([[1.0, 5.0, 5.0], [2.0, 2.0, 0.0], [4.0, 4.0, 4.0]])
    (x.max(axis=1) * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.5, 0.5], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])


def test_maximum_and_minimum_give_half_to_each_side_on_equality():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 0.0, 3.0])
    minigrad.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0, 0.5])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 0.5])

    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 0.0, 3.0])
    minigrad.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0, 0.5])


def test_maximum_ties_under_broadcasting():
    a, b = leaf([[1.0], [2.0]]), leaf([1.0, 2.0, 3.0])
    minigrad.maximum(a, b).sum().backward()
    # row 0: a=1 ties b[0], loses to b[1], b[2]; row 1: a=2 beats b[0], ties b[1], loses to b[2]
    np.testing.assert_array_equal(a.grad, [[0.5], [1.5]])
    np.testing.assert_array_equal(b.grad, [0.5, 1.5, 2.0])


def test_relu_and_abs_have_zero_gradient_at_zero():
    x = leaf([-1.0, 0.0, 2.0])
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])
    x = leaf([-2.0, 0.0, 3.0])
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 0.0, 1.0])


def test_clip_passes_the_gradient_at_the_bounds():
    x = leaf([-2.0, -1.0, 0.0, 1.0, 2.0])
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


# ---- numerical stability -------------------------------------------------------------------

def no_float_errors():
    """Overflow, division by zero and invalid values raise; underflow to 0 is fine."""
    return np.errstate(over="raise", divide="raise", invalid="raise")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_at_extreme_inputs(dtype):
    x = Tensor(np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype), requires_grad=True)
    with no_float_errors(), warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.sigmoid()
        y.sum().backward()
    assert y.dtype == dtype
    assert y.data[0] == 0.0 and y.data[-1] == 1.0 and y.data[2] == 0.5
    np.testing.assert_allclose(y.data[1], np.exp(-50.0), rtol=1e-5)
    assert np.isfinite(x.grad).all()
    assert x.grad[0] == 0.0 and x.grad[-1] == 0.0 and x.grad[2] == 0.25


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_and_softmax_are_stable_for_huge_logits(dtype):
    logits = np.array([[3e4, -3e4, 0.0], [-3e4, -3e4, -3e4]], dtype=dtype)
    x = Tensor(logits, requires_grad=True)
    with no_float_errors(), warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.log_softmax(dim=1)
        out.sum().backward()
        probabilities = Tensor(logits).softmax(dim=1)
    np.testing.assert_allclose(out.data, [[0.0, -6e4, -3e4], [np.log(1 / 3)] * 3], rtol=1e-6)
    # d/dx_j sum_i log_softmax_i = 1 - n * softmax_j
    np.testing.assert_allclose(x.grad, [[-2.0, 1.0, 1.0], [0.0, 0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(probabilities.data, [[1.0, 0.0, 0.0], [1 / 3] * 3], rtol=1e-6)
