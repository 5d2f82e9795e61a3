"""The scene mirrors a ``GraphSpec`` + ``Analysis``; it is rebuilt incrementally on every change."""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QPointF, QRectF
from PySide6.QtWidgets import QGraphicsScene

from engine.i18n import language
from engine.i18n import tr as engine_tr
from engine.layers.core import fmt_shape
from engine.registry import RegistryError, get_layer_class
from engine.spec import GraphSpec
from widgets.canvas.items import NODE_H, NODE_W, EdgeItem, NodeItem

# the texts every node of a type shares, and translated summaries and shapes, made once per language
# (a 20 000-node graph has a few dozen distinct ones)
_TEXTS: dict = {}


def _cached(key, make):
    v = _TEXTS.get(key)
    if v is None:
        if len(_TEXTS) > 20000:
            _TEXTS.clear()
        v = _TEXTS[key] = make()
    return v


def _type_texts(type_id: str) -> tuple:
    key = ("type", language(), type_id)
    got = _TEXTS.get(key)
    if got is None:
        try:
            cls = get_layer_class(type_id)
        except RegistryError:   # not cached: the type may be registered later
            return engine_tr(type_id.split(".")[0]), "Core", 1, ""
        got = _cached(key, lambda: (engine_tr(cls.label or type_id), cls.category, cls.n_inputs,
                                    engine_tr(cls.description) if cls.description else ""))
    return got


def node_display(node, analysis) -> dict:
    """Texts and metadata for one node (also used by tests and the property editor)."""
    title, category, n_inputs, desc = _type_texts(node.type)
    summary = ""
    layer = analysis.layers.get(node.id) if analysis is not None else None
    if layer is not None:
        try:
            summary = layer.summary()
        except Exception:  # a summary must never break drawing
            summary = ""
    shape = analysis.shapes.get(node.id) if analysis is not None else None
    error = analysis.errors.get(node.id) if analysis is not None else None
    lang = language()
    return {
        "type_id": node.type, "title": title, "subtitle": node.name or node.id,
        "summary": _cached(("summary", lang, summary), lambda: engine_tr(summary)) if summary else "",
        "shape_text": _cached(("shape", lang, shape), lambda: QCoreApplication.translate(
            "GraphScene", "out {shape}").format(shape=fmt_shape(shape))) if shape is not None else "",
        "category": category, "n_inputs": n_inputs, "description": desc,
        "error": engine_tr(error) if error else error,
    }


def _same_topology(a: GraphSpec, b: GraphSpec) -> bool:
    """The same node ids in the same order and the same edges (settings, names, positions may differ)."""
    if a.edges is not b.edges and a.edges != b.edges:
        return False
    if len(a.nodes) != len(b.nodes):
        return False
    return all(x is y or x.id == y.id for x, y in zip(a.nodes, b.nodes))


def _same_texts(a, b) -> bool:
    """Two versions of a node that show the same texts (a moved node: only its position differs)."""
    return a.type == b.type and a.name == b.name and a.config == b.config


class _EdgeKey:
    """An edge item seen as the ``src``/``dst`` of its spec edge (for :meth:`GraphScene._edge_state`)."""

    __slots__ = ("src", "dst")

    def __init__(self, item: EdgeItem):
        self.src, self.dst = item.src.node_id, item.dst.node_id


