import math

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent, QTransform
from PySide6.QtTest import QTest

from engine.compile import analyse
from engine.spec import sequential
from widgets.canvas import GraphView
from widgets.canvas.view import MAX_ZOOM, MIN_ZOOM
from widgets.palette import LAYER_MIME, mime_for


def graph():
    return sequential([("Input.v1", {"shape": [4]}), ("Dense.v1", {"units": 8, "activation": "relu"}),
                       ("Dense.v1", {"units": 3, "activation": "softmax"})], spacing=150)


def make_view(qtbot, g=None):
    v = GraphView()
    qtbot.addWidget(v)
    v.resize(800, 600)
    g = g or graph()
    v.set_graph(g, analyse(g))
    return v


def test_drop_handler_emits_intent_with_type_id(qtbot):
    v = make_view(qtbot)
    md = QMimeData()
    md.setData(LAYER_MIME, b"Dense.v1")
    with qtbot.waitSignal(v.node_drop_requested, timeout=2000) as sig:
        assert v.handle_drop(md, QPointF(12, 34))
    assert sig.args[0] == "Dense.v1" and sig.args[1] == QPointF(12, 34)
    other = QMimeData()
    other.setText("hello")
    with qtbot.assertNotEmitted(v.node_drop_requested):
        assert not v.handle_drop(other, QPointF(0, 0))


def test_real_drop_event(qtbot):
    v = make_view(qtbot)
    v.show()
    md = mime_for("Flatten.v1")
    pos = QPointF(100, 120)
    ev = QDropEvent(pos, Qt.CopyAction, md, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(v.node_drop_requested, timeout=2000) as sig:
        v.dropEvent(ev)
    assert sig.args[0] == "Flatten.v1"
    expected = v.mapToScene(QPoint(100, 120))
    assert abs(sig.args[1].x() - expected.x()) < 1e-6 and abs(sig.args[1].y() - expected.y()) < 1e-6


def test_scene_mirrors_graph_with_shapes_on_edges(qtbot):
    v = make_view(qtbot)
    sc = v.graph_scene
    assert set(sc.nodes) == {"n1", "n2", "n3"}
    labels = sorted(e.label for e in sc.edges)
    assert labels == ["(None, 4)", "(None, 8)"]
    assert sc.nodes["n2"].summary == "8, relu"
    assert sc.nodes["n3"].shape_text == "out (None, 3)"
    assert sc.nodes["n1"].pos() == QPointF(0, 0) and sc.nodes["n2"].pos() == QPointF(0, 150)
    # removing a node removes its item and edges
    g = graph().remove_nodes(["n3"])
    v.set_graph(g, analyse(g))
    assert set(sc.nodes) == {"n1", "n2"} and len(sc.edges) == 1


def test_error_badge_and_tooltip(qtbot):
    g = sequential([("Input.v1", {"shape": [4, 4]}), ("Dense.v1", {"units": 3})])
    v = make_view(qtbot, g)
    item = v.graph_scene.nodes["n2"]
    assert item.error and "Flatten" in item.error
    assert "Flatten" in item.toolTip()
    assert v.graph_scene.nodes["n1"].error is None


def test_port_drag_emits_connect(qtbot):
    g = sequential([("Input.v1", {"shape": [4]})]).add_node("Dense.v1", {}, pos=(0, 200))[0]
    v = make_view(qtbot, g)
    v.show()
    v.reset_view()
    src = v.graph_scene.nodes["n1"].out_port
    dst = v.graph_scene.nodes["n2"].in_ports[0]
    a = v.mapFromScene(src.scenePos())
    b = v.mapFromScene(dst.scenePos())
    with qtbot.waitSignal(v.connect_requested, timeout=2000) as sig:
        QTest.mousePress(v.viewport(), Qt.LeftButton, Qt.NoModifier, a)
        QTest.mouseMove(v.viewport(), b)
        QTest.mouseRelease(v.viewport(), Qt.LeftButton, Qt.NoModifier, b)
    assert sig.args == ["n1", "n2", 0]


def test_merge_node_has_one_multi_port(qtbot):
    g = sequential([("Input.v1", {"shape": [4]})]).add_node("Add.v1", {}, pos=(0, 200))[0]
    v = make_view(qtbot, g)
    add = v.graph_scene.nodes["n2"]
    assert len(add.in_ports) == 1 and add.in_ports[0].multi
    with qtbot.waitSignal(v.connect_requested, timeout=2000) as sig:
        v.request_connect(add.in_ports[0], v.graph_scene.nodes["n1"].out_port)
    assert sig.args == ["n1", "n2", -1]


def test_move_and_delete_intents(qtbot):
    v = make_view(qtbot)
    v.show()
    item = v.graph_scene.nodes["n2"]
    item.setPos(QPointF(40, 160))
    with qtbot.waitSignal(v.nodes_moved, timeout=2000) as sig:
        QTest.mouseRelease(v.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(5, 5))
    assert sig.args[0] == {"n2": (40.0, 160.0)}
    v.graph_scene.select_nodes(["n2", "n3"])
    with qtbot.waitSignal(v.delete_requested, timeout=2000) as sig:
        QTest.keyClick(v, Qt.Key_Delete)
    assert sorted(sig.args[0]) == ["n2", "n3"] and sig.args[1] == []


def test_zoom_is_clamped_and_non_finite_rejected(qtbot):
    v = make_view(qtbot)
    v.zoom_by(1e6)
    assert math.isclose(v.zoom(), MAX_ZOOM)
    v.zoom_by(1e-9)
    assert math.isclose(v.zoom(), MIN_ZOOM)
    before = v.transform()
    assert not v.set_view_transform(QTransform(float("nan"), 0, 0, 1, 0, 0))
    assert not v.set_view_transform(QTransform.fromScale(float("inf"), float("inf")))
    v.zoom_by(float("nan"))
    assert v.transform() == before
    v.zoom_to_fit()
    t = v.transform()
    assert all(math.isfinite(x) for x in (t.m11(), t.m22(), t.dx(), t.dy()))
    assert MIN_ZOOM <= v.zoom() <= MAX_ZOOM
    v.reset_view()
    assert v.zoom() == 1.0
