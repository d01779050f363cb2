"""Every op in one table: one row per case, three checks per row (tests/optable.py).

For each row: forward values against numpy (`ref=`) or PyTorch in float64, in
float32 and float64 (one tolerance rule per dtype, optable.TOLERANCE; float32
must stay float32); a float64 finite-difference gradcheck; and, where torch is
installed, forward and backward parity with PyTorch.

Rows keep away from kinks: abs/relu/leaky_relu/elu inputs away from 0, max
without ties, clip inputs away from the bounds. The tie rules and numerical
stability have their own tests below the table, with hand-written expectations.
"""
import warnings

import numpy as np
import pytest

import minigrad
from minigrad import Tensor
from optable import A, Case, Const, N, P, T, U, assert_close, make_arrays, run_minigrad, run_torch

# Every value checked on both kernel backends (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("backend")

F32, F64 = np.float32, np.float64
LABELS = Const(np.array([1, 0, 3, 3, 2]))
IGNORED = Const(np.array([1, -100, 3, 0, -100]))
PROBS = Const(np.random.default_rng(5).uniform(0.0, 1.0, (4, 3)))
MASK = Const(np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]]))


def amax(dim, keepdim=False):
    """torch's max(dim) returns (values, indices); ours returns the values (torch.amax)."""
    return lambda m, a: a.amax(dim=dim, keepdim=keepdim)


