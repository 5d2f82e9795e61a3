"""Training settings, the Train/Pause/Resume/Stop buttons, progress, ETA and status.

The panel holds no training logic: it turns its form into a
:class:`engine.trainer.TrainConfig`, emits intents (``train_requested`` …) and
shows whatever state the controller tells it (:meth:`set_state`).  Which
buttons are enabled is a pure function of that state (:data:`BUTTONS`), so the
buttons can never get stuck.
"""
from __future__ import annotations

import math
import time

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.i18n import translate as engine_tr
from engine.jobs.progress import Clock
from engine.losses import default_loss_for
from engine.registry import FieldInfo
from engine.trainer import LOSS_LABELS, TRAIN_GROUPS, TrainConfig, TrainError, train_fields
from widgets.progress import ProgressBar

#: state -> (train, pause, resume, stop) enabled
BUTTONS = {
    "idle": (True, False, False, False),
    "failed": (True, False, False, False),
    "compiling": (False, False, False, True),
    "running": (False, True, False, True),
    "pausing": (False, False, False, True),
    "paused": (False, False, True, True),
    "stopping": (False, False, False, False),
}


def format_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    if s < 60:
        return QCoreApplication.translate("TrainingPanel", "{s} s").format(s=s)
    if s < 3600:
        return QCoreApplication.translate("TrainingPanel", "{m} min {s} s").format(m=s // 60, s=f"{s % 60:02d}")
    return QCoreApplication.translate("TrainingPanel", "{h} h {m} min").format(h=s // 3600, m=f"{(s % 3600) // 60:02d}")


def _exact_text(v: float) -> str:
    """Short text of ``v`` that reads back as exactly ``v``."""
    short = f"{v:g}"
    return short if float(short) == v else repr(float(v))


class LogNumberEdit(QLineEdit):
    """A number field whose Up/Down keys and mouse wheel step along 1, 2, 5, 10, 20 … (learning rates)."""

    def _step(self, up: bool) -> None:
        try:
            v = float(self.text().strip().replace(",", "."))
        except ValueError:
            return
        if not (v > 0 and math.isfinite(v)):
            return
        k = math.floor(math.log10(v) + 1e-9)
        ladder = [m * 10.0 ** e for e in (k - 1, k, k + 1) for m in (1, 2, 5)]
        nxt = [x for x in ladder if (x > v * (1 + 1e-9) if up else x < v * (1 - 1e-9))]
        if nxt:
            self.setText(f"{(min(nxt) if up else max(nxt)):g}")
            self.editingFinished.emit()

    def keyPressEvent(self, event):
        if event.key() in (Qt.Key_Up, Qt.Key_Down):
            self._step(event.key() == Qt.Key_Up)
            return
        super().keyPressEvent(event)

    def wheelEvent(self, event):
        if self.hasFocus() and event.angleDelta().y():
            self._step(event.angleDelta().y() > 0)
            event.accept()
            return
        super().wheelEvent(event)


class _Section(QWidget):
    """A titled, collapsible part of the settings form."""

    def __init__(self, title: str, expanded: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.header = QToolButton()
        self.header.setText(title.replace("&", "&&"))  # "Loss & regularisation" is no mnemonic
        self.header.setCheckable(True)
        self.header.setChecked(expanded)
        self.header.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.header.setAutoRaise(True)
        self.header.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.header.setStyleSheet("QToolButton { font-weight: bold; text-align: left; }")
        self.body = QWidget()
        self.form = QFormLayout(self.body)
        self.form.setContentsMargins(12, 0, 0, 4)
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        lay.addWidget(self.body)
        self.header.toggled.connect(self.set_expanded)
        self.set_expanded(expanded)

    def set_expanded(self, on: bool) -> None:
        self.header.setChecked(on)
        self.header.setArrowType(Qt.DownArrow if on else Qt.RightArrow)
        self.body.setVisible(on)

    @property
    def expanded(self) -> bool:
        return self.header.isChecked()


class TrainingPanel(QWidget):
    """Training settings generated from :func:`engine.trainer.train_fields`, plus buttons and progress.

    Every user-facing ``TrainConfig`` field has one input, in the section its metadata names,
    reachable as ``panel.inputs[name]`` and as the attribute of the same name (``panel.lr``).
    Inputs whose ``visible_when`` does not hold are hidden, never dropped: :meth:`config`
    returns every field.  Internal fields keep the value :meth:`set_config` was given."""

    train_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()

    #: sections open at start (the others open by themselves when a loaded setting differs from its default)
    EXPANDED = ("Basics", "Optimizer")

    def __init__(self, parent: QWidget | None = None, clock=time.monotonic):
        super().__init__(parent)
        self._clock = clock
        self.state = "idle"
        self.fields: dict[str, FieldInfo] = {fi.name: fi for fi in train_fields()}
        self.inputs: dict[str, QWidget] = {}
        self.sections: dict[str, _Section] = {}
        defaults = TrainConfig()
        self._internal = {fi.name: getattr(defaults, fi.name)
                          for fi in train_fields(include_internal=True) if fi.internal}
        self._loaded: dict[str, float] = {}  # exact values behind rounded spin boxes

        settings = QVBoxLayout()
        settings.setContentsMargins(4, 4, 4, 4)
        settings.setSpacing(2)
        labels: list[QLabel] = []
        groups = list(TRAIN_GROUPS) + sorted({fi.group for fi in self.fields.values()} - set(TRAIN_GROUPS))
        for group in groups:
            infos = [fi for fi in self.fields.values() if (fi.group or "Advanced") == group]
            if not infos:
                continue
            sec = _Section(engine_tr(group), group in self.EXPANDED)
            self.sections[group] = sec
            settings.addWidget(sec)
            for fi in infos:
                w = self._make_input(fi, getattr(defaults, fi.name))
                self.inputs[fi.name] = w
                setattr(self, fi.name, w)
                tip = engine_tr(fi.help)
                w.setToolTip(tip)
                if isinstance(w, QCheckBox):
                    sec.form.addRow(w)
                else:
                    lab = QLabel(engine_tr(fi.label))
                    lab.setToolTip(tip)
                    lab.setBuddy(w)
                    labels.append(lab)
                    sec.form.addRow(lab, w)
        # one label column across the sections, so the inputs line up
        width = max(lab.sizeHint().width() for lab in labels)
        for lab in labels:
            lab.setMinimumWidth(width)
        self.continue_box = QCheckBox(self.tr("continue from the trained weights"))
        self.continue_box.setToolTip(self.tr("Start from the current weights instead of a fresh initialisation"))
        self.sections["Basics"].form.addRow(self.continue_box)
        self.settings_box = QGroupBox(self.tr("Settings"))
        self.settings_box.setLayout(settings)

        self.train_btn = QPushButton(self.tr("Train"))
        self.pause_btn = QPushButton(self.tr("Pause"))
        self.resume_btn = QPushButton(self.tr("Resume"))
        self.stop_btn = QPushButton(self.tr("Stop"))
        self.train_btn.clicked.connect(self.train_requested)
        self.pause_btn.clicked.connect(self.pause_requested)
        self.resume_btn.clicked.connect(self.resume_requested)
        self.stop_btn.clicked.connect(self.stop_requested)
        btns = QHBoxLayout()
        for b in (self.train_btn, self.pause_btn, self.resume_btn, self.stop_btn):
            btns.addWidget(b)

        self.progress = ProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.counters = QLabel(self.tr("epoch – · batch –"))
        self.eta = QLabel(self.tr("ETA –"))
        self.eta.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        row = QHBoxLayout()
        row.addWidget(self.counters, 1)
        row.addWidget(self.eta)
        self.state_label = QLabel(self._state_text("idle"))
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d93a3a")
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)

        lay = QVBoxLayout(self)
        lay.addWidget(self.settings_box)
        lay.addLayout(btns)
        lay.addWidget(self.progress)
        lay.addLayout(row)
        lay.addWidget(self.state_label)
        lay.addWidget(self.status)
        lay.addWidget(self.message)
        lay.addStretch(1)

        self._total_steps = 0
        self._steps_per_epoch = 1
        self._epochs = 1
        self._eta = Clock(self._clock)   # steps per second since the first batch, pauses left out
        self._sync_visible()
        self.set_state("idle")

    def _state_text(self, state: str) -> str:
        return {"idle": self.tr("ready"), "failed": self.tr("failed"),
                "compiling": self.tr("preparing (loading data, compiling kernels)…"),
                "running": self.tr("running"), "pausing": self.tr("pausing (at the end of this batch)…"),
                "paused": self.tr("paused"), "stopping": self.tr("stopping…")}.get(state, state)

    # ------------------------------------------------------------------ the generated form
    def _make_input(self, fi: FieldInfo, default) -> QWidget:
        if fi.kind == "bool":
            w = QCheckBox(engine_tr(fi.label))
            w.setChecked(bool(default))
            w.toggled.connect(self._sync_visible)
        elif fi.kind == "choice":
            w = QComboBox()
            # long item texts are elided instead of widening the dock
            w.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            w.setMinimumContentsLength(14)
            for c in fi.choices:
                label = (fi.choice_labels or {}).get(c)
                w.addItem(f"{c} — {engine_tr(label)}" if label and label != c else str(c), c)
            w.setCurrentIndex(max(w.findData(default), 0))
            w.currentIndexChanged.connect(self._sync_visible)
        elif fi.kind == "int":
            w = QSpinBox()
            w.setRange(int(fi.min if fi.min is not None else -2**31), int(min(fi.max or 2**31 - 1, 2**31 - 1)))
            w.setValue(int(default))
        elif fi.kind == "float" and fi.decimals is not None:
            w = QDoubleSpinBox()
            w.setDecimals(fi.decimals)
            w.setRange(fi.min if fi.min is not None else -1e12, fi.max if fi.max is not None else 1e12)
            w.setSingleStep(fi.step or 10.0 ** -fi.decimals)
            w.setValue(float(default))
        elif fi.kind == "float":
            w = LogNumberEdit(_exact_text(default)) if fi.log else QLineEdit(_exact_text(default))
        else:  # "str": an editable menu of the usual values
            w = QComboBox()
            w.setEditable(True)
            w.addItems([str(x) for x in (fi.suggestions or ())])
            w.setCurrentText(str(default))
        return w

    def _value(self, fi: FieldInfo):
        w = self.inputs[fi.name]
        if fi.kind == "bool":
            return w.isChecked()
        if fi.kind == "choice":
            return w.currentData()
        if fi.kind == "int":
            return w.value()
        if isinstance(w, QDoubleSpinBox):
            exact = self._loaded.get(fi.name)
            if exact is not None and round(exact, fi.decimals) == round(w.value(), fi.decimals):
                return exact  # unchanged since set_config: keep the digits the spin box cannot show
            return w.value()
        if isinstance(w, QLineEdit):
            text = w.text().strip().replace(",", ".")
            try:
                v = float(text)
            except ValueError:
                raise TrainError(f"{fi.label} must be a number, got '{w.text()}'") from None
            if not math.isfinite(v):
                raise TrainError(f"{fi.label} must be a finite number, got {w.text()}")
            return v
        return w.currentText().strip()

    def _show(self, fi: FieldInfo, v) -> None:
        w = self.inputs[fi.name]
        if fi.kind == "bool":
            w.setChecked(bool(v))
        elif fi.kind == "choice":
            w.setCurrentIndex(max(w.findData(v), 0))
        elif fi.kind == "int":
            w.setValue(int(v))
        elif isinstance(w, QDoubleSpinBox):
            w.setValue(float(v))
            self._loaded[fi.name] = float(v)
        elif isinstance(w, QLineEdit):
            w.setText(_exact_text(float(v)))
        else:
            if w.findText(str(v)) < 0:
                w.addItem(str(v))
            w.setCurrentText(str(v))

    def values(self) -> dict:
        """The raw form values of every field (internal ones included), not yet validated."""
        return {**self._internal, **{name: self._value(fi) for name, fi in self.fields.items()}}

    def _sync_visible(self, *_):
        """Hide the inputs whose ``visible_when`` does not hold (their values are kept)."""
        current = {}
        for name, fi in self.fields.items():
            try:
                current[name] = self._value(fi)
            except TrainError:
                current[name] = None
        for name, fi in self.fields.items():
            if fi.visible_when:
                sec = self.sections[fi.group or "Advanced"]
                sec.form.setRowVisible(self.inputs[name], fi.visible(current))

    def config(self) -> TrainConfig:
        """The form as a validated :class:`TrainConfig`; raises :class:`TrainError` with a plain message."""
        return TrainConfig(**self.values())

    def set_config(self, data: dict | TrainConfig | None) -> None:
        """Show saved settings.  Unknown keys are ignored; a bad value falls back to its default
        (the other settings are kept)."""
        if isinstance(data, TrainConfig):
            c = data
        else:
            good: dict = {}
            for k, v in (data or {}).items():
                if k in TrainConfig.__dataclass_fields__:
                    try:
                        TrainConfig.from_dict({**good, k: v})
                    except (TrainError, TypeError, ValueError):
                        continue
                    good[k] = v
            try:
                c = TrainConfig.from_dict(good)
            except (TrainError, TypeError, ValueError):
                c = TrainConfig()
        defaults = TrainConfig()
        self._loaded.clear()
        for name, fi in self.fields.items():
            self._show(fi, getattr(c, name))
            if getattr(c, name) != getattr(defaults, name):
                self.sections[fi.group or "Advanced"].set_expanded(True)
        self._internal = {k: getattr(c, k) for k in self._internal}
        self._sync_visible()

    def set_output_info(self, output_activation: str | None, n_outputs: int, task: str | None) -> None:
        """Follow the output layer: say which loss "auto" means and pick a fitting monitor."""
        name = default_loss_for(output_activation, int(n_outputs), task)
        self.loss.setItemText(0, f"auto — {name} ({engine_tr(LOSS_LABELS.get(name, name))})")
        if not self.early_stopping.isChecked():
            self.monitor.setCurrentText("val_loss")
        # offer the metrics this task reports (a typed-in name is still accepted)
        base = {"classification": ["loss", "accuracy"], "regression": ["loss", "mae", "rmse", "r2"]}.get(task or "")
        if base:
            current = self.monitor.currentText()
            names = [f"val_{b}" for b in base] + base
            self.monitor.blockSignals(True)
            self.monitor.clear()
            self.monitor.addItems(names + ([current] if current and current not in names else []))
            self.monitor.setCurrentText(current)
            self.monitor.blockSignals(False)

    @property
    def continue_training(self) -> bool:
        return self.continue_box.isChecked()

    # ------------------------------------------------------------------ state
    def set_state(self, state: str) -> None:
        self.state = state
        (self._eta.pause if state == "paused" else self._eta.resume)()
        train, pause, resume, stop = BUTTONS.get(state, BUTTONS["idle"])
        self.train_btn.setEnabled(train)
        self.pause_btn.setEnabled(pause)
        self.resume_btn.setEnabled(resume)
        self.stop_btn.setEnabled(stop)
        idle = state in ("idle", "failed")
        self.settings_box.setEnabled(idle)
        self.pause_btn.setVisible(state != "paused")
        self.resume_btn.setVisible(state == "paused")
        self.state_label.setText(self._state_text(state))
        if state == "compiling":
            self.message.setText("")
            self.progress.setRange(0, 0)  # busy indicator until the first batch
        elif state in ("idle", "failed"):
            self.progress.setRange(0, 1000)
            if state == "idle" and self.progress.value() < 0:
                self.progress.setValue(0)
        self._sync_visible()

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def show_error(self, text: str) -> None:
        self.message.setText(engine_tr(text) if text else text)  # engine messages in the UI language

    # ------------------------------------------------------------------ progress
    def on_started(self, ev) -> None:
        """A ``TrainStarted`` event."""
        self._epochs = max(1, int(ev.epochs))
        self._steps_per_epoch = max(1, int(ev.steps_per_epoch))
        self._total_steps = self._epochs * self._steps_per_epoch
        self._eta = Clock(self._clock)
        self.counters.setText(self.tr("epoch {epoch}/{epochs} · batch {batch}/{steps}").format(
            epoch=1, epochs=self._epochs, batch=0, steps=self._steps_per_epoch))
        self.eta.setText(self.tr("ETA –"))
        self.status.setText(self.tr("{n_train} training and {n_val} validation samples · "
                                    "{n_params} parameters · loss {loss}").format(
            n_train=f"{ev.n_train:,}", n_val=f"{ev.n_val:,}", n_params=f"{ev.n_params:,}", loss=ev.loss))

    def on_batch(self, ev) -> None:
        """A ``BatchEnded`` event: progress, counters, ETA and speed.

        The ETA clock starts at the first batch report, i.e. after the compile step,
        so JIT warm-up does not inflate it."""
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1000)
        total = max(self._total_steps, ev.step)
        self.progress.setValue(int(1000 * ev.step / total))
        b = int(round(ev.epoch_progress * self._steps_per_epoch))
        self.counters.setText(self.tr("epoch {epoch}/{epochs} · batch {batch}/{steps}").format(
            epoch=ev.epoch, epochs=self._epochs, batch=b, steps=self._steps_per_epoch))
        self._eta.report(ev.step)
        left = self._eta.eta(ev.step, total)
        if left is not None:
            self.eta.setText(self.tr("ETA {eta}").format(eta=format_eta(left)))
        if self.state == "running":
            self.status.setText(self.tr("{speed} samples/s · loss {loss}").format(
                speed=f"{ev.samples_per_s:,.0f}", loss=f"{ev.loss:.4g}"))

    def on_epoch(self, ev) -> None:
        logs = ev.logs
        parts = [self.tr("epoch {epoch}: loss {loss}").format(epoch=ev.epoch, loss=f"{logs.get('loss', float('nan')):.4g}")]
        for k in ("val_loss", "accuracy", "val_accuracy", "mae", "val_mae", "r2", "val_r2"):
            if k in logs and isinstance(logs[k], (int, float)):
                parts.append(f"{k} {logs[k]:.4g}")
        parts.append(self.tr("{speed} samples/s").format(speed=f"{ev.samples_per_s:,.0f}"))
        self.status.setText(" · ".join(parts))

    def on_finished(self, ev) -> None:
        if ev.reason == "completed":
            self.progress.setValue(1000)
            self.eta.setText(self.tr("done"))
        else:
            self.eta.setText("")
