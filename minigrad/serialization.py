"""Save and load state dicts as .npz files (a zip of .npy arrays; no pickle).

    minigrad.save(model.state_dict(), "model.npz")
    model.load_state_dict(minigrad.load("model.npz"))

`save` is atomic: it writes a temporary file in the target's directory,
flushes and fsyncs it, then renames it over the target with os.replace. A
crash or exception mid-save leaves the previous checkpoint intact and removes
the temporary file. `load` never unpickles (allow_pickle=False) and reads
every array at once, so a truncated or corrupt file fails there, with an
error that names the file.
"""
import os
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from minigrad.tensor import Tensor


def _as_array(name, value) -> np.ndarray:
    array = np.asarray(value.data if isinstance(value, Tensor) else value)
    if array.dtype == object:
        raise TypeError(f"save: entry {name!r} is a {type(value).__name__}, not an array "
                        f"(a .npz checkpoint holds a flat mapping of names to arrays)")
    return array


def save(state_dict, path) -> None:
    """Write a mapping {name: array or Tensor} to `path` (.npz), atomically."""
    path = os.fspath(path)
    arrays = OrderedDict((str(name), _as_array(name, value)) for name, value in state_dict.items())
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.remove(temp_path)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (where the platform allows opening a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path) -> "OrderedDict[str, np.ndarray]":
    """Read a checkpoint written by `save`: an ordered {name: ndarray}."""
    path = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with archive:
            return OrderedDict((name, archive[name]) for name in archive.files)
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise ValueError(f"cannot load checkpoint {path!r}: the file is truncated, corrupt or not a "
                         f".npz written by minigrad.save ({type(error).__name__}: {error})") from error
