"""Every exercise's check passes with the library's own function and fails on a wrong one."""
import inspect
import textwrap

import pytest

from minigrad.exercises import __main__ as cli
from minigrad.exercises.registry import EXERCISES, BY_NAME
from minigrad.exercises.swap import resolve


def write_solution(tmp_path, exercise, source=None):
    """The library's function as a learner's file, its module's globals made available."""
    module = exercise["target"].split(":")[0]
    source = source or textwrap.dedent(inspect.getsource(resolve(exercise["target"])[2]))
    path = tmp_path / f"{exercise['name']}.py"
    header = f"import importlib\nglobals().update(vars(importlib.import_module({module!r})))\n"
    path.write_text(header + source)
    return path


@pytest.mark.parametrize("name", [e["name"] for e in EXERCISES])
def test_check_passes_with_the_librarys_own_function(name, tmp_path):
    exercise = BY_NAME[name]
    assert cli.check(exercise, tmp_path, write_solution(tmp_path, exercise), quiet=True) == 0


def test_bn_backward_check_fails_when_mean_and_variance_are_treated_as_constants(tmp_path):
    wrong = '''
def backward_dx(dy3, x3, mean, invstd, weight, sum_dy, sum_dy_xhat):
    gamma = 1.0 if weight is None else weight
    return (dy3 * (gamma * invstd)[None, :, None]).astype(x3.dtype)
'''
    path = write_solution(tmp_path, BY_NAME["bn_backward"], wrong)
    assert cli.check(BY_NAME["bn_backward"], tmp_path, path, quiet=True) != 0


def test_a_started_stub_fails_its_check_and_start_never_overwrites(tmp_path, capsys):
    exercise = BY_NAME["unbroadcast"]
    cli.start(exercise, tmp_path)
    stub = (tmp_path / "unbroadcast.py").read_text()
    assert "def unbroadcast(grad:" in stub and "NotImplementedError" in stub
    (tmp_path / "unbroadcast.py").write_text(stub + "\n# learner's note\n")
    cli.start(exercise, tmp_path)
    assert "learner's note" in (tmp_path / "unbroadcast.py").read_text()
    assert cli.check(exercise, tmp_path, quiet=True) == 1     # the stub loads; its tests fail


def test_hint_and_solution_print(capsys):
    cli.main(["hint", "bn_backward", "2"])
    out = capsys.readouterr().out
    assert "hint 2/3" in out and "hint 3/3" not in out
    cli.main(["solution", "bn_backward"])
    assert "def backward_dx(" in capsys.readouterr().out


def test_a_kernel_written_without_out_passes_where_the_ops_pass_out(tmp_path):
    """The stub drops `out=`; the op's backward passes it, and check fills it in."""
    right = '''
def backward_dx(dy3, x3, mean, invstd, weight, sum_dy, sum_dy_xhat):
    m = x3.shape[0] * x3.shape[2]
    gamma = np.ones_like(invstd) if weight is None else weight
    xhat = (x3 - mean[None, :, None]) * invstd[None, :, None]
    k = (gamma * invstd / m)[None, :, None]
    dx = k * (m * dy3 - sum_dy[None, :, None] - xhat * sum_dy_xhat[None, :, None])
    return dx.astype(x3.dtype)
'''
    exercise = BY_NAME["bn_backward"]
    assert "out=None" not in cli.stub(exercise)
    path = write_solution(tmp_path, exercise, right)
    assert cli.check(exercise, tmp_path, path, quiet=True) == 0


# A wrong implementation of every exercise: the library's own function, run under
# another name, with its result spoiled (or, for the in-place updates, skipped).
SPOIL = '''
import numpy as _np


def _spoil(result):
    if isinstance(result, _np.ndarray) and result.dtype.kind == "f":
        return result * 1.5 + 0.25
    if isinstance(result, tuple):
        first = next(i for i, r in enumerate(result) if r is not None)
        return result[:first] + (_spoil(result[first]),) + result[first + 1:]
    if isinstance(result, list):
        return result[::-1]
    return result
'''
SKIPS_ITS_UPDATE = {"running_stats", "sgd", "adam"}


def wrong_source(exercise):
    """`def name(...)` that returns the library's result spoiled, or does nothing."""
    library = textwrap.dedent(inspect.getsource(resolve(exercise["target"])[2]))
    name = exercise["target"].split(":")[1].split(".")[-1]
    if exercise["name"] in SKIPS_ITS_UPDATE:
        return f"def {name}(*args, **kwargs):\n    return None\n"
    library = library.replace(f"def {name}(", "def _library(", 1)
    return (SPOIL + "\n" + library +
            f"\n\ndef {name}(*args, **kwargs):\n    return _spoil(_library(*args, **kwargs))\n")


@pytest.mark.parametrize("name", [e["name"] for e in EXERCISES])
def test_check_fails_on_a_wrong_implementation(name, tmp_path):
    exercise = BY_NAME[name]
    path = write_solution(tmp_path, exercise, wrong_source(exercise))
    assert cli.check(exercise, tmp_path, path, quiet=True) != 0
