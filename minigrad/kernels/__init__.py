"""Numba kernels for the hot loops, each beside the plain-numpy reference
(`<name>_ref`) that the tests hold it to.

Threading. A training step alternates numba kernels with OpenBLAS matrix
products, and on a 2-core machine the choice of numba's thread pool decides
whether they share the cores or fight over them (benchmarks/README.md has the
measurements):

* `omp` (numba's usual first choice after TBB) keeps its workers spinning after
  each kernel, taking the cores OpenBLAS's threads need next: a step of the
  MNIST CNN took 3.5x PyTorch's time;
* `workqueue` sleeps, but waking it costs ~0.1 ms per kernel launch: 1.5-1.9x;
* `tbb` (Intel oneTBB, the `tbb` wheel) launches in ~0.02 ms and yields the
  cores when idle: 1.4x.

So minigrad asks for tbb, then workqueue, then omp, unless the user chose a
layer with NUMBA_THREADING_LAYER. The pip wheel puts libtbb in the
environment's lib/ folder, which the dynamic loader does not search; loading
it once by full path makes numba's later load by name find it. All of this
must happen before the first parallel kernel runs, hence here, at import.
"""
import ctypes
import os

import numba

_PREFERRED_LAYERS = ["tbb", "workqueue", "omp"]


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


if "NUMBA_THREADING_LAYER" not in os.environ and "NUMBA_THREADING_LAYER_PRIORITY" not in os.environ:
    if not _preload_tbb():
        _PREFERRED_LAYERS.remove("tbb")
    numba.config.THREADING_LAYER = "default"
    numba.config.THREADING_LAYER_PRIORITY = _PREFERRED_LAYERS
