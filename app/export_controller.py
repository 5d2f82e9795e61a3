"""File > Export and Import weights: actions, enabling rules, and the worker that writes.

``ExportController(window)`` creates the actions ``export_npz``, ``export_safetensors``,
``export_onnx``, ``export_pytorch`` and ``import_weights`` in ``window.actions``;
:meth:`install_menu` puts them into a File menu.  An export snapshots the project
(``document.to_project()``) on the GUI thread and runs
``engine.export.export_project`` on a worker; the engine writes atomically, so a
failure leaves no half-written file and the in-memory model is never touched.
Errors are shown as one line (``ExportError`` and friends), never as a traceback.

Dialogs go through :meth:`ask_export_path` / :meth:`ask_import_path`, which tests
replace to inject paths.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtGui import QAction

from app.training_controller import DataLoader
from engine.i18n import tr as engine_tr
from widgets.export_dialog import EXPORT_FORMATS, ask_export_path, ask_import_path

EXPORT_ACTIONS = tuple(f"export_{k}" for k in EXPORT_FORMATS)


def model_blocker(document) -> str | None:
    """Why the document's model cannot be used for export/evaluation/prediction (``None``: it can)."""
    blocker = document.train_blocker() if hasattr(document, "train_blocker") else None
    if blocker:
        return QCoreApplication.translate("ExportController", "the graph has a problem ({why})").format(
            why=engine_tr(blocker))
    if not document.spec.nodes:
        return QCoreApplication.translate("ExportController", "the graph is empty")
    if document.weights is None:
        return QCoreApplication.translate("ExportController",
                                          "the model has no trained weights yet: train it first (Model ▸ Train)")
    return None


def _export_job(project, fmt: str, out: str):
    def job(progress, cancel):
        from engine.export import export_project
        return fmt, [str(p) for p in export_project(project, fmt, out)]
    return job


def _import_job(path: str):
    def job(progress, cancel):
        from engine.export import import_weights
        return path, import_weights(path)
    return job


