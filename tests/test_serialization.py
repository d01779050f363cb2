"""save/load: round trip, clear errors for damaged files, atomic saves."""
import os

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from minigrad import serialization


def small_model(seed=0):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))


def test_round_trip_restores_names_order_dtypes_and_values(tmp_path):
    model = small_model()
    path = tmp_path / "model.npz"
    minigrad.save(model.state_dict(), path)
    loaded = minigrad.load(path)
    assert list(loaded) == list(model.state_dict())
    for name, array in model.state_dict().items():
        assert loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name], array)
    other = small_model(seed=1)
    other.load_state_dict(loaded)
    x = minigrad.randn(2, 1, 4, 4)
    np.testing.assert_array_equal(other(x).data, model(x).data)
    assert os.listdir(tmp_path) == ["model.npz"]                 # no temp files left behind


def test_save_accepts_tensors_and_keeps_the_exact_path(tmp_path):
    path = str(tmp_path / "weights.ckpt")                          # no .npz suffix is added
    minigrad.save({"w": minigrad.ones(2, 2), "step": np.array(7)}, path)
    loaded = minigrad.load(path)
    assert loaded["step"] == 7 and loaded["w"].dtype == np.float32


def test_save_rejects_non_array_values(tmp_path):
    with pytest.raises(TypeError, match="'nested' is a dict"):
        minigrad.save({"nested": {"a": 1}}, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("keep_fraction", [0.0, 0.3, 0.9, 0.99])
def test_truncated_file_gives_an_error_naming_the_file(tmp_path, keep_fraction):
    path = tmp_path / "model.npz"
    minigrad.save(small_model().state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep_fraction)])
    with pytest.raises(ValueError, match=r"cannot load checkpoint .*model\.npz.*truncated"):
        minigrad.load(path)


def test_garbage_and_missing_files(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"this is not a checkpoint at all" * 10)
    with pytest.raises(ValueError, match="garbage.npz"):
        minigrad.load(path)
    with pytest.raises(FileNotFoundError):
        minigrad.load(tmp_path / "absent.npz")


def test_interrupted_save_keeps_the_previous_checkpoint_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = small_model(seed=0).state_dict()
    minigrad.save(old, path)
    before = path.read_bytes()

    def crash_mid_write(member, array, **kwargs):
        member.write(b"\x93NUMPY partial data")                 # some bytes reach the temp file...
        raise KeyboardInterrupt("power cut")                     # ...then the save is interrupted

    monkeypatch.setattr(serialization.np.lib.format, "write_array", crash_mid_write)
    with pytest.raises(KeyboardInterrupt):
        minigrad.save(small_model(seed=1).state_dict(), path)
    monkeypatch.undo()

    assert os.listdir(tmp_path) == ["model.npz"]
    assert path.read_bytes() == before
    loaded = minigrad.load(path)
    for name in old:
        np.testing.assert_array_equal(loaded[name], old[name])


def test_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(serialization.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        minigrad.save({"a": np.zeros(3)}, path)
    assert os.listdir(tmp_path) == []
