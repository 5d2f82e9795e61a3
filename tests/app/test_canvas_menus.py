"""Right-click menus on the canvas, nodes and edges; a palette layer dropped on an edge; paste at the pointer.

Every action goes through the window's undo stack: each test checks the step and its exact undo.
"""
from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMenu

from app.main_window import MainWindow
from engine.io import demo_project
from widgets.palette import LAYER_MIME


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    w = MainWindow(demo_project())
    w.project.show_error = lambda title, text: pytest.fail(f"unexpected error dialog: {text}")
    w.project.maybe_save = lambda *a, **k: True   # pytest-qt closes the shown window before this fixture ends
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    w.view.reset_view()
    w.graph._clip_fallback = None
    cb = QApplication.clipboard()
    if cb is not None:
        cb.clear()
    yield w
    w.project.timer.stop()
    w.close()


def _vpos(win, scene_xy) -> QPoint:
    return win.view.mapFromScene(QPointF(*scene_xy))


def _menu_action(menu: QMenu, name: str):
    for a in menu.actions():
        if a.objectName() == name:
            return a
        if a.menu() is not None and a.menu().menuAction().objectName() == name:
            return a.menu().menuAction()
    raise AssertionError(f"{name} not in {[a.objectName() for a in menu.actions()]}")


def _layer_in(submenu: QMenu, type_id: str):
    for cat in submenu.actions():
        if cat.menu() is None:
            continue
        for a in cat.menu().actions():
            if a.data() == type_id:
                return a
    return None


def _edge(win, src, dst):
    return next(e for e in win.view.graph_scene.edges if (e.src.node_id, e.dst.node_id) == (src, dst))


def _edge_point(win, src, dst) -> QPointF:
    """A point on the drawn line (not on its shape label) between two layers."""
    return _edge(win, src, dst).path().pointAtPercent(0.3)


# ---------------------------------------------------------------------- the empty canvas
def test_canvas_menu_adds_a_layer_where_it_was_opened(win):
    doc, stack = win.document, win.undo_stack
    before, n = doc.spec, stack.index()
    menu = win.view.context_menu(_vpos(win, (400, 40)))
    names = [a.objectName() for a in menu.actions() if not a.isSeparator()]
    assert names == ["ctx_add_layer", "ctx_paste_here", "ctx_select_all", "ctx_auto_layout", "ctx_zoom_fit"]
    assert not _menu_action(menu, "ctx_paste_here").isEnabled()   # nothing copied yet
    dense = _layer_in(_menu_action(menu, "ctx_add_layer").menu(), "Dense.v1")
    assert dense is not None and _layer_in(_menu_action(menu, "ctx_add_layer").menu(), "Input.v1") is not None
    dense.trigger()
    assert stack.index() == n + 1 and len(doc.spec.nodes) == 5
    new = next(x for x in doc.spec.nodes if not before.has_node(x.id))
    assert new.type == "Dense.v1" and abs(new.pos[0] - 400) < 1.5 and abs(new.pos[1] - 40) < 1.5
    stack.undo()
    assert doc.spec == before


def test_canvas_menu_paste_here_select_all_auto_layout_fit(win):
    doc, stack, view = win.document, win.undo_stack, win.view
    assert win.graph.copy(["n2"])
    menu = view.context_menu(_vpos(win, (-300, 500)))
    paste = _menu_action(menu, "ctx_paste_here")
    assert paste.isEnabled()
    before = doc.spec
    paste.trigger()
    new = [x for x in doc.spec.nodes if not before.has_node(x.id)]
    assert len(new) == 1 and new[0].config == before.node("n2").config
    assert abs(new[0].pos[0] + 300) < 1.5 and abs(new[0].pos[1] - 500) < 1.5
    stack.undo()
    assert doc.spec == before

    _menu_action(view.context_menu(_vpos(win, (-300, 500))), "ctx_select_all").trigger()
    assert sorted(view.graph_scene.selected_node_ids()) == sorted(doc.spec.node_ids)
    assert win.graph.selection == view.graph_scene.selected_node_ids()

    doc_before, n = doc.spec, stack.index()
    win.graph.move_nodes({"n3": (500.0, 700.0)})
    _menu_action(view.context_menu(_vpos(win, (-300, -300))), "ctx_auto_layout").trigger()
    assert stack.index() == n + 2 and doc.spec.node("n3").pos == (0.0, 220.0)
    stack.undo()
    assert doc.spec.node("n3").pos == (500.0, 700.0)
    stack.undo()
    assert doc.spec == doc_before

    view.zoom_by(3.0)
    _menu_action(view.context_menu(_vpos(win, (-300, -300))), "ctx_zoom_fit").trigger()
    r = view.mapFromScene(view.graph_scene.nodes_rect()).boundingRect()
    assert view.viewport().rect().contains(r)


