"""Starting the app does not load Numba or pandas (issue 17: start-up time).

The window needs the layer classes but no kernel; kernels, Numba and pandas are imported when
data is loaded or a layer first computes (engine.lazy)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CODE = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.main_window import MainWindow
from engine.io import demo_project
w = MainWindow(demo_project())          # the window itself, with its panels
heavy = sorted(m for m in ("numba", "pandas", "onnx", "torch") if m in sys.modules)
print("HEAVY", ",".join(heavy))
"""


def test_the_main_window_module_imports_no_heavy_library():
    r = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "NNSTUDIO_LANG": "en"})
    assert r.returncode == 0, r.stderr[-2000:]
    line = next(x for x in r.stdout.splitlines() if x.startswith("HEAVY"))
    heavy = set(filter(None, line.split(" ", 1)[1].split(",")))
    assert not heavy, heavy
