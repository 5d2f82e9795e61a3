"""New / Open / Save / Save As, recent files, autosave and crash recovery.

Files live in ``data_dir()``: ``$NNSTUDIO_DATA_DIR`` when set (tests), otherwise
``platformdirs.user_data_dir("nn-studio")``.  It holds ``recent.json``,
``session.json`` (time of the last clean exit) and ``autosave.nnsp``.

Every question to the user goes through an overridable ``ask_*``/``show_*``
method so that tests never open a modal dialog.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from engine.files import os_reason
from engine.i18n import message as engine_message
from engine.i18n import translate as engine_tr
from engine.io import PROJECT_SUFFIX, Project, ProjectError, atomic_write_text, demo_project, load_project, save_project
from engine.spec import GraphSpec

AUTOSAVE_MS = 60_000
MAX_RECENT = 10


def file_filter() -> str:
    """The file dialogs' filter: NN Studio projects, all files (translated)."""
    return QCoreApplication.translate("ProjectController", "NN Studio projects (*{suffix});;All files (*)").format(
        suffix=PROJECT_SUFFIX)


def data_dir() -> Path:
    env = os.environ.get("NNSTUDIO_DATA_DIR")
    if env:
        d = Path(env)
    else:
        import platformdirs
        d = Path(platformdirs.user_data_dir("nn-studio", appauthor=False))
    d.mkdir(parents=True, exist_ok=True)
    return d