CASES = [
    # ---- arithmetic, matmul, elementwise, reductions, shape, indexing, joining, softmax
    Case('add', [N(3, 4), N(3, 4)], lambda m, a, b: a + b),
    Case('add broadcast (4,1,3) (5,1)', [N(4, 1, 3), N(5, 1)], lambda m, a, b: a + b),
    Case('add 0-d', [N(), N(3)], lambda m, a, b: a + b),
    Case('add constant', [N(3)], lambda m, a: 2.5 + a),
    Case('sub broadcast', [N(3, 1), N(1, 4)], lambda m, a, b: a - b),
    Case('rsub constant', [N(2, 3)], lambda m, a: 1.0 - a),
    Case('mul', [N(3, 4), N(3, 4)], lambda m, a, b: a * b),
    Case('mul broadcast (4,1,3) (5,1)', [N(4, 1, 3), N(5, 1)], lambda m, a, b: a * b),
    Case('mul same tensor twice', [N(5)], lambda m, a: a * a),
    Case('mul non-contiguous', [T(3, 4), N(4)], lambda m, a, b: a * b),
    Case('div', [N(3, 4), A(3, 4)], lambda m, a, b: a / b),
    Case('div broadcast', [N(2, 1, 4), A(3, 1)], lambda m, a, b: a / b),
    Case('rdiv constant', [A(4)], lambda m, b: 2.0 / b),
    Case('pow 2', [N(3, 4)], lambda m, a: a ** 2),
    Case('pow 3', [N(3)], lambda m, a: a ** 3, ref=lambda a: a * a * a),
    Case('pow 0.5', [P(3, 4)], lambda m, a: a ** 0.5, ref=np.sqrt),
    Case('pow -1.5', [P(4)], lambda m, a: a ** -1.5),
    Case('neg', [N(2, 3)], lambda m, a: -a),
    Case('matmul 2-D', [N(3, 4), N(4, 5)], lambda m, a, b: a @ b, ref=lambda a, b: np.einsum('ik,kj->ij', a, b)),
    Case('matmul batched', [N(2, 3, 4), N(2, 4, 5)], lambda m, a, b: a @ b),
    Case('matmul broadcast batch', [N(2, 1, 3, 4), N(5, 4, 2)], lambda m, a, b: a @ b),
    Case('matmul batched @ 2-D', [N(2, 3, 4), N(4, 5)], lambda m, a, b: a @ b),
    Case('matmul 1-D @ 2-D', [N(4), N(4, 3)], lambda m, a, b: a @ b),
    Case('matmul 2-D @ 1-D', [N(3, 4), N(4)], lambda m, a, b: a @ b),
    Case('matmul 1-D @ 1-D', [N(4), N(4)], lambda m, a, b: a @ b, ref=lambda a, b: (a * b).sum()),
    Case('matmul 1-D @ batched', [N(4), N(2, 4, 3)], lambda m, a, b: a @ b),
    Case('matmul batched @ 1-D', [N(2, 3, 4), N(4)], lambda m, a, b: a @ b),
    Case('matmul size-1 dims', [N(1, 4), N(4, 1)], lambda m, a, b: a @ b),
    Case('matmul non-contiguous', [T(3, 4), T(4, 2)], lambda m, a, b: a @ b),
    Case('exp', [N(3, 4)], lambda m, a: a.exp(), ref=np.exp),
    Case('log', [P(3, 4)], lambda m, a: a.log(), ref=np.log),
    Case('sqrt', [P(3, 4)], lambda m, a: a.sqrt(), ref=np.sqrt),
    Case('abs', [A(3, 4)], lambda m, a: a.abs(), ref=np.abs),
    Case('relu', [A(3, 4)], lambda m, a: a.relu(), ref=lambda a: np.where(a > 0, a, 0.0)),
    Case('relu non-contiguous', [lambda rng: A(4, 3)(rng).T], lambda m, a: m.relu(a)),
    Case('sigmoid', [lambda rng: 3 * rng.standard_normal((3, 4))], lambda m, a: a.sigmoid(), ref=lambda a: 1 / (1 + np.exp(-a))),
    Case('tanh', [N(3, 4)], lambda m, a: a.tanh(), ref=np.tanh),
    Case('maximum', [N(3, 4), N(3, 4)], lambda m, a, b: m.maximum(a, b)),
    Case('maximum broadcast', [N(4, 1, 3), N(5, 1)], lambda m, a, b: m.maximum(a, b)),
    Case('maximum constant', [A(6)], lambda m, a: a.maximum(0.1),
         torch=lambda m, a: a.maximum(m.tensor(0.1, dtype=m.float64))),
    Case('minimum', [N(3, 4), N(3, 4)], lambda m, a, b: m.minimum(a, b)),
    Case('minimum broadcast', [N(3, 1), N(1, 4)], lambda m, a, b: m.minimum(a, b)),
    Case('clip', [N(4, 5)], lambda m, a: a.clip(-0.5, 0.7), ref=lambda a: np.minimum(np.maximum(a, -0.5), 0.7)),
    Case('clip min only', [N(4, 5)], lambda m, a: a.clip(min=0.2)),
    Case('clip max only', [N(4, 5)], lambda m, a: a.clip(max=-0.2)),
    Case('sum all', [N(3, 4)], lambda m, a: a.sum()),
    Case('sum axis', [N(3, 4, 2)], lambda m, a: a.sum(axis=1), ref=lambda a: a.sum(axis=1)),
    Case('sum negative axis', [N(3, 4)], lambda m, a: a.sum(axis=-1)),
    Case('sum axes tuple', [N(3, 4, 2)], lambda m, a: a.sum(axis=(0, 2))),
    Case('sum keepdims', [N(3, 4)], lambda m, a: a.sum(axis=1, keepdims=True)),
    Case('sum all keepdims', [N(3, 4)], lambda m, a: a.sum(keepdims=True),
         torch=lambda m, a: a.sum(dim=(0, 1), keepdim=True)),
    Case('sum dim keepdim', [N(3, 4)], lambda m, a: a.sum(dim=0, keepdim=True)),
    Case('sum size-1 axis', [N(3, 1)], lambda m, a: a.sum(axis=1)),
    Case('sum non-contiguous', [T(3, 4)], lambda m, a: a.sum(axis=0)),
    Case('mean all', [N(3, 4)], lambda m, a: a.mean()),
    Case('mean axis', [N(3, 4)], lambda m, a: a.mean(axis=0), ref=lambda a: a.mean(axis=0)),
    Case('mean axes tuple keepdims', [N(2, 3, 4)], lambda m, a: a.mean(axis=(1, 2), keepdims=True)),
    Case('max all', [N(3, 4)], lambda m, a: a.max()),
    Case('max axis', [N(3, 4)], lambda m, a: a.max(axis=1), ref=lambda a: a.max(axis=1),
         torch=amax(1)),
    Case('max axes tuple', [N(3, 4, 2)], lambda m, a: a.max(axis=(0, 2)),
         torch=amax((0, 2))),
    Case('max keepdims', [N(3, 4)], lambda m, a: a.max(axis=0, keepdims=True),
         torch=amax(0, True)),
    Case('max size-1 axis', [N(1, 4)], lambda m, a: a.max(axis=0),
         torch=amax(0)),
    Case('var all unbiased', [N(3, 4)], lambda m, a: a.var()),
    Case('var all biased', [N(3, 4)], lambda m, a: a.var(unbiased=False), ref=lambda a: ((a - a.mean()) ** 2).mean()),
    Case('var axis unbiased', [N(3, 4)], lambda m, a: a.var(axis=1), ref=lambda a: ((a - a.mean(1, keepdims=True)) ** 2).sum(1) / 3),
    Case('var axis biased', [N(3, 4)], lambda m, a: a.var(axis=0, unbiased=False)),
    Case('var axes tuple keepdims', [N(3, 2, 4)], lambda m, a: a.var(axis=(0, 2), keepdims=True)),
    Case('var axes tuple biased', [N(3, 2, 4)], lambda m, a: a.var(axis=(0, 2), unbiased=False)),
    Case('var non-contiguous', [T(3, 4)], lambda m, a: a.var(axis=1)),
    Case('reshape', [N(3, 4)], lambda m, a: a.reshape(4, 3)),
    Case('reshape -1', [N(3, 4)], lambda m, a: a.reshape((2, -1))),
    Case('reshape non-contiguous', [T(3, 4)], lambda m, a: a.reshape(12)),
    Case('transpose', [N(2, 3, 4)], lambda m, a: a.transpose(0, 2), ref=lambda a: a.transpose(2, 1, 0)),
    Case('permute', [N(2, 3, 4)], lambda m, a: a.permute(2, 0, 1)),
    Case('T', [N(3, 4)], lambda m, a: a.T),
    Case('flatten', [N(2, 3, 4)], lambda m, a: a.flatten(), ref=np.ravel),
    Case('flatten range', [N(2, 3, 4, 2)], lambda m, a: a.flatten(1, 2)),
    Case('squeeze all', [N(3, 1, 4, 1)], lambda m, a: a.squeeze()),
    Case('squeeze dim', [N(3, 1, 4, 1)], lambda m, a: a.squeeze(-1)),
    Case('unsqueeze', [N(3, 4)], lambda m, a: a.unsqueeze(1), ref=lambda a: a[:, None]),
    Case('unsqueeze last', [N(3, 4)], lambda m, a: a.unsqueeze(-1)),
    Case('getitem slices', [N(4, 5)], lambda m, a: a[1:3, ::2]),
    Case('getitem negative step', [N(4, 5)], lambda m, a: a[::-1, 1],
         torch=lambda m, a: a.flip(0)[:, 1]),
    Case('getitem int', [N(4, 5)], lambda m, a: a[2]),
    Case('getitem ellipsis None', [N(2, 3, 4)], lambda m, a: a[..., None, 0]),
    Case('getitem repeated int array', [N(4, 3)], lambda m, a: a[np.array([0, 2, 0, 0])], ref=lambda a: a[[0, 2, 0, 0]]),
    Case('getitem list', [N(4)], lambda m, a: a[[1, 1, 3]]),
    Case('getitem tensor index', [N(4, 2)], lambda m, a: a[m.tensor(np.array([3, 3, 0]))]),
    Case('getitem bool mask', [N(2, 3)], lambda m, a: a[np.array([[True, False, True], [False, False, True]])]),
    Case('getitem row mask', [N(4, 3)], lambda m, a: a[np.array([True, False, True, True])]),
    Case('getitem slice and array', [N(3, 5)], lambda m, a: a[1:, np.array([0, 0, 4])]),
    Case('getitem array pairs', [N(3, 4)], lambda m, a: a[np.array([0, 0, 2]), np.array([1, 1, 3])]),
    Case('getitem non-contiguous', [T(3, 4)], lambda m, a: a[np.array([2, 2]), 1:]),
    Case('cat dim 0', [N(2, 3), N(4, 3), N(1, 3)], lambda m, a, b, c: m.cat([a, b, c])),
    Case('cat dim -1', [N(2, 3), N(2, 1)], lambda m, a, b: m.cat([a, b], dim=-1)),
    Case('cat with constant', [N(2, 3)], lambda m, a: m.cat([a, np.ones((1, 3))], dim=0),
         torch=lambda m, a: m.cat([a, m.ones((1, 3), dtype=m.float64)], dim=0)),
    Case('stack dim 0', [N(2, 3), N(2, 3)], lambda m, a, b: m.stack([a, b]), ref=lambda a, b: np.stack([a, b])),
    Case('stack last dim', [N(2, 3), N(2, 3), N(2, 3)], lambda m, a, b, c: m.stack([a, b, c], dim=-1)),
    Case('stack same tensor', [N(3)], lambda m, a: m.stack([a, a * 2], dim=1)),
    Case('pad last axis', [N(2, 3)], lambda m, a: m.pad(a, (1, 2)),
         torch=lambda m, a: m.nn.functional.pad(a, (1, 2))),
    Case('pad two axes with value', [N(2, 3, 4)], lambda m, a: m.pad(a, (1, 0, 2, 3), value=1.5), ref=lambda a: np.pad(a, ((0, 0), (2, 3), (1, 0)), constant_values=1.5),
         torch=lambda m, a: m.nn.functional.pad(a, (1, 0, 2, 3), value=1.5)),
    Case('softmax last', [N(3, 5)], lambda m, a: a.softmax(dim=-1), ref=lambda a: np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)),
    Case('softmax dim 0', [N(3, 5)], lambda m, a: m.softmax(a, dim=0)),
    Case('softmax axis 3-D', [N(2, 3, 4)], lambda m, a: m.softmax(a, axis=1)),
    Case('softmax size-1 axis', [N(3, 1)], lambda m, a: a.softmax(dim=1)),
    Case('log_softmax last', [N(3, 5)], lambda m, a: a.log_softmax(dim=-1)),
    Case('log_softmax dim 0', [N(3, 5)], lambda m, a: m.log_softmax(a, dim=0), ref=lambda a: a - np.log(np.exp(a).sum(axis=0, keepdims=True))),
    Case('log_softmax non-contiguous', [T(3, 4)], lambda m, a: a.log_softmax(dim=1)),
    Case('mlp layer', [N(5, 3), N(3, 4), N(4)], lambda m, x, w, b: (x @ w + b).tanh().sum(axis=1)),
    Case('normalize', [N(6, 3)], lambda m, x: (x - x.mean(axis=0)) / (x.var(axis=0, unbiased=False) + 1e-5).sqrt()),
    # ---- new elementwise ops and tensor exponents
    Case("sin", [N(3, 4)], lambda m, a: a.sin(), ref=np.sin),
    Case("cos", [N(3, 4)], lambda m, a: m.cos(a), ref=np.cos),
    Case("erf", [N(3, 4)], lambda m, a: m.erf(a)),
    Case("pow tensor exponent", [P(3, 4), N(3, 4)], lambda m, a, b: a ** b, ref=lambda a, b: a ** b),
    Case("pow tensor broadcast", [P(3, 1), N(4)], lambda m, a, b: a ** b),
    Case("rpow number ** tensor", [N(3, 4)], lambda m, a: 2.0 ** a, ref=lambda a: 2.0 ** a),
    # ---- new reductions
    Case("min all", [N(3, 4)], lambda m, a: a.min(), ref=np.min),
    Case("min dim", [N(3, 4)], lambda m, a: a.min(dim=1), torch=lambda m, a: a.amin(dim=1)),
    Case("min keepdim", [N(3, 4)], lambda m, a: m.min(a, dim=0, keepdim=True),
         torch=lambda m, a: a.amin(dim=0, keepdim=True)),
    Case("max dim keepdim", [N(3, 4)], lambda m, a: a.max(dim=1, keepdim=True), torch=amax(1, True)),
    Case("std all", [N(3, 4)], lambda m, a: a.std(), ref=lambda a: a.std(ddof=1)),
    Case("std dim biased", [N(3, 4)], lambda m, a: a.std(dim=1, unbiased=False)),
    Case("std keepdim", [N(3, 4)], lambda m, a: m.std(a, dim=0, keepdim=True)),
    Case("cumsum dim 1", [N(3, 4)], lambda m, a: a.cumsum(1), ref=lambda a: np.cumsum(a, 1)),
    Case("cumsum dim 0 3-D", [N(3, 2, 2)], lambda m, a: m.cumsum(a, 0)),
    Case("cumsum negative dim", [T(3, 4)], lambda m, a: m.cumsum(a, -1)),
    # ---- new shape ops
    Case("expand", [N(3, 1)], lambda m, a: a.expand(3, 4)),
    Case("expand new axes and -1", [N(1, 4)], lambda m, a: a.expand(2, 3, -1)),
    Case("repeat", [N(2, 3)], lambda m, a: a.repeat(2, 3), ref=lambda a: np.tile(a, (2, 3))),
    Case("repeat new axes", [N(2, 3)], lambda m, a: a.repeat(2, 1, 2)),
    Case("flip one dim", [N(3, 4)], lambda m, a: a.flip((0,)), ref=lambda a: a[::-1]),
    Case("flip two dims", [N(2, 3, 4)], lambda m, a: m.flip(a, (0, 2))),
    # ---- selection
    Case("where", [N(3, 4), N(3, 4)], lambda m, a, b: m.where(a > b, a, b), ref=np.maximum),
    Case("where with a number", [N(3, 4)], lambda m, a: m.where(a > 0, a, 0.5)),
    Case("where broadcast", [N(3, 1), N(4)], lambda m, a, b: m.where(a > b, a, b)),
    Case("masked_fill", [N(3, 4), MASK], lambda m, a, mask: a.masked_fill(mask, -1.5)),
    Case("masked_fill broadcast mask", [N(3, 4), Const(np.array([True, False, False, True]))],
         lambda m, a, mask: m.masked_fill(a, mask, 2.0)),
    Case("gather dim 1", [N(3, 4), Const(np.array([[0, 0], [3, 1], [2, 2]]))],
         lambda m, a, i: a.gather(1, i), ref=lambda a, i: np.take_along_axis(a, i, 1)),
    Case("gather dim 0 smaller index", [N(4, 3), Const(np.array([[1, 0], [3, 3]]))],
         lambda m, a, i: m.gather(a, 0, i)),
    Case("tril", [N(4, 5)], lambda m, a: a.tril(), ref=np.tril),
    Case("tril diagonal -1 batched", [N(2, 4, 4)], lambda m, a: m.tril(a, -1)),
    Case("triu diagonal 1", [N(3, 5)], lambda m, a: m.triu(a, 1), ref=lambda a: np.triu(a, 1)),
    # ---- activations
    Case("leaky_relu", [A(3, 4)], lambda m, a: m.nn.functional.leaky_relu(a)),
    Case("leaky_relu slope", [A(3, 4)], lambda m, a: m.nn.functional.leaky_relu(a, 0.2)),
    Case("gelu", [N(3, 4)], lambda m, a: m.nn.functional.gelu(a)),
    Case("gelu tanh", [N(3, 4)], lambda m, a: m.nn.functional.gelu(a, approximate="tanh")),
    Case("elu", [A(3, 4)], lambda m, a: m.nn.functional.elu(a)),
    Case("elu alpha", [A(3, 4)], lambda m, a: m.nn.functional.elu(a, 0.5)),
    Case("silu", [N(3, 4)], lambda m, a: m.nn.functional.silu(a)),
    Case("softplus", [N(3, 4)], lambda m, a: m.nn.functional.softplus(a)),
    Case("softplus beta threshold", [U(-3, 3, 3, 4)], lambda m, a: m.nn.functional.softplus(a, 2.0, 1.5)),
    Case("hardtanh", [U(-2, 2, 3, 4)], lambda m, a: m.nn.functional.hardtanh(a)),
    Case("hardtanh bounds", [U(-2, 2, 3, 4)], lambda m, a: m.nn.functional.hardtanh(a, -0.5, 1.5)),
    # ---- losses
    Case("bce", [U(0.05, 0.95, 4, 3), PROBS], lambda m, p, t: m.nn.functional.binary_cross_entropy(p, t)),
    Case("bce weight sum", [U(0.05, 0.95, 4, 3), PROBS, Const(np.array([0.5, 1.0, 2.0]))],
         lambda m, p, t, w: m.nn.functional.binary_cross_entropy(p, t, w, reduction="sum")),
    Case("bce_with_logits", [N(4, 3), PROBS],
         lambda m, x, t: m.nn.functional.binary_cross_entropy_with_logits(x, t)),
    Case("bce_with_logits pos_weight none", [N(4, 3), PROBS, Const(np.array([0.5, 1.0, 3.0]))],
         lambda m, x, t, pw: m.nn.functional.binary_cross_entropy_with_logits(
             x, t, reduction="none", pos_weight=pw)),
    Case("bce_with_logits target grad", [N(4, 3), U(0, 1, 4, 3)],
         lambda m, x, t: m.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="sum")),
    Case("cross_entropy ignore_index", [N(5, 4), IGNORED], lambda m, x, t: m.nn.functional.cross_entropy(x, t)),
    Case("cross_entropy ignore_index=2 sum", [N(5, 4), LABELS],
         lambda m, x, t: m.nn.functional.cross_entropy(x, t, ignore_index=2, reduction="sum")),
    Case("cross_entropy label_smoothing", [N(5, 4), LABELS],
         lambda m, x, t: m.nn.functional.cross_entropy(x, t, label_smoothing=0.1)),
    Case("cross_entropy smoothing and ignore", [N(5, 4), IGNORED],
         lambda m, x, t: m.nn.functional.cross_entropy(x, t, label_smoothing=0.2)),
    Case("cross_entropy smoothing none 4-D", [N(2, 3, 2, 2), Const(np.array([[[0, 2], [1, 1]], [[2, 0], [0, 1]]]))],
         lambda m, x, t: m.nn.functional.cross_entropy(x, t, reduction="none", label_smoothing=0.3)),
    Case("nll_loss ignore_index", [N(5, 4), IGNORED], lambda m, x, t: m.nn.functional.nll_loss(x, t)),
    # ---- convolutions and adaptive pooling
    Case("conv2d groups", [N(2, 4, 5, 5), N(6, 2, 3, 3), N(6)],
         lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, groups=2)),
    Case("conv2d depthwise", [N(1, 3, 5, 5), N(3, 1, 3, 3)],
         lambda m, x, w: m.nn.functional.conv2d(x, w, padding=1, groups=3)),
    Case("conv2d same", [N(1, 2, 5, 5), N(3, 2, 3, 3)],
         lambda m, x, w: m.nn.functional.conv2d(x, w, padding="same")),
    Case("conv2d same even kernel dilated", [N(1, 2, 6, 5), N(3, 2, 4, 2)],
         lambda m, x, w: m.nn.functional.conv2d(x, w, padding="same", dilation=(1, 2))),
    Case("conv2d valid", [N(1, 2, 5, 5), N(3, 2, 2, 3)],
         lambda m, x, w: m.nn.functional.conv2d(x, w, padding="valid")),
    Case("conv1d", [N(2, 3, 7), N(4, 3, 3), N(4)],
         lambda m, x, w, b: m.nn.functional.conv1d(x, w, b, stride=2, padding=1)),
    Case("conv1d groups same", [N(2, 4, 6), N(4, 2, 4)],
         lambda m, x, w: m.nn.functional.conv1d(x, w, padding="same", groups=2)),
    Case("conv_transpose2d", [N(2, 3, 4, 4), N(3, 2, 3, 3), N(2)],
         lambda m, x, w, b: m.nn.functional.conv_transpose2d(x, w, b)),
    Case("conv_transpose2d stride padding output_padding", [N(1, 2, 3, 4), N(2, 3, 3, 2)],
         lambda m, x, w: m.nn.functional.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)),
    Case("conv_transpose2d groups dilation crop", [N(1, 4, 5, 3), N(4, 1, 2, 3)],
         lambda m, x, w: m.nn.functional.conv_transpose2d(x, w, stride=(1, 2), padding=(3, 0), groups=2,
                                                          dilation=2)),
    Case("adaptive_avg_pool2d divisible", [N(2, 3, 6, 4)],
         lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (3, 2))),
    Case("adaptive_avg_pool2d non-divisible", [N(2, 3, 7, 5)],
         lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (3, 4))),
    Case("adaptive_avg_pool2d 3-D None", [N(3, 5, 7)],
         lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (None, 3))),
]
IDS = [case.name for case in CASES]


