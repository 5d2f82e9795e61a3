"""Graphics items of the canvas: nodes, ports and edges.

Items only *display* the graph; they never edit the spec.  Positions are in
scene coordinates; a node's ``pos`` is the centre of its box (``NodeSpec.pos``).

A node is one graphics item that paints its own texts and ports (ports are plain objects the
view hit-tests), and an edge is one item whose path is made when it is first painted or
hit-tested: a 20 000-node graph is ~45 000 items whose construction does little in Python.
"""
from __future__ import annotations

import html

from PySide6.QtCore import QCoreApplication, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyle, QStyleOptionGraphicsItem

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
_LABEL_WIDTHS: dict[str, float] = {}   # edge labels repeat ("(None, 8)"): each width measured once


def _label_width(text: str) -> float:
    global _LABEL_FONT, _LABEL_METRICS
    w = _LABEL_WIDTHS.get(text)
    if w is None:
        if _LABEL_METRICS is None:
            _LABEL_FONT = QFont()
            _LABEL_FONT.setPointSizeF(8.5)
            _LABEL_METRICS = QFontMetricsF(_LABEL_FONT)
        w = _LABEL_WIDTHS[text] = _LABEL_METRICS.horizontalAdvance(text)
    return w


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


class PortItem:
    """An input (top edge) or output (bottom edge) connector of a node.

    Not a graphics item of its own: the node paints its ports and the view finds them with
    :meth:`NodeItem.port_at` (three items per node made a 20 000-node graph 60 000 items).
    ``multi`` input ports (merge layers) accept any number of edges.
    """

    __slots__ = ("node", "kind", "index", "multi", "x", "y")

    def __init__(self, node: "NodeItem", kind: str, index: int = 0, multi: bool = False,
                 x: float = 0.0, y: float = 0.0):
        self.node = node
        self.kind = kind  # "in" | "out"
        self.index = index
        self.multi = multi
        self.x, self.y = x, y   # the centre, in the node's coordinates

    @property
    def node_id(self) -> str:
        return self.node.node_id

    @property
    def hovered(self) -> bool:
        return self.node.hover_port is self

    def rect(self) -> QRectF:
        """What counts as the port (a little more than is drawn), in the node's coordinates."""
        r = PORT_R + 4
        w = r * 3 if self.multi else r
        return QRectF(self.x - w, self.y - r, 2 * w, 2 * r)

    def toolTip(self) -> str:
        return _port_tip(self.kind, self.index, self.multi)

    def scenePos(self) -> QPointF:
        p = self.node.pos()
        return QPointF(p.x() + self.x, p.y() + self.y)

    def anchor(self) -> QPointF:
        return self.scenePos()

    def paint(self, painter: QPainter, col: QColor) -> None:
        painter.setPen(QPen(col, 2.0))
        painter.setBrush(theme.SELECTION if self.hovered else theme.node_body())
        if self.multi:
            painter.drawRoundedRect(QRectF(self.x - PORT_R * 3, self.y - PORT_R, PORT_R * 6, PORT_R * 2),
                                    PORT_R, PORT_R)
        else:
            painter.drawEllipse(QPointF(self.x, self.y), PORT_R, PORT_R)


def in_port_x(n_inputs: int | None, index: int) -> float | None:
    """The x of input port ``index`` relative to its node's centre (None: the node has no such port)."""
    if n_inputs is None:
        return 0.0
    if 0 <= index < n_inputs:
        return NODE_W * (index + 1) / (n_inputs + 1) - NODE_W / 2
    return None


_POSITION_CHANGED = QGraphicsItem.ItemPositionHasChanged
_NODE_FLAGS = QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable | QGraphicsItem.ItemSendsGeometryChanges
_DEVICE_CACHE = QGraphicsItem.DeviceCoordinateCache
_NODE_BOUNDS = QRectF(-NODE_W / 2 - 14, -NODE_H / 2 - 14, NODE_W + 28, NODE_H + 28)
_NODE_SHAPES: dict = {}   # n_inputs -> the box with its ports (the same for every node of that kind)


