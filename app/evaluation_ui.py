"""Puts evaluation, prediction and export into the main window.

``install_evaluation_ui(window) -> EvaluationUI`` needs from the window:
``document`` (GraphDocument), ``add_panel(title, widget, area)``, ``actions`` (dict),
``menuBar()`` and optionally ``show_message(text, ms)``, ``project`` (ProjectController:
``show_error``, ``maybe_save``, ``load``, ``mark_dirty``), ``panels`` and ``training``
(its ``add_shutdown_hook`` is used so the window's close joins our worker threads).
It sets ``window.evaluation_ui`` and adds:

* File ▸ Export ▸ Weights (.npz) / Weights (.safetensors) / ONNX model / PyTorch code,
  and File ▸ Import weights… (see :mod:`app.export_controller`);
* Model ▸ Evaluate on test split;
* an "Evaluate and predict" dock with an Evaluate tab (metrics, per-class table, confusion
  matrix, most confident mistakes, regression scatter) and a Predict tab (one row or one
  image, or a whole file to CSV).

All engine work (data loading, compiling, forward passes, file writing) runs on worker
threads through :class:`app.training_controller.DataLoader`; the GUI thread only takes
snapshots of the document and shows plain results.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QTabWidget

from app.export_controller import ExportController, model_blocker
from app.job_dock import JobDock
from engine.data.sources import saved_form
from engine.i18n import translate as engine_tr
from widgets.evaluation_panel import EvaluationPanel
from widgets.predict_panel import IMAGE_SUFFIXES, PredictPanel

DOCK_TITLE = QT_TRANSLATE_NOOP("Panels", "Evaluate and predict")
GALLERY_SIZE = 24
PREVIEW_PX = 160
#: regression points kept with a saved evaluation (the scatter plot of a reopened project)
SAVED_POINTS = 500


def _plain(v):
    """``v`` with NumPy scalars and arrays turned into JSON types (for the project's metadata)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def saved_evaluation(value: dict) -> dict:
    """What of an evaluation result is saved with the project: the metrics, where, and up to
    :data:`SAVED_POINTS` regression points (no images)."""
    out = {k: value[k] for k in ("task", "split", "where", "n") if k in value}
    out["metrics"] = value.get("metrics", {})
    if value.get("task") == "regression":
        out["pred"] = np.asarray(value.get("pred", []), dtype=np.float64).reshape(-1)[:SAVED_POINTS]
        out["true"] = np.asarray(value.get("true", []), dtype=np.float64).reshape(-1)[:SAVED_POINTS]
    if isinstance(value.get("series"), dict):  # the plot over time: its first forecast, the last points
        s = value["series"]
        out["series"] = {"names": list(s.get("names", []))[:1], "x_kind": s.get("x_kind"),
                         "time_column": s.get("time_column"),
                         **{k: [list(s[k][0])[-SAVED_POINTS:]] for k in ("x", "pred", "true") if s.get(k)}}
    return _plain(out)


# ---------------------------------------------------------------------- worker-side helpers
def _compiled(spec, weights):
    """The trained model (runs on the worker); the same as the command line's."""
    from engine.jobs import trained_model
    return trained_model(spec, weights)


def display_images(x, pre: dict | None) -> np.ndarray:
    """Model-input images (N, H, W, C) -> uint8 for display (undoes the saved scaling)."""
    a = np.asarray(x, dtype=np.float32)
    pre = pre or {}
    if pre.get("scaling") == "standard" and pre.get("mean") is not None and pre.get("std") is not None:
        a = a * np.asarray(pre["std"], dtype=np.float32) + np.asarray(pre["mean"], dtype=np.float32)
    else:
        lo, hi = float(np.nanmin(a)) if a.size else 0.0, float(np.nanmax(a)) if a.size else 1.0
        if lo < 0.0 or hi > 1.0:  # unknown scaling: stretch to the visible range
            a = (a - lo) / (hi - lo if hi > lo else 1.0)
    return (np.clip(np.nan_to_num(a), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def split_name(split: str) -> str:
    """"test split", "validation split", "training split" in the UI language."""
    return {"test": QCoreApplication.translate("EvaluationUI", "test split"),
            "val": QCoreApplication.translate("EvaluationUI", "validation split"),
            "train": QCoreApplication.translate("EvaluationUI", "training split")}.get(split, split)


def evaluate_job(spec, weights, data_spec: dict, pre: dict | None, loss: str | None,
                 gallery: int = GALLERY_SIZE):
    """The worker function for the Evaluate button: :func:`engine.jobs.evaluate` (the same
    split policy and numbers as ``python main.py evaluate``) plus the images of the gallery."""
    def job(progress, cancel):
        from engine.jobs import evaluate

        def say(done, total):
            progress(done, engine_tr(total) if isinstance(total, str) else total)

        res = evaluate(spec, weights, data_spec, preprocessing=pre, loss=loss, split="auto", details=True,
                       gallery=gallery, progress=say, cancel=cancel)
        if res is None:
            return None
        res["where"] = engine_tr(res["where"])
        mis = res.pop("gallery", None)
        x, pre_used = res.pop("x", None), res.pop("preprocessing", None)
        if mis is not None:
            idx = np.asarray(mis["indices"], dtype=np.int64)
            imgs = display_images(x[idx], pre_used) if idx.size else []
            res["gallery"] = [{"image": imgs[i], "true": mis["true_names"][i], "predicted": mis["predicted_names"][i],
                               "confidence": mis["confidence"][i], "index": int(idx[i])}
                              for i in range(len(idx))]
        return res
    return job


def _task_names(model, pre: dict, metadata: dict) -> tuple[str, list[str] | None]:
    task = pre.get("task") or metadata.get("task")
    names = pre.get("class_names") or metadata.get("class_names")
    if task is None:
        task = "classification" if model.output_activation in ("softmax", "sigmoid") else "regression"
    return task, names


def _answer(model, x, pre: dict, metadata: dict) -> dict:
    from engine.evaluate import class_probabilities

    out = model.predict(x)
    task, names = _task_names(model, pre, metadata)
    if task == "classification":
        probs = class_probabilities(model, out)[0]
        if names is None or len(names) != len(probs):
            names = [str(i) for i in range(len(probs))]
        return {"kind": "probs", "names": [str(n) for n in names], "probs": probs, "x": x}
    return {"kind": "value", "values": np.asarray(out, dtype=np.float64).reshape(-1), "x": x}


def predict_row_job(spec, weights, pre: dict, metadata: dict, values: dict):
    def job(progress, cancel):
        import pandas as pd

        from engine.data import Preprocessor

        p = Preprocessor.from_dict(pre)
        df = pd.DataFrame([{k: ("" if v is None else str(v)) for k, v in values.items()}], dtype=object)
        x = p.transform_frame(df)
        return _answer(_compiled(spec, weights), x, pre, metadata)
    return job


def predict_image_job(spec, weights, pre: dict, metadata: dict, path: str):
    def job(progress, cancel):
        from PIL import Image

        from engine.data import DataError, Preprocessor, load_image
        from engine.data.images import transform_images

        p = Preprocessor.from_dict(pre)
        if not Path(path).is_file():
            raise DataError(QCoreApplication.translate("EvaluationUI", "{path} does not exist").format(path=path))
        x = transform_images(p, [path])
        res = _answer(_compiled(spec, weights), x, pre, metadata)
        original = load_image(path, None, "RGB")
        im = Image.fromarray(original)
        im.thumbnail((PREVIEW_PX, PREVIEW_PX))
        res.update({"path": path, "original": np.asarray(im), "model_input": display_images(x, pre)[0]})
        return res
    return job


def predict_file_job(spec, weights, project, src: str, out: str):
    def job(progress, cancel):
        from engine.evaluate import predict_file

        n = predict_file(_compiled(spec, weights), project, src, out)
        return {"n": int(n), "out": out, "src": src}
    return job


# ---------------------------------------------------------------------- the UI
class EvaluationUI(JobDock):
    evaluated = Signal(dict)          # the evaluate_job result
    predicted = Signal(dict)          # a row or image prediction
    file_predicted = Signal(str, int)  # output CSV, rows written
    failed = Signal(str, str)         # job ("evaluate" | "predict" | "image" | "file"), one-line message

    def __init__(self, window):
        super().__init__(window)
        self.export = ExportController(window, self)
        self._running: set[str] = set()
        self._form_pre: dict | None = None
        self._last_dir: str | None = None
        self._loading_project = False

        self.evaluation_panel = EvaluationPanel()
        self.predict_panel = PredictPanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.evaluation_panel, self.tr("Evaluate"))
        self.tabs.addTab(self.predict_panel, self.tr("Predict"))
        self.tabs.setTabToolTip(0, self.tr("Accuracy, per-class scores, confusion matrix and mistakes on held-out data"))
        self.tabs.setTabToolTip(1, self.tr("Ask the trained model about new rows, images or files"))
        self.dock = window.add_panel(DOCK_TITLE, self.tabs, Qt.BottomDockWidgetArea)
        self._dock_beside_plots(self.dock)

        self.evaluate_action = QAction(self.tr("&Evaluate on test split"), window)
        self.evaluate_action.triggered.connect(self._evaluate_from_menu)
        window.actions["evaluate"] = self.evaluate_action
        window.addAction(self.evaluate_action)
        self._install_menus()
        self._wire()
        self._on_project_loaded()
        self._loading_project = False   # the window's project was loaded before this UI existed

    # ------------------------------------------------------------------ setup
    def _menu(self, name: str, title: str) -> QMenu:
        """The window's menu with object name ``name`` (or title ``title``), else a new one."""
        mb = self.window.menuBar()
        for a in mb.actions():
            menu = a.menu()
            if menu is not None and (menu.objectName() == name or
                                     a.text().replace("&", "").lower() == title.replace("&", "").lower()):
                return menu
        menu = mb.addMenu(title)
        menu.setObjectName(name)
        return menu

    def _install_menus(self) -> None:
        self.export.install_menu(self._menu("menu_file", QCoreApplication.translate("MainWindow", "&File")))
        model = self._menu("menu_model", QCoreApplication.translate("MainWindow", "&Model"))
        model.setToolTipsVisible(True)
        model.addAction(self.evaluate_action)

    def _wire(self) -> None:
        ep, pp, doc = self.evaluation_panel, self.predict_panel, self.document
        ep.evaluate_requested.connect(self.evaluate)
        ep.cancel_requested.connect(self.cancel_evaluation)
        pp.predict_requested.connect(self.predict_row)
        pp.open_image_requested.connect(lambda: self.predict_image())
        pp.image_chosen.connect(self.predict_image)
        pp.file_predict_requested.connect(lambda: self.predict_file())
        self._connect_jobs()
        doc.weights_changed.connect(self._on_weights_changed)
        doc.changed.connect(self.refresh)
        doc.changed.connect(self._load_finished)
        if hasattr(doc, "project_loaded"):
            doc.project_loaded.connect(self._on_project_loaded)
        training = getattr(self.window, "training", None)
        if training is not None and hasattr(training, "run_finished"):
            training.run_finished.connect(self._after_training)
            training.run_failed.connect(self._after_training)

    # ------------------------------------------------------------------ rules
    def _input_problem(self) -> str | None:
        a = self.document.analysis
        pre = self.document.preprocessing
        named = isinstance(pre, dict) and bool(pre.get("input_shapes"))  # data that feeds named inputs
        if a.ok and len(a.inputs) > 1 and not named:
            return self.tr("the model has several inputs; evaluate and predict it from the command line")
        return None

    def evaluate_blocker(self) -> str | None:
        reason = model_blocker(self.document) or self._input_problem()
        if reason:
            return reason
        if not self.document.data_spec:
            return self.tr("no data set is recorded with this project (for example after importing weights): choose "
                           "one in the Data panel and train")
        return None

    def predict_blocker(self) -> str | None:
        reason = model_blocker(self.document) or self._input_problem()
        if reason:
            return reason
        pre = self.document.preprocessing
        if not getattr(saved_form(pre), "in_app", False):
            return self.tr("the project has no saved preprocessing: train the model on a data set first")
        a = self.document.analysis
        want = a.shapes.get(a.inputs[0]) if a.ok and a.inputs else None
        have = tuple(pre.get("input_shape") or ())
        if want is not None and have and tuple(want) != have:
            return self.tr("the Input layer expects {want} but the saved preprocessing gives {have}; "
                           "train again on the current data").format(want=tuple(want), have=have)
        return None

    def _after_training(self, *_) -> None:
        """Keep the preprocessing that the new weights were trained with in the document.

        (The training controller stores the weights; the transform fitted on its data set
        must travel with them, or prediction and export would use a stale one.)
        """
        training = getattr(self.window, "training", None)
        pre = getattr(getattr(training, "dataset", None), "preprocessing", None)
        if isinstance(pre, dict) and self.document.weights is not None and pre != self.document.preprocessing:
            self.document.preprocessing = copy.deepcopy(pre)
        meta = self.document.metadata or {}
        if "evaluation" in meta:   # it was about the weights before this run
            self.document.metadata = {k: v for k, v in meta.items() if k != "evaluation"}
        self.refresh()

    def refresh(self) -> None:
        pre = self.document.preprocessing if isinstance(self.document.preprocessing, dict) else None
        if pre != self._form_pre:  # a new transform (new data trained): rebuild the Predict inputs
            self._form_pre = copy.deepcopy(pre)
            self.predict_panel.set_preprocessing(pre)
        reason = self.evaluate_blocker()
        self.evaluation_panel.set_blocked(reason)
        self.evaluate_action.setEnabled(reason is None and "evaluate" not in self._running)
        tip = (self.tr("Cannot evaluate: {why}").format(why=reason) if reason
               else self.tr("Measure the trained model on the test split"))
        self.evaluate_action.setToolTip(tip)
        self.evaluate_action.setStatusTip(tip)
        self.predict_panel.set_blocked(self.predict_blocker())
        self.export.update_actions()

    def _on_weights_changed(self) -> None:
        if self._loading_project:   # the loaded project's own weights: its saved evaluation is about them
            return
        self.evaluation_panel.mark_stale()
        self.predict_panel.clear_result()
        self.refresh()

    def _on_project_loaded(self) -> None:
        self.evaluation_panel.clear()
        self.evaluation_panel.set_status("")
        self._form_pre = None
        self.predict_panel.set_preprocessing(None)
        self._loading_project = True   # until the document's ``changed`` that ends the load
        self.show_saved_evaluation()
        self.refresh()

    def _load_finished(self) -> None:
        self._loading_project = False

    def show_saved_evaluation(self) -> bool:
        """The evaluation saved with the project (``metadata["evaluation"]``), if any."""
        saved = (self.document.metadata or {}).get("evaluation")
        if not isinstance(saved, dict) or not isinstance(saved.get("metrics"), dict):
            return False
        ep = self.evaluation_panel
        where = str(saved.get("where", ""))
        try:
            if saved.get("task") == "regression":
                ep.show_regression(saved["metrics"], np.asarray(saved.get("pred") or [], dtype=np.float64),
                                   np.asarray(saved.get("true") or [], dtype=np.float64), where)
                if isinstance(saved.get("series"), dict):
                    ep.show_series(saved["series"])
            else:
                ep.show_classification(saved["metrics"], where)
        except (KeyError, TypeError, ValueError):   # an older or edited file: show nothing rather than fail
            ep.clear()
            return False
        ep.set_status(self.tr("Saved with the project: evaluate again to update."))
        return True

    def _start(self, tag: str, fn) -> None:
        self._running.add(tag)
        if tag == "evaluate":
            self.evaluation_panel.set_busy(True, self.tr("loading the data…"))
        else:
            self.predict_panel.set_busy(True)
        self.refresh()
        self.loader.run(tag, fn)

    def _done(self, tag: str) -> None:
        self._running.discard(tag)
        if tag == "evaluate":
            self.evaluation_panel.set_busy(False)
        elif not (self._running - {"evaluate"}):
            self.predict_panel.set_busy(False)
        self.refresh()

    # ------------------------------------------------------------------ dialogs (replaceable)
    def _dir(self) -> str:
        if self._last_dir:
            return self._last_dir
        path = getattr(self.document, "path", None)
        return str(Path(path).parent) if path else str(Path.home())

    def ask_image_path(self) -> str | None:
        pattern = " ".join(f"*{s}" for s in IMAGE_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self.window, self.tr("Open an image to predict"), self._dir(),
                                              self.tr("Images ({pattern})").format(pattern=pattern))
        return path or None

    def ask_predict_input(self) -> str | None:
        """A CSV file for a table model, a folder of images for an image model."""
        if getattr(saved_form(self.document.preprocessing), "folder", False):
            path = QFileDialog.getExistingDirectory(self.window, self.tr("Folder of images to predict"), self._dir())
        else:
            path, _ = QFileDialog.getOpenFileName(self.window, self.tr("CSV file to predict"), self._dir(),
                                                  self.tr("CSV files (*.csv *.tsv *.txt);;All files (*)"))
        return path or None

    def ask_predict_output(self, src: str) -> str | None:
        stem = Path(src).stem or "data"
        start = str(Path(self._dir()) / f"{stem}_predictions.csv")
        path, _ = QFileDialog.getSaveFileName(self.window, self.tr("Write the predictions to"), start,
                                              self.tr("CSV files (*.csv)"))
        return path or None

    # ------------------------------------------------------------------ commands
    def _snapshot(self):
        doc = self.document
        return doc.spec, dict(doc.weights or {})

    def _evaluate_from_menu(self) -> None:
        self.dock.show()
        self.dock.raise_()
        self.tabs.setCurrentWidget(self.evaluation_panel)
        self.evaluate()

    def evaluate(self) -> bool:
        reason = self.evaluate_blocker()
        if reason or "evaluate" in self._running:
            if reason:
                self.evaluation_panel.set_blocked(reason)
            return False
        doc = self.document
        spec, weights = self._snapshot()
        loss = (doc.train_config or {}).get("loss")
        loss = None if loss in (None, "", "auto") else loss
        pre = doc.preprocessing if isinstance(doc.preprocessing, dict) else None
        self._start("evaluate", evaluate_job(spec, weights, dict(doc.data_spec), pre, loss))
        return True

    def cancel_evaluation(self) -> None:
        """Drop the running evaluation (its worker stops at the next check and its result is ignored)."""
        if "evaluate" in self._running:
            self.loader.cancel("evaluate")
            self._done("evaluate")
            self.evaluation_panel.set_status(self.tr("evaluation cancelled"))

    def predict_row(self, values: dict | None = None) -> bool:
        if self.predict_blocker():
            return False
        if values is None:
            values = self.predict_panel.values()
        spec, weights = self._snapshot()
        self._start("predict", predict_row_job(spec, weights, dict(self.document.preprocessing),
                                               dict(self.document.metadata or {}), dict(values)))
        return True

    def predict_image(self, path: str | None = None) -> bool:
        if self.predict_blocker():
            return False
        if path is None:
            path = self.ask_image_path()
            if not path:
                return False
        self._last_dir = str(Path(path).parent)
        spec, weights = self._snapshot()
        self._start("image", predict_image_job(spec, weights, dict(self.document.preprocessing),
                                               dict(self.document.metadata or {}), str(path)))
        return True

    def predict_file(self, src: str | None = None, out: str | None = None) -> bool:
        if self.predict_blocker():
            return False
        if src is None:
            src = self.ask_predict_input()
            if not src:
                return False
        self._last_dir = str(Path(src).parent)
        if out is None:
            out = self.ask_predict_output(src)
            if not out:
                return False
        if not Path(out).suffix:
            out = str(out) + ".csv"
        spec, weights = self._snapshot()
        self.predict_panel.show_message(self.tr("predicting {file}…").format(file=Path(src).name))
        self._start("file", predict_file_job(spec, weights, self.document.to_project(), str(src), str(out)))
        return True

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        ok = super().shutdown(timeout_ms)
        return self.export.shutdown(timeout_ms) and ok

    # ------------------------------------------------------------------ worker results
    def _on_progress(self, tag: str, pct: int, text: str) -> None:
        if tag == "evaluate":
            self.evaluation_panel.set_progress(pct, self.tr("{what}…").format(what=text) if text else "")

    def _on_result(self, tag: str, value) -> None:
        self._done(tag)
        if value is None:
            return
        if tag == "evaluate":
            ep = self.evaluation_panel
            ep.set_status("")
            if value["task"] == "regression":
                ep.show_regression(value["metrics"], value["pred"], value["true"], value["where"])
                if value.get("series"):  # a time-series forecast: predicted vs actual over time
                    ep.show_series(value["series"])
            else:
                ep.show_classification(value["metrics"], value["where"])
                if "gallery" in value:
                    ep.show_misclassified(value["gallery"], value.get("total_wrong"))
            self._message(self.tr("evaluated on the {split}").format(split=split_name(value["split"])))
            # part of the project: a reopened project shows it (and closing asks to save it)
            self.document.metadata = {**(self.document.metadata or {}), "evaluation": saved_evaluation(value)}
            project = getattr(self.window, "project", None)
            if hasattr(project, "mark_dirty"):
                project.mark_dirty()
            self.evaluated.emit(value)
        elif tag in ("predict", "image"):
            pp = self.predict_panel
            if value["kind"] == "probs":
                pp.show_probabilities(value["names"], value["probs"])
            else:
                pp.show_value(value["values"])
            if tag == "image":
                pp.show_image(value["original"], value["model_input"], Path(value["path"]).name)
            self.predicted.emit(value)
        elif tag == "file":
            msg = self.tr("Wrote {n} predictions to {file}").format(n=value["n"], file=value["out"])
            self.predict_panel.show_message(msg)
            self._message(msg)
            self.file_predicted.emit(value["out"], value["n"])

    def _on_failed(self, tag: str, message: str) -> None:
        self._done(tag)
        if tag == "evaluate":
            self.evaluation_panel.show_error(self.tr("Evaluation failed: {reason}").format(reason=message))
        else:
            self.predict_panel.show_error(message)
        self._message(message)
        self.failed.emit(tag, message)


def install_evaluation_ui(window) -> EvaluationUI:
    """Add the Export/Import menu entries, Model ▸ Evaluate and the "Evaluate and predict" dock."""
    ui = EvaluationUI(window)
    window.evaluation_ui = ui
    window.exporter = ui.export
    return ui