def reference(case, arrays):
    """The float64 reference output: numpy's `ref`, else PyTorch's."""
    if case.ref is not None:
        return case.ref(*[x.value if isinstance(x, Const) else x for x in arrays])
    if case.torch is None:
        pytest.skip(f"{case.name}: no numpy reference and no PyTorch counterpart")
    pytest.importorskip("torch", reason=f"{case.name}: the reference is PyTorch, which is not installed")
    out, _ = run_torch(case, arrays)
    return out.detach().numpy()


def test_names_are_unique():
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward(case, dtype):
    arrays = make_arrays(case)
    out, _ = run_minigrad(case, arrays, dtype, requires_grad=False)
    expected = np.asarray(reference(case, arrays))
    assert out.shape == expected.shape
    if out.dtype.kind == "f":
        assert out.dtype == dtype, f"{case.name}: {np.dtype(dtype)} in, {out.dtype} out"
    assert_close(out.data, expected, dtype, case.name)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck(case, one_numba_thread):
    _, inputs = run_minigrad(case, make_arrays(case))
    assert minigrad.gradcheck(lambda *xs: case.fn(minigrad, *xs), *inputs)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_torch_parity(case):
    torch = pytest.importorskip("torch")
    if case.torch is None:
        pytest.skip(f"{case.name}: no PyTorch counterpart")
    arrays = make_arrays(case)
    out, ours = run_minigrad(case, arrays)
    expected, theirs = run_torch(case, arrays)
    assert_close(out.data, expected.detach().numpy(), F64, f"{case.name} forward")
    projection = np.random.default_rng(1).standard_normal(out.shape)
    (out * projection).sum().backward()
    (expected * torch.from_numpy(np.asarray(projection))).sum().backward()
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if isinstance(a, Tensor) and a.requires_grad:
            assert_close(a.grad, b.grad.numpy(), F64, f"{case.name} gradient of input {i}")


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ---- indexing accumulates gradients of repeated elements -------------------------------

