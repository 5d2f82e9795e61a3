"""Live runs in the training process: the worker used, a child that dies, the in-thread fallback."""
from __future__ import annotations

import os
import signal

import pytest

from app import workers
from app.main_window import MainWindow
from app.training_controller import FAILED, IDLE, RUNNING
from app.training_ui import install_training_ui
from engine.io import demo_project

TIMEOUT = 120_000


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    w = MainWindow(demo_project())
    w.project.maybe_save = lambda *a, **k: True
    qtbot.addWidget(w)
    if getattr(w, "training_ui", None) is None:
        install_training_ui(w)
    w.show()
    yield w
    assert w.training.shutdown(10_000)
    w.project.timer.stop()
    w.undo_stack.setClean()


def test_runs_use_the_training_process_by_default(monkeypatch):
    monkeypatch.delenv("NNSTUDIO_TRAIN_PROCESS", raising=False)
    assert workers.process_enabled()
    monkeypatch.setenv("NNSTUDIO_TRAIN_PROCESS", "0")
    assert not workers.process_enabled()


def test_a_killed_training_process_fails_the_run_and_the_next_run_works(qtbot, win):
    ui, ctl = win.training_ui, win.training
    ctl.use_process = True
    ui.training_panel.set_config({**ui.training_panel.config().to_dict(), "epochs": 100000})
    errors = []
    ctl.run_failed.connect(errors.append)
    assert ui.start_training()
    assert isinstance(ctl._worker, workers.ProcessTrainWorker)
    qtbot.waitUntil(lambda: ctl.state == RUNNING and len(ctl._run["epochs"]) > 2, timeout=TIMEOUT)
    old_pid = workers.shared_process().proc.pid
    os.kill(old_pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: ctl.state in (IDLE, FAILED) and ctl._thread is None, timeout=TIMEOUT)
    assert errors and "training process ended unexpectedly" in errors[-1]
    assert ui.banner.isVisible()          # said where the user is looking, not only in the panel
    # the window is fine, and the next run starts a new process
    ui.training_panel.set_config({**ui.training_panel.config().to_dict(), "epochs": 3})
    assert ui.start_training()
    qtbot.waitUntil(lambda: ctl.state == IDLE and ctl.last_finished is not None, timeout=TIMEOUT)
    assert ctl.last_finished.reason == "completed" and win.document.weights
    assert workers.shared_process().proc.pid != old_pid


def test_when_the_process_cannot_start_the_run_trains_in_the_app(qtbot, win, monkeypatch):
    ui, ctl = win.training_ui, win.training
    ctl.use_process = True

    def cannot():
        raise workers.ProcessGone("could not start the training process: test")

    monkeypatch.setattr(workers, "shared_process", cannot)
    ui.training_panel.set_config({**ui.training_panel.config().to_dict(), "epochs": 3})
    assert ui.start_training()
    qtbot.waitUntil(lambda: ctl.state == IDLE and ctl.last_finished is not None, timeout=TIMEOUT)
    assert ctl.last_finished.reason == "completed" and len(ctl.history[-1]["epochs"]) == 3


def test_a_second_run_on_the_same_data_does_not_write_it_again(qtbot, win):
    ui, ctl = win.training_ui, win.training
    ctl.use_process = True
    workers.EXPORTS.clear()
    writes = workers.EXPORTS.writes
    ui.training_panel.set_config({**ui.training_panel.config().to_dict(), "epochs": 2})
    for _ in range(2):
        assert ui.start_training()
        qtbot.waitUntil(lambda: ctl.state == IDLE and ctl._thread is None and ctl.last_finished is not None,
                        timeout=TIMEOUT)
        assert ctl.last_finished.reason == "completed"
    assert workers.EXPORTS.writes == writes + 1
    workers.EXPORTS.clear()
