"""JSON from files, decoded within bounds.

Every reader of JSON that comes from a user's file (graphs, project members, export
metadata) goes through :func:`loads`, so that a file nested thousands of levels deep,
an integer with thousands of digits or a member of absurd size gets one clear message
instead of a ``RecursionError`` or a frozen program.  The limits are far beyond what
NN Studio itself writes; writers check the same limits (:func:`check_dumpable`) so
that anything that can be saved can be opened again.
"""
from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from engine.errors import UserError

#: deepest nesting of arrays/objects accepted (NN Studio's own files stay below 10)
MAX_DEPTH = 64
#: longest integer literal accepted (int64 has 19 digits)
MAX_INT_DIGITS = 40
#: largest JSON text accepted, in bytes (UTF-8)
MAX_JSON_BYTES = 256 * 1024 ** 2

# a JSON string, possibly unterminated (so the scan never backtracks over the rest)
_STRING = re.compile(rb'"(?:[^"\\]+|\\.)*"?', re.DOTALL)
_DELTA = np.zeros(256, dtype=np.int8)
_DELTA[[ord("["), ord("{")]] = 1
_DELTA[[ord("]"), ord("}")]] = -1


class JsonLimitError(UserError):
    """JSON that is malformed or beyond the limits; the message names ``what``."""


def nesting_depth(data: bytes) -> int:
    """Deepest ``[``/``{`` nesting of a JSON text (brackets inside strings do not count)."""
    bare = _STRING.sub(b'""', data)
    if not bare:
        return 0
    steps = _DELTA[np.frombuffer(bare, dtype=np.uint8)]
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JsonLimitError(f"an integer with {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS} are accepted)")
    return int(text)


def loads(data: str | bytes, what: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Decode JSON ``data`` (text or UTF-8 bytes) or raise :class:`JsonLimitError` naming ``what``."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonLimitError(f"{what} is not valid UTF-8 text") from None
    if len(data) > max_bytes:
        raise JsonLimitError(f"{what} is too large ({len(data)} bytes; at most {max_bytes} are accepted)")
    depth = nesting_depth(data)
    if depth > MAX_DEPTH:
        raise JsonLimitError(f"{what} is nested {depth} levels deep (at most {MAX_DEPTH} are accepted)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonLimitError(f"{what} is not valid UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise JsonLimitError(f"{what} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    except JsonLimitError as exc:
        raise JsonLimitError(f"{what} holds {exc}") from None
    except (ValueError, RecursionError) as exc:  # e.g. Python's int-conversion limit
        raise JsonLimitError(f"{what} cannot be decoded ({str(exc)[:200]})") from None


def check_dumpable(text: str, what: str) -> None:
    """Refuse to write JSON that :func:`loads` would refuse to read back."""
    data = text.encode("utf-8")
    if len(data) > MAX_JSON_BYTES:
        raise JsonLimitError(f"{what} is too large to save ({len(data)} bytes; at most {MAX_JSON_BYTES})")
    depth = nesting_depth(data)
    if depth > MAX_DEPTH:
        raise JsonLimitError(f"{what} is nested {depth} levels deep; at most {MAX_DEPTH} can be saved")
