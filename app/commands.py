"""Undo commands.  Each stores the spec before and after, so undo/redo are exact.

``MoveNodes`` merges consecutive moves of the same nodes; ``SetConfig`` merges
consecutive edits of the same field of the same node (spin-box ticks).
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QUndoCommand

from engine.spec import GraphSpec

MOVE_ID = 1001
SET_CONFIG_ID = 1002


class SpecCommand(QUndoCommand):
    def __init__(self, document, before: GraphSpec, after: GraphSpec, text: str, parent=None):
        super().__init__(text, parent)
        self.document = document
        self.before = before
        self.after = after

    def redo(self):
        self.document.set_spec(self.after)

    def undo(self):
        self.document.set_spec(self.before)


class AddNode(SpecCommand):
    pass


class Connect(SpecCommand):
    pass


class RemoveItems(SpecCommand):
    pass


class InsertLayer(SpecCommand):
    """A new layer put into a connection: src → new → dst (the layers below may move down to make room)."""


class Disconnect(SpecCommand):
    """Every connection into and out of some layers removed (the layers stay)."""


class Paste(SpecCommand):
    pass


class Rename(SpecCommand):
    pass


class FitToData(SpecCommand):
    """The Input shape and output layer set to fit the loaded data, in one step."""


class ReplaceGraph(SpecCommand):
    """Templates and auto-layout: the whole graph changes in one step."""


class MoveNodes(SpecCommand):
    def __init__(self, document, before, after, node_ids, parent=None):
        n = len(node_ids)
        text = (QCoreApplication.translate("Commands", "Move layer") if n == 1 else
                QCoreApplication.translate("Commands", "Move {n} layers").format(n=n))
        super().__init__(document, before, after, text, parent)
        self.node_ids = frozenset(node_ids)

    def id(self):
        return MOVE_ID

    def mergeWith(self, other):
        if not isinstance(other, MoveNodes) or other.node_ids != self.node_ids:
            return False
        self.after = other.after
        return True


class SetConfig(SpecCommand):
    def __init__(self, document, before, after, node_id, field, text: str = "", parent=None):
        super().__init__(document, before, after, text or f"{field}: {node_id}", parent)
        self.node_id = node_id
        self.field = field

    def id(self):
        return SET_CONFIG_ID

    def mergeWith(self, other):
        if not isinstance(other, SetConfig) or (other.node_id, other.field) != (self.node_id, self.field):
            return False
        self.after = other.after
        if self.after == self.before:
            self.setObsolete(True)
        return True
