"""What every exporter and the importer share: the format constants, :class:`ExportError`,
the bundled metadata, how a layer is named in a message, and atomic writing of export files.

The package (:mod:`engine.export`) re-exports these names; its submodules import them from
here, so that no submodule imports its own package's ``__init__``.
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


def check_folder(p: Path) -> None:
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"folder {folder} does not exist")


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
