"""The fast backend ("numba"): parallel numba kernels with the reference's names.

Importing this package configures numba for minigrad; it happens on the first
use of the numba backend (minigrad/kernels/__init__.py), never at `import
minigrad`, and compiles nothing: each kernel compiles on its first call.

Threading. A training step alternates numba kernels with OpenBLAS matrix
products, and on a 2-core machine the choice of numba's thread pool decides
whether they share the cores or fight over them (benchmarks/README.md,
optimisations 1 and 2):

* `omp` keeps its workers spinning after each kernel, taking the cores
  OpenBLAS's threads need next: a step of the MNIST CNN took 3.5x PyTorch's time;
* `workqueue` sleeps, but waking it costs ~0.12 ms per kernel launch: 1.53x;
* `tbb` (Intel oneTBB, the `tbb` wheel) launches cheaply and yields the cores
  when idle: 1.37-1.41x.

So minigrad asks for tbb first when its library loads, else workqueue, then
omp; the priority list always names all three layers (numba requires a
permutation of them) and a user's NUMBA_THREADING_LAYER(_PRIORITY) wins. The
pip wheel puts libtbb in the environment's lib/ folder, which the dynamic
loader does not search; loading it once by full path makes numba's later load
by name find it. This must happen before numba launches its pool: by the first
parallel kernel, or by `numba.set_num_threads`, so a program that calls numba
itself should `import minigrad.kernels.fast` first (the benchmarks do).

BLAS threads. The products that stay with BLAS (Linear's, and convolutions the
direct loops do not serve) are small next to the numba kernels around them, and
OpenBLAS's workers spin for about 0.1 s after each product (OPENBLAS_THREAD_TIMEOUT,
2^28 cycles by default), holding a core that numba's pool needs for the next kernel:
the MNIST CNN's step took 6.55 ms with two BLAS threads and 4.05 ms with one
(benchmarks/README.md, "BLAS at one thread"). So loading this backend caps
OpenBLAS at one thread (threadpoolctl), for the whole process, unless the user
chose a count in the environment (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS);
threadpoolctl's `threadpool_limits(2, "blas")` sets another count afterwards.

Cache. `cache=True` keeps compiled kernels on disk (a parallel kernel takes
0.5-2 s to compile). `jit` picks the first writable place: NUMBA_CACHE_DIR if
the user set it (numba's own rule: the user's choice wins), else the package
folder (numba's default, __pycache__ beside the source), else the user cache folder
($XDG_CACHE_HOME/minigrad or ~/.cache/minigrad; ~/Library/Caches/minigrad on
macOS; %LOCALAPPDATA%/minigrad on Windows). Where nothing is writable (a
read-only install, no home) the kernels compile in every process, without a
cache, and a warning says so once.

NUMBA_DISABLE_JIT=1 turns every kernel into the plain Python function it is
written as (prange becomes range): slow, but a debugger can step into it.
"""
import ctypes
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numba

_LAYERS_WITH_TBB = ["tbb", "workqueue", "omp"]
_LAYERS_WITHOUT_TBB = ["workqueue", "omp", "tbb"]


def _preload_tbb() -> bool:
    """Load the tbb wheel's shared library, if installed; True on success."""
    from importlib import metadata

    try:
        files = metadata.distribution("tbb").files or []
    except metadata.PackageNotFoundError:
        return False
    names = ("libtbb.so.12", "libtbb.12.dylib", "tbb12.dll")
    for file in files:
        if file.name in names:
            try:
                ctypes.CDLL(str(file.locate()), mode=ctypes.RTLD_GLOBAL)
                return True
            except OSError:
                return False
    return False


def _choose_threading_layer():
    if "NUMBA_THREADING_LAYER" in os.environ or "NUMBA_THREADING_LAYER_PRIORITY" in os.environ:
        return
    numba.config.THREADING_LAYER = "default"
    numba.config.THREADING_LAYER_PRIORITY = (
        _LAYERS_WITH_TBB if _preload_tbb() else _LAYERS_WITHOUT_TBB)


def _cap_blas_threads():
    """One BLAS thread (the module docstring's "BLAS threads"), unless the user's
    environment chose a thread count."""
    if "OPENBLAS_NUM_THREADS" not in os.environ and "OMP_NUM_THREADS" not in os.environ:
        from threadpoolctl import ThreadpoolController
        ThreadpoolController().select(internal_api="openblas").limit(limits=1)


def _writable(folder: Path) -> bool:
    """True when a file can be created in `folder` (created if missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def user_cache_dir(env=os.environ, platform=sys.platform) -> Path:
    """minigrad's folder in the user's cache directory (not created)."""
    if platform == "darwin":
        return Path.home() / "Library" / "Caches" / "minigrad"
    if platform == "win32" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "minigrad"
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "minigrad"


def choose_cache_dir(env=os.environ, writable=_writable):
    """Where the kernels' cache goes -> ("user" | "package" | "user-cache" | None, folder).

    "user": NUMBA_CACHE_DIR, which numba uses by itself; "package": numba's
    default beside the sources; "user-cache": minigrad's folder, which numba
    must be told about; None: no writable place, compile without a cache.
    """
    if env.get("NUMBA_CACHE_DIR") and writable(Path(env["NUMBA_CACHE_DIR"])):
        return "user", Path(env["NUMBA_CACHE_DIR"])
    package = Path(__file__).resolve().parent / "__pycache__"
    if writable(package):
        return "package", package
    try:
        user = user_cache_dir(env)
    except RuntimeError:  # Path.home() without HOME or a passwd entry
        return None, None
    if writable(user):
        return "user-cache", user
    return None, None


_choose_threading_layer()
_cap_blas_threads()
_CACHE_KIND, _CACHE_DIR = choose_cache_dir()
# numba's first cache locator uses numba.config.CACHE_DIR (NUMBA_CACHE_DIR) when it is
# set, and fails at decoration when that folder is not writable: point it at ours.
if _CACHE_KIND == "user-cache":
    numba.config.CACHE_DIR = str(_CACHE_DIR)
elif _CACHE_KIND == "package":
    numba.config.CACHE_DIR = ""   # an unwritable NUMBA_CACHE_DIR is passed over
elif _CACHE_KIND is None:
    warnings.warn("minigrad: no writable folder for numba's kernel cache (package folder, "
                  "NUMBA_CACHE_DIR, user cache dir): kernels compile in every process. "
                  "Set NUMBA_CACHE_DIR to a writable folder to keep them.",
                  RuntimeWarning, stacklevel=2)


def jit(parallel=False, fastmath=False):
    """numba.njit with the cache decision above: `@jit(parallel=True)` over a kernel."""
    return numba.njit(parallel=parallel, fastmath=fastmath, cache=_CACHE_KIND is not None)
