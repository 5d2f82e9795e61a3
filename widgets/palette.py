"""The layer palette: every registered layer type, grouped by category, searchable.

The model comes from ``engine.registry.all_layers()`` so new layer types appear
automatically.  Dragging an item carries its type id under :data:`LAYER_MIME`;
double-clicking (or Enter) emits :attr:`LayerPalette.add_requested`.
"""
from __future__ import annotations

import html

from PySide6.QtCore import QCoreApplication, QMimeData, QModelIndex, QPoint, QRectF, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QDrag, QIcon, QPainter, QPixmap, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeView, QVBoxLayout, QWidget

from engine.i18n import translate as engine_tr
from engine.registry import CATEGORIES, all_layers, get_layer_class
from widgets.theme import category_colour

LAYER_MIME = "application/x-nnstudio-layer"
TYPE_ROLE = Qt.UserRole + 1
SEARCH_ROLE = Qt.UserRole + 2


def category_icon(category: str, size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(Qt.NoPen)
    p.setBrush(category_colour(category))
    p.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    p.end()
    return QIcon(pm)


def layer_tooltip(cls) -> str:
    return (f"<b>{html.escape(engine_tr(cls.label or cls.type_id))}</b> <span style='color:gray'>({html.escape(cls.type_id)})</span>"
            f"<br>{html.escape(engine_tr(cls.description or ''))}<br><i>"
            + html.escape(QCoreApplication.translate("LayerPalette", "Drag onto the canvas or double-click to add."))
            + "</i>")


def mime_for(type_id: str) -> QMimeData:
    md = QMimeData()
    md.setData(LAYER_MIME, type_id.encode("utf-8"))
    md.setText(type_id)
    return md


def type_id_from_mime(md: QMimeData) -> str | None:
    if md is None or not md.hasFormat(LAYER_MIME):
        return None
    raw = bytes(md.data(LAYER_MIME).data()).decode("utf-8", "replace").strip()
    return raw or None


class LayerPaletteModel(QStandardItemModel):
    """Two-level tree: categories, then layer types (the draggable leaves)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.reload()

    def reload(self) -> None:
        self.clear()
        by_cat: dict[str, list] = {}
        for cls in all_layers():
            by_cat.setdefault(cls.category, []).append(cls)
        cats = [c for c in CATEGORIES if c in by_cat] + sorted(c for c in by_cat if c not in CATEGORIES)
        for cat in cats:
            head = QStandardItem(engine_tr(cat))
            head.setFlags(Qt.ItemIsEnabled)
            head.setIcon(category_icon(cat))
            f = head.font()
            f.setBold(True)
            head.setFont(f)
            head.setData(cat.lower(), SEARCH_ROLE)
            for cls in sorted(by_cat[cat], key=lambda c: (c.label or c.type_id).lower()):
                item = QStandardItem(engine_tr(cls.label or cls.type_id))
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
                item.setData(cls.type_id, TYPE_ROLE)
                item.setData(layer_tooltip(cls), Qt.ToolTipRole)
                item.setData(" ".join([cls.label, cls.type_id, cls.description, cat, engine_tr(cls.label),
                                       engine_tr(cls.description), engine_tr(cat)]).lower(), SEARCH_ROLE)
                item.setIcon(category_icon(cat))
                head.appendRow(item)
            self.appendRow(head)

    def type_ids(self) -> list[str]:
        out = []
        for r in range(self.rowCount()):
            head = self.item(r)
            out += [head.child(i).data(TYPE_ROLE) for i in range(head.rowCount())]
        return out

    def index_of(self, type_id: str) -> QModelIndex:
        for r in range(self.rowCount()):
            head = self.item(r)
            for i in range(head.rowCount()):
                if head.child(i).data(TYPE_ROLE) == type_id:
                    return head.child(i).index()
        return QModelIndex()

    # drag and drop ----------------------------------------------------------
    def mimeTypes(self):
        return [LAYER_MIME]

    def mimeData(self, indexes):
        for idx in indexes:
            tid = idx.data(TYPE_ROLE)
            if tid:
                return mime_for(tid)
        return None

    def supportedDragActions(self):
        return Qt.CopyAction


class _Filter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self._words: list[str] = []

    def set_text(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10
            self.beginFilterChange()
            self._words = text.lower().split()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover
            self._words = text.lower().split()
            self.invalidateFilter()

    def filterAcceptsRow(self, row, parent):
        if not self._words:
            return True
        idx = self.sourceModel().index(row, 0, parent)
        if not idx.data(TYPE_ROLE):
            return False  # categories are shown when one of their layers matches
        hay = idx.data(SEARCH_ROLE) or ""
        return all(w in hay for w in self._words)


def drag_pixmap(widget, text: str, icon: QIcon | None) -> QPixmap:
    """A small label for a layer being dragged (drawn beside the pointer, so the edge under it stays visible)."""
    fm = widget.fontMetrics()
    w, h = fm.horizontalAdvance(text) + 34, fm.height() + 10
    dpr = widget.devicePixelRatioF()
    pm = QPixmap(int(w * dpr), int(h * dpr))
    pm.setDevicePixelRatio(dpr)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    pal = widget.palette()
    p.setPen(pal.highlight().color())
    p.setBrush(pal.base())
    p.drawRoundedRect(QRectF(0.5, 0.5, w - 1, h - 1), 5, 5)
    if icon is not None:
        icon.paint(p, 7, (h - 14) // 2, 14, 14)
    p.setPen(pal.text().color())
    p.setFont(widget.font())
    p.drawText(26, 0, w - 28, h, Qt.AlignVCenter | Qt.AlignLeft, text)
    p.end()
    return pm


class _LayerTree(QTreeView):
    """The palette's tree: a drag shows a small label below-right of the pointer, not the whole row over it."""

    def startDrag(self, actions):  # noqa: N802 - Qt override
        idx = self.currentIndex()
        tid = idx.data(TYPE_ROLE) if idx.isValid() else None
        if not tid:
            return
        drag = QDrag(self)
        drag.setMimeData(mime_for(tid))
        icon = idx.data(Qt.DecorationRole)
        drag.setPixmap(drag_pixmap(self, str(idx.data(Qt.DisplayRole)), icon if isinstance(icon, QIcon) else None))
        drag.setHotSpot(QPoint(-14, -12))
        drag.exec(Qt.CopyAction)


class LayerPalette(QWidget):
    """Search box + category tree.  ``add_requested(type_id)`` on double-click/Enter."""

    add_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = LayerPaletteModel(self)
        self.proxy = _Filter(self)
        self.proxy.setSourceModel(self.model)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(self.tr("Search layers…"))
        self.search.setClearButtonEnabled(True)
        self.tree = _LayerTree(self)
        self.tree.setModel(self.proxy)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragOnly)
        self.tree.setDefaultDropAction(Qt.CopyAction)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.expandAll()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.search)
        lay.addWidget(self.tree)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._add_first_match)
        # ``activated`` already fires on a double-click (and on Enter): connecting
        # ``doubleClicked`` as well added the layer twice
        self.tree.activated.connect(self._activated)

    def _filter(self, text: str) -> None:
        self.proxy.set_text(text)
        self.tree.expandAll()

    def _activated(self, idx: QModelIndex) -> None:
        tid = idx.data(TYPE_ROLE)
        if tid:
            self.add_requested.emit(tid)

    def visible_type_ids(self) -> list[str]:
        out = []
        for r in range(self.proxy.rowCount()):
            head = self.proxy.index(r, 0)
            for i in range(self.proxy.rowCount(head)):
                out.append(self.proxy.index(i, 0, head).data(TYPE_ROLE))
        return out

    def _add_first_match(self) -> None:
        ids = self.visible_type_ids()
        text = self.search.text().strip().lower()
        # prefer layers whose name starts with the search text over description matches
        ids.sort(key=lambda t: not t.lower().startswith(text))
        if ids:
            self.add_requested.emit(ids[0])

    def reload(self) -> None:
        self.model.reload()
        self.tree.expandAll()


def layer_menu(title: str, parent, pick, *, inputs: bool = True):
    """A menu of every registered layer type, one submenu per category (the palette's order).

    ``pick(type_id)`` is called when one is chosen; ``inputs=False`` leaves out layers that take
    no input (an Input layer cannot be inserted into a connection).
    """
    from PySide6.QtWidgets import QMenu
    menu = QMenu(title, parent)
    menu.setObjectName("layer_menu")
    model = LayerPaletteModel(menu)
    for r in range(model.rowCount()):
        head = model.item(r)
        sub = None
        for i in range(head.rowCount()):
            item = head.child(i)
            tid = item.data(TYPE_ROLE)
            if not inputs and get_layer_class(tid).n_inputs == 0:
                continue
            if sub is None:
                sub = menu.addMenu(head.icon(), head.text())
            a = sub.addAction(item.icon(), item.text())
            a.setData(tid)
            a.triggered.connect(lambda _=False, t=tid: pick(t))
    return menu
