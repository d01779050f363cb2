"""explain_batchnorm prints the lectures' worked example with numbers from our BN."""
import re

import numpy as np
import pytest

from minigrad.explain import explain_batchnorm

LECTURE_VALUES = [3, 5, 8, 9, 11, 24]
LECTURE_XHAT = [-1.03, -0.74, -0.29, -0.15, 0.15, 2.06]


def printed_numbers(line):
    return [float(v) for v in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", line)]


def test_worked_example_is_printed(capsys):
    explain_batchnorm(LECTURE_VALUES)
    out = capsys.readouterr().out
    lines = out.splitlines()

    mean_line = next(line for line in lines if "mean" in line and "mu" in line and "sum(x)" in line)
    assert printed_numbers(mean_line.split("=")[-1]) == [10.0]
    var_line = next(line for line in lines if "variance" in line and "var" in line and "biased" in line)
    assert printed_numbers(var_line.split("=")[-1].split("(")[0]) == [46.0]

    # One line per value, "(x - mean) / std = xhat", in the batch's order.
    per_value = [line for line in lines if re.match(r"\s+\(\d+ - 10\) / ", line)]
    assert [printed_numbers(line.split("=")[-1])[0] for line in per_value] == LECTURE_XHAT
    for value, line in zip(LECTURE_VALUES, per_value):
        assert line.strip().startswith(f"({value} - 10) / 6.782")

    # gamma = 1, beta = 0: y is xhat.
    y_line = next(line for line in lines if line.strip().startswith("y ="))
    assert printed_numbers(y_line) == LECTURE_XHAT
    assert "55.2" in out                          # the unbiased variance for the running estimate


def test_returned_values_match_the_printout(capsys):
    result = explain_batchnorm(LECTURE_VALUES)
    capsys.readouterr()
    assert result["mean"] == pytest.approx(10.0)
    assert result["var"] == pytest.approx(46.0)
    np.testing.assert_allclose(result["xhat"], LECTURE_XHAT, atol=0.005)
    assert result["xhat"].mean() == pytest.approx(0.0, abs=1e-12)
    assert result["xhat"].var() == pytest.approx(1.0, abs=1e-6)


def test_gamma_and_beta_scale_and_shift(capsys):
    result = explain_batchnorm(LECTURE_VALUES, gamma=2.0, beta=0.5)
    out = capsys.readouterr().out
    expected = 2.0 * np.array(result["xhat"]) + 0.5
    np.testing.assert_allclose(result["y"], expected, rtol=1e-12)
    assert "gamma = 2, beta = 0.5" in out


def test_one_value_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        explain_batchnorm([5.0])
