"""``OfferBar``: a slim bar above the canvas that offers one action (or reports one).

``show_offer(text, button)`` shows a question with an action button and
"Dismiss"; ``show_done(text, button)`` reports what was done (the button is
e.g. "Undo").  ``accepted`` / ``dismissed`` carry no data: the owner knows
what the bar currently offers (:attr:`kind` is ``"offer"``, ``"done"`` or ``""``).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy


class OfferBar(QFrame):
    accepted = Signal()
    dismissed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("offer_bar")
        self.setFrameShape(QFrame.StyledPanel)
        self.setStyleSheet("#offer_bar { background: palette(alternate-base); border: 1px solid #f0b429; "
                           "border-radius: 4px; }")
        self.kind = ""
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 6, 4)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.button = QPushButton(self)
        self.close_button = QPushButton(self.tr("Dismiss"), self)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.button)
        lay.addWidget(self.close_button)
        self.button.clicked.connect(self.accepted)
        self.close_button.clicked.connect(self._dismiss)
        self.hide()

    def show_offer(self, text: str, button: str) -> None:
        self._show("offer", text, button)

    def show_done(self, text: str, button: str) -> None:
        self._show("done", text, button)

    def _show(self, kind: str, text: str, button: str) -> None:
        self.kind = kind
        self.label.setText(text)
        self.label.setToolTip(text)
        self.button.setText(button)
        self.button.setVisible(bool(button))
        self.button.setDefault(kind == "offer")
        self.show()

    def clear(self) -> None:
        self.kind = ""
        self.hide()

    def _dismiss(self) -> None:
        self.clear()
        self.dismissed.emit()
