"""Per-user folders (cache, logs, data) that may not exist or not be writable.

NN Studio must run on locked-down machines: a read-only install, a user
without a writable home (containers, services, lab machines).  Every folder
NN Studio writes to goes through :func:`user_dir`: the platformdirs folder
when it can be created and written, otherwise a private folder in the system
temporary directory, otherwise ``None`` (the caller then does without).

Light on purpose: imported by ``engine/__init__`` (no NumPy, no Numba).
"""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

APP_NAME = "nn-studio"
KINDS = ("cache", "log", "data")


def _platform_dir(kind: str) -> Path:
    import platformdirs

    fn = {"cache": platformdirs.user_cache_dir, "log": platformdirs.user_log_dir,
          "data": platformdirs.user_data_dir}[kind]
    return Path(fn(APP_NAME, appauthor=False))


def writable(path: Path) -> bool:
    """Create ``path`` (and parents) if needed and check a file can be made in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".nn-studio-probe-{os.getpid()}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
        return True
    except OSError:
        return False


def _private_temp_dir(kind: str) -> Path | None:
    """``$TMP/nn-studio-<uid>/<kind>``, only if it is ours and not writable by others.

    Numba's cache holds pickled code: a folder another user could plant files in
    must never be used.
    """
    import tempfile

    uid = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    base = Path(tempfile.gettempdir()) / f"{APP_NAME}-{uid}"
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        st = base.lstat()
        if not stat.S_ISDIR(st.st_mode):
            return None
        if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
            return None
    except OSError:
        return None
    d = base / kind
    return d if writable(d) else None


def user_dir(kind: str) -> Path | None:
    """A writable per-user folder of ``kind`` (cache, log or data), or None if there is none.

    ``NNSTUDIO_<KIND>_DIR`` (e.g. ``NNSTUDIO_LOG_DIR``) overrides the location.
    """
    if kind not in KINDS:
        raise ValueError(kind)
    env = os.environ.get(f"NNSTUDIO_{kind.upper()}_DIR")
    candidates = [Path(env)] if env else []
    import contextlib
    with contextlib.suppress(Exception):  # platformdirs can fail without a home (KeyError, RuntimeError)
        candidates.append(_platform_dir(kind))
    for d in candidates:
        if writable(d):
            return d
    return _private_temp_dir(kind)


def configure_numba_cache() -> str | None:
    """Give Numba's on-disk cache a writable place; must run before Numba is imported.

    Numba's default is ``__pycache__`` beside the kernels, kept when it is writable (a source
    checkout, a user install); a read-only install (system site-packages, a container image)
    gets the user cache folder instead (``NNSTUDIO_USER_NUMBA_CACHE=1`` forces that).

    Falls back to a private temporary folder, and when nothing is writable turns
    caching off (kernels are compiled at every start) with a one-line notice.
    Returns the cache folder or None.  A writable ``NUMBA_CACHE_DIR`` set by the
    user is kept.
    """
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given and writable(Path(given)):
        return given
    beside = Path(__file__).resolve().parent / "kernels" / "__pycache__"
    if not os.environ.get("NNSTUDIO_USER_NUMBA_CACHE") and writable(beside):
        return str(beside)   # a source checkout or a writable install: Numba's own default place
    d = user_dir("cache")
    if d is not None:
        path = str(d / "numba")
        if writable(Path(path)):
            os.environ["NUMBA_CACHE_DIR"] = path
            if "numba" in sys.modules:  # imported before us: its config is already read
                sys.modules["numba"].config.CACHE_DIR = path
            return path
    os.environ.pop("NUMBA_CACHE_DIR", None)
    disable_numba_cache()
    print("notice: no writable cache folder; NN Studio's compiled kernels are not cached "
          "(each start compiles them again)", file=sys.stderr)
    return None


def disable_numba_cache() -> None:
    """Make ``@njit(cache=True)`` compile in memory only (no locator needed)."""
    from numba.core.dispatcher import Dispatcher

    Dispatcher.enable_caching = lambda self: None


def app_version() -> str:
    """NN Studio's version from the installed package metadata (pyproject.toml is the one source)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("nn-studio")
    except PackageNotFoundError:
        return "0+unknown"
