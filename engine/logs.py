"""NN Studio's log file: a rotating ``nnstudio.log`` in the user log folder (no Qt here).

``setup()`` is idempotent; when no folder is writable there is no file log and
:func:`log_path` is None (messages still reach stderr through Python's last-resort handler).
"""
from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOGGER = "nnstudio"
FILE_NAME = "nnstudio.log"
MAX_BYTES = 1_000_000
BACKUPS = 3

_path: Path | None = None


def setup() -> Path | None:
    """Log INFO and above to the rotating file (once per process); returns its path or None."""
    global _path
    log = logging.getLogger(LOGGER)
    if getattr(log, "_nn_configured", False):
        return _path
    log._nn_configured = True
    log.setLevel(logging.INFO)
    from engine.userdirs import user_dir
    folder = user_dir("log")
    if folder is not None:
        try:
            handler = logging.handlers.RotatingFileHandler(folder / FILE_NAME, maxBytes=MAX_BYTES,
                                                           backupCount=BACKUPS, encoding="utf-8")
        except OSError:
            handler = None
        if handler is not None:
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            log.addHandler(handler)
            _path = folder / FILE_NAME
    return _path


def log_path() -> Path | None:
    return _path


def get(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER}.{name}" if name else LOGGER)
