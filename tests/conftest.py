"""Fixtures shared by the test files."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    """A numpy generator with a fixed seed, fresh for every test."""
    return np.random.default_rng(0)


@pytest.fixture
def one_numba_thread():
    """Gradchecks run thousands of tiny kernels: with several threads each launch
    costs more than its work, and far more on a loaded machine."""
    import numba
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(previous)
