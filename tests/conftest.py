"""Fixtures shared by the test files."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    """A numpy generator with a fixed seed, fresh for every test."""
    return np.random.default_rng(0)
