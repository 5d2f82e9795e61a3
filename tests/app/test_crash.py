"""Internal errors: logged with the traceback, work autosaved, one dialog that names the log file."""
from __future__ import annotations

import logging
import sys
import threading

import pytest

from engine import logs


@pytest.fixture
def fresh_log(tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_LOG_DIR", str(tmp_path / "logs"))
    log = logging.getLogger(logs.LOGGER)
    saved = (list(log.handlers), getattr(log, "_nn_configured", False), logs._path)
    log.handlers, log._nn_configured, logs._path = [], False, None
    hooks = (sys.excepthook, threading.excepthook)
    yield tmp_path / "logs" / logs.FILE_NAME
    for h in log.handlers:
        h.close()
    log.handlers, log._nn_configured, logs._path = saved
    sys.excepthook, threading.excepthook = hooks


def test_log_file_is_set_up_once(fresh_log):
    assert logs.setup() == fresh_log and logs.setup() == fresh_log
    logs.get("x").info("hello")
    for h in logging.getLogger(logs.LOGGER).handlers:
        h.flush()
    assert "hello" in fresh_log.read_text("utf-8")
    assert len(logging.getLogger(logs.LOGGER).handlers) == 1


def test_an_uncaught_error_is_logged_autosaved_and_reported(qtbot, tmp_path, monkeypatch, fresh_log):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    from app import crash
    from app.main_window import MainWindow
    from engine.io import demo_project
    w = MainWindow(demo_project())
    w.project.maybe_save = lambda *a, **k: True
    qtbot.addWidget(w)
    shown = []
    w.project.show_error = lambda title, text: shown.append((title, text))
    w.project.mark_dirty()
    crash.install(w)
    try:
        raise KeyError("no such thing")
    except KeyError:
        sys.excepthook(*sys.exc_info())
    assert shown and shown[0][0] == "Internal error"
    text = shown[0][1]
    assert "a bug in NN Studio" in text and str(fresh_log) in text and "autosaved" in text
    assert w.project.autosave_path.is_file()
    for h in logging.getLogger(logs.LOGGER).handlers:
        h.flush()
    assert "KeyError: 'no such thing'" in fresh_log.read_text("utf-8")
    w.project.timer.stop()
    w.undo_stack.setClean()


def test_worker_internal_errors_name_the_log(fresh_log):
    from app.workers import user_message
    logs.setup()
    msg = user_message(ZeroDivisionError("boom"))
    assert msg.startswith("internal error in NN Studio (ZeroDivisionError: boom)") and str(fresh_log) in msg
    assert "could not read a file" in user_message(FileNotFoundError(2, "No such file", "x.csv"))
