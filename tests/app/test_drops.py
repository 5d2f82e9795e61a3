"""Files dropped on the main window: project -> open, table/npz/folder -> data source, else a message."""
from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from app.drops import classify
from app.main_window import MainWindow
from engine.io import Project, demo_project, save_project


def make(qtbot):
    w = MainWindow(demo_project())
    w.project.maybe_save = lambda *a, **k: True
    qtbot.addWidget(w)
    return w


def drop(w, path) -> bool:
    """A drop of ``path`` as the window's event filter sees it (Qt delivers synthetic drops only during a
    real drag-and-drop, so the event goes to the filter directly)."""
    assert w.acceptDrops()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    assert w.drop_filter.eventFilter(w, enter) and enter.isAccepted()
    ev = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    return w.drop_filter.eventFilter(w, ev) and ev.isAccepted()


def test_classify(tmp_path):
    assert classify(str(tmp_path)) == "images"
    assert classify("a/b.CSV") == "csv" and classify("x.xlsx") == "csv" and classify("p.nnsp") == "project"
    assert classify("d.npz") == "npz" and classify("notes.pdf") is None


def test_dropping_a_table_sets_the_data_source_and_a_project_opens(qtbot, tmp_path):
    w = make(qtbot)
    csv = tmp_path / "wine.csv"
    csv.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n", encoding="utf-8")
    assert drop(w, csv)
    dp = w.training_ui.data_panel
    assert dp.current_kind() == "csv" and dp.path.text() == str(csv)
    assert w.drop_filter.handled[-1] == ("csv", str(csv))
    proj = tmp_path / "other.nnsp"
    p = demo_project()
    save_project(proj, Project(graph=p.graph, train_config={**p.train_config, "epochs": 7}, data_spec=p.data_spec,
                               metadata={"name": "dropped"}))
    assert drop(w, proj)
    assert w.document.train_config.get("epochs") == 7
    pdf = tmp_path / "notes.pdf"
    pdf.write_text("x")
    drop(w, pdf)
    assert "Cannot open notes.pdf" in w.statusBar().currentMessage()
    w.project.timer.stop()
    w.undo_stack.setClean()


def test_dropping_an_onnx_model_imports_it_after_asking_about_unsaved_changes(qtbot, tmp_path):
    import pytest

    pytest.importorskip("onnx")
    from tests.app.onnx_files import write_model

    assert classify("net.ONNX") == "onnx"
    w = make(qtbot)
    dialogs = []
    w.onnx_import.show_dialog = lambda kind, title, text: dialogs.append((kind, text))
    path = tmp_path / "net.onnx"
    write_model(path)
    before = w.document.spec
    asked = []
    w.project.maybe_save = lambda *a, **k: bool(asked.append(1))     # "Cancel" when asked to save changes
    assert drop(w, path)
    assert asked and w.document.spec == before and w.drop_filter.handled[-1] == ("onnx", str(path))
    w.project.maybe_save = lambda *a, **k: asked.append(2) or True
    with qtbot.waitSignal(w.onnx_import.imported, timeout=30_000):
        assert drop(w, path)
    assert asked[-1] == 2
    assert [n.type for n in w.document.spec.nodes] == ["Input.v1", "Conv2D.v1", "Flatten.v1", "Dense.v1"]
    assert "conv1/W" in w.document.weights and w.project.is_modified()
    assert dialogs and dialogs[-1][0] == "info"
    w.project.maybe_save = lambda *a, **k: True
    w.project.timer.stop()
    w.undo_stack.setClean()
