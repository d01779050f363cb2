"""A whole training step of the main example's CNN: dtypes, graph, and the
same trajectory as PyTorch."""
import numpy as np
import pytest

import minigrad
from minigrad import Tensor, optim
from minigrad.autograd import topological_order
from minigrad.models import mnist_cnn
from minigrad.nn import functional as F


def _batch(seed=0, n=16):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


@pytest.mark.usefixtures("backend")  # both kernel backends keep float32 (tests/conftest.py)
def test_a_float32_model_has_no_float64_anywhere_in_its_step():
    minigrad.manual_seed(0)
    model = mnist_cnn()
    images, labels = _batch()
    loss = F.cross_entropy(model(Tensor(images)), Tensor(labels))
    graph = topological_order(loss)
    assert len(graph) > 10
    dtypes = [(node.name, node.output_dtype) if isinstance(node, minigrad.autograd.Function)
              else ("leaf", node.dtype) for node in graph]
    wrong = [(name, dtype) for name, dtype in dtypes if dtype != np.float32]
    assert not wrong, f"tensors that are not float32: {wrong}"
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad.dtype == np.float32, name
    for name, b in model.named_buffers():
        assert b.dtype in (np.float32, np.int64), name


def test_evaluation_under_no_grad_records_no_graph():
    model = mnist_cnn().eval()
    with minigrad.no_grad():
        logits = model(Tensor(_batch()[0]))
    assert logits.grad_fn is None and not logits.requires_grad


def test_training_trajectory_equals_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: trajectory parity not checked")
    nn = torch.nn
    minigrad.manual_seed(1)
    ours = mnist_cnn()
    theirs = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 10)).double()
    ours.double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    opt_ours = optim.SGD(ours.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    for step in range(4):
        images, labels = _batch(step)
        images = images.astype(np.float64)
        loss_ours = F.cross_entropy(ours(Tensor(images)), Tensor(labels))
        loss_theirs = nn.functional.cross_entropy(theirs(torch.from_numpy(images)), torch.from_numpy(labels))
        opt_ours.zero_grad()
        loss_ours.backward()
        opt_ours.step()
        opt_theirs.zero_grad()
        loss_theirs.backward()
        opt_theirs.step()
        assert loss_ours.item() == pytest.approx(loss_theirs.item(), rel=1e-9)
    theirs_state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value, theirs_state[key].numpy(), rtol=1e-8, atol=1e-10, err_msg=key)
