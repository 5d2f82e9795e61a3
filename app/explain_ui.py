"""Puts the Analyze panel into the main window: ``install(window) -> ExplainUI``.

Needs from the window: ``document`` (GraphDocument), ``add_panel(title, widget, area)`` and
optionally ``view`` (its ``selection_changed`` and ``graph_scene.select_nodes``),
``training`` (``add_shutdown_hook``), ``panels``, ``after_first_show``, ``show_message``.

Analyze (the per-layer table; with trained weights and a data set also the checks on one
batch) and Explain sample (activations, saliency, unit maps, permutation importance) run
:mod:`engine.explain` on worker threads (:class:`app.training_controller.DataLoader`),
with progress and cancel; the GUI thread only takes snapshots of the document and shows
the plain results.  Clicking a layer on the canvas shows its activations.
"""
from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt

from app.export_controller import model_blocker
from app.job_dock import JobDock
from engine.i18n import message as engine_message
from engine.i18n import translate as engine_tr
from widgets.explain_panel import ExplainPanel

DOCK_TITLE = QT_TRANSLATE_NOOP("Panels", "Analyze")


def _model(spec, weights):
    """The compiled model, with ``weights`` if given (runs on the worker); the same as the command line's."""
    from engine.jobs import trained_model
    from engine.model import compile_graph

    return trained_model(spec, weights) if weights else compile_graph(spec)


def _dataset(data_spec, pre, progress, cancel):
    from engine.data import DataSpec, load_dataset

    progress(None, QCoreApplication.translate("ExplainUI", "loading the data"))
    return load_dataset(DataSpec.from_dict(data_spec), progress=progress, cancel=cancel, preprocessing=pre)


def _check_shape(model, ds) -> None:
    from engine.explain import ExplainError
    from engine.model import input_shape_problem

    problem = input_shape_problem(model, ds.input_shape)
    if problem:
        raise ExplainError(problem)


def analyze_job(spec, weights, data_spec, pre, loss, batch_size: int):
    """Worker function of the Analyze button; the checks need weights and a data set."""
    def job(progress, cancel):
        from engine.data import DataError, LoadCancelled
        from engine.explain import ExplainCancelled, ExplainError, analyze

        model = _model(spec, weights)
        data, problem = None, None
        if weights and data_spec:
            try:
                data = _dataset(data_spec, pre, progress, cancel)
                _check_shape(model, data)
            except LoadCancelled:
                return None
            except (DataError, ExplainError) as exc:   # the table is still worth showing, without the checks
                data, problem = None, engine_message(exc)
            if cancel.is_set():
                return None
        try:
            result = analyze(spec, model, data, batch_size=batch_size, task=getattr(data, "task", None), loss=loss,
                             cancel=cancel, progress=progress)
        except ExplainCancelled:
            return None
        result["data_problem"] = problem
        return result
    return job


def explain_job(spec, weights, data_spec, pre, loss, options: dict, batch_size: int):
    """Worker function of the Explain sample button."""
    def job(progress, cancel):
        from engine.explain import ExplainCancelled
        from engine.explain.report import Options, explain

        ds = _dataset(data_spec, pre, progress, cancel)
        if cancel.is_set():
            return None
        model = _model(spec, weights)
        _check_shape(model, ds)
        opts = Options(split=options.get("split", "val"), sample=int(options.get("sample", 0)),
                       target=options.get("target"), method=options.get("method", "integrated_gradients"),
                       baseline=options.get("baseline", "zeros"), steps=int(options.get("steps", 32)),
                       importance=bool(options.get("importance", True)), batch_size=batch_size)
        try:
            return explain(model, ds, spec, options=opts, loss=loss, cancel=cancel, progress=progress)
        except ExplainCancelled:
            return None
    return job


