"""Exceptions raised by the data layer.  Every user-caused failure is a :class:`DataError`."""
from __future__ import annotations

from engine.errors import UserError

_CONTROL = {i: f"\\x{i:02x}" for i in range(32)} | {10: "\\n", 13: "\\r", 9: "\\t", 0x2028: "\\u2028",
                                                     0x2029: "\\u2029", 0x85: "\\x85", 0x0b: "\\v", 0x0c: "\\f",
                                                     0x1c: "\\x1c", 0x1d: "\\x1d", 0x1e: "\\x1e"}


def one_line(text: str) -> str:
    """Escape line breaks and control characters so a message stays on one line."""
    return str(text).translate(_CONTROL)


class DataError(UserError):
    """Data that cannot be loaded, with a one-line message naming file, row and column."""

    def __init__(self, message: str = "", *args):
        super().__init__(one_line(message), *args)


class LoadCancelled(DataError):
    """Raised by :func:`engine.data.load_dataset` when its ``cancel`` event was set."""
