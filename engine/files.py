"""Checks on input paths before they are opened.

Opening a named pipe blocks until some other program writes to it, and a device such as
``/dev/zero`` never ends: either would hang a load forever (or read until memory runs
out).  Every reader of a user's file asks :func:`not_regular` first and refuses (or, in a
folder scan, skips) anything that is not a regular file.  ``os.stat`` follows symlinks, so
a link to a regular file is fine and a link to ``/dev/zero`` is not.
"""
from __future__ import annotations

import errno
import os
import stat

_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def not_regular(path) -> str | None:
    """``None`` for a regular file (or one that does not exist: the caller reports that);
    otherwise what it is, e.g. ``"a named pipe"``."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return None
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "not a regular file"


def regular_file_problem(path) -> str | None:
    """A one-line reason to refuse ``path`` as an input file, or ``None``."""
    kind = not_regular(path)
    if kind is None:
        return None
    if kind == "a folder":
        return f"{path}: is a folder, not a file"
    return f"{path}: is {kind}, not a regular file; NN Studio reads only regular files"


# --------------------------------------------------------------------------- OS errors
#: English texts for the operating-system errors users meet, by errno name.  Messages use
#: these (not ``strerror``, which differs between C libraries and, on Windows, follows the
#: system language) so that every catalog in ``engine/locale`` can translate them.
OS_REASONS = {
    "ENOENT": "No such file or directory",
    "EACCES": "Permission denied",
    "EPERM": "Operation not permitted",
    "ENOSPC": "No space left on device",
    "EDQUOT": "Disk quota exceeded",
    "EISDIR": "Is a directory",
    "ENOTDIR": "Not a directory",
    "EROFS": "Read-only file system",
    "EEXIST": "File exists",
    "EIO": "Input/output error",
    "ENAMETOOLONG": "File name too long",
    "EFBIG": "File too large",
    "EBUSY": "Device or resource busy",
    "ETXTBSY": "Text file busy",
    "ENOMEM": "Cannot allocate memory",
    "ELOOP": "Too many levels of symbolic links",
    "EXDEV": "Invalid cross-device link",
    "EMFILE": "Too many open files",
    "ENOTEMPTY": "Directory not empty",
    "ENXIO": "No such device or address",
    "EINVAL": "Invalid argument",
    "EPIPE": "Broken pipe",
    "ESTALE": "Stale file handle",
}
_BY_ERRNO = {getattr(errno, name): text for name, text in OS_REASONS.items() if hasattr(errno, name)}


def os_reason(exc: BaseException) -> str:
    """The reason of an ``OSError`` in a fixed English text (``"Permission denied"``) that the
    catalogs translate; other errors (or unknown errnos) fall back to ``strerror`` or ``str``."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code in _BY_ERRNO:
        return _BY_ERRNO[code]
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