class GraphScene(QGraphicsScene):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.nodes: dict[str, NodeItem] = {}
        self.edges: list[EdgeItem] = []
        self._edges_of: dict[str, list[EdgeItem]] = {}   # node id -> the edges that end at it
        self.spec = GraphSpec()
        self.analysis = None
        self._syncing = False
        self.stats: dict[str, int] = {}
        self.setSceneRect(QRectF(-2000, -2000, 4000, 4000))

    # ---------------------------------------------------------------- sync
    def set_graph(self, spec: GraphSpec, analysis) -> None:
        """Bring the items in line with ``spec``: only what changed is touched (an edit of one
        setting on a 1 000-node graph repaints the nodes and edges whose texts changed, not all).

        An edit that keeps every node and edge (a setting, a name, a move: the common case) looks
        only at the nodes whose spec, shape or error changed and at their edges; other edits walk
        the graph once.  :attr:`stats` counts what the last call built and refreshed (for tests).
        """
        self._syncing = True
        old_spec, old_analysis = self.spec, self.analysis
        self.stats = {"nodes_made": 0, "nodes_refreshed": 0, "edges_made": 0, "edges_refreshed": 0}
        try:
            self.spec, self.analysis = spec, analysis
            if not (self.nodes and _same_topology(old_spec, spec) and self._sync_changed(old_spec, old_analysis)):
                self._sync_all(spec, analysis)
        finally:
            self._syncing = False

    def _refresh_node(self, item: NodeItem, node, analysis) -> bool:
        """Rebuild a node's texts if its spec, shape or error changed, and put it at its spec position;
        whether its ports may have moved (it moved, or its texts and perhaps its ports were rebuilt)."""
        # a node's texts depend on its spec (immutable: the same object when unchanged), its output
        # shape and its error; the layer summary and translations are only redone when one changed
        shape = error = None
        if analysis is not None:
            shape, error = analysis.shapes.get(node.id), analysis.errors.get(node.id)
        was = item.shown_for
        touched = False
        if analysis is None or was is None or was[1] != shape or was[2] != error or (
                was[0] is not node and not _same_texts(was[0], node)):
            item.set_content(**node_display(node, analysis))
            self.stats["nodes_refreshed"] += 1
            touched = True
        item.shown_for = (node, shape, error) if analysis is not None else None
        if was is None or was[0] is not node:
            item.spec_pos = QPointF(*node.pos)
        if item.pos() != item.spec_pos:   # moved by the spec, or dragged and not (yet) committed
            item.setPos(item.spec_pos)
            touched = True
        return touched

    def _edge_state(self, e, analysis, labels: dict) -> tuple[str, bool]:
        shape = analysis.shapes.get(e.src) if analysis is not None else None
        label = labels.get(shape)
        if label is None:
            label = labels[shape] = fmt_shape(shape) if shape is not None else "?"
        bad = analysis is not None and (shape is None or e.dst in analysis.errors)
        return label, bad

    def _sync_changed(self, old_spec: GraphSpec, old_analysis) -> bool:
        """The same nodes and edges as before: refresh only the nodes whose spec, shape or error changed
        and the edges that touch them.  False when this cannot be done (then everything is walked)."""
        spec, analysis = self.spec, self.analysis
        if (analysis is None) != (old_analysis is None):
            return False
        changed: list = [n for n, o in zip(spec.nodes, old_spec.nodes) if n is not o]
        if analysis is not None and analysis is not old_analysis:
            sh, osh, er, oer = analysis.shapes, old_analysis.shapes, analysis.errors, old_analysis.errors
            if sh != osh or er != oer:
                seen = {n.id for n in changed}
                for nid in spec.node_ids:
                    if nid not in seen and (sh.get(nid) != osh.get(nid) or er.get(nid) != oer.get(nid)):
                        changed.append(spec.node(nid))
        labels: dict = {}
        moved = False
        edges = set()
        for node in changed:
            item = self.nodes.get(node.id)
            if item is None:
                return False
            moved = self._refresh_node(item, node, analysis) or moved
            edges.update(self._edges_of.get(node.id, ()))
        for item in edges:
            label, bad = self._edge_state(_EdgeKey(item), analysis, labels)
            item.set_content(label, bad)
            self.stats["edges_refreshed"] += 1
        if moved:
            self._grow_rect(spec)
        return True

    def _sync_all(self, spec: GraphSpec, analysis) -> None:
        ids = set(spec.node_ids)
        for nid in [n for n in self.nodes if n not in ids]:
            item = self.nodes.pop(nid)
            self.removeItem(item)
        touched = set()   # nodes whose ports may have moved: their edges' paths are checked
        for node in spec.nodes:
            item = self.nodes.get(node.id)
            if item is None:
                item = NodeItem(node.id, QPointF(*node.pos))
                item.on_moved = self._node_moved
                self.nodes[node.id] = item
                self._refresh_node(item, node, analysis)
                self.addItem(item)   # added whole (texts, ports, position): one insertion into the index
                self.stats["nodes_made"] += 1
            elif self._refresh_node(item, node, analysis):
                touched.add(node.id)
        old = {e.key: e for e in self.edges}
        self.edges = []
        labels: dict = {}
        for e in spec.edges:
            s, d = self.nodes.get(e.src), self.nodes.get(e.dst)
            if s is None or d is None:
                continue
            label, bad = self._edge_state(e, analysis, labels)
            item = old.pop((e.src, e.dst, e.dst_port), None)
            if item is not None and item.src is s and item.dst is d:
                if label != item.label or bad != item.bad or e.src in touched or e.dst in touched:
                    item.set_content(label, bad)
                    self.stats["edges_refreshed"] += 1
            else:
                if item is not None:
                    self.removeItem(item)
                item = EdgeItem(s, d, e.dst_port, label, bad)
                self.addItem(item)
                self.stats["edges_made"] += 1
            self.edges.append(item)
        for item in old.values():
            self.removeItem(item)
        self._edges_of = {}
        for item in self.edges:
            self._edges_of.setdefault(item.src.node_id, []).append(item)
            if item.dst is not item.src:
                self._edges_of.setdefault(item.dst.node_id, []).append(item)
        self._grow_rect(spec)

    def _grow_rect(self, spec: GraphSpec) -> None:
        """The scene rect covers every node with room around it (from the spec's positions: asking the
        scene for its items' bounding rect visits every item)."""
        r = QRectF(-2000, -2000, 4000, 4000)
        if spec.nodes:
            xs = [n.pos[0] for n in spec.nodes]
            ys = [n.pos[1] for n in spec.nodes]
            nodes = QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
            r = r.united(nodes.adjusted(-1500 - NODE_W, -1500 - NODE_H, 1500 + NODE_W, 1500 + NODE_H))
        self.setSceneRect(r)

    def _node_moved(self, item: NodeItem) -> None:
        for e in self._edges_of.get(item.node_id, ()):
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
        """Select exactly these nodes, with one ``selectionChanged`` for the lot (one per node made
        *Select all* on a 20 000-node graph quadratic: every signal listed the whole selection)."""
        ids = set(ids)
        before = set(self.selectedItems())
        blocked = self.blockSignals(True)
        try:
            self.clearSelection()
            for nid, item in self.nodes.items():
                if nid in ids:
                    item.setSelected(True)
        finally:
            self.blockSignals(blocked)
        if not blocked and set(self.selectedItems()) != before:
            self.selectionChanged.emit()

    def nodes_rect(self) -> QRectF:
        r = QRectF()
        for item in self.nodes.values():
            r = r.united(item.sceneBoundingRect())
        return r
