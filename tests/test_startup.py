"""What importing minigrad does and does not do (checked in fresh processes)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LIST_COMPILED = """
import minigrad, minigrad.nn, minigrad.optim, minigrad.data
from numba.core.registry import CPUDispatcher
import gc
compiled = [f.py_func.__qualname__ for f in gc.get_objects()
            if isinstance(f, CPUDispatcher) and f.signatures]
print(len([f for f in gc.get_objects() if isinstance(f, CPUDispatcher)]), compiled)
"""

LAYER = """
import numpy as np, numba, minigrad
from minigrad.kernels.activation import relu_forward
relu_forward(np.ones(1000, np.float32))
print(numba.threading_layer())
"""


def _run(code, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_THREADING_LAYER")}
    environment.update(env)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env=environment, check=True)
    return result.stdout.strip()


def test_import_compiles_no_kernel():
    count, compiled = _run(LIST_COMPILED).split(" ", 1)
    assert int(count) > 5                     # the kernels exist as dispatchers...
    assert compiled == "[]"                   # ...but none was compiled or loaded at import


def test_kernels_use_tbb_or_workqueue_unless_the_user_chose_a_layer():
    try:
        from importlib.metadata import distribution
        distribution("tbb")
        expected = "tbb"
    except Exception:
        expected = "workqueue"
    assert _run(LAYER) == expected
    assert _run(LAYER, NUMBA_THREADING_LAYER="omp") == "omp"


CACHE_STATS = """
import numpy as np, minigrad
from minigrad.kernels import batchnorm as k
x = np.random.rand(4, 3, 5).astype(np.float32)
k.normalize_train(x, None, None, 1e-5)
from numba.core.registry import CPUDispatcher
stats = [f.stats for f in vars(k).values() if isinstance(f, CPUDispatcher) and f.signatures]
print(sum(len(s.cache_hits) for s in stats), sum(len(s.cache_misses) for s in stats))
"""


def test_a_second_process_loads_the_kernels_from_numbas_cache(tmp_path):
    first_hits, first_misses = map(int, _run(CACHE_STATS, NUMBA_CACHE_DIR=str(tmp_path)).split())
    second_hits, second_misses = map(int, _run(CACHE_STATS, NUMBA_CACHE_DIR=str(tmp_path)).split())
    assert first_misses > 0 and first_hits == 0       # an empty cache: compiled, then saved
    assert second_misses == 0 and second_hits > 0     # the same kernels, loaded instead
