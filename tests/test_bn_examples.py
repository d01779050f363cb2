"""Smoke tests of the two BatchNorm examples: they run with tiny settings,
write their figures and metrics, and their verdicts follow the numbers.

The examples run in subprocesses, as a user runs them, with one numba thread
and one BLAS thread: these runs measure nothing, and on a busy machine a
thread pool makes tiny kernels far slower than one thread does.
"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

pytest.importorskip("matplotlib")


def mnist_available():
    try:
        from minigrad.data import MNIST
        MNIST("val")
        return True
    except Exception:
        return False


needs_mnist = pytest.mark.skipif(not mnist_available(), reason="MNIST is not available offline")


def run_example(name, *args):
    env = dict(os.environ, MPLBACKEND="Agg", NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, f"{name} {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def load_example(name):
    spec = importlib.util.spec_from_file_location(name.replace(".py", ""), EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_png(path):
    assert path.is_file(), path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"


@pytest.mark.parametrize("name", ["bn_paper_mnist.py", "bn_study.py"])
def test_help(name):
    out = run_example(name, "--help")
    assert "--steps" in out and "--out" in out and "--seed" in out


@needs_mnist
def test_paper_example_writes_figure_and_metrics(tmp_path):
    out = run_example("bn_paper_mnist.py", "--steps", "20", "--eval-every", "10", "--seed", "3",
                      "--out", str(tmp_path))
    assert_png(tmp_path / "figure.png")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["steps"] == 20 and metrics["config"]["seed"] == 3
    for name in ("without_bn", "with_bn"):
        run = metrics["runs"][name]
        assert run["step"] == [0, 10, 20]
        assert all(0.0 <= a <= 1.0 for a in run["test_accuracy"])
        assert all(len(p) == 3 and p[0] <= p[1] <= p[2] for p in run["percentiles"])   # 15th <= 50th <= 85th
    assert set(metrics["summary"]) >= {"bn_higher_accuracy", "bn_percentiles_move_less", "percentile_range"}
    assert "claim (a)" in out and "claim (b, c)" in out


@needs_mnist
def test_paper_example_is_reproducible(tmp_path):
    args = ["--steps", "10", "--eval-every", "5", "--seed", "1"]
    run_example("bn_paper_mnist.py", *args, "--out", str(tmp_path / "a"))
    run_example("bn_paper_mnist.py", *args, "--out", str(tmp_path / "b"))
    first, second = (json.loads((tmp_path / d / "metrics.json").read_text())["runs"] for d in "ab")
    for name in ("without_bn", "with_bn"):
        assert first[name]["test_accuracy"] == second[name]["test_accuracy"]
        assert first[name]["percentiles"] == second[name]["percentiles"]


@needs_mnist
def test_study_writes_one_figure_per_study_and_metrics(tmp_path):
    out = run_example("bn_study.py", "--steps", "4", "--eval-every", "2", "--subset", "256", "--val-size", "100",
                      "--out", str(tmp_path))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    studies = ["lr", "activation", "init", "dropout", "placement"]
    assert list(metrics["studies"]) == studies
    for study in studies:
        assert_png(tmp_path / f"bn_study_{study}.png")
        assert metrics["studies"][study]["verdict"] in ("agrees", "partly", "disagrees")
        assert f"verdict ({study}):" in out
        for row in metrics["studies"][study]["rows"]:
            summary = row["summary"]
            assert summary["diverged"] or 0.0 <= summary["val_accuracy"] <= 1.0


@needs_mnist
def test_study_records_divergence_instead_of_crashing(tmp_path):
    # lr x30 of 1000 is far beyond anything that trains: the loss overflows.
    run_example("bn_study.py", "--studies", "lr", "--steps", "6", "--eval-every", "3", "--subset", "128",
                "--val-size", "50", "--base-lr", "1000", "--out", str(tmp_path))
    rows = json.loads((tmp_path / "metrics.json").read_text())["studies"]["lr"]["rows"]
    assert any(row["summary"]["diverged"] for row in rows)


def test_study_verdicts_follow_the_numbers():
    study = load_example("bn_study.py")
    args = study.parse_args([])

    def verdict(name, table):
        return study.verdict(name, lambda label, bn: table[label, bn], args)[0]

    lr = {("x1", True): 0.95, ("x5", True): 0.96, ("x30", True): 0.95,
          ("x1", False): 0.95, ("x5", False): 0.90, ("x30", False): 0.10}
    assert verdict("lr", lr) == "agrees"
    assert verdict("lr", {**lr, ("x30", True): 0.70}) == "partly"
    assert verdict("lr", {**lr, ("x30", True): 0.10}) == "disagrees"
    activation = {("relu", True): 0.95, ("relu", False): 0.94, ("sigmoid", True): 0.90, ("sigmoid", False): 0.30}
    assert verdict("activation", activation) == "agrees"
    assert verdict("activation", {**activation, ("sigmoid", True): 0.30}) == "disagrees"
    init = {(s, bn): 0.95 for s in ("x0.1", "x1", "x10") for bn in (True, False)}
    assert verdict("init", {**init, ("x10", False): 0.50}) == "agrees"
    assert verdict("init", {**init, ("x10", True): 0.50}) == "disagrees"
    dropout = {("dropout 0", True): 0.95, ("dropout 0.25", True): 0.93,
               ("dropout 0", False): 0.95, ("dropout 0.25", False): 0.93}
    assert verdict("dropout", dropout) == "partly"
    assert verdict("dropout", {**dropout, ("dropout 0.25", True): 0.98}) == "disagrees"
    placement = {("BN before", True): 0.95, ("BN after", True): 0.97, ("no BN", False): 0.9}
    assert verdict("placement", placement) == "disagrees"


def test_paper_mlp_is_the_papers_network_and_both_start_alike():
    paper = load_example("bn_paper_mnist.py")
    plain, watched = paper.initial_model(batch_norm=False, init_std=0.01, seed=5)
    with_bn, watched_bn = paper.initial_model(batch_norm=True, init_std=0.01, seed=5)
    kinds = lambda model: [type(m).__name__ for m in model]
    assert kinds(plain) == ["Linear", "Sigmoid"] * 3 + ["Linear"]
    assert kinds(with_bn) == ["Linear", "BatchNorm1d", "Sigmoid"] * 3 + ["Linear"]
    assert watched is plain[5] and watched_bn is with_bn[8]          # the last hidden layer's sigmoid
    assert with_bn[0].bias is None and plain[0].bias is not None     # beta replaces the bias
    assert abs(float(plain[0].weight.data.std()) - 0.01) < 0.001
    linears = lambda model: [m for m in model if type(m).__name__ == "Linear"]
    for a, b in zip(linears(plain), linears(with_bn)):               # the same initial weights
        assert (a.weight.data == b.weight.data).all()