def test_canvas_menu_on_an_empty_graph_offers_only_adding(win):
    win.project.new_project()
    menu = win.view.context_menu(QPoint(50, 50))
    assert _menu_action(menu, "ctx_add_layer").isEnabled()
    for name in ("ctx_select_all", "ctx_auto_layout", "ctx_zoom_fit", "ctx_paste_here"):
        assert not _menu_action(menu, name).isEnabled()


# ---------------------------------------------------------------------- a node
def test_node_menu_delete_duplicate_disconnect(win):
    doc, stack, view = win.document, win.undo_stack, win.view
    before = doc.spec
    menu = view.context_menu(_vpos(win, doc.spec.node("n3").pos))
    assert view.graph_scene.selected_node_ids() == ["n3"]          # right-click selects the layer
    names = [a.objectName() for a in menu.actions() if not a.isSeparator()]
    assert names == ["ctx_properties", "ctx_copy", "ctx_duplicate", "ctx_disconnect", "ctx_delete"]
    _menu_action(menu, "ctx_delete").trigger()
    assert not doc.spec.has_node("n3") and len(doc.spec.edges) == 1
    stack.undo()
    assert doc.spec == before

    _menu_action(view.context_menu(_vpos(win, doc.spec.node("n3").pos)), "ctx_duplicate").trigger()
    new = [x for x in doc.spec.nodes if not before.has_node(x.id)]
    assert len(new) == 1 and new[0].config == before.node("n3").config
    assert view.graph_scene.selected_node_ids() == [new[0].id]
    stack.undo()
    assert doc.spec == before

    n = stack.index()
    _menu_action(view.context_menu(_vpos(win, doc.spec.node("n3").pos)), "ctx_disconnect").trigger()
    assert stack.index() == n + 1
    assert [(e.src, e.dst) for e in doc.spec.edges] == [("n1", "n2")] and doc.spec.has_node("n3")
    stack.undo()
    assert doc.spec == before
    # a disconnected layer has nothing to disconnect
    win.graph.disconnect_nodes(["n3"])
    assert not _menu_action(view.context_menu(_vpos(win, doc.spec.node("n3").pos)), "ctx_disconnect").isEnabled()


def test_node_menu_acts_on_the_whole_selection(win):
    doc, view = win.document, win.view
    view.graph_scene.select_nodes(["n2", "n3"])
    menu = view.context_menu(_vpos(win, doc.spec.node("n3").pos))
    assert sorted(view.graph_scene.selected_node_ids()) == ["n2", "n3"]
    delete = _menu_action(menu, "ctx_delete")
    assert "2" in delete.text()
    delete.trigger()
    assert doc.spec.node_ids == ["n1", "n4"]
    win.undo_stack.undo()
    assert doc.spec.node_ids == ["n1", "n2", "n3", "n4"]


def test_node_menu_properties_focuses_the_property_editor(win, qtbot):
    doc, view = win.document, win.view
    win.activateWindow()
    qtbot.waitActive(win)
    view.graph_scene.select_nodes(["n2"])
    win.properties_dock.hide()
    _menu_action(view.context_menu(_vpos(win, doc.spec.node("n3").pos)), "ctx_properties").trigger()
    assert view.graph_scene.selected_node_ids() == ["n3"]
    assert win.property_editor.node_id == "n3" and win.properties_dock.isVisible()
    qtbot.waitUntil(lambda: win.property_editor.isAncestorOf(QApplication.focusWidget()), timeout=2000)
    assert QApplication.focusWidget() is win.property_editor.widgets["units"]


