"""Import an exported .npz/.safetensors (with its metadata) back into a project."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine import safe_json
from engine.export.common import EXPORT_FORMAT, EXPORT_SCHEMA, ExportError, sidecar_path
from engine.files import os_reason, regular_file_problem


def _read_sidecar(path: Path) -> dict | None:
    for cand in (sidecar_path(path), path.with_suffix(".json"), path.parent / "metadata.json"):
        if cand.is_file():
            try:
                if cand.stat().st_size > safe_json.MAX_JSON_BYTES:
                    raise ValueError(f"{cand.stat().st_size} bytes; at most {safe_json.MAX_JSON_BYTES}")
                return safe_json.loads(cand.read_bytes(), f"the metadata file {cand.name}")
            except OSError as exc:
                raise ExportError(f"the metadata file {cand.name} cannot be read ({os_reason(exc)})") from None
            except ValueError as exc:
                raise ExportError(f"the metadata file {cand.name} is damaged ({exc})") from None
    return None


def read_export(path) -> tuple[dict[str, np.ndarray], dict]:
    """-> (weights, metadata); metadata from the file itself, else from the sidecar JSON."""
    path = Path(path)
    if not path.exists():
        raise ExportError(f"{path} does not exist")
    problem = regular_file_problem(path)
    if problem:
        raise ExportError(problem)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        from engine.export.npz import read_npz

        weights, meta = read_npz(path)
    elif suffix == ".safetensors":
        from engine.export.safetensors_io import read_safetensors

        weights, meta = read_safetensors(path)
    else:
        raise ExportError(f"cannot import {path.name}: expected an exported .npz or .safetensors file")
    if meta is None:
        meta = _read_sidecar(path)
    if meta is None:
        raise ExportError(f"{path.name} carries no NN Studio metadata and no {sidecar_path(path).name} "
                          "lies beside it; the graph cannot be restored from bare weights")
    return weights, meta


def check_metadata(meta: dict, weights: dict[str, np.ndarray], name: str) -> None:
    if not isinstance(meta, dict) or meta.get("format") != EXPORT_FORMAT:
        raise ExportError(f"the metadata of {name} is not an NN Studio export description")
    version = meta.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ExportError(f"the metadata of {name} is damaged: it has no export schema number")
    if version > EXPORT_SCHEMA:
        raise ExportError(f"{name} was exported by a newer NN Studio (export schema {version}); "
                          f"this version reads up to {EXPORT_SCHEMA}")
    if not isinstance(meta.get("graph"), dict):
        raise ExportError(f"the metadata of {name} has no graph")
    params = meta.get("parameters")
    if isinstance(params, dict):
        missing = sorted(set(params) - set(weights))
        extra = sorted(set(weights) - set(params))
        if missing or extra:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(missing[:5]))
            if extra:
                parts.append("unexpected " + ", ".join(extra[:5]))
            raise ExportError(f"the weights in {name} do not match its metadata: " + "; ".join(parts))
        for k, info in params.items():
            shape = info.get("shape") if isinstance(info, dict) else None
            if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
                raise ExportError(f"the metadata of {name} is damaged: parameter {k} has no valid shape")
            want = tuple(shape)
            if tuple(weights[k].shape) != want:
                raise ExportError(f"weight {k} in {name} has shape {tuple(weights[k].shape)}, "
                                  f"the metadata says {want}")


def import_weights(path):
    """Restore a :class:`engine.io.Project` (graph, weights, preprocessing, labels, seed)."""
    from engine.io import Project
    from engine.jobs.model import trained_model
    from engine.spec import GraphSpec, SpecError

    path = Path(path)
    weights, meta = read_export(path)
    check_metadata(meta, weights, path.name)
    try:
        graph = GraphSpec.from_dict(meta["graph"])
    except SpecError as exc:
        raise ExportError(f"the graph in {path.name} is damaged: {exc}") from None
    model = trained_model(graph, weights, file=path.name, error=ExportError, no_weights=None)
    weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in model.state_dict().items()}
    train = dict(_optional(meta, "train_config", dict, path.name) or {})
    if meta.get("seed") is not None:
        train.setdefault("seed", meta["seed"])
    metrics = _optional(meta, "metrics", dict, path.name) or {}
    history = [{"name": "imported", "settings": {}, "epochs": [metrics]}] if metrics else []
    info = {"name": _optional(meta, "name", str, path.name) or path.stem, "imported_from": str(path),
            "task": _optional(meta, "task", str, path.name),
            "class_names": _optional(meta, "class_names", list, path.name)}
    return Project(graph=graph, train_config=train, data_spec=None,
                   preprocessing=_optional(meta, "preprocessing", dict, path.name), weights=weights,
                   history=history, metadata=info)


def _optional(meta: dict, key: str, kind: type, name: str):
    """An optional metadata field: absent/None, or of ``kind`` (else the metadata is damaged)."""
    value = meta.get(key)
    if value is not None and not isinstance(value, kind):
        raise ExportError(f"the metadata of {name} is damaged: one of its fields has the wrong type")
    return value
