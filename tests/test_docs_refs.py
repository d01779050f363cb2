"""Every code reference in the docs resolves, so a rename breaks the build, not the docs.

Two kinds of reference are checked in README.md, docs/*.md and benchmarks/README.md:

* `path/to/file.py::name` or `path/to/file.py::Class.method`: the file exists
  and defines that name (a def, a class, or an assignment at that level);
* `path/to/file.py` (with a folder in it): the file exists.
"""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SYMBOL_REF = re.compile(r"`([\w./-]+\.py)::([\w.]+)`")
FILE_REF = re.compile(r"`([\w.-]+/[\w./-]*\.py)`")


def references(pattern):
    found = []
    for doc in DOCS:
        for match in pattern.finditer(doc.read_text()):
            found.append((doc.relative_to(ROOT).as_posix(), *match.groups()))
    return found


def defined_names(body) -> dict:
    """{name: node} for the defs, classes and assignments directly in `body`."""
    names = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node
    return names


def resolves(path: Path, dotted: str) -> bool:
    body = ast.parse(path.read_text()).body
    for part in dotted.split("."):
        node = defined_names(body).get(part)
        if node is None:
            return False
        body = getattr(node, "body", [])
    return True


def test_the_docs_cite_code_by_path_and_name():
    assert len(references(SYMBOL_REF)) >= 20, "the docs' index should cite code as path::name"


@pytest.mark.parametrize("doc, path, name", references(SYMBOL_REF))
def test_symbol_reference_resolves(doc, path, name):
    file = ROOT / path
    assert file.is_file(), f"{doc} cites {path}::{name}, but {path} does not exist"
    assert resolves(file, name), f"{doc} cites {path}::{name}, but {path} defines no {name}"


@pytest.mark.parametrize("doc, path", references(FILE_REF))
def test_file_reference_exists(doc, path):
    # Paths inside the package may be written from minigrad/ (`ops/batchnorm.py`).
    assert (ROOT / path).is_file() or (ROOT / "minigrad" / path).is_file(), \
        f"{doc} cites {path}, which does not exist"
