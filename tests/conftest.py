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


@pytest.fixture(scope="module", params=["numpy", "numba"])
def backend(request):
    """Runs a module's tests once per kernel backend, restoring the previous one after.

    A module opts in with `pytestmark = pytest.mark.usefixtures("backend")`. Module
    scope: pytest then runs all of a module's tests on one backend, then on the
    other, and hypothesis tests may use it (it is not reset between examples).
    """
    import minigrad
    with minigrad.backend(request.param):
        yield request.param


@pytest.fixture
def adoptions(monkeypatch):
    """A list that records, for each gradient a leaf receives, whether the leaf adopted
    the array itself (True) or copied it (False): the engine's one-copy-fewer rule."""
    from minigrad.tensor import Tensor
    seen = []
    original = Tensor._accumulate_grad

    def record(self, grad, owned=False):
        original(self, grad, owned)
        seen.append(self.grad is grad)

    monkeypatch.setattr(Tensor, "_accumulate_grad", record)
    return seen
