"""Choose the training data: a built-in sample, a CSV or Excel file, an image folder or an .npz file.

The form is generated (issue 12): the sources come from :mod:`engine.data.sources` (each says which
DataSpec options apply to it) and every option row from the DataSpec field metadata
(:func:`engine.data.spec.data_options`): a choice is a combo box, a number a spin box, a flag a check
box, text a line edit; options of one group (images, time series, text columns, generated data) share a
box.  What is custom is the data, not the kind: the path picker (a file, a folder or a name, as the source
says), the preview (a table, image thumbnails, a series' window counts) and the column pickers filled
from a table preview (target, features, text columns, time column).  No code here compares kind strings.

The panel never reads files itself.  It emits ``preview_requested(DataSpec)`` when the source changes and
``spec_chosen(DataSpec)`` when the user presses Load; the app runs the source's ``preview`` /
``load_dataset`` on a worker thread and calls back :meth:`show_preview`, :meth:`set_progress`,
:meth:`set_loaded` or :meth:`show_error` (plain one-line messages, never tracebacks).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.data import DataError, DataSpec
from engine.data.encoding import label as encoding_label
from engine.data.sources import SOURCES, source_for
from engine.data.sources.base import PATH_FOLDER, PATH_NAME, PREVIEW_IMAGES, PREVIEW_SERIES, PREVIEW_TABLE
from engine.data.spec import DataOption, data_options, parse_inputs
from engine.i18n import translate as engine_tr

THUMB = 48
# column names the Time series group proposes as the time column
TIME_NAMES = ("time", "date", "datetime", "timestamp", "ds", "时间", "日期")
SPIN_MAX = 2**31 - 1   # a QSpinBox holds a C int


def array_to_pixmap(img: np.ndarray) -> QPixmap:
    """uint8 (H, W), (H, W, 1) or (H, W, 3) -> QPixmap (copies the data)."""
    a = np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    if a.ndim == 3 and a.shape[2] == 1:
        a = np.ascontiguousarray(a[..., 0])
    h, w = a.shape[:2]
    if a.ndim == 2:
        q = QImage(a.data, w, h, w, QImage.Format_Grayscale8)
    else:
        q = QImage(a.data, w, h, 3 * w, QImage.Format_RGB888)
    return QPixmap.fromImage(q.copy())


class DataPanel(QWidget):
    preview_requested = Signal(object)   # DataSpec
    spec_chosen = Signal(object)         # DataSpec (Load pressed)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.kind = QComboBox()
        for src in SOURCES.values():
            self.kind.addItem(engine_tr(src.label), src.kind)
        self.sample = QComboBox()   # the names of a source chosen by name (the built-in samples)
        self.path = QLineEdit()
        self.path.setPlaceholderText(self.tr("file or folder"))
        self.browse = QPushButton(self.tr("Browse…"))
        self.browse.clicked.connect(self._browse)
        self.path.editingFinished.connect(self._request_preview)
        src = QHBoxLayout()
        src.addWidget(self.path, 1)
        src.addWidget(self.browse)
        self._path_row = src
        self.form = QFormLayout()
        self.form.addRow(self.tr("source"), self.kind)
        self.form.addRow(self.tr("sample"), self.sample)
        self.form.addRow(self.tr("path"), src)
        self._build_options()

        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.thumbs = QWidget()
        self.thumb_grid = QGridLayout(self.thumbs)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.thumbs)
        self.preview_info = QLabel("")
        self.preview_info.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.preview_info)
        self.stack.addWidget(self.table)
        self.stack.addWidget(scroll)

        self.load_btn = QPushButton(self.tr("Load data"))
        self.load_btn.clicked.connect(self._load)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.summary = QLabel(self.tr("no data loaded"))
        self.summary.setWordWrap(True)
        self.text_summary = QLabel("")
        self.text_summary.setWordWrap(True)
        self.text_summary.setVisible(False)

        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.load_btn)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addWidget(self.summary)
        lay.addWidget(self.text_summary)

        self._columns: list[str] = []
        self._csv_info = None
        self._pending: dict = {}        # column options set before the preview that lists the columns
        self._detected_text: list[str] = []
        self._series_rows = None        # rows of the previewed series
        self._series_on = False         # the series group's check (kept while another source is shown)
        self._loaded_key = None
        self._source_path = None
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.sample.currentIndexChanged.connect(lambda _i: self._on_kind(names=False))
        self._on_kind()

    # ------------------------------------------------------------------ the generated form
    def _build_options(self) -> None:
        """One widget per DataSpec option (``self.<option name>``), rows in the form or in a box per group."""
        self.options: dict[str, DataOption] = {o.name: o for o in data_options()}
        self._rows: dict[str, QFormLayout] = {}          # option -> the form layout holding its row
        self.boxes: dict[str, QGroupBox] = {}            # group -> its box
        self._box_forms: dict[str, QFormLayout] = {}
        self._toggles: dict[str, str] = {}               # group -> the option that is its check box
        for o in self.options.values():
            if o.group != "data" and o.group not in self.boxes:
                box = QGroupBox(engine_tr(o.group[:1].upper() + o.group[1:]))
                self.boxes[o.group], self._box_forms[o.group] = box, QFormLayout(box)
            if o.panel.get("toggles_group"):
                box = self.boxes[o.group]
                box.setCheckable(True)
                box.setChecked(bool(o.default))
                box.setToolTip(_tip(o))
                self._toggles[o.group] = o.name
                setattr(self, o.name, box)
                continue
            w = self._make_widget(o)
            setattr(self, o.name, w)
            layout = self.form if o.group == "data" else self._box_forms[o.group]
            layout.addRow(engine_tr(o.label), w)
            self._rows[o.name] = layout
        for box in self.boxes.values():
            self.form.addRow(box)
        margins = next(iter(self._box_forms.values())).contentsMargins()
        self._margins = (margins.left(), margins.top(), margins.right(), margins.bottom())
        # the custom parts: what a table preview fills in, and the series' window counts
        self.features.setMaximumHeight(110)
        self.text_columns.setMaximumHeight(80)
        self.target.currentTextChanged.connect(self._on_target)
        self.task.currentIndexChanged.connect(lambda _i: self._show_csv_texts())
        self.series_box = self.boxes[self.options["time_series"].group]
        self.windows_info = QLabel("")
        self.windows_info.setWordWrap(True)
        self._box_forms[self.options["time_series"].group].addRow(self.windows_info)
        self.series_box.toggled.connect(self._on_series_toggled)
        self.time_column.currentIndexChanged.connect(self._on_time_column)

    def _make_widget(self, o: DataOption) -> QWidget:
        """The widget for option ``o``, from its metadata (kind, bounds, labels)."""
        labels = o.panel.get("choice_labels") or {}
        widget = o.panel.get("widget")
        if widget == "columns":
            w = QListWidget()
        elif widget == "column":
            w = QComboBox()
        elif widget == "sheet":
            w = QComboBox()
            w.currentIndexChanged.connect(lambda _i, name=o.name: self._on_option(name))
        elif o.kind == "choice" or o.kind == "bool" and labels or o.suggestions:
            w = QComboBox()
            values = ([None] if None in labels or o.default is None else []) + list(
                o.choices or (True, False) if o.kind != "str" else [o.default, *o.suggestions])
            for v in dict.fromkeys(values):
                w.addItem(engine_tr(labels.get(v, str(v))), v)
            w.currentIndexChanged.connect(lambda _i, name=o.name: self._on_option(name))
        elif o.kind == "bool":
            w = QCheckBox()
            w.toggled.connect(lambda _v, name=o.name: self._on_option(name))
        elif o.kind in ("int", "float"):
            w = QSpinBox() if o.kind == "int" else QDoubleSpinBox(decimals=int(o.panel.get("decimals", 2)))
            lo = o.min if o.min is not None else 0
            hi = min(o.max if o.max is not None else SPIN_MAX, SPIN_MAX)
            if o.default is None:   # 'auto': one below the smallest value
                lo -= 1
                w.setSpecialValueText(self.tr("auto"))
            w.setRange(lo, hi)
            if o.panel.get("step"):
                w.setSingleStep(o.panel["step"])
            w.setValue(lo if o.default is None else o.default)
            w.valueChanged.connect(lambda _v, name=o.name: self._on_option(name))
        else:   # text: names, a size, column groups
            w = QLineEdit()
            if o.panel.get("placeholder"):
                w.setPlaceholderText(engine_tr(o.panel["placeholder"]))
        w.setToolTip(_tip(o))
        return w

    def option_visible(self, name: str) -> bool:
        """Whether option ``name``'s row is shown (its box shown too, for a grouped option)."""
        o = self.options[name]
        if name in self._toggles.values():
            return self.form.isRowVisible(self.boxes[o.group])
        visible = self._rows[name].isRowVisible(getattr(self, name))
        return visible and (o.group == "data" or self.form.isRowVisible(self.boxes[o.group]))

    def _read(self, o: DataOption, spec: DataSpec):
        """Option ``o``'s value in the form (``spec``: the other values read so far, for the column pickers)."""
        w = getattr(self, o.name)
        widget = o.panel.get("widget")
        if widget == "column" or widget == "columns":
            return self._read_columns(o.name, spec)
        if widget == "sheet":
            return w.currentText() or None
        if isinstance(w, QGroupBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, (QSpinBox, QDoubleSpinBox)):
            v = w.value()
            if o.default is None and v == w.minimum():
                return None
            return int(v) if o.kind == "int" else float(v)
        text = w.text().strip()
        if not text:
            return None if o.default is None else o.default
        return parse_inputs(text) if o.kind == "groups" else o.parse(text)

    def _write(self, o: DataOption, value) -> None:
        """Show ``value`` in option ``o``'s widget (quietly: no preview request)."""
        w = getattr(self, o.name)
        widget = o.panel.get("widget")
        if widget in ("column", "columns"):
            self._pending[o.name] = value
            return
        w.blockSignals(True)
        try:
            if widget == "sheet":
                w.clear()
                if value:
                    w.addItem(str(value))
            elif isinstance(w, QGroupBox):
                w.setChecked(bool(value))
            elif isinstance(w, QComboBox):
                i = w.findData(value)
                if i < 0 and value is not None and o.suggestions is not None:
                    w.addItem(str(value), value)
                    i = w.count() - 1
                w.setCurrentIndex(max(i, 0))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                w.setValue(w.minimum() if value is None else value)
            elif o.kind == "size":
                w.setText("" if value is None else f"{value[0]}x{value[1]}")
            elif o.kind == "groups":
                w.setText("; ".join(f"{k}={','.join(v)}" for k, v in (value or {}).items()))
            elif o.kind == "list":
                w.setText(", ".join(value or []))
            else:
                w.setText("" if value is None else str(value))
        finally:
            w.blockSignals(False)

    def _on_option(self, name: str) -> None:
        """A generated widget changed: read the preview again if the option says so; count windows again."""
        o = self.options[name]
        if o.panel.get("preview") and self.source().previews(self._draft()):
            self._pending_target = self.target.currentText() or self._pending.get("target")
            self._request_preview()
        self._update_windows()

    # ------------------------------------------------------------------ the source
    def current_kind(self) -> str:
        return self.kind.currentData()

    def source(self):
        """The :class:`engine.data.sources.DataSource` chosen in the Source box."""
        return source_for(self.current_kind())

    def _current_path(self) -> str:
        return (self.sample.currentData() or "") if self.source().path == PATH_NAME else self.path.text().strip()

    def _draft(self) -> DataSpec:
        """The source, path and series check as a DataSpec (not validated): what the option predicates read."""
        src = self.source()
        spec = DataSpec(kind=src.kind, path=self._current_path(), time_series=self.series_box.isChecked())
        for k, v in src.forced_fields(spec).items():
            setattr(spec, k, v)
        return spec

    def _fill_names(self) -> None:
        src = self.source()
        want = self.sample.currentData()
        self.sample.blockSignals(True)
        self.sample.clear()
        for name in (src.names() if src.names else ()):   # shown in the UI language, stored by name
            self.sample.addItem(engine_tr(src.name_labels.get(name, name)), name)
        self.sample.setCurrentIndex(max(self.sample.findData(want), 0))
        self.sample.blockSignals(False)

    def _apply_rows(self) -> None:
        """Show the rows of the options that apply to the current source and settings; hide the others."""
        src = self.source()
        draft = self._draft()
        forced = src.forced_fields(draft)
        by_name = src.path == PATH_NAME
        self.form.setRowVisible(self.sample, by_name)
        self.form.setRowVisible(self._path_row, not by_name)
        for name, layout in self._rows.items():
            layout.setRowVisible(getattr(self, name), src.applies(name, draft))
        for group, box in self.boxes.items():
            names = [n for n, o in self.options.items() if o.group == group]
            self.form.setRowVisible(box, any(src.applies(n, draft) for n in names))
            toggle = self._toggles.get(group)
            if toggle is not None:
                box.blockSignals(True)
                box.setCheckable(toggle not in forced)
                box.setChecked(bool(forced.get(toggle, self._series_on)))
                box.blockSignals(False)
        # the window counts only while the rows are a series; a box showing no row is one line (its title)
        self._box_forms[self.options["time_series"].group].setRowVisible(self.windows_info, self.series_active())
        for form in self._box_forms.values():
            shown = any(form.isRowVisible(getattr(self, n)) for n, lay in self._rows.items() if lay is form)
            form.setContentsMargins(*(self._margins if shown else (0, 0, 0, 0)))

    def _on_kind(self, *_, preview: bool = True, names: bool = True):
        if names:
            self._fill_names()
        src = self.source()
        self._apply_rows()
        self._columns = []
        self._csv_info = None
        self._series_rows = None
        self.windows_info.setText("")
        self._forget_other_summary()
        self.target.clear()
        self.features.clear()
        self.text_columns.clear()
        self._fill_time_columns([])
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.preview_info.setText(engine_tr(src.hint))
        self.stack.setCurrentIndex(0)
        self.message.setText("")
        if preview and src.previews(self._draft()):
            self._request_preview()

    def wants_preview(self) -> bool:
        """Whether the current source is a file or folder whose preview fills the form (target, features)."""
        src = self.source()
        return src.preview is not None and src.path != PATH_NAME and bool(self.path.text().strip())

    def reset(self) -> None:
        """Back to a new project's form: the first built-in sample, default settings, nothing loaded."""
        first = next(iter(SOURCES.values()))
        self.set_spec(DataSpec(kind=first.kind, path=(first.names() or ("",))[0] if first.names else ""))
        self._pending = {}
        self._pending_target = None
        self._loaded_key = None
        self.summary.setText(self.tr("no data loaded"))
        self.summary.setToolTip("")
        self.text_summary.setVisible(False)
        self.message.setText("")
        self.progress.setVisible(False)

    def _browse(self):
        src = self.source()
        if src.path == PATH_FOLDER:
            path = QFileDialog.getExistingDirectory(self, engine_tr(src.dialog_title))
        else:
            flt = ";;".join(f"{engine_tr(label)} ({' '.join(pats)})" for label, pats in src.patterns)
            path, _ = QFileDialog.getOpenFileName(self, engine_tr(src.dialog_title), "", flt)
        if path:
            self.path.setText(path)
            self._request_preview()

    def _request_preview(self):
        self._new_source()
        self._forget_other_summary()
        self._apply_rows()
        if self.source().previews(self._draft()):
            try:
                self.preview_requested.emit(self.spec())
            except DataError as exc:
                self.show_error(str(exc))

    def _new_source(self) -> None:
        """Another file than the per-file options (encoding, sheet) were set for: back to their defaults.

        (An encoding chosen for one file, e.g. Big5, would read another file strictly but garbled.)
        """
        path = self.path.text().strip()
        old, self._source_path = self._source_path, path
        if old is None or old == path:
            return
        for o in self.options.values():
            if o.panel.get("per_file"):
                self._write(o, o.default)

    def _source_key(self) -> tuple[str, str]:
        return self.current_kind(), self._current_path()

    def _forget_other_summary(self) -> None:
        """The "loaded: …" line describes the data set that was loaded: not another file chosen since."""
        if self._loaded_key is not None and self._loaded_key != self._source_key():
            self._loaded_key = None
            self.summary.setText(self.tr("no data loaded"))
            self.text_summary.setVisible(False)

    def current_encoding(self) -> str:
        return self.encoding.currentData() or "auto"

    def _on_target(self, name: str):
        self._show_csv_texts()
        for lst in (self.features, self.text_columns):
            self._exclude_target(lst, name)
        self._series_features()

    @staticmethod
    def _exclude_target(lst: QListWidget, name: str) -> None:
        """The target column cannot be ticked in a list of input columns."""
        for i in range(lst.count()):
            item = lst.item(i)
            if item.text() == name:
                item.setCheckState(Qt.Unchecked)
                item.setFlags(item.flags() & ~Qt.ItemIsEnabled)
            else:
                item.setFlags(item.flags() | Qt.ItemIsEnabled)

    # ------------------------------------------------------------------ the spec
    def spec(self) -> DataSpec:
        """The form as a validated DataSpec; raises :class:`DataError` with a plain message."""
        src = self.source()
        path = self._current_path()
        if src.path != PATH_NAME and not path:
            raise DataError(self.tr("choose a file or folder first"))
        draft = self._draft()
        spec = DataSpec(kind=src.kind, path=path)
        for o in self.options.values():   # column pickers last: they read the target and the time column
            if src.applies(o.name, draft) and o.panel.get("widget") not in ("column", "columns"):
                setattr(spec, o.name, self._read(o, spec))
        for widget in ("column", "columns"):   # a list of columns reads the target and the time column
            for o in self.options.values():
                if src.applies(o.name, draft) and o.panel.get("widget") == widget:
                    setattr(spec, o.name, self._read(o, spec))
        for k, v in src.forced_fields(spec).items():
            setattr(spec, k, v)
        return spec.validate()

    def _read_columns(self, name: str, spec: DataSpec):
        """A column picker's value: from the previewed columns, else as it was set (before a preview)."""
        if not self._columns:
            return self._pending.get(name)
        if name == "target":
            return self.target.currentText() or None
        if name == "time_column":
            return self.time_column.currentData()
        lst = getattr(self, name)
        checked = [lst.item(i).text() for i in range(lst.count()) if lst.item(i).checkState() == Qt.Checked]
        if name == "text_columns":
            return None if checked == self._detected_text else checked
        # features: None while every other column is ticked (in a series the target's past is an input too)
        every = [c for c in self._columns if (c != spec.time_column if spec.time_series else c != spec.target)]
        if checked != every and not checked:
            raise DataError(self.tr("tick at least one feature column"))
        return None if checked == every else checked

    def set_spec(self, data: dict | DataSpec | None) -> None:
        if data is None:
            return
        try:
            s = data if isinstance(data, DataSpec) else DataSpec.from_dict(dict(data))
        except (DataError, TypeError, ValueError):
            return
        # quietly: the caller asks for the preview (one request, for the new path, not the old one)
        for box in (self.kind, self.sample):
            box.blockSignals(True)
        self.kind.setCurrentIndex(max(self.kind.findData(s.kind), 0))
        self._fill_names()
        if source_for(s).path == PATH_NAME:
            self.sample.setCurrentIndex(max(self.sample.findData(s.path), 0))
            self.path.setText("")
        else:
            self.path.setText(s.path)
        self._source_path = self.path.text().strip()
        for box in (self.kind, self.sample):
            box.blockSignals(False)
        self._series_on = bool(s.time_series) and "time_series" not in source_for(s).forced_fields(s)
        self._on_kind(preview=False, names=False)
        self._pending = {}
        for o in self.options.values():
            self._write(o, getattr(s, o.name))
        self._pending_target = s.target
        self._series_on = self.series_box.isChecked() if self.series_box.isCheckable() else self._series_on
        self._apply_rows()

    def _load(self):
        try:
            spec = self.spec()
        except DataError as exc:
            self.show_error(str(exc))
            return
        self.message.setText("")
        self.spec_chosen.emit(spec)

    # ------------------------------------------------------------------ callbacks from the app
    def show_preview(self, value: tuple) -> None:
        """A source's ``preview(spec)`` result: ``(form, payload...)``, shown by the view of that form."""
        show = {PREVIEW_TABLE: self.show_csv_preview, PREVIEW_IMAGES: self.show_image_preview,
                PREVIEW_SERIES: self.show_series_preview}[value[0]]
        show(*value[1:])

    def show_csv_preview(self, info: dict) -> None:
        """``preview_csv`` output: a table of the first rows, header cells show the detected type."""
        cols = [str(c) for c in info.get("columns", [])]
        dtypes = info.get("dtypes", {})
        rows = info.get("rows", [])
        self._columns = cols
        self.table.setColumnCount(len(cols))
        self.table.setRowCount(len(rows))
        kinds = {"number": self.tr("number"), "text": self.tr("text"), "empty": self.tr("empty"),
                 "free text": self.tr("free text")}
        free = set(info.get("text_columns") or [])
        self.table.setHorizontalHeaderLabels([f"{c}\n({kinds.get('free text' if c in free else dtypes.get(c), '?')})"
                                              for c in cols])
        for i, row in enumerate(rows):
            for j, v in enumerate(row[:len(cols)]):
                self.table.setItem(i, j, QTableWidgetItem(str(v)))
        pending_target = getattr(self, "_pending_target", None) or self._pending.get("target")
        pending_feats = self._pending.pop("features", None)
        self._pending.pop("target", None)
        self._pending_target = None
        target = pending_target if pending_target in cols else info.get("default_target", cols[-1] if cols else "")
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItems(cols)
        self.target.setCurrentText(str(target))
        self.target.blockSignals(False)
        self.features.clear()
        for c in cols:
            item = QListWidgetItem(c)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            on = c != target and (pending_feats is None or c in pending_feats)
            item.setCheckState(Qt.Checked if on else Qt.Unchecked)
            self.features.addItem(item)
        self._on_target(str(target))
        self._fill_text_columns(cols, info.get("text_columns") or [], str(target))
        self.stack.setCurrentIndex(1)
        if info.get("sheets"):
            self.sheet.blockSignals(True)
            self.sheet.clear()
            self.sheet.addItems([str(n) for n in info["sheets"]])
            self.sheet.setCurrentText(str(info.get("sheet", "")))
            self.sheet.blockSignals(False)
        self._apply_rows()
        self._csv_info = info
        self._show_csv_texts()
        self._fill_time_columns(cols)
        self.show_series_preview(info.get("series"))

    def proposed_task(self) -> str | None:
        """The task for the chosen target: the Task box when set, else what the preview proposes for that column."""
        if self.task.currentData():
            return self.task.currentData()
        info = getattr(self, "_csv_info", None) or {}
        target = self.target.currentText()
        per_column = info.get("proposed_tasks")
        if isinstance(per_column, dict):
            return per_column.get(target)
        return info.get("proposed_task") if target == info.get("default_target") else None

    def _show_csv_texts(self) -> None:
        """The preview line and the message under the form, for the current target and task."""
        info = getattr(self, "_csv_info", None)
        if info is None or not self.source().columns:
            return
        cols = self._columns
        task = self.proposed_task()
        shown = engine_tr(task) if task else task   # the engine's words: classification, regression
        chosen = bool(self.task.currentData())
        if task:
            line = (self.tr("%n column(s); task: %1 (chosen)", "", len(cols)) if chosen else
                    self.tr("%n column(s); proposed task: %1", "", len(cols))).replace("%1", shown)
        else:
            line = ""
        self.preview_info.setText(line)
        enc = engine_tr(info.get("encoding_label") or encoding_label(info.get("encoding", "?")))
        enc_text = (self.tr("encoding: %1 (detected)") if info.get("encoding_detected")
                    else self.tr("encoding: %1 (chosen)")).replace("%1", enc)
        if info.get("sheets"):
            text = self.tr("sheet '%1' (%2 sheets)").replace("%1", str(info.get("sheet", ""))).replace(
                "%2", str(len(info["sheets"])))
        else:
            text = self.tr("delimiter '%1', %2").replace("%1", info.get("delimiter", ",")).replace("%2", enc_text)
        if task:
            text += (self.tr("; task: %1 (chosen)") if chosen else self.tr("; proposed task: %1")).replace("%1", shown)
        self.message.setText(text)
        self.message.setStyleSheet("")

    # ------------------------------------------------------------------ time series
    def series_active(self) -> bool:
        """Whether the form describes a time series (the group is ticked, or a time-series sample)."""
        draft = self._draft()
        return bool(draft.time_series) and self.source().applies("time_series", draft)

    def _fill_time_columns(self, cols: list[str]) -> None:
        o = self.options["time_column"]
        want = self._pending.pop("time_column", None) if "time_column" in self._pending else \
            self.time_column.currentData()
        self.time_column.blockSignals(True)
        self.time_column.clear()
        self.time_column.addItem(engine_tr(o.panel.get("none_label", "auto")), None)
        for c in cols:
            self.time_column.addItem(c, c)
        if want in cols:
            self.time_column.setCurrentIndex(self.time_column.findData(want))
        else:
            guess = next((c for c in cols if c.strip().casefold() in TIME_NAMES), None)
            if guess is not None:
                self.time_column.setCurrentIndex(self.time_column.findData(guess))
        self.time_column.blockSignals(False)
        self._series_features()

    def _on_series_toggled(self, on: bool) -> None:
        self._series_on = bool(on)
        self._apply_rows()
        if not on:  # a table again: the time column may be a feature, the target may not
            tc = self.time_column.currentData()
            for i in range(self.features.count()):
                item = self.features.item(i)
                if item.text() == tc and not item.flags() & Qt.ItemIsEnabled:
                    item.setCheckState(Qt.Checked)
            self._on_target(self.target.currentText())
        self._series_features()
        self._series_rows = None
        self._update_windows()
        if self.source().columns and self.path.text().strip() and self._columns:
            self._pending_target = self.target.currentText() or None
            self._request_preview()

    def _on_time_column(self, *_):
        self._series_features()
        if self.series_active() and self.source().columns and self.path.text().strip():
            self._pending_target = self.target.currentText() or None
            self._pending["time_column"] = self.time_column.currentData()
            self._request_preview()

    def _series_features(self) -> None:
        """In a time series the target's past is an input too (ticked); the time column is not one."""
        if not hasattr(self, "series_box") or not self.series_active():
            return
        tc, target = self.time_column.currentData(), self.target.currentText()
        for i in range(self.features.count()):
            item = self.features.item(i)
            if item.text() == tc:
                item.setCheckState(Qt.Unchecked)
                item.setFlags(item.flags() & ~Qt.ItemIsEnabled)
            else:
                if item.text() == target and not item.flags() & Qt.ItemIsEnabled:
                    item.setCheckState(Qt.Checked)
                item.setFlags(item.flags() | Qt.ItemIsEnabled)

    def show_series_preview(self, info: dict | None) -> None:
        """``engine.data.timeseries.preview_series``: the rows of the series (or why it cannot be one)."""
        self._series_rows = None
        if not info or not self.series_active():
            self.windows_info.setText("")
            return
        if info.get("error"):
            self.windows_info.setStyleSheet("color: #d93a3a")
            self.windows_info.setText(engine_tr(str(info["error"])).splitlines()[0])
            return
        self._series_rows = int(info.get("rows", 0))
        self._update_windows()

    def window_counts(self) -> dict | None:
        """Windows per split for the previewed series and the current settings (``None`` before a preview)."""
        if self._series_rows is None or not self.series_active():
            return None
        from engine.data.timeseries import window_counts  # noqa: PLC0415 - pandas: loaded by the preview already

        return window_counts(self._series_rows, int(self.window.value()), int(self.horizon.value()),
                             int(self.stride.value()), float(self.val_split.value()), float(self.test_split.value()))

    def _update_windows(self) -> None:
        counts = self.window_counts()
        if counts is None:
            return
        text = self.tr("%1 rows → windows: %2 train, %3 validation, %4 test")
        for k, v in enumerate((self._series_rows, counts["train"], counts["val"], counts["test"]), 1):
            text = text.replace(f"%{k}", f"{v:,}")
        short = (counts["train"] == 0 or (self.val_split.value() > 0 and counts["val"] == 0)
                 or (self.test_split.value() > 0 and counts["test"] == 0))
        if short:
            text += self.tr(" — a part is too short for one window: use a shorter window or change the split")
        self.windows_info.setStyleSheet("color: #d93a3a" if short else "")
        self.windows_info.setText(text)

    def show_image_preview(self, scan: dict, thumbs: dict | None = None) -> None:
        """``scan_image_folder`` output plus ``{class: [uint8 arrays]}`` thumbnails (decoded on the worker)."""
        while self.thumb_grid.count():
            w = self.thumb_grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        counts = scan.get("counts", {})
        for r, cls in enumerate(scan.get("classes", [])):
            self.thumb_grid.addWidget(QLabel(f"{cls} ({counts.get(cls, 0)})"), r, 0)
            for c, img in enumerate((thumbs or {}).get(cls, [])):
                lab = QLabel()
                lab.setPixmap(array_to_pixmap(img).scaled(THUMB, THUMB, Qt.KeepAspectRatio,
                                                          Qt.SmoothTransformation))
                self.thumb_grid.addWidget(lab, r, c + 1)
        self.stack.setCurrentIndex(2)
        skipped = scan.get("skipped") or []
        size = scan.get("proposed_size")
        text = (self.tr("%1 images in %2 classes").replace("%1", str(scan.get("n_images", 0)))
                .replace("%2", str(len(scan.get("classes", [])))))
        if size:
            text += self.tr("; proposed size %1x%2").replace("%1", str(size[0])).replace("%2", str(size[1]))
        if skipped:
            text += (self.tr("; %1 files skipped (e.g. %2: %3)").replace("%1", str(len(skipped)))
                     .replace("%2", str(skipped[0].get("file"))).replace("%3", engine_tr(str(skipped[0].get("reason")))))
        self.message.setStyleSheet("")
        self.message.setText(text)

    def show_error(self, text: str) -> None:
        text = engine_tr(text) if text else text  # engine messages in the UI language
        self.message.setStyleSheet("color: #d93a3a")
        self.message.setText(str(text).splitlines()[0] if text else "")
        self.progress.setVisible(False)

    def set_busy(self, busy: bool) -> None:
        self.load_btn.setEnabled(not busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)

    def set_progress(self, pct: int, text: str = "") -> None:
        self.progress.setVisible(True)
        if pct < 0:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(pct))
        if text:
            self.message.setStyleSheet("")
            self.message.setText(text)

    def set_loaded(self, summary: dict, report: list | None = None) -> None:
        """A loaded data set's ``summary()``; ``report`` (its ``report``) says what was skipped or filled."""
        counts = summary.get("counts", {})
        shape = "×".join(map(str, summary.get("input_shape", [])))
        if summary.get("input_shapes"):  # several inputs: name and shape of each
            shape = ", ".join(f"{k} {'×'.join(map(str, v))}" for k, v in summary["input_shapes"].items())
        task = summary.get("task", "?")
        n_out = str(summary.get("n_outputs"))
        what = (self.tr("%1 classes") if task == "classification" else self.tr("%1 target(s)")).replace("%1", n_out)
        text = self.tr("loaded: %1 samples (%2 train, %3 validation, %4 test) · input %5 · %6, %7")
        for k, v in enumerate((f"{summary.get('total', 0):,}", f"{counts.get('train', 0):,}",
                               f"{counts.get('val', 0):,}", f"{counts.get('test', 0):,}", shape,
                               engine_tr(str(task)), what), 1):
            text = text.replace(f"%{k}", v)
        notes = report_counts(report) if report is not None else None
        tips = []
        if notes is not None:
            if notes["rows"]:
                text += self.tr(" · %1 rows skipped").replace("%1", f"{notes['rows']:,}")
            if notes["files"]:
                text += self.tr(" · %1 files skipped").replace("%1", f"{notes['files']:,}")
            if notes["filled"]:
                text += self.tr(" · %1 missing values filled").replace("%1", f"{notes['filled']:,}")
            if notes["columns"]:
                text += self.tr(" · %1 columns not used").replace("%1", f"{notes['columns']:,}")
            tips = [engine_tr(str(e.get("reason", ""))) for e in report[:10] if e.get("reason")]
        elif summary.get("skipped"):
            text += self.tr(" · %1 notes in the load report").replace("%1", str(summary["skipped"]))
        self.summary.setText(text)
        self.summary.setToolTip("\n".join(tips))
        self._loaded_key = (str(summary.get("kind", "")), str(summary.get("path", "")).strip())
        self._show_text_summary(summary.get("text_columns") or [])
        self.progress.setVisible(False)
        self.message.setStyleSheet("")
        self.message.setText("")

    # ------------------------------------------------------------------ text columns
    def _fill_text_columns(self, cols: list[str], detected: list[str], target: str) -> None:
        pending = self._pending.pop("text_columns", None)
        self._detected_text = [c for c in detected if c != target]
        self.text_columns.clear()
        for c in cols:
            item = QListWidgetItem(c)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            on = c in (pending if pending is not None else self._detected_text)
            item.setCheckState(Qt.Checked if on else Qt.Unchecked)
            self.text_columns.addItem(item)
        self._exclude_target(self.text_columns, target)

    def _show_text_summary(self, text: list[dict]) -> None:
        """One line per text column of the loaded data: tokenizer settings and what the fit saw."""
        lines = []
        modes = {"word": self.tr("word tokens"), "char": self.tr("character tokens")}
        for t in text:
            line = self.tr("text '{name}': {mode}, vocabulary {vocab} ids ({distinct} distinct tokens in training), "
                           "length {max_len} tokens (training texts: mean {mean}, longest {longest})").format(
                name=t.get("name"), mode=modes.get(t.get("mode"), str(t.get("mode"))),
                vocab=f"{int(t.get('vocab_size') or 0):,}", distinct=f"{int(t.get('distinct_tokens') or 0):,}",
                max_len=t.get("max_len"), mean=f"{float(t.get('mean_length') or 0):.1f}",
                longest=t.get("longest"))
            rate = t.get("oov_rate_val")
            if isinstance(rate, (int, float)):
                line += self.tr("; unknown tokens in validation: {pct} %").format(pct=f"{100 * rate:.1f}")
            lines.append(line)
        self.text_summary.setText("\n".join(lines))
        self.text_summary.setVisible(bool(lines))


def _tip(o: DataOption) -> str:
    """An option's help text (as in ``--help``) as a tooltip, in the UI language, starting with a capital."""
    text = engine_tr(o.help)
    return text[:1].upper() + text[1:]


def report_counts(report) -> dict:
    """What a data set's load report says, counted: rows dropped, files skipped, cells filled, columns unused.

    A mean- or median-filled cell is not a skipped row; a column left out is not a row either.
    """
    out = {"rows": 0, "files": 0, "filled": 0, "columns": 0}
    for e in report or []:
        if not isinstance(e, dict):
            continue
        reason = str(e.get("reason", ""))
        if "file" in e:
            out["files"] += 1
        elif "rows" in e:
            out["rows"] += int(e.get("count", len(e["rows"])))
        elif reason.startswith("missing values filled"):
            out["filled"] += int(e.get("count", 0))
        elif "not used as a feature" in reason:
            out["columns"] += 1
    return out
