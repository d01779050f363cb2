"""The numba BatchNorm kernels (minigrad/kernels/fast/batchnorm.py) against the
reference ones (minigrad/kernels/reference/batchnorm.py), and both against values
known by hand or by calculus."""
import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minigrad.kernels.fast import batchnorm as bn
from minigrad.kernels.reference import batchnorm as ref

EPS = 1e-5


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def make_input(rng, shape, dtype, layout, loc=0.0, scale=1.0):
    """An (N, C, S) array of the given memory layout, not yet passed through as_ncs."""
    n, c, s = shape
    if layout == "contiguous":
        return rng.normal(loc, scale, size=shape).astype(dtype)
    if layout == "transposed":  # memory order (N, S, C): channels last
        return rng.normal(loc, scale, size=(n, s, c)).astype(dtype).transpose(0, 2, 1)
    if layout == "sliced":  # every other sample and position
        big = rng.normal(loc, scale, size=(2 * n, c, 2 * s)).astype(dtype)
        return big[::2, :, ::2]
    raise ValueError(layout)


@pytest.fixture(params=["one task", "fused tasks", "split kernels"])
def split(request, monkeypatch):
    """Run a test with small inputs as one task (the default below SERIAL_BELOW
    elements), split into tasks of whole channels by the fused kernels (up to
    FUSED_BELOW bytes), and split into tasks over samples and positions by the two
    split kernels, like large inputs."""
    if request.param != "one task":
        monkeypatch.setattr(bn, "SERIAL_BELOW", 0)
    if request.param == "split kernels":
        monkeypatch.setattr(bn, "FUSED_BELOW", -1)
        monkeypatch.setattr(bn, "RELU_FUSED_FROM", np.inf)
    return request.param


def tol(dtype):
    """Tolerances for two float64 computations stored as `dtype`."""
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------
# as_ncs and argument checks
# --------------------------------------------------------------------------

def test_as_ncs_shapes_and_copies():
    x2 = np.arange(12.0).reshape(4, 3)
    assert bn.as_ncs(x2).shape == (4, 3, 1)
    x4 = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    v = bn.as_ncs(x4)
    assert v.shape == (2, 3, 20)
    assert np.shares_memory(v, x4)  # contiguous input: a view, no copy
    t = x4.transpose(0, 1, 3, 2)  # non-contiguous
    c = bn.as_ncs(t)
    assert c.flags.c_contiguous and not np.shares_memory(c, x4)
    np.testing.assert_array_equal(c, t.reshape(2, 3, 20))
    with pytest.raises(ValueError):
        bn.as_ncs(np.zeros(5))


def test_reference_rejects_non_3d():
    """The reference checks its arguments; the fast kernels state their preconditions
    and leave the checks to the op (minigrad/ops/batchnorm.py), which runs once."""
    with pytest.raises(ValueError, match="3-D"):
        ref.batch_stats(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="3-D"):
        ref.normalize_train(np.zeros((2, 3, 4, 5)), None, None, EPS)


# --------------------------------------------------------------------------
# Kernels equal their references
# --------------------------------------------------------------------------

shapes = st.tuples(
    st.integers(1, 6),                                   # N
    st.integers(1, 5),                                   # C
    st.one_of(st.integers(1, 20), st.sampled_from([49, 255, 257, 300])),  # S: both layouts
)


@settings(deadline=None, max_examples=40)
@given(shape=shapes,
       dtype=st.sampled_from([np.float32, np.float64]),
       layout=st.sampled_from(["contiguous", "transposed", "sliced"]),
       affine=st.booleans(),
       tasks=st.sampled_from(["one task", "fused tasks", "split kernels"]),
       seed=st.integers(0, 2**16))
def test_kernels_match_references(shape, dtype, layout, affine, tasks, seed):
    limits = bn.SERIAL_BELOW, bn.FUSED_BELOW, bn.RELU_FUSED_FROM
    if tasks != "one task":
        bn.SERIAL_BELOW = 0                                # tasks of channels, or of samples
    if tasks == "split kernels":
        bn.FUSED_BELOW, bn.RELU_FUSED_FROM = -1, np.inf
    try:
        check_kernels_match_references(shape, dtype, layout, affine, seed)
    finally:
        bn.SERIAL_BELOW, bn.FUSED_BELOW, bn.RELU_FUSED_FROM = limits


