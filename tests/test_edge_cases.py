"""Issue 11's edge cases: lazy subpackages, 0-d tensors, PyTorch's indexing
order, dtype rules, state kept intact on errors, checkpoints, IDX and data."""
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad import Tensor, nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- 1. subpackages reachable as attributes, loaded lazily ----------------------------
def test_subpackages_are_attributes_loaded_on_first_use():
    code = ("import sys, minigrad\n"
            "heavy = [m for m in ('graphviz', 'matplotlib', 'minigrad.viz') if m in sys.modules]\n"
            "print(heavy, minigrad.viz.draw_graph.__name__, minigrad.data.DataLoader.__name__,\n"
            "      minigrad.models.mnist_cnn.__name__, minigrad.explain.explain_batchnorm.__name__)\n"
            "print('graphviz' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout.split("\n")
    assert out[0] == "[] draw_graph DataLoader mnist_cnn explain_batchnorm"
    assert out[1] == "True"
    with pytest.raises(AttributeError, match="no_such_thing"):
        minigrad.no_such_thing


# ---- 3. 0-d tensors ------------------------------------------------------------------
def test_relu_keeps_a_0d_shape():
    x = Tensor(np.float32(-2.0), requires_grad=True)
    y = x.relu()
    assert y.shape == ()
    y.backward()
    assert x.grad.shape == () and x.grad == 0


@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("op", ["softmax", "log_softmax", "sum", "mean", "max", "argmax", "squeeze"])
def test_dim_0_and_minus_1_are_valid_on_a_0d_tensor(op, dim):
    torch = pytest.importorskip("torch")
    value = np.float32(1.5)
    ours = getattr(Tensor(value), op)(dim)
    theirs = getattr(torch.tensor(value), op)(dim)
    if op == "max":
        theirs = theirs.values
    assert ours.shape == tuple(theirs.shape) == ()
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


def test_dim_1_is_out_of_range_on_a_0d_tensor():
    for op in ("sum", "softmax", "squeeze"):
        with pytest.raises(IndexError, match="out of range"):
            getattr(Tensor(np.float32(1.0)), op)(1)


# ---- 4. integer and index array separated by a slice -----------------------------------
def test_int_and_index_array_split_by_a_slice_follow_pytorch_axis_order():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 3, 4))
    idx = np.array([0, 3, 1, 1, 2])
    x = Tensor(data, requires_grad=True)
    y = x[1, :, idx]
    t = torch.tensor(data, requires_grad=True)
    ty = t[1, :, torch.tensor(idx)]
    assert y.shape == tuple(ty.shape) == (3, 5)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    g = rng.standard_normal((3, 5))
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad, t.grad.numpy())
    assert x[idx % 2, :, 1].shape == (5, 3)
    assert x[1, idx % 3].shape == (5, 4)


# ---- 5. dtype rules ----------------------------------------------------------------
FLOAT_FUNCTIONS = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh, "exp": np.exp,
                   "log": np.log, "sqrt": np.sqrt}


