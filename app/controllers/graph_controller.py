"""Turns canvas / palette / property-editor intents into undo commands.

Every user edit goes through here: the controller computes the new spec with
the pure ``GraphSpec`` edit functions, validates it (``analyse``, cycles, port
counts) and pushes a command holding ``(before, after)``.  Refused edits emit
:attr:`GraphController.message` with a one-line reason (shown in the status bar).
"""
from __future__ import annotations

import json

from PySide6.QtCore import QMimeData, QObject, QPointF, Signal
from PySide6.QtGui import QGuiApplication, QUndoStack

from app import commands as C
from engine.compile import connection_problem, describe, input_port
from engine.graph_layout import COL, ROW, layered_layout
from engine.i18n import message as engine_message
from engine.i18n import tr as engine_tr
from engine.registry import ConfigError, RegistryError, get_layer_class, make_config
from engine.spec import GraphSpec, SpecError
from engine.templates import get_template

GRAPH_MIME = "application/x-nnstudio-graph"


def _xy(pos) -> tuple[float, float]:
    if isinstance(pos, QPointF):
        return float(pos.x()), float(pos.y())
    return float(pos[0]), float(pos[1])


class GraphController(QObject):
    message = Signal(str)
    #: node ids the views should select after an edit (new or pasted nodes)
    select_requested = Signal(list)

    def __init__(self, document, undo_stack: QUndoStack, parent=None):
        super().__init__(parent)
        self.doc = document
        self.stack = undo_stack
        self._clip_fallback: str | None = None
        self.selection: list[str] = []

    # ------------------------------------------------------------------ helpers
    def _push(self, cmd) -> None:
        if cmd.after == cmd.before:
            return
        self.stack.push(cmd)

    def set_selection(self, ids: list) -> None:
        self.selection = [i for i in ids if self.doc.spec.has_node(i)]

    def _refuse(self, text: str) -> bool:
        self.message.emit(text)
        return False

    # ------------------------------------------------------------------ intents
    def add_node(self, type_id: str, pos, *, connect_from: str | None = None) -> str | None:
        """Add a layer at ``pos`` (scene coordinates, the node's centre)."""
        try:
            cls = get_layer_class(type_id)
        except RegistryError as exc:
            self._refuse(engine_tr(str(exc.args[0])))
            return None
        before = self.doc.spec
        after, nid = before.add_node(type_id, {}, pos=_xy(pos))
        label = engine_tr(cls.label) if cls.label else type_id
        text = self.tr("Add {layer}").format(layer=label)
        if connect_from and before.has_node(connect_from) and cls.n_inputs != 0:
            after = after.connect(connect_from, nid, 0)
            text = self.tr("Add {layer} after {node}").format(layer=label, node=before.node(connect_from).label)
        self._push(C.AddNode(self.doc, before, after, text))
        self.select_requested.emit([nid])
        self.message.emit(self.tr("Added {layer} ({id})").format(layer=label, id=nid))
        return nid

    def add_node_near_selection(self, type_id: str, fallback_pos) -> str | None:
        """Double-click in the palette: put the layer below the single selected layer
        and connect it, or at ``fallback_pos`` (the view centre)."""
        sel = [s for s in self.selection if self.doc.spec.has_node(s)]
        if len(sel) == 1:
            src = self.doc.spec.node(sel[0])
            below = (src.pos[0], src.pos[1] + ROW)
            taken = {(round(n.pos[0]), round(n.pos[1])) for n in self.doc.spec.nodes}
            while (round(below[0]), round(below[1])) in taken:
                below = (below[0] + COL, below[1])
            return self.add_node(type_id, below, connect_from=src.id)
        return self.add_node(type_id, fallback_pos)

    def validate_connection(self, src: str, dst: str, port: int) -> tuple[GraphSpec | None, str]:
        """The spec after connecting, or ``None`` with the reason it is refused (the rules are
        :func:`engine.compile.connection_problem`'s, in the words of the graph's own errors)."""
        spec = self.doc.spec
        why = connection_problem(spec, src, dst, port)
        if why:
            return None, self.tr("Cannot connect: {reason}").format(reason=engine_tr(why))
        return spec.connect(src, dst, input_port(spec, dst, port)), ""

    def connect(self, src: str, dst: str, port: int = -1) -> bool:
        after, why = self.validate_connection(src, dst, port)
        if after is None:
            return self._refuse(why)
        before = self.doc.spec
        replaced = [e for e in before.edges if e not in after.edges]
        self._push(C.Connect(self.doc, before, after,
                             self.tr("Connect {src} → {dst}").format(src=before.node(src).label,
                                                                            dst=before.node(dst).label)))
        a = self.doc.analysis
        if dst in a.errors:
            self.message.emit(self.tr("Connected, but: {reason}").format(reason=engine_message(a.errors[dst])))
        elif replaced:
            self.message.emit(self.tr("Connected (replaced the previous input of {node})").format(node=before.node(dst).label))
        else:
            self.message.emit(self.tr("Connected {src} → {dst}").format(src=before.node(src).label, dst=before.node(dst).label))
        return True

    def move_nodes(self, positions: dict) -> None:
        before = self.doc.spec
        positions = {k: _xy(v) for k, v in positions.items() if before.has_node(k)}
        if not positions:
            return
        after = before.move_nodes(positions)
        self._push(C.MoveNodes(self.doc, before, after, list(positions)))

    def delete(self, node_ids: list, edges: list = ()) -> None:
        before = self.doc.spec
        after = before.remove_nodes(node_ids)
        for e in edges:
            src, dst, port = e
            after = after.disconnect(src, dst, port)
        n, m = len([i for i in node_ids if before.has_node(i)]), len(edges)
        if n and m:
            text = self.tr("Delete {n} layer(s) and {m} connection(s)").format(n=n, m=m)
        elif n:
            text = self.tr("Delete layer") if n == 1 else self.tr("Delete {n} layers").format(n=n)
        elif m:
            text = self.tr("Delete connection") if m == 1 else self.tr("Delete {m} connections").format(m=m)
        else:
            text = self.tr("Delete nothing")
        self._push(C.RemoveItems(self.doc, before, after, text))

    def insert_layer(self, type_id: str, edge, pos=None) -> str | None:
        """Put a new ``type_id`` layer into the connection ``edge = (src, dst, dst_port)``.

        One undoable step: the layer is added at ``pos`` (default: between the two layers),
        ``src`` feeds it and it feeds ``dst`` on the same port.  When it would overlap the
        layer below, that layer and everything after it move down one row.
        """
        spec = self.doc.spec
        src, dst, port = str(edge[0]), str(edge[1]), int(edge[2])
        if not any((e.src, e.dst, e.dst_port) == (src, dst, port) for e in spec.edges):
            self._refuse(self.tr("Cannot insert: that connection no longer exists"))
            return None
        try:
            cls = get_layer_class(type_id)
        except RegistryError as exc:
            self._refuse(engine_tr(str(exc.args[0])))
            return None
        label = engine_tr(cls.label) if cls.label else type_id
        if cls.n_inputs == 0:
            self._refuse(self.tr("Cannot insert {layer} into a connection: it takes no input").format(layer=label))
            return None
        s_node, d_node = spec.node(src), spec.node(dst)
        if pos is None:
            x, y = (s_node.pos[0] + d_node.pos[0]) / 2, (s_node.pos[1] + d_node.pos[1]) / 2
        else:
            x, y = _xy(pos)
        if abs(s_node.pos[0] - d_node.pos[0]) < 1.0:   # a straight column stays straight
            x = s_node.pos[0]
        y = max(y, s_node.pos[1] + ROW)
        after, nid = spec.add_node(type_id, {}, pos=(x, y))
        after = after.disconnect(src, dst, port).connect(src, nid, 0).connect(nid, dst, port)
        dy = y + ROW - d_node.pos[1]
        if dy > 0:   # make room: the layer below and everything after it move down
            below, todo = set(), [dst]
            while todo:
                n = todo.pop()
                if n not in below:
                    below.add(n)
                    todo.extend(e.dst for e in after.outputs_of(n))
            after = after.move_nodes({n: (after.node(n).pos[0], after.node(n).pos[1] + dy) for n in below})
        self._push(C.InsertLayer(self.doc, spec, after, self.tr("Insert {layer} between {src} and {dst}").format(
            layer=label, src=s_node.label, dst=d_node.label)))
        self.select_requested.emit([nid])
        problem = self.doc.analysis.errors.get(nid) or self.doc.analysis.errors.get(dst)
        if problem:
            self.message.emit(self.tr("Inserted {layer}, but: {reason}").format(layer=label,
                                                                               reason=engine_message(problem)))
        else:
            self.message.emit(self.tr("Inserted {layer} ({id}) between {src} and {dst}").format(
                layer=label, id=nid, src=s_node.label, dst=d_node.label))
        return nid

    def disconnect_nodes(self, node_ids) -> None:
        """Remove every connection into and out of ``node_ids`` (one undo step)."""
        before = self.doc.spec
        ids = {i for i in node_ids if before.has_node(i)}
        edges = [e for e in before.edges if e.src in ids or e.dst in ids]
        if not edges:
            self._refuse(self.tr("Nothing to disconnect: the layer has no connections"))
            return
        after = before
        for e in edges:
            after = after.disconnect(e.src, e.dst, e.dst_port)
        names = ", ".join(before.node(i).label for i in before.node_ids if i in ids)
        self._push(C.Disconnect(self.doc, before, after, self.tr("Disconnect {nodes}").format(nodes=names)))
        self.message.emit(self.tr("Removed {m} connection(s) of {nodes}").format(m=len(edges), nodes=names))

    def set_config(self, node_id: str, field: str, value) -> bool:
        before = self.doc.spec
        if not before.has_node(node_id):
            return False
        node = before.node(node_id)
        try:
            cls = get_layer_class(node.type)
            cfg = dict(node.config)
            cfg[field] = value
            made = make_config(cls.Config, cfg)
        except (ConfigError, RegistryError) as exc:
            return self._refuse(f"{describe(node)}: {engine_message(exc)}")
        v = getattr(made, field)
        after = before.set_config(node_id, **{field: list(v) if isinstance(v, tuple) else v})
        self._push(C.SetConfig(self.doc, before, after, node_id, field,
                               self.tr("Set {field} of {node}").format(field=field, node=node_id)))
        return True

    def rename(self, node_id: str, name: str) -> None:
        before = self.doc.spec
        if not before.has_node(node_id) or before.node(node_id).name == name:
            return
        self._push(C.Rename(self.doc, before, before.rename(node_id, name),
                            self.tr("Rename {node} to {name}").format(node=node_id, name=name or node_id)))

    def apply_template(self, key: str) -> None:
        tpl = get_template(key)
        before = self.doc.spec
        # keep the id counter moving forward so ids are never reused within the session's undo history
        self._push(C.ReplaceGraph(self.doc, before, tpl.build(), self.tr("Template: {template}").format(
            template=engine_tr(tpl.name))))
        self.message.emit(self.tr("Loaded the {template} template — {description}").format(
            template=engine_tr(tpl.name), description=engine_tr(tpl.description)))

    def fit_to_data(self, info):
        """Set the Input shape and output layer to fit ``info`` (``engine.fit.DataInfo``) as one
        undoable command; returns the ``FitResult`` (its ``changes`` say what changed)."""
        from engine.fit import fit_to_data
        before = self.doc.spec
        result = fit_to_data(before, info)
        if result.changed:
            self._push(C.FitToData(self.doc, before, result.spec, self.tr("Fit graph to data")))
        return result

    def auto_layout(self) -> None:
        before = self.doc.spec
        if not before.nodes:
            return
        after = before.move_nodes(layered_layout(before))
        self._push(C.ReplaceGraph(self.doc, before, after, self.tr("Auto-layout")))

    # ------------------------------------------------------------------ clipboard
    def copy_text(self, node_ids) -> str | None:
        spec = self.doc.spec
        ids = [i for i in spec.node_ids if i in set(node_ids)]
        if not ids:
            return None
        sel = set(ids)
        data = {"nodes": [spec.node(i).to_dict() for i in ids],
                "edges": [e.to_dict() for e in spec.edges if e.src in sel and e.dst in sel]}
        return json.dumps(data)

    def copy(self, node_ids=None) -> bool:
        text = self.copy_text(self.selection if node_ids is None else node_ids)
        if text is None:
            return self._refuse(self.tr("Nothing to copy: select one or more layers"))
        self._clip_fallback = text
        md = QMimeData()
        md.setData(GRAPH_MIME, text.encode("utf-8"))
        cb = QGuiApplication.clipboard()
        if cb is not None:
            cb.setMimeData(md)
        self.message.emit(self.tr("Copied {n} layer(s)").format(n=len(json.loads(text)['nodes'])))
        return True

    def _clipboard_text(self) -> str | None:
        cb = QGuiApplication.clipboard()
        md = cb.mimeData() if cb is not None else None
        if md is not None and md.hasFormat(GRAPH_MIME):
            return bytes(md.data(GRAPH_MIME).data()).decode("utf-8", "replace")
        return self._clip_fallback

    def paste(self, text: str | None = None, offset=(40.0, 40.0), duplicate: bool = False, at=None) -> list[str]:
        """Paste layers from the clipboard (or ``text``) as one undo step.

        ``at`` (scene coordinates, e.g. the cursor): the pasted layers are centred there.  Otherwise
        they land ``offset`` from the originals, and further steps of ``offset`` while that would put
        one exactly on a layer already there (so repeated pastes fan out instead of stacking).
        """
        text = text if text is not None else self._clipboard_text()
        if not text:
            self._refuse(self.tr("Nothing to paste"))
            return []
        try:
            data = json.loads(text)
            raws = list(data["nodes"])
            points = [(float(r.get("pos", [0, 0])[0]), float(r.get("pos", [0, 0])[1])) for r in raws]
            before = self.doc.spec
            dx, dy = self._paste_shift(before, points, offset, at)
            after = before
            mapping = {}
            for raw, (px, py) in zip(raws, points):
                get_layer_class(str(raw["type"]))
                after, nid = after.add_node(str(raw["type"]), raw.get("config", {}), pos=(px + dx, py + dy),
                                            name=str(raw.get("name", "")))
                mapping[str(raw["id"])] = nid
            for raw in data.get("edges", []):
                after = after.connect(mapping[str(raw["src"])], mapping[str(raw["dst"])], int(raw.get("dst_port", 0)))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, SpecError, RegistryError):
            self._refuse(self.tr("The clipboard does not hold NN Studio layers"))
            return []
        new = list(mapping.values())
        text = (self.tr("Duplicate {n} layer(s)") if duplicate else self.tr("Paste {n} layer(s)")).format(n=len(new))
        self._push(C.Paste(self.doc, before, after, text))
        self.select_requested.emit(new)
        return new

    @staticmethod
    def _paste_shift(spec: GraphSpec, points, offset, at) -> tuple[float, float]:
        if not points:
            return 0.0, 0.0
        if at is not None:
            ax, ay = _xy(at)
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            return ax - (min(xs) + max(xs)) / 2, ay - (min(ys) + max(ys)) / 2
        ox, oy = float(offset[0]), float(offset[1])
        taken = [n.pos for n in spec.nodes]
        dx, dy = ox, oy
        for _ in range(200):
            if not any(abs(px + dx - tx) < 8 and abs(py + dy - ty) < 8 for px, py in points for tx, ty in taken):
                break
            dx, dy = dx + ox, dy + oy
        return dx, dy

    def can_paste(self) -> bool:
        """Whether the clipboard holds NN Studio layers (enables *Paste here*)."""
        return bool(self._clipboard_text())

    def duplicate(self, node_ids=None) -> list[str]:
        text = self.copy_text(self.selection if node_ids is None else node_ids)
        if text is None:
            self._refuse(self.tr("Nothing to duplicate: select one or more layers"))
            return []
        return self.paste(text, duplicate=True)
