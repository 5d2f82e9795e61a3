"""The launcher names the system libraries Qt's xcb plugin really misses (Qt names libxcb-cursor0 regardless)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from app import launcher

LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
"""


def _ldd(stdout: str):
    def run(cmd, **kw):
        assert cmd[0] == "ldd" and cmd[1].endswith("libqxcb.so")
        return subprocess.CompletedProcess(cmd, 0, stdout=stdout, stderr="")
    return run


def _no_ldd(cmd, **kw):
    raise FileNotFoundError("ldd")


X11 = {"DISPLAY": ":0"}
PLUGIN = Path("/venv/PySide6/Qt/plugins/platforms/libqxcb.so")


def test_the_message_names_the_really_missing_libraries_and_their_packages():
    msg = launcher.xcb_problem(X11, "linux", PLUGIN, run=_ldd(LDD))
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in msg
    assert "sudo apt install libxcb-icccm4 libxcb-keysyms1" in msg
    assert "sudo dnf install xcb-util-keysyms xcb-util-wm" in msg
    assert "libxcb-cursor0 whichever" in msg          # says why Qt's own message is misleading
    assert "libxcb-cursor.so.0," not in msg


def test_nothing_is_printed_when_every_library_is_there_or_xcb_is_not_used():
    ok = LDD.replace(" => not found", " => /lib/x.so (0x1)")
    assert launcher.xcb_problem(X11, "linux", PLUGIN, run=_ldd(ok)) is None
    fail = _ldd(LDD)
    assert launcher.xcb_problem({}, "linux", PLUGIN, run=fail) is None                       # no display
    assert launcher.xcb_problem(X11, "darwin", PLUGIN, run=fail) is None
    assert launcher.xcb_problem({**X11, "QT_QPA_PLATFORM": "offscreen"}, "linux", PLUGIN, run=fail) is None
    assert launcher.xcb_problem({**X11, "WAYLAND_DISPLAY": "wayland-0"}, "linux", PLUGIN, run=fail) is None
    assert launcher.xcb_problem({**X11, "WAYLAND_DISPLAY": "w", "QT_QPA_PLATFORM": "xcb"}, "linux", PLUGIN,
                                run=fail) is not None


def test_without_ldd_the_libraries_are_loaded_with_ctypes():
    msg = launcher.xcb_problem(X11, "linux", PLUGIN, run=_no_ldd, fallback=lambda: ["libxcb-icccm.so.4"])
    assert "apt install libxcb-icccm4" in msg and "dnf install xcb-util-wm" in msg
    # the real fallback tries to load every library in the table
    seen = []

    class FakeCDLL:
        def __init__(self, name):
            seen.append(name)
            if name == "libxcb-keysyms.so.1":
                raise OSError(name)

    import ctypes
    real = ctypes.CDLL
    ctypes.CDLL = FakeCDLL
    try:
        assert launcher.ctypes_missing() == ["libxcb-keysyms.so.1"]
    finally:
        ctypes.CDLL = real
    assert set(seen) == set(launcher.XCB_PACKAGES)


def test_main_prints_it_before_the_app_starts(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(launcher, "xcb_problem", lambda: "NN Studio: Qt's X11 platform plugin ... libxcb-icccm.so.4")
    import app.application
    monkeypatch.setattr(app.application, "main", lambda argv: calls.append(argv) or 0)
    assert launcher.main(["--lang", "en"]) == 0
    assert calls == [["--lang", "en"]]
    assert "libxcb-icccm.so.4" in capsys.readouterr().err


def test_the_real_plugin_is_found_and_checked_here():
    plugin = launcher.xcb_plugin()
    assert plugin is not None and plugin.name == "libqxcb.so"
    assert launcher.ldd_missing(plugin) is not None     # ldd runs on this machine