class NodeItem(QGraphicsItem):
    """A layer box: coloured header with the type, key settings and output shape below, and its ports.

    Its tooltip is written when the pointer first rests on it (:meth:`toolTip` makes it on demand).
    """

    def __init__(self, node_id: str, pos: QPointF | None = None):
        super().__init__()
        self.node_id = node_id
        self.type_id = ""
        self.title = ""
        self.subtitle = ""
        self.summary = ""
        self.shape_text = ""
        self.category = "Core"
        self.error: str | None = None
        self.description = ""
        self.spec_pos = QPointF(0, 0) if pos is None else pos
        self._n_inputs: int | None = -1   # -1: no content yet, so no ports
        self._ports: tuple[list[PortItem], PortItem | None] | None = None
        self._content: tuple | None = None
        self._tip: str | None = None       # the node's tooltip, made on first hover
        self._shown_tip: str | None = None  # what setToolTip was last given
        self.hover_port: PortItem | None = None
        # what the scene last built this item's texts from (its NodeSpec, shape, error)
        self.shown_for: tuple | None = None
        self.on_moved = None  # callback(NodeItem) set by the scene
        if pos is not None:
            self.setPos(pos)   # before the flags: a position set now sends no change notification
        self.setFlags(_NODE_FLAGS)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(_DEVICE_CACHE)
        # z 0 (the default; setting it costs a change notification per node): above the edges' -1

    # ------------------------------------------------------------------ content
    def set_content(self, *, type_id: str, title: str, subtitle: str, summary: str, shape_text: str,
                    category: str, n_inputs: int | None, error: str | None, description: str = "") -> None:
        content = (type_id, title, subtitle, summary, shape_text, category, n_inputs, error, description)
        if content == self._content:
            return   # nothing to repaint (an edit elsewhere in a large graph)
        self._content = content
        self.type_id, self.title, self.subtitle = type_id, title, subtitle
        self.summary, self.shape_text, self.category, self.error = summary, shape_text, category, error
        self.description = description
        if n_inputs != self._n_inputs:
            self._n_inputs = n_inputs
            self._ports = None
            self.hover_port = None
            self.prepareGeometryChange()   # the shape has other ports
        self._tip = None
        if self._shown_tip is not None:   # already shown once: keep it current
            self._show_tip(self.hover_port.toolTip() if self.hover_port is not None else self.toolTip())
        self.update()

    def toolTip(self) -> str:
        """The node's tooltip: names it, says what it is and its output shape, and its problem first."""
        if self._tip is None:
            tip = f"<b>{html.escape(self.title)}</b> ({html.escape(self.subtitle)})"
            if self.description:
                tip += f"<br>{html.escape(self.description)}"
            if self.shape_text:
                tip += "<br>" + html.escape(self.shape_text)
            if self.error:
                problem = QCoreApplication.translate("NodeItem", "Problem:")
                tip = (f"<span style='color:#d93a3a'><b>{html.escape(problem)}</b> {html.escape(self.error)}"
                       "</span><br>" + tip)
            self._tip = tip
        return self._tip

    def _show_tip(self, tip: str) -> None:
        if tip != self._shown_tip:
            self._shown_tip = tip
            super().setToolTip(tip)

    # ------------------------------------------------------------------ ports
    def _make_ports(self) -> tuple[list[PortItem], PortItem | None]:
        if self._ports is None:
            n = self._n_inputs
            if n == -1:
                self._ports = ([], None)
            else:
                if n is None:
                    ins = [PortItem(self, "in", 0, True, 0.0, -NODE_H / 2)]
                else:
                    ins = [PortItem(self, "in", i, False, in_port_x(n, i), -NODE_H / 2) for i in range(n)]
                self._ports = (ins, PortItem(self, "out", 0, False, 0.0, NODE_H / 2))
        return self._ports

    @property
    def in_ports(self) -> list[PortItem]:
        return self._make_ports()[0]

    @property
    def out_port(self) -> PortItem | None:
        return self._make_ports()[1]

    def in_port(self, index: int) -> PortItem | None:
        ins = self.in_ports
        if not ins:
            return None
        if self._n_inputs is None:
            return ins[0]
        return ins[index] if 0 <= index < len(ins) else None

    def ports(self) -> list[PortItem]:
        ins, out = self._make_ports()
        return ins + ([out] if out is not None else [])

    def port_at(self, local: QPointF) -> PortItem | None:
        """The port under ``local`` (the node's coordinates), or None."""
        y = local.y()
        if abs(abs(y) - NODE_H / 2) > PORT_R + 4:   # ports sit on the top and bottom edges
            return None
        for p in self.ports():
            if p.rect().contains(local):
                return p
        return None

    def in_anchor(self, index: int) -> tuple[float, float]:
        """Where an edge into input ``index`` ends, in scene coordinates (the centre when there is no such port)."""
        p = self.pos()
        dx = in_port_x(self._n_inputs, index) if self._n_inputs != -1 else None
        return (p.x(), p.y()) if dx is None else (p.x() + dx, p.y() - NODE_H / 2)

    def out_anchor(self) -> tuple[float, float]:
        p = self.pos()
        return (p.x(), p.y()) if self._n_inputs == -1 else (p.x(), p.y() + NODE_H / 2)

    # ------------------------------------------------------------------ hover: port highlight, cursor, tooltip
    def hoverEnterEvent(self, event):
        self._hover(event.pos())

    def hoverMoveEvent(self, event):
        self._hover(event.pos())

    def hoverLeaveEvent(self, event):
        if self.hover_port is not None:
            self.hover_port = None
            self.unsetCursor()
            self.update()

    def _hover(self, local: QPointF) -> None:
        port = self.port_at(local)
        if port is not self.hover_port:
            self.hover_port = port
            if port is None:
                self.unsetCursor()
            else:
                self.setCursor(Qt.CrossCursor)
            self.update()
        self._show_tip(port.toolTip() if port is not None else self.toolTip())

    # ------------------------------------------------------------------ painting
    def boundingRect(self) -> QRectF:
        return _NODE_BOUNDS

    def shape(self):
        key = self._n_inputs
        p = _NODE_SHAPES.get(key)
        if p is None:
            p = QPainterPath()
            p.addRoundedRect(self._box(), 8, 8)
            for port in self.ports():
                p.addRect(port.rect())
            p = p.simplified()
            _NODE_SHAPES[key] = p
        return p

    @staticmethod
    def _box() -> QRectF:
        return QRectF(-NODE_W / 2, -NODE_H / 2, NODE_W, NODE_H)

    def paint(self, painter: QPainter, option, widget=None):
        box = self._box()
        col = theme.category_colour(self.category)
        selected = bool(option.state & QStyle.State_Selected)
        if level_of_detail(painter) < SIMPLE_LOD:
            # zoomed far out: the box in its colours, the outline red for a problem, no text, no ports
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
        # ports, on top of the box's edges
        for port in self.ports():
            port.paint(painter, col)
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
        # called for every property change of every node (flags, cursor, z, selection, ...):
        # kept to a comparison with a module constant; the base implementation returns ``value``
        if change == _POSITION_CHANGED and self.on_moved is not None:
            self.on_moved(self)
        return value


