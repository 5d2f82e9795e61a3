"""File ▸ Import ONNX model…: an ONNX file becomes the project on the canvas (graph, weights, no data).

``install_import(window)`` adds the action ``import_onnx`` to ``window.actions`` and to the File menu
(after *Import weights…*).  The file is read and mapped by :func:`engine.onnx_import.import_onnx` on a
worker thread; the result replaces the current project (after asking to save it) and is marked
unsaved.  A model that cannot be mapped shows the engine's whole message in a dialog, one line per
operator, node and attribute in the way; notes (channels-last inputs, per-channel constants held by
BatchNorm layers) are shown once after a successful import.

Dialogs go through :meth:`OnnxImportUI.ask_path` and :meth:`OnnxImportUI.show_dialog`, which tests replace.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from app.training_controller import DataLoader
from engine.i18n import tr as engine_tr


def _job(path: str):
    def job(progress, cancel):
        from engine.onnx_import import OnnxImportError, import_onnx

        try:
            return True, path, import_onnx(path)
        except OnnxImportError as exc:   # the whole message: every line names a problem
            return False, path, str(exc)
    return job


class OnnxImportUI(QObject):
    imported = Signal(str)      # path
    failed = Signal(str)        # the message shown

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.loader = DataLoader(self)
        self.loader.result.connect(self._on_result)
        self.loader.failed.connect(self._on_failed)
        self.last_error = ""
        self.last_notes: list[str] = []
        self._busy = False
        self._running = False
        self._last_dir: str | None = None
        a = QAction(self.tr("Import &ONNX model…"), window)
        a.setObjectName("action_import_onnx")
        a.setStatusTip(self.tr("Open an ONNX model (from PyTorch, Keras or NN Studio) as a new project: its "
                               "layers on the canvas, with their weights"))
        a.setToolTip(a.statusTip())
        a.triggered.connect(lambda _=False: self.import_onnx())
        self.action = a
        acts = getattr(window, "actions", None)
        if isinstance(acts, dict):
            acts["import_onnx"] = a
        window.addAction(a)
        self._add_to_menu()
        training = getattr(window, "training", None)
        signal = getattr(training, "running_changed", None) or getattr(getattr(training, "controller", None),
                                                                       "running_changed", None)
        if signal is not None:
            signal.connect(self._on_running)
        if training is not None and hasattr(training, "add_shutdown_hook"):
            training.add_shutdown_hook(self.shutdown)   # the window's close joins our worker thread

    def _add_to_menu(self) -> None:
        menu = self.window.menuBar().findChild(QMenu, "menu_file")
        if menu is None:
            return
        after = getattr(self.window, "actions", {}).get("import_weights")
        acts = menu.actions()
        if after is not None and after in acts:
            i = acts.index(after)
            if i + 1 < len(acts):
                menu.insertAction(acts[i + 1], self.action)
                return
        quit_action = getattr(self.window, "actions", {}).get("quit")
        if quit_action is not None and quit_action in acts:
            menu.insertAction(quit_action, self.action)
        else:
            menu.addAction(self.action)

    # ------------------------------------------------------------------ state
    def _update(self) -> None:
        self.action.setEnabled(not self._busy and not self._running)

    def _on_running(self, running: bool) -> None:
        self._running = bool(running)
        self._update()

    def _message(self, text: str) -> None:
        if hasattr(self.window, "show_message"):
            self.window.show_message(text, 10000)

    def _start_dir(self) -> str:
        if self._last_dir:
            return self._last_dir
        path = getattr(getattr(self.window, "document", None), "path", None)
        return str(Path(path).parent) if path else str(Path.home())

    # ------------------------------------------------------------------ dialogs (replaceable)
    def ask_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.window, self.tr("Import ONNX model"), self._start_dir(),
                                              self.tr("ONNX models (*.onnx);;All files (*)"))
        return path or None

    def show_dialog(self, kind: str, title: str, text: str) -> None:
        box = QMessageBox.warning if kind == "error" else QMessageBox.information
        box(self.window, title, text)

    # ------------------------------------------------------------------ command
    def import_onnx(self, path: str | None = None) -> bool:
        """Import ``path`` (asks for it unless given); False if nothing was started."""
        if self._busy:
            return False
        if self._running:
            self._message(self.tr("Stop the training before importing a model"))
            return False
        project = getattr(self.window, "project", None)
        if project is not None and hasattr(project, "maybe_save") and not project.maybe_save():
            return False
        if path is None:
            path = self.ask_path()
            if not path:
                return False
        self._last_dir = str(Path(path).parent)
        self.last_error = ""
        self._busy = True
        self._update()
        self._message(self.tr("importing {path}…").format(path=path))
        self.loader.run("onnx", _job(str(path)))
        return True

    def _on_result(self, tag: str, value) -> None:
        self._busy = False
        self._update()
        ok, path, payload = value
        name = Path(path).name
        if not ok:
            self._fail(engine_tr(payload))
            return
        result = payload
        ctl = getattr(self.window, "project", None)
        if ctl is not None and hasattr(ctl, "load"):
            ctl.load(result.project, None)
            if hasattr(ctl, "mark_dirty"):
                ctl.mark_dirty()   # not saved as a project yet
        else:
            self.window.document.load_project(result.project, None)
        n = len(result.project.graph.nodes)
        self._message(self.tr("Imported {file}: {n} layers with their weights (save it as a project to keep it)")
                      .format(file=name, n=n))
        self.last_notes = [engine_tr(t) for t in result.notes]
        if self.last_notes:
            self.show_dialog("info", self.tr("ONNX model imported"),
                             self.tr("{file} is on the canvas. Please note:\n\n{notes}").format(
                                 file=name, notes="\n".join("• " + t for t in self.last_notes)))
        self.imported.emit(path)

    def _on_failed(self, tag: str, message: str) -> None:
        self._busy = False
        self._update()
        self._fail(message)

    def _fail(self, message: str) -> None:
        self.last_error = message
        self._message(self.tr("Import failed: {reason}").format(reason=message.splitlines()[0]))
        self.show_dialog("error", self.tr("Cannot import the ONNX model"),
                         self.tr("{reason}\n\nThe project in NN Studio is unchanged.").format(reason=message))
        self.failed.emit(message)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        return self.loader.shutdown(timeout_ms)


def install_import(window) -> OnnxImportUI:
    """Add File ▸ Import ONNX model… to ``window`` (a MainWindow)."""
    return OnnxImportUI(window)
