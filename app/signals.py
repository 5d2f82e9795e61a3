"""Ctrl+C in the terminal and SIGTERM (logout, ``kill``) end the app without losing work.

Qt's event loop runs in C++, where Python cannot run its signal handlers; a 200 ms timer gives
it the chance.  On SIGINT/SIGTERM the app stops any run, autosaves unsaved changes (the next
start offers to recover them, as after a crash), says so on stderr and quits with
128 + the signal number (130, 143), without a save dialog nobody may be there to answer.
"""
from __future__ import annotations

import signal
import sys

from PySide6.QtCore import QTimer

WAKE_MS = 200


def on_signal(app, win, signum: int) -> None:
    """What a SIGINT/SIGTERM does (also called directly by tests)."""
    if getattr(app, "_nn_exit_code", None) is not None:
        return                                   # a second Ctrl+C while quitting
    app._nn_exit_code = 128 + int(signum)
    name = signal.Signals(signum).name
    try:
        win.training.shutdown(3000)
    except Exception:  # noqa: BLE001 - quitting must go on
        pass
    saved = False
    try:
        saved = win.project.autosave_now()
    except Exception as exc:  # noqa: BLE001
        print(f"NN Studio: could not autosave ({exc})", file=sys.stderr)
    if saved:
        print(f"NN Studio: {name}: unsaved changes were autosaved to {win.project.autosave_path}; "
              "the next start offers to recover them", file=sys.stderr)
    else:
        print(f"NN Studio: {name}: quitting (nothing unsaved)", file=sys.stderr)
        try:
            win.project.clean_exit()
        except Exception:  # noqa: BLE001
            pass
    app.exit(app._nn_exit_code)


def install(app, win) -> QTimer:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: QTimer.singleShot(0, lambda: on_signal(app, win, signum)))
    timer = QTimer(app)
    timer.setInterval(WAKE_MS)
    timer.timeout.connect(lambda: None)          # lets Python run pending signal handlers
    timer.start()
    return timer