def check_kernels_match_references(shape, dtype, layout, affine, seed):
    rng = np.random.default_rng(seed)
    x3 = bn.as_ncs(make_input(rng, shape, dtype, layout, loc=rng.normal(0, 3)))
    dy3 = bn.as_ncs(make_input(rng, shape, dtype, layout))
    c = shape[1]
    weight = rng.normal(1, 0.5, c) if affine else None
    bias = rng.normal(0, 0.5, c) if affine else None

    mean, var = bn.batch_stats(x3)
    mean_r, var_r = ref.batch_stats(x3)
    assert mean.dtype == var.dtype == np.float64 and mean.shape == (c,)
    np.testing.assert_allclose(mean, mean_r, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(var, var_r, rtol=1e-9, atol=1e-12)

    y, mean, invstd, var = bn.normalize_train(x3, weight, bias, EPS)
    y_r, mean_r, invstd_r, var_r = ref.normalize_train(x3, weight, bias, EPS)
    assert y.dtype == x3.dtype and y.shape == x3.shape
    np.testing.assert_allclose(y, y_r, **tol(dtype))
    np.testing.assert_allclose(invstd, invstd_r, rtol=1e-9)

    scale, shift = rng.normal(size=c), rng.normal(size=c)
    out = bn.scale_shift(x3, scale, shift)
    assert out.dtype == x3.dtype
    np.testing.assert_allclose(out, ref.scale_shift(x3, scale, shift), **tol(dtype))

    sums = bn.backward_reduce(dy3, x3, mean, invstd)
    sums_r = ref.backward_reduce(dy3, x3, mean_r, invstd_r)
    m = shape[0] * shape[2]
    for got, want in zip(sums, sums_r):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * m)

    dx = bn.backward_dx(dy3, x3, mean, invstd, weight, *sums)
    dx_r = ref.backward_dx(dy3, x3, mean_r, invstd_r, weight, *sums_r)
    assert dx.dtype == x3.dtype and dx.shape == x3.shape
    # dx is a difference of terms of size ~|dy|*gamma*invstd: compare at that scale
    size = np.abs(dy3).max() * (1 if weight is None else np.abs(weight).max()) * invstd.max()
    dx_tol = dict(rtol=1e-4 if dtype == np.float32 else 1e-9,
                  atol=(1e-5 if dtype == np.float32 else 1e-10) * size)
    np.testing.assert_allclose(dx, dx_r, **dx_tol)

    for relu in (False, True):          # the whole backward, and with a ReLU fused
        y, mean, invstd, _ = bn.normalize_train(x3, weight, bias, EPS, relu=relu)
        y_r = ref.normalize_train(x3, weight, bias, EPS, relu=relu)[0]
        np.testing.assert_allclose(y, y_r, **tol(dtype))
        got = bn.backward_train(dy3, x3, mean, invstd, weight, bias, relu)
        want = ref.backward_train(dy3, x3, mean_r, invstd_r, weight, bias, relu)
        # (ReLU's mask is recomputed from x in float64 on both sides: it could differ only
        # for a y within ~1e-15 of 0)
        np.testing.assert_allclose(got[0], want[0], **dx_tol)
        for g, w in zip(got[1:], want[1:]):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9 * m)


FORMS = {"planes": (bn._sums_planes, bn._map_planes), "rows": (bn._sums_rows, bn._map_rows)}


def run_form(form, x3, dy3, k, coef, tasks):
    """Both kernels of one form on (N, C, S) arrays -> (stats sums, backward sums,
    normalize-like map, dx-like map), with per-channel k and coefficients."""
    n, c, s = x3.shape
    sums, mapped = FORMS[form]
    x2, dy2 = x3.reshape(n, c * s), dy3.reshape(n, c * s)
    per = (lambda v: np.repeat(v, s)) if form == "rows" else (lambda v: v)
    out = []
    for u2, w in ((x2, 1.0), (dy2, 0.0)):
        parts = np.empty((tasks[0] * tasks[1], 2, c))
        sums(u2, x2, per(k), w, s, *tasks, parts)
        out.append(parts.sum(axis=0))
    a, b, e = (per(v) for v in coef)
    extra = () if form == "rows" else (s,)
    for u2, pair in ((x2, False), (dy2, True)):
        o2 = np.empty_like(x2)
        mapped(u2, x2, a, b, e, *extra, pair, o2, *tasks)
        out.append(o2.reshape(x3.shape))
    return out


