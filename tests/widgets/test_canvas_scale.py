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


def test_a_20000_node_graph_is_one_item_per_node_and_edge_and_says_it_is_drawing(qtbot, monkeypatch):
    from PySide6.QtWidgets import QApplication

    g = big_graph(20000, seed=1)
    g = g.move_nodes(layered_layout(g))
    v = GraphView()
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    seen = []
    real = canvas_scene.GraphScene.set_graph
    monkeypatch.setattr(canvas_scene.GraphScene, "set_graph",
                        lambda sc, spec, an: seen.append((v.busy_text, QApplication.overrideCursor() is not None))
                        or real(sc, spec, an))
    v.set_graph(g, analyse(g))
    assert seen == [("Drawing 20,000 layers…", True)] and v.busy_text == "" and QApplication.overrideCursor() is None
    sc = v.graph_scene
    # ports are painted by their node: one item per node and per edge, nothing else
    assert len(sc.items()) == len(g.nodes) + len(g.edges)
    assert sc.stats == {"nodes_made": 20000, "nodes_refreshed": 20000, "edges_made": len(g.edges),
                        "edges_refreshed": 0}
    # an edge makes its curve when it is first painted or hit-tested: none yet, then only those in view
    assert all(e._path is None for e in sc.edges)
    v.zoom_to_fit()
    v.grab()   # paints the view
    made = sum(e._path is not None for e in sc.edges)
    assert 0 < made < len(g.edges) // 20


def test_an_edit_on_a_1000_node_graph_refreshes_only_that_node_and_its_edges(qtbot, monkeypatch):
    g = big_graph(1000, seed=1)
    g = g.move_nodes(layered_layout(g))
    an = analyse(g)
    v = GraphView()
    qtbot.addWidget(v)
    v.set_graph(g, an)
    sc = v.graph_scene
    calls = []
    real = canvas_scene.node_display
    monkeypatch.setattr(canvas_scene, "node_display", lambda node, a: calls.append(node.id) or real(node, a))
    node = next(n for n in g.nodes if n.type == "Dense.v1")
    g2 = g.set_config(node.id, activation="tanh" if node.config.get("activation") != "tanh" else "relu")
    v.set_graph(g2, analyse(g2, previous=(g, an)))
    degree = len(g.inputs_of(node.id)) + len(g.outputs_of(node.id))
    assert calls == [node.id]
    assert sc.stats == {"nodes_made": 0, "nodes_refreshed": 1, "edges_made": 0, "edges_refreshed": degree}
    # a move: that node and its edges, its texts are not rebuilt
    calls.clear()
    g3 = g2.move_nodes({node.id: (node.pos[0] + 50, node.pos[1])})
    v.set_graph(g3, analyse(g3, previous=(g2, sc.analysis)))
    assert calls == [] and sc.stats["edges_refreshed"] == degree and sc.stats["nodes_made"] == 0
    assert sc.nodes[node.id].pos().x() == node.pos[0] + 50
    # a connection changed: every node is looked at (texts only where they changed), no item re-made
    e = g3.edges[10]
    g4 = g3.disconnect(e.src, e.dst, e.dst_port)
    v.set_graph(g4, analyse(g4))
    assert sc.stats["nodes_made"] == 0 and sc.stats["edges_made"] == 0 and len(sc.edges) == len(g4.edges)


def test_ports_are_painted_and_hit_tested_by_their_node(qtbot):
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QGraphicsItem

    from widgets.canvas.items import NODE_H, PortItem

    g = big_graph(60, seed=2)
    g = g.move_nodes(layered_layout(g))
    v = _view(qtbot, g)
    add = v.graph_scene.nodes[next(n.id for n in g.nodes if n.type == "Add.v1")]
    dense = v.graph_scene.nodes[next(n.id for n in g.nodes if n.type == "Dense.v1")]
    assert len(add.in_ports) == 1 and add.in_ports[0].multi and len(dense.in_ports) == 1
    assert all(isinstance(p, PortItem) for p in dense.ports()) and not dense.childItems()
    assert dense.port_at(QPointF(0, NODE_H / 2 + 3)) is dense.out_port           # just below the box
    assert dense.port_at(QPointF(0, -NODE_H / 2)) is dense.in_ports[0]
    assert dense.port_at(QPointF(60, -NODE_H / 2)) is None and dense.port_at(QPointF(0, 0)) is None
    assert add.port_at(QPointF(25, -NODE_H / 2)) is add.in_ports[0]               # the wide merge port
    # the part of a port outside the box still belongs to the node (right-click, drag)
    assert dense.shape().contains(QPointF(0, NODE_H / 2 + 8))
    # hover: the port lights up, its tooltip replaces the node's; leaving the port brings it back
    dense._hover(QPointF(0, NODE_H / 2))
    assert dense.out_port.hovered and "Output" in QGraphicsItem.toolTip(dense)
    dense._hover(QPointF(0, 0))
    assert not dense.out_port.hovered and QGraphicsItem.toolTip(dense) == dense.toolTip()
    assert dense.title in dense.toolTip()
    # the view finds the port under the pointer
    v.show()
    v.reset_view()
    v.centerOn(dense.pos())
    assert v._port_at(v.mapFromScene(dense.out_port.scenePos())) is dense.out_port


def test_selecting_many_nodes_is_one_selection_signal(qtbot):
    g = big_graph(500, seed=3)
    v = _view(qtbot, g)
    sc = v.graph_scene
    got = []
    v.selection_changed.connect(got.append)
    v.select_all()
    assert len(got) == 1 and sorted(got[0]) == sorted(g.node_ids)
    sc.select_nodes(g.node_ids)   # the same selection again: nothing to say
    assert len(got) == 1
    sc.select_nodes([g.nodes[3].id])
    assert got[-1] == [g.nodes[3].id] and len(got) == 2
