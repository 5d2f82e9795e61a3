"""Files dropped on the main window: a project opens, a table, ``.npz`` or image folder becomes the data.

The canvas keeps its own drops (layers from the palette); this filter only sees drops of
local files anywhere else on the window.  What each kind does:

* ``.nnsp`` project → *File > Open* (asks to save unsaved changes first);
* ``.onnx`` model → *File > Import ONNX model…* (``app/import_ui.py``: the same question about unsaved
  changes, the same worker thread, messages and dialogs);
* ``.csv``/``.tsv``/``.txt``/``.xlsx``/``.xlsm`` table, ``.npz`` arrays, a folder (images in class
  sub-folders) → the Data panel's source (shown, previewed; nothing is trained or changed in the graph);
* anything else → a status-bar message saying what can be dropped.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QObject

PROJECTS = (".nnsp",)
MODELS = (".onnx",)


def local_paths(mime) -> list[str]:
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()] if mime.hasUrls() else []


def classify(path: str) -> str | None:
    """``"project"``, ``"onnx"``, a data source's kind (the source that reads it) or None (cannot be dropped)."""
    from engine.data.sources import source_for_path

    p = Path(path)
    suffix = p.suffix.lower()
    if not p.is_dir() and suffix in PROJECTS:
        return "project"
    if not p.is_dir() and suffix in MODELS:
        return "onnx"
    source = source_for_path(path)
    return source.kind if source is not None else None


class DropFilter(QObject):
    def __init__(self, window, ui):
        super().__init__(window)
        self.window, self.ui = window, ui
        self.handled: list[tuple[str, str]] = []     # (kind, path), for tests

    def eventFilter(self, obj, event):
        t = event.type()
        if t in (QEvent.DragEnter, QEvent.DragMove):
            paths = local_paths(event.mimeData())
            if paths:
                event.acceptProposedAction()
                return True
        elif t == QEvent.Drop:
            paths = local_paths(event.mimeData())
            if paths:
                event.acceptProposedAction()
                self.open(paths[0])
                return True
        return False

    def open(self, path: str) -> bool:
        kind = classify(path)
        name = os.path.basename(path.rstrip("/\\")) or path
        if kind is None:
            self._say(QCoreApplication.translate(
                "Drops", "Cannot open {name} here: drop a project (.nnsp), an ONNX model (.onnx), a table (.csv, "
                ".xlsx), an .npz file or a folder of images in class sub-folders").format(name=name))
            return False
        if self.ui.controller.running:
            self._say(QCoreApplication.translate("Drops", "{name}: stop the training first").format(name=name))
            return False
        self.handled.append((kind, path))
        if kind == "project":
            return bool(self.window.project.open_project(path))
        if kind == "onnx":
            return bool(self.window.onnx_import.import_onnx(path))
        dp = self.ui.data_panel
        dp.set_spec({"kind": kind, "path": path})
        dock = getattr(self.ui, "data_dock", None)
        if dock is not None:
            dock.show()
            dock.raise_()
        dp._request_preview()
        self._say(QCoreApplication.translate("Drops", "{name} is the data source now (Data panel)").format(name=name))
        return True

    def _say(self, text: str) -> None:
        bar = getattr(self.window, "statusBar", None)
        if bar is not None:
            bar().showMessage(text, 8000)


def install(window, ui) -> DropFilter:
    f = DropFilter(window, ui)
    window.setAcceptDrops(True)
    window.installEventFilter(f)
    window.drop_filter = f
    return f