_EDGE_FLAGS = QGraphicsItem.ItemIsSelectable
_NO_RECT = QRectF()


class EdgeItem(QGraphicsItem):
    """A connection drawn as a vertical S-curve, labelled with the tensor shape it carries.

    Its bounds come from its two ends (the curve lies within its control points); the curve
    itself and its hit-test outline are made on first use, so a hidden edge costs little.
    """

    def __init__(self, src: NodeItem, dst: NodeItem, dst_port: int, label: str = "", bad: bool = False):
        super().__init__()
        self.src, self.dst, self.dst_port = src, dst, dst_port
        self.label = label
        self.bad = bad
        #: a palette layer is dragged over this edge: dropping it inserts the layer here
        self.highlighted = False
        self.setFlags(_EDGE_FLAGS)
        self.setZValue(-1)   # under the nodes
        self._label_rect = _NO_RECT
        self._ends: tuple | None = None
        self._path: QPainterPath | None = None
        self._shape: QPainterPath | None = None
        self.update_path(new=True)

    def set_content(self, label: str, bad: bool) -> None:
        """New label / state (the same item kept across edits); the path follows moved or re-made ports."""
        if label != self.label or bad != self.bad:
            self.label, self.bad = label, bad
            self.update_path()
            self.update()
        elif self._end_coords() != self._ends:
            self.update_path()

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.src.node_id, self.dst.node_id, self.dst_port)

    def _end_coords(self) -> tuple[float, float, float, float]:
        ax, ay = self.src.out_anchor()
        bx, by = self.dst.in_anchor(self.dst_port)
        return ax, ay, bx, by

    def endpoints(self) -> tuple[QPointF, QPointF]:
        ax, ay, bx, by = self._end_coords()
        return QPointF(ax, ay), QPointF(bx, by)

    def update_path(self, new: bool = False) -> None:
        if not new:   # (not yet in a scene: nothing to tell it)
            self.prepareGeometryChange()
        ends = self._end_coords()
        self._ends = ends
        self._path = self._shape = None
        ax, ay, bx, by = ends
        dy = max(40.0, abs(by - ay) * 0.5)
        # the curve's control points are a, (ax, ay + dy), (bx, by - dy), b: it lies within them
        top, bottom = min(ay, by - dy), max(by, ay + dy)
        self._rect = QRectF(min(ax, bx) - 7, top - 7, abs(bx - ax) + 14, bottom - top + 14)
        if self.label:
            w = _label_width(self.label) + 12
            # the curve's midpoint (t = 0.5) of this symmetric cubic is the mean of its ends
            self._label_rect = QRectF((ax + bx) / 2 - w / 2, (ay + by) / 2 - 9, w, 18)
            self._rect = self._rect.united(self._label_rect)
        else:
            self._label_rect = _NO_RECT

    def path(self) -> QPainterPath:
        if self._path is None:
            ax, ay, bx, by = self._ends
            dy = max(40.0, abs(by - ay) * 0.5)
            p = QPainterPath(QPointF(ax, ay))
            p.cubicTo(QPointF(ax, ay + dy), QPointF(bx, by - dy), QPointF(bx, by))
            self._path = p
        return self._path

    def boundingRect(self) -> QRectF:
        return self._rect

    def shape(self):
        if self._shape is None:
            from PySide6.QtGui import QPainterPathStroker
            s = QPainterPathStroker()
            s.setWidth(10)
            path = s.createStroke(self.path())
            if not self._label_rect.isNull():
                path.addRect(self._label_rect)
            self._shape = path
        return self._shape

    def set_highlighted(self, on: bool) -> None:
        if on != self.highlighted:
            self.highlighted = on
            self.update()

    def paint(self, painter: QPainter, option, widget=None):
        selected = self.isSelected()
        col = theme.SELECTION if selected or self.highlighted else (theme.ERROR if self.bad else theme.EDGE)
        path = self.path()
        if level_of_detail(painter) < SIMPLE_LOD and not self.highlighted:
            painter.setPen(QPen(col, 4.0 if (selected or self.bad) else 2.0))
            painter.setBrush(Qt.NoBrush)
            painter.drawPath(path)
            return
        painter.setRenderHint(QPainter.Antialiasing)
        if self.highlighted:  # a wide translucent band under the line: "drop here to insert"
            band = QColor(theme.SELECTION)
            band.setAlpha(90)
            painter.setPen(QPen(band, 12.0, Qt.SolidLine, Qt.RoundCap))
            painter.drawPath(path)
        width = 4.0 if self.highlighted else (3.0 if selected else 2.0)
        painter.setPen(QPen(col, width, Qt.SolidLine, Qt.RoundCap))
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(path)
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