class ProjectController(QObject):
    recent_changed = Signal(list)
    modified_changed = Signal(bool)
    message = Signal(str)

    def __init__(self, document, undo_stack, parent_widget=None, data_directory: Path | None = None):
        super().__init__(parent_widget)
        self.doc = document
        self.stack = undo_stack
        self.parent_widget = parent_widget
        self.dir = Path(data_directory) if data_directory else data_dir()
        self._extra_dirty = False
        self._loading = False
        self.stack.cleanChanged.connect(self._clean_changed)
        self.doc.weights_changed.connect(self._weights_changed)
        self.timer = QTimer(self)
        self.timer.setInterval(AUTOSAVE_MS)
        self.timer.timeout.connect(self.autosave_now)
        self.timer.start()

    # ------------------------------------------------------------------ paths
    @property
    def autosave_path(self) -> Path:
        return self.dir / f"autosave{PROJECT_SUFFIX}"

    @property
    def session_path(self) -> Path:
        return self.dir / "session.json"

    @property
    def recent_path(self) -> Path:
        return self.dir / "recent.json"

    # ------------------------------------------------------------------ modified state
    def is_modified(self) -> bool:
        return (not self.stack.isClean()) or self._extra_dirty

    def _clean_changed(self, _clean: bool) -> None:
        try:
            self.modified_changed.emit(self.is_modified())
        except RuntimeError:  # the stack is being destroyed
            pass

    def mark_dirty(self) -> None:
        """For changes that are not undo commands (e.g. new weights after training)."""
        if not self._extra_dirty:
            self._extra_dirty = True
            self.modified_changed.emit(True)

    def _weights_changed(self) -> None:
        # an edit or undo that hides or brings back kept weights is already an undo step
        if not self._loading and not getattr(self.doc, "editing", False) and self.doc.weights is not None:
            self.mark_dirty()

    def _mark_clean(self) -> None:
        self._extra_dirty = False
        self.stack.setClean()
        self.modified_changed.emit(self.is_modified())

    # ------------------------------------------------------------------ dialogs (overridable)
    def ask_save_changes(self) -> str:
        """Return "save", "discard" or "cancel"."""
        box = QMessageBox(QMessageBox.Warning, self.tr("Unsaved changes"),
                          self.tr("The project has unsaved changes. Save them first?"),
                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, self.parent_widget)
        box.setDefaultButton(QMessageBox.Save)
        r = box.exec()
        return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(r, "cancel")

    def ask_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, self.tr("Open project"), self._start_dir(),
                                              file_filter())
        return path or None

    def ask_save_path(self) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.parent_widget, self.tr("Save project as"),
                                              self.doc.path or str(Path(self._start_dir()) / f"untitled{PROJECT_SUFFIX}"),
                                              file_filter())
        return path or None

    def ask_recover(self, when: str) -> bool:
        r = QMessageBox.question(self.parent_widget, self.tr("Recover unsaved work?"),
                                 self.tr("NN Studio did not close cleanly. An autosaved project from {when} exists.\n"
                                         "Do you want to recover it?").format(when=when),
                                 QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
        return r == QMessageBox.Yes

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self.parent_widget, title, engine_tr(text))  # engine messages translated

    def _start_dir(self) -> str:
        if self.doc.path:
            return str(Path(self.doc.path).parent)
        rec = self.recent_files()
        return str(Path(rec[0]).parent) if rec else str(Path.home())

    # ------------------------------------------------------------------ file operations
    def load(self, project: Project, path: str | None) -> None:
        self._loading = True
        try:
            self.doc.load_project(project, path)
        finally:
            self._loading = False
        self.stack.clear()
        self._mark_clean()

    def maybe_save(self) -> bool:
        """True when it is fine to discard the current project (saved or discarded)."""
        if not self.is_modified():
            return True
        answer = self.ask_save_changes()
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new_project(self) -> bool:
        if not self.maybe_save():
            return False
        self.load(Project(graph=GraphSpec()), None)
        self.message.emit(self.tr("New empty project"))
        return True

    def open_demo(self) -> None:
        self.load(demo_project(), None)

    def open_project(self, path: str | None = None) -> bool:
        if not self.maybe_save():
            return False
        if path is None:
            path = self.ask_open_path()
            if not path:
                return False
        try:
            project = load_project(path)
        except ProjectError as exc:
            # the message names the file already ("the graph in p.nnsp is damaged ...")
            text = engine_message(exc)
            self.show_error(self.tr("Cannot open project"),
                            text if Path(path).name in text else f"{Path(path).name}: {text}")
            return False
        except OSError as exc:
            self.show_error(self.tr("Cannot open project"), f"{Path(path).name}: {engine_tr(os_reason(exc))}")
            return False
        self.load(project, str(path))
        self.add_recent(str(path))
        self.message.emit(self.tr("Opened {path}").format(path=path))
        return True

    def save(self) -> bool:
        if not self.doc.path:
            return self.save_as()
        return self._write(self.doc.path)

    def save_as(self, path: str | None = None) -> bool:
        if path is None:
            path = self.ask_save_path()
            if not path:
                return False
        path = str(path)
        if not Path(path).suffix:
            path += PROJECT_SUFFIX
        if self._write(path):
            self.doc.set_path(path)
            return True
        return False

    def _write(self, path: str) -> bool:
        try:
            save_project(path, self.doc.to_project())
        except ProjectError as exc:
            self.show_error(self.tr("Cannot save project"), engine_message(exc))
            return False
        except OSError as exc:
            self.show_error(self.tr("Cannot save project"),
                            self.tr("could not save {path}: {reason}").format(path=path, reason=exc.strerror or exc))
            return False
        self._mark_clean()
        self.add_recent(path)
        self.message.emit(self.tr("Saved {path}").format(path=path))
        return True

    # ------------------------------------------------------------------ recent files
    def recent_files(self) -> list[str]:
        try:
            data = json.loads(self.recent_path.read_text("utf-8"))
            return [str(p) for p in data if isinstance(p, str)][:MAX_RECENT]
        except (OSError, ValueError, TypeError):
            return []

    def add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        items = [path] + [p for p in self.recent_files() if p != path]
        self._write_json(self.recent_path, items[:MAX_RECENT])
        self.recent_changed.emit(items[:MAX_RECENT])

    def clear_recent(self) -> None:
        self._write_json(self.recent_path, [])
        self.recent_changed.emit([])

    def _write_json(self, path: Path, data) -> None:
        try:
            atomic_write_text(path, json.dumps(data, indent=1))
        except (OSError, ProjectError):
            pass  # preferences are best-effort

    # ------------------------------------------------------------------ autosave and recovery
    def autosave_now(self) -> bool:
        """Write the autosave file when there are unsaved changes; returns whether it wrote."""
        if not self.is_modified():
            return False
        try:
            project = self.doc.to_project()
            project.metadata = {**project.metadata, "autosave_of": self.doc.path or ""}
            save_project(self.autosave_path, project)
        except (ProjectError, OSError) as exc:
            self.message.emit(self.tr("Autosave failed: {reason}").format(reason=engine_message(exc)))
            return False
        return True

    def last_clean_exit(self) -> float:
        try:
            return float(json.loads(self.session_path.read_text("utf-8")).get("clean_exit", 0.0))
        except (OSError, ValueError, TypeError, AttributeError):
            return 0.0

    def recovery_available(self) -> bool:
        p = self.autosave_path
        return p.is_file() and p.stat().st_mtime > self.last_clean_exit()

    def offer_recovery(self) -> bool:
        """At start-up: offer to load an autosave newer than the last clean exit."""
        if not self.recovery_available():
            return False
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.autosave_path.stat().st_mtime))
        if not self.ask_recover(when):
            self._remove_autosave()
            return False
        try:
            project = load_project(self.autosave_path)
        except (ProjectError, OSError) as exc:
            self.show_error(self.tr("Cannot recover"),
                            self.tr("The autosaved project is damaged: {reason}").format(reason=engine_message(exc)))
            self._remove_autosave()
            return False
        original = project.metadata.pop("autosave_of", "") or None
        self.load(project, original)
        self.mark_dirty()
        self.message.emit(self.tr("Recovered the autosaved project; save it to keep it"))
        return True

    def _remove_autosave(self) -> None:
        try:
            self.autosave_path.unlink()
        except OSError:
            pass

    def clean_exit(self) -> None:
        self.timer.stop()
        self._remove_autosave()
        self._write_json(self.session_path, {"clean_exit": time.time()})