class ExportController(QObject):
    export_finished = Signal(str, list)   # format, written files
    export_failed = Signal(str)           # one-line message
    imported = Signal(str)                # path
    import_failed = Signal(str)

    def __init__(self, window, parent: QObject | None = None):
        super().__init__(parent or window)
        self.window = window
        self.document = window.document
        self.loader = DataLoader(self)
        self.loader.result.connect(self._on_result)
        self.loader.failed.connect(self._on_failed)
        self.last_files: list[str] = []
        self.last_error: str = ""
        self._last_dir: str | None = None
        self._n = 0
        self._importing = False
        self.actions: dict[str, QAction] = {}
        for key, f in EXPORT_FORMATS.items():
            a = QAction(f.shown_menu_text, window)
            a.setStatusTip(f.shown_description)
            a.triggered.connect(lambda _=False, k=key: self.export(k))
            self._register(f"export_{key}", a)
        imp = QAction(self.tr("&Import weights…"), window)
        imp.setStatusTip(self.tr("Open an exported .npz or .safetensors file (with its .json metadata) as a new project"))
        imp.setToolTip(imp.statusTip())
        imp.triggered.connect(lambda _=False: self.import_weights())
        self._register("import_weights", imp)
        doc = self.document
        doc.weights_changed.connect(self.update_actions)
        doc.changed.connect(self.update_actions)
        if hasattr(doc, "project_loaded"):
            doc.project_loaded.connect(self.update_actions)
        self.update_actions()

    def _register(self, name: str, action: QAction) -> None:
        self.actions[name] = action
        acts = getattr(self.window, "actions", None)
        if isinstance(acts, dict):
            acts[name] = action
        if hasattr(self.window, "addAction"):
            self.window.addAction(action)

    def install_menu(self, file_menu) -> None:
        """Add ``Export ▸`` and ``Import weights…`` to ``file_menu`` (before Quit when present)."""
        quit_action = getattr(self.window, "actions", {}).get("quit")
        before = quit_action if quit_action is not None and quit_action in file_menu.actions() else None
        sub = file_menu.__class__(self.tr("&Export"), file_menu)
        sub.setObjectName("menu_export")
        sub.setToolTipsVisible(True)
        for key in EXPORT_FORMATS:
            sub.addAction(self.actions[f"export_{key}"])
        self.export_menu = sub
        if before is not None:
            file_menu.insertMenu(before, sub)
            file_menu.insertAction(before, self.actions["import_weights"])
            file_menu.insertSeparator(before)
        else:
            file_menu.addSeparator()
            file_menu.addMenu(sub)
            file_menu.addAction(self.actions["import_weights"])
        file_menu.setToolTipsVisible(True)

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        return self.loader.busy

    def blocker(self) -> str | None:
        return model_blocker(self.document)

    def update_actions(self) -> None:
        reason = self.blocker()
        for key, f in EXPORT_FORMATS.items():
            a = self.actions[f"export_{key}"]
            a.setEnabled(reason is None)
            a.setToolTip(self.tr("Cannot export: {why}").format(why=reason) if reason else f.shown_description)
            a.setStatusTip(a.toolTip())
        self.actions["import_weights"].setEnabled(not self._importing)

    def _message(self, text: str) -> None:
        if hasattr(self.window, "show_message"):
            self.window.show_message(text, 10000)

    def _show_error(self, title: str, text: str) -> None:
        project = getattr(self.window, "project", None)
        if project is not None and hasattr(project, "show_error"):
            project.show_error(title, text)

    def _start_dir(self) -> str:
        if self._last_dir:
            return self._last_dir
        path = getattr(self.document, "path", None)
        return str(Path(path).parent) if path else str(Path.home())

    def _stem(self) -> str:
        path = getattr(self.document, "path", None)
        if path:
            return Path(path).stem
        return str((self.document.metadata or {}).get("name") or "model").split("(")[0].strip() or "model"

    # ------------------------------------------------------------------ dialogs (replaceable)
    def ask_export_path(self, fmt: str) -> str | None:
        return ask_export_path(self.window, fmt, self._start_dir(), self._stem())

    def ask_import_path(self) -> str | None:
        return ask_import_path(self.window, self._start_dir())

    # ------------------------------------------------------------------ commands
    def export(self, fmt: str, path: str | None = None) -> bool:
        """Export the current model as ``fmt`` (asks for the path unless given); False if not started."""
        reason = self.blocker()
        if reason:
            self.last_error = self.tr("Cannot export: {why}").format(why=reason)
            self._message(self.last_error)
            return False
        if path is None:
            path = self.ask_export_path(fmt)
            if not path:
                return False
        self._last_dir = str(Path(path).parent)
        project = self.document.to_project()
        self.last_error = ""
        self._message(self.tr("exporting {format} to {path}…").format(format=EXPORT_FORMATS[fmt].key, path=path))
        self._n += 1  # one tag per export: a second export never cancels the first
        self.loader.run(f"export:{self._n}", _export_job(project, fmt, str(path)))
        return True

    def import_weights(self, path: str | None = None) -> bool:
        if self._importing:
            return False
        project_ctl = getattr(self.window, "project", None)
        if project_ctl is not None and hasattr(project_ctl, "maybe_save") and not project_ctl.maybe_save():
            return False
        if path is None:
            path = self.ask_import_path()
            if not path:
                return False
        self._last_dir = str(Path(path).parent)
        self._message(self.tr("importing {path}…").format(path=path))
        self._importing = True
        self.update_actions()
        self.loader.run("import", _import_job(str(path)))
        return True

    # ------------------------------------------------------------------ worker results
    def _on_result(self, tag: str, value) -> None:
        if tag.startswith("export"):
            fmt, files = value
            self.last_files = list(files)
            names = ", ".join(Path(f).name for f in files)
            folder = str(Path(files[0]).parent) if files else ""
            self._message(self.tr("Exported {format}: {names} (in {folder})").format(
                format=EXPORT_FORMATS[fmt].key, names=names, folder=folder))
            self.export_finished.emit(fmt, list(files))
        elif tag == "import":
            self._importing = False
            self.update_actions()
            path, project = value
            ctl = getattr(self.window, "project", None)
            if ctl is not None and hasattr(ctl, "load"):
                ctl.load(project, None)
                if hasattr(ctl, "mark_dirty"):
                    ctl.mark_dirty()   # an imported model is not saved as a project yet
            else:
                self.document.load_project(project, None)
            self._message(self.tr("Imported {file}: graph, weights and preprocessing restored "
                                  "(save it as a project to keep it)").format(file=Path(path).name))
            self.imported.emit(path)

    def _on_failed(self, tag: str, message: str) -> None:
        self.last_error = message
        if tag.startswith("export"):
            self._message(self.tr("Export failed: {reason}").format(reason=message))
            self._show_error(self.tr("Export failed"),
                             self.tr("{reason}\n\nThe model in NN Studio is unchanged.").format(reason=message))
            self.export_failed.emit(message)
        else:
            self._importing = False
            self.update_actions()
            self._message(self.tr("Import failed: {reason}").format(reason=message))
            self._show_error(self.tr("Cannot import weights"), message)
            self.import_failed.emit(message)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        return self.loader.shutdown(timeout_ms)
