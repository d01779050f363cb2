"""The IDX file format used by MNIST, Fashion-MNIST and friends.

An IDX file is a 4-byte magic number, then one big-endian uint32 per
dimension, then the values, big-endian, in C order:

    bytes 0-1   0x00 0x00
    byte  2     type code (see IDX_TYPES)
    byte  3     number of dimensions, ndim
    4 * ndim    the dimensions, big-endian uint32
    the rest    prod(dims) values of the given type, big-endian

`read_idx` checks every part of that layout, including that the file
holds exactly prod(dims) values, and names the file in every error.
A name ending in ".gz" is read and written through gzip.
"""
import gzip
import math
import os
import zlib

import numpy as np

# type code -> big-endian numpy dtype, as in the IDX specification.
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# native-endian dtype -> type code, for writing
IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}


class IDXError(ValueError):
    """A file is not a well-formed IDX file (the message names the file)."""


def _read_bytes(path):
    """The file's bytes, gunzipped when the name ends in .gz."""
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except EOFError as e:
        raise IDXError(f"{path}: gzip stream is truncated ({e})") from e
    except (gzip.BadGzipFile, zlib.error) as e:
        raise IDXError(f"{path}: not a valid gzip file ({e})") from e


def read_idx(path):
    """Read an IDX file (plain or .gz) into a native-endian ndarray.

    Raises IDXError, naming the file, for a wrong magic number, an
    unsupported type code, a truncated header or body, or trailing bytes.
    """
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IDXError(f"{path}: truncated: {len(raw)} bytes, "
                       "too short for the 4-byte magic number")
    if raw[0] != 0 or raw[1] != 0:
        raise IDXError(f"{path}: wrong magic number 0x{raw[:4].hex()}: "
                       "an IDX file starts with two zero bytes")
    type_code, ndim = raw[2], raw[3]
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_TYPES)
        raise IDXError(f"{path}: unsupported IDX type code 0x{type_code:02X} (known: {known})")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise IDXError(f"{path}: truncated header: {ndim} dimensions need {header_len} bytes, "
                       f"the file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[type_code]
    # Python's integers: a product of uint32 dimensions cannot overflow here.
    expected = header_len + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else f"{len(raw) - expected} trailing bytes"
        raise IDXError(f"{path}: {problem}: the header declares dimensions {shape} of "
                       f"{dtype.name}, which need {expected} bytes, but the file holds "
                       f"{len(raw)} bytes")
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    # Native byte order, and a writable array that owns its memory.
    return data.astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Write `array` as an IDX file (gzipped when `path` ends in .gz).

    The dtype must be one IDX can hold: uint8, int8, int16, int32,
    float32 or float64.
    """
    path = os.fspath(path)
    array = np.asarray(array)
    type_code = IDX_CODES.get(array.dtype.newbyteorder("="))
    if type_code is None:
        raise TypeError(f"write_idx({path!r}): IDX cannot hold dtype {array.dtype}; "
                        "use uint8, int8, int16, int32, float32 or float64")
    if array.ndim > 255:
        raise ValueError(f"write_idx({path!r}): IDX holds at most 255 dimensions, "
                         f"got {array.ndim}")
    if any(d >= 2**32 for d in array.shape):
        raise ValueError(f"write_idx({path!r}): a dimension does not fit in uint32: {array.shape}")
    header = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    body = np.ascontiguousarray(array, dtype=IDX_TYPES[type_code]).tobytes()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header)
        f.write(body)
