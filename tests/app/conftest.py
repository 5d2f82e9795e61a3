"""Fixtures for the app tests. ``studio``: a main window with the training and evaluation UIs, for tests
that load data, train and predict through the app as a user would."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.evaluation_ui import install_evaluation_ui
from app.main_window import MainWindow
from engine.io import demo_project


@pytest.fixture
def studio(qtbot, tmp_path, monkeypatch):
    """``.win``, ``.ctl`` (the TrainingController), ``.ui`` (the evaluation UI), ``.train(epochs)``; shut
    down afterwards."""
    from app.training_ui import install_training_ui

    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "appdata"))
    w = MainWindow(demo_project())
    qtbot.addWidget(w)
    w.project.show_error = lambda title, text: pytest.fail(f"unexpected error dialog: {text}")
    w.project.maybe_save = lambda *a, **k: True
    ctl = install_training_ui(w) if getattr(w, "training_ui", None) is None else w.training
    ui = getattr(w, "evaluation_ui", None) or install_evaluation_ui(w)
    def train(epochs: int, timeout: int = 120_000):
        """Press Train (F5) for ``epochs`` epochs and wait until the run has completed and the app is idle."""
        from app.training_controller import IDLE

        assert w.actions["train"].isEnabled(), w.actions["train"].toolTip()
        w.training_ui.training_panel.epochs.setValue(epochs)
        with qtbot.waitSignal(ctl.run_finished, timeout=timeout) as blocker:
            w.actions["train"].trigger()
        assert blocker.args[0].reason == "completed"
        qtbot.waitUntil(lambda: ctl.state == IDLE, timeout=timeout)

    yield SimpleNamespace(win=w, ctl=ctl, ui=ui, train=train)
    assert ctl.shutdown(10_000)
    assert not ui.loader.busy           # nothing left running behind the window
    w.project.timer.stop()
    w.undo_stack.setClean()
