"""Tables larger than the memory budget train from a memory-mapped float32 file (issue #18):
the same arrays, batches and trained weights as in RAM; the training process maps the same
file instead of copying it; splits are views of one array in split order, not copies."""
from __future__ import annotations

import gc
import os

import numpy as np
import pytest

from engine.data import DataError, DataSpec, csvio, dataset, tabular
from engine.data.csvio import load_csv, read_csv_frame
from engine.train_process import ArrayDataset, export_dataset, exported_bytes
from engine.trainer import TrainConfig, Trainer, TrainFinished


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_CACHE_DIR", str(tmp_path / "cache"))


def _csv(tmp_path, n=300, text=False, missing=False):
    rng = np.random.default_rng(3)
    lines = ["a,b,c,kind,label"]
    for i in range(n):
        a, b, c = rng.standard_normal(3)
        kind = ["x", "y", "z"][i % 3] if text else str(i % 4)
        cell = "" if missing and i % 17 == 5 else f"{c:.4f}"
        lines.append(f"{a:.4f},{b * 100:.2f},{cell},{kind},{'pq'[int(a > 0)]}")
    p = tmp_path / "t.csv"
    p.write_text("\n".join(lines) + "\n")
    return str(p)


SPECS = [dict(), dict(task="classification", missing="drop", scaling="minmax", test_split=0.2),
         dict(missing="median", val_split=0.0), dict(target="b", scaling="none", test_split=0.1)]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("text", [False, True])
def test_memory_mapped_table_has_the_same_arrays_as_in_ram(tmp_path, spec, text):
    path = _csv(tmp_path, text=text, missing=True)
    ram = load_csv(DataSpec(kind="csv", path=path, **spec))
    mm = load_csv(DataSpec(kind="csv", path=path, **spec), memory_budget=0)
    assert ram.cache_path is None and not ram.summary()["memory_mapped"]
    assert mm.cache_path and os.path.isfile(mm.cache_path) and mm.summary()["memory_mapped"]
    assert isinstance(mm.x_train, np.memmap)
    for s in ("train", "val", "test"):
        assert ram.x(s).dtype == mm.x(s).dtype == np.float32
        assert ram.x(s).tobytes() == mm.x(s).tobytes()
        assert ram.y(s).tobytes() == mm.y(s).tobytes()
        np.testing.assert_array_equal(ram.split_indices[s], mm.split_indices[s])
    assert ram.preprocessing == mm.preprocessing and ram.report == mm.report


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("text", [False, True])
def test_split_order_gives_what_per_split_copies_gave(tmp_path, spec, text):
    """x/y/kept in split order with views per split == the old x_all[split] copies."""
    path = _csv(tmp_path, text=text, missing=True)
    df, meta, labels = read_csv_frame(path, typed=True)
    ds_spec = DataSpec(kind="csv", path=path, **spec)
    old = csvio._tabular_dataset(ds_spec, *tabular.build_tabular(df, ds_spec, source=meta["name"],
                                                                 decimal=meta["decimal"], row_labels=labels))
    new = load_csv(ds_spec)
    for s in ("train", "val", "test"):
        assert old.x(s).tobytes() == new.x(s).tobytes() and old.y(s).tobytes() == new.y(s).tobytes()
        np.testing.assert_array_equal(old.split_indices[s], new.split_indices[s])
    assert new.x_train.base is not None and np.shares_memory(new.x_train, new.x_val) is False
    assert old.preprocessing == {k: v for k, v in new.preprocessing.items() if k != "csv"}
    assert old.report == new.report


def test_an_error_names_the_same_row_in_split_order(tmp_path):
    p = tmp_path / "big.csv"
    rows = [f"{i}.5,{i % 2}" for i in range(60)]
    rows[41] = "1e300,1"
    p.write_text("v,label\n" + "\n".join(rows) + "\n")
    for budget in (None, 0):
        with pytest.raises(DataError, match=r"big.csv, line 43, column 'v': '1e300' is too large for 32-bit floats"):
            load_csv(DataSpec(kind="csv", path=str(p), scaling="none"), memory_budget=budget)


def _mlp():
    from engine.spec import sequential
    return sequential([("Input.v1", {"shape": [4]}), ("Dense.v1", {"units": 8, "activation": "tanh"}),
                       ("Dense.v1", {"units": 2, "activation": "softmax"})])


def test_memory_mapped_table_gives_the_same_batches_and_weights(tmp_path):
    path = _csv(tmp_path, n=400)
    ram = load_csv(DataSpec(kind="csv", path=path))
    mm = load_csv(DataSpec(kind="csv", path=path), memory_budget=0)
    idx = np.random.default_rng(0).permutation(ram.n("train"))[:64]
    for a, b in zip(ram.get_batch("train", idx), mm.get_batch("train", idx)):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    cfg = TrainConfig(epochs=2, batch_size=32, optimizer="adam", lr=0.01, seed=7)
    states = [[ev for ev in Trainer(_mlp(), d, cfg).run() if isinstance(ev, TrainFinished)][0].state
              for d in (ram, mm)]
    assert states[0].keys() == states[1].keys()
    for k in states[0]:
        np.testing.assert_array_equal(states[0][k], states[1][k])


