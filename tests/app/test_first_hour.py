"""A newcomer's first hour: the graph fits itself to the data, nothing is lost, shortcuts work."""
import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from engine.data import DataSpec, load_dataset
from engine.io import demo_project


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    w = MainWindow(demo_project())
    w.project.show_error = lambda title, text: pytest.fail(f"unexpected error dialog: {text}")
    qtbot.addWidget(w)
    w.resize(1200, 800)
    yield w
    w.project.timer.stop()
    w.project.ask_save_changes = lambda: "discard"
    w.close()


@pytest.fixture(scope="module")
def wine():
    return load_dataset(DataSpec.parse_cli("sample:wine"))


def _input(win):
    return next(n for n in win.document.spec.nodes if n.type == "Input.v1")


def _output(win):
    return win.document.spec.node(win.document.analysis.output)


# ---------------------------------------------------------------------- the graph fits the data
def test_loading_data_offers_to_fit_and_the_fit_is_one_undo_step(win, wine):
    train = win.actions["train"]
    assert train.isEnabled()
    n_before = win.undo_stack.count()
    before = win.document.spec
    win.training.data_loaded.emit(wine)          # as after the worker loaded the data
    assert win.offer_bar.kind == "offer" and not win.offer_bar.isHidden()
    assert "13" in win.offer_bar.label.text()
    # before training: Train and the status bar say why, with the fix
    assert not train.isEnabled()
    assert "does not fit the data" in train.toolTip() and "Fit graph to data" in train.toolTip()
    assert "does not fit the data" in win.status_summary.text()
    assert "ready to train" not in win.status_summary.text()
    win.offer_bar.button.click()                 # "Fit graph to data"
    assert win.undo_stack.count() == n_before + 1
    assert _input(win).config["shape"] == [13]
    out = _output(win)
    assert out.config["units"] == 3 and out.config["activation"] == "softmax"
    assert win.offer_bar.kind == "done" and "13" in win.offer_bar.label.text()
    assert train.isEnabled() and "ready to train" in win.status_summary.text()
    win.offer_bar.button.click()                 # "Undo" on the bar
    assert win.document.spec == before and not train.isEnabled()
    win.undo_stack.redo()
    assert _input(win).config["shape"] == [13] and train.isEnabled()


def test_template_chosen_with_data_loaded_is_offered_the_fit(win, wine):
    win.training.data_loaded.emit(wine)
    win.actions["fit_to_data"].trigger()
    assert win.offer_bar.kind == "done"
    win.actions["template_residual"].trigger()
    assert win.offer_bar.kind == "offer"
    win.actions["fit_to_data"].trigger()
    assert _input(win).config["shape"] == [13] and _output(win).config["units"] == 3
    assert win.actions["train"].isEnabled()


def test_fit_action_without_data_explains(win):
    assert not win.actions["fit_to_data"].isEnabled()
    assert not win.fit_ui.fit_now()
    assert "Load a data set" in win.statusBar().currentMessage()


def test_new_project_forgets_the_data_shape(win, wine):
    win.training.data_loaded.emit(wine)
    assert not win.actions["train"].isEnabled()
    win.project.new_project()
    assert win.document.data_info is None and win.offer_bar.isHidden()


# ---------------------------------------------------------------------- nothing is lost
def test_add_layer_and_undo_keeps_trained_weights(win):
    doc = win.document
    w = {k: np.full(s, 0.5, np.float32) for k, s in doc.param_layout().items()}
    doc.set_weights(w)
    win.project._mark_clean()
    win.layer_palette.add_requested.emit("Dense.v1")
    assert doc.weights is None
    win.undo_stack.undo()
    assert doc.weights is not None and all(doc.weights[k] is w[k] for k in w)
    assert not win.isWindowModified()


# ---------------------------------------------------------------------- shortcuts
def _menu_actions(win):
    out = []
    for top in win.menuBar().actions():
        menu = top.menu()
        stack = [menu] if menu is not None else []
        while stack:
            m = stack.pop()
            for a in m.actions():
                if a.menu() is not None:
                    stack.append(a.menu())
                elif not a.isSeparator():
                    out.append(a)
    return out