@pytest.mark.parametrize("shape", [(3, 4, 1000), (1, 1, 5000), (2, 3, 17), (5, 2, 1), (1, 3, 130)])
@pytest.mark.parametrize("tasks", [(2, 1), (1, 3), (3, 2), (7, 1), (1, 7)])
@pytest.mark.parametrize("form", ["planes", "rows"])
def test_tasks_that_cut_anywhere_give_the_one_task_results(shape, tasks, form):
    """Blocks of samples and of positions that split a plane or a chunk anywhere, or
    hold nothing (more tasks than samples or positions), add up to one task's sums
    and write the same elements."""
    rng = np.random.default_rng(0)
    x3 = rng.normal(2, 1, size=shape)
    dy3 = rng.normal(size=shape)
    k = x3[0, :, 0].copy()
    coef = [rng.normal(size=shape[1]) for _ in range(3)]
    one = run_form(form, x3, dy3, k, coef, (1, 1))
    many = run_form(form, x3, dy3, k, coef, tasks)
    for got, want in zip(many[:2], one[:2]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for got, want in zip(many[2:], one[2:]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", [(9, 3, 49), (17, 2, 20), (40, 5, 127), (12, 1, 300), (3, 4, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_both_forms_agree_on_any_plane_size(shape, dtype):
    """The planes and rows forms compute the same sums and elements for every S
    (the dispatch uses each for some S), far from zero too."""
    rng = np.random.default_rng(4)
    x3 = rng.normal(1e4, 0.1, size=shape).astype(dtype)
    dy3 = rng.normal(size=shape).astype(dtype)
    k = x3[0, :, 0].astype(np.float64)
    coef = [rng.normal(size=shape[1]) for _ in range(3)]
    planes = run_form("planes", x3, dy3, k, coef, (2, 1))
    rows = run_form("rows", x3, dy3, k, coef, (2, 1))
    for got, want in zip(rows[:2], planes[:2]):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-9)
    for got, want in zip(rows[2:], planes[2:]):
        np.testing.assert_array_equal(got, want)


def run_fused(kernels, x3, dy3, tasks, relu, weight, bias):
    """The fused forward and backward kernels of one form -> (y, stats, dx, sums)."""
    forward, backward = kernels
    n, c, s = x3.shape
    lo = 0.0 if relu else -np.inf
    y, stats = np.empty_like(x3), np.empty((3, c))
    forward(x3.reshape(n, -1), s, weight, bias, EPS, lo, tasks, y.reshape(n, -1), stats)
    fwd = np.array(bn._forward_coefficients(stats[0], stats[2], weight, bias))
    dx, sums = np.empty_like(x3), np.empty((2, c))
    backward(dy3.reshape(n, -1), x3.reshape(n, -1), s, stats[0], stats[2], weight,
             fwd if relu else np.zeros_like(fwd), lo, tasks, dx.reshape(n, -1), sums)
    return y, stats, dx, sums


@pytest.mark.parametrize("shape", [(9, 3, 49), (4, 5, 130), (7, 2, 1), (1, 4, 300), (3, 1, 7)])
@pytest.mark.parametrize("form", ["planes", "rows"])
@pytest.mark.parametrize("relu", [False, True])
def test_fused_kernels_any_task_count_and_plane_size(shape, form, relu):
    """Both fused forms (each is used for some S, but both must hold for any), with one
    task, a task per channel and tasks holding no channel, give the reference's values,
    far from zero too (the statistics shift by a value of the channel)."""
    rng = np.random.default_rng(6)
    x3 = rng.normal(1e3, 2.0, size=shape)
    dy3 = rng.normal(size=shape)
    weight, bias = rng.normal(1, 0.5, shape[1]), rng.normal(0, 1.0, shape[1])
    y_r, mean, invstd, var = ref.normalize_train(x3, weight, bias, EPS, relu=relu)
    dx_r, *sums_r = ref.backward_train(dy3, x3, mean, invstd, weight, bias, relu)
    kernels = {"planes": (bn._train_planes, bn._train_back_planes),
               "rows": (bn._train_rows, bn._train_back_rows)}[form]
    for tasks in (1, 2, shape[1], 7):
        y, stats, dx, sums = run_fused(kernels, x3, dy3, tasks, relu, weight, bias)
        np.testing.assert_allclose(y, y_r, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(stats, [mean, var, invstd], rtol=1e-9)
        np.testing.assert_allclose(dx, dx_r, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(sums, sums_r, rtol=1e-9, atol=1e-9)


def test_fused_relu_keeps_nan_and_masks_the_gradient_where_bn_is_not_positive():
    """relu=True: max(y, 0) with NaN kept (as np.maximum and torch.relu), and dx equal to
    the unfused backward of dy * (y > 0)."""
    x3 = np.array([[[1.0, -1.0, 2.0]], [[np.nan, 0.5, -3.0]]])
    y = bn.normalize_train(x3, None, None, EPS, relu=True)[0]
    assert np.isnan(y).all()                      # the channel's statistics are NaN
    rng = np.random.default_rng(7)
    x3, dy3 = rng.normal(size=(6, 2, 150)), rng.normal(size=(6, 2, 150))
    y, mean, invstd, _ = bn.normalize_train(x3, None, None, EPS, relu=True)
    assert (y >= 0).all() and (y == 0).mean() > 0.3
    dx, sum_dy, _ = bn.backward_train(dy3, x3, mean, invstd, None, None, True)
    masked = np.where(y > 0, dy3, 0.0)
    np.testing.assert_allclose(sum_dy, masked.sum(axis=(0, 2)), rtol=1e-12)
    sums = ref.backward_reduce(masked, x3, mean, invstd)
    np.testing.assert_allclose(dx, ref.backward_dx(masked, x3, mean, invstd, None, *sums),
                               rtol=1e-9, atol=1e-12)


def test_a_fused_relu_keeps_long_planes_in_the_fused_kernels_above_the_size_limit(monkeypatch):
    """Above FUSED_BELOW, planes of RELU_FUSED_FROM values or more with a fused ReLU take the
    fused kernels (the split path would add two passes), still with the reference's results."""
    monkeypatch.setattr(bn, "SERIAL_BELOW", 0)
    monkeypatch.setattr(bn, "FUSED_BELOW", -1)
    threads = numba.get_num_threads()
    long_planes = np.zeros((3, threads, bn.RELU_FUSED_FROM))
    short_planes = np.zeros((3, threads, bn.RELU_FUSED_FROM - 1))
    assert bn._fused_tasks(long_planes, relu=True) == threads
    assert bn._fused_tasks(long_planes) == 0 == bn._fused_tasks(short_planes, relu=True)
    rng = np.random.default_rng(3)
    x3, dy3 = rng.normal(size=(3, 2, 600)), rng.normal(size=(3, 2, 600))
    weight, bias = rng.normal(size=2), rng.normal(size=2)
    y, mean, invstd, _ = bn.normalize_train(x3, weight, bias, EPS, relu=True)
    np.testing.assert_allclose(y, ref.normalize_train(x3, weight, bias, EPS, relu=True)[0],
                               rtol=1e-10, atol=1e-10)
    got = bn.backward_train(dy3, x3, mean, invstd, weight, bias, True)
    want = ref.backward_train(dy3, x3, mean, invstd, weight, bias, True)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("threads", [1, 2])
def test_thread_count_does_not_change_results(threads, monkeypatch):
    monkeypatch.setattr(bn, "SERIAL_BELOW", 0)
    rng = np.random.default_rng(1)
    x3 = rng.normal(size=(5, 3, 40)).astype(np.float32)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        y, mean, invstd, var = bn.normalize_train(x3, None, None, EPS)
    finally:
        numba.set_num_threads(before)
    want = ref.normalize_train(x3, None, None, EPS)[0]
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("module", [bn, ref], ids=["numba", "numpy"])
def test_out_argument_is_filled_and_returned(module):
    rng = np.random.default_rng(2)
    x3 = rng.normal(size=(4, 3, 20))
    out = np.empty_like(x3)
    y = module.normalize_train(x3, None, None, EPS, out=out)[0]
    assert y is out
    np.testing.assert_allclose(out, ref.normalize_train(x3, None, None, EPS)[0])
    dy3 = rng.normal(size=x3.shape)
    _, mean, invstd, _ = ref.normalize_train(x3, None, None, EPS)
    sums = ref.backward_reduce(dy3, x3, mean, invstd)
    dx = module.backward_dx(dy3, x3, mean, invstd, None, *sums, out=out)
    assert dx is out
    np.testing.assert_allclose(out, ref.backward_dx(dy3, x3, mean, invstd, None, *sums))
    if module is ref:  # the fast kernels leave the checks to the op
        with pytest.raises(ValueError, match="C-contiguous"):
            module.scale_shift(x3, np.ones(3), np.zeros(3), out=np.empty((4, 3, 21)))


# --------------------------------------------------------------------------
# Values checked by hand or by calculus, not by another implementation
# --------------------------------------------------------------------------

def test_lecture_worked_example():
    """3, 5, 8, 9, 11, 24: mean 10, variance 46, normalized -1.03 -0.74 -0.29 -0.15 0.15 2.06."""
    x = np.array([3, 5, 8, 9, 11, 24], dtype=np.float64).reshape(6, 1, 1)
    y, mean, invstd, var = bn.normalize_train(x, None, None, 0.0)
    assert mean[0] == pytest.approx(10.0)
    assert var[0] == pytest.approx(46.0)
    np.testing.assert_allclose(y.ravel(), [-1.03, -0.74, -0.29, -0.15, 0.15, 2.06], atol=0.005)


@pytest.mark.parametrize("shape", [(64, 2, 300), (4096, 2, 1), (64, 3, 49)])  # planes, rows, rows
def test_float32_far_from_zero_normalizes_to_unit_variance(shape, split):
    """Mean 1e4, std 0.1 in float32: naive float32 E[x^2] - E[x]^2 gets the variance wrong."""
    rng = np.random.default_rng(3)
    x3 = rng.normal(1e4, 0.1, size=shape).astype(np.float32)
    y, mean, invstd, var = bn.normalize_train(x3, None, None, EPS)
    y64 = y.astype(np.float64)
    out_var = y64.var(axis=(0, 2))
    out_mean = y64.mean(axis=(0, 2))
    np.testing.assert_allclose(out_var, 1.0, atol=2e-3)
    np.testing.assert_allclose(out_mean, 0.0, atol=2e-3)
    # The tolerance above is meaningful: the naive float32 formula misses it by far.
    ex = x3.mean(axis=(0, 2), dtype=np.float32)
    ex2 = (x3 * x3).mean(axis=(0, 2), dtype=np.float32)
    naive_var = (ex2 - ex * ex).astype(np.float64)
    naive_out_var = out_var * (var + EPS) / (np.maximum(naive_var, 0) + EPS)
    assert np.all(np.abs(naive_out_var - 1.0) > 2e-3)
    # The backward keeps its accuracy there too.
    dy3 = rng.normal(size=shape).astype(np.float32)
    sums = bn.backward_reduce(dy3, x3, mean, invstd)
    sums_r = ref.backward_reduce(dy3, x3, mean, invstd)
    np.testing.assert_allclose(sums, sums_r, rtol=1e-7)
    dx = bn.backward_dx(dy3, x3, mean, invstd, None, *sums)
    dx_r = ref.backward_dx(dy3, x3, mean, invstd, None, *sums_r)
    np.testing.assert_allclose(dx, dx_r, rtol=1e-4, atol=1e-4 * np.abs(dx_r).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(8, 3, 1), (8, 3, 30), (8, 3, 200)])
def test_constant_channel_is_finite(dtype, shape, split):
    rng = np.random.default_rng(4)
    x3 = rng.normal(size=shape).astype(dtype)
    x3[:, 1, :] = 7.25
    dy3 = rng.normal(size=shape).astype(dtype)
    weight, bias = np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.5, 0.0])
    y, mean, invstd, var = bn.normalize_train(x3, weight, bias, EPS)
    assert var[1] == 0.0 and mean[1] == 7.25
    np.testing.assert_allclose(y[:, 1, :], 0.5)  # xhat = 0, so y = beta
    sums = bn.backward_reduce(dy3, x3, mean, invstd)
    dx = bn.backward_dx(dy3, x3, mean, invstd, weight, *sums)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    assert all(np.all(np.isfinite(s)) for s in sums)


