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
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout, QHBoxLayout,
                               QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
                               QScrollArea, QSpinBox, QStackedWidget, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from engine.data import SAMPLE_NAMES, DataError, DataSpec
from engine.i18n import translate as engine_tr

KIND_LABELS = (("sample", "Built-in sample"), ("csv", "CSV file"), ("images", "Image folder"),
               ("npz", "NumPy .npz file"))
TOY_SAMPLES = ("xor", "circles", "moons", "spirals", "blobs")
THUMB = 48


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
            self.kind.addItem(label, key)
        self.sample = QComboBox()
        self.sample.addItems(SAMPLE_NAMES)
        self.path = QLineEdit()
        self.path.setPlaceholderText("file or folder")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        self.path.editingFinished.connect(self._request_preview)
        self.noise = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=5.0, singleStep=0.05, value=0.1)
        self.n_samples = QSpinBox(minimum=4, maximum=1_000_000, value=500, singleStep=100)
        self.target = QComboBox()
        self.target.setToolTip("The column to predict")
        self.target.currentTextChanged.connect(self._on_target)
        self.features = QListWidget()
        self.features.setMaximumHeight(110)
        self.features.setToolTip("Input columns (unchecked columns are ignored)")
        self.task = QComboBox()
        for key, label in ((None, "auto"), ("classification", "classification"), ("regression", "regression")):
            self.task.addItem(label, key)
        self.val_split = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05, value=0.2)
        self.test_split = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05, value=0.0)
        self.scaling = QComboBox()
        self.scaling.addItems(["standard", "minmax", "none"])
        self.image_size = QLineEdit()
        self.image_size.setPlaceholderText("auto, e.g. 28x28")
        self.grayscale = QComboBox()
        for key, label in ((None, "auto"), (True, "grayscale"), (False, "colour")):
            self.grayscale.addItem(label, key)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)

        src = QHBoxLayout()
        src.addWidget(self.path, 1)
        src.addWidget(self.browse)
        self._path_row = src
        self.form = QFormLayout()
        self.form.addRow("source", self.kind)
        self.form.addRow("sample", self.sample)
        self.form.addRow("path", src)
        self.form.addRow("noise", self.noise)
        self.form.addRow("samples", self.n_samples)
        self.form.addRow("target", self.target)
        self.form.addRow("features", self.features)
        self.form.addRow("task", self.task)
        self.form.addRow("image size", self.image_size)
        self.form.addRow("colour", self.grayscale)
        split = QHBoxLayout()
        split.addWidget(QLabel("validation"))
        split.addWidget(self.val_split)
        split.addWidget(QLabel("test"))
        split.addWidget(self.test_split)
        self.form.addRow("split", split)
        self.form.addRow("scaling", self.scaling)
        self.form.addRow("seed", self.seed)

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

        self.load_btn = QPushButton("Load data")
        self.load_btn.clicked.connect(self._load)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.summary = QLabel("no data loaded")
        self.summary.setWordWrap(True)

        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.load_btn)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addWidget(self.summary)

        self._columns: list[str] = []
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.sample.currentTextChanged.connect(lambda _t: self._on_kind())
        self._on_kind()

    # ------------------------------------------------------------------ form
    def current_kind(self) -> str:
        return self.kind.currentData()

    def _row_visible(self, widget, on: bool) -> None:
        self.form.setRowVisible(widget, on)

    def _on_kind(self, *_):
        k = self.current_kind()
        toy = k == "sample" and self.sample.currentText() in TOY_SAMPLES
        self._row_visible(self.sample, k == "sample")
        self._row_visible(self._path_row, k != "sample")
        self._row_visible(self.noise, toy)
        self._row_visible(self.n_samples, toy)
        self._row_visible(self.target, k == "csv")
        self._row_visible(self.features, k == "csv")
        self._row_visible(self.image_size, k == "images")
        self._row_visible(self.grayscale, k == "images")
        self._columns = []
        self.target.clear()
        self.features.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.preview_info.setText("Built-in sample: press Load data." if k == "sample" else
                                  "Choose a file or folder to see a preview.")
        self.stack.setCurrentIndex(0)
        self.message.setText("")
        if k != "sample" and self.path.text().strip():
            self._request_preview()

    def _browse(self):
        k = self.current_kind()
        if k == "images":
            path = QFileDialog.getExistingDirectory(self, "Image folder (one subfolder per class)")
        else:
            flt = "CSV files (*.csv *.tsv *.txt);;All files (*)" if k == "csv" else "NumPy files (*.npz)"
            path, _ = QFileDialog.getOpenFileName(self, "Data file", "", flt)
        if path:
            self.path.setText(path)
            self._request_preview()

    def _request_preview(self):
        if self.current_kind() in ("csv", "images") and self.path.text().strip():
            try:
                self.preview_requested.emit(self.spec())
            except DataError as exc:
                self.show_error(str(exc))

    def _on_target(self, name: str):
        for i in range(self.features.count()):
            item = self.features.item(i)
            if item.text() == name:
                item.setCheckState(Qt.Unchecked)
                item.setFlags(item.flags() & ~Qt.ItemIsEnabled)
            else:
                item.setFlags(item.flags() | Qt.ItemIsEnabled)

    def spec(self) -> DataSpec:
        """The form as a validated DataSpec; raises :class:`DataError` with a plain message."""
        k = self.current_kind()
        path = self.sample.currentText() if k == "sample" else self.path.text().strip()
        if k != "sample" and not path:
            raise DataError("choose a file or folder first")
        features = None
        target = None
        if k == "csv" and self._columns:
            target = self.target.currentText() or None
            checked = [self.features.item(i).text() for i in range(self.features.count())
                       if self.features.item(i).checkState() == Qt.Checked]
            all_feats = [c for c in self._columns if c != target]
            features = None if checked == all_feats else checked
            if features is not None and not features:
                raise DataError("tick at least one feature column")
        size = self.image_size.text().strip() or None
        spec = DataSpec(kind=k, path=path, target=target, features=features, task=self.task.currentData(),
                        val_split=float(self.val_split.value()), test_split=float(self.test_split.value()),
                        seed=int(self.seed.value()), grayscale=self.grayscale.currentData(),
                        scaling=self.scaling.currentText(), noise=float(self.noise.value()),
                        n_samples=int(self.n_samples.value()))
        if size and k == "images":
            spec.image_size = size  # parsed by validate()
        return spec.validate()

    def set_spec(self, data: dict | DataSpec | None) -> None:
        if data is None:
            return
        try:
            s = data if isinstance(data, DataSpec) else DataSpec.from_dict(dict(data))
        except (DataError, TypeError, ValueError):
            return
        i = self.kind.findData(s.kind)
        self.kind.setCurrentIndex(max(i, 0))
        if s.kind == "sample":
            self.sample.setCurrentText(s.path)
        else:
            self.path.setText(s.path)
        self.task.setCurrentIndex(max(self.task.findData(s.task), 0))
        self.val_split.setValue(s.val_split)
        self.test_split.setValue(s.test_split)
        self.scaling.setCurrentText(s.scaling)
        self.seed.setValue(s.seed)
        self.noise.setValue(s.noise)
        self.n_samples.setValue(s.n_samples)
        self.grayscale.setCurrentIndex(max(self.grayscale.findData(s.grayscale), 0))
        self.image_size.setText("" if s.image_size is None else f"{s.image_size[0]}x{s.image_size[1]}")
        self._pending_target = s.target
        self._pending_features = s.features

    def _load(self):
        try:
            spec = self.spec()
        except DataError as exc:
            self.show_error(str(exc))
            return
        self.message.setText("")
        self.spec_chosen.emit(spec)

    # ------------------------------------------------------------------ callbacks from the app
    def show_csv_preview(self, info: dict) -> None:
        """``preview_csv`` output: a table of the first rows, header cells show the detected type."""
        cols = [str(c) for c in info.get("columns", [])]
        dtypes = info.get("dtypes", {})
        rows = info.get("rows", [])
        self._columns = cols
        self.table.setColumnCount(len(cols))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels([f"{c}\n({dtypes.get(c, '?')})" for c in cols])
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
        task = info.get("proposed_task")
        self.preview_info.setText(f"{len(cols)} columns; proposed task: {task}" if task else "")
        self.stack.setCurrentIndex(1)
        self.message.setText(f"delimiter '{info.get('delimiter', ',')}', encoding {info.get('encoding', '?')}"
                             + (f"; proposed task: {task}" if task else ""))
        self.message.setStyleSheet("")

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
        text = f"{scan.get('n_images', 0)} images in {len(scan.get('classes', []))} classes"
        if size:
            text += f"; proposed size {size[0]}x{size[1]}"
        if skipped:
            text += f"; {len(skipped)} files skipped (e.g. {skipped[0].get('file')}: {skipped[0].get('reason')})"
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

    def set_loaded(self, summary: dict) -> None:
        counts = summary.get("counts", {})
        shape = "×".join(map(str, summary.get("input_shape", [])))
        task = summary.get("task", "?")
        what = (f"{summary.get('n_outputs')} classes" if task == "classification"
                else f"{summary.get('n_outputs')} target(s)")
        text = (f"loaded: {summary.get('total', 0):,} samples ({counts.get('train', 0):,} train, "
                f"{counts.get('val', 0):,} validation, {counts.get('test', 0):,} test) · input {shape} · "
                f"{task}, {what}")
        if summary.get("skipped"):
            text += f" · {summary['skipped']} rows/files skipped"
        self.summary.setText(text)
        self.progress.setVisible(False)
        self.message.setStyleSheet("")
        self.message.setText("")
