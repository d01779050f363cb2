"""PyTorch's autograd safety rules: version counters catch in-place changes to
saved arrays, backward frees what the ops saved (retain_graph keeps it), and
the graph holds no intermediate Tensor, so kept losses do not keep activations."""
import gc
import weakref

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import Tensor, autograd, optim
from minigrad.models import mnist_cnn
from minigrad.viz import draw_graph


def _batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return Tensor(rng.random((n, 1, 28, 28), dtype=np.float32)), Tensor(rng.integers(0, 10, n))


# ---- version counter -------------------------------------------------------------------

def test_optimizer_step_between_forward_and_backward_raises_naming_the_op():
    minigrad.manual_seed(0)
    layer = nn.Linear(3, 2)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    loss = layer(Tensor(np.ones((4, 3), dtype=np.float32))).sum()
    layer.weight.grad = np.ones((2, 3), dtype=np.float32)
    opt.step()
    with pytest.raises(RuntimeError, match=r"Linear.*shape \(2, 3\).*version 1.*version 0.*optimizer\.step"):
        loss.backward()


@pytest.mark.parametrize("make", [
    lambda: optim.SGD, lambda: optim.Adam, lambda: optim.AdamW])
def test_every_optimizer_updates_through_the_in_place_path(make):
    p = minigrad.nn.Parameter(np.ones(3, dtype=np.float32))
    p.grad = np.ones(3, dtype=np.float32)
    make()([p], lr=0.1).step()
    assert p._version >= 1 and not np.allclose(p.data, 1.0)


def test_in_place_methods_bump_and_views_share_the_counter():
    x = Tensor(np.zeros((2, 3)))
    v = x.reshape(3, 2)
    t = x.T
    assert x._version == v._version == 0
    v.add_(1.0)
    assert x._version == v._version == t._version == 1
    np.testing.assert_array_equal(x.data, np.ones((2, 3)))
    x.mul_(2).sub_(1, alpha=0.5).zero_()
    assert x._version == 4 and t._version == 4
    assert x[0]._version == 4                    # a basic index is a view
    assert x[np.array([0, 1])]._version == 0     # an advanced index copies
    assert x.detach()._version == 4


def test_a_view_modified_in_place_breaks_the_backward_of_its_base():
    w = Tensor(np.ones(3), requires_grad=True)
    x = Tensor(np.arange(3.0))
    y = (w * x).sum()
    x.reshape(3, 1).add_(1.0)
    with pytest.raises(RuntimeError, match="Mul.*version 1.*version 0"):
        y.backward()


def test_an_output_saved_by_its_op_and_modified_in_place_is_caught():
    x = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    y = x.exp()                                   # Exp saves its output
    with minigrad.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"Exp.*shape \(2,\).*version 1.*version 0"):
        y.sum().backward()


def test_in_place_on_a_tensor_that_requires_grad_needs_no_grad():
    w = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.add_(1.0)
    assert w._version == 0
    with minigrad.no_grad():
        w.add_(1.0)
    assert w._version == 1


def test_writing_data_directly_is_the_unchecked_escape_hatch():
    w = Tensor(np.ones(3), requires_grad=True)
    y = (w * w).sum()
    w.data *= 2                                   # no bump, no check, as in PyTorch
    y.backward()
    assert w._version == 0
    np.testing.assert_allclose(w.grad, 4.0)       # 2 * w with the changed w


def test_load_state_dict_bumps_versions():
    layer = nn.Linear(3, 2)
    state = layer.state_dict()
    layer.load_state_dict(state)
    assert layer.weight._version == 1 and layer.bias._version == 1


def test_batch_norm_running_statistics_bump_versions():
    bn = nn.BatchNorm2d(3)
    bn(Tensor(np.random.default_rng(0).random((4, 3, 2, 2), dtype=np.float32)))
    assert bn.running_mean._version == 1 and bn.running_var._version == 1
    assert bn.num_batches_tracked._version == 1
    bn.eval()
    bn(Tensor(np.ones((1, 3, 2, 2), dtype=np.float32)))
    assert bn.running_mean._version == 1


