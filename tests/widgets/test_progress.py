"""The training progress bar paints with the frame, never synchronously (issue 10)."""
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QProgressBar

from widgets.progress import ProgressBar


class PaintCounter(QObject):
    def __init__(self, w):
        super().__init__()
        self.n = 0
        w.installEventFilter(self)

    def eventFilter(self, obj, ev):  # noqa: N802
        if ev.type() == QEvent.Paint:
            self.n += 1
        return False


def _run(qtbot, cls):
    bar = cls()
    bar.setRange(0, 1000)
    bar.resize(300, 20)
    qtbot.addWidget(bar)
    bar.show()
    qtbot.waitExposed(bar)
    QApplication.processEvents()
    paints = PaintCounter(bar)
    during = []
    for v in range(0, 1000, 50):
        bar.setValue(v)
        during.append(paints.n)
    bar.setRange(0, 0)          # busy indicator
    bar.setRange(0, 1000)
    bar.setValue(950)
    during.append(paints.n)
    QApplication.processEvents()
    return bar, during, paints.n


def test_qt_progress_bar_repaints_at_once(qtbot):
    """The reason for ProgressBar: Qt's own bar paints inside setValue."""
    _, during, _ = _run(qtbot, QProgressBar)
    assert during[-1] >= 10


def test_value_changes_paint_once_with_the_next_frame(qtbot):
    bar, during, after = _run(qtbot, ProgressBar)
    assert during[-1] == 0 and 1 <= after <= 2
    assert bar.value() == 950 and bar.updatesEnabled()
