"""examples/norm_study.py --quick: runs in seconds in a subprocess (one numba
and one BLAS thread, as the committed study ran), and writes a JSON file of
the promised structure with sane values and a PNG plot."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("matplotlib", reason="matplotlib is not installed: the study's plot needs it")


def datasets_available():
    try:
        from minigrad.data import MNIST, FashionMNIST
        MNIST("val"), FashionMNIST("val")
        return True
    except Exception:
        return False


@pytest.mark.skipif(not datasets_available(), reason="MNIST or Fashion-MNIST is not available "
                    "offline (make fashion-mnist)")
def test_quick_study_writes_json_and_plot(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "norm_study.py"), "--quick",
                             "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert (tmp_path / "norm_study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = json.loads((tmp_path / "norm_study.json").read_text())
    config = out["config"]
    assert out["complete"] and set(out["results"]) == {"mnist", "fashion"}
    for dataset, entry in out["results"].items():
        assert entry["verdict"] in ("agrees", "partly", "disagrees")
        assert f"verdict ({dataset}): {entry['verdict'].upper()}" in result.stdout
        assert list(entry["cells"]) == config["arms"]
        for arm, cells in entry["cells"].items():
            assert list(cells) == [str(b) for b in config["batch_sizes"]]
            for b, cell in cells.items():
                assert len(cell["runs"]) == len(config["seeds"])
                assert 0 <= cell["error"] <= 1 and cell["error_std"] >= 0
                # the same number of images for every batch size
                assert all(r["steps"] * int(b) == config["images"] for r in cell["runs"])
                assert ("train_mode_error" in cell) == (arm == "BN")