class ExplainUI(JobDock):
    def __init__(self, window):
        super().__init__(window)
        self.panel = ExplainPanel()
        self.dock = window.add_panel(DOCK_TITLE, self.panel, Qt.BottomDockWidgetArea)
        self._running: str | None = None
        self._stale = False
        self._dock_beside_plots(self.dock)
        self._wire()
        self.refresh()

    # ------------------------------------------------------------------ setup
    def _wire(self) -> None:
        p, doc = self.panel, self.document
        p.analyze_requested.connect(self.analyze)
        p.explain_requested.connect(self.explain)
        p.cancel_requested.connect(self.cancel)
        p.node_chosen.connect(self._select_on_canvas)
        self._connect_jobs()
        doc.changed.connect(self.refresh)
        doc.weights_changed.connect(self._on_weights_changed)
        if hasattr(doc, "project_loaded"):
            doc.project_loaded.connect(self._on_project_loaded)
        view = getattr(self.window, "view", None)
        if view is not None and hasattr(view, "selection_changed"):
            view.selection_changed.connect(self._on_canvas_selection)

    # ------------------------------------------------------------------ rules
    def analyze_blocker(self) -> str | None:
        reason = self.document.train_blocker() if hasattr(self.document, "train_blocker") else None
        if reason:
            return self.tr("the graph has a problem ({why})").format(why=engine_tr(reason))
        if not self.document.spec.nodes:
            return self.tr("the graph is empty")
        return None

    def explain_blocker(self) -> str | None:
        reason = model_blocker(self.document)
        if reason:
            return reason
        if len(self.document.analysis.inputs) > 1:
            return self.tr("the model has several inputs; explain it from the command line")
        if not self.document.data_spec:
            return self.tr("no data set is recorded with this project: choose one in the Data panel and train")
        return None

    def refresh(self) -> None:
        self.panel.set_node_names({n.id: n.label for n in self.document.spec.nodes})
        self.panel.set_blocked(self.analyze_blocker(), self.explain_blocker())
        pre = self.document.preprocessing if isinstance(self.document.preprocessing, dict) else {}
        names = pre.get("class_names") or (self.document.metadata or {}).get("class_names")
        if self.panel.result is None:
            self.panel.set_classes(names)

    def _on_weights_changed(self) -> None:
        if self.panel.result is not None or self.panel.analysis is not None:
            self._stale = True
            self.panel.show_status(self.tr("The model changed since these results; analyze or explain again"))
        self.refresh()

    def _on_project_loaded(self) -> None:
        self.cancel()
        self.panel.clear()
        self.panel.show_status("")
        self.refresh()

    # ------------------------------------------------------------------ canvas
    def _on_canvas_selection(self, ids) -> None:
        if len(ids) == 1:
            self.panel.select_node(ids[0])

    def _select_on_canvas(self, nid: str) -> None:
        scene = getattr(getattr(self.window, "view", None), "graph_scene", None)
        if scene is not None and hasattr(scene, "select_nodes") and self.document.spec.has_node(nid):
            scene.select_nodes([nid])

    # ------------------------------------------------------------------ jobs
    def _loss(self) -> str | None:
        return (self.document.metadata or {}).get("loss") or (getattr(self.document, "train_config", None) or {}).get("loss")

    def _batch(self) -> int:
        cfg = getattr(self.document, "train_config", None) or {}
        try:
            return max(1, int(cfg.get("batch_size") or 32))
        except (TypeError, ValueError):
            return 32

    def _snapshot(self):
        doc = self.document
        pre = dict(doc.preprocessing) if isinstance(doc.preprocessing, dict) else None
        return doc.spec, (dict(doc.weights) if doc.weights else None), \
            (dict(doc.data_spec) if doc.data_spec else None), pre

    def analyze(self) -> bool:
        reason = self.analyze_blocker()
        if reason:
            self.panel.show_error(reason)
            return False
        spec, weights, data, pre = self._snapshot()
        self._start("analyze", analyze_job(spec, weights, data, pre, self._loss(), self._batch()),
                    self.tr("analysing the layers…"))
        return True

    def explain(self, options: dict | None = None) -> bool:
        reason = self.explain_blocker()
        if reason:
            self.panel.show_error(reason)
            return False
        spec, weights, data, pre = self._snapshot()
        self._start("explain", explain_job(spec, weights, data, pre, self._loss(),
                                           dict(options or self.panel.options()), self._batch()),
                    self.tr("explaining the sample…"))
        return True

    def _start(self, tag: str, fn, text: str) -> None:
        if self._running:
            self.loader.cancel(self._running)
        self._running = tag
        self.panel.set_busy(True, text)
        self.loader.run(tag, fn)

    def cancel(self) -> None:
        if self._running:
            self.loader.cancel(self._running)
            self._running = None
            self.panel.set_busy(False)
            self.panel.show_status(self.tr("cancelled"))

    def _on_progress(self, tag: str, pct: int, text: str) -> None:
        if tag == self._running:
            self.panel.set_progress(pct, self.tr("{what}…").format(what=text) if text else "")

    def _on_result(self, tag: str, value) -> None:
        if tag != self._running:
            return
        self._running = None
        self.panel.set_busy(False)
        if value is None:
            self.panel.show_status(self.tr("cancelled"))
            return
        self._stale = False
        if tag == "analyze":
            self.panel.show_analysis(value)
            n = sum(len(r["warnings"]) for r in value["layers"])
            if value.get("data_problem"):
                self.panel.show_status(self.tr("The data could not be loaded, so the checks were skipped: "
                                               "{reason}").format(reason=value["data_problem"]))
            else:
                self.panel.show_status(self.tr("{layers} layers analysed, {n} warnings").format(
                    layers=len(value["layers"]), n=n))
            self.panel.tabs.setCurrentIndex(0)
        else:
            self.panel.show_explanation(value)
            s = value["sample"]
            self.panel.show_status(self.tr("sample {i} of the {split} split explained").format(
                i=s["index"], split=self._split_name(s["split"])))
            if self.panel.tabs.currentIndex() == 0:
                self.panel.tabs.setCurrentIndex(1)

    def _split_name(self, split: str) -> str:
        return {"val": self.tr("validation"), "train": self.tr("training"), "test": self.tr("test")}.get(split, split)

    def _on_failed(self, tag: str, message: str) -> None:
        if tag != self._running:
            return
        self._running = None
        self.panel.set_busy(False)
        text = self.tr("Analysis failed: {reason}").format(reason=message)
        self.panel.show_error(text)
        self._message(text)


def install(window) -> ExplainUI:
    """Add the Analyze dock (the per-layer table, activations, saliency, importance) to ``window``."""
    ui = ExplainUI(window)
    window.explain_ui = ui
    return ui
