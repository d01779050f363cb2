"""Same inputs through minigrad and PyTorch: layers forward and backward,
optimizer trajectories, lr schedules, and state_dicts exchanged both ways.

PyTorch is a test-only reference (CPU build 2.13.0 in the dev venv), never a
dependency of minigrad.
"""
import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch", reason="PyTorch is the reference for parity tests; not installed")

import minigrad  # noqa: E402
import minigrad.nn as nn  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from minigrad import Tensor  # noqa: E402
from minigrad.optim import SGD, Adam, AdamW  # noqa: E402
from minigrad.optim.lr_scheduler import CosineAnnealingLR, StepLR  # noqa: E402

# Every value checked on both kernel backends (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("backend")

TF = torch.nn.functional


@pytest.fixture(autouse=True)
def one_numba_thread():
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(previous)


def both(array):
    """The same values as a minigrad Tensor and a torch tensor, both requiring grad."""
    return Tensor(array.copy(), requires_grad=True), torch.tensor(array, requires_grad=True)


def rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def close(ours, theirs, rtol):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    ours = ours.data if isinstance(ours, Tensor) else ours
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol)


# ---------------------------------------------------------------- layers

@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 2e-5)])
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation", [
    ((2, 3, 9, 9), (4, 3, 3, 3), 1, 1, 1),
    ((1, 2, 11, 8), (3, 2, 5, 3), 2, (2, 1), 1),
    ((2, 3, 10, 10), (2, 3, 3, 3), (1, 2), 0, 2),
    ((3, 4, 5, 5), (6, 4, 1, 1), 1, 0, 1),
])
def test_conv2d(dtype, rtol, x_shape, w_shape, stride, padding, dilation):
    (x, tx), (w, tw), (b, tb) = both(rand(*x_shape, dtype=dtype)), both(rand(*w_shape, seed=1, dtype=dtype)), \
        both(rand(w_shape[0], seed=2, dtype=dtype))
    y = F.conv2d(x, w, b, stride, padding, dilation)
    ty = TF.conv2d(tx, tw, tb, stride, padding, dilation)
    close(y, ty, rtol)
    g = rand(*y.shape, seed=3, dtype=dtype)
    y.backward(g)
    ty.backward(torch.tensor(g))
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        close(ours.grad, theirs.grad, rtol * 10)


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), ((3, 2), (1, 2), (1, 0))])
def test_max_pool2d_including_ties(kernel, stride, padding):
    data = rand(2, 3, 8, 7, dtype=np.float32)
    data[0] = 0.0                                  # whole planes of ties, like MNIST's background
    data[1, 0, :4] = 1.0
    (x, tx) = both(data)
    y = F.max_pool2d(x, kernel, stride, padding)
    ty = TF.max_pool2d(tx, kernel, stride, padding)
    close(y, ty, 0)
    g = rand(*y.shape, seed=1, dtype=np.float32)
    y.backward(g)
    ty.backward(torch.tensor(g))
    close(x.grad, tx.grad, 1e-6)


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1)])
def test_avg_pool2d(kernel, stride, padding):
    (x, tx) = both(rand(2, 3, 8, 7, dtype=np.float32))
    y, ty = F.avg_pool2d(x, kernel, stride, padding), TF.avg_pool2d(tx, kernel, stride, padding)
    close(y, ty, 1e-6)
    y.sum().backward()
    ty.sum().backward()
    close(x.grad, tx.grad, 1e-6)


