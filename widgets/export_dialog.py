"""Export formats as the GUI presents them, and the file dialogs that pick export/import paths.

The format keys are :data:`engine.export.FORMATS`; this module only adds what a person
sees (menu text, a one-line description, a file filter).  The dialog functions return
``None`` when the user cancels; the app wraps them in replaceable methods so that
tests can inject paths.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget


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


EXPORT_FORMATS: dict[str, ExportFormat] = {
    "npz": ExportFormat("npz", "Weights (.&npz)…",
                        "NumPy .npz: one float32 array per parameter plus the metadata (graph, preprocessing, "
                        "class names); loads with np.load(..., allow_pickle=False)",
                        ".npz", "NumPy weights (*.npz)"),
    "safetensors": ExportFormat("safetensors", "Weights (.&safetensors)…",
                                "safetensors: the weights with the metadata in the header; loads without "
                                "running any code", ".safetensors", "safetensors weights (*.safetensors)"),
    "onnx": ExportFormat("onnx", "&ONNX model…",
                         "ONNX graph and weights (opset 17): runs in onnxruntime and most deployment tools",
                         ".onnx", "ONNX model (*.onnx)"),
    "pytorch": ExportFormat("pytorch", "&PyTorch code…",
                            "a folder with a PyTorch nn.Module (model.py), its weights and a torchrun "
                            "training script (train_ddp.py)", "", "Folder"),
}

IMPORT_FILTER = "Exported NN Studio weights (*.npz *.safetensors)"


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
        title = "Export PyTorch code: name of the new folder"
        path, _ = QFileDialog.getSaveFileName(parent, title, start, "Folder (*)")
    else:
        path, _ = QFileDialog.getSaveFileName(parent, f"Export {f.key}", start, f.file_filter)
    return path or None


def ask_import_path(parent: QWidget | None, start_dir: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Import weights", start_dir, IMPORT_FILTER)
    return path or None
