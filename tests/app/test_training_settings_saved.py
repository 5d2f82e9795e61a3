"""Training settings edited in the panel are part of the project: File > Save keeps them (without
training first), the edit marks the project modified, and opening the project shows them again."""
from __future__ import annotations

import pytest

from app.main_window import MainWindow
from app.training_ui import install_training_ui
from engine.io import demo_project, load_project


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    w = MainWindow(demo_project())
    w.project.show_error = lambda title, text: pytest.fail(f"unexpected error dialog: {text}")
    w.project.maybe_save = lambda *a, **k: True
    qtbot.addWidget(w)
    ctl = install_training_ui(w) if getattr(w, "training_ui", None) is None else w.training
    yield w
    assert ctl.shutdown(10_000)
    w.project.timer.stop()
    w.undo_stack.setClean()


def settle(qtbot):
    qtbot.wait(20)  # the panel's edits are taken once the event loop has run


def test_edited_settings_are_saved_without_training(win, tmp_path, qtbot):
    tp = win.training_ui.training_panel
    settle(qtbot)
    assert not win.project.is_modified()
    path = tmp_path / "p.nnsp"
    assert win.project.save_as(str(path))
    assert not win.project.is_modified()
    tp.set_config({**tp.config().to_dict()})  # showing the same settings is no edit
    settle(qtbot)
    assert not win.project.is_modified()
    tp.optimizer.setCurrentIndex(tp.optimizer.findData("sgd"))
    tp.momentum.setValue(0.9)
    tp.lr.setText("0.05")
    tp.weight_decay.setValue(0.2)  # hidden for sgd: still kept
    settle(qtbot)
    assert win.project.is_modified()
    assert win.project.save()
    saved = load_project(path).train_config
    assert (saved["optimizer"], saved["momentum"], saved["lr"], saved["weight_decay"]) == ("sgd", 0.9, 0.05, 0.2)
    # a half-typed number is not saved over the last good settings
    tp.lr.setText("0.0.")
    settle(qtbot)
    assert win.document.train_config["lr"] == 0.05
    # opening the project again shows them
    tp.lr.setText("0.001")
    settle(qtbot)
    assert win.project.open_project(str(path))
    settle(qtbot)
    assert tp.config().lr == 0.05 and tp.config().momentum == 0.9 and tp.config().optimizer == "sgd"
    assert not win.project.is_modified()
