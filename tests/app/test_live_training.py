"""Live training that never freezes: frames not queues, hidden views idle, Pause/Step/Reset (issue 10)."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from app.main_window import MainWindow
from app.training_controller import FRAME_HZ, IDLE, PAUSED, PAUSING
from app.training_ui import install_training_ui
from app.workers import LiveFeed
from engine.io import demo_project
from engine.trainer import BatchEnded, EpochEnded, histogram
from widgets.histograms import MAX_COLUMNS, WeightHistograms

TIMEOUT = 120_000


@pytest.fixture(params=["process", "thread"])
def win(request, qtbot, tmp_path, monkeypatch):
    """The main window; its runs train in the training process, or (NNSTUDIO_TRAIN_PROCESS=0) on a thread."""
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    w = MainWindow(demo_project())
    w.project.show_error = lambda title, text: pytest.fail(f"unexpected error dialog: {text}")
    w.project.maybe_save = lambda *a, **k: True   # the shown window closes at teardown without asking
    qtbot.addWidget(w)
    ctl = install_training_ui(w) if getattr(w, "training_ui", None) is None else w.training
    ctl.use_process = request.param == "process"
    w.show()
    yield w
    assert ctl.shutdown(10_000)
    w.project.timer.stop()
    w.undo_stack.setClean()


def configure(ui, epochs: int, n: int = 100) -> None:
    ui.training_panel.set_config({**ui.training_panel.config().to_dict(), "epochs": epochs})
    ui.data_panel.n_samples.setValue(n)


def run_rows(ctl) -> int:
    return len((ctl._run or {}).get("epochs") or [])


def test_feed_merges_batches_and_wakes_once():
    feed = LiveFeed()
    wakes = [feed.put(BatchEnded(1, s, float(s), np.array([float(s)]), 0.1, 10.0)) for s in range(1, 101)]
    assert wakes[0] and not any(wakes[1:])     # one wake-up for a hundred events
    ev = EpochEnded(1, {"loss": 1.0}, 0.1, 10.0)
    assert not feed.put(ev)
    out = feed.drain()
    assert len(out) == 2 and out[1] is ev
    assert out[0].step == 100 and list(out[0].batch_losses) == [float(s) for s in range(1, 101)]
    assert feed.drain() == [] and feed.put(ev)


def test_2000_epoch_run_keeps_the_event_loop_ticking(qtbot, win):
    ui, ctl = win.training_ui, win.training
    configure(ui, 2000)
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    t0 = time.monotonic()
    win.actions["train"].trigger()
    tab = 0
    per_window = []            # timer ticks during each 150 ms window
    while ctl.state != IDLE:   # every tab shown in turn while it trains
        ui.tabs.setCurrentIndex(tab % ui.tabs.count())
        tab += 1
        before = len(ticks)
        qtbot.wait(150)
        per_window.append(len(ticks) - before)
        assert time.monotonic() - t0 < TIMEOUT / 1000
    elapsed = time.monotonic() - t0
    timer.stop()
    assert ctl.history[-1]["reason"] == "completed" and len(ctl.history[-1]["epochs"]) == 2000
    assert len(ui.curves.epochs) == 2000            # every epoch reached the curves, none lost
    # a fast trainer does not flood the GUI: events arrive in frames, not one queued call each
    assert ctl.frames <= elapsed * FRAME_HZ * 2 + 20, (ctl.frames, elapsed)
    # the 10 ms timer kept ticking (input events would have been handled as well): in (nearly) every
    # 150 ms window, not only on average.  A starved event loop (the original defect: frames queued
    # faster than drawn) leaves whole windows without a tick; a busy machine only makes ticks rarer.
    live = sum(1 for n in per_window if n >= 2)
    assert live >= 0.8 * len(per_window), per_window


def test_pause_is_shown_when_true_and_step_trains_exactly_one_epoch(qtbot, win):
    ui, ctl = win.training_ui, win.training
    configure(ui, 5000)
    win.actions["train"].trigger()
    qtbot.waitUntil(lambda: run_rows(ctl) >= 3, timeout=TIMEOUT)
    assert not win.status_summary.isVisible()        # no "ready to train" while it trains
    qtbot.waitUntil(lambda: "epoch" in ui.progress_line.text(), timeout=TIMEOUT)
    ui.run_actions["pause"].trigger()
    assert ctl.state == PAUSING
    qtbot.waitUntil(lambda: ctl.state == PAUSED, timeout=TIMEOUT)
    assert ui.run_actions["pause"].text().replace("&", "") == "Resume"
    # the status line says so, with no speed or ETA while nothing runs
    assert ui.progress_line.text().startswith("paused at epoch") and "samples/s" not in ui.progress_line.text()
    rows = run_rows(ctl)
    qtbot.wait(300)
    assert run_rows(ctl) == rows                     # paused means paused
    for _ in range(3):
        before = run_rows(ctl)
        ui.run_actions["step"].trigger()
        qtbot.waitUntil(lambda before=before: ctl.state == PAUSED and run_rows(ctl) > before, timeout=TIMEOUT)
        qtbot.wait(200)
        assert run_rows(ctl) == before + 1 and ctl.state == PAUSED
    ui.run_actions["pause"].trigger()                # resume
    qtbot.waitUntil(lambda: run_rows(ctl) > rows + 5, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "ETA" in ui.progress_line.text(), timeout=TIMEOUT)
    assert not ui._eta.paused                       # the ETA clock runs again
    ui.run_actions["stop"].trigger()
    qtbot.waitUntil(lambda: ctl.state == IDLE, timeout=TIMEOUT)
    assert win.status_summary.isVisible()


def test_step_from_idle_then_reset_reinitialises(qtbot, win):
    ui, ctl, doc = win.training_ui, win.training, win.document
    configure(ui, 50)
    assert ui.run_actions["step"].isEnabled() and not ui.run_actions["stop"].isEnabled()
    ui.run_actions["step"].trigger()
    qtbot.waitUntil(lambda: ctl.state == PAUSED, timeout=TIMEOUT)
    assert run_rows(ctl) == 1
    ui.run_actions["stop"].trigger()
    qtbot.waitUntil(lambda: ctl.state == IDLE, timeout=TIMEOUT)
    assert doc.weights is not None
    first = {k: v.copy() for k, v in doc.weights.items()}
    # Step again from idle continues from the trained weights
    ui.run_actions["step"].trigger()
    qtbot.waitUntil(lambda: ctl.state == PAUSED, timeout=TIMEOUT)
    ui.run_actions["stop"].trigger()
    qtbot.waitUntil(lambda: ctl.state == IDLE, timeout=TIMEOUT)
    assert any(not np.array_equal(first[k], v) for k, v in doc.weights.items())
    seed = ui.training_panel.config().seed
    ui.run_actions["reset"].trigger()
    assert doc.weights is None and len(ui.curves.epochs) == 0
    assert ui.training_panel.config().seed == seed
    ui.run_actions["reinit"].trigger()
    assert ui.training_panel.config().seed == seed + 1 and doc.weights is None


def test_hidden_views_do_no_drawing_and_catch_up_when_shown(qtbot, win):
    ui, ctl = win.training_ui, win.training
    configure(ui, 40)
    ui.tabs.setCurrentWidget(ui.curves)
    with qtbot.waitSignal(ctl.run_finished, timeout=TIMEOUT):
        win.actions["train"].trigger()
    qtbot.waitUntil(lambda: ctl.state == IDLE, timeout=TIMEOUT)
    assert ui.curves.draws > 0
    assert ui.histograms.draws == 0 and ui.boundary.draws == 0 and ui.confusion.draws == 0
    curve_draws = ui.curves.draws
    ui.tabs.setCurrentWidget(ui.boundary)
    assert ui.boundary.draws == 0      # the tab paints first; the catch-up comes in a later pass
    qtbot.waitUntil(lambda: ui.boundary.draws == 1, timeout=5000)
    assert ui.boundary.payload["epoch"] == 40       # the last map, not a stale one
    ui.tabs.setCurrentWidget(ui.histograms)
    qtbot.waitUntil(lambda: ui.histograms.draws == 1, timeout=5000)
    assert "after epoch 40" in ui.histograms.stats.text()
    ui.tabs.setCurrentWidget(ui.confusion)
    qtbot.waitUntil(lambda: ui.confusion.draws == 1, timeout=5000)
    qtbot.wait(300)
    assert ui.curves.draws == curve_draws           # the hidden curves did not redraw
    assert ui.boundary.draws == 1 and ui.histograms.draws == 1


def test_histogram_history_memory_is_bounded(qtbot):
    w = WeightHistograms()
    qtbot.addWidget(w)
    rng = np.random.default_rng(0)
    for e in range(1, 5001):
        h = histogram(rng.normal(0, 1 + e / 1000, 200))
        w.store_epoch(EpochEnded(e, {"loss": 1.0}, 0.0, 1.0, {"n2/W": h}, {"n2": 1.0}))
        if e % 500 == 0:
            w.redraw()
    heat = w.heat["n2/W"]
    assert len(heat.epochs) <= MAX_COLUMNS and heat.cols.shape == (len(heat.epochs), heat.bins)
    assert heat.epochs[0] == 1 and heat.epochs[-1] >= 5000 - heat.stride
    assert np.allclose(heat.cols.sum(axis=1), 200)   # re-binning onto the widened range keeps every count
    assert len(w.snapshots) == 1 and w.snapshots["n2/W"][0] == 5000
    img, lo, hi = w.heat_image("n2/W")
    assert img.shape[0] == len(heat.epochs) and lo < -3 and hi > 3
