"""python -m minigrad.exercises list | start | check | hint NAME [LEVEL] | solution"""
import argparse
import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from minigrad.exercises.registry import BY_NAME, EXERCISES
from minigrad.exercises.swap import resolve

REPO = Path(__file__).resolve().parents[2]


def _file(exercise, folder):
    return Path(folder) / f"{exercise['name']}.py"


def stub(exercise):
    """The learner's starting file: the real signature and docstring, no body.

    A kernel's `out=` is left out of the signature: check fills it from the return value.
    """
    _, attr, fn = resolve(exercise["target"])
    doc = inspect.getdoc(fn) or ""
    body = textwrap.indent(f'"""{doc}\n"""\n', "    ") if doc else ""
    signature = inspect.signature(fn)
    signature = signature.replace(
        parameters=[p for name, p in signature.parameters.items() if name != "out"])
    return (f'"""Exercise {exercise["name"]}: write {exercise["target"]}.\n\n'
            f'Check with: python -m minigrad.exercises check {exercise["name"]}\n"""\n'
            "from __future__ import annotations\n\nimport math\n\nimport numpy as np\n\n\n"
            f"def {attr}{signature}:\n{body}"
            "    raise NotImplementedError\n")


def start(exercise, folder):
    path = _file(exercise, folder)
    if path.exists():
        print(f"{path} exists; not overwritten. Edit it, then: check {exercise['name']}")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(stub(exercise))
        print(f"wrote {path}")
    return 0


def check(exercise, folder, file=None, quiet=False):
    """Run the project's tests for this exercise with the learner's function swapped in."""
    path = Path(file) if file else _file(exercise, folder)
    if not path.exists():
        print(f"no {path}: run `start {exercise['name']}` first")
        return 2
    if not (REPO / "tests").is_dir():
        print("check needs the project's tests/ folder, which an installed wheel does not "
              "ship: clone the repository and install it with `pip install -e .`")
        return 2
    cmd = [sys.executable, "-m", "pytest", "-q", "--tb=short", "-p", "no:cacheprovider",
           "-p", "minigrad.exercises.swap", "--minigrad-exercise", exercise["name"],
           "--minigrad-file", str(path.resolve()), *exercise["tests"]]
    if exercise.get("k"):
        cmd += ["-k", exercise["k"]]
    path_list = [str(REPO), os.environ.get("PYTHONPATH", "")]
    # The numpy backend holds the kernel exercises' functions; the plugin selects it too.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path_list), MINIGRAD_BACKEND="numpy")
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=quiet, text=True)
    if not quiet:
        print("PASSED: your function passes the project's tests" if run.returncode == 0
              else "not yet: see the failing cases above")
    return run.returncode


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.exercises")
    parser.add_argument("command", choices=["list", "start", "check", "hint", "solution"])
    parser.add_argument("name", nargs="?")
    parser.add_argument("level", nargs="?", type=int, default=1)
    parser.add_argument("--dir", default="minigrad-exercises")
    args = parser.parse_args(argv)
    if args.command == "list":
        for e in EXERCISES:
            print(f"{e['name']:24} level {e['level']}  {e['target']}")
        return 0
    if args.name not in BY_NAME:
        parser.error(f"expected an exercise name ({', '.join(BY_NAME)}), got {args.name!r}")
    exercise = BY_NAME[args.name]
    if args.command == "start":
        return start(exercise, args.dir)
    if args.command == "check":
        return check(exercise, args.dir)
    if args.command == "hint":
        hints = exercise["hints"]
        for i, hint in enumerate(hints[:max(1, args.level)], 1):
            print(f"hint {i}/{len(hints)}: {hint}")
        return 0
    print(inspect.getsource(resolve(exercise["target"])[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
