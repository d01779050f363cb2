"""Put this folder first on PYTHONPATH to run Python as if the `tbb` wheel were not
installed (as on arm64, where it has no wheel): its distribution metadata is
hidden, so minigrad cannot find and preload libtbb. Used by tests/test_startup.py
and by CI's portability run (.ci/run)."""
from importlib import metadata

_distribution = metadata.distribution


def _without_tbb(name):
    if name.lower() == "tbb":
        raise metadata.PackageNotFoundError(name)
    return _distribution(name)


metadata.distribution = _without_tbb