def test_right_click_on_a_port_is_the_node_menu(win):
    port = win.view.graph_scene.nodes["n2"].out_port
    menu = win.view.context_menu(win.view.mapFromScene(port.scenePos()))
    assert _menu_action(menu, "ctx_properties") and win.view.graph_scene.selected_node_ids() == ["n2"]


# ---------------------------------------------------------------------- an edge
def test_edge_menu_delete_connection(win):
    doc, view = win.document, win.view
    before = doc.spec
    menu = view.context_menu(view.mapFromScene(_edge_point(win, "n2", "n3")))
    assert view.graph_scene.selected_edges() == [("n2", "n3", 0)]
    names = [a.objectName() for a in menu.actions() if not a.isSeparator()]
    assert names == ["ctx_insert_layer", "ctx_delete_edge"]
    _menu_action(menu, "ctx_delete_edge").trigger()
    assert [(e.src, e.dst) for e in doc.spec.edges] == [("n1", "n2"), ("n3", "n4")]
    win.undo_stack.undo()
    assert doc.spec == before


def test_edge_menu_inserts_a_layer_into_the_connection(win):
    doc, stack, view = win.document, win.undo_stack, win.view
    before, n = doc.spec, stack.index()
    menu = view.context_menu(view.mapFromScene(_edge_point(win, "n2", "n3")))
    insert = _menu_action(menu, "ctx_insert_layer").menu()
    assert _layer_in(insert, "Input.v1") is None          # an Input layer takes no input
    _layer_in(insert, "Dropout.v1").trigger()
    assert stack.index() == n + 1
    new = next(x for x in doc.spec.nodes if not before.has_node(x.id))
    assert new.type == "Dropout.v1"
    assert sorted((e.src, e.dst) for e in doc.spec.edges) == sorted(
        [("n1", "n2"), ("n2", new.id), (new.id, "n3"), ("n3", "n4")])
    assert doc.analysis.ok and doc.analysis.shapes[new.id] == (16,)
    # the column stays straight and the layers below moved down to make room (no overlap)
    assert new.pos[0] == 0.0 and doc.spec.node("n3").pos[1] - new.pos[1] >= 110
    assert doc.spec.node("n4").pos[1] - doc.spec.node("n3").pos[1] == 110
    assert view.graph_scene.selected_node_ids() == [new.id]
    stack.undo()
    assert doc.spec == before
    stack.redo()
    assert doc.spec.has_node(new.id)


def test_insert_into_a_connection_that_is_gone_is_refused(win):
    n = win.undo_stack.index()
    assert win.graph.insert_layer("Dense.v1", ("n1", "n4", 0)) is None
    assert win.graph.insert_layer("Input.v1", ("n1", "n2", 0)) is None
    assert win.undo_stack.index() == n
    assert "no input" in win.statusBar().currentMessage()


# ---------------------------------------------------------------------- dropping a palette layer on an edge
def _mime(type_id: str) -> QMimeData:
    md = QMimeData()
    md.setData(LAYER_MIME, type_id.encode())
    return md


