"""The graph fits the data: the offer bar above the canvas and Model > Fit graph to data.

When a data set is loaded (or a template is chosen while one is loaded) and the
graph's Input shape or output layer does not fit it, the bar offers to fix both
in one undoable command (:meth:`GraphController.fit_to_data`); afterwards it
says what changed, with an Undo button.  The pure logic is ``engine.fit``
(shared with ``python main.py template NAME --data PATH``).

Needs from the window: ``document``, ``graph`` (GraphController),
``undo_stack``, ``offer_bar`` (widgets.canvas.OfferBar), ``actions`` and
``show_message``; optionally ``training`` (TrainingController, for its
``data_loaded`` signal and ``dataset``) and ``training_ui.loader``.
"""
from __future__ import annotations

from PySide6.QtCore import QObject

from engine.fit import DataInfo
from engine.i18n import tr as engine_tr


def _joined(texts) -> str:
    """Engine texts (changes, problems) translated and joined with "; "."""
    return "; ".join(engine_tr(t) for t in texts)


class FitToDataUI(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.bar = window.offer_bar
        self.bar.accepted.connect(self._on_accepted)
        self.bar.dismissed.connect(lambda: None)
        self.document.changed.connect(self._on_graph_changed)
        self.document.project_loaded.connect(self.bar.clear)
        action = window.actions.get("fit_to_data")
        if action is not None:
            action.triggered.connect(self.fit_now)
        training = getattr(window, "training", None)
        if training is not None:
            training.data_loaded.connect(self.set_dataset)
        ui = getattr(window, "training_ui", None)
        loader = getattr(ui, "loader", None)
        if loader is not None:
            loader.result.connect(lambda tag, value: self._on_loader(tag, value))
        self._update_action()

    # ------------------------------------------------------------------ inputs
    def _on_loader(self, tag: str, value) -> None:
        if tag == "load":
            self.set_dataset(value[1])

    def set_dataset(self, dataset) -> None:
        """A data set was loaded: remember its shape and task and offer to fit the graph."""
        try:
            info = None if dataset is None else DataInfo.of(dataset)
        except (AttributeError, KeyError, TypeError, ValueError):
            info = None
        self.document.set_data_info(info)
        self.offer()

    def template_applied(self) -> None:
        self.offer()

    # ------------------------------------------------------------------ the offer
    def offer(self) -> bool:
        """Show the offer when fitting would change the graph; returns whether it is shown."""
        info = self.document.data_info
        if info is None:
            return False
        from engine.fit import fit_to_data
        result = fit_to_data(self.document.spec, info)
        if not result.changed:
            if self.bar.kind == "offer":
                self.bar.clear()
            return False
        text = self.tr("The graph does not fit the loaded data ({data}). Fit it? {changes}").format(
            data=f"{engine_tr(info.describe_input())}, {engine_tr(info.describe_task())}", changes=_joined(result.changes))
        self.bar.show_offer(text, self.tr("Fit graph to data"))
        return True

    def fit_now(self) -> bool:
        """Fit the graph to the loaded data (one undo step); returns whether anything changed."""
        info = self.document.data_info
        if info is None:
            self.window.show_message(self.tr("Load a data set first (Data panel), then fit the graph to it"))
            return False
        result = self.window.graph.fit_to_data(info)
        if not result.changed:
            text = self.tr("The graph already fits the data") if not result.problems else \
                self.tr("Cannot fit the graph automatically: {why}").format(why=_joined(result.problems))
            self.bar.clear()
            self.window.show_message(text)
            return False
        text = self.tr("Fitted the graph to the data: {changes}.").format(changes=_joined(result.changes))
        if result.problems:
            text += " " + self.tr("Still to fix: {why}").format(why=_joined(result.problems))
        self.bar.show_done(text, self.tr("Undo"))
        self.window.show_message(text)
        return True

    def _on_accepted(self) -> None:
        if self.bar.kind == "offer":
            self.fit_now()
        elif self.bar.kind == "done":
            if self._fit_is_last():
                self.window.undo_stack.undo()
            self.bar.clear()

    def _fit_is_last(self) -> bool:
        from app.commands import FitToData
        stack = self.window.undo_stack
        return stack.index() > 0 and isinstance(stack.command(stack.index() - 1), FitToData)

    def _on_graph_changed(self) -> None:
        if self.bar.kind == "done" and not self._fit_is_last():
            self.bar.clear()
        if self.bar.kind == "offer" and not self.document.fit_problems():
            from engine.fit import fit_to_data
            info = self.document.data_info
            if info is None or not fit_to_data(self.document.spec, info).changed:
                self.bar.clear()
        self._update_action()

    def _update_action(self) -> None:
        action = self.window.actions.get("fit_to_data")
        if action is not None:
            action.setEnabled(self.document.data_info is not None)
