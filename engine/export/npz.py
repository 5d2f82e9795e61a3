"""``.npz`` export: one array per parameter plus the metadata as a uint8 JSON array."""
from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from engine import safe_json
from engine.export.common import METADATA_KEY, ExportError, write_export_file
from engine.files import os_reason


def npz_bytes(weights: dict[str, np.ndarray], meta: dict | None) -> bytes:
    arrays = {}
    for k, v in weights.items():
        a = np.ascontiguousarray(v, dtype=np.float32)
        arrays[k] = a
    if meta is not None:
        arrays[METADATA_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def write_npz(path, weights: dict[str, np.ndarray], meta: dict | None) -> Path:
    return write_export_file(path, npz_bytes(weights, meta))


def read_npz(path) -> tuple[dict[str, np.ndarray], dict | None]:
    """-> (weights, embedded metadata or None).  Never unpickles."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except OSError as exc:
        raise ExportError(f"{path.name} cannot be read ({os_reason(exc)})") from None
    except (ValueError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError, zlib.error) as exc:
        # RuntimeError: an "encrypted" member; NotImplementedError: a compression zipfile cannot read
        raise ExportError(f"{path.name} cannot be read as .npz ({exc})") from None
    meta = None
    raw = arrays.pop(METADATA_KEY, None)
    if raw is not None:
        try:
            meta = safe_json.loads(raw.astype(np.uint8).tobytes(), f"the metadata embedded in {path.name}")
        except (ValueError, TypeError) as exc:
            raise ExportError(f"the metadata embedded in {path.name} is damaged ({exc})") from None
    return arrays, meta
