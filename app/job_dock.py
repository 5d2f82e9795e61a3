"""What the docks that run engine jobs on worker threads share (Analyze; Evaluate and predict).

:class:`JobDock` owns a :class:`app.training_controller.DataLoader`, routes its signals to the
subclass's ``_on_result(tag, value)``, ``_on_failed(tag, message)`` and
``_on_progress(tag, pct, text)``, joins the worker threads when the window closes (the
training controller's shutdown hooks) or the application quits, and puts the dock in a tab
beside the Training plots.
"""
from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from app.training_controller import DataLoader


class JobDock(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.loader = DataLoader(self)

    def _dock_beside_plots(self, dock) -> None:
        """Tabify ``dock`` with the Training plots dock, once the window is shown when it can say so."""
        window = self.window
        plots = getattr(window, "panels", {}).get("Training plots")
        if plots is None or not hasattr(window, "tabifyDockWidget"):
            return

        def tabify():
            dock.show()
            window.tabifyDockWidget(plots, dock)
            plots.raise_()
        later = getattr(window, "after_first_show", None)
        if later is not None:
            dock.hide()  # until tabified: side by side it would widen the window
            later(tabify)
        else:
            tabify()

    def _connect_jobs(self) -> None:
        """Worker results to the ``_on_*`` handlers; join the workers at close and at quit."""
        self.loader.result.connect(self._on_result)
        self.loader.failed.connect(self._on_failed)
        self.loader.progress.connect(self._on_progress)
        training = getattr(self.window, "training", None)
        if training is not None and hasattr(training, "add_shutdown_hook"):
            training.add_shutdown_hook(self.shutdown)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        return self.loader.shutdown(timeout_ms)

    def _message(self, text: str) -> None:
        """``text`` in the window's status bar for ten seconds (when the window has one)."""
        if hasattr(self.window, "show_message"):
            self.window.show_message(text, 10000)

    def _on_result(self, tag: str, value) -> None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def _on_failed(self, tag: str, message: str) -> None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def _on_progress(self, tag: str, pct: int, text: str) -> None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError
