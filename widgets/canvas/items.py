"""Graphics items of the canvas: nodes, ports and edges.

Items only *display* the graph; they never edit the spec.  Positions are in
scene coordinates; a node's ``pos`` is the centre of its box (``NodeSpec.pos``).
"""
from __future__ import annotations

import html

from PySide6.QtCore import QCoreApplication, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsPathItem, QStyle, QStyleOptionGraphicsItem

from widgets import theme

NODE_W = 200.0
NODE_H = 72.0
HEADER_H = 24.0
PORT_R = 6.0
# below this zoom (level of detail) nodes are drawn as plain boxes, ports and labels are left out:
# the text would be unreadable, and a zoomed-out 20 000-node graph paints quickly
SIMPLE_LOD = 0.4


def level_of_detail(painter: QPainter) -> float:
    return QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())


_LABEL_FONT: QFont | None = None
_LABEL_METRICS: QFontMetricsF | None = None


def _label_width(text: str) -> float:
    global _LABEL_FONT, _LABEL_METRICS
    if _LABEL_METRICS is None:
        _LABEL_FONT = QFont()
        _LABEL_FONT.setPointSizeF(8.5)
        _LABEL_METRICS = QFontMetricsF(_LABEL_FONT)
    return _LABEL_METRICS.horizontalAdvance(text)


def short_error(message: str) -> str:
    """Drop the leading "Dense 'n3' " that names the node: the node box already says who it is."""
    import re
    m = re.match(r"^\w+ '[^']*'[:]? ", message)
    return message[m.end():] if m else message


_PORT_TIPS: dict = {}


def _port_tip(kind: str, index: int, multi: bool) -> str:
    """A port's tooltip (the language is fixed for the process's life, so each text is made once)."""
    key = (kind, index if kind == "in" and not multi else 0, multi)
    tip = _PORT_TIPS.get(key)
    if tip is None:
        if kind == "in":
            if multi:
                tip = QCoreApplication.translate("PortItem", "Input (accepts several connections): drag from an "
                                                 "output port onto it")
            else:
                tip = QCoreApplication.translate("PortItem", "Input {n}: drag from an output port onto it").format(
                    n=index + 1)
        else:
            tip = QCoreApplication.translate("PortItem", "Output: drag onto another layer's input port to "
                                             "connect")
        _PORT_TIPS[key] = tip
    return tip


class PortItem(QGraphicsItem):
    """An input (top edge) or output (bottom edge) connector of a node.

    ``multi`` input ports (merge layers) accept any number of edges.
    """

    def __init__(self, node: "NodeItem", kind: str, index: int = 0, multi: bool = False):
        super().__init__(node)
        self.node = node
        self.kind = kind  # "in" | "out"
        self.index = index
        self.multi = multi
        self.hovered = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CrossCursor)
        self.setZValue(2)
        self.setToolTip(_port_tip(kind, index, multi))

    @property
    def node_id(self) -> str:
        return self.node.node_id

    def boundingRect(self) -> QRectF:
        r = PORT_R + 4
        w = r * 3 if self.multi else r
        return QRectF(-w, -r, 2 * w, 2 * r)

    def shape(self):
        p = QPainterPath()
        p.addRect(self.boundingRect())
        return p

    def paint(self, painter: QPainter, option, widget=None):
        if level_of_detail(painter) < SIMPLE_LOD:
            return
        painter.setRenderHint(QPainter.Antialiasing)
        col = theme.category_colour(self.node.category)
        fill = theme.node_body() if not self.hovered else theme.SELECTION
        painter.setPen(QPen(col, 2.0))
        painter.setBrush(fill)
        if self.multi:
            painter.drawRoundedRect(QRectF(-PORT_R * 3, -PORT_R, PORT_R * 6, PORT_R * 2), PORT_R, PORT_R)
        else:
            painter.drawEllipse(QPointF(0, 0), PORT_R, PORT_R)

    def hoverEnterEvent(self, event):
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event):
        self.hovered = False
        self.update()

    def anchor(self) -> QPointF:
        return self.scenePos()


_POSITION_CHANGED = QGraphicsItem.ItemPositionHasChanged
_NODE_FLAGS = QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable | QGraphicsItem.ItemSendsGeometryChanges


