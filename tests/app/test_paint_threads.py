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


def test_a_repainting_plot_does_not_repaint_the_tab_frame_dock_and_window_beneath(qtbot):
    """The training tabs' pages are opaque: a plot's repaint (every frame of a run) stops at its page
    instead of filling the tab frame, the dock and the window beneath it again (at most their thin
    borders and separators are painted)."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from engine.io import demo_project

    win = MainWindow(demo_project())
    qtbot.addWidget(win)
    win.project.maybe_save = lambda *a, **k: True
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    ui = win.training_ui

    class Paints(QObject):
        def __init__(self):
            super().__init__()
            self.area = 0

        def eventFilter(self, obj, event):
            if event.type() == QEvent.Paint:
                self.area += sum(r.width() * r.height() for r in event.region())
            return False

    paints = Paints()
    dock = ui.tabs.parentWidget()
    while dock is not None and dock.parentWidget() is not win:
        dock = dock.parentWidget()
    beneath = [ui.tabs, ui.tabs.widget(0).parentWidget(), dock, win]
    for w in beneath:
        w.installEventFilter(paints)
    for i in range(ui.tabs.count()):
        ui.tabs.setCurrentIndex(i)
        page = ui.tabs.widget(i)
        assert page.autoFillBackground()
        for _ in range(5):
            QApplication.processEvents()
        paints.area = 0
        for _ in range(3):
            page.update()           # what a new frame's data does to the shown view
            for plot in page.findChildren(QObject):
                if hasattr(plot, "viewport"):
                    plot.viewport().update()
            for _ in range(5):
                QApplication.processEvents()
        page_area = page.width() * page.height()
        assert paints.area < 0.2 * page_area, (ui.tabs.tabText(i), paints.area, page_area)
    win.undo_stack.setClean()
