"""Choose the training data: a built-in sample, a CSV file, an image folder or an .npz file.

The panel never reads files itself.  It emits ``preview_requested(DataSpec)``
when the source changes and ``spec_chosen(DataSpec)`` when the user presses
Load; the app runs ``preview_csv`` / ``scan_image_folder`` / ``load_dataset`` on
a worker thread and calls back :meth:`show_csv_preview`,
:meth:`show_image_preview`, :meth:`set_progress`, :meth:`set_loaded` or
:meth:`show_error` (plain one-line messages, never tracebacks).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
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

from engine.data import SAMPLE_NAMES, DataError, DataSpec
from engine.data.encoding import ENCODINGS
from engine.data.encoding import label as encoding_label
from engine.data.samples import SERIES_NAMES, TEXT_SAMPLES
from engine.data.sheets import is_spreadsheet
from engine.data.sources import PREVIEW_IMAGES, PREVIEW_SERIES, PREVIEW_TABLE
from engine.data.spec import MAX_HORIZON, MAX_WINDOW
from engine.i18n import translate as engine_tr

KIND_LABELS = (("sample", QT_TRANSLATE_NOOP("DataPanel", "Built-in sample")),
               ("csv", QT_TRANSLATE_NOOP("DataPanel", "CSV or Excel file")),
               ("images", QT_TRANSLATE_NOOP("DataPanel", "Image folder")),
               ("npz", QT_TRANSLATE_NOOP("DataPanel", "NumPy .npz file")))
TOY_SAMPLES = ("xor", "circles", "moons", "spirals", "blobs")
THUMB = 48
#: column names the Time series group proposes as the time column
TIME_NAMES = ("time", "date", "datetime", "timestamp", "ds", "时间", "日期")


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
        for key, label in KIND_LABELS:
            self.kind.addItem(self.tr(label), key)
        self.sample = QComboBox()
        sample_labels = {"xor": self.tr("XOR (2-D points)"), "circles": self.tr("circles (2-D points)"),
                         "moons": self.tr("moons (2-D points)"), "spirals": self.tr("two spirals (2-D points)"),
                         "blobs": self.tr("blobs (2-D points)"), "digits": self.tr("digits (8x8 images)"),
                         "iris": self.tr("iris flowers (table)"), "wine": self.tr("wine (table)"),
                         "breast_cancer": self.tr("breast cancer (table)"),
                         "sentiment": self.tr("film reviews, English (text, generated)"),
                         "sentiment_zh": self.tr("film reviews, Chinese (text, generated)")}
        sample_labels["seasonal"] = self.tr("seasonal demand (hourly time series, generated)")
        for key in SAMPLE_NAMES:   # shown in the UI language, stored by name (as on the command line)
            self.sample.addItem(sample_labels.get(key, key), key)
        self.path = QLineEdit()
        self.path.setPlaceholderText(self.tr("file or folder"))
        self.browse = QPushButton(self.tr("Browse…"))
        self.browse.clicked.connect(self._browse)
        self.path.editingFinished.connect(self._request_preview)
        self.noise = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=5.0, singleStep=0.05, value=0.1)
        self.n_samples = QSpinBox(minimum=4, maximum=1_000_000, value=500, singleStep=100)
        self.target = QComboBox()
        self.target.setToolTip(self.tr("The column to predict"))
        self.target.currentTextChanged.connect(self._on_target)
        self.features = QListWidget()
        self.features.setMaximumHeight(110)
        self.features.setToolTip(self.tr("Input columns (unchecked columns are ignored)"))
        self.task = QComboBox()
        for key, label in ((None, self.tr("auto")), ("classification", self.tr("classification")),
                           ("regression", self.tr("regression"))):
            self.task.addItem(label, key)
        self.task.currentIndexChanged.connect(lambda _i: self._show_csv_texts())
        self.val_split = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05, value=0.2)
        self.test_split = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05, value=0.0)
        self.scaling = QComboBox()
        for key, label in (("standard", self.tr("standard (mean 0, std 1)")),
                           ("minmax", self.tr("min-max (0 to 1)")), ("none", self.tr("none"))):
            self.scaling.addItem(label, key)  # the data is the option value, as on the command line
        self.image_size = QLineEdit()
        self.image_size.setPlaceholderText(self.tr("auto, e.g. 28x28"))
        self.grayscale = QComboBox()
        for key, label in ((None, self.tr("auto")), (True, self.tr("grayscale")), (False, self.tr("colour"))):
            self.grayscale.addItem(label, key)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self._make_text_widgets()

        self.encoding = QComboBox()
        self.encoding.addItem(self.tr("Auto"), "auto")
        for enc in ENCODINGS:
            self.encoding.addItem(engine_tr(encoding_label(enc)), enc)
        tip = self.tr("Text encoding of the CSV file (Auto detects it; choose one if the preview is garbled)")
        self.encoding.setToolTip(tip)
        self.encoding.currentIndexChanged.connect(self._on_encoding)
        self.sheet = QComboBox()
        self.sheet.setToolTip(self.tr("The sheet of the workbook to read"))
        self.sheet.currentIndexChanged.connect(self._on_encoding)

        src = QHBoxLayout()
        src.addWidget(self.path, 1)
        src.addWidget(self.browse)
        self._path_row = src
        self.form = QFormLayout()
        self.form.addRow(self.tr("source"), self.kind)
        self.form.addRow(self.tr("sample"), self.sample)
        self.form.addRow(self.tr("path"), src)
        self.form.addRow(self.tr("encoding"), self.encoding)
        self.form.addRow(self.tr("sheet"), self.sheet)
        self.form.addRow(self.tr("noise"), self.noise)
        self.form.addRow(self.tr("samples"), self.n_samples)
        self.form.addRow(self.tr("target"), self.target)
        self.form.addRow(self.tr("features"), self.features)
        self.form.addRow(self.tr("task"), self.task)
        self.form.addRow(self.tr("image size"), self.image_size)
        self.form.addRow(self.tr("colour"), self.grayscale)
        split = QHBoxLayout()
        split.addWidget(QLabel(self.tr("validation")))
        split.addWidget(self.val_split)
        split.addWidget(QLabel(self.tr("test")))
        split.addWidget(self.test_split)
        self.form.addRow(self.tr("split"), split)
        self.form.addRow(self.tr("scaling"), self.scaling)
        self.form.addRow(self.tr("text columns"), self.text_columns)
        self.form.addRow(self.tr("tokens"), self.text_mode)
        self.form.addRow(self.tr("vocabulary"), self.text_vocab)
        self.form.addRow(self.tr("max length"), self.text_max_len)
        self.form.addRow(self.tr("inputs"), self.inputs)
        self.form.addRow(self.tr("seed"), self.seed)
        self._build_series_box()

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
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.sample.currentIndexChanged.connect(lambda _i: self._on_kind())
        self._on_kind()

    # ------------------------------------------------------------------ form
    def current_kind(self) -> str:
        return self.kind.currentData()

    def _row_visible(self, widget, on: bool) -> None:
        self.form.setRowVisible(widget, on)

    def _on_kind(self, *_, preview: bool = True):
        k = self.current_kind()
        toy = k == "sample" and self.sample.currentData() in TOY_SAMPLES
        self._row_visible(self.sample, k == "sample")
        self._row_visible(self._path_row, k != "sample")
        self._row_visible(self.noise, toy)
        self._row_visible(self.n_samples, toy)
        self._row_visible(self.target, k == "csv")
        self._row_visible(self.features, k == "csv")
        self._text_rows()
        self._table_rows()
        self._row_visible(self.image_size, k == "images")
        self._row_visible(self.grayscale, k == "images")
        self._series_kind()
        self._columns = []
        self._csv_info = None
        self._forget_other_summary()
        self.target.clear()
        self.features.clear()
        self.text_columns.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.preview_info.setText(self.tr("Built-in sample: press Load data.") if k == "sample" else
                                  self.tr("Choose a file or folder to see a preview."))
        self.stack.setCurrentIndex(0)
        self.message.setText("")
        if preview and (k != "sample" and self.path.text().strip() or self._series_sample()):
            self._request_preview()

    def wants_preview(self) -> bool:
        """Whether the current source is a file or folder whose preview fills the form (target, features)."""
        return self.current_kind() in ("csv", "images") and bool(self.path.text().strip())

    def reset(self) -> None:
        """Back to a new project's form: the first built-in sample, default settings, nothing loaded."""
        self.set_spec(DataSpec(kind="sample", path=SAMPLE_NAMES[0]))
        self._pending_target = self._pending_features = None
        self._loaded_key = None
        self.summary.setText(self.tr("no data loaded"))
        self.summary.setToolTip("")
        self.text_summary.setVisible(False)
        self.message.setText("")
        self.progress.setVisible(False)

    def _browse(self):
        k = self.current_kind()
        if k == "images":
            path = QFileDialog.getExistingDirectory(self, self.tr("Image folder (one subfolder per class)"))
        else:
            flt = (self.tr("Tables (*.csv *.tsv *.txt *.xlsx *.xlsm);;All files (*)") if k == "csv"
                   else self.tr("NumPy files (*.npz)"))
            path, _ = QFileDialog.getOpenFileName(self, self.tr("Data file"), "", flt)
        if path:
            self.path.setText(path)
            self._request_preview()

    def _request_preview(self):
        self._new_source()
        self._forget_other_summary()
        self._table_rows()
        if self.current_kind() in ("csv", "images") and self.path.text().strip() or self._series_sample():
            try:
                self.preview_requested.emit(self.spec())
            except DataError as exc:
                self.show_error(str(exc))

    def _new_source(self) -> None:
        """Another file than the Encoding and Sheet boxes were set for: back to Auto and its first sheet.

        (An encoding chosen for one file, e.g. Big5, would read another file strictly but garbled.)
        """
        path = self.path.text().strip()
        old, self._source_path = getattr(self, "_source_path", None), path
        if old is None or old == path:
            return
        self.encoding.blockSignals(True)
        self.encoding.setCurrentIndex(0)
        self.encoding.blockSignals(False)
        self.sheet.blockSignals(True)
        self.sheet.clear()
        self.sheet.blockSignals(False)

    def _source_key(self) -> tuple[str, str]:
        k = self.current_kind()
        return k, ((self.sample.currentData() or "") if k == "sample" else self.path.text().strip())

    def _forget_other_summary(self) -> None:
        """The "loaded: …" line describes the data set that was loaded: not another file chosen since."""
        if getattr(self, "_loaded_key", None) is not None and self._loaded_key != self._source_key():
            self._loaded_key = None
            self.summary.setText(self.tr("no data loaded"))
            self.text_summary.setVisible(False)

    def _is_sheet(self) -> bool:
        return self.current_kind() == "csv" and is_spreadsheet(self.path.text().strip())

    def _table_rows(self) -> None:
        """Encoding for text files, Sheet for workbooks."""
        csv_kind = self.current_kind() == "csv"
        self._row_visible(self.encoding, csv_kind and not self._is_sheet())
        self._row_visible(self.sheet, self._is_sheet())

    def _on_encoding(self, *_):
        """A new encoding: read the preview again (columns and labels may read differently)."""
        if self.current_kind() == "csv" and self.path.text().strip():
            self._pending_target = self.target.currentText() or getattr(self, "_pending_target", None)
            self._request_preview()

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

    def spec(self) -> DataSpec:
        """The form as a validated DataSpec; raises :class:`DataError` with a plain message."""
        k = self.current_kind()
        path = (self.sample.currentData() or "") if k == "sample" else self.path.text().strip()
        if k != "sample" and not path:
            raise DataError(self.tr("choose a file or folder first"))
        features = None
        target = None
        if k == "csv" and self._columns:
            target = self.target.currentText() or None
            checked = [self.features.item(i).text() for i in range(self.features.count())
                       if self.features.item(i).checkState() == Qt.Checked]
            all_feats = [c for c in self._columns if c != target]
            features = None if checked == all_feats else checked
            if features is not None and not features:
                raise DataError(self.tr("tick at least one feature column"))
        size = self.image_size.text().strip() or None
        spec = DataSpec(kind=k, path=path, target=target, features=features, task=self.task.currentData(),
                        val_split=float(self.val_split.value()), test_split=float(self.test_split.value()),
                        seed=int(self.seed.value()), grayscale=self.grayscale.currentData(),
                        scaling=self.scaling.currentData(), noise=float(self.noise.value()),
                        n_samples=int(self.n_samples.value()),
                        encoding=self.current_encoding() if k == "csv" and not self._is_sheet() else "auto",
                        sheet=(self.sheet.currentText() or None) if self._is_sheet() else None)
        if size and k == "images":
            spec.image_size = size  # parsed by validate()
        self._series_spec(spec)
        self._text_spec(spec)
        return spec.validate()

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
        if s.kind == "sample":
            self.sample.setCurrentIndex(max(self.sample.findData(s.path), 0))
            self.path.setText("")
        else:
            self.path.setText(s.path)
        self._source_path = self.path.text().strip()
        for box in (self.kind, self.sample):
            box.blockSignals(False)
        self._on_kind(preview=False)
        self.task.setCurrentIndex(max(self.task.findData(s.task), 0))
        self.val_split.setValue(s.val_split)
        self.test_split.setValue(s.test_split)
        self.scaling.setCurrentIndex(max(self.scaling.findData(s.scaling), 0))
        self.encoding.blockSignals(True)
        self.encoding.setCurrentIndex(max(self.encoding.findData(s.encoding), 0))
        self.encoding.blockSignals(False)
        self.sheet.blockSignals(True)
        self.sheet.clear()
        if s.sheet:
            self.sheet.addItem(s.sheet)
        self.sheet.blockSignals(False)
        self.seed.setValue(s.seed)
        self.noise.setValue(s.noise)
        self.n_samples.setValue(s.n_samples)
        self.grayscale.setCurrentIndex(max(self.grayscale.findData(s.grayscale), 0))
        self.image_size.setText("" if s.image_size is None else f"{s.image_size[0]}x{s.image_size[1]}")
        self._pending_target = s.target
        self._pending_features = s.features
        self._set_series_spec(s)
        self._set_text_spec(s)

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
        pending_target = getattr(self, "_pending_target", None)
        pending_feats = getattr(self, "_pending_features", None)
        self._pending_target = self._pending_features = None
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
        self._table_rows()
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
        if info is None or self.current_kind() != "csv":
            return
        cols = self._columns
        task = self.proposed_task()
        shown = self.tr(task) if task in ("classification", "regression") else task
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
    def _build_series_box(self) -> None:
        """The "Time series" group: rows are time steps cut into windows (engine/data/timeseries.py)."""
        self.series_box = QGroupBox(self.tr("Time series"))
        self.series_box.setCheckable(True)
        self.series_box.setChecked(False)
        self.series_box.setToolTip(self.tr("Rows are time steps: windows of past rows predict the next steps; "
                                           "the split is chronological (training first, test last)"))
        self.time_column = QComboBox()
        self.time_column.setToolTip(self.tr("The date/time column that orders the rows"))
        self.window = QSpinBox(minimum=1, maximum=MAX_WINDOW, value=24)
        self.window.setToolTip(self.tr("Rows (time steps) in each input window"))
        self.horizon = QSpinBox(minimum=1, maximum=MAX_HORIZON, value=1)
        self.horizon.setToolTip(self.tr("Steps to predict after each window"))
        self.stride = QSpinBox(minimum=1, maximum=MAX_WINDOW, value=1)
        self.stride.setToolTip(self.tr("Rows between the starts of two windows"))
        self.windows_info = QLabel("")
        self.windows_info.setWordWrap(True)
        box = QFormLayout(self.series_box)
        box.addRow(self.tr("time column"), self.time_column)
        box.addRow(self.tr("window"), self.window)
        box.addRow(self.tr("horizon"), self.horizon)
        box.addRow(self.tr("stride"), self.stride)
        box.addRow(self.windows_info)
        self.form.addRow(self.series_box)
        self._series_on = False        # the group's check for CSV files (a series sample is always one)
        self._series_rows = None       # rows of the previewed series
        self._pending_time = None
        self.series_box.toggled.connect(self._on_series_toggled)
        self.time_column.currentIndexChanged.connect(self._on_time_column)
        for w in (self.window, self.horizon, self.stride, self.val_split, self.test_split):
            w.valueChanged.connect(lambda _v: self._update_windows())

    def _series_sample(self) -> bool:
        return self.current_kind() == "sample" and self.sample.currentData() in SERIES_NAMES

    def series_active(self) -> bool:
        """Whether the form describes a time series (the group is ticked, or a time-series sample)."""
        return self._series_sample() or (self.current_kind() == "csv" and self.series_box.isChecked())

    def _series_kind(self) -> None:
        """Show the group for CSV files (tick to use) and time-series samples (always on)."""
        sample = self._series_sample()
        self._row_visible(self.series_box, self.current_kind() == "csv" or sample)
        self.series_box.blockSignals(True)
        self.series_box.setCheckable(not sample)
        if not sample:
            self.series_box.setChecked(self._series_on)
        self.series_box.blockSignals(False)
        self.time_column.setEnabled(not sample)
        self._series_rows = None
        self.windows_info.setText("")
        self._fill_time_columns([])

    def _fill_time_columns(self, cols: list[str]) -> None:
        want = self._pending_time if self._pending_time is not None else self.time_column.currentData()
        self._pending_time = None
        self.time_column.blockSignals(True)
        self.time_column.clear()
        self.time_column.addItem(self.tr("(row order)"), None)
        for c in cols:
            self.time_column.addItem(c, c)
        if self._series_sample():
            self.time_column.clear()
            self.time_column.addItem("time", None)  # the sample's own time column
        elif want in cols:
            self.time_column.setCurrentIndex(self.time_column.findData(want))
        else:
            guess = next((c for c in cols if c.strip().casefold() in TIME_NAMES), None)
            if guess is not None:
                self.time_column.setCurrentIndex(self.time_column.findData(guess))
        self.time_column.blockSignals(False)
        self._series_features()

    def _on_series_toggled(self, on: bool) -> None:
        self._series_on = bool(on)
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
        if self.current_kind() == "csv" and self.path.text().strip() and self._columns:
            self._pending_target = self.target.currentText() or None
            self._request_preview()

    def _on_time_column(self, *_):
        self._series_features()
        if self.series_active() and self.current_kind() == "csv" and self.path.text().strip():
            self._pending_target = self.target.currentText() or None
            self._pending_time = self.time_column.currentData()
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

    def _series_spec(self, spec: DataSpec) -> None:
        """The group's settings into ``spec`` (before validation)."""
        if not self.series_active():
            return
        spec.time_series = True
        spec.window, spec.horizon, spec.stride = int(self.window.value()), int(self.horizon.value()), \
            int(self.stride.value())
        if self.current_kind() != "csv":
            return
        spec.time_column = self.time_column.currentData()
        if self._columns:
            checked = [self.features.item(i).text() for i in range(self.features.count())
                       if self.features.item(i).checkState() == Qt.Checked]
            every = [c for c in self._columns if c != spec.time_column]
            spec.features = None if checked == every else checked
            if spec.features is not None and not spec.features:
                raise DataError(self.tr("tick at least one feature column"))

    def _set_series_spec(self, s: DataSpec) -> None:
        self._series_on = bool(s.time_series) and s.kind == "csv"
        self._pending_time = s.time_column
        for w, v in ((self.window, s.window), (self.horizon, s.horizon), (self.stride, s.stride)):
            w.blockSignals(True)
            w.setValue(int(v))
            w.blockSignals(False)
        self._series_kind()

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
                               self.tr(task) if task in ("classification", "regression") else task, what), 1):
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
    def _make_text_widgets(self) -> None:
        self.text_columns = QListWidget()
        self.text_columns.setMaximumHeight(80)
        self.text_columns.setToolTip(self.tr("Columns read as free text: each becomes a sequence of token ids "
                                             "for an Embedding layer (detected columns are ticked)"))
        self.text_mode = QComboBox()
        for key, label in (("auto", self.tr("auto (characters for Chinese, Japanese, Korean)")),
                           ("word", self.tr("words")), ("char", self.tr("characters"))):
            self.text_mode.addItem(label, key)
        self.text_mode.setToolTip(self.tr("How texts are split into tokens; the tokenizer is fitted on the "
                                          "training split only"))
        self.text_vocab = QSpinBox(minimum=3, maximum=1_000_000, value=20_000, singleStep=1000)
        self.text_vocab.setToolTip(self.tr("At most this many token ids (padding and unknown token included); "
                                           "rarer tokens read as the unknown token"))
        self.text_max_len = QSpinBox(minimum=0, maximum=512, value=0)
        self.text_max_len.setSpecialValueText(self.tr("auto"))
        self.text_max_len.setToolTip(self.tr("Tokens kept per text (longer texts are cut, shorter ones padded); "
                                             "auto: the 95th percentile of the training texts"))
        self._detected_text: list[str] = []
        self._pending_text = None
        self.inputs = QLineEdit()
        self.inputs.setPlaceholderText(self.tr("one input; for several: num=age,stars; text=review"))
        self.inputs.setToolTip(self.tr("Columns per Input layer, for a graph with several inputs: each group is "
                                       "named after its Input layer (leave empty for one input)"))

    def _text_rows(self) -> None:
        k = self.current_kind()
        text_sample = k == "sample" and self.sample.currentData() in TEXT_SAMPLES
        self._row_visible(self.text_columns, k == "csv")
        self._row_visible(self.inputs, k == "csv")
        for w in (self.text_mode, self.text_vocab, self.text_max_len):
            self._row_visible(w, k == "csv" or text_sample)

    def _fill_text_columns(self, cols: list[str], detected: list[str], target: str) -> None:
        pending, self._pending_text = self._pending_text, None
        self._detected_text = [c for c in detected if c != target]
        self.text_columns.clear()
        for c in cols:
            item = QListWidgetItem(c)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            on = c in (pending if pending is not None else self._detected_text)
            item.setCheckState(Qt.Checked if on else Qt.Unchecked)
            self.text_columns.addItem(item)
        self._exclude_target(self.text_columns, target)

    def _text_spec(self, spec: DataSpec) -> None:
        """The text settings of the form into ``spec`` (text columns: None while they are the detected ones)."""
        spec.text_mode = self.text_mode.currentData()
        spec.text_vocab = int(self.text_vocab.value())
        spec.text_max_len = int(self.text_max_len.value()) or None
        if spec.kind == "csv" and self.text_columns.count():
            checked = [self.text_columns.item(i).text() for i in range(self.text_columns.count())
                       if self.text_columns.item(i).checkState() == Qt.Checked]
            spec.text_columns = None if checked == self._detected_text else checked
        groups = self.inputs.text().strip()
        if spec.kind == "csv" and groups:
            from engine.data.spec import parse_inputs  # noqa: PLC0415

            spec.inputs = parse_inputs(groups)

    def _set_text_spec(self, s: DataSpec) -> None:
        self.text_mode.setCurrentIndex(max(self.text_mode.findData(s.text_mode), 0))
        self.text_vocab.setValue(int(s.text_vocab))
        self.text_max_len.setValue(int(s.text_max_len or 0))
        self._pending_text = s.text_columns
        self.inputs.setText("; ".join(f"{k}={','.join(v)}" for k, v in (s.inputs or {}).items()))

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
