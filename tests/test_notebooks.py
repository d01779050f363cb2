"""Every notebook runs top to bottom; its claims are asserted in its cells."""
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="needs the test extra (jupytext)")
nbclient = pytest.importorskip("nbclient", reason="needs the test extra (nbclient)")

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.py"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    notebook = jupytext.read(path)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
