"""NN Studio entry point: ``python main.py`` opens the app; ``python main.py train|evaluate|predict|export``
runs headless (see ``python main.py --help``)."""
import sys

COMMANDS = ("train", "evaluate", "predict", "export")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if (argv and argv[0] in COMMANDS) or argv in (["-h"], ["--help"]):
        from app.cli import main as cli_main
        return cli_main(argv)
    from app.application import main as gui_main
    return gui_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
