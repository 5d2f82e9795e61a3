"""Export a trained model to other tools, and import exported weights back.

Formats (``fmt``):

* ``npz`` -- ``numpy.savez`` archive, one float32 C-contiguous array per parameter
  under ``"node_id/param"``; the metadata JSON is embedded as the uint8 array
  ``"__metadata__.json"`` (never an object array) and written beside it as
  ``<file>.json``.
* ``safetensors`` -- the same arrays; metadata under the header key ``"nnstudio"``.
* ``onnx`` -- the whole graph (:mod:`engine.export.onnx_export`).
* ``pytorch`` -- a readable ``nn.Module`` source file, its weights (.safetensors),
  the metadata and a ``train_ddp.py`` script (:mod:`engine.export.torch_codegen`).

Every versioned layer type (``"Dense.v1"``) has a converter in a table per target; a layer without one
raises :class:`ExportError` naming it.  Layout changes between NN Studio and other
frameworks live in :mod:`engine.export.layouts`; what the exporters share (constants,
:class:`ExportError`, metadata, atomic writes) in :mod:`engine.export.common`.
"""
from __future__ import annotations

from pathlib import Path

from engine.export.common import (
    EXPORT_FORMAT,
    EXPORT_SCHEMA,
    FORMATS,
    METADATA_KEY,
    SUFFIXES,
    ExportError,
    build_metadata,
    check_folder,
    describe_node,
    export_weights,
    out_path,
    project_metadata,
    python_identifier,
    sidecar_path,
    write_export_file,
    write_sidecar,
)

__all__ = ["EXPORT_FORMAT", "EXPORT_SCHEMA", "FORMATS", "METADATA_KEY", "SUFFIXES", "ExportError",
           "build_metadata", "check_folder", "describe_node", "export_weights", "out_path", "project_metadata",
           "python_identifier", "sidecar_path", "write_export_file", "write_sidecar", "export_model",
           "export_project", "import_weights"]


def export_model(model, fmt: str, out, metadata: dict | None = None, **options) -> list[Path]:
    """Write ``model`` as ``fmt`` to ``out``; returns the files written.

    ``metadata`` adds fields to the bundled metadata (preprocessing, class_names,
    task, seed, metrics, name).  ``options``: ``opset`` for ONNX.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    meta = build_metadata(model, metadata)
    meta["export_format"] = fmt
    if fmt == "pytorch":
        from engine.export.torch_codegen import export_pytorch

        return export_pytorch(model, out, meta)
    path = out_path(out, fmt)
    check_folder(path)
    if fmt == "npz":
        from engine.export.npz import write_npz

        files = [write_npz(path, export_weights(model), meta)]
    elif fmt == "safetensors":
        from engine.export.safetensors_io import write_safetensors

        files = [write_safetensors(path, export_weights(model), meta)]
    else:
        from engine.export.onnx_export import write_onnx

        files = [write_onnx(model, path, meta, **options)]
    files.append(write_sidecar(path, meta))
    return files


def export_project(project, fmt: str, out, **options) -> list[Path]:
    """Compile ``project``'s graph with its trained weights and export it (see :func:`export_model`)."""
    from engine.jobs.model import trained_model

    model = trained_model(project.graph, project.weights, error=ExportError,
                          no_weights="the model has no trained weights yet; train it (or load a project with "
                                     "weights) before exporting")
    return export_model(model, fmt, out, project_metadata(project), **options)


def import_weights(path):
    """Restore an :class:`engine.io.Project` from an exported .npz/.safetensors (see importer)."""
    from engine.export.importer import import_weights as _imp

    return _imp(path)
