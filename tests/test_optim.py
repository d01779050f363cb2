"""Optimizers and schedulers: update rules against hand-written references,
in-place float32 updates, parameter groups, state_dict, validation."""
import math

import numpy as np
import pytest

import minigrad.nn as nn
from minigrad.optim import SGD, Adam, AdamW
from minigrad.optim.lr_scheduler import CosineAnnealingLR, StepLR

GRADS = [np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.3, -0.7]), np.array([-1.5, 0.2, 0.4])]
START = np.array([1.0, -2.0, 0.5])


def param(dtype=np.float64):
    return nn.Parameter(START.astype(dtype))


def run(optimizer_cls, steps=3, dtype=np.float64, **options):
    p = param(dtype)
    opt = optimizer_cls([p], **options)
    for g in GRADS[:steps]:
        p.grad = g.astype(dtype)
        opt.step()
    return p, opt


def sgd_reference(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, buf = START.copy(), None
    for g in GRADS:
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


@pytest.mark.parametrize("options", [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, dampening=0.5),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.8, weight_decay=0.01, nesterov=True),
    dict(lr=0.05, weight_decay=0.1),
])
def test_sgd_matches_the_reference_rule(options):
    p, _ = run(SGD, **options)
    np.testing.assert_allclose(p.data, sgd_reference(**options), rtol=1e-12)


def test_sgd_first_step_momentum_buffer_is_the_gradient():
    p, opt = run(SGD, steps=1, lr=0.1, momentum=0.9)
    np.testing.assert_array_equal(opt.state[p]["momentum_buffer"], GRADS[0])
    np.testing.assert_allclose(p.data, START - 0.1 * GRADS[0])


def adam_reference(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    p, m, v = START.copy(), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


@pytest.mark.parametrize("options", [
    dict(lr=0.01),
    dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
])
def test_adam_matches_the_reference_rule(options):
    p, opt = run(Adam, **options)
    np.testing.assert_allclose(p.data, adam_reference(**options), rtol=1e-12)
    assert opt.state[p]["step"] == 3


def test_adamw_decays_weights_directly():
    p, _ = run(AdamW, lr=0.01)                              # default weight_decay=1e-2
    np.testing.assert_allclose(p.data, adam_reference(0.01, weight_decay=1e-2, decoupled=True), rtol=1e-12)
    assert AdamW([param()]).defaults["weight_decay"] == 1e-2
    assert Adam([param()]).defaults["weight_decay"] == 0


@pytest.mark.parametrize("cls, options", [
    (SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)),
    (Adam, dict(lr=0.1, weight_decay=0.1)),
    (AdamW, dict(lr=0.1)),
])
def test_updates_are_in_place_and_keep_float32(cls, options):
    p = param(np.float32)
    array = p.data
    opt = cls([p], **options)
    for g in GRADS:
        p.grad = g.astype(np.float32)
        opt.step()
    assert p.data is array and p.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))


def test_parameters_without_grad_are_skipped_and_zero_grad():
    a, b = param(), param()
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad = GRADS[0].copy()
    opt.step()
    np.testing.assert_array_equal(b.data, START)
    assert b not in opt.state
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad, np.zeros(3))
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_parameter_groups_have_their_own_options():
    a, b = param(), param()
    opt = SGD([{"params": [a]}, {"params": b, "lr": 1.0, "momentum": 0.5}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["lr"] == 1.0 and opt.param_groups[1]["momentum"] == 0.5
    a.grad, b.grad = GRADS[0].copy(), GRADS[0].copy()
    opt.step()
    np.testing.assert_allclose(a.data, START - 0.1 * GRADS[0])
    np.testing.assert_allclose(b.data, START - 1.0 * GRADS[0])


def test_optimizer_argument_errors():
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        SGD([param()], lr=-0.1)
    with pytest.raises(ValueError, match="Invalid momentum value: -1"):
        SGD([param()], lr=0.1, momentum=-1)
    with pytest.raises(ValueError, match="Invalid weight_decay value"):
        SGD([param()], lr=0.1, weight_decay=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        SGD([param()], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        Adam([param()], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        Adam([param()], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid epsilon value"):
        AdamW([param()], eps=-1)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        SGD(param(), lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        SGD([np.zeros(3)], lr=0.1)
    p = param()
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


@pytest.mark.parametrize("cls, options", [(SGD, dict(lr=0.1, momentum=0.9)), (Adam, dict(lr=0.1))])
def test_state_dict_round_trip_resumes_identically(cls, options):
    p, opt = run(cls, steps=2, **options)
    state = opt.state_dict()
    assert state["param_groups"][0]["params"] == [0]
    q = nn.Parameter(p.data.copy())
    resumed = cls([q], lr=123.0)
    resumed.load_state_dict(state)
    assert resumed.param_groups[0]["lr"] == options["lr"]
    for opt_, x in ((opt, p), (resumed, q)):
        x.grad = GRADS[2].copy()
        opt_.step()
    np.testing.assert_array_equal(p.data, q.data)
    for name, saved in state["state"][0].items():     # state_dict holds copies: stepping left them alone
        if isinstance(saved, np.ndarray):
            assert not np.shares_memory(saved, opt.state[p][name])


def test_load_state_dict_rejects_mismatched_groups():
    _, opt = run(SGD, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        SGD([{"params": [param()]}, {"params": [param()]}], lr=0.1).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="doesn't match the size"):
        SGD([param(), param()], lr=0.1).load_state_dict(opt.state_dict())


# ---------------------------------------------------------------- schedulers

def test_step_lr():
    opt = SGD([param()], lr=1.0)
    scheduler = StepLR(opt, step_size=3, gamma=0.5)
    lrs = []
    for _ in range(8):
        lrs.append(scheduler.get_last_lr()[0])
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(lrs, [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])
    assert opt.param_groups[0]["lr"] == 0.25 and opt.param_groups[0]["initial_lr"] == 1.0


def test_cosine_annealing_lr():
    opt = SGD([{"params": [param()]}, {"params": [param()], "lr": 0.5}], lr=1.0)
    scheduler = CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    lrs = []
    for _ in range(6):
        lrs.append(scheduler.get_last_lr())
        scheduler.step()
    expected = [[0.1 + (base - 0.1) * (1 + math.cos(math.pi * t / 4)) / 2 for base in (1.0, 0.5)] for t in range(6)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert lrs[4] == pytest.approx([0.1, 0.1])
