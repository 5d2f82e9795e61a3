"""Closing the window while data is loading ends the app cleanly (issue 17).

The loaders run on QThreads; destroying a running QThread aborts the process
("QThread: Destroyed while thread is still running", exit 134), so this runs the app in a
subprocess and looks at its exit code.
"""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r})
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QTimer
    from app.application import create_app
    app = create_app()
    from app.main_window import MainWindow
    from engine.io import demo_project
    w = MainWindow(demo_project())
    w.project.maybe_save = lambda *a, **k: True
    w.show()
    stubborn = {stubborn!r}
    def slow(progress, cancel):      # a load that takes a while (stubborn: one that ignores cancel)
        t = time.time()
        while time.time() - t < (2.0 if stubborn else 60.0):
            if cancel.is_set() and not stubborn:
                return None
            time.sleep(0.01)
        return 1
    uis = [w.training_ui, w.evaluation_ui]
    for ui in uis:
        ui.loader.run("data", slow)
    assert all(ui.loader.busy for ui in uis)
    QTimer.singleShot(300, w.close)
    QTimer.singleShot(400, app.quit)
    app.exec()
    print("clean exit", flush=True)
""")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("stubborn", [False, True], ids=["cancellable", "ignores-cancel"])
def test_closing_the_window_while_loading_exits_cleanly(tmp_path, stubborn):
    env = {"NNSTUDIO_DATA_DIR": str(tmp_path), "NNSTUDIO_LANG": "en", "HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    r = subprocess.run([sys.executable, "-c", SCRIPT.format(root=str(ROOT), stubborn=stubborn)],
                       capture_output=True, text=True, timeout=110, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "clean exit" in r.stdout and "Destroyed while thread" not in r.stderr
