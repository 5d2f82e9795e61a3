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

Every layer type has a converter in a table per target; a layer without one
raises :class:`ExportError` naming it.  Layout changes between NN Studio and other
frameworks live in :mod:`engine.export.layouts`.
"""
from __future__ import annotations

import json
import keyword
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import UserError
from engine.files import os_reason

EXPORT_FORMAT = "nn-studio-export"
EXPORT_SCHEMA = 1
FORMATS = ("npz", "safetensors", "onnx", "pytorch")
SUFFIXES = {"npz": ".npz", "safetensors": ".safetensors", "onnx": ".onnx"}
METADATA_KEY = "__metadata__.json"


class ExportError(UserError):
    """A model, file or setting that cannot be exported/imported; the message is for the user."""


def describe_node(model, nid: str) -> str:
    """``Dense 'n3'`` -- how export messages name a layer."""
    node = model.spec.node(nid)
    return f"{node.type.split('.')[0]} '{node.label}'"


def sidecar_path(path: str | os.PathLike) -> Path:
    """``model.npz`` -> ``model.npz.json``."""
    p = Path(path)
    return p.with_name(p.name + ".json")


def export_weights(model) -> dict[str, np.ndarray]:
    """The model's parameters and buffers as float32 C-contiguous arrays, ``"nid/param"`` keys."""
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in model.state_dict().items()}


def _last_metrics(history) -> dict:
    """The last epoch entry of a project history (list of runs or list of epochs)."""
    if not history:
        return {}
    last = history[-1]
    if isinstance(last, dict) and isinstance(last.get("epochs"), list):
        epochs = last["epochs"]
        last = epochs[-1] if epochs else {}
    if not isinstance(last, dict):
        return {}
    return {k: v for k, v in last.items() if isinstance(v, (int, float, str, bool)) or v is None}


def build_metadata(model, extra: dict | None = None) -> dict:
    """The JSON-able description bundled with every export (see module docstring)."""
    from engine.userdirs import app_version

    weights = export_weights(model)
    params = {}
    for nid in model.order:
        for group, kind in ((model.params[nid], "param"), (model.state[nid], "buffer")):
            for k in group:
                key = f"{nid}/{k}"
                params[key] = {"shape": list(weights[key].shape), "dtype": "float32", "kind": kind}
    meta: dict[str, Any] = {
        "format": EXPORT_FORMAT, "schema_version": EXPORT_SCHEMA, "app_version": app_version(),
        "graph": model.spec.to_dict(),
        "layer_order": list(model.order),
        "layer_types": {nid: model.spec.node(nid).type for nid in model.order},
        "input_ids": list(model.input_ids), "output_id": model.output_id,
        "input_shape": list(model.input_shape), "output_shape": list(model.output_shape),
        "output_activation": model.output_activation,
        "parameters": params,
        "preprocessing": None, "class_names": None, "task": None,
        "seed": getattr(model, "seed", None), "metrics": {},
    }
    for k, v in (extra or {}).items():
        meta[k] = v
    if meta.get("class_names") is None and isinstance(meta.get("preprocessing"), dict):
        meta["class_names"] = meta["preprocessing"].get("class_names")
    if meta.get("task") is None and isinstance(meta.get("preprocessing"), dict):
        meta["task"] = meta["preprocessing"].get("task")
    try:
        json.dumps(meta, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ExportError(f"the export metadata is not JSON-able: {exc}") from None
    return meta


def project_metadata(project) -> dict:
    """Metadata fields taken from a project (preprocessing, labels, seed, metrics, name)."""
    pre = project.preprocessing
    extra = {
        "preprocessing": pre,
        "class_names": pre.get("class_names") if isinstance(pre, dict) else None,
        "task": pre.get("task") if isinstance(pre, dict) else None,
        "seed": (project.train_config or {}).get("seed"),
        "metrics": _last_metrics(project.history),
        "train_config": project.train_config or {},
        "name": (project.metadata or {}).get("name", ""),
    }
    return extra


def out_path(out, fmt: str) -> Path:
    p = Path(out)
    suffix = SUFFIXES.get(fmt)
    if suffix and p.suffix.lower() != suffix:
        p = p.with_name(p.name + suffix)
    return p


def _check_folder(p: Path) -> None:
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"folder {folder} does not exist")


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
    _check_folder(path)
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


def write_export_file(path, data: bytes | str) -> Path:
    """Write one export file atomically; an OS error becomes a one-line :class:`ExportError`."""
    from engine.io import atomic_write_bytes

    try:
        atomic_write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)
    except OSError as exc:
        raise ExportError(f"could not write {path}: {os_reason(exc)}") from None
    return Path(path)


def write_sidecar(path, meta: dict) -> Path:
    return write_export_file(sidecar_path(path), json.dumps(meta, indent=2))


def export_project(project, fmt: str, out, **options) -> list[Path]:
    """Compile ``project``'s graph with its trained weights and export it (see :func:`export_model`)."""
    from engine.compile import GraphError
    from engine.model import StateError, compile_graph

    if not project.weights:
        raise ExportError("the model has no trained weights yet; train it (or load a project with weights) "
                          "before exporting")
    try:
        model = compile_graph(project.graph)
        model.load_state_dict(project.weights)
    except GraphError as exc:
        raise ExportError(f"the graph cannot be compiled: {exc}") from None
    except StateError as exc:
        raise ExportError(f"the saved weights do not fit the graph: {exc}") from None
    return export_model(model, fmt, out, project_metadata(project), **options)


def import_weights(path):
    """Restore an :class:`engine.io.Project` from an exported .npz/.safetensors (see importer)."""
    from engine.export.importer import import_weights as _imp

    return _imp(path)


def python_identifier(name: str, default: str = "model") -> str:
    """An ASCII Python identifier made from ``name`` (never a keyword)."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", str(name)).strip("_")
    if not s:
        return default
    if s[0].isdigit():
        s = "m_" + s
    if keyword.iskeyword(s) or keyword.issoftkeyword(s):
        s += "_"
    return s