def test_no_two_actions_share_a_shortcut(win):
    seen = {}
    for a in win.findChildren(type(win.actions["new"])):
        for k in a.shortcuts():
            text = k.toString()
            assert text not in seen or seen[text] is a, f"{text}: {a.text()} and {seen[text].text()}"
            seen[text] = a
    assert "Ctrl+D" in seen and seen["Ctrl+D"] is win.actions["duplicate"]
    assert seen["Ctrl+Y"] is win.actions["redo"]
    assert seen["Ctrl+="] is win.actions["zoom_in"]


def test_every_shortcut_listed_in_the_menus_triggers_its_action(win, qtbot):
    """Press each menu action's shortcuts (all of them, e.g. Ctrl+Shift+Z and Ctrl+Y for Redo) on the canvas."""
    from PySide6.QtTest import QTest
    win.show()
    win.activateWindow()
    qtbot.waitActive(win)
    win.view.setFocus()
    qtbot.waitUntil(win.view.hasFocus, timeout=2000)
    hits = {}
    listed = [a for a in _menu_actions(win) if a.shortcuts()]
    assert len(listed) >= 20
    for a in listed:
        try:   # only the key handling is under test here: nothing may run (Quit, Open, Train...)
            a.triggered.disconnect()
        except (RuntimeError, TypeError):
            pass
        a.setEnabled(True)
        a.triggered.connect(lambda _=False, a=a: hits.__setitem__(a, hits.get(a, 0) + 1))
    missed = []
    for a in listed:
        for seq in a.shortcuts():
            before = hits.get(a, 0)
            combo = seq[0]
            QTest.keyClick(win.view, combo.key(), combo.keyboardModifiers())
            if hits.get(a, 0) != before + 1:
                missed.append(f"{a.text()}: {seq.toString()}")
    assert not missed, missed
    names = {win.actions[n] for n in ("duplicate", "redo", "zoom_in", "train", "fit_to_data", "auto_layout")}
    assert names <= set(listed)


# ---------------------------------------------------------------------- wheel only with focus
def _wheel(widget, dy=120):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    pos = QPointF(widget.rect().center())
    ev = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, dy),
                     Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def test_wheel_changes_a_spin_box_only_when_it_has_focus(win, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox
    win.show()
    win.activateWindow()
    qtbot.waitActive(win)
    panel = win.training_ui.training_panel
    spin = [w for w in panel.findChildren(QAbstractSpinBox) if w.isVisible() and w.isEnabled()][0]
    combo = [w for w in panel.findChildren(QComboBox) if w.isVisible() and w.isEnabled() and w.count() > 1][0]
    assert spin.focusPolicy() == Qt.StrongFocus
    win.view.setFocus()
    before, index = spin.text(), combo.currentIndex()
    _wheel(spin)
    _wheel(combo, -120)
    assert spin.text() == before and combo.currentIndex() == index
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    _wheel(spin)
    assert spin.text() != before


def test_wheel_guard_covers_fields_created_later_without_an_application_filter(win, qtbot):
    """The guard filters the fields, not every event of the application (that cost 19 % of the GUI
    thread during training); a field added to a panel afterwards is found when its layout changes."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDoubleSpinBox
    guard = win._nn_wheel_guard
    assert getattr(QApplication.instance(), "_nn_wheel_guard", None) is None
    panel = win.training_ui.data_panel
    late = QDoubleSpinBox()
    panel.layout().addWidget(late)
    assert late.focusPolicy() == Qt.WheelFocus
    qtbot.waitUntil(lambda: late.focusPolicy() == Qt.StrongFocus, timeout=2000)
    win.show()
    win.view.setFocus()
    before = late.value()
    _wheel(late)
    assert late.value() == before
    late.setFocus()
    qtbot.waitUntil(late.hasFocus, timeout=2000)
    _wheel(late)
    assert late.value() != before
    sweeps = guard.sweeps
    for _ in range(20):   # repaints and timers do not search the window again
        win.training_ui.curves.update()
        QApplication.processEvents()
    assert guard.sweeps - sweeps <= 2


def test_getting_started_covers_data_and_training_not_only_the_canvas(win, monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append((title, text)))
    help_menu = next(a.menu() for a in win.menuBar().actions() if a.menu() and a.menu().objectName() == "menu_help")
    next(a for a in help_menu.actions() if a.text() == "&Getting started").trigger()
    (title, text), = shown
    assert title == "Getting started"
    for words in ("Data panel", "target column", "Load data", "Fit graph to data", "Train (F5)",
                  "Evaluate on test split", "Right-click", "drop a layer on a connection"):
        assert words in text, words
