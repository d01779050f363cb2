"""The main example end to end on a few hundred real MNIST images, and the
prediction script on its checkpoint."""
import json
import os
import re
import runpy
import sys

import numpy as np
import pytest

import minigrad
import minigrad.data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def _run_example(name, argv, capsys):
    old_argv = sys.argv
    sys.argv = [name] + argv
    try:
        runpy.run_path(os.path.join(EXAMPLES, name), run_name="__main__")
    finally:
        sys.argv = old_argv
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def mnist_available():
    try:
        minigrad.data.MNIST("test")
    except minigrad.data.DataNotFoundError as missing:
        pytest.skip(f"MNIST is not installed here: {missing}")


@pytest.mark.parametrize("extra", [[], ["--no-bn"]])
def test_mnist_cnn_trains_and_writes_its_files(tmp_path, capsys, mnist_available, extra):
    out = tmp_path / "run"
    text = _run_example("mnist_cnn.py", ["--limit", "640", "--batch-size", "64", "--out", str(out),
                                         "--quiet", "--seed", "3", "--lr", "0.02"] + extra, capsys)
    last_line = text.strip().splitlines()[-1]
    match = re.fullmatch(r"test_accuracy=(0\.\d{4}|1\.0000)", last_line)
    assert match, f"last line was {last_line!r}"
    accuracy = float(match.group(1))
    # Twice chance after 10 steps. Not more: evaluation normalizes with running
    # averages that 10 updates at momentum 0.1 have moved only 1 - 0.9**10 = 65%
    # of the way from their initial (0, 1) to the data's statistics.
    assert accuracy > 0.2
    for name in ("model.npz", "metrics.json", "curves.png"):
        assert (out / name).stat().st_size > 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert len(metrics["step_loss"]) == 10 and len(metrics["epochs"]) == 1
    assert metrics["config"]["batch_norm"] is (extra == [])
    state = minigrad.load(str(out / "model.npz"))
    assert any("running_mean" in key for key in state) is (extra == [])
    with open(out / "curves.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_seeded_runs_are_identical(tmp_path, capsys, mnist_available):
    argv = ["--limit", "256", "--batch-size", "64", "--quiet", "--no-graph", "--seed", "5"]
    _run_example("mnist_cnn.py", argv + ["--out", str(tmp_path / "a")], capsys)
    _run_example("mnist_cnn.py", argv + ["--out", str(tmp_path / "b")], capsys)
    a, b = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in "ab")
    assert a["step_loss"] == b["step_loss"]
    first, second = minigrad.load(str(tmp_path / "a" / "model.npz")), minigrad.load(str(tmp_path / "b" / "model.npz"))
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])


def test_predict_reads_the_checkpoint(tmp_path, capsys, mnist_available):
    out = tmp_path / "run"
    _run_example("mnist_cnn.py", ["--limit", "256", "--out", str(out), "--quiet", "--no-graph"], capsys)
    text = _run_example("predict.py", ["--checkpoint", str(out / "model.npz"), "--count", "3",
                                       "--png", str(tmp_path / "digits.png")], capsys)
    assert len(re.findall(r"predicted \d \(\d+\.\d%\), true \d", text)) == 3
    assert re.search(r"^\d/3 right$", text, re.M)
    assert (tmp_path / "digits.png").stat().st_size > 0


def test_bad_arguments_are_refused_before_training(capsys):
    with pytest.raises(SystemExit):
        _run_example("mnist_cnn.py", ["--limit", "10", "--batch-size", "64"], capsys)
    assert "--limit (10) must be at least --batch-size (64)" in capsys.readouterr().err
