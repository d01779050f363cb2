"""BatchNorm against torch.nn.BatchNorm1d/2d, for every flag combination.

PyTorch is only a test oracle: `.ci/run` installs it; without it these tests
skip with the reason printed by pytest -ra.
"""
import itertools

import numpy as np
import pytest

from minigrad import Tensor
from minigrad.nn.batchnorm import BatchNorm1d, BatchNorm2d

torch = pytest.importorskip("torch", reason="PyTorch is not installed: BN parity with PyTorch not checked")

CASES = [
    (BatchNorm1d, torch.nn.BatchNorm1d, (16, 5)),
    (BatchNorm1d, torch.nn.BatchNorm1d, (8, 4, 7)),
    (BatchNorm2d, torch.nn.BatchNorm2d, (6, 3, 5, 7)),
    (BatchNorm2d, torch.nn.BatchNorm2d, (1, 2, 3, 3)),
]
FLAGS = list(itertools.product([True, False], [True, False], [0.1, 0.5, None]))  # affine, track, momentum


def _pair(ours_cls, theirs_cls, channels, affine, track, momentum):
    ours = ours_cls(channels, affine=affine, track_running_stats=track, momentum=momentum).double()
    theirs = theirs_cls(channels, affine=affine, track_running_stats=track, momentum=momentum).double()
    if affine:
        rng = np.random.default_rng(channels)
        gamma, beta = rng.uniform(0.5, 1.5, channels), rng.standard_normal(channels)
        ours.weight.data[:] = gamma
        ours.bias.data[:] = beta
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(gamma))
            theirs.bias.copy_(torch.from_numpy(beta))
    return ours, theirs


@pytest.mark.parametrize("ours_cls, theirs_cls, shape", CASES)
@pytest.mark.parametrize("affine, track, momentum", FLAGS)
def test_forward_backward_running_stats_and_eval_equal_pytorch(ours_cls, theirs_cls, shape, affine, track, momentum):
    ours, theirs = _pair(ours_cls, theirs_cls, shape[1], affine, track, momentum)
    rng = np.random.default_rng(0)
    for step in range(3):
        x = rng.standard_normal(shape) * (step + 1) + step
        dy = rng.standard_normal(shape)
        x_ours = Tensor(x, requires_grad=True)
        x_theirs = torch.tensor(x, requires_grad=True)
        y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
        y_ours.backward(dy)
        y_theirs.backward(torch.from_numpy(dy))
        np.testing.assert_allclose(y_ours.data, y_theirs.detach().numpy(), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-7, atol=1e-9)
        if affine:
            np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-7, atol=1e-9)
            np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-7, atol=1e-9)
            ours.zero_grad()
            theirs.zero_grad()

    theirs_state = theirs.state_dict()
    ours_state = ours.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key in ours_state:
        np.testing.assert_allclose(ours_state[key], theirs_state[key].numpy(), rtol=1e-9, atol=1e-12)

    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-9, atol=1e-9)


def test_float32_module_equals_pytorch_float32():
    ours, theirs = BatchNorm2d(8), torch.nn.BatchNorm2d(8)
    x = np.random.default_rng(1).standard_normal((32, 8, 14, 14)).astype(np.float32) * 3 + 1
    y_ours = ours(Tensor(x, requires_grad=True))
    y_theirs = theirs(torch.from_numpy(x))
    np.testing.assert_allclose(y_ours.data, y_theirs.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), rtol=1e-5)


def test_state_dict_loads_into_pytorch_and_back():
    ours = BatchNorm2d(4)
    ours(Tensor(np.random.default_rng(2).standard_normal((5, 4, 3, 3)).astype(np.float32)))
    theirs = torch.nn.BatchNorm2d(4)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    back = BatchNorm2d(4)
    back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key], value)