@pytest.mark.parametrize("x_shape", [(5, 7), (2, 3, 7)])
def test_linear(x_shape):
    (x, tx), (w, tw), (b, tb) = both(rand(*x_shape, dtype=np.float32)), both(rand(4, 7, seed=1, dtype=np.float32)), \
        both(rand(4, seed=2, dtype=np.float32))
    y, ty = F.linear(x, w, b), TF.linear(tx, tw, tb)
    close(y, ty, 1e-5)
    g = rand(*y.shape, seed=3, dtype=np.float32)
    y.backward(g)
    ty.backward(torch.tensor(g))
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        close(ours.grad, theirs.grad, 1e-5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("scale", [1.0, 3e4])
def test_cross_entropy(reduction, scale):
    logits = rand(6, 5, dtype=np.float32) * np.float32(scale)
    labels = np.array([0, 4, 2, 2, 1, 3])
    (z, tz) = both(logits)
    loss = F.cross_entropy(z, labels, reduction=reduction)
    tloss = TF.cross_entropy(tz, torch.tensor(labels), reduction=reduction)
    close(loss, tloss, 1e-5)
    g = rand(*loss.shape, seed=1, dtype=np.float32)
    loss.backward(g)
    tloss.backward(torch.tensor(g))
    close(z.grad, tz.grad, 1e-5)


def test_nll_and_mse_losses():
    (z, tz), labels = both(rand(4, 3, dtype=np.float32)), np.array([2, 0, 1, 1])
    close(F.nll_loss(z, labels), TF.nll_loss(tz, torch.tensor(labels)), 1e-6)
    (a, ta), (b, tb) = both(rand(3, 4, dtype=np.float32)), both(rand(3, 4, seed=1, dtype=np.float32))
    loss, tloss = F.mse_loss(a, b), TF.mse_loss(ta, tb)
    close(loss, tloss, 1e-6)
    loss.backward()
    tloss.backward()
    close(a.grad, ta.grad, 1e-6)
    close(b.grad, tb.grad, 1e-6)


# ---------------------------------------------------------------- optimizers

@pytest.mark.parametrize("ours_cls, theirs_cls, options", [
    (SGD, torch.optim.SGD, dict(lr=0.1)),
    (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05)),
    (Adam, torch.optim.Adam, dict()),
    (Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (AdamW, torch.optim.AdamW, dict(lr=0.01)),
    (AdamW, torch.optim.AdamW, dict(lr=0.02, weight_decay=0.3)),
])
def test_optimizer_trajectories(ours_cls, theirs_cls, options):
    shapes = [(4, 3), (3,), (2, 2, 3)]
    ours = [nn.Parameter(rand(*s, seed=i, dtype=np.float32)) for i, s in enumerate(shapes)]
    theirs = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours]
    opt, topt = ours_cls(ours, **options), theirs_cls(theirs, **options)
    for step in range(6):
        for i, (p, tp) in enumerate(zip(ours, theirs)):
            g = rand(*p.shape, seed=100 * step + i, dtype=np.float32)
            p.grad, tp.grad = g, torch.tensor(g)
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs):
        close(p, tp, 1e-6)


def test_parameter_groups_like_pytorch():
    a, b = rand(3, seed=1, dtype=np.float32), rand(2, seed=2, dtype=np.float32)
    pa, pb = nn.Parameter(a.copy()), nn.Parameter(b.copy())
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    opt = SGD([{"params": [pa]}, {"params": [pb], "lr": 0.5, "nesterov": True}], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.5, "nesterov": True}], lr=0.1, momentum=0.9)
    for step in range(3):
        pa.grad, pb.grad = a * (step + 1), b - step
        ta.grad, tb.grad = torch.tensor(pa.grad), torch.tensor(pb.grad)
        opt.step()
        topt.step()
    close(pa, ta, 1e-6)
    close(pb, tb, 1e-6)


def test_lr_schedules():
    def sequence(optimizer, scheduler, steps=12):
        lrs = []
        for _ in range(steps):
            optimizer.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr())
        return lrs

    t = torch.nn.Parameter(torch.zeros(1))
    for ours, theirs in [
        (lambda o: StepLR(o, step_size=3, gamma=0.3), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, gamma=0.3)),
        (lambda o: CosineAnnealingLR(o, T_max=5), lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 5)),
        (lambda o: CosineAnnealingLR(o, T_max=4, eta_min=0.01),
         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 4, eta_min=0.01)),
    ]:
        opt = SGD([nn.Parameter(np.zeros(1))], lr=0.2)
        topt = torch.optim.SGD([t], lr=0.2)
        np.testing.assert_allclose(sequence(opt, ours(opt)), sequence(topt, theirs(topt)), rtol=1e-10, atol=1e-15)


# ---------------------------------------------------------------- models and state_dicts

def models(seed=0):
    minigrad.manual_seed(seed)
    torch.manual_seed(seed)
    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, stride=2, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 3 * 3, 10))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Conv2d(4, 6, 3, stride=2, bias=False), torch.nn.ReLU(),
                                 torch.nn.Flatten(), torch.nn.Linear(6 * 3 * 3, 10))
    return ours, theirs


