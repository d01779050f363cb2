"""The backend switch: set_backend, get_backend, the context manager, the proxies."""
import importlib
import inspect

import numpy as np
import pytest

import minigrad
from minigrad import kernels
from minigrad.kernels import batchnorm as bn_kernels


def test_the_proxies_follow_the_active_backend_at_call_time():
    with minigrad.backend("numpy"):
        assert minigrad.get_backend() == "numpy"
        assert bn_kernels.normalize_train.__module__ == "minigrad.kernels.reference.batchnorm"
        with minigrad.backend("numba"):
            assert kernels.conv.im2col.__module__ == "minigrad.kernels.fast.conv"
        assert kernels.pool.max_pool2d_forward.__module__ == "minigrad.kernels.reference.pool"


def test_set_backend_and_the_context_manager_restore_the_previous_one():
    before = minigrad.get_backend()
    try:
        minigrad.set_backend("numpy")
        with pytest.raises(RuntimeError):
            with minigrad.backend("numba"):
                raise RuntimeError("inside")
        assert minigrad.get_backend() == "numpy"   # restored despite the exception
    finally:
        minigrad.set_backend(before)


@pytest.mark.parametrize("call", [minigrad.set_backend, minigrad.backend])
def test_an_unknown_backend_names_the_valid_ones(call):
    before = minigrad.get_backend()
    with pytest.raises(ValueError, match=r"unknown kernel backend 'torch'.*'numba', 'numpy'"):
        call("torch")
    assert minigrad.get_backend() == before


def _public_functions(module):
    """name -> plain function (a numba kernel's Python source) defined in module."""
    functions = {}
    for name, f in vars(module).items():
        f = getattr(f, "py_func", f)          # numba dispatchers wrap the Python function
        if inspect.isfunction(f) and not name.startswith("_") and f.__module__ == module.__name__:
            functions[name] = f
    return functions


@pytest.mark.parametrize("family", kernels.FAMILIES)
def test_both_backends_have_the_same_public_functions(family):
    reference, fast = (_public_functions(importlib.import_module(f"{path}.{family}"))
                       for path in (kernels.BACKENDS["numpy"], kernels.BACKENDS["numba"]))
    assert set(reference) == set(fast)
    for name in reference:
        assert inspect.signature(reference[name]) == inspect.signature(fast[name]), name


def test_a_layer_gives_the_same_values_on_both_backends():
    x = minigrad.Tensor(np.random.default_rng(0).normal(size=(6, 3, 4, 4)).astype(np.float32))
    layer = minigrad.nn.BatchNorm2d(3)
    outs = []
    for name in ("numpy", "numba"):
        with minigrad.backend(name):
            outs.append(layer(x).numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-5)
