"""Property editor: a form generated from the selected layer's ``config_fields``.

It emits ``config_edit_requested(node_id, field, value)`` only for values that
pass ``make_config``; otherwise it shows the validation message under the form.
It never edits the spec: the controller turns the intent into an undo command.
"""
from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.i18n import translate as engine_tr
from engine.layers.core import fmt_shape
from engine.registry import ConfigError, RegistryError, config_fields, get_layer_class, make_config

INT_MIN, INT_MAX = -(2 ** 31) + 1, 2 ** 31 - 1


def _shape_text(v) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return str(v)


class PropertyEditor(QWidget):
    config_edit_requested = Signal(str, str, object)
    rename_requested = Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.node_id: str | None = None
        self.type_id: str | None = None
        self.config: dict = {}
        self.widgets: dict[str, QWidget] = {}
        self.fields = {}
        self._updating = False

        self.title = QLabel(self)
        self.title.setTextFormat(Qt.RichText)
        self.title.setWordWrap(True)
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        self.description.setTextFormat(Qt.PlainText)
        self.shape_label = QLabel(self)
        self.shape_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #d93a3a;")
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d93a3a;")
        self.form_host = QWidget(self)
        self.form = QFormLayout(self.form_host)
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)

        inner = QWidget(self)
        lay = QVBoxLayout(inner)
        for w in (self.title, self.description, self.shape_label, self.problem, self.form_host, self.message):
            lay.addWidget(w)
        lay.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setFrameShape(QScrollArea.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.set_node(None)

    # ------------------------------------------------------------------ public
    def set_node(self, node, analysis=None, *, count: int = 1) -> None:
        """Show ``node`` (a ``NodeSpec``) or a hint when nothing/several are selected."""
        if node is None:
            self._clear_form()
            self.node_id = self.type_id = None
            title = self.tr("No layer selected") if count <= 1 else self.tr("{n} layers selected").format(n=count)
            self.title.setText(f"<b>{html.escape(title)}</b>")
            self.description.setText(self.tr("Select a layer on the canvas to edit its settings.")
                                     if count <= 1 else self.tr("Select a single layer to edit its settings."))
            self.shape_label.setText("")
            self.problem.setText("")
            self.message.setText("")
            return
        try:
            cls = get_layer_class(node.type)
        except RegistryError:
            cls = None
        if node.id != self.node_id or node.type != self.type_id:
            self._build(node, cls)
        self._update_values(node, cls)
        shape = analysis.shapes.get(node.id) if analysis is not None else None
        self.shape_label.setText(self.tr("Output shape: {shape}").format(shape=fmt_shape(shape)) if shape is not None
                                 else self.tr("Output shape: unknown"))
        err = analysis.errors.get(node.id) if analysis is not None else None
        self.problem.setText(self.tr("Problem: {reason}").format(reason=engine_tr(err)) if err else "")

    # ------------------------------------------------------------------ form
    def _clear_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.widgets = {}
        self.fields = {}

    def _build(self, node, cls) -> None:
        self._clear_form()
        self.node_id, self.type_id = node.id, node.type
        self.message.setText("")
        label = engine_tr(cls.label) if cls and cls.label else node.type
        self.title.setText(f"<b>{html.escape(label)}</b> <span style='color:gray'>{html.escape(node.type)} · "
                           f"{html.escape(node.id)}</span>")
        self.description.setText(engine_tr(cls.description) if cls else self.tr("Unknown layer type: it cannot be edited."))
        name = QLineEdit(self)
        name.setPlaceholderText(node.id)
        name.setToolTip(self.tr("A name for this layer, used in messages and exports (optional)"))
        name.editingFinished.connect(self._name_edited)
        self.form.addRow(self.tr("Name"), name)
        self.widgets["name"] = name
        if cls is None:
            return
        for fi in config_fields(cls.Config):
            w = self._make_widget(fi)
            w.setToolTip(engine_tr(fi.help))
            lab = QLabel(engine_tr(fi.label or fi.name))
            lab.setToolTip(engine_tr(fi.help))
            self.form.addRow(lab, w)
            self.widgets[fi.name] = w
            self.fields[fi.name] = fi

    def _make_widget(self, fi) -> QWidget:
        name = fi.name
        if fi.kind == "bool":
            w = QCheckBox(self)
            w.toggled.connect(lambda v, n=name: self._edited(n, bool(v)))
        elif fi.kind == "choice":
            w = QComboBox(self)
            for c in fi.choices:
                w.addItem(str(c), c)
            w.currentIndexChanged.connect(lambda i, n=name, w=w: self._edited(n, w.itemData(i)))
        elif fi.kind == "int":
            w = QSpinBox(self)
            lo = int(fi.min) if fi.min is not None and math.isfinite(fi.min) else INT_MIN
            hi = int(fi.max) if fi.max is not None and math.isfinite(fi.max) else INT_MAX
            w.setRange(max(lo, INT_MIN), min(hi, INT_MAX))
            w.setKeyboardTracking(False)
            w.valueChanged.connect(lambda v, n=name: self._edited(n, int(v)))
        elif fi.kind == "float" and not (fi.default and abs(fi.default) < 1e-3):
            w = QDoubleSpinBox(self)
            w.setDecimals(4)
            w.setRange(fi.min if fi.min is not None else -1e9, fi.max if fi.max is not None else 1e9)
            step = 0.05 if (fi.max is not None and fi.max <= 1.0) else 0.1
            w.setSingleStep(step)
            w.setKeyboardTracking(False)
            w.valueChanged.connect(lambda v, n=name: self._edited(n, float(v)))
        elif fi.kind == "float":
            w = QLineEdit(self)
            w.setValidator(QDoubleValidator(w))
            w.editingFinished.connect(lambda n=name, w=w: self._text_edited(n, w.text(), float))
        elif fi.kind == "shape":
            w = QLineEdit(self)
            w.setPlaceholderText(self.tr("e.g. 28, 28, 1"))
            w.editingFinished.connect(lambda n=name, w=w: self._text_edited(n, w.text(), None))
        else:
            w = QLineEdit(self)
            w.editingFinished.connect(lambda n=name, w=w: self._edited(n, w.text()))
        return w

    def _update_values(self, node, cls) -> None:
        if cls is None:
            return
        self.config = dict(node.config)
        self._updating = True
        try:
            name_w = self.widgets.get("name")
            if name_w is not None and name_w.text() != node.name:
                name_w.setText(node.name)
            for n, fi in self.fields.items():
                v = node.config.get(n, fi.default)
                w = self.widgets[n]
                if isinstance(w, QCheckBox):
                    w.setChecked(bool(v))
                elif isinstance(w, QComboBox):
                    i = w.findData(v)
                    if i >= 0:
                        w.setCurrentIndex(i)
                elif isinstance(w, QSpinBox):
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        w.setValue(int(v))
                elif isinstance(w, QDoubleSpinBox):
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        w.setValue(float(v))
                elif isinstance(w, QLineEdit):
                    t = _shape_text(v) if fi.kind == "shape" else (f"{v:g}" if isinstance(v, float) else str(v))
                    if w.text() != t:
                        w.setText(t)
        finally:
            self._updating = False

    # ------------------------------------------------------------------ edits
    def _text_edited(self, name: str, text: str, conv) -> None:
        if self._updating:
            return
        if conv is None:
            self._edited(name, text)  # make_config parses shape text
            return
        try:
            self._edited(name, conv(text.replace(",", ".")))
        except ValueError:
            self.message.setText(self.tr("setting '{name}' must be a number, got {text}").format(name=name, text=repr(text)))

    def _edited(self, name: str, value) -> None:
        if self._updating or self.node_id is None:
            return
        try:
            cls = get_layer_class(self.type_id)
            cfg = dict(self.config)
            cfg[name] = value
            made = make_config(cls.Config, cfg)
        except (ConfigError, RegistryError, TypeError, ValueError) as exc:
            self.message.setText(engine_tr(str(exc)))
            return
        value = getattr(made, name)
        if isinstance(value, tuple):
            value = list(value)
        self.message.setText("")
        current = self.config.get(name, self.fields[name].default if name in self.fields else None)
        if isinstance(current, tuple):
            current = list(current)
        if current == value and name in self.config:
            return
        self.config[name] = value
        self.config_edit_requested.emit(self.node_id, name, value)

    def _name_edited(self) -> None:
        if self._updating or self.node_id is None:
            return
        text = self.widgets["name"].text().strip()
        self.rename_requested.emit(self.node_id, text)
