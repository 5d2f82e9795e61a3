"""The Predict tab: a form for one table row or an image, and the model's answer as bars.

The panel is a view: it builds its inputs from the project's saved preprocessing
dict (``engine.data.preprocess`` structure) and emits intents; the app runs the
model on a worker and calls :meth:`PredictPanel.show_probabilities` /
:meth:`PredictPanel.show_value` with plain data.

Signals: ``predict_requested(dict)`` (raw text per column, as a CSV row would have
it), ``open_image_requested()``, ``image_chosen(str)`` (a file dropped on the panel),
``file_predict_requested()``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.data.sources import saved_form
from engine.i18n import translate as engine_tr

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MISSING = QT_TRANSLATE_NOOP("PredictPanel", "(missing)")  # shown translated: missing_text()
BAR_STEPS = 1000


def missing_text() -> str:
    """The last entry of a category combo: no value (in the UI language)."""
    return QCoreApplication.translate("PredictPanel", MISSING)


def array_to_qimage(img: np.ndarray) -> QImage:
    """uint8 (H, W), (H, W, 1) or (H, W, 3) -> a QImage that owns a copy of the pixels."""
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    if a.ndim == 2:
        q = QImage(a.data, w, h, a.strides[0], QImage.Format_Grayscale8)
    else:
        a = np.ascontiguousarray(a[:, :, :3])
        q = QImage(a.data, w, h, a.strides[0], QImage.Format_RGB888)
    return q.copy()


def scaled_pixmap(img: np.ndarray, size: int) -> QPixmap:
    """A pixmap of ``img`` fitted into ``size`` px; small images are enlarged without blurring."""
    q = array_to_qimage(img)
    smooth = Qt.FastTransformation if max(q.width(), q.height()) < size // 2 else Qt.SmoothTransformation
    return QPixmap.fromImage(q.scaled(size, size, Qt.KeepAspectRatio, smooth))


def image_path_of(mime) -> str | None:
    """The first local image file in drag-and-drop mime data."""
    if mime is None or not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            p = url.toLocalFile()
            if Path(p).suffix.lower() in IMAGE_SUFFIXES:
                return p
    return None


class ProbabilityBars(QWidget):
    """One labelled bar per class (the ``top`` most likely), most likely first and in bold."""

    def __init__(self, top: int = 10, parent: QWidget | None = None):
        super().__init__(parent)
        self.top = top
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(1, 1)
        self.rows: list[tuple[QLabel, QProgressBar, QLabel]] = []
        self.probabilities: dict[str, float] = {}

    def clear(self) -> None:
        for row in self.rows:
            for w in row:
                self.grid.removeWidget(w)
                w.deleteLater()
        self.rows = []
        self.probabilities = {}
        self.setMinimumHeight(0)

    def set_probabilities(self, names, probs) -> None:
        self.clear()
        p = np.asarray(probs, dtype=np.float64).reshape(-1)
        names = [str(n) for n in names]
        self.probabilities = dict(zip(names, (float(v) for v in p)))
        order = np.argsort(-p, kind="stable")[:self.top]
        for r, i in enumerate(order):
            name = QLabel(names[i])
            bar = QProgressBar()
            bar.setRange(0, BAR_STEPS)
            bar.setValue(int(round(float(np.clip(p[i], 0, 1)) * BAR_STEPS)))
            bar.setTextVisible(False)
            bar.setFixedHeight(14)
            pct = QLabel(f"{100 * p[i]:.1f}%")
            pct.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            pct.setMinimumWidth(52)
            if r == 0:
                f = name.font()
                f.setBold(True)
                name.setFont(f)
                pct.setFont(f)
            for c, w in enumerate((name, bar, pct)):
                self.grid.addWidget(w, r, c)
            self.rows.append((name, bar, pct))
        row_h = self.fontMetrics().height() + 6
        self.setMinimumHeight(len(self.rows) * row_h)


class PredictPanel(QWidget):
    predict_requested = Signal(dict)
    open_image_requested = Signal()
    image_chosen = Signal(str)
    file_predict_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.kind: str | None = None
        self.saved = None   # the SavedForm of the preprocessing (engine.data.sources)
        self.inputs: dict[str, QWidget] = {}
        self.columns: list[dict] = []
        self._blocked = self.tr("train the model first")
        self._busy = False

        self.info = QLabel()
        self.info.setWordWrap(True)

        # ---- tabular form
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.predict_btn = QPushButton(self.tr("Predict"))
        self.predict_btn.setToolTip(self.tr("Run the model on the values above (empty number = the training mean)"))
        self.predict_btn.clicked.connect(self._emit_predict)
        self.reset_btn = QPushButton(self.tr("Reset values"))
        self.reset_btn.setToolTip(self.tr("Put back the typical (training mean) values"))
        self.reset_btn.clicked.connect(self.reset_values)
        tab_page = QWidget()
        tl = QVBoxLayout(tab_page)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.form_host)
        row = QHBoxLayout()
        row.addWidget(self.predict_btn)
        row.addWidget(self.reset_btn)
        row.addStretch(1)
        tl.addLayout(row)

        # ---- image page
        self.open_btn = QPushButton(self.tr("Open image…"))
        self.open_btn.setToolTip(self.tr("Choose an image file to classify (or drop one onto this panel)"))
        self.open_btn.clicked.connect(self.open_image_requested)
        self.preview = QLabel(self.tr("drop an image here"))
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setMinimumSize(120, 120)
        self.preview.setFrameShape(QFrame.StyledPanel)
        self.model_view = QLabel()
        self.model_view.setAlignment(Qt.AlignCenter)
        self.model_view.setToolTip(self.tr("what the model sees: the image resized and converted as in training"))
        self.image_name = QLabel()
        self.image_name.setWordWrap(True)
        img_page = QWidget()
        il = QVBoxLayout(img_page)
        il.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.open_btn)
        top.addStretch(1)
        il.addLayout(top)
        pics = QHBoxLayout()
        pics.addWidget(self.preview)
        pics.addWidget(self.model_view)
        pics.addStretch(1)
        il.addLayout(pics)
        il.addWidget(self.image_name)
        il.addStretch(1)

        self.empty_page = QLabel(self.tr("Train the model on a data set (Data and Training panels) to predict here."))
        self.empty_page.setWordWrap(True)
        self.empty_page.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty_page)   # 0
        self.pages.addWidget(tab_page)          # 1
        self.pages.addWidget(img_page)          # 2
        self.series_page = QLabel()             # 3: a time-series forecast predicts from files of recent rows
        self.series_page.setWordWrap(True)
        self.series_page.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.pages.addWidget(self.series_page)

        # ---- result
        self.result_title = QLabel(self.tr("Prediction"))
        f = self.result_title.font()
        f.setBold(True)
        self.result_title.setFont(f)
        self.bars = ProbabilityBars()
        self.value = QLabel()
        self.value.setTextInteractionFlags(Qt.TextSelectableByMouse)
        vf = self.value.font()
        vf.setPointSizeF(vf.pointSizeF() * 1.4)
        self.value.setFont(vf)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        result = QWidget()
        rl = QVBoxLayout(result)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.result_title)
        rl.addWidget(self.value)
        rl.addWidget(self.bars)
        rl.addWidget(self.message)
        rl.addStretch(1)
        result.setMinimumWidth(240)

        self.file_btn = QPushButton(self.tr("Predict a CSV file…"))
        self.file_btn.setToolTip(self.tr("Predict every row of a file and write a CSV with the predictions"))
        self.file_btn.clicked.connect(self.file_predict_requested)

        body_host = QWidget()
        body = QHBoxLayout(body_host)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.pages, 3)
        body.addWidget(result, 2)
        body_scroll = QScrollArea()   # a short dock scrolls instead of squashing the bars
        body_scroll.setWidgetResizable(True)
        body_scroll.setFrameShape(QFrame.NoFrame)
        body_scroll.setWidget(body_host)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.info)
        lay.addWidget(body_scroll, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.file_btn)
        bottom.addStretch(1)
        lay.addLayout(bottom)
        self._tips = {w: w.toolTip() for w in (self.predict_btn, self.reset_btn, self.open_btn, self.file_btn)}
        self.set_preprocessing(None)

    # ------------------------------------------------------------------ setup
    def set_preprocessing(self, pre: dict | None) -> None:
        """Build the inputs for a saved preprocessing dict (``None``: nothing to predict with)."""
        while self.form.rowCount():
            self.form.removeRow(0)
        self.inputs = {}
        self.columns = []
        self.kind = pre.get("kind") if isinstance(pre, dict) else None
        self.clear_result()
        self.preview.clear()
        self.preview.setText(self.tr("drop an image here"))
        self.model_view.clear()
        self.image_name.clear()
        self.saved = saved_form(pre)
        setup = {"row": self._setup_rows, "image": self._setup_image, "recent rows": self._setup_series}.get(
            self.saved.predict_input if self.saved is not None and self.saved.in_app else None)
        if setup is not None:
            setup(pre)
        else:
            self.pages.setCurrentIndex(0)
        self._update_enabled()

    def _setup_rows(self, pre: dict) -> None:
        """A table model: one input per column."""
        self.columns = [c for c in pre.get("columns", []) if isinstance(c, dict) and "name" in c]
        for c in self.columns:
            self.form.addRow(str(c["name"]), self._make_input(c))
        self.file_btn.setText(self.tr("Predict a CSV file…"))
        self._tips[self.file_btn] = self.tr("Predict every row of a CSV file (same columns as the training data) "
                                            "and write a CSV with a prediction and the class probabilities per row")
        self.pages.setCurrentIndex(1)

    def _setup_image(self, pre: dict) -> None:
        h, w = (pre.get("image_size") or ["?", "?"])[:2]
        mode = self.tr("grayscale") if pre.get("mode") == "L" else self.tr("colour")
        self.model_view.setToolTip(self.tr("what the model sees: {h}×{w} {mode}, as in training").format(
            h=h, w=w, mode=mode))
        self.file_btn.setText(self.tr("Predict a folder of images…"))
        self._tips[self.file_btn] = self.tr("Predict every image in a folder and write a CSV with one row per file")
        self.pages.setCurrentIndex(2)

    def _setup_series(self, pre: dict) -> None:
        n = pre.get("window", "?")
        cols = ", ".join(str(c.get("name")) for c in pre.get("columns", []) if isinstance(c, dict))
        self.series_page.setText(self.tr("This model forecasts the next {h} step(s) from windows of {n} rows. "
                                         "Predict from a CSV file of at least {n} recent rows, oldest first, with "
                                         "the columns: {cols}.").format(h=pre.get("horizon", "?"), n=n, cols=cols))
        self.file_btn.setText(self.tr("Predict from recent rows (CSV)…"))
        self._tips[self.file_btn] = self.tr("Write a CSV with the forecast after every window of the file; its "
                                            "last line is the forecast after the file's last row")
        self.pages.setCurrentIndex(3)

    def _make_input(self, col: dict) -> QWidget:
        name = str(col["name"])
        if col.get("type") == "categorical":
            w = QComboBox()
            cats = [str(v) for v in col.get("categories", [])]
            w.addItems(cats + [missing_text()])
            w.setToolTip(self.tr("{name}: one of the {n} categories seen in training "
                                 "({missing} or an unseen value counts as none of them)").format(
                name=name, n=len(cats), missing=missing_text()))
        elif col.get("type") == "text":
            w = self._text_input(name, col)
        else:
            w = QLineEdit()
            fill = col.get("fill")
            if isinstance(fill, (int, float)):
                w.setPlaceholderText(self.tr("{value} (training mean)").format(value=f"{fill:.6g}"))
            scale, shift = col.get("scale"), col.get("shift")
            if isinstance(scale, (int, float)) and isinstance(shift, (int, float)):
                tip = self.tr("{name}: a number; leave empty to use the training mean "
                              "(training data: centre {centre}, spread {spread})").format(
                    name=name, centre=f"{shift:.4g}", spread=f"{scale:.4g}")
            else:
                tip = self.tr("{name}: a number; leave empty to use the training mean").format(name=name)
            w.setToolTip(tip)
            w.returnPressed.connect(self._emit_predict)
        w.setProperty("column", col)
        self.inputs[name] = w
        self._reset_input(w, col)
        return w

    def _text_input(self, name: str, col: dict) -> QLineEdit:
        """A free-text column: a raw sentence, tokenised by the app exactly as in training."""
        w = QLineEdit()
        w.setPlaceholderText(self.tr("type a sentence"))
        tok = col.get("tokenizer") if isinstance(col.get("tokenizer"), dict) else {}
        mode = self.tr("words") if tok.get("mode") == "word" else self.tr("characters")
        w.setToolTip(self.tr("{name}: free text, split into {mode} as in training; the first {n} tokens are used "
                             "and words not seen in training count as unknown").format(
            name=name, mode=mode, n=tok.get("max_len", "?")))
        w.returnPressed.connect(self._emit_predict)
        return w

    @staticmethod
    def _reset_input(w: QWidget, col: dict) -> None:
        if isinstance(w, QComboBox):
            w.setCurrentIndex(0)
        else:
            fill = col.get("fill")
            w.setText(f"{fill:.6g}" if isinstance(fill, (int, float)) else "")

    def reset_values(self) -> None:
        for c in self.columns:
            self._reset_input(self.inputs[str(c["name"])], c)

    # ------------------------------------------------------------------ values
    def values(self) -> dict[str, str]:
        """Raw text per column; missing values are ``""`` (numbers) or ``""`` (categories)."""
        out = {}
        for name, w in self.inputs.items():
            if isinstance(w, QComboBox):
                t = w.currentText()
                out[name] = "" if w.currentIndex() == w.count() - 1 and t == missing_text() else t
            else:
                out[name] = w.text().strip()
        return out

    def set_values(self, values: dict) -> None:
        for name, v in values.items():
            w = self.inputs.get(str(name))
            if isinstance(w, QComboBox):
                i = w.findText(str(v))
                w.setCurrentIndex(i if i >= 0 else w.count() - 1)
            elif w is not None:
                w.setText(f"{v:.10g}" if isinstance(v, float) else str(v))

    def _emit_predict(self) -> None:
        if self._blocked is None and not self._busy and self._reads("rows"):
            self.predict_requested.emit(self.values())

    # ------------------------------------------------------------------ state
    def set_blocked(self, reason: str | None) -> None:
        """``None``: ready; otherwise everything is disabled and ``reason`` is shown."""
        self._blocked = reason
        if reason:
            self.info.setText(self.tr("Prediction is not available: {why}.").format(why=engine_tr(reason)))
        else:
            self.info.setText(self._ready_text())
        self._update_enabled()

    def _ready_text(self) -> str:
        texts = {"row": self.tr("Type one row of values and press Predict, or predict a whole CSV file."),
                 "image": self.tr("Open an image (or drop one here) to see what the model predicts, or predict a "
                                  "whole folder."),
                 "recent rows": self.tr("Predict from a file of recent rows.")}
        return texts.get(self.saved.predict_input, "") if self.saved is not None else ""

    def _reads(self, what: str) -> bool:
        """Whether the saved transform predicts ``rows`` (a row of values) or ``images`` (an image file)."""
        return bool(getattr(self.saved, what, False))

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_enabled()

    def _update_enabled(self) -> None:
        ok = self._blocked is None and not self._busy
        for w in (self.predict_btn, self.reset_btn, self.open_btn, self.file_btn):
            w.setEnabled(ok)
        self.form_host.setEnabled(self._blocked is None)
        self.setAcceptDrops(self._blocked is None and self._reads("images"))
        reason = self._blocked
        for w, base in self._tips.items():
            w.setToolTip(self.tr("Not available: {why}").format(why=engine_tr(reason)) if reason else base)

    # ------------------------------------------------------------------ results
    def clear_result(self) -> None:
        self.bars.clear()
        self.value.clear()
        self.message.clear()
        self.result_title.setVisible(False)

    def show_probabilities(self, names, probs) -> None:
        self.clear_result()
        p = np.asarray(probs, dtype=np.float64)
        best = int(np.argmax(p))
        self.result_title.setVisible(True)
        self.value.setText(f"{names[best]}  ({100 * p[best]:.1f}%)")
        self.bars.set_probabilities(names, p)

    def show_value(self, values) -> None:
        """Regression: one value or several outputs."""
        self.clear_result()
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        self.result_title.setVisible(True)
        self.value.setText(f"{v[0]:.6g}" if v.size == 1 else ", ".join(f"{x:.6g}" for x in v))

    def show_image(self, original: np.ndarray | None, model_input: np.ndarray | None, name: str = "") -> None:
        if original is not None:
            self.preview.setPixmap(scaled_pixmap(original, 160))
        if model_input is not None:
            self.model_view.setPixmap(scaled_pixmap(model_input, 96))
        self.image_name.setText(name)

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def show_error(self, text: str) -> None:
        text = engine_tr(text)  # engine messages in the UI language
        self.clear_result()
        self.message.setText(f"<span style='color:#d93a3a'>{_escape(text)}</span>")

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:
        if self._blocked is None and self._reads("images") and image_path_of(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        path = image_path_of(event.mimeData())
        if path and self._blocked is None and self._reads("images") and not self._busy:
            event.acceptProposedAction()
            self.image_chosen.emit(path)
        else:
            event.ignore()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
