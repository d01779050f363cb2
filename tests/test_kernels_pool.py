"""Pooling and ReLU kernels (the CNN's other hot-path kernels): numba against
numpy references, the max-pool tie rule, and (where installed) PyTorch."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minigrad.kernels.fast.activation import relu_backward, relu_forward
from minigrad.kernels.fast.pool import (avg_pool2d_backward, avg_pool2d_forward,
                                        max_pool2d_backward, max_pool2d_forward)
from minigrad.kernels.reference.activation import (relu_backward as relu_backward_ref,
                                                   relu_forward as relu_forward_ref)
from minigrad.kernels.reference.pool import (avg_pool2d_backward as avg_pool2d_backward_ref,
                                             avg_pool2d_forward as avg_pool2d_forward_ref,
                                             max_pool2d_backward as max_pool2d_backward_ref,
                                             max_pool2d_forward as max_pool2d_forward_ref)
from minigrad.kernels.shapes import pool_output_size

FEW = settings(deadline=None, max_examples=25)


@st.composite
def pool_configs(draw):
    """A small pooling: shape, kernel/stride/padding pairs (padding <= kernel/2), dtype, layout."""
    shape = (draw(st.sampled_from([1, 2, 3])), draw(st.integers(1, 3)),
             draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    kernel = (draw(st.sampled_from([1, 2, 3, 5])), draw(st.sampled_from([1, 2, 3, 5])))
    stride = (draw(st.sampled_from([1, 2, 3])), draw(st.sampled_from([1, 2, 3])))
    padding = (draw(st.integers(0, min(2, kernel[0] // 2))), draw(st.integers(0, min(2, kernel[1] // 2))))
    assume(pool_output_size(shape[2], kernel[0], stride[0], padding[0]) >= 1)
    assume(pool_output_size(shape[3], kernel[1], stride[1], padding[1]) >= 1)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    contiguous = draw(st.booleans())
    # few distinct values, so that windows often hold ties
    values = draw(st.sampled_from(["normal", "small ints"]))
    seed = draw(st.integers(0, 2**16))
    return dict(shape=shape, kernel=kernel, stride=stride, padding=padding, dtype=dtype,
                contiguous=contiguous, values=values, seed=seed)


def make_input(cfg):
    rng = np.random.default_rng(cfg["seed"])
    N, C, H, W = cfg["shape"]
    if cfg["values"] == "normal":
        base = rng.standard_normal((N, C, W, H))
    else:
        base = rng.integers(-2, 3, size=(N, C, W, H))
    x = base.astype(cfg["dtype"]).swapaxes(2, 3)           # (N, C, H, W), not contiguous
    if cfg["contiguous"]:
        x = np.ascontiguousarray(x)
    return rng, x


def pool_args(cfg):
    return cfg["kernel"], cfg["stride"], cfg["padding"]


# ---------------------------------------------------------------- max pooling

@FEW
@given(pool_configs())
def test_max_pool_matches_reference(cfg):
    rng, x = make_input(cfg)
    out, argmax = max_pool2d_forward(x, *pool_args(cfg))
    ref_out, ref_argmax = max_pool2d_forward_ref(x, *pool_args(cfg))
    assert out.dtype == x.dtype and argmax.dtype == np.int32
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(argmax, ref_argmax)

    dy = rng.standard_normal(out.shape).astype(cfg["dtype"])
    dx = max_pool2d_backward(dy, argmax, x.shape)
    assert dx.dtype == dy.dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, max_pool2d_backward_ref(dy, argmax, x.shape), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 3, 28, 28), (1, 2, 7, 5), (3, 1, 2, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_2x2_fast_path_matches_reference(shape, dtype):
    rng = np.random.default_rng(3)
    for x in [rng.standard_normal(shape), rng.integers(-1, 2, size=shape), np.zeros(shape)]:
        x = x.astype(dtype)
        out, argmax = max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
        ref_out, ref_argmax = max_pool2d_forward_ref(x, (2, 2), (2, 2), (0, 0))
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(argmax, ref_argmax)


@FEW
@given(st.integers(1, 3), st.integers(1, 3), st.integers(2, 13), st.integers(2, 13),
       st.sampled_from([np.float32, np.float64]), st.booleans(),
       st.sampled_from(["normal", "small ints", "NaNs"]), st.integers(0, 2**16))
def test_max_pool_2x2_random_shapes_match_reference(N, C, H, W, dtype, contiguous, values, seed):
    """The 2x2/stride-2 kernels (rows copied side by side, a tree of comparisons) on odd
    and even sizes, ties, NaNs (the first NaN wins) and non-contiguous input."""
    rng = np.random.default_rng(seed)
    if values == "small ints":
        base = rng.integers(-1, 2, size=(N, C, W, H)).astype(dtype)
    else:
        base = rng.standard_normal((N, C, W, H)).astype(dtype)
        if values == "NaNs":
            base[rng.random(base.shape) < 0.2] = np.nan
    x = base.swapaxes(2, 3)
    if contiguous:
        x = np.ascontiguousarray(x)
    out, argmax = max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    ref_out, ref_argmax = max_pool2d_forward_ref(x, (2, 2), (2, 2), (0, 0))
    assert out.dtype == x.dtype and argmax.dtype == np.int32
    np.testing.assert_array_equal(out, ref_out)             # NaNs in the same places
    np.testing.assert_array_equal(argmax, ref_argmax)
    dy = rng.standard_normal(out.shape).astype(dtype)
    np.testing.assert_array_equal(max_pool2d_backward(dy, argmax, x.shape),
                                  max_pool2d_backward_ref(dy, argmax, x.shape))


def _relu_then_pool(x, args, forward, backward, dy):
    """relu(max_pool2d(x)) and its input gradient, composed from the unfused kernels."""
    out, argmax = forward(x, *args)
    y = relu_forward_ref(out)
    return y, backward(relu_backward_ref(dy, y), argmax, x.shape)


@FEW
@given(pool_configs(), st.booleans(), st.booleans())
def test_max_pool_with_relu_equals_relu_of_max_pool(cfg, nans, square):
    """relu=True (the fusion plan's one pass) gives relu's values and gradients on both
    backends, the 2x2 kernel and the general one, with ties at zero and NaNs."""
    rng, x = make_input(cfg)
    if nans:
        x = np.where(rng.random(x.shape) < 0.15, np.nan, x).astype(cfg["dtype"])
    args = ((2, 2), (2, 2), (0, 0)) if square and min(x.shape[2:]) >= 2 else pool_args(cfg)
    dy = rng.standard_normal(max_pool2d_forward_ref(x, *args)[0].shape).astype(cfg["dtype"])
    want_y, want_dx = _relu_then_pool(x, args, max_pool2d_forward_ref, max_pool2d_backward_ref, dy)
    for forward, backward in ((max_pool2d_forward, max_pool2d_backward),
                              (max_pool2d_forward_ref, max_pool2d_backward_ref)):
        y, argmax = forward(x, *args, relu=True)
        assert y.dtype == x.dtype and argmax.dtype == np.int32
        np.testing.assert_array_equal(y, want_y)
        np.testing.assert_array_equal(argmax < 0, ~(want_y > 0))   # no gradient unless > 0
        np.testing.assert_array_equal(backward(dy, argmax, x.shape), want_dx)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_2x2_nan_and_tie_positions(dtype):
    """Every way a 2x2 window can hold NaNs or tied maxima: the first NaN, else the
    first maximum, in row-major order (a b / c d)."""
    windows = []
    for pattern in range(16):                    # which of a, b, c, d are NaN
        windows.append([np.nan if pattern >> i & 1 else float(i) for i in range(4)])
    for pattern in range(1, 16):                 # which of them tie at the maximum 5
        windows.append([5.0 if pattern >> i & 1 else -1.0 for i in range(4)])
    x = np.array(windows, dtype).reshape(1, len(windows), 2, 2)
    out, argmax = max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    ref_out, ref_argmax = max_pool2d_forward_ref(x, (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(argmax, ref_argmax)


@pytest.mark.parametrize("kernel,stride,padding", [((2, 2), (2, 2), (0, 0)),
                                                   ((3, 3), (2, 2), (1, 1)),
                                                   ((3, 2), (1, 1), (1, 0))])
@pytest.mark.parametrize("impl", ["numba", "ref"])
def test_max_pool_ties_route_gradient_to_first_element(kernel, stride, padding, impl):
    """On an all-zero input every window ties: each window's gradient goes to its
    first element inside the input (row-major), and only there."""
    forward, backward = ((max_pool2d_forward, max_pool2d_backward) if impl == "numba"
                         else (max_pool2d_forward_ref, max_pool2d_backward_ref))
    x = np.zeros((2, 3, 6, 7), np.float32)
    out, argmax = forward(x, kernel, stride, padding)
    dx = backward(np.ones_like(out), argmax, x.shape)

    expected = np.zeros(x.shape[2:], np.float32)
    for oh in range(out.shape[2]):
        for ow in range(out.shape[3]):
            expected[max(oh * stride[0] - padding[0], 0), max(ow * stride[1] - padding[1], 0)] += 1
    np.testing.assert_array_equal(dx, np.broadcast_to(expected, x.shape))
    assert dx.sum() == out.size                     # the gradient is not multiplied by ties


def test_max_pool_first_of_equal_maxima_and_nan():
    x = np.array([[[[1, 5, 5], [5, 0, 0], [0, 0, 0]]]], np.float32)
    _, argmax = max_pool2d_forward(x, (3, 3), (1, 1), (0, 0))
    assert argmax.item() == 1                        # the first 5, row-major
    x[0, 0, 2, 2] = np.nan
    out, argmax = max_pool2d_forward(x, (3, 3), (1, 1), (0, 0))
    assert np.isnan(out.item()) and argmax.item() == 8      # NaN propagates, as in PyTorch


def test_max_pool_pads_with_minus_infinity():
    x = -np.ones((1, 1, 2, 2), np.float64)
    out, _ = max_pool2d_forward(x, (3, 3), (1, 1), (1, 1))
    np.testing.assert_array_equal(out, -np.ones((1, 1, 2, 2)))   # zero padding would give 0


# ---------------------------------------------------------------- average pooling

@FEW
@given(pool_configs())
def test_avg_pool_matches_reference(cfg):
    rng, x = make_input(cfg)
    out = avg_pool2d_forward(x, *pool_args(cfg))
    assert out.dtype == x.dtype
    tol = dict(rtol=1e-5, atol=1e-6) if cfg["dtype"] == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out, avg_pool2d_forward_ref(x, *pool_args(cfg)), **tol)
    dy = rng.standard_normal(out.shape).astype(cfg["dtype"])
    dx = avg_pool2d_backward(dy, x.shape, *pool_args(cfg))
    assert dx.dtype == dy.dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, avg_pool2d_backward_ref(dy, x.shape, *pool_args(cfg)), **tol)


def test_pool_rejects_bad_arguments():
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match="half"):
        max_pool2d_forward(x, (2, 2), (2, 2), (2, 0))
    with pytest.raises(ValueError, match="larger"):
        avg_pool2d_forward(x, (5, 5), (1, 1), (0, 0))


# ---------------------------------------------------------------- ReLU

@FEW
@given(st.lists(st.integers(1, 7), min_size=1, max_size=4), st.sampled_from([np.float32, np.float64]),
       st.booleans(), st.integers(0, 2**16))
def test_relu_matches_reference(shape, dtype, contiguous, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x[x > 1.5] = 0                                  # some exact zeros: the gradient there is 0
    if not contiguous:
        x = x.T
    y = relu_forward(x)
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_array_equal(y, relu_forward_ref(x))
    dy = rng.standard_normal(x.shape).astype(dtype)
    dx = relu_backward(dy, y)
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dx, relu_backward_ref(dy, x))
    np.testing.assert_array_equal(dx, relu_backward(dy, x))     # input or output: same answer


def test_relu_keeps_nan_and_large_arrays():
    x = np.random.default_rng(0).standard_normal(100_003).astype(np.float32)
    x[7] = np.nan
    y = relu_forward(x)
    assert np.isnan(y[7])
    np.testing.assert_array_equal(y, relu_forward_ref(x))


# ---------------------------------------------------------------- PyTorch

@FEW
@given(pool_configs())
def test_pooling_matches_torch(cfg):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: no comparison with it")
    F = torch.nn.functional
    rng, x = make_input(cfg)
    out, argmax = max_pool2d_forward(x, *pool_args(cfg))
    dy = rng.standard_normal(out.shape).astype(cfg["dtype"])
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yt, it = F.max_pool2d(xt, *pool_args(cfg), return_indices=True)
    yt.backward(torch.tensor(dy))
    np.testing.assert_array_equal(out, yt.detach().numpy())
    np.testing.assert_array_equal(argmax, it.numpy())
    np.testing.assert_allclose(max_pool2d_backward(dy, argmax, x.shape), xt.grad.numpy(),
                               rtol=1e-6, atol=1e-6)

    out = avg_pool2d_forward(x, *pool_args(cfg))
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yt = F.avg_pool2d(xt, *pool_args(cfg))                       # count_include_pad=True
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(avg_pool2d_backward(dy, x.shape, *pool_args(cfg)),
                               xt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_relu_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed: no comparison with it")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.relu(xt)
    yt.backward(torch.tensor(dy))
    np.testing.assert_array_equal(relu_forward(x), yt.detach().numpy())
    np.testing.assert_array_equal(relu_backward(dy, x), xt.grad.numpy())
