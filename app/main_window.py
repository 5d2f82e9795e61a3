"""The main window: composes the palette, canvas, property editor and the controllers."""
from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence, QUndoStack
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QStyle, QToolBar, QWidget

from app.controllers.graph_controller import GraphController
from app.controllers.project_controller import ProjectController
from app.document import GraphDocument
from engine.i18n import tr as engine_tr
from engine.templates import all_templates
from widgets.canvas import GraphView
from widgets.palette import LayerPalette
from widgets.property_editor import PropertyEditor

APP_NAME = "NN Studio"
_MNEMONIC = re.compile(r"\s*\(&[^)]\)|&(?=[^&])")


def toolbar_text(text: str) -> str:
    """A menu text as a toolbar button shows it: no mnemonic (``"新建(&N)"`` -> ``"新建"``) and no "…"."""
    return _MNEMONIC.sub("", text).replace("&&", "&").rstrip("…").rstrip()
RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def _with_extra(bindings: list, *extra: str) -> list:
    """Key bindings plus ``extra`` ones not already among them (Ctrl+Y redo, Ctrl+= zoom in)."""
    out = list(bindings)
    for e in extra:
        k = QKeySequence(e)
        if all(k != b for b in out):
            out.append(k)
    return out


class MainWindow(QMainWindow):
    def __init__(self, project=None, path: str | None = None, *, data_directory=None, parent=None):
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setDockNestingEnabled(True)
        icon = RESOURCES / "icons" / "app.svg"
        if icon.is_file():
            self.setWindowIcon(QIcon(str(icon)))
        self.document = GraphDocument(self)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        self.graph = GraphController(self.document, self.undo_stack, self)
        self.project = ProjectController(self.document, self.undo_stack, self, data_directory)
        self.actions: dict[str, QAction] = {}
        self.panels: dict[str, QDockWidget] = {}
        self._shown_once = False
        self._show_hooks: list = []
        self._menu_closing = False

        # views
        self.view = GraphView(parent=self)
        self._make_central()
        self.layer_palette = LayerPalette(self)
        self.property_editor = PropertyEditor(self)
        self.palette_dock = self.add_panel(QT_TRANSLATE_NOOP("Panels", "Layers"), self.layer_palette, Qt.LeftDockWidgetArea)
        self.properties_dock = self.add_panel(QT_TRANSLATE_NOOP("Panels", "Properties"), self.property_editor, Qt.RightDockWidgetArea)
        self.palette_dock.setMinimumWidth(210)
        self.properties_dock.setMinimumWidth(260)
        self.status_summary = QLabel(self)
        self.statusBar().addPermanentWidget(self.status_summary)

        self._make_actions()
        self._make_menus()
        self._make_toolbar()
        self._connect()

        if project is not None:
            self.project.load(project, path)
        else:
            self._on_changed()
        self._update_title()

        # data, training and live plots (docks + the Train action)
        from app.training_ui import install_training_ui
        self.training = install_training_ui(self)
        # evaluate, predict, export and import (File > Export, Model > Evaluate, a dock beside the plots)
        from app.evaluation_ui import install_evaluation_ui
        install_evaluation_ui(self)
        from app.explain_ui import install as install_explain_ui
        install_explain_ui(self)  # the Analyze dock: layer table, activations, saliency, importance
        from app.import_ui import install_import  # File > Import ONNX model… (app/import_ui.py)
        self.onnx_import = install_import(self)
        self._install_fit_to_data()
        self._install_wheel_guard()
        self._tidy_toolbar()

    # ------------------------------------------------------------------ public API
    def add_panel(self, title: str, widget: QWidget, area=Qt.RightDockWidgetArea) -> QDockWidget:
        """Dock ``widget`` under ``title`` (used by the data and training panels).

        ``title`` is the English name (the key of :attr:`panels` and the dock's object name), marked with
        ``QT_TRANSLATE_NOOP("Panels", ...)`` at the call site; the dock shows its translation.
        """
        dock = QDockWidget(QCoreApplication.translate("Panels", title), self)
        dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                         | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, dock)
        self.panels[title] = dock
        if hasattr(self, "_view_menu"):
            self._view_menu.addAction(dock.toggleViewAction())
        return dock

    def after_first_show(self, fn) -> None:
        """Run ``fn`` once the window is first shown (now, if it already was).

        Tabifying bottom docks before the first show leaves a stray, unmanaged tab
        bar in Qt 6.11; doing it after the first layout pass does not.
        """
        if self._shown_once:
            fn()
        else:
            self._show_hooks.append(fn)

    def showEvent(self, event):
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            hooks, self._show_hooks = self._show_hooks, []
            for fn in hooks:
                fn()

    def show_message(self, text: str, ms: int = 6000) -> None:
        self.statusBar().showMessage(text, ms)

    # ------------------------------------------------------------------ actions
    def _act(self, name: str, text: str, slot=None, shortcut=None, tip: str = "", icon=None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcuts(QKeySequence.keyBindings(shortcut) if isinstance(shortcut, QKeySequence.StandardKey)
                           else [QKeySequence(shortcut)])
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        if icon is not None:
            a.setIcon(self.style().standardIcon(icon))
        if slot is not None:
            a.triggered.connect(slot)
        self.addAction(a)
        self.actions[name] = a
        return a

    def _make_actions(self) -> None:
        S, K = QStyle, QKeySequence
        self._act("new", self.tr("&New"), self.project.new_project, K.New, self.tr("Start a new empty project"), S.SP_FileIcon)
        self._act("open", self.tr("&Open…"), lambda: self.project.open_project(), K.Open, self.tr("Open a project file"),
                  S.SP_DialogOpenButton)
        self._act("save", self.tr("&Save"), self.project.save, K.Save, self.tr("Save the project"), S.SP_DialogSaveButton)
        self._act("save_as", self.tr("Save &As…"), lambda: self.project.save_as(), K.SaveAs, self.tr("Save the project under a new name"))
        self._act("quit", self.tr("&Quit"), self.close, K.Quit, self.tr("Quit NN Studio"))
        undo = self.undo_stack.createUndoAction(self, self.tr("&Undo"))
        undo.setShortcuts(K.keyBindings(K.Undo))
        undo.setIcon(self.style().standardIcon(S.SP_ArrowBack))
        redo = self.undo_stack.createRedoAction(self, self.tr("&Redo"))
        redo.setShortcuts(_with_extra(K.keyBindings(K.Redo), "Ctrl+Y"))
        redo.setIcon(self.style().standardIcon(S.SP_ArrowForward))
        self.addAction(undo)
        self.addAction(redo)
        self.actions["undo"], self.actions["redo"] = undo, redo
        self._act("copy", self.tr("&Copy"), lambda: self.graph.copy(), K.Copy, self.tr("Copy the selected layers"))
        self._act("paste", self.tr("&Paste"), self.paste, K.Paste,
                  self.tr("Paste layers (at the mouse pointer when it is over the canvas)"))
        self._act("duplicate", self.tr("D&uplicate"), lambda: self.graph.duplicate(), "Ctrl+D",
                  self.tr("Duplicate the selected layers"))
        self._act("delete", self.tr("&Delete"), self.view.request_delete, K.Delete,
                  self.tr("Delete the selected layers and connections"), S.SP_TrashIcon)
        # on X11 the platform's Delete bindings include Ctrl+D, which made Duplicate ambiguous
        self.actions["delete"].setShortcuts([k for k in K.keyBindings(K.Delete) if k != QKeySequence("Ctrl+D")])
        self._act("select_all", self.tr("Select &All"), self._select_all, K.SelectAll, self.tr("Select every layer"))
        self._act("zoom_in", self.tr("Zoom &In"), lambda: self.view.zoom_by(1.25), K.ZoomIn, self.tr("Zoom in"))
        self.actions["zoom_in"].setShortcuts(_with_extra(K.keyBindings(K.ZoomIn), "Ctrl+="))
        self._act("zoom_out", self.tr("Zoom &Out"), lambda: self.view.zoom_by(0.8), K.ZoomOut, self.tr("Zoom out"))
        self._act("zoom_fit", self.tr("Zoom to &Fit"), self.view.zoom_to_fit, "Ctrl+0", self.tr("Show the whole graph"))
        self._act("reset_view", self.tr("&Reset View"), self.view.reset_view, "Ctrl+1", self.tr("100% zoom, centred on the graph"))
        self._act("auto_layout", self.tr("&Auto-layout"), self._auto_layout, "Ctrl+L",
                  self.tr("Arrange layers top to bottom by depth"))
        self._act("train", self.tr("&Train"), None, "F5", self.tr("Train the model"), S.SP_MediaPlay)
        self._act("fit_to_data", self.tr("&Fit graph to data"), None, "Ctrl+Shift+F",
                  self.tr("Set the Input shape and the output layer to fit the loaded data (one undo step)"))
        for t in all_templates():
            self._act(f"template_{t.key}", engine_tr(t.name), lambda _=False, k=t.key: self._apply_template(k),
                      tip=engine_tr(t.description))

    def _make_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu(self.tr("&File"))
        f.setObjectName("menu_file")
        for n in ("new", "open"):
            f.addAction(self.actions[n])
        self.recent_menu = f.addMenu(self.tr("Open &Recent"))
        f.addSeparator()
        f.addAction(self.actions["save"])
        f.addAction(self.actions["save_as"])
        f.addSeparator()
        f.addAction(self.actions["quit"])
        e = mb.addMenu(self.tr("&Edit"))
        e.setObjectName("menu_edit")
        e.aboutToHide.connect(self._edit_menu_closing)
        for n in ("undo", "redo", None, "copy", "paste", "duplicate", "delete", None, "select_all"):
            e.addSeparator() if n is None else e.addAction(self.actions[n])
        v = mb.addMenu(self.tr("&View"))
        v.setObjectName("menu_view")
        for n in ("zoom_in", "zoom_out", "zoom_fit", "reset_view", None, "auto_layout", None):
            v.addSeparator() if n is None else v.addAction(self.actions[n])
        from app.i18n import add_language_menu
        add_language_menu(v, self)
        v.addSeparator()
        self._view_menu = v
        for dock in self.panels.values():
            v.addAction(dock.toggleViewAction())
        t = mb.addMenu(self.tr("T&emplates"))
        t.setObjectName("menu_templates")
        for tpl in all_templates():
            t.addAction(self.actions[f"template_{tpl.key}"])
        m = mb.addMenu(self.tr("&Model"))
        m.setObjectName("menu_model")
        m.addAction(self.actions["train"])
        m.addAction(self.actions["fit_to_data"])
        h = mb.addMenu(self.tr("&Help"))
        h.setObjectName("menu_help")
        h.addAction(self.tr("&Getting started"), self._help)
        from app import help_ui
        help_ui.install(self, h)
        self._fill_recent(self.project.recent_files())

    def _make_toolbar(self) -> None:
        tb = self.addToolBar(self.tr("Main toolbar"))
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        for n in ("new", "open", "save", None, "undo", "redo", None, "delete", "duplicate", None,
                  "zoom_fit", "auto_layout", None, "train"):
            tb.addSeparator() if n is None else tb.addAction(self.actions[n])
        for n in ("undo", "redo"):  # their text names the command: keep the toolbar from jumping
            btn = tb.widgetForAction(self.actions[n])
            if btn is not None:
                btn.setToolButtonStyle(Qt.ToolButtonIconOnly)

    def _tidy_toolbar(self) -> None:
        """Toolbar buttons show their action's text without the mnemonic, also when the text changes."""
        tb = self.findChild(QToolBar, "main_toolbar")
        for a in tb.actions() if tb is not None else []:
            if a.isSeparator():
                continue
            a.changed.connect(lambda a=a: self._set_icon_text(a))
            self._set_icon_text(a)

    @staticmethod
    def _set_icon_text(action: QAction) -> None:
        import shiboken6
        if not shiboken6.isValid(action):  # changed() while the window is being destroyed
            return
        text = toolbar_text(action.text())
        if action.iconText() != text:
            action.setIconText(text)

    def _fill_recent(self, paths: list) -> None:
        self.recent_menu.clear()
        for p in paths:
            a = self.recent_menu.addAction(Path(p).name)
            a.setToolTip(p)
            a.setStatusTip(p)
            a.triggered.connect(lambda _=False, p=p: self.project.open_project(p))
        if paths:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(self.tr("Clear list"), self.project.clear_recent)
        self.recent_menu.setEnabled(bool(paths))

    # ------------------------------------------------------------------ wiring
    def _connect(self) -> None:
        v, g = self.view, self.graph
        v.node_drop_requested.connect(lambda tid, pos: g.add_node(tid, pos))
        v.connect_requested.connect(g.connect)
        v.nodes_moved.connect(g.move_nodes)
        v.delete_requested.connect(g.delete)
        v.insert_requested.connect(lambda tid, edge, pos: g.insert_layer(tid, edge, pos))
        v.paste_requested.connect(lambda pos: g.paste(at=pos))
        v.copy_requested.connect(lambda ids: g.copy(ids))
        v.duplicate_requested.connect(lambda ids: g.duplicate(ids))
        v.disconnect_requested.connect(g.disconnect_nodes)
        v.properties_requested.connect(self.show_properties)
        v.auto_layout_requested.connect(self._auto_layout)
        v.can_paste = g.can_paste
        v.selection_changed.connect(self._on_selection)
        self.layer_palette.add_requested.connect(lambda tid: g.add_node_near_selection(tid, v.view_centre()))
        self.property_editor.config_edit_requested.connect(g.set_config)
        self.property_editor.rename_requested.connect(g.rename)
        g.message.connect(self.show_message)
        g.select_requested.connect(self._select_nodes)
        self.project.message.connect(self.show_message)
        self.project.recent_changed.connect(self._fill_recent)
        self.project.modified_changed.connect(lambda _m: self._update_title())
        self.document.changed.connect(self._on_changed)
        self.document.path_changed.connect(lambda _p: self._update_title())
        self._fit_after_draw = False
        self.document.project_loaded.connect(self._on_loaded)

    def _on_loaded(self) -> None:
        # project_loaded comes before the changed() that draws the new graph: fit once that is drawn, and
        # start with nothing selected (items are reused by node id, so n5 of the old graph would stay so)
        self.view.graph_scene.clearSelection()
        self._fit_after_draw = True

    def _on_changed(self) -> None:
        doc = self.document
        self.view.set_graph(doc.spec, doc.analysis)
        if self._fit_after_draw:
            self._fit_after_draw = False
            self.view.zoom_to_fit()
        self.graph.set_selection(self.view.graph_scene.selected_node_ids())
        self._refresh_properties()
        reason = doc.train_blocker()
        train = self.actions["train"]
        train.setEnabled(reason is None)
        tip = self.tr("Train the model (F5)") if reason is None else self.tr("Cannot train: {why}").format(
            why=engine_tr(reason))
        train.setToolTip(tip)
        train.setStatusTip(tip)
        shown = "" if reason is None else engine_tr(reason)
        self.view.set_banner(shown[:1].upper() + shown[1:])
        n = len(doc.spec.nodes)
        if reason is None:
            params = doc.n_params()
            self.status_summary.setText(self.tr("{n} layers · {params} parameters · ready to train").format(
                n=n, params=f"{params:,}"))
        else:
            self.status_summary.setText(self.tr("{n} layers · not trainable yet").format(n=n))
        if reason is None:
            self._show_fit_problems()

    def _show_fit_problems(self) -> None:
        """A valid graph that does not fit the loaded data: say so on the Train action and status bar."""
        problems = self.document.fit_problems()
        if not problems:
            return
        text = self.tr("does not fit the data: {why}").format(why=engine_tr(problems[0]))
        fix = self.tr("{text} (or Model ▸ Fit graph to data)").format(text=text)
        train = self.actions["train"]
        train.setEnabled(False)
        train.setToolTip(self.tr("Cannot train: {why}").format(why=fix))
        train.setStatusTip(train.toolTip())
        self.view.set_banner(text[:1].upper() + text[1:])
        self.status_summary.setText(self.tr("{n} layers · {text}").format(n=len(self.document.spec.nodes), text=text))

    def _on_selection(self, ids: list) -> None:
        self.graph.set_selection(ids)
        self._refresh_properties()

    def _refresh_properties(self) -> None:
        ids = self.graph.selection
        spec = self.document.spec
        if len(ids) == 1 and spec.has_node(ids[0]):
            self.property_editor.set_node(spec.node(ids[0]), self.document.analysis)
        else:
            self.property_editor.set_node(None, count=len(ids))

    def _select_nodes(self, ids: list) -> None:
        self.view.graph_scene.select_nodes(ids)

    def cursor_global_pos(self):
        """The mouse pointer in screen coordinates (replaced in tests)."""
        from PySide6.QtGui import QCursor
        return QCursor.pos()

    def canvas_cursor_pos(self):
        """The pointer in scene coordinates when it is over the visible canvas, else None.

        None also while the Edit menu closes: Edit > Paste clicked in a menu that opened over the
        canvas is not a paste "at the pointer" (Ctrl+V and the canvas's own *Paste here* are).
        """
        vp = self.view.viewport()
        if not vp.isVisible() or self._menu_closing:
            return None
        p = vp.mapFromGlobal(self.cursor_global_pos())
        return self.view.mapToScene(p) if vp.rect().contains(p) else None

    def _edit_menu_closing(self) -> None:
        """The Edit menu hides just before the clicked action runs; the flag lasts until the event is over."""
        from PySide6.QtCore import QTimer
        self._menu_closing = True
        QTimer.singleShot(0, lambda: setattr(self, "_menu_closing", False))

    def paste(self) -> list:
        """Edit > Paste / Ctrl+V: at the pointer when it is over the canvas, else offset from the originals."""
        return self.graph.paste(at=self.canvas_cursor_pos())

    def show_properties(self, node_id: str) -> None:
        """A node's *Properties*: select it alone, show the property editor and put the focus in it."""
        if not self.document.spec.has_node(node_id):
            return
        self.view.graph_scene.select_nodes([node_id])
        self.properties_dock.show()
        self.properties_dock.raise_()
        editor = self.property_editor
        fields = [w for k, w in editor.widgets.items() if k != "name"] + [editor.widgets.get("name")]
        first = next((w for w in fields if w is not None and w.isEnabled()), None)
        (first or editor).setFocus(Qt.OtherFocusReason)

    def _select_all(self) -> None:
        self.view.graph_scene.select_nodes(self.document.spec.node_ids)

    def _apply_template(self, key: str) -> None:
        self.graph.apply_template(key)
        self.view.zoom_to_fit()
        fit = getattr(self, "fit_ui", None)
        if fit is not None:
            fit.template_applied()

    def _auto_layout(self) -> None:
        self.graph.auto_layout()
        self.view.zoom_to_fit()

    def _make_central(self) -> None:
        """The canvas with the offer bar ("fit the graph to the data?") above it."""
        from PySide6.QtWidgets import QVBoxLayout

        from widgets.canvas.offer_bar import OfferBar
        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.offer_bar = OfferBar(central)
        lay.addWidget(self.offer_bar)
        lay.addWidget(self.view, 1)
        self.setCentralWidget(central)

    def _install_wheel_guard(self) -> None:
        from app.wheel_guard import install
        install(self)

    def _install_fit_to_data(self) -> None:
        from app.fit_ui import FitToDataUI
        self.fit_ui = FitToDataUI(self)
        training = getattr(self, "training", None)
        if training is not None:  # after a run, Train follows the fit check again
            training.running_changed.connect(lambda running: None if running else self._on_changed())

    def _update_title(self) -> None:
        name = Path(self.document.path).name if self.document.path else self.tr("untitled")
        self.setWindowTitle(f"{name}[*] — {APP_NAME}")
        self.setWindowModified(self.project.is_modified())

    def getting_started_text(self) -> str:
        return self.tr(
            "Build the network\n"
            "1. Pick a template (Templates menu) or drag layers from the Layers palette onto the canvas "
            "(or double-click them); start with an Input layer.\n"
            "2. Connect a layer's bottom port to the next layer's top port; drop a layer on a connection to "
            "insert it there. Right-click a layer, a connection or the canvas for more.\n"
            "3. Select a layer to edit its settings on the right; shapes update live. A red badge marks a "
            "layer with a problem: hover it to read why.\n\n"
            "Load the data\n"
            "4. In the Data panel choose a built-in sample, a CSV or Excel file, a folder of images (one "
            "sub-folder per class) or an .npz file (or drop it on the window); for a table pick the target "
            "column and the feature columns, then press Load data.\n"
            "5. When the graph does not fit the data, the bar above the canvas offers Fit graph to data "
            "(Input shape and output layer, one undo step).\n\n"
            "Train and evaluate\n"
            "6. Set epochs, batch size, optimizer and learning rate in the Training panel and press Train (F5); "
            "Pause (F6), Stop (Shift+F5) and Step one epoch (F10) work while it runs, and the Training plots "
            "show the loss and metric live.\n"
            "7. Model ▸ Evaluate on test split measures the trained model; the Predict tab asks it about new "
            "rows or images; File ▸ Save keeps the graph, weights, settings, curves and evaluation.\n\n"
            "Mouse: wheel zooms, middle button (or Alt+drag) pans, drag on empty space selects. "
            "Help ▸ Keyboard shortcuts lists the keys.")

    def _help(self) -> None:
        QMessageBox.information(self, self.tr("Getting started"), self.getting_started_text())

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event):
        if not self.isVisible():
            # never shown (tests, --screenshot) or already closed: nothing to ask, no session bookkeeping
            self.project.timer.stop()
            self.training.shutdown(5000)
            event.accept()
            return
        if not self.project.maybe_save():
            event.ignore()
            return
        self.training.shutdown(5000)  # stop a run and join its thread; never terminate()
        self.project.clean_exit()
        event.accept()
