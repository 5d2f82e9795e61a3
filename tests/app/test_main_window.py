"""The assembled main window: wiring of intents, Train gating, title, closing, screenshot, W4 by hand."""
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QDockWidget, QLabel

from app.application import main as app_main
from app.main_window import MainWindow
from engine.io import demo_project
from widgets.palette import mime_for


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    w = MainWindow(demo_project())
    w.project.show_error = lambda title, text: pytest.fail(f"unexpected error dialog: {text}")
    qtbot.addWidget(w)
    w.resize(1200, 800)
    yield w
    w.project.timer.stop()
    w.project.ask_save_changes = lambda: "discard"  # never block on a dialog at teardown
    w.close()


def test_window_has_docks_actions_and_demo(win):
    for name in ("new", "open", "save", "save_as", "undo", "redo", "delete", "select_all", "copy", "paste",
                 "duplicate", "zoom_fit", "auto_layout", "reset_view", "train"):
        assert name in win.actions, name
    assert not win.actions["save"].shortcut().isEmpty()
    assert len(win.view.graph_scene.nodes) == len(win.document.spec.nodes) == 4
    assert win.actions["train"].isEnabled()
    dock = win.add_panel("Training", QLabel("x"), Qt.BottomDockWidgetArea)
    assert isinstance(dock, QDockWidget) and win.dockWidgetArea(dock) == Qt.BottomDockWidgetArea


def test_train_disabled_with_reason_when_invalid(win):
    win.graph.delete(["n1"])
    train = win.actions["train"]
    assert not train.isEnabled()
    assert "Input" in train.toolTip() and "Input" in train.statusTip()
    assert win.view.banner
    win.undo_stack.undo()
    assert train.isEnabled() and not win.view.banner


def test_drop_from_palette_creates_node_and_undo(win, qtbot):
    before = win.document.spec
    assert win.view.handle_drop(mime_for("Dropout.v1"), QPointF(300, 40))
    new = [n for n in win.document.spec.nodes if n.type == "Dropout.v1"]
    assert len(new) == 1 and new[0].pos == (300.0, 40.0)
    assert new[0].id in win.view.graph_scene.nodes
    # the new node is selected and shown in the property editor
    assert win.property_editor.node_id == new[0].id
    win.undo_stack.undo()
    assert win.document.spec == before
    assert new[0].id not in win.view.graph_scene.nodes


def test_refused_connection_shows_status_message(win):
    win.view.connect_requested.emit("n4", "n1", 0)
    assert "Input" in win.statusBar().currentMessage()
    assert win.undo_stack.count() == 0


def test_property_edit_changes_spec_and_canvas(win, qtbot):
    win.view.graph_scene.select_nodes(["n2"])
    assert win.property_editor.node_id == "n2"
    win.property_editor.widgets["units"].setValue(64)
    win.property_editor.widgets["units"].setValue(65)
    assert win.document.spec.node("n2").config["units"] == 65
    assert win.undo_stack.count() == 1
    assert any(e.label == "(None, 65)" for e in win.view.graph_scene.edges)
    win.undo_stack.undo()
    assert win.document.spec.node("n2").config["units"] == 16


def test_title_tracks_unsaved_changes(win, tmp_path):
    assert not win.isWindowModified()
    win.graph.move_nodes({"n2": (10.0, 10.0)})
    assert win.isWindowModified()
    assert win.project.save_as(str(tmp_path / "demo.nnsp"))
    assert not win.isWindowModified() and "demo.nnsp" in win.windowTitle()


def test_close_asks_when_modified(win, qtbot):
    win.show()
    win.graph.move_nodes({"n2": (10.0, 10.0)})
    win.project.ask_save_changes = lambda: "cancel"
    assert not win.close()
    assert win.isVisible()
    win.project.autosave_now()
    assert win.project.autosave_path.exists()
    win.project.ask_save_changes = lambda: "discard"
    assert win.close()
    assert not win.project.autosave_path.exists()
    assert win.project.last_clean_exit() > 0


