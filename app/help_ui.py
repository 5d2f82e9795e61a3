"""Help menu: keyboard shortcuts (generated from the window's actions), documentation, About."""
from __future__ import annotations

import platform
import re
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

DOCS = Path(__file__).resolve().parent.parent / "docs"


_PLAIN_KEYS = {"Del", "Ins", "Esc", "Return", "Enter", "Space", "Backspace", "Home", "End", "Tab", "PgUp",
               "PgDown", "Left", "Right", "Up", "Down"}


def _typeable(keys: str) -> bool:
    """Keys on a normal keyboard: with a modifier, a function key or a named key (not "Copy", "Zoom In", the
    media-keyboard keys Qt's standard bindings add)."""
    key = "+" if keys.endswith("+") else keys.split("+")[-1]
    return len(key) == 1 or key in _PLAIN_KEYS or (key.startswith("F") and key[1:].isdigit())


_MNEMONIC = re.compile(r"\s*\(&?[A-Za-z0-9]\)")   # "新建(&N)": Chinese-style mnemonics


def _plain(text: str) -> str:
    """An action's text without mnemonic markers or a trailing ellipsis: "&Open…" -> "Open"."""
    text = _MNEMONIC.sub("", text)
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").strip().rstrip("…").strip()


def _menu_actions(menu, out: list) -> None:
    for act in menu.actions():
        if act.menu() is not None:
            _menu_actions(act.menu(), out)
        elif not act.isSeparator():
            out.append(act)


def shortcut_rows(win) -> list[tuple[str, str]]:
    """(action, shortcut) for every action of the window that has a shortcut, in the order of the
    menus (File, Edit, View, ...), then the actions that are in no menu."""
    ordered: list = []
    for top in win.menuBar().actions():
        if top.menu() is not None:
            _menu_actions(top.menu(), ordered)
    ordered += [a for a in win.findChildren(QAction) if a not in ordered]
    seen, rows = set(), []
    for act in ordered:
        keys = [k.toString(QKeySequence.NativeText) for k in act.shortcuts() if not k.isEmpty()]
        keys = [k for k in keys if _typeable(k)]
        name = _plain(act.text())
        if not keys or not name or (name, tuple(keys)) in seen:
            continue
        seen.add((name, tuple(keys)))
        rows.append((name, ", ".join(keys)))
    return rows


def versions() -> list[tuple[str, str]]:
    import numba
    import numpy
    import pyqtgraph
    import PySide6
    from PySide6.QtCore import qVersion

    from engine.userdirs import app_version
    return [("NN Studio", app_version()), ("Python", platform.python_version()),
            ("Qt / PySide6", f"{qVersion()} / {PySide6.__version__}"), ("pyqtgraph", pyqtgraph.__version__),
            ("NumPy", numpy.__version__), ("Numba", numba.__version__),
            (QCoreApplication.translate("Help", "system"),
             f"{platform.system()} {platform.release()} ({platform.machine()})")]


def folders() -> list[tuple[str, str]]:
    from engine.userdirs import user_dir
    out = []
    for kind, label in (("data", QCoreApplication.translate("Help", "data and autosave")),
                        ("cache", QCoreApplication.translate("Help", "cache")),
                        ("log", QCoreApplication.translate("Help", "logs"))):
        d = user_dir(kind)
        out.append((label, str(d) if d is not None else QCoreApplication.translate("Help", "none (not writable)")))
    return out


class ShortcutsDialog(QDialog):
    def __init__(self, win):
        super().__init__(win)
        self.setWindowTitle(QCoreApplication.translate("Help", "Keyboard shortcuts"))
        rows = shortcut_rows(win)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels([QCoreApplication.translate("Help", "Command"), QCoreApplication.translate("Help", "Shortcut")])
        for i, (name, keys) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(name))
            self.table.setItem(i, 1, QTableWidgetItem(keys))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        self.resize(460, 520)


def about_text() -> str:
    rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in versions())
    dirs = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in folders())
    intro = QCoreApplication.translate("Help", "Build, train and export neural networks without writing code.")
    folders_title = QCoreApplication.translate("Help", "Folders")
    report = QCoreApplication.translate("Help", "Include these lines when you report a problem.")
    return (f"<h3>NN Studio</h3><p>{intro}</p>"
            f"<table>{rows}</table><p><b>{folders_title}</b></p><table>{dirs}</table>"
            f"<p>{report}</p>")


class AboutDialog(QDialog):
    def __init__(self, win):
        super().__init__(win)
        self.setWindowTitle(QCoreApplication.translate("Help", "About NN Studio"))
        self.label = QLabel(about_text(), self)
        self.label.setTextFormat(Qt.RichText)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
        lay.addWidget(buttons)


def open_docs(win) -> bool:
    """Open the docs folder in the system's file browser (it ships with a source checkout)."""
    if DOCS.is_dir() and QDesktopServices.openUrl(QUrl.fromLocalFile(str(DOCS))):
        return True
    from PySide6.QtWidgets import QMessageBox
    QMessageBox.information(win, QCoreApplication.translate("Help", "Documentation"), QCoreApplication.translate(
        "Help", "The documentation is the docs/ folder and README.md of NN Studio's source; this installation has no "
        "copy of it here ({path}).").format(path=DOCS))
    return False


def install(win, menu) -> None:
    """Add the Help entries to ``menu`` (the window's Help menu)."""
    acts = {}

    def add(key, text, fn, shortcut=None):
        act = QAction(text, win)
        act.setObjectName(f"action_{key}")
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(fn)
        menu.addAction(act)
        acts[key] = act

    add("shortcuts", QCoreApplication.translate("Help", "&Keyboard shortcuts"), lambda: ShortcutsDialog(win).exec(), "Ctrl+/")
    add("docs", QCoreApplication.translate("Help", "&Documentation folder"), lambda: open_docs(win))
    menu.addSeparator()
    add("about", QCoreApplication.translate("Help", "&About NN Studio"), lambda: AboutDialog(win).exec())
    win.help_actions = acts