def test_backward_matches_finite_differences():
    """dx, dgamma = sum_dy_xhat and dbeta = sum_dy are the derivatives of sum(y * dy)."""
    rng = np.random.default_rng(5)
    shape = (3, 2, 4)
    x3 = rng.normal(size=shape)
    dy3 = rng.normal(size=shape)
    weight, bias = rng.normal(1, 0.3, 2), rng.normal(0, 0.3, 2)

    def loss(x, w, b):
        return np.sum(ref.normalize_train(x, w, b, EPS)[0] * dy3)

    _, mean, invstd, _ = bn.normalize_train(x3, weight, bias, EPS)
    sum_dy, sum_dy_xhat = bn.backward_reduce(dy3, x3, mean, invstd)
    dx = bn.backward_dx(dy3, x3, mean, invstd, weight, sum_dy, sum_dy_xhat)

    h = 1e-6
    num_dx = np.zeros_like(x3)
    for i in np.ndindex(shape):
        xp, xm = x3.copy(), x3.copy()
        xp[i] += h
        xm[i] -= h
        num_dx[i] = (loss(xp, weight, bias) - loss(xm, weight, bias)) / (2 * h)
    np.testing.assert_allclose(dx, num_dx, rtol=1e-5, atol=1e-7)
    for c in range(2):
        e = np.eye(2)[c] * h
        num_dw = (loss(x3, weight + e, bias) - loss(x3, weight - e, bias)) / (2 * h)
        num_db = (loss(x3, weight, bias + e) - loss(x3, weight, bias - e)) / (2 * h)
        assert sum_dy_xhat[c] == pytest.approx(num_dw, rel=1e-6, abs=1e-8)
        assert sum_dy[c] == pytest.approx(num_db, rel=1e-6, abs=1e-8)