class NodeItem(QGraphicsObject):
    """A layer box: coloured header with the type, key settings and output shape below."""

    def __init__(self, node_id: str):
        super().__init__()
        self.node_id = node_id
        self.type_id = ""
        self.title = ""
        self.subtitle = ""
        self.summary = ""
        self.shape_text = ""
        self.category = "Core"
        self.error: str | None = None
        self.spec_pos = QPointF(0, 0)
        self.in_ports: list[PortItem] = []
        self.out_port: PortItem | None = None
        self._n_inputs: int | None = -1
        self._content: tuple | None = None
        # what the scene last built this item's texts from (its NodeSpec, shape, error)
        self.shown_for: tuple | None = None
        self.on_moved = None  # callback(NodeItem) set by the scene
        self.setFlags(_NODE_FLAGS)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.setZValue(1)

    # ------------------------------------------------------------------ content
    def set_content(self, *, type_id: str, title: str, subtitle: str, summary: str, shape_text: str,
                    category: str, n_inputs: int | None, error: str | None, description: str = "") -> None:
        content = (type_id, title, subtitle, summary, shape_text, category, n_inputs, error, description)
        if content == self._content:
            return   # nothing to repaint (an edit elsewhere in a large graph)
        self._content = content
        self.type_id, self.title, self.subtitle = type_id, title, subtitle
        self.summary, self.shape_text, self.category, self.error = summary, shape_text, category, error
        if n_inputs != self._n_inputs:
            self._make_ports(n_inputs)
        tip = f"<b>{html.escape(title)}</b> ({html.escape(subtitle)})"
        if description:
            tip += f"<br>{html.escape(description)}"
        if shape_text:
            tip += "<br>" + html.escape(shape_text)
        if error:
            problem = QCoreApplication.translate("NodeItem", "Problem:")
            tip = f"<span style='color:#d93a3a'><b>{html.escape(problem)}</b> {html.escape(error)}</span><br>" + tip
        self.setToolTip(tip)
        self.update()

    def _make_ports(self, n_inputs: int | None) -> None:
        scene = self.scene()
        for p in self.in_ports + ([self.out_port] if self.out_port else []):
            if scene is not None:
                scene.removeItem(p)
            p.setParentItem(None)
        self._n_inputs = n_inputs
        self.in_ports = []
        if n_inputs is None:
            p = PortItem(self, "in", 0, multi=True)
            p.setPos(0, -NODE_H / 2)
            self.in_ports.append(p)
        else:
            for i in range(n_inputs):
                p = PortItem(self, "in", i)
                p.setPos(NODE_W * (i + 1) / (n_inputs + 1) - NODE_W / 2, -NODE_H / 2)
                self.in_ports.append(p)
        self.out_port = PortItem(self, "out", 0)
        self.out_port.setPos(0, NODE_H / 2)

    def in_port(self, index: int) -> PortItem | None:
        if not self.in_ports:
            return None
        if self._n_inputs is None:
            return self.in_ports[0]
        return self.in_ports[index] if 0 <= index < len(self.in_ports) else None

    # ------------------------------------------------------------------ painting
    def boundingRect(self) -> QRectF:
        return QRectF(-NODE_W / 2 - 14, -NODE_H / 2 - 14, NODE_W + 28, NODE_H + 28)

    def shape(self):
        p = QPainterPath()
        p.addRoundedRect(self._box(), 8, 8)
        return p

    @staticmethod
    def _box() -> QRectF:
        return QRectF(-NODE_W / 2, -NODE_H / 2, NODE_W, NODE_H)

    def paint(self, painter: QPainter, option, widget=None):
        box = self._box()
        col = theme.category_colour(self.category)
        selected = bool(option.state & QStyle.State_Selected)
        if level_of_detail(painter) < SIMPLE_LOD:
            # zoomed far out: the box in its colours, the outline red for a problem, no text
            painter.setPen(QPen(theme.ERROR if self.error else (theme.SELECTION if selected else col.darker(115)),
                                6.0 if (self.error or selected) else 2.0))
            painter.setBrush(theme.node_body())
            painter.drawRect(box)
            painter.fillRect(QRectF(box.left(), box.top(), box.width(), HEADER_H), col)
            return
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.TextAntialiasing)
        # shadow
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(0, 0, 0, 40))
        painter.drawRoundedRect(box.translated(0, 3), 8, 8)
        # body
        painter.setBrush(theme.node_body())
        if self.error:
            pen = QPen(theme.ERROR, 2.5)
        elif selected:
            pen = QPen(theme.SELECTION, 3.0)
        else:
            pen = QPen(col.darker(115), 1.2)
        painter.setPen(pen)
        painter.drawRoundedRect(box, 8, 8)
        # header: the top of the rounded box, clipped, in the category colour
        hr = QRectF(box.left(), box.top(), box.width(), HEADER_H)
        painter.save()
        painter.setClipRect(hr)
        painter.setPen(Qt.NoPen)
        painter.setBrush(col)
        painter.drawRoundedRect(box, 8, 8)
        painter.restore()
        if selected or self.error:
            painter.setBrush(Qt.NoBrush)
            painter.setPen(pen)
            painter.drawRoundedRect(box, 8, 8)
        # header text
        f = QFont(painter.font())
        f.setPointSizeF(10.0)
        f.setBold(True)
        painter.setFont(f)
        painter.setPen(QColor("white"))
        tr = hr.adjusted(10, 0, -10, 0)
        painter.drawText(tr, Qt.AlignVCenter | Qt.AlignLeft, self.title)
        fs = QFont(f)
        fs.setBold(False)
        fs.setPointSizeF(8.5)
        painter.setFont(fs)
        fm = QFontMetricsF(fs)
        sub = fm.elidedText(self.subtitle, Qt.ElideRight, tr.width() * 0.45)
        painter.setPen(QColor(255, 255, 255, 210))
        painter.drawText(tr.adjusted(0, 0, -14 if self.error else 0, 0), Qt.AlignVCenter | Qt.AlignRight, sub)
        # body text
        body = QRectF(box.left() + 10, box.top() + HEADER_H + 2, box.width() - 20, box.height() - HEADER_H - 12)
        fb = QFont(painter.font())
        fb.setPointSizeF(9.5)
        fb.setBold(False)
        painter.setFont(fb)
        painter.setPen(theme.node_text())
        fmb = QFontMetricsF(fb)
        line1 = fmb.elidedText(self.summary or "—", Qt.ElideRight, body.width())
        painter.drawText(QRectF(body.left(), body.top(), body.width(), body.height() / 2),
                         Qt.AlignVCenter | Qt.AlignLeft, line1)
        painter.setPen(theme.ERROR if self.error else theme.muted_text())
        line2 = self.shape_text if not self.error else "⚠ " + short_error(self.error)
        line2 = fmb.elidedText(line2, Qt.ElideRight, body.width())
        painter.drawText(QRectF(body.left(), body.top() + body.height() / 2, body.width(), body.height() / 2),
                         Qt.AlignVCenter | Qt.AlignLeft, line2)
        if self.error:
            c = QPointF(box.right() - 2, box.top() + 2)
            painter.setPen(QPen(QColor("white"), 1.5))
            painter.setBrush(theme.ERROR)
            painter.drawEllipse(c, 10, 10)
            fe = QFont(f)
            fe.setPointSizeF(10)
            painter.setFont(fe)
            painter.drawText(QRectF(c.x() - 10, c.y() - 10, 20, 20), Qt.AlignCenter, "!")

    def itemChange(self, change, value):
        # called for every property change of every node (flags, cursor, z, children, ...):
        # kept to a comparison with a module constant; the base implementation returns ``value``
        if change == _POSITION_CHANGED and self.on_moved is not None:
            self.on_moved(self)
        return value


