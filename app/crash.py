"""Internal errors (bugs in NN Studio) are logged with their traceback, the work is autosaved, and the
user is told in one dialog where the details are; Qt's own warnings go to the log too."""
from __future__ import annotations

import sys
import threading
import traceback

from PySide6.QtCore import QCoreApplication, QtMsgType, qInstallMessageHandler

from engine import logs

#: Qt messages that are noise on some platforms (offscreen, xcb without a compositor)
QUIET = ("propagateSizeHints",)


def internal_error_text(exc_type, exc) -> str:
    where = logs.log_path()
    text = QCoreApplication.translate(
        "Crash", "NN Studio hit an internal error (a bug in NN Studio, not something you did): {what}.")
    text = text.format(what=f"{exc_type.__name__}: {str(exc).splitlines()[0] if str(exc) else '-'}")
    if where is not None:
        text += "\n" + QCoreApplication.translate(
            "Crash", "The details were written to {path}; please include them when you report it.").format(
                path=where)
    return text


def _report(win, exc_type, exc, tb) -> None:
    logs.get("crash").error("internal error\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
    traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
    if win is None:
        return
    saved = False
    try:
        saved = win.project.autosave_now()
    except Exception:  # noqa: BLE001 - reporting must not fail
        pass
    text = internal_error_text(exc_type, exc)
    if saved:
        text += "\n" + QCoreApplication.translate("Crash", "Unsaved changes were autosaved.")
    try:
        win.project.show_error(QCoreApplication.translate("Crash", "Internal error"), text)
    except Exception:  # noqa: BLE001
        pass


def _qt_messages(mode, context, message) -> None:
    if any(q in message for q in QUIET):
        return
    level = {QtMsgType.QtDebugMsg: 10, QtMsgType.QtInfoMsg: 20, QtMsgType.QtWarningMsg: 30,
             QtMsgType.QtCriticalMsg: 40, QtMsgType.QtFatalMsg: 50}.get(mode, 30)
    logs.get("qt").log(level, "%s", message)
    if level >= 30:
        print(f"Qt: {message}", file=sys.stderr)


def install(win) -> None:
    """Log to the user log folder; uncaught exceptions (GUI thread and others) are reported, not fatal."""
    logs.setup()
    logs.get().info("NN Studio started")
    busy = [False]

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            return sys.__excepthook__(exc_type, exc, tb)
        if busy[0]:                                   # an error while reporting an error
            return traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
        busy[0] = True
        try:
            _report(win, exc_type, exc, tb)
        finally:
            busy[0] = False

    sys.excepthook = hook
    threading.excepthook = lambda args: logs.get("crash").error(
        "internal error in thread %s\n%s", getattr(args.thread, "name", "?"),
        "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)))
    qInstallMessageHandler(_qt_messages)