@pytest.mark.filterwarnings("ignore:divide by zero")       # log(0) = -inf, on purpose
@pytest.mark.parametrize("fn", sorted(FLOAT_FUNCTIONS))
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8, np.bool_])
def test_float_functions_of_int_and_bool_give_float32(fn, dtype):
    values = np.array([1, 0, 1], dtype=dtype)
    y = getattr(Tensor(values), fn)()
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, FLOAT_FUNCTIONS[fn](values.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("fn", ["mean", "var", "softmax", "log_softmax"])
def test_reductions_of_int_tensors_are_refused_as_pytorch_does(fn):
    with pytest.raises(TypeError, match=fn + ".*int64"):
        getattr(Tensor(np.array([1, 2, 3])), fn)()


def test_int_tensor_and_python_float_give_float32():
    x = Tensor(np.array([1, 2, 3]))
    assert (x + 1.5).dtype == np.float32
    assert (1.5 * x).dtype == np.float32
    assert (x - 0.5).dtype == np.float32
    np.testing.assert_allclose((x + 1.5).data, [2.5, 3.5, 4.5])
    assert (x + 1).dtype == np.int64
    assert (Tensor(np.array([1, 2], np.int32)) + 1).dtype == np.int32
    assert (x + Tensor(np.ones(3, np.float32))).dtype == np.float32


def test_int_divided_by_int_is_true_division_in_float32():
    x, y = Tensor(np.array([1, 3])), Tensor(np.array([2, 2]))
    assert (x / y).dtype == np.float32
    np.testing.assert_allclose((x / y).data, [0.5, 1.5])
    assert (x / 2).dtype == np.float32
    assert (Tensor(np.array([1, 0], np.int8)) / 2).dtype == np.float32
    assert (Tensor(np.array([True])) / Tensor(np.array([True]))).dtype == np.float32


def test_float16_is_refused_at_the_door_never_silently_float32():
    with pytest.raises(TypeError, match="float32 and float64, not float16"):
        Tensor(np.ones(3, np.float16))
    with pytest.raises(TypeError, match="float16"):
        Tensor(np.ones(3, np.float32)).astype(np.float16)
    with pytest.raises(TypeError, match="float16"):
        Tensor([1.0, 2.0], dtype=np.float16)
    with pytest.raises(TypeError, match="float16"):
        nn.Linear(2, 3, dtype=np.float16)


def test_float16_batch_norm_input_is_refused_before_any_buffer_changes():
    bn = nn.BatchNorm2d(3)
    with pytest.raises(TypeError, match="float16"):
        bn(np.ones((2, 3, 4, 4), np.float16))
    assert int(bn.num_batches_tracked.data) == 0
    np.testing.assert_array_equal(bn.running_mean.data, 0)


# ---- 6. bad operands and exponents -------------------------------------------------------
@pytest.mark.parametrize("other", [None, "a", object(), {"a": 1}])
@pytest.mark.parametrize("op", ["__add__", "__radd__", "__mul__", "__sub__", "__truediv__"])
def test_tensor_with_a_non_number_is_a_type_error(op, other):
    with pytest.raises(TypeError, match=type(other).__name__):
        getattr(Tensor([1.0, 2.0]), op)(other)


def test_x_to_the_power_0_has_gradient_0_at_0():
    x = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    x.grad = None
    (x ** 1).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


# ---- 7. BN: nothing changes when a call raises; empty batches ------------------------------
@pytest.mark.parametrize("attribute, value", [("eps", 0.0), ("eps", -1.0), ("eps", "x"),
                                              ("momentum", 2.0), ("momentum", -0.1)])
def test_bn_with_an_invalid_reassigned_setting_changes_no_buffer(attribute, value):
    bn = nn.BatchNorm1d(2)
    setattr(bn, attribute, value)
    with pytest.raises((ValueError, TypeError), match=attribute):
        bn(Tensor(np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)))
    assert int(bn.num_batches_tracked.data) == 0
    np.testing.assert_array_equal(bn.running_var.data, 1)


@pytest.mark.parametrize("eps", [0, -1e-5, "1e-5", None])
def test_bn_checks_eps_at_construction(eps):
    with pytest.raises((ValueError, TypeError), match="eps"):
        nn.BatchNorm2d(3, eps=eps)


def test_bn_on_an_empty_batch_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.zeros((0, 3, 4, 4), np.float32)
    ours, theirs = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    y = ours(Tensor(x))
    ty = theirs(torch.tensor(x))
    assert y.shape == tuple(ty.shape) == (0, 3, 4, 4)
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[name], value.numpy(), err_msg=name)


