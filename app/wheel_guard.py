"""Wheel over a spin box, combo box or slider changes it only when it has keyboard focus.

Installed on a main window (:func:`install`), so it covers every panel, including the
scrolled Training and Data docks: an unfocused field passes the wheel on to its parent (the
dock scrolls) instead of changing its value, and such fields no longer take focus from the
wheel (``Qt.StrongFocus``).

The filter sits on the fields themselves, not on the application: an application-wide
Python event filter is called for every event of every object (paints, timers, queued
signals, the plots' scene events), and during a training run that was 19 % of the GUI
thread's time (py-spy, ``benchmarks/bench_gui.py`` P3, 2026-12-04). Fields created later
(the generated data and training forms) are found when a layout changes: each scroll area's
contents are watched for ``LayoutRequest``/``ChildAdded``, which a new field causes, and
searched within 0.3 s; the window's own layout changes (every tab switch) lead
to a search of the whole window at most once a second (it costs 1-2 ms).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QScrollArea, QScrollBar

_MARK = "_nn_wheel_guard"
_FIELDS = (QAbstractSpinBox, QComboBox, QAbstractSlider)
#: at most one search of the whole window per this many ms (its layout changes on every tab switch)
WHOLE_SWEEP_MS = 1000
#: at most one search of a scroll area's contents per this many ms
LOCAL_SWEEP_MS = 300


def _guarded(obj) -> bool:
    return isinstance(obj, (QAbstractSpinBox, QComboBox)) or (
        isinstance(obj, QAbstractSlider) and not isinstance(obj, QScrollBar))


class WheelGuard(QObject):
    def __init__(self, root):
        super().__init__(root)
        self.root = root
        self.sweeps = 0                 # how many times fields were searched for (for tests)
        self._pending: list = []        # watched scroll contents whose children changed
        self._local = QTimer(self)      # sweep those soon (a label's new text during training also
        self._local.setSingleShot(True)  # changes its panel's layout: at most every LOCAL_SWEEP_MS)
        self._local.setInterval(LOCAL_SWEEP_MS)
        self._local.timeout.connect(self._sweep_pending)
        # the window's own layout changes (a tab shown, a dock moved) are frequent and rarely add
        # a field: the whole window (~1-2 ms) is searched at most once a second for those
        self._whole = QTimer(self)
        self._whole.setSingleShot(True)
        self._whole.setInterval(WHOLE_SWEEP_MS)
        self._whole.timeout.connect(self.guard_tree)

    def eventFilter(self, obj, event):
        t = event.type()
        if t == QEvent.Wheel:
            if _guarded(obj) and not obj.hasFocus():
                event.ignore()   # not delivered to the field; Qt offers it to the parent (the scroll area)
                return True
        elif t in (QEvent.LayoutRequest, QEvent.ChildAdded):
            if obj is self.root:
                if not self._whole.isActive():
                    self._whole.start()
            elif not _guarded(obj):
                if not any(p is obj for p in self._pending):
                    self._pending.append(obj)
                if not self._local.isActive():
                    self._local.start()
        return False

    def _sweep_pending(self) -> None:
        pending, self._pending = self._pending, []
        for obj in pending:
            try:
                self.guard_tree(obj)
            except RuntimeError:   # deleted meanwhile
                pass

    def guard_tree(self, root=None) -> None:
        """Put the filter on every field and every scroll area's contents under ``root`` (default:
        the window) not yet watched."""
        self.sweeps += 1
        root = self.root if root is None else root
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
