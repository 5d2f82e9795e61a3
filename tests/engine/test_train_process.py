"""The training process: its wire format (JSON + raw arrays, never pickle) and a run through it."""
from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine import wire
from engine.live import BoundaryMap
from engine.train_process import EVENT_TYPES, ArrayDataset, TrainProcess, data_folder, export_dataset, remove_folder
from engine.trainer import BatchEnded, EpochEnded, TrainConfig, Trainer, TrainFinished


def roundtrip(v, types=EVENT_TYPES):
    buf = io.BytesIO()
    wire.write_frame(buf, v)
    buf.seek(0)
    out = wire.read_frame(buf, types)
    assert wire.read_frame(buf, types) is None      # a clean end of stream
    return out


def same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and \
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


arrays = hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]),
                    hnp.array_shapes(min_dims=0, max_dims=3, max_side=5))
leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | arrays
values = st.recursive(leaves, lambda c: st.lists(c, max_size=4) | st.tuples(c, c) |
                      st.dictionaries(st.text(max_size=6), c, max_size=4) |
                      st.dictionaries(st.integers(), c, max_size=3), max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(values)
def test_any_value_round_trips(v):
    assert same(v, roundtrip(v))


def test_events_round_trip_and_unknown_ones_are_refused():
    losses = np.array([0.5, 0.25])
    ev = EpochEnded(3, {"loss": 0.5, "val_loss": float("nan")}, 0.1, 100.0,
                    {"n1/W": {"counts": np.arange(4), "edges": np.linspace(0, 1, 5)}}, {"n1": 0.2},
                    np.eye(2, dtype=np.int64))
    got = roundtrip(ev)
    assert isinstance(got, EpochEnded) and same(got.histograms, ev.histograms) and np.isnan(got.logs["val_loss"])
    assert isinstance(roundtrip(BatchEnded(1, 2, 0.4, losses, 0.5, 10.0)), BatchEnded)
    with pytest.raises(wire.WireError, match="unknown event"):
        roundtrip(ev, types={})


def test_bad_frames_are_refused():
    with pytest.raises(wire.WireError):
        wire.encode(np.array([object()], dtype=object))
    with pytest.raises(wire.WireError):
        wire.encode({"f": lambda: 1})
    frame = wire.encode({"a": np.arange(10)})
    with pytest.raises(wire.WireError, match="ended inside"):
        wire.read_frame(io.BytesIO(frame[:-3]))
    with pytest.raises(wire.WireError, match="not an NN Studio frame"):
        wire.read_frame(io.BytesIO(b"PK\x03\x04" + frame[4:]))
    # an array reference pointing outside the blob
    header = b'{"__nd__":[0,"<f8",[100]]}'
    bad = wire._HEAD.pack(wire.MAGIC, len(header), 8) + header + bytes(8)
    with pytest.raises(wire.WireError, match="outside"):
        wire.read_frame(io.BytesIO(bad))


class Blobs:
    """Two Gaussian blobs (2-D, two classes) with train/val/test splits."""

    task, input_shape, n_outputs, class_names = "classification", (2,), 2, ["a", "b"]

    def __init__(self, n=120):
        rng = np.random.default_rng(3)
        y = rng.integers(0, 2, n)
        x = (rng.normal(size=(n, 2)) + 2.0 * y[:, None]).astype(np.float32)
        self.parts = {"train": (x[:80], y[:80]), "val": (x[80:100], y[80:100]), "test": (x[100:], y[100:])}

    def n(self, split):
        return len(self.parts[split][1])

    def get_batch(self, split, idx):
        x, y = self.parts[split]
        return x[idx], y[idx]


def test_exported_data_reads_back_exactly(tmp_path):
    ds = Blobs()
    back = ArrayDataset(tmp_path, export_dataset(ds, tmp_path))
    for split in ("train", "val", "test"):
        idx = np.arange(ds.n(split))[::-1]
        for a, b in zip(ds.get_batch(split, idx), back.get_batch(split, idx)):
            np.testing.assert_array_equal(a, b)
    assert back.input_shape == (2,) and back.class_names == ["a", "b"]


def mlp():
    from engine.spec import sequential
    return sequential([("Input.v1", {"shape": [2]}), ("Dense.v1", {"units": 8, "activation": "tanh"}),
                       ("Dense.v1", {"units": 2, "activation": "softmax"})])


@pytest.mark.timeout(180)
def test_a_run_in_the_process_gives_the_same_weights_as_in_process():
    ds = Blobs()
    cfg = TrainConfig(epochs=4, batch_size=16, optimizer="adam", lr=0.01, seed=5)
    direct = [ev for ev in Trainer(mlp(), ds, cfg).run() if isinstance(ev, TrainFinished)][0]
    proc, folder = TrainProcess(), data_folder()
    try:
        proc.start(warm=False)
        proc.send({"cmd": "job", "folder": folder, "data": export_dataset(ds, folder), "spec": mlp().to_dict(),
                   "config": cfg.to_dict(), "weights": None, "boundary": True})
        events = []
        while True:
            msg = proc.read()
            assert msg is not None, "the training process ended"
            if isinstance(msg, dict) and msg.get("done"):
                break
            events.append(msg)
        finished = [ev for ev in events if isinstance(ev, TrainFinished)]
        assert len(finished) == 1 and finished[0].state.keys() == direct.state.keys()
        for k, v in direct.state.items():
            np.testing.assert_array_equal(finished[0].state[k], v)        # bit-identical
        assert [ev.epoch for ev in events if isinstance(ev, EpochEnded)] == [1, 2, 3, 4]
        assert any(isinstance(ev, BoundaryMap) and ev.payload["epoch"] == 1 for ev in events)
        # a bad job is reported and the process serves the next one
        proc.send({"cmd": "job", "folder": folder, "data": export_dataset(ds, folder), "spec": mlp().to_dict(),
                   "config": {**cfg.to_dict(), "epochs": 0}, "weights": None})
        msgs = []
        while not (msgs and isinstance(msgs[-1], dict) and msgs[-1].get("done")):
            msgs.append(proc.read())
        assert "epochs must be at least 1" in msgs[0]["failed"]
        assert proc.alive()
    finally:
        proc.close()
        remove_folder(folder)
    assert not proc.alive()


def test_exported_bytes_predicts_the_files(tmp_path):
    ds = Blobs()
    export_dataset(ds, tmp_path)
    from engine.train_process import exported_bytes
    payload = sum(np.load(f, mmap_mode="r").nbytes for f in tmp_path.glob("*.npy"))
    assert exported_bytes(ds) == payload


def test_frames_split_from_a_stream_read_in_arbitrary_chunks():
    frames = b"".join(wire.encode({"i": i, "a": np.arange(i)}) for i in range(20))
    buf, got = bytearray(), []
    for start in range(0, len(frames), 37):            # chunks that cut frames anywhere
        buf += frames[start:start + 37]
        got += wire.split_frames(buf)
    assert [m["i"] for m in got] == list(range(20)) and not buf
    assert all(np.array_equal(m["a"], np.arange(m["i"])) for m in got)


def test_frame_writer_sends_bursts_and_urgent_events_at_once():
    from engine.train_process import FrameWriter
    from engine.trainer import Status

    class Sink(io.BytesIO):
        writes = 0

        def write(self, b):
            Sink.writes += 1
            return super().write(b)

    sink = Sink()
    w = FrameWriter(sink, flush_s=10.0)
    for i in range(50):
        w.put(BatchEnded(1, i, 0.5, np.array([0.5]), 0.1, 10.0))
    w.put(Status("paused", "paused"))                   # urgent: everything so far goes out in one write
    assert Sink.writes == 1
    sink.seek(0)
    buf = bytearray(sink.read())
    msgs = wire.split_frames(buf, EVENT_TYPES)
    assert len(msgs) == 51 and isinstance(msgs[-1], Status)


def test_frame_writer_reports_an_event_it_cannot_encode_instead_of_losing_the_burst():
    from engine.train_process import FrameWriter
    from engine.trainer import Status

    sink = io.BytesIO()
    w = FrameWriter(sink, flush_s=10.0)
    w.put(BatchEnded(1, 1, 0.5, np.array([0.5]), 0.1, 10.0))
    w.put(BatchEnded(1, 2, 0.5, np.array([object()], dtype=object), 0.2, 10.0))   # a bug: not sendable
    w.put(Status("paused", "paused"))
    msgs = wire.split_frames(bytearray(sink.getvalue()), EVENT_TYPES)
    assert isinstance(msgs[0], BatchEnded) and msgs[0].step == 1
    assert "internal error" in msgs[1]["failed"] and "object" in msgs[1]["failed"]
    assert isinstance(msgs[2], Status)


def test_wire_fast_paths_encode_as_the_general_ones():
    ev = BatchEnded(3, 7, np.float64(0.25), np.arange(3.0), 0.5, 12.0)
    logs = {"loss": 0.5, "n": np.int64(3), "nested": {"a": [1, (2, 3)], "__x": None}, 4: "int key"}
    msgs = wire.split_frames(bytearray(wire.encode(ev) + wire.encode(logs)), EVENT_TYPES)
    assert msgs[0].epoch == 3 and msgs[0].loss == 0.25 and np.array_equal(msgs[0].batch_losses, np.arange(3.0))
    assert msgs[1] == {"loss": 0.5, "n": 3, "nested": {"a": [1, (2, 3)], "__x": None}, 4: "int key"}


def test_small_runs_leave_one_core_to_the_window_and_large_ones_use_all():
    from engine.model import compile_graph
    from engine.spec import sequential
    from engine.train_process import BIG_BATCH_MACS, _Threads, blas_threads, model_macs, user_set_threads

    assert blas_threads(0, cores=1) == 1 and blas_threads(0, cores=2) == 1 and blas_threads(0, cores=8) == 7
    assert blas_threads(BIG_BATCH_MACS, cores=2) == 2 and blas_threads(BIG_BATCH_MACS - 1, cores=2) == 1
    small = compile_graph(sequential([("Input.v1", {"shape": [30]}), ("Dense.v1", {"units": 64}),
                                      ("Dense.v1", {"units": 2})]))
    big = compile_graph(sequential([("Input.v1", {"shape": [784]}), ("Dense.v1", {"units": 256}),
                                    ("Dense.v1", {"units": 128}), ("Dense.v1", {"units": 10})]))
    assert model_macs(small) == 30 * 64 + 64 * 2
    assert model_macs(big) == 784 * 256 + 256 * 128 + 128 * 10
    assert model_macs(small) * 32 < BIG_BATCH_MACS <= model_macs(big) * 128   # P2 vs P3 of the benchmark
    # a user's own setting wins
    assert user_set_threads({"OMP_NUM_THREADS": "4"}) and not user_set_threads({})
    from threadpoolctl import threadpool_info
    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    with _Threads(1):
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
        from engine.kernels.threads import kernel_threads
        assert kernel_threads() == 1
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


class _Rows:
    """A tiny data set for the export cache (weak-referenceable, like every Dataset)."""

    task, input_shape, n_outputs, class_names = "classification", (3,), 2, ["a", "b"]

    def __init__(self, n=10):
        self.x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
        self.y = np.arange(n) % 2

    def n(self, split):
        return len(self.y) if split == "train" else 0

    def get_batch(self, split, idx):
        return self.x[idx], self.y[idx]


def test_export_cache_writes_a_data_set_once_and_frees_it_with_the_data_set():
    import gc
    import os

    from engine.train_process import ExportCache

    cache = ExportCache()
    ds = _Rows()
    folder, desc, kept = cache.acquire(ds)
    assert kept and cache.writes == 1
    again = cache.acquire(ds)
    assert again[0] == folder and again[2] and cache.writes == 1      # the same data set: no second copy
    got = ArrayDataset(folder, desc).get_batch("train", np.arange(10))
    assert np.array_equal(got[0], ds.x) and np.array_equal(got[1], ds.y)
    other = _Rows(4)
    folder2, _, kept2 = cache.acquire(other)
    assert kept2 and folder2 != folder and cache.writes == 2
    assert not os.path.exists(folder)                                 # replaced: the old copy is gone
    del other
    gc.collect()
    assert not os.path.exists(folder2)                                # freed with its data set
    cache.clear()


def test_export_cache_does_not_keep_large_data_sets():
    import os

    from engine.train_process import ExportCache

    cache = ExportCache(limit=16)
    folder, _, kept = cache.acquire(_Rows())
    assert not kept and os.path.isdir(folder)        # the caller removes it after the run
    remove_folder(folder)
    assert cache.acquire(_Rows())[2] is False and cache.writes == 2
    cache.clear()


def test_stale_data_folders_of_ended_processes_are_removed(tmp_path):
    import os
    import subprocess
    import sys

    from engine.train_process import FOLDER_PREFIX, remove_stale_folders

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    dead = tmp_path / f"{FOLDER_PREFIX}{int(ended.stdout)}-abc"
    mine = tmp_path / f"{FOLDER_PREFIX}{os.getpid()}-abc"
    other = tmp_path / "nnstudio-something-else"
    for d in (dead, mine, other):
        d.mkdir()
        (d / "train_x.npy").write_bytes(b"x")
    assert remove_stale_folders(str(tmp_path)) == [str(dead)]
    assert not dead.exists() and mine.exists() and other.exists()
    made = data_folder()
    try:
        assert os.path.basename(made).startswith(f"{FOLDER_PREFIX}{os.getpid()}-")
    finally:
        remove_folder(made)
