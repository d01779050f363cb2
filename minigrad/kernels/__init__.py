"""The kernel layer: array functions (no Tensor, no autograd) behind one interface.

Two backends implement the same families with the same public names:

    "numpy"  minigrad/kernels/reference/   plain numpy, the textbook definitions
    "numba"  minigrad/kernels/fast/        parallel numba kernels (the default)

    family      functions
    batchnorm   batch_stats, normalize_train, scale_shift, backward_reduce, backward_dx
    conv        im2col, col2im, conv2d_forward, conv2d_backward
    pool        max_pool2d_forward, max_pool2d_backward, avg_pool2d_forward, avg_pool2d_backward
    activation  relu_forward, relu_backward

Shape rules and argument checks both share live in minigrad/kernels/shapes.py.

Ops import a family *proxy*, ``from minigrad.kernels import batchnorm as bn_kernels``;
``bn_kernels.normalize_train(...)`` looks the function up in the active
backend's module at call time (one dict lookup and one getattr), so switching
needs no re-import:

    import minigrad
    minigrad.set_backend("numpy")        # or the MINIGRAD_BACKEND environment variable
    with minigrad.backend("numba"):      # for a block; the previous one comes back after
        pass
    minigrad.get_backend()               # 'numpy'

A backend's modules are imported on its first use: with MINIGRAD_BACKEND=numpy,
numba is never imported. Nothing compiles at import; minigrad/kernels/fast/
says how numba's thread pool and cache are chosen. NUMBA_DISABLE_JIT=1 runs
the fast kernels as the plain Python they are written in (prange becomes
range), so a debugger can step into them.

Adding a backend (e.g. a GPU one on numba.cuda) touches neither ops/ nor nn/:
write a package, say minigrad/kernels/cuda/, with the four family modules and
the same public functions, and add ``"cuda": "minigrad.kernels.cuda"`` to
BACKENDS. Its functions take and return numpy arrays like the others (moving
them to and from the device inside, or keeping device arrays in the caches
that forward functions return, such as conv2d_forward's); the tests that
compare backends then cover it by adding its name to tests/conftest.py.
"""
import contextlib
import importlib
import os

BACKENDS = {"numpy": "minigrad.kernels.reference", "numba": "minigrad.kernels.fast"}
FAMILIES = ("batchnorm", "conv", "pool", "activation")
DEFAULT = "numba"

_modules = {}   # the active backend's family modules, by family name
_active = None


def _check_name(name):
    if name not in BACKENDS:
        raise ValueError(f"unknown kernel backend {name!r}; expected one of {sorted(BACKENDS)}")


def set_backend(name: str) -> None:
    """Make `name` ("numpy" or "numba") the backend every kernel call uses from now on."""
    global _active
    _check_name(name)
    modules = {f: importlib.import_module(f"{BACKENDS[name]}.{f}") for f in FAMILIES}
    _modules.update(modules)
    _active = name


def get_backend() -> str:
    """The active backend's name; the first call settles MINIGRAD_BACKEND or the default."""
    if _active is None:
        set_backend(os.environ.get("MINIGRAD_BACKEND", DEFAULT))
    return _active


def backend(name: str):
    """``with backend("numpy"):`` runs the block on that backend, then restores the previous.

    The name is checked at the call, before any `with`.
    """
    _check_name(name)
    return _switched(name)


@contextlib.contextmanager
def _switched(name):
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


class _Family:
    """Stands for one kernel family; attributes come from the active backend's module."""

    def __init__(self, family):
        self._family = family

    def __getattr__(self, name):
        module = _modules.get(self._family)
        if module is None:          # first kernel call: settle the backend now
            get_backend()
            module = _modules[self._family]
        return getattr(module, name)

    def __repr__(self):
        return f"<minigrad kernels {self._family!r} on the {get_backend()!r} backend>"


# A misspelt MINIGRAD_BACKEND fails at import, not at the first kernel call.
if "MINIGRAD_BACKEND" in os.environ:
    _check_name(os.environ["MINIGRAD_BACKEND"])

batchnorm = _Family("batchnorm")
conv = _Family("conv")
pool = _Family("pool")
activation = _Family("activation")
