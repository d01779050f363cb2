"""Save and load state dicts as .npz files (a zip of .npy arrays; no pickle).

    minigrad.save(model.state_dict(), "model.npz")
    model.load_state_dict(minigrad.load("model.npz"))

`save` is atomic (`atomic_write`, also used by the MNIST cache): it writes a
temporary file in the target's directory, flushes and fsyncs it, then renames
it over the target with os.replace. A crash or exception mid-save leaves the
previous checkpoint intact and removes the temporary file. `load` never
unpickles (allow_pickle=False) and reads every array at once, so a truncated
or corrupt file fails there, with an error that names the file.
"""
import contextlib
import errno
import os
import secrets
import stat
import zipfile
from collections import OrderedDict

import numpy as np

from minigrad.ops.common import raw


def _as_array(name, value) -> np.ndarray:
    array = np.asarray(raw(value))
    if array.dtype == object:
        raise TypeError(f"save: entry {name!r} is a {type(value).__name__}, not an array "
                        f"(a .npz checkpoint holds a flat mapping of names to arrays)")
    return array


def save(state_dict, path) -> None:
    """Write a mapping {name: array or Tensor} to `path` (.npz), atomically.

    Any name round-trips (np.savez takes names as keyword arguments, so it
    cannot store "file" or "allow_pickle"; write_npz writes the archive itself).
    """
    arrays = {str(name): _as_array(name, value) for name, value in state_dict.items()}
    atomic_write(path, lambda f: write_npz(f, arrays))


def write_npz(f, arrays) -> None:
    """The .npz layout np.load reads: one uncompressed `<name>.npy` member per array."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def atomic_write(path, write) -> None:
    """Call write(binary file) on a temporary file beside `path`, then rename it
    over `path`: readers see the old file or the new one, never half of one.

    The new file's mode is what the umask gives (0644 under umask 022, as for
    any file Python creates), or the mode of the file it replaces. On any
    failure, Ctrl-C included, the temporary file is removed; an OSError is
    re-raised as its own type (PermissionError, IsADirectoryError, ...) naming
    `path`, not the temporary name.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    temp_path = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        # os.open applies the umask to 0o666, as open() does; mkstemp would give 0600.
        fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise _naming(path, error) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):                # an overwrite keeps the file's mode
            os.chmod(temp_path, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(temp_path, path)
    except BaseException as error:
        if os.path.exists(temp_path):
            os.remove(temp_path)
        if isinstance(error, OSError) and error.errno is not None:
            raise _naming(path, error) from error
        raise
    # Make the rename itself durable, where the platform lets a directory be opened.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _naming(path, error: OSError) -> OSError:
    """`error` again, of its own type, naming `path` instead of the temporary file."""
    return type(error)(error.errno, f"cannot write {path}: {error.strerror}", path)


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
        raise ValueError(f"cannot load checkpoint {path!r}: the file is truncated, corrupt or "
                         f"not a .npz written by minigrad.save ({type(error).__name__}: "
                         f"{error})") from error