def test_the_training_process_maps_the_table_file_instead_of_copying_it(tmp_path):
    path = _csv(tmp_path, n=400)
    ram = load_csv(DataSpec(kind="csv", path=path))
    mm = load_csv(DataSpec(kind="csv", path=path), memory_budget=0)
    out = tmp_path / "shm"
    out.mkdir()
    desc = export_dataset(mm, out)
    assert sorted(f.name for f in out.iterdir()) == ["test_y.npy", "train_y.npy", "val_y.npy"]
    assert desc["splits"]["train"]["x"][""]["path"] == mm.cache_path
    back = ArrayDataset(out, desc)
    for s in ("train", "val", "test"):
        idx = np.arange(ram.n(s))[::-1]
        for a, b in zip(ram.get_batch(s, idx), back.get_batch(s, idx)):
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    assert exported_bytes(mm) == sum(np.load(f).nbytes for f in out.iterdir())
    assert exported_bytes(ram) > exported_bytes(mm)


def test_the_file_goes_with_the_data_set_and_stale_files_are_removed(tmp_path):
    path = _csv(tmp_path)
    folder = tmp_path / "cache" / "table-cache"
    folder.mkdir(parents=True)
    stale = folder / "table-999999999-0123456789ab.npy"  # no such process
    stale.write_bytes(b"x")
    mm = load_csv(DataSpec(kind="csv", path=path), memory_budget=0)
    f = mm.cache_path
    assert os.path.dirname(f) == str(folder) and not stale.exists()
    x = mm.x_val
    del mm
    gc.collect()
    assert os.path.isfile(f)  # a view still maps it
    del x
    gc.collect()
    assert not os.path.exists(f)


def test_a_full_disk_is_a_clear_message(tmp_path, monkeypatch):
    path = _csv(tmp_path)

    def full(fd, offset, size):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dataset.os, "posix_fallocate", full, raising=False)
    with pytest.raises(DataError, match=r"cannot write the memory-mapped table in .*table-cache: .*\(it needs"):
        load_csv(DataSpec(kind="csv", path=path), memory_budget=0)
    gc.collect()
    assert not list((tmp_path / "cache" / "table-cache").glob("*.npy"))


@pytest.mark.parametrize("spec", SPECS)
def test_long_columns_scaled_in_blocks_give_the_same_arrays(tmp_path, spec, monkeypatch):
    from engine.data import preprocess

    path = _csv(tmp_path, missing=True)
    whole = load_csv(DataSpec(kind="csv", path=path, **spec))
    monkeypatch.setattr(preprocess, "_SCALE_BLOCK", 7)
    blocks = load_csv(DataSpec(kind="csv", path=path, **spec))
    for s in ("train", "val", "test"):
        assert whole.x(s).tobytes() == blocks.x(s).tobytes()


def test_too_large_value_in_blocks_is_named_like_the_whole_column(tmp_path, monkeypatch):
    from engine.data import preprocess

    monkeypatch.setattr(preprocess, "_SCALE_BLOCK", 5)
    p = tmp_path / "big.csv"
    rows = [f"{i}.5,{i % 2}" for i in range(60)]
    rows[41] = "1e300,1"
    rows[50] = "-1e300,0"
    p.write_text("v,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"big.csv, line 43, column 'v': '1e300' is too large for 32-bit floats"):
        load_csv(DataSpec(kind="csv", path=str(p), scaling="none"))


def test_load_dataset_passes_its_memory_budget_to_tables(tmp_path):
    from engine.data import load_dataset

    path = _csv(tmp_path)
    assert load_dataset(DataSpec(kind="csv", path=path), memory_budget=0).cache_path
    assert load_dataset(DataSpec(kind="csv", path=path)).cache_path is None


def test_the_training_process_reuses_the_last_mapping_of_the_same_folder(tmp_path):
    import os

    from engine.train_process import open_dataset
    ram = load_csv(DataSpec(kind="csv", path=_csv(tmp_path, n=120)))
    folders = []
    for name in ("a", "b"):
        out = tmp_path / name
        out.mkdir()
        folders.append((out, export_dataset(ram, out)))
    (a, desc_a), (b, desc_b) = folders
    first = open_dataset(a, desc_a)
    again = open_dataset(a, desc_a)
    other = open_dataset(b, desc_b)
    if os.name == "nt":   # a mapped file could not be deleted there: never kept
        assert first is not again
        return
    assert again is first
    assert other is not first
    assert open_dataset(a, desc_a) is not first      # only the last one is kept
    changed = {**desc_a, "class_names": ["x", "y"]}
    assert open_dataset(a, changed) is not open_dataset(a, desc_a)
    idx = np.arange(ram.n("train"))
    for x, y in zip(ram.get_batch("train", idx), open_dataset(a, desc_a).get_batch("train", idx)):
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()
