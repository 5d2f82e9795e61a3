"""Help menu: the shortcut list comes from the window's actions; About names versions and folders."""
from __future__ import annotations

from PySide6.QtWidgets import QMenu

from app import help_ui
from app.main_window import MainWindow
from engine.io import demo_project


def make(qtbot):
    w = MainWindow(demo_project())
    w.project.maybe_save = lambda *a, **k: True
    qtbot.addWidget(w)
    return w


def test_help_menu_lists_every_shortcut_and_about(qtbot, monkeypatch):
    w = make(qtbot)
    menu = w.menuBar().findChild(QMenu, "menu_help")
    texts = [a.text().replace("&", "") for a in menu.actions() if a.text()]
    assert {"Getting started", "Keyboard shortcuts", "Documentation folder", "About NN Studio"} <= set(texts)
    rows = dict(help_ui.shortcut_rows(w))
    # every action with a shortcut is listed, with its keys
    assert rows.get("Train") == "F5" and rows["Undo"].startswith("Ctrl+Z") and "Ctrl+/" in rows.values()
    assert "Ctrl++" in rows["Zoom In"] and not any("Save" in k.split("+")[-1] for k in rows.values())
    n_with_keys = {a.text() for a in w.findChildren(type(menu.actions()[0])) if not a.shortcut().isEmpty()}
    assert len(rows) >= len(n_with_keys) - 2      # the same name with the same keys is listed once
    dlg = help_ui.ShortcutsDialog(w)
    assert dlg.table.rowCount() == len(rows)
    about = help_ui.about_text()
    for name in ("NN Studio", "Python", "PySide6", "NumPy", "Numba", "logs"):
        assert name in about
    w.project.timer.stop()


def test_shortcut_list_follows_the_menus_and_drops_mnemonics(qtbot):
    w = make(qtbot)
    names = [n for n, _ in help_ui.shortcut_rows(w)]
    assert names.index("New") < names.index("Undo") < names.index("Zoom In") < names.index("Train")
    assert help_ui._plain("新建(&N)") == "新建" and help_ui._plain("&Open…") == "Open"
    assert help_ui._plain("Save && close") == "Save & close"
    w.project.timer.stop()
