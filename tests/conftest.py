import gc
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("NNSTUDIO_LANG", "en")  # English UI whatever the machine's locale (app/i18n.py)


def _private_settings() -> None:
    """QSettings (language, window layout, recent files) go to a throw-away folder, not the user's."""
    import tempfile

    from PySide6.QtCore import QSettings
    folder = tempfile.mkdtemp(prefix="nnstudio-test-settings-")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)


_private_settings()


@pytest.fixture(autouse=True)
def _destroy_qt_objects_while_the_app_lives(request):
    """Free unparented Qt objects (undo stacks, controllers, timers) right after each Qt test.

    Otherwise Python destroys them at interpreter exit, after the QApplication,
    in an arbitrary order, which can crash the process after all tests passed.
    """
    yield
    if "qtbot" in request.fixturenames:
        gc.collect()
        from PySide6.QtCore import QCoreApplication, QEvent
        app = QCoreApplication.instance()
        if app is not None:
            clipboard = getattr(app, "clipboard", None)
            if clipboard is not None:  # mime data set by a test is owned by Qt's clipboard
                clipboard().clear()
            QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
            app.processEvents()
