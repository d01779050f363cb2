"""Module: registration, naming, buffers, train/eval, hooks, repr,
state_dict / load_state_dict (all-or-nothing) and dtype conversion."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from minigrad import Tensor


# Gradchecks run thousands of tiny kernels: one numba thread (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_numba_thread")


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.register_buffer("counter", Tensor(np.zeros(1, dtype=np.int64)))
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.drop = nn.Dropout(0.1)
        self.not_a_param = np.ones(3)              # plain attribute: not registered

    def forward(self, x):
        return self.drop(self.conv(x) * self.scale)


def make_model():
    minigrad.manual_seed(0)
    return nn.Sequential(Block(), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))


def test_registration_and_dotted_names_in_order():
    model = make_model()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.scale", "0.conv.weight", "0.conv.bias", "3.weight", "3.bias"]
    assert len(list(model.parameters())) == 5
    assert [name for name, _ in model.named_buffers()] == ["0.counter"]
    assert list(model.state_dict()) == ["0.scale", "0.counter", "0.conv.weight", "0.conv.bias",
                                        "3.weight", "3.bias"]
    assert [name for name, _ in model.named_modules()] == ["", "0", "0.conv", "0.drop", "1", "2", "3"]
    assert [name for name, _ in model.named_children()] == ["0", "1", "2", "3"]
    assert "not_a_param" not in model[0].state_dict()


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(3, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2


def test_reassigning_and_deleting_attributes_updates_the_registries():
    block = Block()
    block.conv = nn.Linear(2, 2)
    assert [name for name, _ in block.named_parameters()][1:] == ["conv.weight", "conv.bias"]
    del block.scale
    assert "scale" not in dict(block.named_parameters())
    with pytest.raises(AttributeError):
        block.scale


def test_train_and_eval_recurse():
    model = make_model()
    model.eval()
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model[0].eval()
    assert model.training and not model[0].drop.training
    with pytest.raises(TypeError):
        model.train("no")


def test_dropout_is_identity_after_eval():
    model = make_model().eval()
    x = minigrad.randn(2, 1, 4, 4)
    np.testing.assert_array_equal(model(x).data, model(x).data)


def test_forward_hooks_and_handle_removal():
    model = make_model()
    seen = []
    handle = model[1].register_forward_hook(lambda m, inputs, out: seen.append((type(m).__name__, out.shape)))
    replace = model[3].register_forward_hook(lambda m, inputs, out: out * 0)
    y = model(minigrad.randn(2, 1, 4, 4))
    assert seen == [("ReLU", (2, 2, 4, 4))]
    assert np.all(y.data == 0)
    handle.remove()
    replace.remove()
    handle.remove()                                     # removing twice is harmless
    y = model(minigrad.randn(2, 1, 4, 4))
    assert len(seen) == 1 and np.any(y.data != 0)


def test_repr_is_pytorch_like():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 10))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))\n"
        "  (1): ReLU()\n"
        "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0)\n"
        "  (3): Flatten(start_dim=1, end_dim=-1)\n"
        "  (4): Linear(in_features=16, out_features=10, bias=True)\n"
        ")")


def test_unknown_attributes_raise():
    model = make_model()
    with pytest.raises(AttributeError, match="trainig"):
        model.trainig
    with pytest.raises(AttributeError):
        model[0].dropout                               # the attribute is called `drop`


def test_state_dict_round_trip_copies_arrays():
    model, other = make_model(), make_model()
    for p in other.parameters():
        p.data += 1
    state = model.state_dict()
    state["3.bias"][...] = 123                         # a copy: the model is not affected
    assert not np.any(model[3].bias.data == 123)
    missing, unexpected = other.load_state_dict(model.state_dict())
    assert missing == [] and unexpected == []
    for (name, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_failed_load_state_dict_lists_every_problem_and_changes_nothing():
    model = make_model()
    before = {name: array.copy() for name, array in model.state_dict().items()}
    bad = make_model().state_dict()
    for name in bad:
        bad[name] = bad[name] + 5 if bad[name].dtype.kind == "f" else bad[name] + 1
    del bad["0.conv.bias"]
    bad["extra.weight"] = np.zeros(2)
    bad["3.weight"] = np.zeros((4, 4), dtype=np.float32)
    with pytest.raises(ValueError) as error:
        model.load_state_dict(bad)
    message = str(error.value)
    assert "missing keys: 0.conv.bias" in message
    assert "unexpected keys: extra.weight" in message
    assert "3.weight: model has (3, 32), state_dict has (4, 4)" in message
    assert "not changed" in message
    after = model.state_dict()
    assert list(after) == list(before)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def test_load_state_dict_non_strict_returns_missing_and_unexpected():
    model = make_model()
    state = make_model().state_dict()
    del state["3.bias"]
    state["junk"] = np.zeros(1)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["3.bias"] and unexpected == ["junk"]


def test_to_double_and_float_keep_the_same_parameter_objects():
    model = make_model()
    params = list(model.parameters())
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert model[0].counter.dtype == np.int64           # integer buffers untouched
    y = model(minigrad.randn(2, 1, 4, 4).double())
    assert y.dtype == np.float64
    model.float()
    assert all(p.dtype == np.float32 for p in model.parameters())
    with pytest.raises(TypeError):
        model.to(np.int32)


def test_gradcheck_through_a_whole_model_in_float64():
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(3 * 2 * 2, 4)).double()
    x = Tensor(np.random.default_rng(0).standard_normal((2, 2, 4, 4)), requires_grad=True)
    labels = np.array([1, 3])
    weights = list(model.parameters())
    # gradcheck checks the input; the weights are checked by nudging them in place
    assert minigrad.gradcheck(lambda x: minigrad.nn.functional.cross_entropy(model(x), labels), x)
    for p in weights:
        p.grad = None
    minigrad.nn.functional.cross_entropy(model(x), labels).backward()
    for p in weights:
        eps, flat, grad = 1e-6, p.data.reshape(-1), p.grad.reshape(-1)
        for i in range(0, flat.size, max(1, flat.size // 7)):
            original = flat[i]
            flat[i] = original + eps
            plus = minigrad.nn.functional.cross_entropy(model(x), labels).item()
            flat[i] = original - eps
            minus = minigrad.nn.functional.cross_entropy(model(x), labels).item()
            flat[i] = original
            assert abs((plus - minus) / (2 * eps) - grad[i]) < 1e-6
