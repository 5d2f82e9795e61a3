"""Window size and dock layout: fitted to the screen, remembered between starts, View > Reset layout."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QRect

from app import layout
from app.main_window import MainWindow
from engine.io import demo_project


@pytest.mark.parametrize("avail, want", [((1366, 728), (1297, 691)), ((1600, 960), (1400, 880)),
                                         ((1067, 640), (1013, 608))])    # 1600x1000 at 150 % scaling
def test_the_first_window_fits_the_screen(avail, want):
    assert layout.fitted_size(QRect(0, 0, *avail)) == want


def make(qtbot):
    w = MainWindow(demo_project())
    w.project.maybe_save = lambda *a, **k: True
    qtbot.addWidget(w)
    return w


def test_layout_is_remembered_and_reset(qtbot):
    layout.settings().remove(layout.KEY_GEOMETRY)
    layout.settings().remove(layout.KEY_STATE)
    w = make(qtbot)
    layout.install(w)
    w.show()
    avail = w.screen().availableGeometry()
    assert w.width() <= avail.width() and w.height() <= avail.height()
    dock = w.properties_dock
    assert dock.isVisible()
    w.resize(min(700, avail.width()), min(500, avail.height()))
    dock.hide()
    layout.save(w)
    w.project.timer.stop()
    w.undo_stack.setClean()

    w2 = make(qtbot)                          # the next start
    layout.install(w2)
    w2.show()
    assert (w2.width(), w2.height()) == (w.width(), w.height())
    dock2 = w2.findChild(type(dock), dock.objectName())
    assert not dock2.isVisible()
    menu = layout._find_menu(w2, "menu_view")
    assert w2.reset_layout_action in menu.actions()
    w2.reset_layout_action.trigger()          # View > Reset layout
    qtbot.waitUntil(dock2.isVisible)
    assert layout.settings().value(layout.KEY_STATE) is None
    w2.project.timer.stop()
    w2.undo_stack.setClean()


def test_an_explicit_size_is_used_and_not_remembered(qtbot):
    layout.settings().remove(layout.KEY_GEOMETRY)
    w = make(qtbot)
    layout.install(w, (640, 480))
    assert (w.width(), w.height()) == (640, 480)
    layout.save(w)
    assert layout.settings().value(layout.KEY_GEOMETRY) is None
    w.project.timer.stop()


def test_plots_get_a_third_of_the_height_on_a_fresh_start(qtbot):
    layout.settings().remove(layout.KEY_STATE)
    layout.settings().remove(layout.KEY_GEOMETRY)
    w = make(qtbot)
    layout.install(w, None)
    w.resize(1300, 700)
    w.show()
    qtbot.waitExposed(w)
    layout.default_dock_sizes(w)
    qtbot.wait(50)
    assert w.training_ui.plots_dock.height() >= 0.3 * 700
    w.project.timer.stop()
