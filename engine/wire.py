"""Frames for talking to the training process: JSON plus raw NumPy buffers, never pickle.

A frame is ``MAGIC``, a little-endian ``uint32`` header length and ``uint64`` blob
length, the UTF-8 JSON header, then the arrays' bytes back to back.  Values are
encoded recursively:

* ``None``, ``bool``, ``int``, ``float`` (NaN and infinities included), ``str``, ``list``;
* ``dict`` with string keys not starting with ``"__"`` as JSON objects, any other dict
  as ``{"__d__": [[key, value], ...]}``; ``tuple`` as ``{"__t__": [...]}``;
* NumPy arrays (numeric, bool or fixed-width unicode; never ``object``) as
  ``{"__nd__": [offset, dtype, shape]}`` into the blob; NumPy scalars as Python numbers;
* frozen event dataclasses whose class is in the decoder's ``types`` as
  ``{"__ev__": name, "f": {field: value}}``; a name the decoder does not know is an error.

Decoding builds only those values: no code runs, no class is looked up by a name
that is not in ``types``.  ``read_frame`` returns ``None`` at a clean end of stream.
"""
from __future__ import annotations

import dataclasses
import json
import struct
from typing import Any, BinaryIO

import numpy as np

MAGIC = b"NNW1"
_HEAD = struct.Struct("<4sIQ")
#: a header larger than this is not ours (arrays travel in the blob, not the header)
MAX_HEADER = 64 * 1024 * 1024
_KINDS = set("biufcU")   # bool, int, uint, float, complex, unicode


class WireError(ValueError):
    """A frame that is not valid (a broken or foreign stream)."""


_PLAIN = (type(None), bool, int, float, str)
#: field names of each event dataclass sent so far (``dataclasses.fields`` costs more than the encoding)
_FIELDS: dict[type, tuple[str, ...]] = {}


def _encode(v: Any, blobs: list[bytes], pos: list[int]) -> Any:
    t = type(v)
    if t in _PLAIN:          # the common cases first, by exact type (an epoch event is mostly floats)
        return v
    if t is dict and all(type(k) is str and not k.startswith("__") for k in v):
        return {k: _encode(x, blobs, pos) for k, x in v.items()}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in _KINDS:
            raise WireError(f"cannot send an array of dtype {v.dtype}")
        a = v if v.flags.c_contiguous else v.copy(order="C")
        b = a.tobytes()
        ref = {"__nd__": [pos[0], a.dtype.str, list(a.shape)]}
        blobs.append(b)
        pos[0] += len(b)
        return ref
    if isinstance(v, np.generic):
        return v.item()
    names = _FIELDS.get(t)
    if names is None and dataclasses.is_dataclass(v) and not isinstance(v, type):
        names = _FIELDS[t] = tuple(f.name for f in dataclasses.fields(v))
    if names is not None:
        return {"__ev__": t.__name__, "f": {n: _encode(getattr(v, n), blobs, pos) for n in names}}
    if isinstance(v, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in v):
            return {k: _encode(x, blobs, pos) for k, x in v.items()}
        return {"__d__": [[_encode(k, blobs, pos), _encode(x, blobs, pos)] for k, x in v.items()]}
    if isinstance(v, tuple):
        return {"__t__": [_encode(x, blobs, pos) for x in v]}
    if isinstance(v, list):
        return [_encode(x, blobs, pos) for x in v]
    raise WireError(f"cannot send a value of type {type(v).__name__}")


def encode(value: Any) -> bytes:
    """One frame holding ``value``."""
    blobs: list[bytes] = []
    header = json.dumps(_encode(value, blobs, [0]), separators=(",", ":")).encode("utf-8")
    blob_len = sum(len(b) for b in blobs)
    return b"".join([_HEAD.pack(MAGIC, len(header), blob_len), header, *blobs])


def _decode(v: Any, blob: memoryview, types: dict[str, type]) -> Any:
    if isinstance(v, list):
        return [_decode(x, blob, types) for x in v]
    if not isinstance(v, dict):
        return v
    if len(v) == 1:
        if "__nd__" in v:
            off, dtype, shape = v["__nd__"]
            dt = np.dtype(dtype)
            if dt.kind not in _KINDS:
                raise WireError(f"array of dtype {dt} in a frame")
            count = int(np.prod(shape, dtype=np.int64)) if shape else 1
            if off < 0 or off + count * dt.itemsize > len(blob):
                raise WireError("array outside the frame")
            return np.frombuffer(blob, dtype=dt, count=count, offset=off).reshape(tuple(shape)).copy()
        if "__t__" in v:
            return tuple(_decode(x, blob, types) for x in v["__t__"])
        if "__d__" in v:
            return {_decode(k, blob, types): _decode(x, blob, types) for k, x in v["__d__"]}
    if "__ev__" in v and set(v) == {"__ev__", "f"}:
        cls = types.get(v["__ev__"])
        if cls is None:
            raise WireError(f"unknown event {v['__ev__']!r} in a frame")
        obj = cls(**{k: _decode(x, blob, types) for k, x in v["f"].items()})
        return obj
    return {k: _decode(x, blob, types) for k, x in v.items()}


def decode(header: bytes, blob: bytes, types: dict[str, type] | None = None) -> Any:
    try:
        tree = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"bad frame header: {exc}") from None
    return _decode(tree, memoryview(blob), types or {})


def _read_exact(f: BinaryIO, n: int) -> bytes | None:
    parts, left = [], n
    while left:
        chunk = f.read(left)
        if not chunk:
            if left == n:
                return None
            raise WireError("the stream ended inside a frame")
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def write_frame(f: BinaryIO, value: Any) -> None:
    f.write(encode(value))
    f.flush()


def split_frames(buf: bytearray, types: dict[str, type] | None = None) -> list:
    """Decode and remove every complete frame at the start of ``buf`` (the rest stays for later)."""
    out, pos = [], 0
    while len(buf) - pos >= _HEAD.size:
        magic, hlen, blen = _HEAD.unpack_from(buf, pos)
        if magic != MAGIC or hlen > MAX_HEADER:
            raise WireError("not an NN Studio frame")
        end = pos + _HEAD.size + hlen + blen
        if end > len(buf):
            break
        start = pos + _HEAD.size
        out.append(decode(bytes(buf[start:start + hlen]), bytes(buf[start + hlen:end]), types))
        pos = end
    del buf[:pos]
    return out


def read_frame(f: BinaryIO, types: dict[str, type] | None = None) -> Any:
    """The next frame's value, or ``None`` when the stream ended between frames."""
    head = _read_exact(f, _HEAD.size)
    if head is None:
        return None
    magic, hlen, blen = _HEAD.unpack(head)
    if magic != MAGIC or hlen > MAX_HEADER:
        raise WireError("not an NN Studio frame")
    header = _read_exact(f, hlen) if hlen else b""
    blob = _read_exact(f, blen) if blen else b""
    if header is None or blob is None:
        raise WireError("the stream ended inside a frame")
    return decode(header, blob, types)