# ---- 8. old BN checkpoints without num_batches_tracked ---------------------------------------
def test_bn_state_dict_without_num_batches_tracked_loads_strictly():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.BatchNorm2d(3)
    theirs.running_mean.fill_(0.5)
    old = {k: v.numpy() for k, v in theirs.state_dict().items() if k != "num_batches_tracked"}
    model = nn.Sequential(nn.BatchNorm2d(3))
    model[0].num_batches_tracked.data[...] = 7
    missing, unexpected = model.load_state_dict({"0." + k: v for k, v in old.items()})
    assert missing == [] and unexpected == []
    np.testing.assert_array_equal(model[0].running_mean.data, 0.5)
    assert int(model[0].num_batches_tracked.data) == 7       # kept, as PyTorch keeps it
    with pytest.raises(ValueError, match="running_var"):
        nn.BatchNorm2d(3).load_state_dict({k: v for k, v in old.items() if k != "running_var"})


# ---- 9. save and load --------------------------------------------------------------------
def test_any_key_name_round_trips(tmp_path):
    state = {"allow_pickle": np.ones(2), "file": np.zeros(3), "args": np.arange(2),
             "kwds": np.eye(2), "a.b/c": np.ones(1), "": np.ones(1)}
    minigrad.save(state, tmp_path / "m.npz")
    loaded = minigrad.load(tmp_path / "m.npz")
    assert list(loaded) == list(state)
    for k in state:
        np.testing.assert_array_equal(loaded[k], state[k])


def test_saved_file_mode_follows_the_umask_and_an_overwrite_keeps_it(tmp_path):
    path = tmp_path / "m.npz"
    old = os.umask(0o022)
    try:
        minigrad.save({"w": np.ones(2)}, path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
        os.chmod(path, 0o600)
        minigrad.save({"w": np.ones(3)}, path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_failed_save_leaves_no_temporary_file_and_keeps_the_old_one(tmp_path):
    path = tmp_path / "m.npz"
    minigrad.save({"w": np.ones(2)}, path)
    with pytest.raises(TypeError):
        minigrad.save({"w": np.ones(2), "bad": object()}, path)
    with pytest.raises(KeyboardInterrupt):
        minigrad.save(_Interrupting(), path)
    assert os.listdir(tmp_path) == ["m.npz"]
    np.testing.assert_array_equal(minigrad.load(path)["w"], np.ones(2))


class _Interrupting(dict):
    def items(self):
        raise KeyboardInterrupt


def test_save_errors_name_the_path_and_the_real_cause(tmp_path):
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        minigrad.save({"w": np.ones(2)}, tmp_path)
    with pytest.raises(FileNotFoundError, match="no_dir"):
        minigrad.save({"w": np.ones(2)}, tmp_path / "no_dir" / "m.npz")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(PermissionError, match="locked"):
            minigrad.save({"w": np.ones(2)}, locked / "m.npz")


def test_one_atomic_write_helper_for_checkpoints_and_the_mnist_cache():
    from minigrad import serialization
    from minigrad.data import mnist
    assert not hasattr(mnist, "_write_npz_atomically")
    assert mnist.atomic_write is serialization.atomic_write


# ---- 10. IDX headers and the MNIST cache ---------------------------------------------------
def _idx_bytes(dims, body=b""):
    return bytes([0, 0, 0x08, len(dims)]) + np.array(dims, ">u4").tobytes() + body


@pytest.mark.parametrize("dims, body", [((2**32 - 1, 2**32 - 1, 2**32 - 1), b"\0" * 8),
                                        ((2**31, 2**31), b""), ((3, 4), b"\0" * 11)])
def test_idx_header_that_disagrees_with_the_file_names_dims_and_size(tmp_path, dims, body):
    from minigrad.data import IDXError, read_idx
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(_idx_bytes(dims, body))
    with pytest.raises(IDXError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and str(dims) in message
    assert str(path.stat().st_size) in message


def test_mnist_cache_is_verified_and_rebuilt_when_altered(tmp_path, monkeypatch):
    from minigrad.data import mnist
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path))
    rng = np.random.default_rng(0)
    splits = {s: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                  rng.integers(0, 10, n).astype(np.uint8)) for s, n in mnist.SPLIT_SIZES.items()}
    mnist._write_cache(mnist.mnist_cache_path(), splits)
    assert mnist._read_cache(mnist.mnist_cache_path(), "test")[1].tolist() == splits["test"][1].tolist()
    altered = dict(splits, test=(splits["test"][0], (splits["test"][1] + 1) % 10))
    arrays = {f"{s}_{k}": v for s, (p, l) in altered.items() for k, v in (("pixels", p), ("labels", l))}
    with np.load(mnist.mnist_cache_path()) as npz:
        arrays["digest"] = npz["digest"]        # the old digest beside altered labels
    np.savez(mnist.mnist_cache_path(), **arrays)
    with pytest.warns(UserWarning, match="do not match the digest"):
        assert mnist._read_cache(mnist.mnist_cache_path(), "test") is None
    del arrays["digest"]                         # a cache from before digests were written
    np.savez(mnist.mnist_cache_path(), **arrays)
    with pytest.warns(UserWarning, match="no digest"):
        assert mnist._read_cache(mnist.mnist_cache_path(), "test") is None


