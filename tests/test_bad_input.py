"""Bad input across the public surface: ONE table of
(call with its bad input, expected exception type, fragment of the message).

Each row runs a call that must fail at its door with a clear error naming what
was expected and what was given; the last test checks that a failing call left
the layers' state untouched."""
import numpy as np
import pytest

import minigrad
from minigrad import Tensor, nn, optim
from minigrad.nn import functional as F
from minigrad.nn import init

x = Tensor(np.ones((2, 3), np.float32))
x_int = Tensor(np.array([1, 2, 3]))
img = Tensor(np.ones((2, 3, 4, 4), np.float32))
labels = Tensor(np.array([0, 1]))
w = Tensor(np.ones((4, 3), np.float32), requires_grad=True)
p = nn.Parameter(np.ones(3, np.float32))
bn = nn.BatchNorm2d(3)
linear = nn.Linear(3, 4)
conv = nn.Conv2d(3, 4, 3)
sgd = optim.SGD([nn.Parameter(np.ones(2, np.float32))], lr=0.1)
ds = minigrad.data.TensorDataset(np.ones((4, 2)))

CASES = [
    # ---- Tensor construction and dtypes
    ("Tensor(float16 array)", lambda: Tensor(np.ones(2, np.float16)), TypeError, "not float16"),
    ("Tensor(dtype=float16)", lambda: Tensor([1.0], dtype=np.float16), TypeError, "not float16"),
    ("Tensor(object)", lambda: Tensor(object()), TypeError, "numeric data"),
    ("Tensor(strings)", lambda: Tensor(["a", "b"]), TypeError, "numeric data"),
    ("Tensor(None)", lambda: Tensor(None), TypeError, "numeric data"),
    ("Tensor(complex)", lambda: Tensor(np.ones(2, complex)), TypeError, "numeric data"),
    ("int Tensor requires_grad", lambda: Tensor([1, 2], requires_grad=True), TypeError, "only float"),
    ("requires_grad_ on int", lambda: x_int.requires_grad_(), TypeError, "only float"),
    ("astype(float16)", lambda: x.astype(np.float16), TypeError, "astype"),
    ("item() of many", lambda: x.item(), ValueError, "one element"),
    ("len() of 0-d", lambda: len(Tensor(1.0)), TypeError, "0-d"),
    ("bool() of many", lambda: bool(x), RuntimeError, "ambiguous"),
    ("backward() non-scalar", lambda: (x * w[0, :3]).backward(), RuntimeError, "scalar"),
    ("backward() no grad", lambda: x.sum().backward(), RuntimeError, "does not require grad"),
    ("backward(grad) wrong shape", lambda: (w * 2).backward(np.ones(3)), ValueError, "shape"),
    # ---- arithmetic operands
    ("x + None", lambda: x + None, TypeError, "NoneType"),
    ("x + 'a'", lambda: x + "a", TypeError, "str"),
    ("'a' + x", lambda: "a" + x, TypeError, "str"),
    ("x * object()", lambda: x * object(), TypeError, "object"),
    ("x - {}", lambda: x - {}, TypeError, "dict"),
    ("x / None", lambda: x / None, TypeError, "NoneType"),
    ("x @ None", lambda: x @ None, TypeError, "NoneType"),
    ("maximum(x, None)", lambda: minigrad.maximum(x, None), TypeError, "maximum"),
    ("minimum(x, 'a')", lambda: minigrad.minimum(x, "a"), TypeError, "minimum"),
    ("x + string array", lambda: x + np.array(["a", "b", "c"]), TypeError, "numeric"),
    ("add shapes", lambda: x + Tensor(np.ones(4, np.float32)), ValueError, "cannot be broadcast"),
    ("mul shapes", lambda: x * np.ones((3, 2)), ValueError, "cannot be broadcast"),
    ("x ** 'a'", lambda: x ** "a", TypeError, "exponent"),
    ("x ** True", lambda: x ** True, TypeError, "exponent"),
    ("matmul 0-d", lambda: x @ Tensor(1.0), ValueError, "at least 1-D"),
    ("matmul shapes", lambda: x @ x, ValueError, "not aligned"),
    ("matmul batch", lambda: Tensor(np.ones((2, 2, 3))) @ Tensor(np.ones((3, 3, 2))), ValueError, "batch"),
    ("clip no bounds", lambda: x.clip(), ValueError, "at least one"),
    ("clip min > max", lambda: x.clip(2, 1), ValueError, "greater than max"),
    # ---- reductions and axes
    ("sum(axis=2)", lambda: x.sum(axis=2), IndexError, "axis 2 is out of range"),
    ("sum(dim=-3)", lambda: x.sum(dim=-3), IndexError, "dim -3 is out of range"),
    ("sum(axis=, dim=)", lambda: x.sum(axis=0, dim=0), TypeError, "either axis or dim"),
    ("sum((0, 0))", lambda: x.sum(axis=(0, 0)), ValueError, "repeated"),
    ("mean(axis=1.5)", lambda: x.mean(axis=1.5), TypeError, "axis must be an int"),
    ("mean(dim='0')", lambda: x.mean(dim="0"), TypeError, "dim must be an int"),
    ("mean(axis=True)", lambda: x.mean(axis=True), TypeError, "axis must be an int"),
    ("mean of int", lambda: x_int.mean(), TypeError, "mean needs a float"),
    ("var of int", lambda: x_int.var(), TypeError, "var needs a float"),
    ("var of one value", lambda: Tensor([1.0]).var(), ValueError, "at least 2"),
    ("max of empty", lambda: Tensor(np.ones((0,), np.float32)).max(), ValueError, "empty"),
    ("max(axis=5)", lambda: x.max(axis=5), IndexError, "out of range"),
    ("argmax two axes", lambda: x.argmax(axis=(0, 1)), ValueError, "single axis"),
    ("argmax(dim=9)", lambda: x.argmax(dim=9), IndexError, "out of range"),
    ("0-d sum(1)", lambda: Tensor(1.0).sum(1), IndexError, "out of range"),
    # ---- softmax
    ("softmax two axes", lambda: x.softmax(dim=(0, 1)), ValueError, "exactly one axis"),
    ("softmax(dim=2)", lambda: x.softmax(2), IndexError, "out of range"),
    ("softmax of int", lambda: x_int.softmax(), TypeError, "softmax needs a float"),
    ("log_softmax of int", lambda: x_int.log_softmax(), TypeError, "log_softmax needs a float"),
    ("F.softmax(dim=3)", lambda: F.softmax(x, dim=3), IndexError, "out of range"),
    # ---- shape ops
    ("reshape bad size", lambda: x.reshape(4, 2), ValueError, "cannot reshape"),
    ("view bad size", lambda: x.view(5), ValueError, "cannot reshape"),
    ("permute too few", lambda: x.permute(0), ValueError, "not a permutation"),
    ("permute repeated", lambda: x.permute(0, 0), ValueError, "repeated"),
    ("permute out of range", lambda: x.permute(0, 2), IndexError, "out of range"),
    ("transpose(0, 9)", lambda: x.transpose(0, 9), IndexError, "dim 9 is out of range"),
    ("transpose(0.5, 1)", lambda: x.transpose(0.5, 1), TypeError, "must be an int"),
    ("flatten start > end", lambda: img.flatten(2, 1), ValueError, "comes after"),
    ("flatten(start_dim=7)", lambda: x.flatten(7), IndexError, "out of range"),
    ("squeeze(5)", lambda: x.squeeze(5), IndexError, "out of range"),
    ("0-d squeeze(1)", lambda: Tensor(1.0).squeeze(1), IndexError, "out of range"),
    ("unsqueeze(4)", lambda: x.unsqueeze(4), IndexError, "out of range"),
    ("cat nothing", lambda: minigrad.cat([]), ValueError, "at least one"),
    ("cat ranks", lambda: minigrad.cat([x, x[0]]), ValueError, "dimensions"),
    ("cat shapes", lambda: minigrad.cat([x, x.T]), ValueError, "tensor 1 has shape"),
    ("cat 0-d", lambda: minigrad.cat([Tensor(1.0), Tensor(2.0)]), ValueError, "0-d"),
    ("cat(dim=5)", lambda: minigrad.cat([x, x], dim=5), IndexError, "out of range"),
    ("cat with None", lambda: minigrad.cat([x, None]), TypeError, "NoneType"),
    ("stack shapes", lambda: minigrad.stack([x, x.T]), ValueError, "equal shapes"),
    ("stack(dim=4)", lambda: minigrad.stack([x, x], dim=4), IndexError, "out of range"),
    ("pad odd", lambda: minigrad.pad(x, (1,)), ValueError, "even number"),
    ("pad too many", lambda: minigrad.pad(x, (1, 1, 1, 1, 1, 1)), ValueError, "at most 2 per axis"),
    ("pad negative", lambda: minigrad.pad(x, (-1, 1)), ValueError, "negative"),
    ("F.pad mode", lambda: F.pad(x, (1, 1), mode="reflect"), ValueError, "constant"),
    ("index out of range", lambda: x[5], IndexError, "out of bounds"),
    # ---- nn layers: constructors
    ("Linear(4, 3.5)", lambda: nn.Linear(4, 3.5), TypeError, "out_features must be an int"),
    ("Linear('4', 3)", lambda: nn.Linear("4", 3), TypeError, "in_features must be an int"),
    ("Linear(-1, 3)", lambda: nn.Linear(-1, 3), ValueError, "in_features must be at least 0"),
    ("Linear(dtype=float16)", lambda: nn.Linear(2, 3, dtype=np.float16), TypeError, "float16"),
    ("Conv2d(kernel_size=0)", lambda: nn.Conv2d(3, 4, kernel_size=0), ValueError, "kernel_size must be at least 1"),
    ("Conv2d(kernel_size=2.5)", lambda: nn.Conv2d(3, 4, 2.5), TypeError, "kernel_size"),
    ("Conv2d(in_channels=0)", lambda: nn.Conv2d(0, 4, 3), ValueError, "in_channels must be at least 1"),
    ("Conv2d(out_channels=None)", lambda: nn.Conv2d(3, None, 3), TypeError, "out_channels must be an int"),
    ("Conv2d(stride=0)", lambda: nn.Conv2d(3, 4, 3, stride=0), ValueError, "stride must be at least 1"),
    ("Conv2d(padding=-1)", lambda: nn.Conv2d(3, 4, 3, padding=-1), ValueError, "padding must be at least 0"),
    ("Conv2d(dilation=0)", lambda: nn.Conv2d(3, 4, 3, dilation=0), ValueError, "dilation must be at least 1"),
    ("Conv2d(groups=3)", lambda: nn.Conv2d(4, 4, 3, groups=3), ValueError, "groups=3"),
    ("Conv2d(padding_mode)", lambda: nn.Conv2d(3, 4, 3, padding_mode="reflect"), ValueError, "padding_mode"),
    ("BatchNorm2d(True)", lambda: nn.BatchNorm2d(True), TypeError, "num_features must be an int"),
    ("BatchNorm2d(0)", lambda: nn.BatchNorm2d(0), ValueError, "num_features must be at least 1"),
    ("BatchNorm1d(2.0)", lambda: nn.BatchNorm1d(2.0), TypeError, "num_features"),
    ("BatchNorm2d(eps=0)", lambda: nn.BatchNorm2d(3, eps=0), ValueError, "eps must be a positive"),
    ("BatchNorm2d(eps='1')", lambda: nn.BatchNorm2d(3, eps="1"), ValueError, "eps"),
    ("BatchNorm2d(momentum=2)", lambda: nn.BatchNorm2d(3, momentum=2), ValueError, "momentum"),
    ("BatchNorm2d(momentum='x')", lambda: nn.BatchNorm2d(3, momentum="x"), ValueError, "momentum"),
    ("Dropout(p=1.5)", lambda: nn.Dropout(1.5), ValueError, "between 0 and 1"),
    ("CrossEntropyLoss(reduction)", lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError, "reduction"),
    ("MSELoss(reduction)", lambda: nn.MSELoss(reduction=None), ValueError, "reduction"),
    ("Sequential(non-module)", lambda: nn.Sequential(nn.ReLU(), 3), TypeError, "argument 1"),
    ("Sequential index", lambda: nn.Sequential(nn.ReLU())[3], IndexError, "out of range"),
    ("Module attribute typo", lambda: linear.wieght, AttributeError, "wieght"),
    # ---- nn layers: calls
    ("Linear call features", lambda: linear(Tensor(np.ones((2, 5), np.float32))), ValueError, "features"),
    ("Linear call float64", lambda: linear(Tensor(np.ones((2, 3)))), TypeError, "one float dtype"),
    ("Linear call int", lambda: linear(Tensor(np.ones((2, 3), int))), TypeError, "one float dtype"),
    ("Conv2d call 3-D", lambda: conv(Tensor(np.ones((3, 4, 4), np.float32))), ValueError, "4-D input"),
    ("Conv2d call channels", lambda: conv(Tensor(np.ones((1, 2, 4, 4), np.float32))), ValueError, "channels"),
    ("Conv2d call small", lambda: conv(Tensor(np.ones((1, 3, 2, 2), np.float32))), ValueError, "larger than"),
    ("BN call rank", lambda: bn(Tensor(np.ones((2, 3), np.float32))), ValueError, "expects 4-D input"),
    ("BN call channels", lambda: bn(Tensor(np.ones((2, 4, 2, 2), np.float32))), ValueError, "channels"),
    ("BN call one value", lambda: bn(Tensor(np.ones((1, 3, 1, 1), np.float32))), ValueError, "more than 1 value"),
    ("BN call float16", lambda: bn(np.ones((2, 3, 2, 2), np.float16)), TypeError, "float16"),
    ("BN call int", lambda: bn(Tensor(np.ones((2, 3, 2, 2), int))), TypeError, "int64"),
    ("BN call ndarray", lambda: bn(np.ones((2, 3, 2, 2), np.float32)), TypeError, "expects a Tensor"),
    ("MaxPool2d too big", lambda: nn.MaxPool2d(5)(img), ValueError, "larger than"),
    ("MaxPool2d 2-D", lambda: nn.MaxPool2d(2)(x), ValueError, "4-D input"),
    ("AvgPool2d(0)", lambda: nn.AvgPool2d(0)(img), ValueError, "kernel_size"),
    ("max_pool2d padding", lambda: F.max_pool2d(img, 2, padding=2), ValueError, "at most half"),
    ("max_pool2d int", lambda: F.max_pool2d(Tensor(np.ones((1, 1, 2, 2), int)), 2), TypeError, "float"),
    ("max_pool2d kernel 1.5", lambda: F.max_pool2d(img, 1.5), TypeError, "kernel_size"),
    ("Flatten bad dims", lambda: nn.Flatten(3, 1)(img), ValueError, "comes after"),
    # ---- F.* functions
    ("F.linear weight 1-D", lambda: F.linear(x, x[0]), ValueError, "weight must be 2-D"),
    ("F.linear bias shape", lambda: F.linear(x, w, x[0]), ValueError, "bias"),
    ("F.conv2d stride 0", lambda: F.conv2d(img, conv.weight, stride=0), ValueError, "stride"),
    ("F.conv2d weight 3-D", lambda: F.conv2d(img, conv.weight[0]), ValueError, "4-D weight"),
    ("F.conv2d bias shape", lambda: F.conv2d(img, conv.weight, x[0, :2]), ValueError, "bias"),
    ("F.conv2d padding 'same' stride 2",
     lambda: F.conv2d(img, conv.weight, stride=2, padding="same"), ValueError, "stride"),
    ("F.batch_norm eps 0", lambda: F.batch_norm(img, None, None, training=True, eps=0), ValueError, "eps"),
    ("F.batch_norm momentum", lambda: F.batch_norm(img, None, None, training=True, momentum=3), ValueError,
     "momentum"),
    ("F.batch_norm eval no stats", lambda: F.batch_norm(img, None, None, training=False), ValueError,
     "running_mean"),
    ("F.batch_norm weight shape", lambda: F.batch_norm(img, None, None, Tensor(np.ones(2, np.float32)),
                                                       Tensor(np.ones(2, np.float32)), training=True),
     ValueError, "weight must have shape"),
    ("F.batch_norm weight alone", lambda: F.batch_norm(img, None, None, Tensor(np.ones(3, np.float32)),
                                                       training=True), ValueError, "both weight and bias"),
    ("F.batch_norm one stat", lambda: F.batch_norm(img, bn.running_mean, None, training=True), ValueError,
     "both running_mean"),
    ("F.batch_norm 1-D", lambda: F.batch_norm(x[0], None, None, training=True), ValueError, "(N, C, ...)"),
    ("F.dropout p", lambda: F.dropout(x, p=-0.1), ValueError, "between 0 and 1"),
    ("F.dropout int", lambda: F.dropout(x_int), TypeError, "float input"),
    ("F.dropout mask shape", lambda: F.dropout(x, mask=np.ones(3, bool)), ValueError, "mask"),
    ("F.cross_entropy float targets", lambda: F.cross_entropy(x, Tensor([0.0, 1.0])), TypeError, "integer"),
    ("F.cross_entropy target shape", lambda: F.cross_entropy(x, Tensor(np.array([0, 1, 2]))), ValueError,
     "targets of shape"),
    ("F.cross_entropy class range", lambda: F.cross_entropy(x, Tensor(np.array([0, 3]))), IndexError, "target 3"),
    ("F.cross_entropy 0-d", lambda: F.cross_entropy(Tensor(1.0), labels), ValueError, "class axis"),
    ("F.cross_entropy int scores", lambda: F.cross_entropy(x_int, labels), TypeError, "float scores"),
    ("F.cross_entropy reduction", lambda: F.cross_entropy(x, labels, reduction="avg"), ValueError, "reduction"),
    ("F.nll_loss negative target", lambda: F.nll_loss(x, Tensor(np.array([-1, 0]))), IndexError, "target -1"),
    ("F.mse_loss shapes", lambda: F.mse_loss(x, x[0]), ValueError, "differ"),
    ("F.mse_loss int", lambda: F.mse_loss(x_int, x_int), TypeError, "float input"),
    ("F.mse_loss None", lambda: F.mse_loss(x, None), TypeError, "NoneType"),
    # ---- init
    ("kaiming on 1-D", lambda: init.kaiming_uniform_(p), ValueError, "fewer than 2 dimensions"),
    ("kaiming mode", lambda: init.kaiming_normal_(w, mode="fan"), ValueError, "Mode fan"),
    ("calculate_gain name", lambda: init.calculate_gain("swish"), ValueError, "Unsupported nonlinearity"),
    ("calculate_gain slope", lambda: init.calculate_gain("leaky_relu", "a"), ValueError, "negative_slope"),
    # ---- optimizers and schedulers
    ("SGD lr -1", lambda: optim.SGD([p], lr=-1), ValueError, "learning rate"),
    ("SGD momentum -1", lambda: optim.SGD([p], lr=0.1, momentum=-1), ValueError, "momentum"),
    ("SGD weight_decay -1", lambda: optim.SGD([p], lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
    ("SGD nesterov", lambda: optim.SGD([p], lr=0.1, nesterov=True), ValueError, "Nesterov"),
    ("SGD no params", lambda: optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
    ("SGD a Tensor", lambda: optim.SGD(p, lr=0.1), TypeError, "iterable"),
    ("SGD non-tensor", lambda: optim.SGD([np.ones(2)], lr=0.1), TypeError, "ndarray"),
    ("SGD non-leaf", lambda: optim.SGD([w * 2], lr=0.1), ValueError, "non-leaf"),
    ("SGD duplicates", lambda: optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1), ValueError,
     "more than one"),
    ("Adam lr", lambda: optim.Adam([p], lr=-0.1), ValueError, "learning rate"),
    ("Adam eps", lambda: optim.Adam([p], eps=-1), ValueError, "epsilon"),
    ("Adam beta", lambda: optim.Adam([p], betas=(1.0, 0.9)), ValueError, "beta parameter at index 0"),
    ("AdamW weight_decay", lambda: optim.AdamW([p], weight_decay=-1), ValueError, "weight_decay"),
    ("optimizer load_state_dict", lambda: sgd.load_state_dict({"state": {}, "param_groups": []}), ValueError,
     "parameter groups"),
    ("StepLR non-optimizer", lambda: optim.lr_scheduler.StepLR(object(), 2), TypeError, "not an Optimizer"),
    ("CosineAnnealingLR resume", lambda: optim.lr_scheduler.CosineAnnealingLR(sgd, 10, last_epoch=3), KeyError,
     "initial_lr"),
    # ---- save / load / load_state_dict
    ("save object entry", lambda: minigrad.save({"a": object()}, "/tmp/never.npz"), TypeError, "not an array"),
    ("save into a directory", lambda: minigrad.save({"a": np.ones(1)}, "/tmp"), IsADirectoryError, "/tmp"),
    ("save missing dir", lambda: minigrad.save({"a": np.ones(1)}, "/nonexistent/m.npz"), FileNotFoundError,
     "/nonexistent/m.npz"),
    ("load missing file", lambda: minigrad.load("/nonexistent/m.npz"), FileNotFoundError, "nonexistent"),
    ("load not an npz", lambda: minigrad.load(__file__), ValueError, "cannot load checkpoint"),
    ("load_state_dict missing", lambda: linear.load_state_dict({}), ValueError, "missing keys: weight"),
    ("load_state_dict unexpected", lambda: linear.load_state_dict({**linear.state_dict(), "x": np.ones(1)}),
     ValueError, "unexpected keys: x"),
    ("load_state_dict shape", lambda: linear.load_state_dict({**linear.state_dict(), "bias": np.ones(5)}),
     ValueError, "shape mismatches: bias"),
    ("load_state_dict dtype", lambda: linear.load_state_dict({**linear.state_dict(), "bias": np.ones(4, int)}),
     ValueError, "dtype mismatches: bias"),
    ("manual_seed float", lambda: minigrad.manual_seed(1.5), TypeError, "int"),
    ("manual_seed negative", lambda: minigrad.manual_seed(-1), ValueError, "non-negative"),
    # ---- data
    ("DataLoader no dataset", lambda: minigrad.data.DataLoader(3), TypeError, "__len__"),
    ("DataLoader batch_size 0", lambda: minigrad.data.DataLoader(ds, batch_size=0), ValueError, "at least 1"),
    ("DataLoader batch_size 2.0", lambda: minigrad.data.DataLoader(ds, batch_size=2.0), TypeError, "batch_size"),
    ("DataLoader seed -1", lambda: minigrad.data.DataLoader(ds, seed=-1), ValueError, "seed"),
    ("DataLoader seed 1.5", lambda: minigrad.data.DataLoader(ds, seed=1.5), TypeError, "seed"),
    ("DataLoader seed and generator", lambda: minigrad.data.DataLoader(ds, seed=1,
                                                                      generator=np.random.default_rng()),
     ValueError, "not both"),
    ("DataLoader generator type", lambda: minigrad.data.DataLoader(ds, generator=1), TypeError, "Generator"),
    ("TensorDataset empty", lambda: minigrad.data.TensorDataset(), ValueError, "at least one"),
    ("TensorDataset sizes", lambda: minigrad.data.TensorDataset(np.ones(3), np.ones(4)), ValueError, "3, 4"),
    ("TensorDataset scalar", lambda: minigrad.data.TensorDataset(np.float32(1)), ValueError, "scalar"),
    ("stack_samples empty", lambda: minigrad.data.stack_samples([]), ValueError, "empty"),
    ("stack_samples widths", lambda: minigrad.data.stack_samples([(1, 2), (1,)]), ValueError, "numbers of fields"),
    ("stack_samples ragged", lambda: minigrad.data.stack_samples([np.ones(2), np.ones(3)]), ValueError,
     "sample 1 has shape (3,)"),
    ("MNIST split", lambda: minigrad.data.MNIST("validation"), ValueError, "split must be one of"),
    ("FashionMNIST split", lambda: minigrad.data.FashionMNIST("dev"), ValueError, "split must be one of"),
    ("read_idx missing", lambda: minigrad.data.read_idx("/nonexistent-idx"), FileNotFoundError, "nonexistent"),
    ("write_idx int64", lambda: minigrad.data.write_idx("/tmp/never-idx", np.ones(2, np.int64)), TypeError,
     "cannot hold dtype int64"),
]


@pytest.mark.parametrize("call, error, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


def test_the_table_is_broad():
    assert len(CASES) >= 100
    assert len({c[0] for c in CASES}) == len(CASES)


def test_failed_calls_left_the_shared_objects_unchanged():
    for case in CASES:
        try:
            case[1]()
        except Exception:
            pass
    assert int(bn.num_batches_tracked.data) == 0
    np.testing.assert_array_equal(bn.running_mean.data, 0)
    np.testing.assert_array_equal(bn.running_var.data, 1)
    assert sgd.param_groups[0]["lr"] == 0.1
