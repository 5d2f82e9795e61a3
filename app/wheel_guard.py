"""Wheel over a spin box, combo box or slider changes it only when it has keyboard focus.

Installed on a main window (:func:`install`), so it covers every panel, including the
scrolled Training and Data docks: an unfocused field passes the wheel on to its parent (the
dock scrolls) instead of changing its value, and such fields no longer take focus from the
wheel (``Qt.StrongFocus``).

The filter sits on the fields themselves, not on the application: an application-wide
Python event filter is called for every event of every object (paints, timers, queued
signals, the plots' scene events), and during a training run that was 19 % of the GUI
thread's time (py-spy, ``benchmarks/bench_gui.py`` P3, 2026-12-04). Fields created later
(the generated data and training forms) are found when a layout changes: the window and
each scroll area's contents are watched for ``LayoutRequest``/``ChildAdded``, which a new
field causes, and then swept once, in a later event-loop pass.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QScrollArea, QScrollBar

_MARK = "_nn_wheel_guard"
_FIELDS = (QAbstractSpinBox, QComboBox, QAbstractSlider)


def _guarded(obj) -> bool:
    return isinstance(obj, (QAbstractSpinBox, QComboBox)) or (
        isinstance(obj, QAbstractSlider) and not isinstance(obj, QScrollBar))


class WheelGuard(QObject):
    def __init__(self, root):
        super().__init__(root)
        self.root = root
        self.sweeps = 0                 # how many times the window was searched (for tests)
        self._sweep = QTimer(self)
        self._sweep.setSingleShot(True)
        self._sweep.setInterval(0)
        self._sweep.timeout.connect(self.guard_tree)

    def eventFilter(self, obj, event):
        t = event.type()
        if t == QEvent.Wheel:
            if _guarded(obj) and not obj.hasFocus():
                event.ignore()   # not delivered to the field; Qt offers it to the parent (the scroll area)
                return True
        elif t in (QEvent.LayoutRequest, QEvent.ChildAdded) and not self._sweep.isActive():
            self._sweep.start()
        return False

    def guard_tree(self) -> None:
        """Put the filter on every field and every scroll area's contents not yet watched."""
        self.sweeps += 1
        root = self.root
        for cls in _FIELDS:
            for w in root.findChildren(cls):
                if w.property(_MARK) or not _guarded(w):
                    continue
                if w.focusPolicy() == Qt.WheelFocus:
                    w.setFocusPolicy(Qt.StrongFocus)
                w.installEventFilter(self)
                w.setProperty(_MARK, True)
        for area in root.findChildren(QScrollArea):
            inner = area.widget()
            if inner is not None and not inner.property(_MARK):
                inner.installEventFilter(self)
                inner.setProperty(_MARK, True)


def install(window) -> WheelGuard:
    """Install the guard on ``window`` (a top-level widget) once; returns it."""
    guard = getattr(window, "_nn_wheel_guard", None)
    if guard is None:
        guard = WheelGuard(window)
        window.installEventFilter(guard)
        window._nn_wheel_guard = guard
        guard.guard_tree()
    return guard