def _drag_move(view, mime, view_pos: QPoint):
    ev = QDragMoveEvent(view_pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    view.dragMoveEvent(ev)
    return ev


def test_dragging_a_layer_over_an_edge_highlights_it_and_dropping_inserts(win):
    doc, stack, view = win.document, win.undo_stack, win.view
    before, n = doc.spec, stack.index()
    md = _mime("Dense.v1")
    p = view.mapFromScene(_edge_point(win, "n1", "n2"))
    _drag_move(view, md, p)
    assert _edge(win, "n1", "n2").highlighted
    assert sum(e.highlighted for e in view.graph_scene.edges) == 1
    # moving off the edge (onto a node) removes the highlight
    _drag_move(view, md, _vpos(win, doc.spec.node("n3").pos))
    assert not any(e.highlighted for e in view.graph_scene.edges)
    _drag_move(view, md, p)
    drop = QDropEvent(QPointF(p), Qt.CopyAction, md, Qt.LeftButton, Qt.NoModifier)
    view.dropEvent(drop)
    assert stack.index() == n + 1
    new = next(x for x in doc.spec.nodes if not before.has_node(x.id))
    assert new.type == "Dense.v1"
    assert ("n1", new.id) in [(e.src, e.dst) for e in doc.spec.edges]
    assert (new.id, "n2") in [(e.src, e.dst) for e in doc.spec.edges]
    assert not any(e.highlighted for e in view.graph_scene.edges)
    stack.undo()
    assert doc.spec == before


def test_a_drop_away_from_edges_or_of_an_input_layer_only_adds(win):
    doc, view = win.document, win.view
    before = doc.spec
    md = _mime("Input.v1")
    p = view.mapFromScene(_edge_point(win, "n1", "n2"))
    _drag_move(view, md, p)
    assert not any(e.highlighted for e in view.graph_scene.edges)
    assert view.handle_drop(md, view.mapToScene(p))
    assert doc.spec.edges == before.edges and len(doc.spec.nodes) == 5
    win.undo_stack.undo()
    assert view.handle_drop(_mime("Dense.v1"), QPointF(600, 600))
    assert doc.spec.edges == before.edges and len(doc.spec.nodes) == 5


# ---------------------------------------------------------------------- paste lands at the pointer or offset
def test_paste_lands_at_the_pointer_over_the_canvas(win, monkeypatch):
    doc, view = win.document, win.view
    win.graph.copy(["n2", "n3"])
    target = QPoint(300, 200)
    monkeypatch.setattr(win, "cursor_global_pos", lambda: view.viewport().mapToGlobal(target))
    before = doc.spec
    win.actions["paste"].trigger()
    new = [x for x in doc.spec.nodes if not before.has_node(x.id)]
    assert len(new) == 2 and [(e.src, e.dst) for e in doc.spec.edges if e.src in {x.id for x in new}] == [
        (new[0].id, new[1].id)]
    at = view.mapToScene(target)
    cx = (new[0].pos[0] + new[1].pos[0]) / 2
    cy = (new[0].pos[1] + new[1].pos[1]) / 2
    assert abs(cx - at.x()) < 1e-6 and abs(cy - at.y()) < 1e-6
    assert new[1].pos[1] - new[0].pos[1] == 110          # the layers keep their arrangement


def test_paste_away_from_the_canvas_offsets_and_repeated_pastes_keep_offsetting(win, monkeypatch):
    doc, view = win.document, win.view
    win.graph.copy(["n2"])
    monkeypatch.setattr(win, "cursor_global_pos", lambda: view.viewport().mapToGlobal(QPoint(-50, -50)))
    seen = []
    for _ in range(3):
        before = doc.spec
        win.actions["paste"].trigger()
        seen += [x.pos for x in doc.spec.nodes if not before.has_node(x.id)]
    assert seen == [(40.0, 150.0), (80.0, 190.0), (120.0, 230.0)]
    assert win.undo_stack.undoText().startswith("Paste")


def test_edit_menu_paste_clicked_over_the_canvas_is_offset_not_at_the_pointer(win, monkeypatch, qtbot):
    doc, view = win.document, win.view
    win.graph.copy(["n2"])
    monkeypatch.setattr(win, "cursor_global_pos", lambda: view.viewport().mapToGlobal(QPoint(300, 200)))
    before = doc.spec
    win.findChild(QMenu, "menu_edit").aboutToHide.emit()     # the menu closes, then its action runs
    win.actions["paste"].trigger()
    assert [x.pos for x in doc.spec.nodes if not before.has_node(x.id)] == [(40.0, 150.0)]
    qtbot.wait(10)                                            # the next Ctrl+V is at the pointer again
    before = doc.spec
    win.actions["paste"].trigger()
    at = view.mapToScene(QPoint(300, 200))
    assert [x.pos for x in doc.spec.nodes if not before.has_node(x.id)] == [(at.x(), at.y())]
