"""The canvas on large graphs: an edit touches only what changed; zoomed out, nodes are plain boxes."""
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from engine.compile import analyse
from engine.graph_layout import layered_layout
from tests.engine.scale_graphs import big_graph
from widgets.canvas import GraphView
from widgets.canvas import scene as canvas_scene


def _view(qtbot, g):
    v = GraphView()
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.set_graph(g, analyse(g))
    return v


def test_an_edit_rebuilds_only_the_nodes_and_edges_it_changed(qtbot, monkeypatch):
    g = big_graph(400)
    g = g.move_nodes(layered_layout(g))
    v = _view(qtbot, g)
    sc = v.graph_scene
    items_before = dict(sc.nodes)
    edges_before = {e.key: e for e in sc.edges}
    calls = []
    real = canvas_scene.node_display
    monkeypatch.setattr(canvas_scene, "node_display", lambda node, an: calls.append(node.id) or real(node, an))
    # a setting that changes no shape: only that node's texts are rebuilt
    node = next(n for n in g.nodes if n.type == "Dense.v1")
    act = "tanh" if node.config.get("activation") != "tanh" else "relu"
    g2 = g.set_config(node.id, activation=act)
    v.set_graph(g2, analyse(g2))
    assert calls == [node.id]
    assert all(sc.nodes[k] is items_before[k] for k in items_before)        # no item re-made
    assert {e.key: e for e in sc.edges} == edges_before                    # every edge item kept
    # units change the output shape: that node and the ones whose shape follows are redone
    calls.clear()
    g3 = g2.set_config(node.id, units=int(node.config.get("units", 8)) + 5)
    an3 = analyse(g3)
    v.set_graph(g3, an3)
    an2 = analyse(g2)
    changed = {n.id for n in g3.nodes if an3.shapes.get(n.id) != an2.shapes.get(n.id)
               or an3.errors.get(n.id) != an2.errors.get(n.id)} | {node.id}
    assert set(calls) == changed and len(calls) < len(g3.nodes) // 2
    # the edge labels follow the new shapes
    for e in sc.edges:
        shape = an3.shapes.get(e.src.node_id)
        assert e.label == (canvas_scene.fmt_shape(shape) if shape is not None else "?")
    # removing a node removes its items and its edges' items, nothing else
    gone = g3.nodes[-1].id
    g4 = g3.remove_nodes([gone])
    v.set_graph(g4, analyse(g4))
    assert gone not in sc.nodes and all(gone not in (e.src.node_id, e.dst.node_id) for e in sc.edges)
    assert len(sc.edges) == len([e for e in g4.edges])


def test_moving_a_node_updates_only_its_edges(qtbot):
    g = big_graph(300)
    g = g.move_nodes(layered_layout(g))
    v = _view(qtbot, g)
    sc = v.graph_scene
    node = sc.nodes[g.edges[5].dst]
    paths = {e.key: e.path().boundingRect() for e in sc.edges}
    node.setPos(node.pos().x() + 37, node.pos().y() + 11)
    moved = {e.key for e in sc.edges if e.path().boundingRect() != paths[e.key]}
    mine = {e.key for e in sc.edges if node in (e.src, e.dst)}
    assert moved == mine and mine


def test_zoomed_out_nodes_are_plain_boxes(qtbot, monkeypatch):
    g = big_graph(60)
    g = g.move_nodes(layered_layout(g))
    v = _view(qtbot, g)
    texts = []
    img = QImage(400, 300, QImage.Format_ARGB32)
    item = next(iter(v.graph_scene.nodes.values()))
    for scale, expect_text in ((1.0, True), (0.2, False)):
        texts.clear()
        img.fill(0)
        p = QPainter(img)
        p.scale(scale, scale)
        p.translate(150, 100)
        monkeypatch.setattr(QPainter, "drawText", lambda self, *a, real=QPainter.drawText: texts.append(a) or real(self, *a))
        item.paint(p, QStyleOptionGraphicsItem())
        monkeypatch.undo()
        p.end()
        assert bool(texts) == expect_text, (scale, texts)
