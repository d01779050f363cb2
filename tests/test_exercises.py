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
    assert cli.check(exercise, tmp_path, quiet=True) != 0


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
