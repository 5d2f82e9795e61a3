"""SIGTERM / Ctrl+C end the app with an autosave and 128 + the signal, never a dialog."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_sigterm_quits_the_app_with_143(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "NNSTUDIO_DATA_DIR": str(tmp_path / "data"),
           "NNSTUDIO_LANG": "en", "NNSTUDIO_TRAIN_PROCESS": "0", "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "NNSTUDIO_LOG_DIR": str(tmp_path / "logs")}
    log = tmp_path / "logs" / "nnstudio.log"
    p = subprocess.Popen([sys.executable, str(ROOT / "main.py")], env=env, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90       # "started" is logged once the signal handlers are in place
        while not (log.is_file() and "NN Studio started" in log.read_text("utf-8")):
            assert p.poll() is None, p.stderr.read()
            assert time.monotonic() < deadline, "the app did not start"
            time.sleep(0.2)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 143, err
    assert "SIGTERM" in err


def test_a_signal_autosaves_unsaved_work(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    from PySide6.QtWidgets import QApplication

    from app import signals
    from app.main_window import MainWindow
    from engine.io import demo_project
    w = MainWindow(demo_project())
    w.project.maybe_save = lambda *a, **k: pytest.fail("no dialog on a signal")
    qtbot.addWidget(w)
    w.project.mark_dirty()
    app = QApplication.instance()
    codes = []
    monkeypatch.setattr(app, "exit", lambda code=0: codes.append(code), raising=False)
    monkeypatch.delattr(app, "_nn_exit_code", raising=False)
    signals.on_signal(app, w, signal.SIGINT)
    assert codes == [130] and w.project.autosave_path.is_file()
    assert w.project.recovery_available()
    signals.on_signal(app, w, signal.SIGINT)            # a second Ctrl+C does nothing more
    assert codes == [130]
    del app._nn_exit_code
    w.project.timer.stop()
    w.undo_stack.setClean()
