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

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from engine.i18n import translate as engine_tr
from engine.losses import LOSS_NAMES, default_loss_for
from engine.optimizers import OPTIMIZER_NAMES, SCHEDULE_NAMES
from engine.trainer import TrainConfig, TrainError

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
STATE_TEXT = {"idle": "ready", "failed": "failed", "compiling": "preparing (loading data, compiling kernels)…",
              "running": "running", "pausing": "pausing (at the end of this batch)…", "paused": "paused", "stopping": "stopping…"}
LOSS_LABELS = {"mse": "mean squared error", "mae": "mean absolute error", "huber": "Huber",
               "bce": "binary cross-entropy", "cce": "categorical cross-entropy (one-hot)",
               "sparse_cce": "cross-entropy (class indices)"}
MONITORS = ("val_loss", "val_accuracy", "val_mae", "val_r2", "loss")


def format_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


class TrainingPanel(QWidget):
    train_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None, clock=time.monotonic):
        super().__init__(parent)
        self._clock = clock
        self.state = "idle"
        d = TrainConfig()

        self.loss = QComboBox()
        self.loss.addItem("auto", "auto")
        for name in LOSS_NAMES:
            self.loss.addItem(f"{name} — {LOSS_LABELS.get(name, name)}", name)
        self.loss.setToolTip("auto picks the loss that fits the output layer")
        self.optimizer = QComboBox()
        self.optimizer.addItems(OPTIMIZER_NAMES)
        self.lr = QLineEdit(f"{d.lr:g}")
        self.lr.setToolTip("Learning rate, e.g. 0.001 (Adam) or 0.01–0.1 (SGD)")
        self.momentum = QDoubleSpinBox(decimals=3, minimum=0.0, maximum=0.999, singleStep=0.05)
        self.schedule = QComboBox()
        self.schedule.addItems(SCHEDULE_NAMES)
        self.schedule.setToolTip("How the learning rate changes over the epochs")
        self.batch_size = QSpinBox(minimum=1, maximum=1_000_000, value=d.batch_size)
        self.epochs = QSpinBox(minimum=1, maximum=100_000, value=d.epochs)
        self.l1 = QLineEdit("0")
        self.l2 = QLineEdit("0")
        for w, tip in ((self.l1, "L1 penalty on weights (0 = off)"), (self.l2, "L2 penalty on weights (0 = off)")):
            w.setToolTip(tip)
        self.clip = QLineEdit("0")
        self.clip.setToolTip("Clip the gradient norm to this value (0 = off)")
        self.early = QCheckBox("early stopping")
        self.monitor = QComboBox()
        self.monitor.addItems(MONITORS)
        self.patience = QSpinBox(minimum=1, maximum=10_000, value=d.patience)
        self.restore_best = QCheckBox("keep the best epoch's weights")
        self.restore_best.setChecked(True)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=d.seed)
        self.continue_box = QCheckBox("continue from the trained weights")
        self.continue_box.setToolTip("Start from the current weights instead of a fresh initialisation")
        self.early.toggled.connect(self._sync_enabled)
        self.optimizer.currentTextChanged.connect(self._sync_enabled)

        form = QFormLayout()
        form.addRow("loss", self.loss)
        form.addRow("optimizer", self.optimizer)
        form.addRow("learning rate", self.lr)
        form.addRow("momentum", self.momentum)
        form.addRow("schedule", self.schedule)
        form.addRow("batch size", self.batch_size)
        form.addRow("epochs", self.epochs)
        pen = QHBoxLayout()
        pen.addWidget(QLabel("L1"))
        pen.addWidget(self.l1)
        pen.addWidget(QLabel("L2"))
        pen.addWidget(self.l2)
        form.addRow("weight penalty", pen)
        form.addRow("gradient clip", self.clip)
        es = QHBoxLayout()
        es.addWidget(self.early)
        es.addWidget(self.monitor)
        es.addWidget(QLabel("patience"))
        es.addWidget(self.patience)
        form.addRow(es)
        form.addRow("", self.restore_best)
        form.addRow("seed", self.seed)
        form.addRow("", self.continue_box)
        self.settings_box = QGroupBox("Settings")
        self.settings_box.setLayout(form)

        self.train_btn = QPushButton("Train")
        self.pause_btn = QPushButton("Pause")
        self.resume_btn = QPushButton("Resume")
        self.stop_btn = QPushButton("Stop")
        self.train_btn.clicked.connect(self.train_requested)
        self.pause_btn.clicked.connect(self.pause_requested)
        self.resume_btn.clicked.connect(self.resume_requested)
        self.stop_btn.clicked.connect(self.stop_requested)
        btns = QHBoxLayout()
        for b in (self.train_btn, self.pause_btn, self.resume_btn, self.stop_btn):
            btns.addWidget(b)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.counters = QLabel("epoch – · batch –")
        self.eta = QLabel("ETA –")
        self.eta.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        row = QHBoxLayout()
        row.addWidget(self.counters, 1)
        row.addWidget(self.eta)
        self.state_label = QLabel(STATE_TEXT["idle"])
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
        self._t0: float | None = None
        self._s0 = 0
        self._sync_enabled()
        self.set_state("idle")

    # ------------------------------------------------------------------ settings
    def _sync_enabled(self, *_):
        idle = self.state in ("idle", "failed")
        self.momentum.setEnabled(idle and self.optimizer.currentText() in ("sgd", "rmsprop"))
        for w in (self.monitor, self.patience, self.restore_best):
            w.setEnabled(idle and self.early.isChecked())

    @staticmethod
    def _number(edit: QLineEdit, name: str) -> float:
        text = edit.text().strip().replace(",", ".")
        try:
            v = float(text)
        except ValueError:
            raise TrainError(f"{name} must be a number, got '{edit.text()}'") from None
        if not math.isfinite(v):
            raise TrainError(f"{name} must be a finite number")
        return v

    def config(self) -> TrainConfig:
        """The form as a validated :class:`TrainConfig`; raises :class:`TrainError` with a plain message."""
        return TrainConfig(
            epochs=self.epochs.value(), batch_size=self.batch_size.value(),
            optimizer=self.optimizer.currentText(), lr=self._number(self.lr, "learning rate"),
            momentum=self.momentum.value(), loss=self.loss.currentData(),
            l1=self._number(self.l1, "L1 penalty"), l2=self._number(self.l2, "L2 penalty"),
            schedule=self.schedule.currentText(), clip_norm=self._number(self.clip, "gradient clip"),
            early_stopping=self.early.isChecked(), monitor=self.monitor.currentText(),
            patience=self.patience.value(), restore_best=self.restore_best.isChecked(),
            seed=self.seed.value(), histograms=True)

    def set_config(self, data: dict | TrainConfig | None) -> None:
        """Show saved settings (unknown keys are ignored; bad values fall back to defaults)."""
        if isinstance(data, TrainConfig):
            c = data
        else:
            try:
                c = TrainConfig.from_dict({k: v for k, v in (data or {}).items()
                                           if k in TrainConfig.__dataclass_fields__})
            except (TrainError, TypeError, ValueError):
                c = TrainConfig()
        i = self.loss.findData(c.loss)
        self.loss.setCurrentIndex(max(i, 0))
        self.optimizer.setCurrentText(c.optimizer)
        self.lr.setText(f"{c.lr:g}")
        self.momentum.setValue(c.momentum)
        self.schedule.setCurrentText(c.schedule)
        self.batch_size.setValue(c.batch_size)
        self.epochs.setValue(c.epochs)
        self.l1.setText(f"{c.l1:g}")
        self.l2.setText(f"{c.l2:g}")
        self.clip.setText(f"{c.clip_norm:g}")
        self.early.setChecked(c.early_stopping)
        if self.monitor.findText(c.monitor) < 0:
            self.monitor.addItem(c.monitor)
        self.monitor.setCurrentText(c.monitor)
        self.patience.setValue(c.patience)
        self.restore_best.setChecked(c.restore_best)
        self.seed.setValue(c.seed)

    def set_output_info(self, output_activation: str | None, n_outputs: int, task: str | None) -> None:
        """Follow the output layer: say which loss "auto" means and pick a fitting monitor."""
        name = default_loss_for(output_activation, int(n_outputs), task)
        self.loss.setItemText(0, f"auto — {name} ({LOSS_LABELS.get(name, name)})")
        if not self.early.isChecked():
            self.monitor.setCurrentText("val_loss")

    @property
    def continue_training(self) -> bool:
        return self.continue_box.isChecked()

    # ------------------------------------------------------------------ state
    def set_state(self, state: str) -> None:
        self.state = state
        train, pause, resume, stop = BUTTONS.get(state, BUTTONS["idle"])
        self.train_btn.setEnabled(train)
        self.pause_btn.setEnabled(pause)
        self.resume_btn.setEnabled(resume)
        self.stop_btn.setEnabled(stop)
        idle = state in ("idle", "failed")
        self.settings_box.setEnabled(idle)
        self.pause_btn.setVisible(state != "paused")
        self.resume_btn.setVisible(state == "paused")
        self.state_label.setText(STATE_TEXT.get(state, state))
        if state == "compiling":
            self.message.setText("")
            self.progress.setRange(0, 0)  # busy indicator until the first batch
        elif state in ("idle", "failed"):
            self.progress.setRange(0, 1000)
            if state == "idle" and self.progress.value() < 0:
                self.progress.setValue(0)
        self._sync_enabled()

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
        self._t0 = None
        self._s0 = 0
        self.counters.setText(f"epoch 1/{self._epochs} · batch 0/{self._steps_per_epoch}")
        self.eta.setText("ETA –")
        self.status.setText(f"{ev.n_train:,} training and {ev.n_val:,} validation samples · "
                            f"{ev.n_params:,} parameters · loss {ev.loss}")

    def on_batch(self, ev) -> None:
        """A ``BatchEnded`` event: progress, counters, ETA and speed.

        The ETA clock starts at the first batch report, i.e. after the compile step,
        so JIT warm-up does not inflate it."""
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1000)
        total = max(self._total_steps, ev.step)
        self.progress.setValue(int(1000 * ev.step / total))
        b = int(round(ev.epoch_progress * self._steps_per_epoch))
        self.counters.setText(f"epoch {ev.epoch}/{self._epochs} · batch {b}/{self._steps_per_epoch}")
        now = self._clock()
        if self._t0 is None:
            self._t0, self._s0 = now, ev.step
        elif ev.step > self._s0 and now > self._t0:
            rate = (ev.step - self._s0) / (now - self._t0)
            self.eta.setText("ETA " + format_eta((total - ev.step) / rate))
        if self.state == "running":
            self.status.setText(f"{ev.samples_per_s:,.0f} samples/s · loss {ev.loss:.4g}")

    def on_epoch(self, ev) -> None:
        logs = ev.logs
        parts = [f"epoch {ev.epoch}: loss {logs.get('loss', float('nan')):.4g}"]
        for k in ("val_loss", "accuracy", "val_accuracy", "mae", "val_mae", "r2", "val_r2"):
            if k in logs and isinstance(logs[k], (int, float)):
                parts.append(f"{k} {logs[k]:.4g}")
        parts.append(f"{ev.samples_per_s:,.0f} samples/s")
        self.status.setText(" · ".join(parts))

    def on_finished(self, ev) -> None:
        if ev.reason == "completed":
            self.progress.setValue(1000)
            self.eta.setText("done")
        else:
            self.eta.setText("")