def test_screenshot_cli(tmp_path, monkeypatch, qtbot):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "shot.png"
    assert app_main(["--screenshot", str(out), "--size", "900x600"]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    from PySide6.QtGui import QImage
    img = QImage(str(out))
    assert (img.width(), img.height()) == (900, 600)
    assert not (tmp_path / "data" / "session.json").exists()


def test_screenshot_of_damaged_project_fails_cleanly(tmp_path, monkeypatch, qtbot, capsys):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    bad = tmp_path / "bad.nnsp"
    bad.write_text("nope")
    assert app_main([str(bad), "--screenshot", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err
    assert "bad.nnsp" in err and "Traceback" not in err


def _connect_ports(win, src, dst):
    sc = win.view.graph_scene
    win.view.request_connect(sc.nodes[src].out_port, sc.nodes[dst].in_ports[0])


def test_build_w4_by_hand_save_reopen(win, tmp_path, qtbot):
    """Build the W4 CNN only through view/palette/editor intents, save, reopen, check every edge."""
    assert win.project.new_project()
    layers = [("Input.v1", {"shape": "28, 28, 1"}),
              ("Conv2D.v1", {"filters": 32, "kernel_size": 3, "activation": "relu"}),
              ("MaxPool2D.v1", {}),
              ("Conv2D.v1", {"filters": 64, "kernel_size": 3, "activation": "relu"}),
              ("MaxPool2D.v1", {}),
              ("Flatten.v1", {}),
              ("Dense.v1", {"units": 128, "activation": "relu"}),
              ("Dense.v1", {"units": 10, "activation": "softmax"})]
    ids = []
    ed = win.property_editor
    for i, (tid, cfg) in enumerate(layers):
        assert win.view.handle_drop(mime_for(tid), QPointF(0, i * 110))
        nid = win.document.spec.node_ids[-1]
        ids.append(nid)
        assert ed.node_id == nid  # the dropped node is selected
        for field, value in cfg.items():
            w = ed.widgets[field]
            if field == "shape":
                w.setText(value)
                w.editingFinished.emit()
            elif field == "activation":
                w.setCurrentIndex(w.findData(value))
            else:
                w.setValue(value)
        if i:
            _connect_ports(win, ids[i - 1], nid)
    a = win.document.analysis
    assert a.ok, a.errors
    assert win.actions["train"].isEnabled()
    expected = ["(None, 28, 28, 1)", "(None, 26, 26, 32)", "(None, 13, 13, 32)", "(None, 11, 11, 64)",
                "(None, 5, 5, 64)", "(None, 1600)", "(None, 128)"]
    def edge_labels():
        sc = win.view.graph_scene
        return [next(e.label for e in sc.edges if e.src.node_id == s and e.dst.node_id == d)
                for s, d in zip(ids, ids[1:])]
    assert edge_labels() == expected
    path = tmp_path / "w4.nnsp"
    assert win.project.save_as(str(path))
    spec = win.document.spec
    assert win.project.new_project()
    assert not win.view.graph_scene.nodes
    assert win.project.open_project(str(path))
    assert win.document.spec == spec
    assert edge_labels() == expected
    assert win.document.analysis.shapes[ids[-1]] == (10,)


def test_edit_actions_select_duplicate_delete_layout(win):
    n = len(win.document.spec.nodes)
    win.actions["select_all"].trigger()
    assert sorted(win.graph.selection) == sorted(win.document.spec.node_ids)
    win.actions["duplicate"].trigger()
    assert len(win.document.spec.nodes) == 2 * n
    assert len(win.graph.selection) == n  # the copies are selected
    win.actions["delete"].trigger()
    assert len(win.document.spec.nodes) == n
    win.actions["auto_layout"].trigger()
    ys = [p.pos[1] for p in win.document.spec.nodes]
    assert ys == sorted(ys) and len(set(ys)) == n
    win.actions["zoom_fit"].trigger()
    win.actions["reset_view"].trigger()
    assert win.view.zoom() == 1.0
    for _ in range(3):
        win.actions["undo"].trigger()
    assert len(win.document.spec.nodes) == n and win.undo_stack.index() == 0


def test_palette_double_click_adds_below_selection_and_connects(win):
    win.view.graph_scene.select_nodes(["n4"])
    win.layer_palette.add_requested.emit("Dropout.v1")
    new = win.document.spec.node_ids[-1]
    assert win.document.spec.node(new).type == "Dropout.v1"
    assert [e.src for e in win.document.spec.inputs_of(new)] == ["n4"]
    assert win.document.spec.node(new).pos[1] > win.document.spec.node("n4").pos[1]
    assert win.undo_stack.count() == 1