def outputs_and_grads(ours, theirs, x, labels):
    loss = F.cross_entropy(ours(Tensor(x)), labels)
    loss.backward()
    tloss = TF.cross_entropy(theirs(torch.tensor(x)), torch.tensor(labels))
    tloss.backward()
    close(loss, tloss, 1e-5)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        close(p.grad, tp.grad, 2e-4)


def test_state_dict_keys_and_shapes_match_pytorch():
    ours, theirs = models()
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    assert [v.shape for v in ours_sd.values()] == [tuple(v.shape) for v in theirs_sd.values()]
    assert [v.dtype for v in ours_sd.values()] == [np.float32] * len(ours_sd)


@pytest.mark.parametrize("make", [lambda m: m.Linear(300, 400), lambda m: m.Conv2d(20, 300, 3)])
def test_default_init_has_pytorch_ranges(make):
    # large layers, so that each sample's extremes are within 2 % of the true bound
    ours, theirs = make(nn), make(torch.nn)
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        ours_max, theirs_max = np.abs(p.data).max(), float(tp.detach().abs().max())
        assert abs(ours_max - theirs_max) <= 0.02 * theirs_max, name
        assert abs(p.data.mean()) < 0.1 * theirs_max
        assert abs(p.data.std() - float(tp.detach().std())) < 0.05 * theirs_max


def test_weights_from_pytorch_give_the_same_outputs():
    ours, theirs = models(seed=1)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rand(5, 1, 14, 14, seed=3, dtype=np.float32)
    close(ours(Tensor(x)), theirs(torch.tensor(x)), 1e-5)
    outputs_and_grads(ours, theirs, x, np.array([1, 2, 3, 4, 9]))


def test_weights_from_minigrad_give_the_same_outputs(tmp_path):
    ours, theirs = models(seed=2)
    minigrad.save(ours.state_dict(), tmp_path / "cnn.npz")             # through a checkpoint file
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in minigrad.load(tmp_path / "cnn.npz").items()})
    x = rand(4, 1, 14, 14, seed=4, dtype=np.float32)
    close(ours(Tensor(x)), theirs(torch.tensor(x)), 1e-5)
    outputs_and_grads(ours, theirs, x, np.array([0, 5, 5, 7]))


def test_a_few_training_steps_match():
    ours, theirs = models(seed=3)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    opt = SGD(ours.parameters(), lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9)
    for step in range(3):
        x = rand(8, 1, 14, 14, seed=10 + step, dtype=np.float32)
        labels = np.random.default_rng(step).integers(0, 10, size=8)
        opt.zero_grad()
        topt.zero_grad()
        F.cross_entropy(ours(Tensor(x)), labels).backward()
        TF.cross_entropy(theirs(torch.tensor(x)), torch.tensor(labels)).backward()
        opt.step()
        topt.step()
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


# ---------------------------------------------------------------- property-based: random geometries


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       ph=st.integers(0, 2), pw=st.integers(0, 2), dh=st.integers(1, 2), dw=st.integers(1, 2),
       permuted=st.booleans())
def test_conv2d_random_geometry(n, c, o, h, w, kh, kw, sh, sw, ph, pw, dh, dw, permuted):
    if permuted:                                        # a non-contiguous (N, C, H, W) view of (N, H, W, C)
        leaf = Tensor(rand(n, h, w, c, seed=h * w), requires_grad=True)
        x = leaf.permute(0, 3, 1, 2)
    else:
        leaf = x = Tensor(rand(n, c, h, w, seed=h * w), requires_grad=True)
    tx = torch.tensor(np.ascontiguousarray(x.data), requires_grad=True)
    weight = rand(o, c, kh, kw, seed=7)
    args = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw))
    if dh * (kh - 1) + 1 > h + 2 * ph or dw * (kw - 1) + 1 > w + 2 * pw:
        with pytest.raises(ValueError, match="larger than the padded input"):
            F.conv2d(x, Tensor(weight), **args)
        return
    y = F.conv2d(x, Tensor(weight), **args)
    ty = TF.conv2d(tx, torch.tensor(weight), **args)
    close(y, ty, 1e-10)
    y.sum().backward()
    ty.sum().backward()
    grad = leaf.grad.transpose(0, 3, 1, 2) if permuted else leaf.grad
    close(grad, tx.grad, 1e-10)
