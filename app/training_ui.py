"""Puts training into the main window: Data and Training docks, the plots dock, wiring.

``install_training_ui(window) -> TrainingController`` needs from the window:
``add_panel(title, widget, area)``, ``document`` (GraphDocument), ``actions``
(with ``"train"``) and optionally ``undo_stack``, ``show_message(text)``,
``project.mark_dirty()``.  It sets ``window.training`` (the controller) and
``window.training_ui`` (this module's :class:`TrainingUI`).

The window's ``closeEvent`` must call ``self.training.shutdown(5000)`` once
closing is decided (it stops the run and joins the worker threads);
``QApplication.aboutToQuit`` is hooked as a fallback.
"""
from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QScrollArea,
    QStyle,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.training_controller import DataLoader, TrainingController
from app.workers import load_dataset_for
from engine.data import DataError, DataSpec
from engine.i18n import message as engine_message
from engine.i18n import tr as engine_tr
from engine.jobs.progress import Clock
from engine.trainer import TrainConfig, TrainError
from widgets.confusion import ConfusionView
from widgets.data_panel import DataPanel
from widgets.decision_boundary import DecisionBoundaryView
from widgets.histograms import WeightHistograms
from widgets.plots import TrainingCurves
from widgets.training_panel import TrainingPanel

#: window actions that edit the graph or replace the document: disabled while training
LOCKED_ACTIONS = ("new", "open", "undo", "redo", "paste", "duplicate", "delete", "auto_layout")
#: the views (weights, boundary, confusion, panel counters, status line) redraw at most this often
FRAME_MS = 100
# a view shown (tab switch) draws what it missed this long after its first paint
CATCH_UP_MS = 30
#: state -> enabled (pause/resume, stop, step, reset) for the toolbar and Model menu
RUN_ACTIONS = {
    "idle": (False, False, True, True),
    "failed": (False, False, True, True),
    "compiling": (False, True, False, False),
    "running": (True, True, False, False),
    "pausing": (False, True, False, False),
    "paused": (True, True, True, False),
    "stopping": (False, False, False, False),
}


class Banner(QFrame):
    """A non-modal message above the plots (errors, divergence); the user closes it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("training_banner")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip(self.tr("Hide this message"))
        close.clicked.connect(self.hide)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        lay.addWidget(self.label, 1)
        lay.addWidget(close, 0, Qt.AlignTop)
        self.hide()

    def show_message(self, text: str, error: bool = True) -> None:
        back, fore = ("#fde8e8", "#8a1f1f") if error else ("#fff6dd", "#6b4d00")
        self.setStyleSheet(f"#training_banner {{ background: {back}; border-radius: 4px; }}"
                           f"#training_banner QLabel {{ color: {fore}; }}")
        self.label.setText(text)
        self.show()


def _preview_job(spec: DataSpec):
    """The worker function for a data preview (runs off the GUI thread): the source's own preview."""
    def job(progress, cancel):
        from engine.data.sources import source_for
        return source_for(spec).preview(spec, cancel)
    return job


def _load_job(spec: DataSpec):
    def job(progress, cancel):
        return spec, load_dataset_for(spec, progress=progress, cancel=cancel)
    return job


