"""Entry point shared by ``python main.py`` and the ``nn-studio`` console script.

``train|evaluate|predict|export|template|import`` (and a bare ``--help`` or ``--version``) go to the headless CLI,
which never imports Qt; everything else opens the app.
"""
from __future__ import annotations

import sys

COMMANDS = ("train", "evaluate", "predict", "export", "template", "import")  # import: app/import_cli.py


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from engine.userdirs import configure_numba_cache
    configure_numba_cache()   # a read-only install caches compiled kernels in the user cache folder
    if (argv and argv[0] in COMMANDS) or argv in (["-h"], ["--help"], ["--version"]):
        from app.cli import main as cli_main
        return cli_main(argv)
    from app.application import main as gui_main
    return gui_main(argv)
