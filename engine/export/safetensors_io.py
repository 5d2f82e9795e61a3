"""``.safetensors`` export: same arrays as .npz; metadata JSON under header key ``"nnstudio"``."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from engine import safe_json
from engine.export.common import ExportError, write_export_file
from engine.files import os_reason

META_FIELD = "nnstudio"


def safetensors_bytes(weights: dict[str, np.ndarray], meta: dict | None) -> bytes:
    from safetensors.numpy import save

    arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
    header = {META_FIELD: json.dumps(meta)} if meta is not None else None
    return save(arrays, metadata=header)


def write_safetensors(path, weights: dict[str, np.ndarray], meta: dict | None) -> Path:
    return write_export_file(path, safetensors_bytes(weights, meta))


def read_safetensors(path) -> tuple[dict[str, np.ndarray], dict | None]:
    """-> (weights, embedded metadata or None)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExportError(f"could not read {path}: {os_reason(exc)}") from None
    try:
        arrays = load(data)
        n = struct.unpack("<Q", data[:8])[0]
        header = safe_json.loads(data[8:8 + n], f"the header of {path.name}")
    except (SafetensorError, struct.error, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ExportError(f"{path.name} cannot be read as .safetensors ({exc})") from None
    meta = None
    text = (header.get("__metadata__") or {}).get(META_FIELD)
    if text is not None:
        try:
            meta = safe_json.loads(text, f"the metadata embedded in {path.name}")
        except ValueError as exc:
            raise ExportError(f"the metadata embedded in {path.name} is damaged ({exc})") from None
    return arrays, meta
