"""Count minigrad's code lines per layer and hold them to a budget (`make size`).

A code line is a line of a .py file under minigrad/ that holds code: not blank,
not only a comment, not part of a docstring. Docstrings and comments are what a
learner reads, so they are free; code is what a learner must understand, so it
is budgeted, the way teenygrad's CI holds its line count.

Exit status 1 when a budget is exceeded or a line in the package reaches 100
characters (readable code is not squeezed; see docs/architecture.md).
"""
import ast
import io
import sys
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "minigrad"
MAX_LINE = 99

# Each layer: (name, files relative to minigrad/ as prefixes).
LAYERS = [
    ("engine (tensor.py + autograd.py)", ["tensor.py", "autograd.py"]),
    # Tensor's operator methods only route to ops/, so they count with ops/.
    ("ops/ (+ tensor_methods.py)", ["ops/", "tensor_methods.py"]),
    ("nn/", ["nn/"]),
    ("optim/", ["optim/"]),
    ("kernels/reference/", ["kernels/reference/"]),
    ("kernels/fast/", ["kernels/fast/"]),
    ("kernels/ (interface)", ["kernels/"]),
    ("data/", ["data/"]),
    ("viz/", ["viz/"]),
    ("exercises/", ["exercises/"]),
]
BUDGETS = [
    ("engine", ["tensor.py", "autograd.py"], 300),
    ("engine + ops/ + nn/ + optim/",
     ["tensor.py", "autograd.py", "tensor_methods.py", "ops/", "nn/", "optim/"], 2500),
    ("whole package", [""], 5000),
]


def docstring_lines(tree: ast.AST) -> set:
    """Line numbers covered by docstrings (a string statement first in a body)."""
    lines = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list) or not body:
            continue
        first = body[0]
        if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):
            lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def code_lines(source: str) -> int:
    """How many lines of `source` hold a token that is code."""
    skipped = docstring_lines(ast.parse(source))
    ignored = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
               tokenize.DEDENT, tokenize.ENDMARKER, tokenize.ENCODING}
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in ignored:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - skipped)


def count_files(package: Path) -> dict:
    """{path relative to the package (posix): code lines}."""
    return {path.relative_to(package).as_posix(): code_lines(path.read_text())
            for path in sorted(package.rglob("*.py"))}


def long_lines(package: Path) -> list:
    found = []
    for path in sorted(package.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if len(line) > MAX_LINE:
                found.append(f"{path.relative_to(package.parent)}:{number}: {len(line)} characters")
    return found


def total(counts: dict, prefixes: list, claimed=()) -> int:
    return sum(n for f, n in counts.items()
               if any(f.startswith(p) for p in prefixes) and f not in claimed)


def main() -> int:
    counts = count_files(PACKAGE)
    claimed = set()
    print(f"{'layer':<36}{'code lines':>11}")
    for name, prefixes in LAYERS:
        files = {f for f in counts if any(f.startswith(p) for p in prefixes)} - claimed
        claimed |= files
        print(f"{name:<36}{sum(counts[f] for f in files):>11}")
    print(f"{'everything else':<36}{total(counts, [''], claimed):>11}")
    failed = False
    print()
    for name, prefixes, budget in BUDGETS:
        used = total(counts, prefixes)
        verdict = "ok" if used <= budget else "OVER BUDGET"
        failed |= used > budget
        print(f"{name:<36}{used:>11} / {budget:<6}{verdict}")
    too_long = long_lines(PACKAGE)
    if too_long:
        failed = True
        print(f"\n{len(too_long)} lines of {MAX_LINE + 1} characters or more:")
        print("\n".join(too_long))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
