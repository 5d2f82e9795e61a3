"""``GraphView``: the interactive canvas.  It never edits the graph; it emits intents.

Intents (all handled by ``app.controllers.graph_controller``):

* ``node_drop_requested(type_id, scene_pos)`` — a palette item was dropped;
* ``connect_requested(src, dst, dst_port)`` — ``dst_port == -1`` means "next free
  port" of a merge layer;
* ``nodes_moved({node_id: (x, y)})`` — after a drag ends;
* ``delete_requested(node_ids, edges)`` — edges are ``(src, dst, dst_port)``;
* ``selection_changed(node_ids)``;
* ``insert_requested(type_id, edge, scene_pos)`` — a palette layer dropped on an edge (or
  *Insert layer here* in the edge's context menu): put it into that connection;
* from the context menus (:meth:`GraphView.context_menu`): ``paste_requested(scene_pos)``,
  ``copy_requested(node_ids)``, ``duplicate_requested(node_ids)``, ``disconnect_requested(node_ids)``,
  ``properties_requested(node_id)``, ``auto_layout_requested()``.  *Select all* and *Zoom to fit*
  only change the view, so the view does them itself.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QTransform
from PySide6.QtWidgets import QApplication, QGraphicsView, QMenu

from engine.registry import RegistryError, get_layer_class
from widgets import theme
from widgets.canvas.items import EdgeItem, NodeItem, PendingEdge, PortItem
from widgets.canvas.scene import GraphScene
from widgets.palette import LAYER_MIME, layer_menu, type_id_from_mime

MIN_ZOOM = 0.1
MAX_ZOOM = 4.0
# adding at least this many layers at once (opening a large project) shows "Drawing N layers…" first
BUSY_NODES = 2000

EMPTY_HINT = QT_TRANSLATE_NOOP("GraphView",
                               "Drag a layer from the palette on the left (or double-click it) to start.\n"
                               "Start with an Input layer, then connect layers by dragging from the bottom\n"
                               "port of one layer to the top port of the next. Templates are in the Templates menu.")


class GraphView(QGraphicsView):
    node_drop_requested = Signal(str, QPointF)
    connect_requested = Signal(str, str, int)
    nodes_moved = Signal(dict)
    delete_requested = Signal(list, list)
    selection_changed = Signal(list)
    zoom_changed = Signal(float)
    insert_requested = Signal(str, object, QPointF)   # type id, (src, dst, dst_port), scene position
    paste_requested = Signal(QPointF)
    copy_requested = Signal(list)
    duplicate_requested = Signal(list)
    disconnect_requested = Signal(list)
    properties_requested = Signal(str)
    auto_layout_requested = Signal()

    def __init__(self, scene: GraphScene | None = None, parent=None):
        super().__init__(parent)
        self.graph_scene = scene or GraphScene(self)
        self.setScene(self.graph_scene)
        self.setAcceptDrops(True)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.banner = ""
        # shown over the canvas while a large graph's items are made (see :meth:`set_graph`)
        self.busy_text = ""
        self._pending: PendingEdge | None = None
        self._pending_port: PortItem | None = None
        self._panning: QPointF | None = None
        self._drop_edge: EdgeItem | None = None
        # whether *Paste here* is offered enabled (the window sets it to "the clipboard holds layers")
        self.can_paste = lambda: True
        self.graph_scene.selectionChanged.connect(self._on_selection)

    # ------------------------------------------------------------------ model
    def set_graph(self, spec, analysis) -> None:
        """Show ``spec``.  Drawing thousands of new layers takes a moment (a 20 000-layer project: about
        a second): the canvas says so and shows a busy cursor first, as the event loop waits meanwhile."""
        sc = self.graph_scene
        busy = len(spec.nodes) - len(sc.nodes) >= BUSY_NODES
        if busy:
            QApplication.setOverrideCursor(Qt.WaitCursor)
            self.busy_text = self.tr("Drawing {n} layers…").format(n=f"{len(spec.nodes):,}")
            self.viewport().repaint()   # now: nothing else is painted until the items are made
        try:
            sc.set_graph(spec, analysis)
        finally:
            if busy:
                self.busy_text = ""
                QApplication.restoreOverrideCursor()
        self.viewport().update()

    def set_banner(self, text: str) -> None:
        if text != self.banner:
            self.banner = text
            self.viewport().update()

    def _on_selection(self) -> None:
        try:
            self.selection_changed.emit(self.graph_scene.selected_node_ids())
        except RuntimeError:  # scene being destroyed
            pass

    # ------------------------------------------------------------------ drag & drop from the palette
    def dragEnterEvent(self, event):
        if event.mimeData().hasFormat(LAYER_MIME):
            event.setDropAction(Qt.CopyAction)
            event.accept()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):
        if event.mimeData().hasFormat(LAYER_MIME):
            pos = event.position() if hasattr(event, "position") else QPointF(event.pos())
            self._set_drop_edge(self.insert_target(type_id_from_mime(event.mimeData()),
                                                   self.mapToScene(pos.toPoint())))
            event.setDropAction(Qt.CopyAction)
            event.accept()
        else:
            super().dragMoveEvent(event)

    def dragLeaveEvent(self, event):
        self._set_drop_edge(None)
        super().dragLeaveEvent(event)

    def dropEvent(self, event):
        pos = event.position() if hasattr(event, "position") else QPointF(event.pos())
        if self.handle_drop(event.mimeData(), self.mapToScene(pos.toPoint())):
            event.setDropAction(Qt.CopyAction)
            event.accept()
        else:
            super().dropEvent(event)

    def _set_drop_edge(self, edge: EdgeItem | None) -> None:
        if edge is not self._drop_edge:
            if self._drop_edge is not None and self._drop_edge.scene() is not None:
                self._drop_edge.set_highlighted(False)
            self._drop_edge = edge
            if edge is not None:
                edge.set_highlighted(True)

    def edge_at(self, scene_pos: QPointF) -> EdgeItem | None:
        """The edge under ``scene_pos``, unless a node (or port) lies on top of it there."""
        for it in self.graph_scene.items(scene_pos):
            if isinstance(it, NodeItem):   # (its ports are part of it)
                return None
            if isinstance(it, EdgeItem):
                return it
        return None

    def insert_target(self, type_id: str | None, scene_pos: QPointF) -> EdgeItem | None:
        """The edge a layer of ``type_id`` dropped at ``scene_pos`` would be inserted into (None: plain add)."""
        if not type_id:
            return None
        try:
            if get_layer_class(type_id).n_inputs == 0:  # an Input layer takes no input
                return None
        except RegistryError:
            return None
        return self.edge_at(scene_pos)

    def handle_drop(self, mime, scene_pos: QPointF) -> bool:
        """A palette drop: ``insert_requested`` onto an edge, else ``node_drop_requested``; whether it was ours."""
        self._set_drop_edge(None)
        tid = type_id_from_mime(mime)
        if tid is None:
            return False
        edge = self.insert_target(tid, scene_pos)
        if edge is not None:
            self.insert_requested.emit(tid, edge.key, QPointF(scene_pos))
        else:
            self.node_drop_requested.emit(tid, QPointF(scene_pos))
        return True

    # ------------------------------------------------------------------ context menus
    def contextMenuEvent(self, event):
        menu = self.context_menu(event.pos())
        menu.exec(event.globalPos())
        menu.deleteLater()
        event.accept()

    def context_menu(self, view_pos) -> QMenu:
        """The right-click menu at ``view_pos`` (viewport coordinates) for the node, edge or empty canvas there.

        Right-clicking an item that is not selected selects it alone first (as file managers do);
        the node actions apply to the whole selection.
        """
        view_pos = view_pos.toPoint() if isinstance(view_pos, QPointF) else view_pos
        scene_pos = self.mapToScene(view_pos)
        hit = None
        for it in self.items(view_pos):
            if isinstance(it, (NodeItem, EdgeItem)):   # a node's ports are part of it
                hit = it
                break
        if hit is not None and not hit.isSelected():
            self.graph_scene.clearSelection()
            hit.setSelected(True)
        menu = QMenu(self)
        if isinstance(hit, NodeItem):
            self._node_menu(menu, hit)
        elif isinstance(hit, EdgeItem):
            self._edge_menu(menu, hit, scene_pos)
        else:
            self._canvas_menu(menu, scene_pos)
        return menu

    @staticmethod
    def _add(menu: QMenu, name: str, text: str, slot, enabled: bool = True):
        a = menu.addAction(text)
        a.setObjectName(name)
        a.setEnabled(enabled)
        a.triggered.connect(slot)
        return a

    def _canvas_menu(self, menu: QMenu, scene_pos: QPointF) -> None:
        add = layer_menu(self.tr("Add layer here"), menu,
                         lambda tid: self.node_drop_requested.emit(tid, QPointF(scene_pos)))
        add.menuAction().setObjectName("ctx_add_layer")
        menu.addMenu(add)
        self._add(menu, "ctx_paste_here", self.tr("Paste here"), lambda: self.paste_requested.emit(QPointF(scene_pos)),
                  bool(self.can_paste()))
        menu.addSeparator()
        has_nodes = bool(self.graph_scene.nodes)
        self._add(menu, "ctx_select_all", self.tr("Select all"), lambda: self.select_all(), has_nodes)
        self._add(menu, "ctx_auto_layout", self.tr("Auto-layout"), lambda: self.auto_layout_requested.emit(), has_nodes)
        self._add(menu, "ctx_zoom_fit", self.tr("Zoom to fit"), lambda: self.zoom_to_fit(), has_nodes)

    def _node_menu(self, menu: QMenu, node: NodeItem) -> None:
        ids = self.graph_scene.selected_node_ids() or [node.node_id]
        n = len(ids)
        connected = any(e.src.node_id in ids or e.dst.node_id in ids for e in self.graph_scene.edges)
        self._add(menu, "ctx_properties", self.tr("Properties"), lambda: self.properties_requested.emit(node.node_id))
        menu.addSeparator()
        self._add(menu, "ctx_copy", self.tr("Copy") if n == 1 else self.tr("Copy {n} layers").format(n=n),
                  lambda: self.copy_requested.emit(list(ids)))
        self._add(menu, "ctx_duplicate", self.tr("Duplicate") if n == 1 else self.tr("Duplicate {n} layers").format(n=n),
                  lambda: self.duplicate_requested.emit(list(ids)))
        self._add(menu, "ctx_disconnect", self.tr("Disconnect"), lambda: self.disconnect_requested.emit(list(ids)),
                  connected)
        menu.addSeparator()
        self._add(menu, "ctx_delete", self.tr("Delete") if n == 1 else self.tr("Delete {n} layers").format(n=n),
                  lambda: self.delete_requested.emit(list(ids), []))

    def _edge_menu(self, menu: QMenu, edge: EdgeItem, scene_pos: QPointF) -> None:
        key = edge.key
        ins = layer_menu(self.tr("Insert layer here"), menu,
                         lambda tid: self.insert_requested.emit(tid, key, QPointF(scene_pos)), inputs=False)
        ins.menuAction().setObjectName("ctx_insert_layer")
        menu.addMenu(ins)
        menu.addSeparator()
        self._add(menu, "ctx_delete_edge", self.tr("Delete connection"), lambda: self.delete_requested.emit([], [key]))

    def select_all(self) -> None:
        self.graph_scene.select_nodes(self.graph_scene.nodes)

    # ------------------------------------------------------------------ mouse
    def _port_at(self, view_pos) -> PortItem | None:
        """The port under ``view_pos`` (viewport coordinates) on the topmost node there, or None."""
        scene_pos = self.mapToScene(view_pos)
        for it in self.items(view_pos):
            if isinstance(it, NodeItem):
                return it.port_at(it.mapFromScene(scene_pos))
        return None

    def _port_near(self, scene_pos: QPointF, kind: str) -> PortItem | None:
        """The port of ``kind`` under the cursor, or the nearest one on a node under it."""
        r = 14.0
        best, best_d = None, 1e18
        for it in self.graph_scene.items(QRectF(scene_pos.x() - r, scene_pos.y() - r, 2 * r, 2 * r)):
            if not isinstance(it, NodeItem):
                continue
            ports = it.in_ports if kind == "in" else [it.out_port]
            for p in ports:
                if p is None or not it.mapRectToScene(p.rect()).adjusted(-r, -r, r, r).contains(scene_pos):
                    continue
                d = (p.scenePos() - scene_pos).manhattanLength()
                if d < best_d:
                    best, best_d = p, d
        if best is None:
            for it in self.graph_scene.items(scene_pos):
                if isinstance(it, NodeItem):
                    ports = it.in_ports if kind == "in" else [it.out_port]
                    ports = [p for p in ports if p is not None]
                    if ports:
                        best = min(ports, key=lambda p: (p.scenePos() - scene_pos).manhattanLength())
                    break
        return best

    def mousePressEvent(self, event):
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton
                                                 and event.modifiers() & Qt.AltModifier):
            self._panning = event.position()
            self.setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        if event.button() == Qt.LeftButton:
            port = self._port_at(event.position().toPoint())
            if port is not None:
                self._pending_port = port
                self._pending = PendingEdge(port.scenePos(), downward=(port.kind == "out"))
                self.graph_scene.addItem(self._pending)
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        if self._panning is not None:
            d = event.position() - self._panning
            self._panning = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(d.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(d.y()))
            event.accept()
            return
        if self._pending is not None:
            self._pending.set_end(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):
        if self._panning is not None:
            self._panning = None
            self.unsetCursor()
            event.accept()
            return
        if self._pending is not None:
            start = self._pending_port
            self.graph_scene.removeItem(self._pending)
            self._pending, self._pending_port = None, None
            target = self._port_near(self.mapToScene(event.position().toPoint()),
                                     "in" if start.kind == "out" else "out")
            if target is not None and target.node is not start.node:
                self.request_connect(start, target)
            event.accept()
            return
        super().mouseReleaseEvent(event)
        moved = self.graph_scene.moved_positions()
        if moved:
            self.nodes_moved.emit(moved)

    def request_connect(self, a: PortItem, b: PortItem) -> None:
        out, inp = (a, b) if a.kind == "out" else (b, a)
        self.connect_requested.emit(out.node_id, inp.node_id, -1 if inp.multi else inp.index)

    def keyPressEvent(self, event):
        if event.key() in (Qt.Key_Delete, Qt.Key_Backspace):
            self.request_delete()
            event.accept()
            return
        super().keyPressEvent(event)

    def request_delete(self) -> None:
        nodes = self.graph_scene.selected_node_ids()
        edges = self.graph_scene.selected_edges()
        if nodes or edges:
            self.delete_requested.emit(nodes, edges)

    # ------------------------------------------------------------------ zoom / pan
    def zoom(self) -> float:
        return self.transform().m11()

    def set_view_transform(self, t: QTransform) -> bool:
        """Apply ``t`` unless it is non-finite or out of the zoom range; returns success."""
        vals = [t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy()]
        if not all(math.isfinite(v) for v in vals):
            return False
        s = t.m11()
        if not (MIN_ZOOM * 0.999 <= s <= MAX_ZOOM * 1.001) or abs(t.m22() - s) > 1e-6:
            return False
        self.setTransform(t)
        self.zoom_changed.emit(s)
        return True

    def zoom_by(self, factor: float) -> None:
        if not math.isfinite(factor) or factor <= 0:
            return
        s = self.zoom()
        target = min(MAX_ZOOM, max(MIN_ZOOM, s * factor))
        if target == s:
            return
        t = QTransform(self.transform())
        t.scale(target / s, target / s)
        self.set_view_transform(t)

    def wheelEvent(self, event):
        dy = event.angleDelta().y()
        if dy == 0:
            return super().wheelEvent(event)
        self.zoom_by(1.0015 ** dy)
        event.accept()

    def reset_view(self) -> None:
        self.set_view_transform(QTransform())
        r = self.graph_scene.nodes_rect()
        self.centerOn(r.center() if not r.isNull() else QPointF(0, 0))

    def zoom_to_fit(self) -> None:
        r = self.graph_scene.nodes_rect()
        if r.isNull() or r.isEmpty():
            self.reset_view()
            return
        r = r.adjusted(-40, -40, 40, 40 + (70 if self.banner else 0))
        vp = self.viewport().rect()
        if vp.width() < 10 or vp.height() < 10:
            return
        s = min(vp.width() / r.width(), vp.height() / r.height(), 1.25)
        s = min(MAX_ZOOM, max(MIN_ZOOM, s))
        self.set_view_transform(QTransform.fromScale(s, s))
        self.centerOn(r.center())

    def view_centre(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    # ------------------------------------------------------------------ painting
    def drawBackground(self, painter: QPainter, rect: QRectF):
        painter.fillRect(rect, theme.canvas_background(self.palette()))
        if self.zoom() < 0.3:
            return
        step = 25.0
        painter.setPen(QPen(theme.grid_colour(self.palette()), 0))
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        lines = []
        x = left
        while x < rect.right():
            lines.append((QPointF(x, rect.top()), QPointF(x, rect.bottom())))
            x += step
        y = top
        while y < rect.bottom():
            lines.append((QPointF(rect.left(), y), QPointF(rect.right(), y)))
            y += step
        for a, b in lines:
            painter.drawLine(a, b)

    def drawForeground(self, painter: QPainter, rect: QRectF):
        texts = []
        if self.busy_text:
            texts.append(("busy", self.busy_text))
        elif not self.graph_scene.nodes:
            texts.append(("hint", QCoreApplication.translate("GraphView", EMPTY_HINT)))
        elif self.banner:
            texts.append(("banner", self.banner))
        if not texts:
            return
        painter.save()
        painter.resetTransform()
        vp = self.viewport().rect()
        for kind, text in texts:
            f = QFont(self.font())
            f.setPointSizeF(11 if kind in ("hint", "busy") else 9.5)
            painter.setFont(f)
            if kind == "busy":
                fm = painter.fontMetrics()
                w, h = fm.horizontalAdvance(text) + 40, fm.height() + 24
                box = QRectF(vp.center().x() - w / 2, vp.center().y() - h / 2, w, h)
                painter.setPen(QPen(theme.SELECTION, 1.5))
                painter.setBrush(theme.node_body())
                painter.drawRoundedRect(box, 8, 8)
                painter.setPen(theme.node_text())
                painter.drawText(box, Qt.AlignCenter, text)
            elif kind == "hint":
                painter.setPen(theme.muted_text(self.palette()))
                painter.drawText(vp.adjusted(20, 20, -20, -20), Qt.AlignCenter | Qt.TextWordWrap, text)
            else:
                fm = painter.fontMetrics()
                w = min(vp.width() - 20, fm.horizontalAdvance(text) + 24)
                # the wrapped text's real height (word wrap breaks before the width runs out), at most a
                # third of the view
                flags = int(Qt.AlignCenter | Qt.TextWordWrap)
                h = min(fm.boundingRect(QRect(0, 0, int(w) - 24, 100000), flags, text).height(),
                        max(fm.height(), vp.height() // 3)) + 12
                box = QRectF(vp.center().x() - w / 2, vp.bottom() - h - 10, w, h)
                c = QColor(theme.ERROR)
                c.setAlpha(235)
                painter.setPen(Qt.NoPen)
                painter.setBrush(c)
                painter.drawRoundedRect(box, 6, 6)
                painter.setPen(QColor("white"))
                painter.save()
                painter.setClipRect(box)
                painter.drawText(box.adjusted(12, 6, -12, -6), Qt.AlignCenter | Qt.TextWordWrap, text)
                painter.restore()
        painter.restore()
