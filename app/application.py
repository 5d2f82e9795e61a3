"""Start-up: ``main(argv) -> int`` (``python main.py [PROJECT] [--screenshot FILE] [--size WxH]``)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1400x900, got {text!r}") from None
    if not (200 <= w <= 10000 and 200 <= h <= 10000):
        raise argparse.ArgumentTypeError("width and height must be between 200 and 10000")
    return w, h


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nn-studio", description="NN Studio: build and train neural networks visually.")
    p.add_argument("project", nargs="?", help="project file (.nnsp) to open")
    p.add_argument("--screenshot", metavar="FILE", help="render the main window to a PNG and exit")
    p.add_argument("--size", type=_parse_size, default=None, metavar="WxH",
                   help="window size (default: the size it had when the app last quit, else 1400x880 fitted to the "
                        "screen; screenshots 1400x880)")
    p.add_argument("--train-epochs", type=int, default=0, metavar="N",
                   help="with --screenshot: first train the project for N epochs in the app (shows live views)")
    p.add_argument("--tab", default=None, metavar="NAME",
                   help="with --screenshot: the plots tab to show (Curves, Weights, Boundary, Confusion)")
    p.add_argument("--lang", default=None, metavar="CODE",
                   help="user interface language, e.g. zh_CN or en; remembered for the next start like "
                        "View > Language (default: the remembered choice, else the system language)")
    return p


def _settle(app, rounds: int = 5) -> None:
    """Let the first layout pass finish (tabified docks place their tab bars late)."""
    import time
    for _ in range(rounds):
        app.processEvents()
        time.sleep(0.02)


def _train_before_screenshot(app, win, epochs: int, timeout_s: float = 300.0) -> str | None:
    """Run the real Train action for ``epochs`` epochs and wait for it; returns an error or None."""
    import time
    ui = win.training_ui
    cfg = ui.training_panel.config().to_dict()
    ui.training_panel.set_config({**cfg, "epochs": epochs})
    done: list[str] = []
    ui.controller.run_finished.connect(lambda ev: done.append(""))
    ui.controller.run_failed.connect(lambda msg: done.append(msg))
    if not ui.start_training():
        return "training could not start (see the Training panel)"
    deadline = time.monotonic() + timeout_s
    while not done and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    for _ in range(20):  # let the plot timers draw the last epoch
        app.processEvents()
        time.sleep(0.01)
    if not done:
        ui.shutdown(5000)
        return "training did not finish in time"
    return done[0] or None


def create_app(argv: list[str] | None = None):
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "nn-studio"] + list(argv or []))
    app.setApplicationName("NN Studio")
    app.setOrganizationName("nn-studio")
    app.setStyle("Fusion")
    qss = RESOURCES / "styles" / "app.qss"
    if qss.is_file():
        app.setStyleSheet(qss.read_text("utf-8"))
    app.aboutToQuit.connect(_release_clipboard)
    return app


def _release_clipboard() -> None:
    """Drop layers we put on the clipboard before Qt tears down (avoids a crash at exit)."""
    from PySide6.QtGui import QClipboard, QGuiApplication
    cb = QGuiApplication.clipboard()
    if cb is not None and cb.ownsClipboard():
        cb.clear(QClipboard.Mode.Clipboard)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.screenshot and not os.environ.get("QT_QPA_PLATFORM"):
        # rendering to a file needs no screen: works on headless machines and in CI
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QThread

    from engine.files import os_reason
    from engine.io import ProjectError, demo_project, load_project

    app = create_app()
    from app import i18n
    # a --lang given by a person is remembered; screenshots (automation) leave the stored choice alone
    i18n.install(app, i18n.choose_language(args.lang, remember=not args.screenshot))
    assert QThread.currentThread() is app.thread(), "the GUI must be created on the main thread"
    from app.main_window import MainWindow

    project, path, error = None, None, None
    if args.project:
        try:
            project, path = load_project(args.project), str(args.project)
        except (ProjectError, OSError) as exc:
            error = f"{Path(args.project).name}: {os_reason(exc) if isinstance(exc, OSError) else exc}"
    if project is None:
        project = demo_project()
    win = MainWindow(project, path)
    from app import layout
    layout.install(win, args.size or (layout.DEFAULT_SIZE if args.screenshot else None))
    app.aboutToQuit.connect(lambda: layout.save(win))
    if error:
        if args.screenshot:
            print(f"error: cannot open project {error}", file=sys.stderr)
            return 2
        win.show()
        from PySide6.QtCore import QCoreApplication
        win.project.show_error(QCoreApplication.translate("ProjectController", "Cannot open project"), error)
    if args.screenshot:
        win.show()
        _settle(app)
        win.view.zoom_to_fit()
        app.processEvents()
        if args.train_epochs > 0:
            problem = _train_before_screenshot(app, win, args.train_epochs)
            if problem:
                print(f"error: {problem}", file=sys.stderr)
        if args.tab:
            tabs = win.training_ui.tabs
            want = args.tab.lower()
            for i in range(tabs.count()):  # the English name (Weights) or the shown one (权重)
                if want in (str(tabs.widget(i).property("tab_name") or "").lower(), tabs.tabText(i).lower()):
                    tabs.setCurrentIndex(i)
                    break
            app.processEvents()
        ok = win.grab().save(args.screenshot)
        win.project.timer.stop()
        win.hide()  # not close(): a screenshot must not touch the autosave/session files
        if not ok:
            print(f"error: could not write {args.screenshot}", file=sys.stderr)
            return 1
        return 0
    win.show()
    app.processEvents()
    # the training process starts (and loads its kernels) while the user looks at the window
    from app.workers import prestart_process
    prestart_process()
    win.view.zoom_to_fit()
    i18n.show_font_hint(win)
    if project is not None and not error:
        win.project.offer_recovery()
    if path:
        win.project.add_recent(path)
    from app import crash, signals
    signals.install(app, win)   # Ctrl+C / SIGTERM: autosave and quit (130 / 143)
    crash.install(win)          # internal errors: logged, work autosaved, one dialog naming the log
    return app.exec()