class EdgeItem(QGraphicsPathItem):
    """A connection drawn as a vertical S-curve, labelled with the tensor shape it carries."""

    def __init__(self, src: NodeItem, dst: NodeItem, dst_port: int, label: str = "", bad: bool = False):
        super().__init__()
        self.src, self.dst, self.dst_port = src, dst, dst_port
        self.label = label
        self.bad = bad
        #: a palette layer is dragged over this edge: dropping it inserts the layer here
        self.highlighted = False
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self.setZValue(0)
        self.setAcceptHoverEvents(True)
        self._label_rect = QRectF()
        self._ends: tuple | None = None
        self.update_path()

    def set_content(self, label: str, bad: bool) -> None:
        """New label / state (the same item kept across edits); the path follows moved or re-made ports."""
        if label != self.label or bad != self.bad:
            self.label, self.bad = label, bad
            self.update_path()
            self.update()
        elif self.endpoints() != self._ends:
            self.update_path()

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.src.node_id, self.dst.node_id, self.dst_port)

    def endpoints(self) -> tuple[QPointF, QPointF]:
        a = self.src.out_port.anchor() if self.src.out_port else self.src.scenePos()
        port = self.dst.in_port(self.dst_port)
        b = port.anchor() if port else self.dst.scenePos()
        return a, b

    def update_path(self) -> None:
        self.prepareGeometryChange()
        a, b = self.endpoints()
        self._ends = (a, b)
        p = QPainterPath(a)
        dy = max(40.0, abs(b.y() - a.y()) * 0.5)
        p.cubicTo(QPointF(a.x(), a.y() + dy), QPointF(b.x(), b.y() - dy), b)
        self.setPath(p)
        mid = p.pointAtPercent(0.5)
        w = _label_width(self.label) + 12
        self._label_rect = QRectF(mid.x() - w / 2, mid.y() - 9, w, 18) if self.label else QRectF()

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-7, -7, 7, 7).united(self._label_rect)

    def shape(self):
        from PySide6.QtGui import QPainterPathStroker
        s = QPainterPathStroker()
        s.setWidth(10)
        path = s.createStroke(self.path())
        if not self._label_rect.isNull():
            path.addRect(self._label_rect)
        return path

    def set_highlighted(self, on: bool) -> None:
        if on != self.highlighted:
            self.highlighted = on
            self.update()

    def paint(self, painter: QPainter, option, widget=None):
        selected = self.isSelected()
        col = theme.SELECTION if selected or self.highlighted else (theme.ERROR if self.bad else theme.EDGE)
        if level_of_detail(painter) < SIMPLE_LOD and not self.highlighted:
            painter.setPen(QPen(col, 4.0 if (selected or self.bad) else 2.0))
            painter.setBrush(Qt.NoBrush)
            painter.drawPath(self.path())
            return
        painter.setRenderHint(QPainter.Antialiasing)
        if self.highlighted:  # a wide translucent band under the line: "drop here to insert"
            band = QColor(theme.SELECTION)
            band.setAlpha(90)
            painter.setPen(QPen(band, 12.0, Qt.SolidLine, Qt.RoundCap))
            painter.drawPath(self.path())
        width = 4.0 if self.highlighted else (3.0 if selected else 2.0)
        painter.setPen(QPen(col, width, Qt.SolidLine, Qt.RoundCap))
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self.path())
        if self.label:
            f = QFont(painter.font())
            f.setPointSizeF(8.5)
            painter.setFont(f)
            painter.setPen(QPen(col, 2.0 if self.highlighted else 1.0))
            if self.highlighted:
                fill = QColor(theme.SELECTION)
                fill.setAlpha(110)
                painter.setBrush(theme.edge_label_background())
                painter.drawRoundedRect(self._label_rect, 9, 9)
                painter.setBrush(fill)
            else:
                painter.setBrush(theme.edge_label_background())
            painter.drawRoundedRect(self._label_rect, 9, 9)
            painter.setPen(theme.node_text())
            painter.drawText(self._label_rect, Qt.AlignCenter, self.label)


class PendingEdge(QGraphicsPathItem):
    """The rubber line shown while dragging a new connection."""

    def __init__(self, start: QPointF, downward: bool):
        super().__init__()
        self.start = start
        self.downward = downward
        pen = QPen(theme.SELECTION, 2.0, Qt.DashLine)
        self.setPen(pen)
        self.setZValue(5)
        self.set_end(start)

    def set_end(self, end: QPointF) -> None:
        a, b = (self.start, end) if self.downward else (end, self.start)
        p = QPainterPath(a)
        dy = max(30.0, abs(b.y() - a.y()) * 0.5)
        p.cubicTo(QPointF(a.x(), a.y() + dy), QPointF(b.x(), b.y() - dy), b)
        self.setPath(p)
