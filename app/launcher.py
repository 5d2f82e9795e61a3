"""Entry point shared by ``python main.py`` and the ``nn-studio`` console script.

``train|evaluate|predict|export|template|analyze|explain|import`` (and a bare ``--help`` or ``--version``) go to the headless CLI,
which never imports Qt; everything else opens the app.

Before the app starts on Linux with an X display, :func:`xcb_problem` checks that the system libraries
Qt's X11 platform plugin (``libqxcb.so``) needs are installed: when one is missing Qt only says
"xcb-cursor0 or libxcb-cursor0 is needed", whichever is actually missing, so the launcher prints the
real missing libraries and the Debian/Ubuntu and Fedora packages that provide them.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

COMMANDS = ("train", "evaluate", "predict", "export", "template", "analyze", "explain", "import")

#: shared library -> (Debian/Ubuntu package, Fedora package)
XCB_PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.M)


def xcb_plugin() -> Path | None:
    """PySide6's ``plugins/platforms/libqxcb.so`` (found without importing Qt), or None."""
    from importlib.util import find_spec
    try:
        spec = find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    for base in (spec.submodule_search_locations or []) if spec is not None else []:
        p = Path(base) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if p.is_file():
            return p
    return None


def ldd_missing(plugin: Path, run=subprocess.run) -> list[str] | None:
    """The libraries ``ldd`` reports as "not found" for ``plugin`` (None when ldd cannot be run)."""
    try:
        out = run(["ldd", str(plugin)], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return sorted(set(_NOT_FOUND.findall(out.stdout or "")))


def ctypes_missing(libraries=XCB_PACKAGES) -> list[str]:
    """Without ldd: the known libraries that cannot be loaded."""
    import ctypes
    missing = []
    for name in libraries:
        try:
            ctypes.CDLL(name)
        except OSError:
            missing.append(name)
    return missing


def wants_xcb(env=None, platform: str | None = None) -> bool:
    """Whether Qt will use its X11 (xcb) plugin: Linux, a DISPLAY, and no other platform chosen."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") or not env.get("DISPLAY"):
        return False
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip()
    if qpa:
        return qpa == "xcb"
    return not env.get("WAYLAND_DISPLAY")   # a Wayland session uses Qt's wayland plugin first


def missing_message(missing: list[str]) -> str:
    """The console message naming the missing libraries and the packages to install."""
    debian = sorted({XCB_PACKAGES[m][0] for m in missing if m in XCB_PACKAGES})
    fedora = sorted({XCB_PACKAGES[m][1] for m in missing if m in XCB_PACKAGES})
    lines = ["NN Studio: Qt's X11 platform plugin (libqxcb.so) cannot load these system libraries: "
             + ", ".join(missing) + "."]
    if debian:
        lines.append("Install them:  Debian/Ubuntu: sudo apt install " + " ".join(debian))
        lines.append("               Fedora: sudo dnf install " + " ".join(fedora))
    lines.append("(Qt's own message below may name libxcb-cursor0 whichever library is missing.)")
    return "\n".join(lines)


def xcb_problem(env=None, platform: str | None = None, plugin: Path | None = None, run=subprocess.run,
                fallback=ctypes_missing) -> str | None:
    """The message to print when the xcb plugin will fail for a missing system library, else None."""
    if not wants_xcb(env, platform):
        return None
    plugin = plugin or xcb_plugin()
    if plugin is None:
        return None
    missing = ldd_missing(plugin, run)
    if missing is None:
        missing = fallback()
    return missing_message(missing) if missing else None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from engine.userdirs import configure_numba_cache
    configure_numba_cache()   # a read-only install caches compiled kernels in the user cache folder
    if (argv and argv[0] in COMMANDS) or argv in (["-h"], ["--help"], ["--version"]):
        from app.cli import main as cli_main
        return cli_main(argv)
    problem = xcb_problem()
    if problem:
        print(problem, file=sys.stderr)
    from app.application import main as gui_main
    return gui_main(argv)
