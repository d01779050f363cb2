"""What importing minigrad does and does not do, and how the numba backend finds a
thread pool and a cache on any machine (checked in fresh processes)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HIDE_TBB = os.path.join(ROOT, "tests", "hide_tbb")

LIST_COMPILED = """
import minigrad, minigrad.nn, minigrad.optim, minigrad.data
import minigrad.kernels.fast.batchnorm, minigrad.kernels.fast.conv
import minigrad.kernels.fast.pool, minigrad.kernels.fast.activation
from numba.core.registry import CPUDispatcher
import gc
compiled = [f.py_func.__qualname__ for f in gc.get_objects()
            if isinstance(f, CPUDispatcher) and f.signatures]
print(len([f for f in gc.get_objects() if isinstance(f, CPUDispatcher)]), compiled)
"""

NUMPY_BACKEND = """
import sys, numpy as np, minigrad, minigrad.nn as nn
print("numba" in sys.modules, end=" ")
x = minigrad.randn(4, 3, 6, 6, requires_grad=True)
model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2))
model(x).sum().backward()
print(minigrad.get_backend(), "numba" in sys.modules)
"""

LAYER = """
import numpy as np, numba, minigrad
from minigrad.kernels.fast.activation import relu_forward
relu_forward(np.ones(1000, np.float32))
print(numba.threading_layer())
"""


def _run(code, pythonpath=None, **env):
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("NUMBA_THREADING_LAYER", "MINIGRAD_BACKEND"))}
    environment.update(env)
    environment = {k: v for k, v in environment.items() if v != ""}   # "" unsets
    if pythonpath:
        environment["PYTHONPATH"] = os.pathsep.join([pythonpath, ROOT])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, env=environment)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip(), result.stderr


def test_import_compiles_no_kernel():
    count, compiled = _run(LIST_COMPILED)[0].split(" ", 1)
    assert int(count) > 5                     # the kernels exist as dispatchers...
    assert compiled == "[]"                   # ...but none was compiled or loaded at import


def test_the_numpy_backend_never_imports_numba():
    assert _run(NUMPY_BACKEND, MINIGRAD_BACKEND="numpy")[0] == "False numpy False"
    # the default backend: numba is imported on the first kernel call, not by `import minigrad`
    assert _run(NUMPY_BACKEND)[0] == "False numba True"


def test_a_misspelt_backend_is_refused_at_import():
    result = subprocess.run([sys.executable, "-c", "import minigrad"], capture_output=True,
                            text=True, cwd=ROOT, env=dict(os.environ, MINIGRAD_BACKEND="cuda"))
    assert result.returncode != 0
    assert "unknown kernel backend 'cuda'" in result.stderr and "'numpy'" in result.stderr


BLAS_THREADS = """
import numpy as np
from threadpoolctl import threadpool_info
before = [i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas"]
import minigrad.kernels.fast
after = [i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas"]
print(before, after)
"""


def test_the_fast_backend_caps_openblas_at_one_thread_unless_the_user_chose():
    before, after = _run(BLAS_THREADS, OPENBLAS_NUM_THREADS="")[0].split("] [")
    if before == "[]":
        pytest.skip("numpy's BLAS is not OpenBLAS here: nothing to cap")
    assert after == "1]"
    assert _run(BLAS_THREADS, OPENBLAS_NUM_THREADS="2")[0] == "[2] [2]"


def _tbb_installed():
    from importlib import metadata
    try:
        metadata.distribution("tbb")
        return True
    except metadata.PackageNotFoundError:
        return False


def test_kernels_use_tbb_or_workqueue_unless_the_user_chose_a_layer():
    assert _run(LAYER)[0] == ("tbb" if _tbb_installed() else "workqueue")
    assert _run(LAYER, NUMBA_THREADING_LAYER="omp")[0] == "omp"


def test_without_the_tbb_wheel_numba_gets_a_valid_priority_and_uses_workqueue():
    layer, stderr = _run(LAYER, pythonpath=HIDE_TBB)
    assert layer == "workqueue", stderr
    check = "import minigrad.kernels.fast, numba; print(numba.config.THREADING_LAYER_PRIORITY)"
    assert _run(check, pythonpath=HIDE_TBB)[0] == "['workqueue', 'omp', 'tbb']"


CACHE_STATS = """
import numpy as np, minigrad
from minigrad.kernels.fast import batchnorm as k
x = np.random.rand(4, 3, 5).astype(np.float32)
k.normalize_train(x, None, None, 1e-5)
from numba.core.registry import CPUDispatcher
stats = [f.stats for f in vars(k).values() if isinstance(f, CPUDispatcher) and f.signatures]
print(sum(len(s.cache_hits) for s in stats), sum(len(s.cache_misses) for s in stats))
"""


def test_a_second_process_loads_the_kernels_from_numbas_cache(tmp_path):
    def hits_and_misses():
        return map(int, _run(CACHE_STATS, NUMBA_CACHE_DIR=str(tmp_path))[0].split())
    first_hits, first_misses = hits_and_misses()
    second_hits, second_misses = hits_and_misses()
    assert first_misses > 0 and first_hits == 0       # an empty cache: compiled, then saved
    assert second_misses == 0 and second_hits > 0     # the same kernels, loaded instead


def test_cache_folder_choice(tmp_path):
    from minigrad.kernels.fast import choose_cache_dir, user_cache_dir
    user = tmp_path / "xdg"
    env = {"XDG_CACHE_HOME": str(user)}
    assert choose_cache_dir(env, writable=lambda p: True)[0] == "package"
    chosen = choose_cache_dir(dict(env, NUMBA_CACHE_DIR="/x"), lambda p: True)
    assert chosen == ("user", Path("/x"))          # the user's own setting wins
    unwritable_user_dir = choose_cache_dir(dict(env, NUMBA_CACHE_DIR="/x"),
                                           writable=lambda p: p != Path("/x"))
    assert unwritable_user_dir[0] == "package"
    in_user = choose_cache_dir(env, writable=lambda p: user in p.parents)
    assert in_user == ("user-cache", user / "minigrad")
    assert choose_cache_dir(env, writable=lambda p: False) == (None, None)
    assert user_cache_dir({}, "darwin") == Path.home() / "Library" / "Caches" / "minigrad"


# Makes every folder unwritable except those under ALLOWED (none if empty), the way a
# read-only install looks to an unprivileged user (the tests may run as root, for whom
# chmod does not stop writes; CI's portability run also tries the real thing).
READ_ONLY = """
import os, tempfile, warnings
allowed = os.environ.get("ALLOWED")
real = tempfile.TemporaryFile
def guarded(*args, dir=None, **kwargs):
    if not (allowed and str(dir).startswith(allowed)):
        raise PermissionError(13, "read-only", dir)
    return real(*args, dir=dir, **kwargs)
tempfile.TemporaryFile = guarded
import numpy as np, numba
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from minigrad.kernels.fast import activation
y = activation.relu_forward(np.array([-1.0, 2.0]))
assert y.tolist() == [0.0, 2.0]
print(numba.config.CACHE_DIR, len(caught), *(str(w.message)[:35] for w in caught), sep="|")
"""


def test_nothing_writable_compiles_without_a_cache_and_warns_once(tmp_path):
    out, _ = _run(READ_ONLY, HOME=str(tmp_path / "nohome"), XDG_CACHE_HOME="")
    cache_dir, count, message = out.split("|")
    assert count == "1" and message == "minigrad: no writable folder for nu"


def test_read_only_package_caches_in_the_user_cache_folder(tmp_path):
    out, _ = _run(READ_ONLY, XDG_CACHE_HOME=str(tmp_path), ALLOWED=str(tmp_path))
    assert out == f"{tmp_path / 'minigrad'}|0"
    assert any((tmp_path / "minigrad").rglob("*.nbi"))    # numba wrote its index there


DISABLED_JIT = """
import numpy as np
from minigrad.kernels.fast import batchnorm as fast, activation
from minigrad.kernels.reference import batchnorm as ref
assert not hasattr(fast._sums_planes, "py_func")           # a plain Python function
x = np.random.default_rng(0).normal(size=(5, 2, 20))
np.testing.assert_allclose(fast.normalize_train(x, None, None, 1e-5)[0],
                           ref.normalize_train(x, None, None, 1e-5)[0], atol=1e-10)
print(activation.relu_forward(np.array([-1.0, 3.0])).tolist())
"""


def test_numba_disable_jit_runs_the_kernels_as_python():
    assert _run(DISABLED_JIT, NUMBA_DISABLE_JIT="1")[0] == "[0.0, 3.0]"
