"""Convolution kernels: numba (kernels/fast/conv.py) against the reference
(kernels/reference/conv.py), a direct definition, finite differences and (where
installed) PyTorch."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minigrad.kernels.fast import conv as fast
from minigrad.kernels.fast.conv import col2im, conv2d_backward, conv2d_forward, im2col
from minigrad.kernels.reference import conv as reference
from minigrad.kernels.reference.conv import col2im as col2im_ref, im2col as im2col_ref
from minigrad.kernels.shapes import conv_output_size

FEW = settings(deadline=None, max_examples=25)


# ---------------------------------------------------------------- helpers

@st.composite
def conv_configs(draw):
    """A small convolution: shapes, kernel/stride/padding/dilation pairs, dtype, layout."""
    N = draw(st.sampled_from([1, 2, 3]))
    C = draw(st.integers(1, 3))
    O = draw(st.integers(1, 3))
    H = draw(st.integers(1, 9))
    W = draw(st.integers(1, 9))
    kernel = (draw(st.sampled_from([1, 3, 5])), draw(st.sampled_from([1, 3, 5])))
    stride = (draw(st.sampled_from([1, 2])), draw(st.sampled_from([1, 2])))
    padding = (draw(st.sampled_from([0, 1, 2])), draw(st.sampled_from([0, 1, 2])))
    dilation = (draw(st.sampled_from([1, 2])), draw(st.sampled_from([1, 2])))
    OH = conv_output_size(H, kernel[0], stride[0], padding[0], dilation[0])
    OW = conv_output_size(W, kernel[1], stride[1], padding[1], dilation[1])
    assume(OH >= 1 and OW >= 1)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    contiguous = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return dict(N=N, C=C, O=O, H=H, W=W, kernel=kernel, stride=stride, padding=padding,
                dilation=dilation, dtype=dtype, contiguous=contiguous, seed=seed)


def random_array(rng, shape, dtype, contiguous=True):
    """Standard normal values; when not contiguous, a view with the last two axes swapped."""
    if contiguous:
        return rng.standard_normal(shape).astype(dtype)
    base = rng.standard_normal(shape[:-2] + (shape[-1], shape[-2])).astype(dtype)
    view = base.swapaxes(-1, -2)
    assert not view.flags.c_contiguous or min(shape[-2:]) == 1
    return view


def make_conv(cfg, bias=True):
    rng = np.random.default_rng(cfg["seed"])
    x = random_array(rng, (cfg["N"], cfg["C"], cfg["H"], cfg["W"]), cfg["dtype"], cfg["contiguous"])
    w = random_array(rng, (cfg["O"], cfg["C"]) + cfg["kernel"], cfg["dtype"])
    b = random_array(rng, (cfg["O"],), cfg["dtype"]) if bias else None
    return rng, x, w, b


def conv_args(cfg):
    return cfg["stride"], cfg["padding"], cfg["dilation"]


def conv2d_direct(x, w, b, stride, padding, dilation):
    """The definition, one output position at a time."""
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    OH = conv_output_size(H, kh, sh, ph, dh)
    OW = conv_output_size(W, kw, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((N, O, OH, OW), dtype=np.float64)
    for oh in range(OH):
        for ow in range(OW):
            window = xp[:, :, oh * sh:oh * sh + dh * (kh - 1) + 1:dh,
                        ow * sw:ow * sw + dw * (kw - 1) + 1:dw]          # (N, C, kh, kw)
            out[:, :, oh, ow] = np.einsum("ncij,ocij->no", window, w)
    if b is not None:
        out += b[None, :, None, None]
    return out


def numerical_grad(f, a, eps=1e-6):
    """Central differences of the scalar function f() with respect to array a (changed in place)."""
    grad = np.zeros_like(a)
    flat, gflat = a.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        up = f()
        flat[i] = keep - eps
        down = f()
        flat[i] = keep
        gflat[i] = (up - down) / (2 * eps)
    return grad


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------- im2col / col2im

@FEW
@given(conv_configs())
def test_im2col_matches_reference(cfg):
    _, x, w, _ = make_conv(cfg)
    args = (cfg["kernel"],) + conv_args(cfg)
    cols = im2col(x, *args)
    ref = im2col_ref(x, *args)
    assert cols.dtype == x.dtype and cols.shape == ref.shape
    np.testing.assert_array_equal(cols, ref)


@FEW
@given(conv_configs())
def test_col2im_matches_reference(cfg):
    rng, x, _, _ = make_conv(cfg)
    args = (cfg["kernel"],) + conv_args(cfg)
    cols = rng.standard_normal(im2col_ref(x, *args).shape).astype(cfg["dtype"])
    dx = col2im(cols, x.shape, *args)
    assert dx.dtype == cols.dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, col2im_ref(cols, x.shape, *args), **tol(cfg["dtype"]))


@FEW
@given(conv_configs())
def test_col2im_is_adjoint_of_im2col(cfg):
    """<im2col(x), c> == <x, col2im(c)> for any x and c."""
    rng, x, _, _ = make_conv(cfg)
    args = (cfg["kernel"],) + conv_args(cfg)
    cols = im2col(x, *args)
    c = rng.standard_normal(cols.shape)
    lhs = np.sum(cols.astype(np.float64) * c)
    rhs = np.sum(x.astype(np.float64) * col2im(c, x.shape, *args))
    assert np.isclose(lhs, rhs, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------- conv2d

BACKENDS = pytest.mark.parametrize("kernels", [fast, reference], ids=["numba", "numpy"])


@BACKENDS
@FEW
@given(conv_configs(), st.booleans())
def test_conv2d_forward_matches_definition(kernels, cfg, with_bias):
    _, x, w, b = make_conv(cfg, bias=with_bias)
    out, _ = kernels.conv2d_forward(x, w, b, *conv_args(cfg))
    assert out.dtype == cfg["dtype"] and out.flags.c_contiguous
    expected = conv2d_direct(x.astype(np.float64), w.astype(np.float64),
                             None if b is None else b.astype(np.float64), *conv_args(cfg))
    np.testing.assert_allclose(out, expected, **tol(cfg["dtype"]))


@BACKENDS
@settings(deadline=None, max_examples=12)
@given(conv_configs(), st.booleans())
def test_conv2d_backward_matches_finite_differences(kernels, cfg, with_bias):
    conv2d_forward, conv2d_backward = kernels.conv2d_forward, kernels.conv2d_backward
    cfg = dict(cfg, dtype=np.float64, N=min(cfg["N"], 2), H=min(cfg["H"], 6), W=min(cfg["W"], 6))
    assume(conv_output_size(cfg["H"], cfg["kernel"][0], cfg["stride"][0], cfg["padding"][0],
                            cfg["dilation"][0]) >= 1)
    assume(conv_output_size(cfg["W"], cfg["kernel"][1], cfg["stride"][1], cfg["padding"][1],
                            cfg["dilation"][1]) >= 1)
    rng, x, w, b = make_conv(cfg, bias=with_bias)
    x = np.ascontiguousarray(x)
    out, cache = conv2d_forward(x, w, b, *conv_args(cfg))
    dy = rng.standard_normal(out.shape)

    def loss():
        return np.sum(conv2d_forward(x, w, b, *conv_args(cfg))[0] * dy)

    dx, dw, db = conv2d_backward(dy, cache)
    np.testing.assert_allclose(dx, numerical_grad(loss, x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dw, numerical_grad(loss, w), rtol=1e-6, atol=1e-6)
    if with_bias:
        np.testing.assert_allclose(db, numerical_grad(loss, b), rtol=1e-6, atol=1e-6)
    else:
        assert db is None


@FEW
@given(conv_configs(), st.booleans())
def test_conv2d_backends_agree(cfg, with_bias):
    rng, x, w, b = make_conv(cfg, bias=with_bias)
    out, cache = conv2d_forward(x, w, b, *conv_args(cfg))
    out_r, cache_r = reference.conv2d_forward(x, w, b, *conv_args(cfg))
    np.testing.assert_allclose(out, out_r, **tol(cfg["dtype"]))
    dy = rng.standard_normal(out.shape).astype(cfg["dtype"])
    for got, want in zip(conv2d_backward(dy, cache), reference.conv2d_backward(dy, cache_r)):
        assert (got is None) == (want is None)
        if got is not None:
            assert got.dtype == want.dtype == cfg["dtype"]
            np.testing.assert_allclose(got, want, **tol(cfg["dtype"]))


@BACKENDS
def test_conv2d_backward_without_dx_and_float32(kernels):
    conv2d_forward, conv2d_backward = kernels.conv2d_forward, kernels.conv2d_backward
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    out, cache = conv2d_forward(x, w, b, (1, 1), (1, 1), (1, 1))
    dy = rng.standard_normal(out.shape).astype(np.float32)
    dx_full, dw_full, db_full = conv2d_backward(dy, cache)
    dx, dw, db = conv2d_backward(dy, cache, need_dx=False)
    assert dx is None
    assert dx_full.dtype == dw.dtype == db.dtype == np.float32
    np.testing.assert_array_equal(dw, dw_full)
    np.testing.assert_array_equal(db, db_full)


@BACKENDS
def test_conv2d_rejects_bad_inputs(kernels):
    conv2d_forward = kernels.conv2d_forward
    x = np.zeros((1, 3, 5, 5), np.float32)
    with pytest.raises(ValueError, match="channels"):
        conv2d_forward(x, np.zeros((2, 4, 3, 3), np.float32), None, (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="larger"):
        conv2d_forward(x, np.zeros((2, 3, 7, 7), np.float32), None, (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="dtypes"):
        conv2d_forward(x, np.zeros((2, 3, 3, 3), np.float64), None, (1, 1), (0, 0), (1, 1))


# ---------------------------------------------------------------- PyTorch

@FEW
@given(conv_configs(), st.booleans())
def test_conv2d_matches_torch(cfg, with_bias):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: no comparison with it")
    F = torch.nn.functional
    rng, x, w, b = make_conv(cfg, bias=with_bias)
    out, cache = conv2d_forward(x, w, b, *conv_args(cfg))
    dy = rng.standard_normal(out.shape).astype(cfg["dtype"])
    dx, dw, db = conv2d_backward(dy, cache)

    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    yt = F.conv2d(xt, wt, bt, *conv_args(cfg))
    yt.backward(torch.tensor(dy))
    t = tol(cfg["dtype"])
    np.testing.assert_allclose(out, yt.detach().numpy(), **t)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **t)
    np.testing.assert_allclose(dw, wt.grad.numpy(), **t)
    if with_bias:
        np.testing.assert_allclose(db, bt.grad.numpy(), **t)


# ---------------------------------------------------------------- the fast backend's variants

# (x shape, weight shape, stride, padding, dilation, variant): one case per path of
# kernels/fast/conv.py's dispatch, named by what it reaches; the direct cases have C and
# O on both sides of its blocks of 4 output channels (and of 4 input channels, dx's O).
VARIANT_CASES = {
    "direct conv1-like, O=5": ((3, 1, 9, 7), (5, 1, 3, 3), (1, 1), (1, 1), (1, 1), "direct"),
    "direct C=4 O=5": ((3, 4, 6, 10), (5, 4, 3, 3), (1, 1), (1, 1), (1, 1), "direct"),
    "direct C=6 O=9, padding 0": ((2, 6, 7, 8), (9, 6, 3, 3), (1, 1), (0, 0), (1, 1),
                                  "direct"),
    "direct 5x3, padding (2, 2)": ((2, 3, 9, 6), (4, 3, 5, 3), (1, 1), (2, 2), (1, 1),
                                   "direct"),
    "direct 1x6, padding (0, 3)": ((2, 2, 4, 9), (3, 2, 1, 6), (1, 1), (0, 3), (1, 1),
                                   "direct"),
    "direct dilated": ((3, 2, 8, 16), (3, 2, 3, 3), (1, 1), (2, 2), (2, 2), "direct"),
    "blas wide rows, one run, 2x2": ((3, 2, 7, 10), (3, 2, 2, 2), (1, 1), (0, 0), (1, 1),
                                     "wide"),
    "blas wide rows, padding beyond the kernel": ((3, 2, 6, 10), (3, 2, 3, 3), (1, 1),
                                                  (3, 3), (1, 1), "wide"),
    "blas wide rows, a run per row": ((3, 3, 9, 12), (4, 3, 3, 3), (2, 1), (1, 1), (1, 1),
                                      "wide"),
    "blas K=13, 1x1, rows line up": ((3, 13, 5, 4), (3, 13, 1, 1), (1, 1), (0, 0), (1, 1),
                                     "exact"),
    "blas 2x2 strided": ((2, 2, 7, 9), (3, 2, 2, 2), (1, 2), (0, 1), (1, 1), "exact"),
    "blas reference rows, sw=2": ((3, 3, 9, 9), (4, 3, 3, 3), (1, 2), (1, 1), (1, 1), "exact"),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", VARIANT_CASES.values(), ids=VARIANT_CASES.keys())
def test_each_fast_variant_matches_the_reference(case, dtype, monkeypatch):
    xs, ws, stride, padding, dilation, variant = case
    args = stride, padding, dilation
    OH, OW, OWc = fast._sizes(xs, ws[2:], *args)
    assert fast._direct_serves(xs, ws[2:], *args) == (variant == "direct")
    assert variant == "direct" or (OWc > OW) == (variant == "wide")
    # Blocks of two images, so a batch of 3 ends with a short block.
    monkeypatch.setattr(fast, "_BLOCK_BYTES", 2 * ws[1] * ws[2] * ws[3] * OH * OWc * 8)
    rng = np.random.default_rng(sum(xs))
    x = random_array(rng, xs, dtype, contiguous=dtype == np.float64)
    w, b = random_array(rng, ws, dtype), random_array(rng, ws[:1], dtype)
    out, cache = conv2d_forward(x, w, b, *args)
    out_r, cache_r = reference.conv2d_forward(x, w, b, *args)
    np.testing.assert_allclose(out, out_r, **tol(dtype))
    assert out.dtype == dtype and out.flags.c_contiguous
    assert (cache[0].shape == xs) == (variant != "direct")    # xp or x

    dy = rng.standard_normal(out.shape).astype(dtype)
    want = reference.conv2d_backward(dy, cache_r)
    for need_dx in (True, False):
        got = conv2d_backward(dy, cache, need_dx=need_dx)
        assert (got[0] is None) == (not need_dx)
        for g, r in zip(got[not need_dx:], want[not need_dx:]):
            assert g.dtype == dtype
            np.testing.assert_allclose(g, r, **tol(dtype))