class TrainingUI(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.controller = TrainingController(self.document, self)
        self.loader = DataLoader(self)
        self.controller.add_shutdown_hook(self.loader.shutdown)
        self.loaded_spec: dict | None = None
        self._locked: dict[str, bool] = {}

        # ---- panels
        self.data_panel = DataPanel()
        self.training_panel = TrainingPanel()
        self.curves = TrainingCurves(draw_hidden=False)
        self.histograms = WeightHistograms()
        self.boundary = DecisionBoundaryView()
        self.confusion = ConfusionView()
        self.compare = QComboBox()
        self.compare.setToolTip(self.tr("Overlay an earlier run's per-epoch curves (dashed)"))
        self.compare.currentIndexChanged.connect(self._on_compare)
        self.compare.setMinimumContentsLength(16)
        self.compare.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.curves.add_toolbar_widgets(QLabel(self.tr("compare with")), self.compare)
        curves_tab = self.curves
        self.tabs = QTabWidget()
        self.tabs.addTab(curves_tab, self.tr("Curves"))
        self.tabs.addTab(self.histograms, self.tr("Weights"))
        self.tabs.addTab(self.boundary, self.tr("Boundary"))
        self.tabs.addTab(self.confusion, self.tr("Confusion"))
        # English tab names (``--tab Weights`` for screenshots works in every language)
        for i, name in enumerate(("curves", "weights", "boundary", "confusion")):
            self.tabs.widget(i).setProperty("tab_name", name)
            # an opaque page: a plot that repaints (every frame) no longer makes Qt repaint the tab
            # frame, the dock and the window beneath it (their painted area in a P1-300 run with tab
            # switches: 14.1 -> 4.4 Mpx; docs/training.md)
            self.tabs.widget(i).setAutoFillBackground(True)
        self.tabs.setTabToolTip(0, self.tr("Loss and metrics per batch and per epoch"))
        self.tabs.setTabToolTip(1, self.tr("Weight histograms per layer"))
        self.tabs.setTabToolTip(2, self.tr("Decision boundary of a two-feature classifier"))
        self.tabs.setTabToolTip(3, self.tr("Confusion matrix on the validation set"))
        self.banner = Banner()
        plots_box = QWidget()
        box = QVBoxLayout(plots_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.banner)
        box.addWidget(self.tabs, 1)
        self.progress_line = QLabel("")
        self.progress_line.setObjectName("training_progress_line")
        if hasattr(window, "statusBar"):
            window.statusBar().addPermanentWidget(self.progress_line)
        # what the hidden views will show when they are shown (drawn at most once a frame)
        self._pending_boundary = None
        self._pending_confusion = None
        self._last_epoch = None
        self._epoch_drawn = None
        self._last_batch = None
        self._batch_drawn = None
        self._eta = Clock()             # epochs per second since the first batch, pauses left out
        self._epochs_total = 1
        self.frame_timer = QTimer(self)
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self.draw_frame)
        self.frame_timer.start()
        # a view that was just shown paints first (with what it had), then catches up in a later
        # event-loop pass: the two never add up to one long pause
        self._catch_up = QTimer(self)
        self._catch_up.setSingleShot(True)
        self._catch_up.setInterval(CATCH_UP_MS)
        self._catch_up.timeout.connect(self.draw_frame)

        add = window.add_panel
        # long forms scroll instead of forcing a minimum window height
        self.data_dock = add(QT_TRANSLATE_NOOP("Panels", "Data"), _scrolling(self.data_panel), Qt.RightDockWidgetArea)
        self.train_dock = add(QT_TRANSLATE_NOOP("Panels", "Training"), _scrolling(self.training_panel),
                              Qt.RightDockWidgetArea)
        self.plots_dock = add(QT_TRANSLATE_NOOP("Panels", "Training plots"), plots_box, Qt.BottomDockWidgetArea)
        if hasattr(window, "tabifyDockWidget"):
            window.tabifyDockWidget(self.data_dock, self.train_dock)
            self.train_dock.raise_()
        if hasattr(window, "resizeDocks"):
            window.resizeDocks([self.plots_dock], [330], Qt.Vertical)
            props = getattr(window, "properties_dock", None)
            if props is not None:
                window.resizeDocks([props, self.train_dock], [230, 420], Qt.Vertical)
                window.resizeDocks([props], [440], Qt.Horizontal)

        self.run_actions = self._make_run_actions()
        from app import drops
        if hasattr(window, "installEventFilter"):
            drops.install(window, self)   # a project, table, .npz or image folder dropped on the window
        self._wire()
        self._on_project_loaded()
        self._on_state(self.controller.state)

    # ------------------------------------------------------------------ toolbar and Model menu
    def _make_run_actions(self) -> dict[str, QAction]:
        w = self.window
        style = w.style() if hasattr(w, "style") else QApplication.style()
        specs = (
            ("pause", self.tr("&Pause"), "F6", self.tr("Pause training (weights and optimizer state are kept); "
                                                       "press again to resume"), QStyle.SP_MediaPause,
             self.toggle_pause),
            ("stop", self.tr("&Stop"), "Shift+F5", self.tr("Stop training and keep the weights trained so far"),
             QStyle.SP_MediaStop, self.controller.stop),
            ("step", self.tr("Ste&p one epoch"), "F10", self.tr("Train exactly one epoch, then pause"),
             QStyle.SP_MediaSkipForward, self.step_training),
            ("reset", self.tr("&Reset weights"), "Ctrl+Shift+R",
             self.tr("Forget the trained weights: the next run starts from the same initial weights (same seed)"),
             QStyle.SP_BrowserReload, self.reset_weights),
            ("reinit", self.tr("Re-initialise with a &new seed"), None,
             self.tr("Forget the trained weights and use the next seed: different initial weights"),
             None, self.reinitialise),
        )
        acts: dict[str, QAction] = {}
        for name, text, key, tip, icon, slot in specs:
            a = QAction(text, w if isinstance(w, QObject) else None)
            if key:
                a.setShortcut(QKeySequence(key))
            a.setToolTip(tip + (f" ({key})" if key else ""))
            a.setStatusTip(tip)
            if icon is not None:
                a.setIcon(style.standardIcon(icon))
            a.triggered.connect(slot)
            if hasattr(w, "addAction"):
                w.addAction(a)
            acts[name] = a
            if hasattr(w, "actions") and isinstance(w.actions, dict):
                w.actions.setdefault(name, a)
        self._place_run_actions(acts)
        return acts

    def _place_run_actions(self, acts: dict[str, QAction]) -> None:
        """After the window's Train action: in the main toolbar and in the Model menu."""
        w = self.window
        train = getattr(w, "actions", {}).get("train") if isinstance(getattr(w, "actions", None), dict) else None
        if train is None or not hasattr(w, "findChildren"):
            return
        for container in list(w.findChildren(QToolBar)) + list(w.findChildren(QMenu)):
            items = container.actions()
            if train not in items:
                continue
            at = items.index(train) + 1
            before = items[at] if at < len(items) else None
            names = ("pause", "stop", "step") if isinstance(container, QToolBar) else \
                ("pause", "stop", "step", None, "reset", "reinit")
            for n in names:
                if n is None:
                    sep = QAction(container)
                    sep.setSeparator(True)
                    container.insertAction(before, sep)
                else:
                    container.insertAction(before, acts[n])

    def _on_state(self, state: str) -> None:
        pause, stop, step, reset = RUN_ACTIONS.get(state, RUN_ACTIONS["idle"])
        a = self.run_actions
        a["pause"].setEnabled(pause)
        a["pause"].setText(self.tr("&Resume") if state == "paused" else self.tr("&Pause"))
        style = self.window.style() if hasattr(self.window, "style") else QApplication.style()
        a["pause"].setIcon(style.standardIcon(QStyle.SP_MediaPlay if state == "paused" else QStyle.SP_MediaPause))
        a["stop"].setEnabled(stop)
        a["step"].setEnabled(step and (state == "paused" or self._can_train()))
        for n in ("reset", "reinit"):
            a[n].setEnabled(reset)
            a[n].setToolTip(a[n].statusTip() if reset else self.tr("Stop the run first"))
        if state == "paused":
            self._eta.pause()
            self.draw_frame()
            self.progress_line.setText(self._progress_text())
        else:
            self._eta.resume()
        if state in ("idle", "failed"):
            self.draw_frame()
            self.progress_line.setText(self._progress_text(final=True))

    def _can_train(self) -> bool:
        blocker = self.document.train_blocker() if hasattr(self.document, "train_blocker") else None
        return blocker is None

    def toggle_pause(self) -> None:
        if self.controller.state == "paused":
            self.controller.resume()
        else:
            self.controller.pause()

    def step_training(self) -> bool:
        """Paused: one more epoch.  Idle: start a run from the current weights that pauses after one epoch."""
        if self.controller.state == "paused":
            return self.controller.step()
        if self.controller.running:
            return False
        return self.start_training(step=True)

    def reset_weights(self) -> None:
        """Drop the trained weights; the next run starts from the seed's initial weights."""
        if self.controller.running:
            return
        self.document.set_weights(None)
        self.curves.reset()
        self.histograms.reset()
        self.boundary.clear()
        self.confusion.clear()
        self._pending_boundary = self._pending_confusion = None
        self._last_epoch = self._epoch_drawn = self._last_batch = None
        self.progress_line.setText("")
        try:
            seed = self.training_panel.config().seed
        except (TrainError, DataError):
            seed = None
        text = (self.tr("weights reset: the next run starts from the initial weights of seed {seed}").format(seed=seed)
                if seed is not None else self.tr("weights reset"))
        self.training_panel.set_status(text)
        self._message(text)

    def reinitialise(self) -> None:
        """A new seed (the current one + 1) and no trained weights."""
        if self.controller.running:
            return
        tp = self.training_panel
        try:
            cfg = tp.config().to_dict()
        except (TrainError, DataError) as exc:
            tp.show_error(engine_message(exc))
            return
        cfg["seed"] = int(cfg.get("seed", 0)) + 1
        tp.set_config(cfg)
        self.reset_weights()

    # ------------------------------------------------------------------ the frame
    def _shown(self, view: QWidget) -> bool:
        return view.isVisible() and self.tabs.currentWidget() is view

    def _update_wanted(self, *_) -> None:
        self.controller.set_boundary_wanted(self._shown(self.boundary))
        self._catch_up.start()

    def draw_frame(self) -> None:
        """Draw what changed since the last frame, in the views that are shown; hidden ones wait."""
        if self._pending_boundary is not None and self._shown(self.boundary):
            payload, self._pending_boundary = self._pending_boundary, None
            self.boundary.set_payload(payload)
        if self._pending_confusion is not None and self._shown(self.confusion):
            args, self._pending_confusion = self._pending_confusion, None
            self.confusion.set_matrix(*args)
        if self._shown(self.histograms):
            self.histograms.redraw()
        b = self._last_batch
        if b is not None and b is not self._batch_drawn:
            # once a frame: a progress bar repaints the window synchronously on every setValue
            self._batch_drawn = b
            self.training_panel.on_batch(b)
        ev = self._last_epoch
        if ev is not None and ev is not self._epoch_drawn:
            self._epoch_drawn = ev
            self.training_panel.on_epoch(ev)
        if self.controller.running:
            self.progress_line.setText(self._progress_text())

    def _progress_text(self, final: bool = False) -> str:
        ev, b = self._last_epoch, self._last_batch
        if ev is None and b is None:
            return ""
        epoch = ev.epoch if ev is not None else (b.epoch - 1 if b is not None else 0)
        paused = not final and self._eta.paused
        if paused:   # no speed or ETA while nothing runs
            parts = [self.tr("paused at epoch {n}/{total}").format(n=epoch, total=self._epochs_total)]
        else:
            parts = [self.tr("epoch {n}/{total}").format(n=epoch, total=self._epochs_total)]
        loss = ev.logs.get("loss") if ev is not None else (b.loss if b is not None else None)
        if isinstance(loss, (int, float)):
            parts.append(self.tr("loss {v}").format(v=f"{loss:.4g}"))
        if paused:
            return " · ".join(parts)
        sps = b.samples_per_s if b is not None else (ev.samples_per_s if ev is not None else None)
        if sps:
            parts.append(self.tr("{v} samples/s").format(v=f"{sps:,.0f}"))
        left = None if final else self._eta.eta(epoch, self._epochs_total)
        if left is not None:
            from widgets.training_panel import format_eta
            parts.append(self.tr("ETA {t}").format(t=format_eta(left)))
        return " · ".join(parts)

    # ------------------------------------------------------------------ wiring
    def _wire(self) -> None:
        c, tp, dp = self.controller, self.training_panel, self.data_panel
        train = self.window.actions.get("train")
        if train is not None:
            train.triggered.connect(self.start_training)
        tp.train_requested.connect(self.start_training)
        tp.pause_requested.connect(c.pause)
        tp.resume_requested.connect(c.resume)
        tp.stop_requested.connect(c.stop)
        c.state_changed.connect(tp.set_state)
        c.state_changed.connect(self._on_state)
        self.tabs.currentChanged.connect(self._update_wanted)
        self.plots_dock.visibilityChanged.connect(self._update_wanted)
        c.running_changed.connect(self._lock_editing)
        c.status_changed.connect(tp.set_status)
        c.run_started.connect(self._on_run_started)
        c.batch_ended.connect(self.curves.add_batch)
        c.batch_ended.connect(self._on_batch)
        c.epoch_ended.connect(self._on_epoch)
        c.boundary_ready.connect(self._on_boundary)
        c.run_finished.connect(self._on_finished)
        c.run_failed.connect(self._on_failed)
        c.diverged.connect(tp.show_error)
        c.diverged.connect(self._on_diverged)
        c.state_changed.connect(lambda state: tp.show_error("") if state == "running" else None)
        c.history_changed.connect(self._fill_compare)
        c.data_loaded.connect(self._on_worker_loaded)

        dp.preview_requested.connect(lambda spec: self.loader.run("preview", _preview_job(spec)))
        dp.spec_chosen.connect(self.load_data)
        self.loader.result.connect(self._on_loader_result)
        self.loader.failed.connect(lambda tag, msg: dp.show_error(msg))
        self.loader.progress.connect(lambda tag, pct, text: dp.set_progress(pct, text) if tag == "load" else None)
        self.loader.busy_changed.connect(dp.set_busy)

        # every generated input: an edit is a change of the project.  Handled once the event is over
        # (one check per burst of signals), so set_config's field-by-field updates are not seen half done
        self._settings_timer = QTimer(self)
        self._settings_timer.setSingleShot(True)
        self._settings_timer.setInterval(0)
        self._settings_timer.timeout.connect(self._settings_edited)
        for w in tp.inputs.values():
            later = self._settings_timer.start
            if isinstance(w, QCheckBox):
                w.toggled.connect(later)
            elif isinstance(w, QAbstractSpinBox):
                w.valueChanged.connect(later)
            elif isinstance(w, QComboBox):
                w.currentIndexChanged.connect(later)
                if w.isEditable():
                    w.editTextChanged.connect(later)
            elif isinstance(w, QLineEdit):
                w.textChanged.connect(later)

        doc = self.document
        doc.changed.connect(self._on_graph_changed)
        if hasattr(doc, "project_loaded"):
            doc.project_loaded.connect(self._on_project_loaded)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ actions
    def _message(self, text: str) -> None:
        if hasattr(self.window, "show_message"):
            self.window.show_message(text)

    def data_for_run(self):
        """The loaded Dataset if it matches the Data panel, else the DataSpec (loaded on the worker)."""
        spec = self.data_panel.spec()
        if self.controller.dataset is not None and self.loaded_spec == spec.to_dict():
            return self.controller.dataset
        return spec

    def start_training(self, step: bool = False) -> bool:
        """Train (the window's Train action); ``step``: from the current weights, pause after one epoch."""
        if self.controller.running:
            return False
        tp = self.training_panel
        try:
            cfg = tp.config()
            data = self.data_for_run()
        except (TrainError, DataError) as exc:
            tp.show_error(engine_message(exc))
            return False
        tp.show_error("")
        weights = self.document.weights if (tp.continue_training or step) else None
        self.document.train_config = cfg.to_dict()
        if isinstance(data, DataSpec):
            self.document.data_spec = data.to_dict()
        self.banner.hide()
        return self.controller.start(cfg, data, weights=weights, step=step)

    def load_data(self, spec: DataSpec) -> None:
        self.loader.run("load", _load_job(spec))

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        return self.controller.shutdown(timeout_ms)

    # ------------------------------------------------------------------ slots
    def _lock_editing(self, running: bool) -> None:
        w = self.window
        acts = getattr(w, "actions", {})
        names = [n for n in acts if n in LOCKED_ACTIONS or n.startswith("template_")]
        summary = getattr(w, "status_summary", None)
        if summary is not None:   # "… ready to train" is not true while it trains; the progress line says what is
            summary.setVisible(not running)
        if running:
            self._locked = {n: acts[n].isEnabled() for n in names}
            for n in names:
                acts[n].setEnabled(False)
        else:
            for n, was in self._locked.items():
                if n in acts:
                    acts[n].setEnabled(was)
            stack = getattr(w, "undo_stack", None)
            if stack is not None:
                for n, can in (("undo", stack.canUndo()), ("redo", stack.canRedo())):
                    if n in acts:
                        acts[n].setEnabled(can)
            self._locked = {}
        for name in ("view", "property_editor", "layer_palette"):
            widget = getattr(w, name, None)
            if widget is not None:
                widget.setEnabled(not running)
        train = acts.get("train")
        if train is not None:
            blocker = self.document.train_blocker() if hasattr(self.document, "train_blocker") else None
            train.setEnabled(not running and blocker is None)
        self.data_panel.setEnabled(not running)
        self._message(self.tr("training: the graph is locked until the run ends (Stop to end it)") if running
                      else self.tr("training ended: the graph can be edited again"))

    def _on_run_started(self, ev) -> None:
        self._pending_boundary = self._pending_confusion = None
        self._last_epoch = self._epoch_drawn = self._last_batch = None
        self._epochs_total = int(ev.epochs)
        self._eta = Clock()
        self.curves.start(ev)
        self.histograms.reset()
        self.boundary.clear()
        self.confusion.clear()
        self.training_panel.on_started(ev)

    def _on_batch(self, ev) -> None:
        self._last_batch = ev
        self._eta.report(ev.epoch - 1)

    def _on_epoch(self, ev) -> None:
        """Every epoch: buffers only (cheap); the views draw at the next frame, if shown."""
        self.curves.add_epoch(ev)
        self.histograms.store_epoch(ev)
        if ev.confusion is not None:
            names = getattr(self.controller.dataset, "class_names", None)
            self._pending_confusion = (ev.confusion, names, ev.epoch)
        self._last_epoch = ev

    def _on_boundary(self, payload) -> None:
        self._pending_boundary = payload

    def _on_diverged(self, message: str) -> None:
        self.banner.show_message(message, error=False)
        self._message(message)

    def _on_finished(self, ev) -> None:
        self.draw_frame()
        self.training_panel.on_finished(ev)
        project = getattr(self.window, "project", None)
        if project is not None and hasattr(project, "mark_dirty"):
            project.mark_dirty()

    def _on_failed(self, message: str) -> None:
        self.training_panel.show_error(message)
        self.banner.show_message(message)
        self._message(message)

    def _on_worker_loaded(self, dataset) -> None:
        spec = getattr(dataset, "spec", None)
        self.loaded_spec = spec.to_dict() if hasattr(spec, "to_dict") else None
        self._show_dataset(dataset)

    def _on_loader_result(self, tag: str, value) -> None:
        dp = self.data_panel
        if tag == "preview":
            dp.show_preview(value)
        elif tag == "load":
            spec, dataset = value
            self.controller.dataset = dataset
            self.loaded_spec = spec.to_dict()
            self.document.data_spec = spec.to_dict()
            self._show_dataset(dataset)

    def _show_dataset(self, dataset) -> None:
        try:
            self.data_panel.set_loaded(dataset.summary(), getattr(dataset, "report", None))
        except Exception:  # noqa: BLE001 - a summary is informative only
            pass
        self._on_graph_changed()
        shape = tuple(getattr(dataset, "input_shape", ()))
        analysis = getattr(self.document, "analysis", None)
        if analysis is not None and analysis.ok and analysis.inputs and not getattr(dataset, "input_shapes", None):
            want = analysis.shapes.get(analysis.inputs[0])
            if want is not None:
                from engine.model import shape_problem  # noqa: PLC0415 - the trainer's own wording

                problem = shape_problem(want, shape)
                if problem:
                    self.training_panel.show_error(engine_tr(problem))

    def _on_graph_changed(self) -> None:
        a = getattr(self.document, "analysis", None)
        if a is None or not a.ok or a.output is None:
            return
        try:
            act = a.layers[a.output].output_activation()
            shape = a.shapes.get(a.output) or (1,)
            n_out = 1
            for s in shape:
                n_out *= int(s)
        except Exception:  # noqa: BLE001
            return
        task = getattr(self.controller.dataset, "task", None)
        self.training_panel.set_output_info(act, n_out, task)

    def _settings_edited(self, *_) -> None:
        """Keep the document's training settings equal to the panel's (so Save keeps them without a run);
        a real change marks the project modified.  A half-typed number changes nothing."""
        doc = self.document
        try:
            cfg = self.training_panel.config().to_dict()
        except (TrainError, ValueError, TypeError):
            return
        try:
            old = TrainConfig.from_dict(doc.train_config).to_dict() if doc.train_config else None
        except (TrainError, ValueError, TypeError):
            old = None
        if cfg == old:
            return
        doc.train_config = cfg
        project = getattr(self.window, "project", None)
        if hasattr(project, "mark_dirty"):
            project.mark_dirty()

    def _on_project_loaded(self) -> None:
        """A project was opened (or File > New): the panels and plots show that project, nothing of the last one.

        Its training settings (defaults when it has none), its data source with the target and features
        (the preview is read again), and its last run's per-epoch curves.
        """
        doc = self.document
        tp, dp = self.training_panel, self.data_panel
        tp.set_config(doc.train_config if getattr(doc, "train_config", None) else TrainConfig().to_dict())
        self._settings_timer.stop()   # loading the form is not an edit
        if getattr(doc, "data_spec", None):
            dp.set_spec(doc.data_spec)
            if dp.wants_preview():
                dp._request_preview()   # fills the target and feature list with the saved choice
        else:
            dp.reset()
        self.controller.dataset = None
        self.loaded_spec = None
        self._clear_views()
        tp.show_error("")
        tp.set_status("")
        self._fill_compare()
        history = self.controller.history
        if history:
            self.show_saved_run(history[-1])
        self._on_graph_changed()

    def _clear_views(self) -> None:
        self.curves.reset()
        self.histograms.reset()
        self.boundary.clear()
        self.confusion.clear()
        self.banner.hide()
        self._pending_boundary = self._pending_confusion = None
        self._last_epoch = self._epoch_drawn = self._last_batch = self._batch_drawn = None
        self.progress_line.setText("")

    def show_saved_run(self, run: dict) -> None:
        """A history record's per-epoch curves as the current curves (a reopened project's last run)."""
        from types import SimpleNamespace
        rows = [r for r in (run.get("epochs") or []) if isinstance(r, dict)]
        self.curves.reset()
        for row in rows:
            logs = {k: v for k, v in row.items() if k not in ("epoch", "seconds")}
            self.curves.add_epoch(SimpleNamespace(epoch=row.get("epoch", len(self.curves.epochs) + 1), logs=logs))
        if rows:
            name = run.get("name") or ""
            name = self.tr("Run {n}").format(n=name[4:]) if name.startswith("Run ") else name
            self.training_panel.set_status(self.tr("{name}: {n} epochs, {reason} (saved with the project)").format(
                name=name, n=len(rows), reason=engine_tr(str(run.get("reason", "?")))))

    def _fill_compare(self) -> None:
        history = self.controller.history
        self.compare.blockSignals(True)
        current = self.compare.currentData()
        self.compare.clear()
        self.compare.addItem(self.tr("none"), -1)
        for i, run in enumerate(history):
            n = len(run.get("epochs") or [])
            name = run.get("name") or self.tr("Run {n}").format(n=i + 1)
            name = self.tr("Run {n}").format(n=name[4:]) if name.startswith("Run ") else name
            self.compare.addItem(self.tr("{name} ({n} epochs, {reason})").format(
                name=name, n=n, reason=engine_tr(str(run.get("reason", "?")))), i)
        idx = self.compare.findData(current) if current is not None else 0
        self.compare.setCurrentIndex(max(idx, 0))
        self.compare.blockSignals(False)
        self._on_compare()

    def _on_compare(self, *_):
        i = self.compare.currentData()
        history = self.controller.history
        run = history[i] if isinstance(i, int) and 0 <= i < len(history) else None
        self.curves.set_overlay(run)


def _scrolling(widget: QWidget) -> QScrollArea:
    for combo in widget.findChildren(QComboBox):  # long item texts must not widen the dock
        combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(8)
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    return area


def install_training_ui(window) -> TrainingController:
    """Create the Data, Training and plot docks in ``window`` and wire them; returns the controller."""
    ui = TrainingUI(window)
    window.training = ui.controller
    window.training_ui = ui
    return ui.controller