def test_repeated_integer_indices_accumulate():
    x = leaf([10.0, 20.0, 30.0, 40.0])
    weights = np.array([1.0, 2.0, 3.0, 4.0])
    (x[np.array([0, 2, 0, 0])] * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0 + 3.0 + 4.0, 0.0, 2.0, 0.0])


def test_repeated_index_pairs_accumulate():
    x = leaf(np.zeros((2, 3)))
    x[np.array([1, 1, 0]), np.array([2, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])


def test_boolean_mask_routes_gradient_to_selected_elements():
    x = leaf(np.arange(6.0).reshape(2, 3))
    mask = np.array([[True, False, True], [False, True, False]])
    (x[mask] * np.array([5.0, 6.0, 7.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[5.0, 0.0, 6.0], [0.0, 7.0, 0.0]])


# ---- documented tie rules ----------------------------------------------------------------

def test_max_splits_the_gradient_evenly_among_ties():
    x = leaf([1.0, 3.0, 3.0, 2.0])
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5, 0.0])


def test_max_along_an_axis_splits_ties_per_row():
    x = leaf([[1.0, 5.0, 5.0], [2.0, 2.0, 0.0], [4.0, 4.0, 4.0]])
    (x.max(axis=1) * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.5, 0.5], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])


def test_maximum_and_minimum_give_half_to_each_side_on_equality():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 0.0, 3.0])
    minigrad.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0, 0.5])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 0.5])

    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 0.0, 3.0])
    minigrad.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0, 0.5])


