"""The scene mirrors a ``GraphSpec`` + ``Analysis``; it is rebuilt incrementally on every change."""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QPointF, QRectF
from PySide6.QtWidgets import QGraphicsScene

from engine.i18n import tr as engine_tr
from engine.layers.core import fmt_shape
from engine.registry import RegistryError, get_layer_class
from engine.spec import GraphSpec
from widgets.canvas.items import EdgeItem, NodeItem


def node_display(node, analysis) -> dict:
    """Texts and metadata for one node (also used by tests and the property editor)."""
    try:
        cls = get_layer_class(node.type)
        label, category, n_inputs, desc = cls.label or node.type, cls.category, cls.n_inputs, cls.description
    except RegistryError:
        cls = None
        label, category, n_inputs, desc = node.type.split(".")[0], "Core", 1, ""
    summary = ""
    layer = analysis.layers.get(node.id) if analysis is not None else None
    if layer is not None:
        try:
            summary = layer.summary()
        except Exception:  # a summary must never break drawing
            summary = ""
    shape = analysis.shapes.get(node.id) if analysis is not None else None
    error = analysis.errors.get(node.id) if analysis is not None else None
    return {
        "type_id": node.type, "title": engine_tr(label), "subtitle": node.name or node.id,
        "summary": engine_tr(summary) if summary else "",
        "shape_text": QCoreApplication.translate("GraphScene", "out {shape}").format(shape=fmt_shape(shape))
        if shape is not None else "",
        "category": category, "n_inputs": n_inputs, "description": engine_tr(desc) if desc else "",
        "error": engine_tr(error) if error else error,
    }


class GraphScene(QGraphicsScene):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.nodes: dict[str, NodeItem] = {}
        self.edges: list[EdgeItem] = []
        self.spec = GraphSpec()
        self.analysis = None
        self._syncing = False
        self.setSceneRect(QRectF(-2000, -2000, 4000, 4000))

    # ---------------------------------------------------------------- sync
    def set_graph(self, spec: GraphSpec, analysis) -> None:
        self._syncing = True
        try:
            self.spec, self.analysis = spec, analysis
            ids = set(spec.node_ids)
            for nid in [n for n in self.nodes if n not in ids]:
                item = self.nodes.pop(nid)
                self.removeItem(item)
            for node in spec.nodes:
                item = self.nodes.get(node.id)
                if item is None:
                    item = NodeItem(node.id)
                    item.on_moved = self._node_moved
                    self.addItem(item)
                    self.nodes[node.id] = item
                item.set_content(**node_display(node, analysis))
                p = QPointF(*node.pos)
                item.spec_pos = p
                if item.pos() != p:
                    item.setPos(p)
            for e in self.edges:
                self.removeItem(e)
            self.edges = []
            for e in spec.edges:
                s, d = self.nodes.get(e.src), self.nodes.get(e.dst)
                if s is None or d is None:
                    continue
                shape = analysis.shapes.get(e.src) if analysis is not None else None
                label = fmt_shape(shape) if shape is not None else "?"
                bad = analysis is not None and (shape is None or e.dst in analysis.errors)
                item = EdgeItem(s, d, e.dst_port, label, bad)
                self.addItem(item)
                self.edges.append(item)
            self._grow_rect()
        finally:
            self._syncing = False

    def _grow_rect(self) -> None:
        r = self.itemsBoundingRect().adjusted(-1500, -1500, 1500, 1500)
        self.setSceneRect(r.united(QRectF(-2000, -2000, 4000, 4000)))

    def _node_moved(self, item: NodeItem) -> None:
        for e in self.edges:
            if e.src is item or e.dst is item:
                e.update_path()

    # ---------------------------------------------------------------- queries
    def selected_node_ids(self) -> list[str]:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_edges(self) -> list[tuple[str, str, int]]:
        return [i.key for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def moved_positions(self) -> dict[str, tuple[float, float]]:
        """Nodes whose item position differs from the spec position."""
        out = {}
        for nid, item in self.nodes.items():
            if item.pos() != item.spec_pos:
                out[nid] = (float(item.pos().x()), float(item.pos().y()))
        return out

    def select_nodes(self, ids) -> None:
        ids = set(ids)
        self.clearSelection()
        for nid, item in self.nodes.items():
            if nid in ids:
                item.setSelected(True)

    def nodes_rect(self) -> QRectF:
        r = QRectF()
        for item in self.nodes.values():
            r = r.united(item.sceneBoundingRect())
        return r
