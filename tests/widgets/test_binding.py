"""Guards for the Qt binding we pin (see pyproject.toml)."""
import sys

from PySide6.QtWidgets import QLabel


def test_void_qt_calls_do_not_steal_references_to_none(qtbot):
    """PySide6 6.12.0 on Python 3.11 dropped one reference to None per void call,
    which aborts long sessions with live plots ("Fatal Python error: none_dealloc")."""
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(500):
        label.setText("x")
        label.update()
    assert sys.getrefcount(None) - before > -50
