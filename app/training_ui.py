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

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (QApplication, QComboBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QTabWidget,
                               QVBoxLayout, QWidget)

from app.training_controller import TrainingController, DataLoader
from app.workers import load_dataset_for
from engine.data import DataError, DataSpec
from engine.trainer import TrainError
from widgets.confusion import ConfusionView
from widgets.data_panel import DataPanel
from widgets.decision_boundary import DecisionBoundaryView
from widgets.histograms import WeightHistograms
from widgets.plots import TrainingCurves
from widgets.training_panel import TrainingPanel

#: window actions that edit the graph or replace the document: disabled while training
LOCKED_ACTIONS = ("new", "open", "undo", "redo", "paste", "duplicate", "delete", "auto_layout")
THUMBS_PER_CLASS = 6


def _preview_job(spec: DataSpec):
    """The worker function for a data preview (runs off the GUI thread)."""
    def job(progress, cancel):
        from engine.data import load_image, preview_csv, scan_image_folder
        if spec.kind == "csv":
            return ("csv", preview_csv(spec.path))
        scan = scan_image_folder(spec.path)
        thumbs = {}
        mode = "L" if scan.get("grayscale") else "RGB"
        for cls, paths in (scan.get("samples") or {}).items():
            if cancel.is_set():
                break
            imgs = []
            for p in paths[:THUMBS_PER_CLASS]:
                try:
                    imgs.append(load_image(p, size=(48, 48), mode=mode))
                except (ValueError, OSError):
                    continue
            thumbs[cls] = imgs
        return ("images", scan, thumbs)
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
        self.curves = TrainingCurves()
        self.histograms = WeightHistograms()
        self.boundary = DecisionBoundaryView()
        self.confusion = ConfusionView()
        self.compare = QComboBox()
        self.compare.setToolTip("Overlay an earlier run's per-epoch curves (dashed)")
        self.compare.currentIndexChanged.connect(self._on_compare)
        self.compare.setMinimumContentsLength(16)
        self.compare.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.curves.add_toolbar_widgets(QLabel("compare with"), self.compare)
        curves_tab = self.curves
        self.tabs = QTabWidget()
        self.tabs.addTab(curves_tab, "Curves")
        self.tabs.addTab(self.histograms, "Weights")
        self.tabs.addTab(self.boundary, "Boundary")
        self.tabs.addTab(self.confusion, "Confusion")

        add = window.add_panel
        # long forms scroll instead of forcing a minimum window height
        self.data_dock = add("Data", _scrolling(self.data_panel), Qt.RightDockWidgetArea)
        self.train_dock = add("Training", _scrolling(self.training_panel), Qt.RightDockWidgetArea)
        self.plots_dock = add("Training plots", self.tabs, Qt.BottomDockWidgetArea)
        if hasattr(window, "tabifyDockWidget"):
            window.tabifyDockWidget(self.data_dock, self.train_dock)
            self.train_dock.raise_()
        if hasattr(window, "resizeDocks"):
            window.resizeDocks([self.plots_dock], [330], Qt.Vertical)
            props = getattr(window, "properties_dock", None)
            if props is not None:
                window.resizeDocks([props, self.train_dock], [230, 420], Qt.Vertical)
                window.resizeDocks([props], [440], Qt.Horizontal)

        self._wire()
        self._on_project_loaded()

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
        c.running_changed.connect(self._lock_editing)
        c.status_changed.connect(tp.set_status)
        c.run_started.connect(self._on_run_started)
        c.batch_ended.connect(self.curves.add_batch)
        c.batch_ended.connect(tp.on_batch)
        c.epoch_ended.connect(self._on_epoch)
        c.boundary_ready.connect(self.boundary.set_payload)
        c.run_finished.connect(self._on_finished)
        c.run_failed.connect(self._on_failed)
        c.diverged.connect(tp.show_error)
        c.state_changed.connect(lambda state: tp.show_error("") if state == "running" else None)
        c.history_changed.connect(self._fill_compare)
        c.data_loaded.connect(self._on_worker_loaded)

        dp.preview_requested.connect(lambda spec: self.loader.run("preview", _preview_job(spec)))
        dp.spec_chosen.connect(self.load_data)
        self.loader.result.connect(self._on_loader_result)
        self.loader.failed.connect(lambda tag, msg: dp.show_error(msg))
        self.loader.progress.connect(lambda tag, pct, text: dp.set_progress(pct, text) if tag == "load" else None)
        self.loader.busy_changed.connect(dp.set_busy)

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

    def start_training(self) -> bool:
        if self.controller.running:
            return False
        tp = self.training_panel
        try:
            cfg = tp.config()
            data = self.data_for_run()
        except (TrainError, DataError) as exc:
            tp.show_error(str(exc))
            return False
        tp.show_error("")
        weights = self.document.weights if tp.continue_training else None
        self.document.train_config = cfg.to_dict()
        if isinstance(data, DataSpec):
            self.document.data_spec = data.to_dict()
        return self.controller.start(cfg, data, weights=weights)

    def load_data(self, spec: DataSpec) -> None:
        self.loader.run("load", _load_job(spec))

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        return self.controller.shutdown(timeout_ms)

    # ------------------------------------------------------------------ slots
    def _lock_editing(self, running: bool) -> None:
        w = self.window
        acts = getattr(w, "actions", {})
        names = [n for n in acts if n in LOCKED_ACTIONS or n.startswith("template_")]
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
        self._message("training: the graph is locked until the run ends (Stop to end it)" if running
                      else "training ended: the graph can be edited again")

    def _on_run_started(self, ev) -> None:
        self.curves.start(ev)
        self.histograms.reset()
        self.boundary.clear()
        self.confusion.clear()
        self.training_panel.on_started(ev)

    def _on_epoch(self, ev) -> None:
        self.curves.add_epoch(ev)
        self.histograms.add_epoch(ev)
        if ev.confusion is not None:
            names = getattr(self.controller.dataset, "class_names", None)
            self.confusion.set_matrix(ev.confusion, names, ev.epoch)
        self.training_panel.on_epoch(ev)

    def _on_finished(self, ev) -> None:
        self.training_panel.on_finished(ev)
        project = getattr(self.window, "project", None)
        if project is not None and hasattr(project, "mark_dirty"):
            project.mark_dirty()

    def _on_failed(self, message: str) -> None:
        self.training_panel.show_error(message)
        self._message(message)

    def _on_worker_loaded(self, dataset) -> None:
        spec = getattr(dataset, "spec", None)
        self.loaded_spec = spec.to_dict() if hasattr(spec, "to_dict") else None
        self._show_dataset(dataset)

    def _on_loader_result(self, tag: str, value) -> None:
        dp = self.data_panel
        if tag == "preview":
            if value[0] == "csv":
                dp.show_csv_preview(value[1])
            else:
                dp.show_image_preview(value[1], value[2])
        elif tag == "load":
            spec, dataset = value
            self.controller.dataset = dataset
            self.loaded_spec = spec.to_dict()
            self.document.data_spec = spec.to_dict()
            self._show_dataset(dataset)

    def _show_dataset(self, dataset) -> None:
        try:
            self.data_panel.set_loaded(dataset.summary())
        except Exception:  # noqa: BLE001 - a summary is informative only
            pass
        self._on_graph_changed()
        shape = tuple(getattr(dataset, "input_shape", ()))
        analysis = getattr(self.document, "analysis", None)
        if analysis is not None and analysis.ok and analysis.inputs:
            want = analysis.shapes.get(analysis.inputs[0])
            if want is not None and tuple(want) != shape:
                self.training_panel.show_error(
                    f"the data has samples of shape {shape} but the Input layer expects {tuple(want)}; "
                    f"set the Input shape to {', '.join(map(str, shape))}")

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

    def _on_project_loaded(self) -> None:
        doc = self.document
        if getattr(doc, "train_config", None):
            self.training_panel.set_config(doc.train_config)
        if getattr(doc, "data_spec", None):
            self.data_panel.set_spec(doc.data_spec)
        self.controller.dataset = None
        self.loaded_spec = None
        self._fill_compare()
        self._on_graph_changed()

    def _fill_compare(self) -> None:
        history = self.controller.history
        self.compare.blockSignals(True)
        current = self.compare.currentData()
        self.compare.clear()
        self.compare.addItem("none", -1)
        for i, run in enumerate(history):
            n = len(run.get("epochs") or [])
            self.compare.addItem(f"{run.get('name', f'Run {i + 1}')} ({n} epochs, {run.get('reason', '?')})", i)
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