def test_maximum_ties_under_broadcasting():
    a, b = leaf([[1.0], [2.0]]), leaf([1.0, 2.0, 3.0])
    minigrad.maximum(a, b).sum().backward()
    # row 0: a=1 ties b[0], loses to b[1], b[2]; row 1: a=2 beats b[0], ties b[1], loses to b[2]
    np.testing.assert_array_equal(a.grad, [[0.5], [1.5]])
    np.testing.assert_array_equal(b.grad, [0.5, 1.5, 2.0])


def test_relu_and_abs_have_zero_gradient_at_zero():
    x = leaf([-1.0, 0.0, 2.0])
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])
    x = leaf([-2.0, 0.0, 3.0])
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 0.0, 1.0])


def test_clip_passes_the_gradient_at_the_bounds():
    x = leaf([-2.0, -1.0, 0.0, 1.0, 2.0])
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


# ---- numerical stability -------------------------------------------------------------------

def no_float_errors():
    """Overflow, division by zero and invalid values raise; underflow to 0 is fine."""
    return np.errstate(over="raise", divide="raise", invalid="raise")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_at_extreme_inputs(dtype):
    x = Tensor(np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype), requires_grad=True)
    with no_float_errors(), warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.sigmoid()
        y.sum().backward()
    assert y.dtype == dtype
    assert y.data[0] == 0.0 and y.data[-1] == 1.0 and y.data[2] == 0.5
    np.testing.assert_allclose(y.data[1], np.exp(-50.0), rtol=1e-5)
    assert np.isfinite(x.grad).all()
    assert x.grad[0] == 0.0 and x.grad[-1] == 0.0 and x.grad[2] == 0.25


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_and_softmax_are_stable_for_huge_logits(dtype):
    logits = np.array([[3e4, -3e4, 0.0], [-3e4, -3e4, -3e4]], dtype=dtype)
    x = Tensor(logits, requires_grad=True)
    with no_float_errors(), warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.log_softmax(dim=1)
        out.sum().backward()
        probabilities = Tensor(logits).softmax(dim=1)
    np.testing.assert_allclose(out.data, [[0.0, -6e4, -3e4], [np.log(1 / 3)] * 3], rtol=1e-6)
    # d/dx_j sum_i log_softmax_i = 1 - n * softmax_j
    np.testing.assert_allclose(x.grad, [[-2.0, 1.0, 1.0], [0.0, 0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(probabilities.data, [[1.0, 0.0, 0.0], [1 / 3] * 3], rtol=1e-6)
