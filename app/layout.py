"""The main window's size and dock layout: fitted to the screen, remembered, resettable.

* First start (nothing remembered): the window gets :data:`DEFAULT_SIZE`, shrunk to 95 % of
  the screen's available area (a 1366x768 laptop gets a window that fits), centred.
* Later starts: the geometry and dock/toolbar state saved when the app quit
  (QSettings ``window/geometry`` and ``window/state``), clamped to the current screen.
* *View > Reset layout* puts docks and toolbar back where a fresh start has them and fits the
  window to the screen again.
* ``--size WxH`` (and screenshots) use exactly that size and neither read nor write the settings.
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QRect, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence

from app.i18n import settings

DEFAULT_SIZE = (1400, 880)
KEY_GEOMETRY = "window/geometry"
KEY_STATE = "window/state"


def fitted_size(available: QRect, wanted: tuple[int, int] = DEFAULT_SIZE) -> tuple[int, int]:
    """``wanted``, but at most 95 % of the available screen area."""
    return (min(wanted[0], int(available.width() * 0.95)), min(wanted[1], int(available.height() * 0.95)))


def _available(win) -> QRect:
    screen = win.screen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, *DEFAULT_SIZE)


def fit_to_screen(win) -> None:
    avail = _available(win)
    w, h = fitted_size(avail)
    win.resize(w, h)
    win.move(avail.x() + (avail.width() - w) // 2, avail.y() + (avail.height() - h) // 2)


def _clamp(win) -> None:
    """A remembered window larger than this screen (or off it) is brought back onto it."""
    avail = _available(win)
    g = win.frameGeometry()
    if g.width() > avail.width() or g.height() > avail.height() or not avail.intersects(g):
        fit_to_screen(win)


def install(win, size: tuple[int, int] | None = None) -> None:
    """Size the window (``size`` given: exactly that, nothing remembered) and add View > Reset layout."""
    win._default_layout = win.saveState()
    win._layout_remembered = size is None
    if size is not None:
        win.resize(*size)
    else:
        s = settings()
        geometry, state = s.value(KEY_GEOMETRY), s.value(KEY_STATE)
        if geometry is not None and win.restoreGeometry(geometry):
            _clamp(win)
        else:
            fit_to_screen(win)
        if state is None or not win.restoreState(state):
            QTimer.singleShot(0, lambda: default_dock_sizes(win))
    view = _find_menu(win, "menu_view")
    act = QAction(QCoreApplication.translate("Layout", "Reset &layout"), win)
    act.setObjectName("action_reset_layout")
    act.setShortcut(QKeySequence("Ctrl+Shift+0"))
    act.setStatusTip(QCoreApplication.translate("Layout", "Put the panels back where they start and fit the "
                                                "window to the screen"))
    act.triggered.connect(lambda: reset(win))
    if view is not None:
        view.addSeparator()
        view.addAction(act)
    win.addAction(act)
    win.reset_layout_action = act


#: share of the window's height for the training plots when nothing is remembered
PLOTS_SHARE = 0.36


def default_dock_sizes(win) -> None:
    """The training plots get about a third of the height (Qt's default leaves them a thin strip)."""
    ui = getattr(win, "training_ui", None)
    dock = getattr(ui, "plots_dock", None)
    if dock is not None and dock.isVisible():
        win.resizeDocks([dock], [int(win.height() * PLOTS_SHARE)], Qt.Vertical)


def _find_menu(win, name: str):
    from PySide6.QtWidgets import QMenu
    return win.menuBar().findChild(QMenu, name)


def save(win) -> None:
    if getattr(win, "_layout_remembered", False):
        s = settings()
        s.setValue(KEY_GEOMETRY, win.saveGeometry())
        s.setValue(KEY_STATE, win.saveState())
        s.sync()


def reset(win) -> None:
    state = getattr(win, "_default_layout", None)
    if state is not None:
        win.restoreState(state)
    fit_to_screen(win)
    QTimer.singleShot(0, lambda: default_dock_sizes(win))
    s = settings()
    s.remove(KEY_GEOMETRY)
    s.remove(KEY_STATE)
