"""The window keeps Qt's large fills on the GUI thread (app/__init__.py): Qt's own paint thread pool
waits for a core that a training run keeps busy, and takes it from the trainer."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import os, app; print(os.environ.get('QT_NO_GUI_THREADPOOL'))"


def _probe(**env):
    full = {k: v for k, v in os.environ.items() if k not in ("QT_NO_GUI_THREADPOOL", "NNSTUDIO_QT_PAINT_THREADS")}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=full, capture_output=True, text=True,
                         timeout=60, check=True)
    return out.stdout.strip()


def test_importing_the_app_turns_qts_paint_threads_off():
    assert _probe() == "1"


def test_the_user_can_keep_qts_paint_threads():
    assert _probe(NNSTUDIO_QT_PAINT_THREADS="1") == "None"


def test_a_value_the_user_set_is_kept():
    assert _probe(QT_NO_GUI_THREADPOOL="0") == "0"


def test_this_test_process_paints_on_one_thread_too():
    import app  # noqa: F401
    assert os.environ.get("QT_NO_GUI_THREADPOOL") or os.environ.get("NNSTUDIO_QT_PAINT_THREADS")
