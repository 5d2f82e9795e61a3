"""Exceptions raised by the data layer.  Every user-caused failure is a :class:`DataError`."""
from __future__ import annotations


class DataError(ValueError):
    """Data that cannot be loaded, with a one-line message naming file, row and column."""


class LoadCancelled(DataError):
    """Raised by :func:`engine.data.load_dataset` when its ``cancel`` event was set."""
