"""TrainingController + TrainWorker: real runs on a tiny in-memory data set (pytest-qt)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from app.training_controller import (
    COMPILING,
    FAILED,
    IDLE,
    PAUSED,
    PAUSING,
    RUNNING,
    STOPPING,
    DataLoader,
    StateError,
    TrainingController,
)
from app.workers import boundary_grid, user_message
from engine.spec import sequential
from engine.trainer import TrainConfig

TIMEOUT = 60_000


class FakeDataset:
    """Minimal Dataset: blobs (classification) or a line (regression); optional slow batches."""

    def __init__(self, n=200, task="classification", delay=0.0, n_val=40, seed=0):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(n + n_val, 2)).astype(np.float32)
        if task == "classification":
            y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
            self.n_outputs, self.class_names = 2, ["a", "b"]
        else:
            y = (3 * x[:, :1] - x[:, 1:] + 0.1).astype(np.float32)
            self.n_outputs, self.class_names = 1, None
        self.task = task
        self.preprocessing = {"kind": "fake", "task": task}
        self.input_shape = (2,)
        self.x = {"train": x[:n], "val": x[n:], "test": x[:0]}
        self.y = {"train": y[:n], "val": y[n:], "test": y[:0]}
        self.delay = delay
        self.batches = 0

    def n(self, split):
        return len(self.y[split])

    def get_batch(self, split, idx):
        if split == "train":
            self.batches += 1
            if self.delay:
                time.sleep(self.delay)
        return self.x[split][idx], self.y[split][idx]


def clf_spec(hidden=8):
    return sequential([("Input.v1", {"shape": [2]}), ("Dense.v1", {"units": hidden, "activation": "relu"}),
                       ("Dense.v1", {"units": 2, "activation": "softmax"})])


def reg_spec():
    return sequential([("Input.v1", {"shape": [2]}), ("Dense.v1", {"units": 8, "activation": "relu"}),
                       ("Dense.v1", {"units": 1})])


def wait_idle(qtbot, ctl, timeout=TIMEOUT):
    if ctl.state in (IDLE, FAILED):
        return
    qtbot.waitUntil(lambda: ctl.state in (IDLE, FAILED), timeout=timeout)


@pytest.fixture
def ctl(qtbot):
    c = TrainingController()
    # these tests steer the run through fake data sets (delays, counters) that must stay in this process;
    # the training process is tested in tests/app/test_live_training.py and test_train_process_app.py
    c.use_process = False
    yield c
    assert c.shutdown(10_000)


def test_run_completes_with_events_and_history(qtbot, ctl):
    ds = FakeDataset()
    epochs, batches, states, bounds = [], [], [], []
    ctl.epoch_ended.connect(epochs.append)
    ctl.batch_ended.connect(batches.append)
    ctl.state_changed.connect(states.append)
    ctl.boundary_ready.connect(bounds.append)
    running = []
    ctl.running_changed.connect(running.append)
    with qtbot.waitSignal(ctl.run_finished, timeout=TIMEOUT) as blocker:
        assert ctl.start(TrainConfig(epochs=3, batch_size=32, lr=0.01), ds, spec=clf_spec())
        assert ctl.running and ctl.state == COMPILING
    wait_idle(qtbot, ctl)
    fin = blocker.args[0]
    assert fin.reason == "completed"
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert batches[-1].step == 3 * 7  # ceil(200 / 32) steps per epoch
    assert states[0] == COMPILING and RUNNING in states and states[-1] == IDLE
    assert running == [True, False]
    assert not ctl.running
    assert len(ctl.history) == 1 and len(ctl.history[0]["epochs"]) == 3
    assert ctl.history[0]["settings"]["epochs"] == 3
    assert epochs[-1].histograms and epochs[-1].confusion is not None
    # 2-D data: decision-boundary maps (at most every BOUNDARY_INTERVAL s, always the first and last epoch)
    assert bounds[0]["epoch"] == 1 and bounds[-1]["epoch"] == 3 and len(bounds) <= 3
    v = bounds[-1]["values"]
    assert v.shape[:2] == (64, 64) and v.shape[2] == 2
    np.testing.assert_allclose(v.sum(axis=2), 1.0, atol=1e-4)


def test_the_heap_is_frozen_for_a_run_and_released_after_it(qtbot, ctl):
    """Full garbage collections skip the app's objects while a run draws (they took ~100 ms of
    the GUI thread); at the end everything is back where the collector finds it."""
    import gc

    assert gc.get_freeze_count() == 0
    seen = []
    ctl.epoch_ended.connect(lambda ev: seen.append(gc.get_freeze_count()))
    assert ctl.start(TrainConfig(epochs=3, batch_size=32, lr=0.01), FakeDataset(), spec=clf_spec())
    assert gc.get_freeze_count() > 0
    wait_idle(qtbot, ctl)
    assert seen and min(seen) > 0
    assert gc.get_freeze_count() == 0
    # a run that cannot start freezes nothing
    assert not ctl.start(TrainConfig(epochs=1), None, spec=clf_spec())
    assert gc.get_freeze_count() == 0


def test_pause_resume_continues_from_same_step(qtbot, ctl):
    ds = FakeDataset(n=2000, delay=0.002)
    steps, firsts = [], []   # batch reports are merged per frame: each covers steps first..step
    ctl.batch_ended.connect(lambda ev: (steps.append(ev.step), firsts.append(ev.step - len(ev.batch_losses) + 1)))
    statuses = []
    ctl.status_changed.connect(statuses.append)
    ctl.start(TrainConfig(epochs=50, batch_size=16, lr=0.01, report_interval=0.0), ds, spec=clf_spec())
    qtbot.waitUntil(lambda: ctl.state == RUNNING and len(steps) > 3, timeout=TIMEOUT)
    ctl.pause()
    assert ctl.state == PAUSING   # "paused" only once the worker has really paused
    # the worker confirms the pause; after that no batch is trained
    qtbot.waitUntil(lambda: ctl.state == PAUSED, timeout=TIMEOUT)
    assert any(s.startswith("paused at") for s in statuses)
    paused_step = steps[-1]
    ctl.resume()
    qtbot.waitUntil(lambda: len(steps) > 0 and steps[-1] > paused_step + 2, timeout=TIMEOUT)
    after = [f for f, s in zip(firsts, steps) if s > paused_step]
    assert after[0] == paused_step + 1  # no step lost or repeated
    assert ctl.state == RUNNING
    ctl.stop()
    wait_idle(qtbot, ctl)
    assert ctl.state == IDLE


def test_stop_mid_epoch_is_prompt_and_keeps_weights(qtbot, ctl):
    ds = FakeDataset(n=5000, delay=0.005)
    steps = []
    ctl.batch_ended.connect(lambda ev: steps.append(ev.step))
    ctl.start(TrainConfig(epochs=5, batch_size=8, lr=0.01), ds, spec=clf_spec())
    qtbot.waitUntil(lambda: len(steps) > 2, timeout=TIMEOUT)
    with qtbot.waitSignal(ctl.run_finished, timeout=TIMEOUT) as blocker:
        ctl.stop()
        assert ctl.state == STOPPING
    wait_idle(qtbot, ctl)
    assert blocker.args[0].reason == "stopped"
    assert blocker.args[0].state  # weights after the last finished batch
    # stopped within the first epoch (625 batches), long before its end
    assert ds.batches < 625
    assert ctl.state == IDLE


def test_nan_run_pauses_with_suggestion_and_resume_or_stop_work(qtbot, ctl):
    ds = FakeDataset(task="regression")
    with qtbot.waitSignal(ctl.diverged, timeout=TIMEOUT) as blocker:
        ctl.start(TrainConfig(epochs=20, batch_size=16, lr=1e6, optimizer="sgd"), ds, spec=reg_spec())
    msg = blocker.args[0]
    assert "diverged" in msg and "half the learning rate" in msg and "Traceback" not in msg
    assert ctl.state == PAUSED and ctl.running
    # Resume: rolls back to the checkpoint, halves the learning rate and goes on (and may diverge again)
    with qtbot.waitSignal(ctl.diverged, timeout=TIMEOUT):  # lr 1e6 / 2 still diverges
        ctl.resume()
    assert ctl.state == PAUSED
    with qtbot.waitSignal(ctl.run_finished, timeout=TIMEOUT) as fin:
        ctl.stop()
    wait_idle(qtbot, ctl)
    assert fin.args[0].reason == "stopped"
    assert all(np.all(np.isfinite(v)) for v in fin.args[0].state.values())
    assert ctl.state == IDLE and not ctl.running


def test_bad_graph_or_shape_is_a_plain_message(qtbot, ctl):
    ds = FakeDataset()
    spec = sequential([("Input.v1", {"shape": [3]}), ("Dense.v1", {"units": 2, "activation": "softmax"})])
    with qtbot.waitSignal(ctl.run_failed, timeout=TIMEOUT) as blocker:
        ctl.start(TrainConfig(epochs=1), ds, spec=spec)
    wait_idle(qtbot, ctl)
    assert "Input" in blocker.args[0] and "\n" not in blocker.args[0]
    assert ctl.state == FAILED
    # failed behaves like idle: a new run can start
    with qtbot.waitSignal(ctl.run_finished, timeout=TIMEOUT):
        assert ctl.start(TrainConfig(epochs=1, batch_size=64), ds, spec=clf_spec())
    wait_idle(qtbot, ctl)
    assert ctl.state == IDLE


def test_twenty_start_stop_cycles(qtbot, ctl):
    ds = FakeDataset(n=400, delay=0.001)
    for i in range(20):
        assert ctl.start(TrainConfig(epochs=100, batch_size=8), ds, spec=clf_spec()), i
        assert not ctl.start(TrainConfig(epochs=1), ds, spec=clf_spec())  # no overlapping runs
        if i % 2:
            qtbot.waitUntil(lambda: ctl.state == RUNNING, timeout=TIMEOUT)
            ctl.pause() if i % 4 == 1 else None
        ctl.stop()
        assert ctl.state == STOPPING
        ctl.stop()  # a second click is harmless
        wait_idle(qtbot, ctl)
        assert ctl.state == IDLE and not ctl.running
    assert ctl._thread is None


def test_shutdown_during_training_joins_the_thread(qtbot):
    ctl = TrainingController()
    ds = FakeDataset(n=5000, delay=0.002)
    steps = []
    ctl.batch_ended.connect(lambda ev: steps.append(ev.step))
    ctl.start(TrainConfig(epochs=50, batch_size=8), ds, spec=clf_spec())
    qtbot.waitUntil(lambda: len(steps) > 0, timeout=TIMEOUT)
    thread = ctl._thread
    assert ctl.shutdown(10_000)
    assert thread.isFinished()
    assert ctl.state == IDLE and not ctl.running
    assert ctl.shutdown(100)  # idempotent


def test_shutdown_while_paused(qtbot):
    ctl = TrainingController()
    ds = FakeDataset(n=2000, delay=0.001)
    ctl.start(TrainConfig(epochs=50, batch_size=8), ds, spec=clf_spec())
    qtbot.waitUntil(lambda: ctl.state == RUNNING, timeout=TIMEOUT)
    ctl.pause()
    assert ctl.shutdown(10_000)
    assert ctl.state == IDLE


def test_state_machine_rejects_bad_transitions():
    ctl = TrainingController()
    with pytest.raises(StateError):
        ctl._set_state(PAUSED)
    ctl.pause()  # no-ops when idle
    ctl.resume()
    ctl.stop()
    assert ctl.state == IDLE


class FakeDoc:
    def __init__(self, spec):
        self.spec = spec
        self.weights = None
        self.history = []
        self.metadata = {}
        self.preprocessing = None

    def train_blocker(self):
        return None

    def set_weights(self, w):
        self.weights = dict(w)


def test_document_gets_weights_and_history(qtbot):
    doc = FakeDoc(clf_spec())
    ctl = TrainingController(doc)
    hist = []
    ctl.history_changed.connect(lambda: hist.append(1))
    with qtbot.waitSignal(ctl.run_finished, timeout=TIMEOUT):
        ctl.start(TrainConfig(epochs=2, batch_size=32), FakeDataset())
    wait_idle(qtbot, ctl)
    assert set(doc.weights) == {"n2/W", "n2/b", "n3/W", "n3/b"}
    # what predict and export need travels with the weights
    assert doc.preprocessing == {"kind": "fake", "task": "classification"}
    assert doc.metadata["class_names"] == ["a", "b"] and doc.metadata["task"] == "classification"
    assert doc.history[0]["name"] == "Run 1" and [r["epoch"] for r in doc.history[0]["epochs"]] == [1, 2]
    assert hist == [1]
    import json
    json.dumps(doc.history)  # project files store it as JSON
    assert ctl.shutdown(1000)


def test_no_data_is_reported():
    ctl = TrainingController(FakeDoc(clf_spec()))
    msgs = []
    ctl.run_failed.connect(msgs.append)
    assert not ctl.start(TrainConfig(), None)
    assert msgs and "data" in msgs[0]
    assert ctl.state == FAILED


def test_data_loader_runs_off_thread_and_reports_errors(qtbot):
    loader = DataLoader()
    main = threading.get_ident()

    def ok(progress, cancel):
        progress(0.5, "half")
        return threading.get_ident()

    def bad(progress, cancel):
        raise ValueError("column 'x' is missing\nmore")

    with qtbot.waitSignal(loader.result, timeout=TIMEOUT) as blocker:
        loader.run("load", ok)
    assert blocker.args[0] == "load" and blocker.args[1] != main
    with qtbot.waitSignal(loader.failed, timeout=TIMEOUT) as blocker:
        loader.run("preview", bad)
    assert blocker.args == ["preview", "column 'x' is missing"]
    qtbot.waitUntil(lambda: not loader.busy, timeout=TIMEOUT)
    assert loader.shutdown(1000)


def test_helpers():
    xs, ys, grid = boundary_grid(np.array([[0.0, 0.0], [1.0, 2.0]]), res=5)
    assert grid.shape == (25, 2) and xs[0] < 0 < 1 < xs[-1] and ys[-1] > 2
    assert user_message(ValueError("one\ntwo")) == "one"
    assert "memory" in user_message(MemoryError())


def test_progress_text_counts_and_estimates_time_left():
    from app.workers import count_and_eta
    assert count_and_eta((0, 0), 1.0) == ""
    assert count_and_eta((0.5, "half"), 1.0) == ""
    assert count_and_eta((1200, 5000), 0.2) == "1,200 / 5,000"          # too early for an estimate
    assert count_and_eta((1000, 5000), 3.0) == "1,000 / 5,000 · about 12 s left"
    assert count_and_eta((100, 5000), 6.0) == "100 / 5,000 · about 5 min left"
