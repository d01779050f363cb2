"""IDX files, TensorDataset and DataLoader."""
import gzip

import numpy as np
import pytest

import minigrad
from minigrad.data import (DataLoader, Dataset, IDXDataset, IDXError, TensorDataset,
                           read_idx, write_idx)
from minigrad.tensor import Tensor


# ------------------------------------------------------------------ IDX

@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, suffix, dtype):
    array = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    back[0, 0, 0] = 1  # a writable array of its own


def test_idx_layout_is_big_endian(tmp_path):
    path = tmp_path / "labels"
    write_idx(path, np.array([1, 258], dtype=np.int16))
    assert path.read_bytes() == bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0, 1, 1, 2])


def test_idx_uint8_1d_is_an_mnist_label_file(tmp_path):
    path = tmp_path / "labels"
    write_idx(path, np.array([7, 2, 1], dtype=np.uint8))
    raw = path.read_bytes()
    assert raw[:4] == bytes.fromhex("00000801")  # MNIST label magic 2049
    assert raw[4:8] == (3).to_bytes(4, "big")


def _valid_bytes(tmp_path):
    path = tmp_path / "valid"
    write_idx(path, np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    return path.read_bytes()


@pytest.mark.parametrize("cut, message", [(2, "too short"), (10, "truncated header"),
                                          (20, "truncated: the header declares")])
def test_idx_truncated(tmp_path, cut, message):
    raw = _valid_bytes(tmp_path)
    path = tmp_path / "truncated-idx3-ubyte"
    path.write_bytes(raw[:cut])
    with pytest.raises(IDXError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_idx_truncated_gzip(tmp_path):
    raw = gzip.compress(_valid_bytes(tmp_path))
    path = tmp_path / "cut.gz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(IDXError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_idx_wrong_magic(tmp_path):
    raw = bytearray(_valid_bytes(tmp_path))
    raw[0] = 0x1F  # e.g. a gzip file without the .gz name
    path = tmp_path / "magic"
    path.write_bytes(bytes(raw))
    with pytest.raises(IDXError, match="wrong magic number") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_idx_unsupported_type(tmp_path):
    raw = bytearray(_valid_bytes(tmp_path))
    raw[2] = 0x0A
    path = tmp_path / "type"
    path.write_bytes(bytes(raw))
    with pytest.raises(IDXError, match="unsupported IDX type code 0x0A") as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_trailing_bytes(tmp_path, suffix):
    raw = _valid_bytes(tmp_path) + b"\x00\x00\x00"
    path = tmp_path / f"trailing{suffix}"
    path.write_bytes(gzip.compress(raw) if suffix else raw)
    with pytest.raises(IDXError, match="3 trailing bytes") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_write_idx_refuses_unrepresentable_dtype(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


def test_idx_dataset_scales_and_shapes(tmp_path):
    pixels = np.array([[[0, 255], [51, 102]]] * 3, dtype=np.uint8)  # (3, 2, 2)
    write_idx(tmp_path / "img.gz", pixels)
    write_idx(tmp_path / "lbl", np.array([0, 1, 9], dtype=np.uint8))
    ds = IDXDataset(tmp_path / "img.gz", tmp_path / "lbl")
    assert ds.images.shape == (3, 1, 2, 2) and ds.images.dtype == np.float32
    assert ds.labels.dtype == np.int64 and ds.labels.tolist() == [0, 1, 9]
    np.testing.assert_allclose(ds.images[0, 0], [[0, 1], [0.2, 0.4]], rtol=1e-6)
    image, label = ds[2]
    assert image.shape == (1, 2, 2) and label == 9


def test_idx_dataset_count_mismatch(tmp_path):
    write_idx(tmp_path / "img", np.zeros((5, 2, 2), dtype=np.uint8))
    write_idx(tmp_path / "lbl", np.zeros(4, dtype=np.uint8))
    with pytest.raises(ValueError, match="5 images") as info:
        IDXDataset(tmp_path / "img", tmp_path / "lbl")
    message = str(info.value)
    assert "4 labels" in message
    assert str(tmp_path / "img") in message and str(tmp_path / "lbl") in message


# -------------------------------------------------------- TensorDataset

def test_tensor_dataset_items_and_batches():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6)
    ds = TensorDataset(x, Tensor(y))
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi, [8, 9])
    assert yi == 4
    xb, yb = ds[np.array([5, 0, 5])]
    np.testing.assert_array_equal(xb, x[[5, 0, 5]])
    np.testing.assert_array_equal(yb, [5, 0, 5])


def test_tensor_dataset_size_mismatch_names_sizes():
    with pytest.raises(ValueError, match="got sizes 3, 4"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="scalar"):
        TensorDataset(np.float32(1.0))


def test_abstract_dataset():
    with pytest.raises(NotImplementedError):
        len(Dataset())


# ----------------------------------------------------------- DataLoader

def _ds(n=10):
    return TensorDataset(np.arange(n, dtype=np.float32).reshape(n, 1) * 10, np.arange(n))


def _epoch(loader):
    return np.concatenate([y.data for _, y in loader])


def test_loader_batches_in_order_with_partial_last_batch():
    loader = DataLoader(_ds(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [len(y.data) for _, y in batches] == [4, 4, 2]
    x, y = batches[0]
    assert isinstance(x, Tensor) and isinstance(y, Tensor)
    assert x.data.dtype == np.float32 and x.data.shape == (4, 1) and y.data.dtype == np.int64
    np.testing.assert_array_equal(_epoch(loader), np.arange(10))
    np.testing.assert_array_equal(x.data[:, 0], [0, 10, 20, 30])


def test_loader_drop_last():
    loader = DataLoader(_ds(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(y.data) for _, y in loader] == [4, 4]
    assert len(DataLoader(_ds(8), batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(_ds(3), batch_size=4, drop_last=True)) == 0
    assert len(DataLoader(_ds(3), batch_size=4)) == 1


def test_loader_shuffle_covers_each_index_once_per_epoch():
    loader = DataLoader(_ds(103), batch_size=10, shuffle=True, seed=0)
    first, second = _epoch(loader), _epoch(loader)
    for order in (first, second):
        assert sorted(order.tolist()) == list(range(103))
    assert not np.array_equal(first, np.arange(103))
    assert not np.array_equal(first, second)  # a new permutation each epoch


def test_loader_shuffle_keeps_fields_aligned():
    for x, y in DataLoader(_ds(20), batch_size=6, shuffle=True, seed=1):
        np.testing.assert_array_equal(x.data[:, 0], y.data * 10)


def test_loader_reproducible_with_seed_and_generator():
    a = [_epoch(DataLoader(_ds(50), batch_size=7, shuffle=True, seed=3)) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])
    b = _epoch(DataLoader(_ds(50), batch_size=7, shuffle=True, generator=np.random.default_rng(3)))
    np.testing.assert_array_equal(a[0], b)
    c = _epoch(DataLoader(_ds(50), batch_size=7, shuffle=True, seed=4))
    assert not np.array_equal(a[0], c)


def test_loader_reproducible_with_manual_seed():
    loader = DataLoader(_ds(50), batch_size=8, shuffle=True)
    minigrad.manual_seed(123)
    first = [_epoch(loader), _epoch(loader)]
    minigrad.manual_seed(123)  # replaces the generator: the loader must see the new one
    again = [_epoch(loader), _epoch(loader)]
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_loader_uses_one_array_index_per_batch():
    class Counting(TensorDataset):
        calls = []

        def __getitem__(self, index):
            self.calls.append(np.ndim(index))
            return super().__getitem__(index)

    ds = Counting(np.zeros((10, 3)), np.zeros(10))
    list(DataLoader(ds, batch_size=4, shuffle=True, seed=0))
    assert ds.calls == [1, 1, 1]  # one fancy-index call per batch, no per-sample loop


def test_loader_generic_dataset_stacks_samples():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full(2, i * i, dtype=np.float32), i

    x, y = next(iter(DataLoader(Squares(), batch_size=3)))
    np.testing.assert_array_equal(x.data, [[0, 0], [1, 1], [4, 4]])
    np.testing.assert_array_equal(y.data, [0, 1, 2])
    # Any sized, indexable object works too.
    pairs = [(np.ones(2) * i, i) for i in range(4)]
    batches = list(DataLoader(pairs, batch_size=3))
    assert [b[1].data.tolist() for b in batches] == [[0, 1, 2], [3]]


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-2, ValueError),
                                               (1.5, TypeError), (True, TypeError)])
def test_loader_bad_batch_size(batch_size, error):
    with pytest.raises(error, match="batch_size"):
        DataLoader(_ds(), batch_size=batch_size)


def test_loader_bad_arguments():
    with pytest.raises(ValueError, match="not both"):
        DataLoader(_ds(), generator=np.random.default_rng(0), seed=0)
    with pytest.raises(TypeError, match="Generator"):
        DataLoader(_ds(), generator=np.random.RandomState(0))
    with pytest.raises(TypeError, match="__len__"):
        DataLoader(object())