# ---- 11. DataLoader ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [-1, 1.5, "0", [1.5]])
def test_dataloader_bad_seed(seed):
    from minigrad.data import DataLoader, TensorDataset
    with pytest.raises((TypeError, ValueError), match="seed"):
        DataLoader(TensorDataset(np.ones((4, 2))), seed=seed)


def test_dataloader_ragged_samples_name_the_sample_and_shapes():
    from minigrad.data import DataLoader

    class Ragged:
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.ones(3 if i != 2 else 4), i

    with pytest.raises(ValueError, match=r"sample 2.*\(4,\).*sample 0.*\(3,\)"):
        list(DataLoader(Ragged(), batch_size=4))


# ---- 2. the example says it is compiling before it compiles -----------------------------------
def test_example_warm_up_announces_compiling_and_leaves_the_run_unchanged(capsys):
    import runpy
    from minigrad.data import TensorDataset
    from minigrad.models import mnist_cnn
    example = runpy.run_path(os.path.join(ROOT, "examples", "mnist_cnn.py"), run_name="example")
    rng = np.random.default_rng(0)
    data = TensorDataset(rng.random((4, 1, 28, 28), dtype=np.float32), np.arange(4) % 10)
    minigrad.manual_seed(0)
    model = mnist_cnn(batch_norm=True, dropout=0.5)
    before, draw = model.state_dict(), minigrad.random.generator().bit_generator.state
    seconds = example["warm_up_kernels"](model, data, cold=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("compiling minigrad's kernels (first run only")
    assert lines[1] == f"kernels ready in {seconds:.1f} s"
    assert minigrad.random.generator().bit_generator.state == draw
    assert model.training and all(p.grad is None for p in model.parameters())
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    example["warm_up_kernels"](model, data, cold=False)
    assert capsys.readouterr().out == ""


def test_pyproject_license_is_an_spdx_string():
    text = open(os.path.join(ROOT, "pyproject.toml")).read()
    assert '\nlicense = "MIT"\n' in text


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "sum", "mean", "max", "squeeze"])
def test_gradcheck_of_dim_ops_on_a_0d_tensor(op):
    x = Tensor(np.float64(0.7), requires_grad=True)
    assert minigrad.gradcheck(lambda t: getattr(t, op)(-1) * t, x)


def test_gradcheck_of_int_slice_array_indexing():
    x = Tensor(np.random.default_rng(1).standard_normal((2, 3, 4)), requires_grad=True)
    idx = np.array([0, 3, 3, 1])                  # a repeated index: its gradients add up
    assert minigrad.gradcheck(lambda t: t[1, :, idx] * 2.0, x)
    assert minigrad.gradcheck(lambda t: t[..., 1, [0, 2]], x)


def test_relu_of_a_0d_tensor_gradcheck():
    assert minigrad.gradcheck(lambda t: t.relu() * t, Tensor(np.float64(0.3), requires_grad=True))
