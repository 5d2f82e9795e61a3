"""Wheel over a spin box, combo box or slider changes it only when it has keyboard focus.

Installed once on the application (:func:`install`), so it covers every panel,
including the scrolled Training and Data docks: an unfocused field passes the
wheel on to its parent (the dock scrolls) instead of changing its value, and
such fields no longer take focus from the wheel (``Qt.StrongFocus``).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QScrollBar


def _guarded(obj) -> bool:
    return isinstance(obj, (QAbstractSpinBox, QComboBox)) or (
        isinstance(obj, QAbstractSlider) and not isinstance(obj, QScrollBar))


class WheelGuard(QObject):
    def eventFilter(self, obj, event):
        t = event.type()
        if t == QEvent.Polish and _guarded(obj) and obj.focusPolicy() == Qt.WheelFocus:
            obj.setFocusPolicy(Qt.StrongFocus)
        elif t == QEvent.Wheel and _guarded(obj) and not obj.hasFocus():
            event.ignore()   # not delivered to the field; Qt offers it to the parent (the scroll area)
            return True
        return False


def install(app) -> WheelGuard:
    """Install the guard on ``app`` once; returns it."""
    guard = getattr(app, "_nn_wheel_guard", None)
    if guard is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
        app._nn_wheel_guard = guard
    return guard
