"""Training inside the assembled main window (offscreen): docks, a real run, locking, close."""
from __future__ import annotations

import numpy as np
import pytest

from app.main_window import MainWindow
from app.training_controller import IDLE, RUNNING
from app.training_ui import install_training_ui
from engine.io import demo_project

TIMEOUT = 60_000


def npts(item) -> int:
    x, _ = item.getData()
    return 0 if x is None else len(x)


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    w = MainWindow(demo_project())
    w.project.show_error = lambda title, text: pytest.fail(f"unexpected error dialog: {text}")
    qtbot.addWidget(w)
    ctl = install_training_ui(w) if getattr(w, "training_ui", None) is None else w.training
    assert w.training is ctl
    yield w
    assert ctl.shutdown(10_000)
    w.project.timer.stop()
    w.undo_stack.setClean()


def test_docks_and_tabs(win):
    ui = win.training_ui
    assert {"Data", "Training", "Training plots"} <= set(win.panels)
    assert [ui.tabs.tabText(i) for i in range(ui.tabs.count())] == ["Curves", "Weights", "Boundary", "Confusion"]
    # the demo project's settings and data choice are shown
    assert ui.training_panel.config().lr == 0.01
    assert ui.data_panel.spec().path == "spirals"
    assert "sparse_cce" in ui.training_panel.loss.itemText(0)


def test_train_action_runs_and_fills_every_view(qtbot, win):
    ui, ctl = win.training_ui, win.training
    ui.training_panel.epochs.setValue(3)
    ui.data_panel.n_samples.setValue(200)
    locked = []
    ctl.running_changed.connect(lambda r: locked.append((r, win.view.isEnabled(),
                                                         win.actions["undo"].isEnabled(),
                                                         win.actions["train"].isEnabled())))
    with qtbot.waitSignal(ctl.run_finished, timeout=TIMEOUT):
        win.actions["train"].trigger()
    qtbot.waitUntil(lambda: ctl.state == IDLE, timeout=TIMEOUT)
    assert locked[0] == (True, False, False, False)  # graph editing blocked while running
    assert locked[-1][0] is False and locked[-1][1] and locked[-1][3]
    ui.curves.redraw()
    steps = 3 * int(np.ceil(160 / 16))  # 200 samples, 20 % validation, batch 16
    assert npts(ui.curves.items["batch_raw"]) == steps
    assert npts(ui.curves.items["loss"]) == 3 and npts(ui.curves.items["val_loss"]) == 3
    assert npts(ui.curves.items["metric"]) == 3
    # the other views draw when they are shown (hidden ones wait)
    win.project.maybe_save = lambda *a, **k: True
    win.show()
    for view in (ui.histograms, ui.confusion, ui.boundary):
        ui.tabs.setCurrentWidget(view)
        ui.draw_frame()
    assert ui.histograms.combo.count() == 6  # W and b of three Dense layers
    assert ui.confusion.matrix is not None and ui.confusion.matrix.sum() == 40
    assert ui.boundary.payload is not None and ui.boundary.payload["epoch"] == 3
    assert win.document.weights is not None and len(win.document.history) == 1
    assert win.document.data_spec["path"] == "spirals"
    assert ui.compare.count() == 2
    ui.compare.setCurrentIndex(1)
    ui.curves.redraw()
    assert npts(ui.curves.items["overlay_loss"]) == 3
    assert "done" in ui.training_panel.eta.text()
    assert ui.training_panel.train_btn.isEnabled() and not ui.training_panel.stop_btn.isEnabled()


def test_load_button_then_train_reuses_the_dataset(qtbot, win):
    ui, ctl = win.training_ui, win.training
    ui.data_panel.sample.setCurrentIndex(ui.data_panel.sample.findData("xor"))
    with qtbot.waitSignal(ui.loader.result, timeout=TIMEOUT):
        ui.data_panel.load_btn.click()
    ds = ctl.dataset
    assert ds is not None and "500 samples" in ui.data_panel.summary.text()
    assert ui.data_for_run() is ds
    ui.training_panel.epochs.setValue(1)
    with qtbot.waitSignal(ctl.run_finished, timeout=TIMEOUT):
        ui.training_panel.train_btn.click()
    assert ctl.dataset is ds


def test_csv_preview_through_the_worker(qtbot, win, tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("u,v,kind\n1,2,a\n2,3,b\n3,1,a\n4,4,b\n")
    dp = win.training_ui.data_panel
    dp.kind.setCurrentIndex(dp.kind.findData("csv"))
    dp.path.setText(str(f))
    with qtbot.waitSignal(win.training_ui.loader.result, timeout=TIMEOUT):
        dp._request_preview()
    assert dp.table.columnCount() == 3 and dp.target.currentText() == "kind"
    dp.path.setText(str(tmp_path / "missing.csv"))
    with qtbot.waitSignal(win.training_ui.loader.failed, timeout=TIMEOUT):
        dp._request_preview()
    assert dp.message.text() and "Traceback" not in dp.message.text()


def test_bad_settings_are_shown_not_raised(win):
    ui = win.training_ui
    ui.training_panel.lr.setText("abc")
    assert not ui.start_training()
    assert "learning rate" in ui.training_panel.message.text()
    assert not win.training.running


def test_close_during_training_exits_cleanly(qtbot, win):
    ui, ctl = win.training_ui, win.training
    ui.training_panel.epochs.setValue(500)
    steps = []
    ctl.batch_ended.connect(lambda ev: steps.append(ev.step))
    win.actions["train"].trigger()
    qtbot.waitUntil(lambda: ctl.state == RUNNING and bool(steps), timeout=TIMEOUT)
    thread = ctl._thread
    assert ctl.shutdown(10_000)  # what MainWindow.closeEvent calls
    assert thread.isFinished() and not ctl.running
    assert win.view.isEnabled()
    win.undo_stack.setClean()
    win.close()


def test_loaded_data_that_does_not_fit_the_input_gets_the_trainers_message(win):
    """The panel's shape warning is the engine's own sentence (one wording for training, evaluation and here)."""
    from engine.data import load_dataset
    from engine.data.spec import DataSpec
    from engine.model import shape_problem

    ui = win.training_ui
    wine = load_dataset(DataSpec(kind="sample", path="wine"))   # 13 features; the demo's Input takes 2
    ui._show_dataset(wine)
    want = shape_problem((2,), wine.input_shape)
    assert want and "set the Input shape to 13" in want
    assert ui.training_panel.message.text() == want
