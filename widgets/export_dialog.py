"""Export formats as the GUI presents them, and the file dialogs that pick export/import paths.

The format keys are :data:`engine.export.FORMATS`; this module only adds what a person
sees (menu text, a one-line description, a file filter).  The dialog functions return
``None`` when the user cancels; the app wraps them in replaceable methods so that
tests can inject paths.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import QFileDialog, QWidget

CONTEXT = "ExportDialog"


def _tr(text: str) -> str:
    """A text marked with ``QT_TRANSLATE_NOOP("ExportDialog", ...)`` in the UI language."""
    return QCoreApplication.translate(CONTEXT, text)


@dataclass(frozen=True)
class ExportFormat:
    key: str            # engine.export format name
    menu_text: str      # text of the File > Export entry
    description: str    # tooltip / status tip
    suffix: str         # "" for a folder
    file_filter: str

    @property
    def is_folder(self) -> bool:
        return not self.suffix

    # what a person sees, in the UI language
    @property
    def shown_menu_text(self) -> str:
        return _tr(self.menu_text)

    @property
    def shown_description(self) -> str:
        return _tr(self.description)

    @property
    def shown_filter(self) -> str:
        return _tr(self.file_filter)


EXPORT_FORMATS: dict[str, ExportFormat] = {
    "npz": ExportFormat("npz", QT_TRANSLATE_NOOP("ExportDialog", "Weights (.&npz)…"),
                        QT_TRANSLATE_NOOP("ExportDialog", "NumPy .npz: one float32 array per parameter plus the metadata (graph, preprocessing, "
                           "class names); loads with np.load(..., allow_pickle=False)"),
                        ".npz", QT_TRANSLATE_NOOP("ExportDialog", "NumPy weights (*.npz)")),
    "safetensors": ExportFormat("safetensors", QT_TRANSLATE_NOOP("ExportDialog", "Weights (.&safetensors)…"),
                                QT_TRANSLATE_NOOP("ExportDialog", "safetensors: the weights with the metadata in the header; loads without "
                                   "running any code"), ".safetensors", QT_TRANSLATE_NOOP("ExportDialog", "safetensors weights (*.safetensors)")),
    "onnx": ExportFormat("onnx", QT_TRANSLATE_NOOP("ExportDialog", "&ONNX model…"),
                         QT_TRANSLATE_NOOP("ExportDialog", "ONNX graph and weights (opset 17): runs in onnxruntime and most deployment tools"),
                         ".onnx", QT_TRANSLATE_NOOP("ExportDialog", "ONNX model (*.onnx)")),
    "pytorch": ExportFormat("pytorch", QT_TRANSLATE_NOOP("ExportDialog", "&PyTorch code…"),
                            QT_TRANSLATE_NOOP("ExportDialog", "a folder with a PyTorch nn.Module (model.py), its weights and a torchrun "
                               "training script (train_ddp.py)"), "", QT_TRANSLATE_NOOP("ExportDialog", "Folder")),
}

IMPORT_FILTER = QT_TRANSLATE_NOOP("ExportDialog", "Exported NN Studio weights (*.npz *.safetensors)")


def default_export_name(fmt: str, stem: str) -> str:
    """``"spirals"`` -> ``"spirals.onnx"`` (or ``"spirals_torch"`` for the PyTorch folder)."""
    f = EXPORT_FORMATS[fmt]
    stem = "".join(c if (c.isalnum() or c in "-_.") else "_" for c in (stem or "model")).strip("._") or "model"
    return f"{stem}_torch" if f.is_folder else stem + f.suffix


def ask_export_path(parent: QWidget | None, fmt: str, start_dir: str, stem: str) -> str | None:
    """A save dialog for ``fmt``; the PyTorch export asks for a new folder's name."""
    f = EXPORT_FORMATS[fmt]
    start = str(Path(start_dir) / default_export_name(fmt, stem))
    if f.is_folder:
        title = QCoreApplication.translate(CONTEXT, "Export PyTorch code: name of the new folder")
        path, _ = QFileDialog.getSaveFileName(parent, title, start, QCoreApplication.translate(CONTEXT, "Folder (*)"))
    else:
        path, _ = QFileDialog.getSaveFileName(parent, QCoreApplication.translate(CONTEXT, "Export {format}").format(
            format=f.key), start, f.shown_filter)
    return path or None


def ask_import_path(parent: QWidget | None, start_dir: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, QCoreApplication.translate(CONTEXT, "Import weights"), start_dir,
                                          _tr(IMPORT_FILTER))
    return path or None
