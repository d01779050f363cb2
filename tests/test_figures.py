"""The figures the docs show exist, and tools/figures.py reproduces them byte for byte."""
import importlib.util
import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="figures need matplotlib (the examples extra)")

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("figures", ROOT / "tools" / "figures.py")
figures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(figures)


def test_every_generated_figure_is_referenced_by_the_docs_and_exists():
    docs = "".join(p.read_text() for p in [ROOT / "README.md", *ROOT.glob("docs/*.md")])
    referenced = set(re.findall(r"img/([\w.-]+\.(?:png|svg))", docs))
    for name in figures.FIGURES:
        assert name in referenced, f"{name} is generated but no doc shows it"
        assert (ROOT / "docs" / "img" / name).is_file()


def test_the_script_reproduces_the_committed_files(tmp_path):
    figures.main(tmp_path)
    for name in figures.FIGURES:
        assert (tmp_path / name).read_bytes() == (ROOT / "docs" / "img" / name).read_bytes(), \
            f"docs/img/{name} differs from what tools/figures.py draws: run `make figures`"