# ---- freeing and retain_graph ------------------------------------------------------------

def test_second_backward_raises_with_the_retain_graph_hint():
    w = Tensor(np.ones(3), requires_grad=True)
    y = (w * w).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_that_doubles_the_grads():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(w.grad, 2 * 2 * w.data)


def test_draw_graph_still_works_after_backward():
    minigrad.manual_seed(0)
    model = mnist_cnn()
    x, y = _batch(4)
    loss = F.cross_entropy(model(x), y)
    before = draw_graph(loss, model=model, expand="all", names={"x": x}).source
    loss.backward()
    assert draw_graph(loss, model=model, expand="all", names={"x": x}).source == before
    assert "BatchNorm" in before and "running_mean" in before


def _saved_activations(loss, keep):
    """Weak references to every array the graph saved, except parameters' own data."""
    refs = []
    for node in autograd.topological_order(loss):
        if isinstance(node, autograd.Function):
            for array in node.saved_arrays:
                if array is not None and not any(array is k for k in keep):
                    refs.append(weakref.ref(array))
    return refs


def test_fifty_kept_losses_do_not_keep_their_activations():
    minigrad.manual_seed(0)
    model = mnist_cnn()
    params = [p.data for p in model.parameters()]
    outputs, saved, losses = [], [], []
    for module in model.modules():
        module.register_forward_hook(lambda m, i, out: outputs.append(weakref.ref(out)))
    for step in range(50):
        x, y = _batch(8, seed=step)
        loss = F.cross_entropy(model(x), y)
        saved += _saved_activations(loss, params)
        loss.backward()
        losses.append(loss)
    gc.collect()
    assert len(saved) > 50 * 5 and len(outputs) > 50 * 5
    assert sum(r() is not None for r in saved) == 0
    assert sum(r() is not None for r in outputs[:-1]) == 0     # the last is `loss`'s input, dead too
    assert all(loss.grad_fn is not None for loss in losses)    # the structure is kept


def test_a_running_total_of_losses_does_not_keep_activations():
    minigrad.manual_seed(0)
    model = mnist_cnn()
    params = [p.data for p in model.parameters()]
    total, saved = 0, []
    for step in range(5):
        x, y = _batch(8, seed=step)
        loss = F.cross_entropy(model(x), y)
        saved += _saved_activations(loss, params)
        loss.backward()
        total += loss                         # extends a graph: structure only
    gc.collect()
    assert saved and sum(r() is not None for r in saved) == 0
    assert total.grad_fn is not None


def test_a_retained_graph_keeps_its_saved_arrays_until_dropped():
    w = Tensor(np.ones(3), requires_grad=True)
    y = (w * Tensor(np.arange(3.0))).sum()
    refs = _saved_activations(y, [w.data])
    y.backward(retain_graph=True)
    gc.collect()
    assert refs and all(r() is not None for r in refs)
    del y
    gc.collect()
    assert all(r() is None for r in refs)


# ---- the graph holds no intermediate tensors ---------------------------------------------

def test_retain_grad_on_an_intermediate_that_dies_before_backward():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    h = x * 3
    h.retain_grad()
    fn = h.grad_fn
    y = (h * h).sum()
    del h
    y.backward()
    np.testing.assert_allclose(fn.retained_grad, 2 * 3 * x.data)


def test_a_chain_of_100000_ops_backpropagates():
    x = Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    assert len(autograd.topological_order(y)) == 100_001
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_only_gradients_an_op_marks_as_its_own_are_adopted(adoptions):
    seen = adoptions
    x = Tensor(np.random.default_rng(0).random((4, 3)).astype(np.float32), requires_grad=True)
    nn.BatchNorm1d(3, affine=False)(x).sum().backward()     # BatchNorm's dx is its own
    # Reshape returns a view of the incoming gradient: not marked, so copied.
    a = Tensor(np.ones(6), requires_grad=True)
    seed = np.arange(6.0).reshape(2, 3)
    a.reshape(2, 3).backward(seed)
    assert seen == [True, False]
    seed[:] = -1
    np.testing.assert_array_equal(a.grad, np.arange(6.0))
