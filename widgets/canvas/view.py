"""``GraphView``: the interactive canvas.  It never edits the graph; it emits intents.

Intents (all handled by ``app.controllers.graph_controller``):

* ``node_drop_requested(type_id, scene_pos)`` — a palette item was dropped;
* ``connect_requested(src, dst, dst_port)`` — ``dst_port == -1`` means "next free
  port" of a merge layer;
* ``nodes_moved({node_id: (x, y)})`` — after a drag ends;
* ``delete_requested(node_ids, edges)`` — edges are ``(src, dst, dst_port)``;
* ``selection_changed(node_ids)``.
"""
from __future__ import annotations

import math

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QPointF,
    QRectF,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QTransform
from PySide6.QtWidgets import QGraphicsView

from widgets import theme
from widgets.canvas.items import EdgeItem, NodeItem, PendingEdge, PortItem
from widgets.canvas.scene import GraphScene
from widgets.palette import LAYER_MIME, type_id_from_mime

MIN_ZOOM = 0.1
MAX_ZOOM = 4.0

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
        self._pending: PendingEdge | None = None
        self._pending_port: PortItem | None = None
        self._panning: QPointF | None = None
        self.graph_scene.selectionChanged.connect(self._on_selection)

    # ------------------------------------------------------------------ model
    def set_graph(self, spec, analysis) -> None:
        self.graph_scene.set_graph(spec, analysis)
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
            event.setDropAction(Qt.CopyAction)
            event.accept()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event):
        pos = event.position() if hasattr(event, "position") else QPointF(event.pos())
        if self.handle_drop(event.mimeData(), self.mapToScene(pos.toPoint())):
            event.setDropAction(Qt.CopyAction)
            event.accept()
        else:
            super().dropEvent(event)

    def handle_drop(self, mime, scene_pos: QPointF) -> bool:
        """Emit ``node_drop_requested`` for a palette drop; returns whether it was ours."""
        tid = type_id_from_mime(mime)
        if tid is None:
            return False
        self.node_drop_requested.emit(tid, QPointF(scene_pos))
        return True

    # ------------------------------------------------------------------ mouse
    def _port_at(self, view_pos) -> PortItem | None:
        for it in self.items(view_pos):
            if isinstance(it, PortItem):
                return it
        return None

    def _port_near(self, scene_pos: QPointF, kind: str) -> PortItem | None:
        """The port of ``kind`` under the cursor, or the nearest one on a node under it."""
        r = 14.0
        best, best_d = None, 1e18
        for it in self.graph_scene.items(QRectF(scene_pos.x() - r, scene_pos.y() - r, 2 * r, 2 * r)):
            if isinstance(it, PortItem) and it.kind == kind:
                d = (it.scenePos() - scene_pos).manhattanLength()
                if d < best_d:
                    best, best_d = it, d
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
        if not self.graph_scene.nodes:
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
            f.setPointSizeF(11 if kind == "hint" else 9.5)
            painter.setFont(f)
            if kind == "hint":
                painter.setPen(theme.muted_text(self.palette()))
                painter.drawText(vp.adjusted(20, 20, -20, -20), Qt.AlignCenter | Qt.TextWordWrap, text)
            else:
                fm = painter.fontMetrics()
                w = min(vp.width() - 20, fm.horizontalAdvance(text) + 24)
                h = fm.height() * (1 + fm.horizontalAdvance(text) // max(1, w - 24)) + 12
                box = QRectF(vp.center().x() - w / 2, vp.bottom() - h - 10, w, h)
                c = QColor(theme.ERROR)
                c.setAlpha(235)
                painter.setPen(Qt.NoPen)
                painter.setBrush(c)
                painter.drawRoundedRect(box, 6, 6)
                painter.setPen(QColor("white"))
                painter.drawText(box.adjusted(12, 6, -12, -6), Qt.AlignCenter | Qt.TextWordWrap, text)
        painter.restore()
