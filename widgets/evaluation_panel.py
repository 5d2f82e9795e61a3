"""The Evaluate tab: metrics of the trained model on held-out data.

A view only: the app computes everything on a worker (``engine.evaluate``) and calls
:meth:`EvaluationPanel.show_classification` / :meth:`show_regression` /
:meth:`show_misclassified` with plain data.  It shows the loss and accuracy, a
per-class precision/recall/F1 table, the confusion matrix (rows = true class), a
gallery of the most confident mistakes for images and, for regression, MAE, RMSE, R²
and a predicted-vs-true scatter plot; for a time-series forecast, predicted and actual
values over time (:meth:`show_series`).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.i18n import translate as engine_tr
from widgets.confusion import ConfusionView
from widgets.predict_panel import scaled_pixmap
from widgets.progress import ProgressBar

THUMB = 72
POINT_COLOUR = (59, 120, 196, 150)
MAX_SCATTER = 20_000
MAX_SERIES = 20_000          # points per line in the plot over time (the most recent ones)
ACTUAL_COLOUR = (110, 110, 110)
PREDICTED_COLOUR = (208, 103, 47)


def _num_item(v: float, fmt: str = "{:.3f}") -> QTableWidgetItem:
    item = QTableWidgetItem(fmt.format(v))
    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    item.setData(Qt.UserRole, float(v))
    return item


class EvaluationPanel(QWidget):
    evaluate_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._blocked: str | None = self.tr("train the model first")
        self._status_kind = ""  # "blocked", "error", "busy" or "" (what the status line shows)
        self._busy = False
        self.metrics: dict | None = None

        self.evaluate_btn = QPushButton(self.tr("Evaluate on test split"))
        self.evaluate_btn.setToolTip(self._evaluate_tip())
        self.evaluate_btn.clicked.connect(self._request)
        self.cancel_btn = QPushButton(self.tr("Cancel"))
        self.cancel_btn.setToolTip(self.tr("Stop this evaluation (the shown results stay as they were)"))
        self.cancel_btn.clicked.connect(self.cancel_requested)
        self.cancel_btn.setVisible(False)
        self.progress = ProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        f = self.summary.font()
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.summary.setFont(f)

        # ---- classification page
        self.per_class = QTableWidget(0, 5)
        self.per_class.setHorizontalHeaderLabels([self.tr("class"), self.tr("precision"), self.tr("recall"),
                                                  self.tr("F1"), self.tr("support")])
        self.per_class.setEditTriggers(QTableWidget.NoEditTriggers)
        self.per_class.verticalHeader().setVisible(False)
        head = self.per_class.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeToContents)
        head.setSectionResizeMode(0, QHeaderView.Stretch)
        self.per_class.setToolTip(self.tr("precision: of the samples predicted as this class, the share that really "
                                          "are; recall: of the samples of this class, the share found; F1: their "
                                          "harmonic mean; support: samples of this class"))
        self.per_class.setSortingEnabled(False)
        self.confusion = ConfusionView()
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListView.IconMode)
        self.gallery.setIconSize(QSize(THUMB, THUMB))
        self.gallery.setResizeMode(QListView.Adjust)
        self.gallery.setMovement(QListView.Static)
        self.gallery.setWrapping(True)
        self.gallery.setSpacing(4)
        self.gallery.setSelectionMode(QAbstractItemView.SingleSelection)
        self.gallery_label = QLabel(self.tr("Most confident mistakes (true → predicted, confidence)"))
        gal = QWidget()
        gl = QVBoxLayout(gal)
        gl.setContentsMargins(0, 0, 0, 0)
        gl.addWidget(self.gallery_label)
        gl.addWidget(self.gallery, 1)
        self.gallery_box = gal
        tables = QSplitter(Qt.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.per_class, 1)
        tables.addWidget(left)
        tables.addWidget(self.confusion)
        tables.addWidget(gal)
        tables.setStretchFactor(0, 2)
        tables.setStretchFactor(1, 2)
        tables.setStretchFactor(2, 2)
        self.class_page = tables

        # ---- regression page
        self.scatter_plot = pg.PlotWidget()
        self.scatter_plot.setLabel("bottom", self.tr("true value"))
        self.scatter_plot.setLabel("left", self.tr("predicted value"))
        for side in ("left", "bottom"):  # plain numbers, no unit prefixes
            self.scatter_plot.getAxis(side).enableAutoSIPrefix(False)
        self.scatter_plot.showGrid(x=True, y=True, alpha=0.2)
        self.scatter = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(*POINT_COLOUR))
        self.diagonal = pg.PlotDataItem(pen=pg.mkPen((208, 103, 47), width=1.5, style=Qt.DashLine))
        self.scatter_plot.addItem(self.diagonal)
        self.scatter_plot.addItem(self.scatter)
        self.scatter_plot.setToolTip(self.tr("each point is one sample; on the dashed line the prediction is exact"))
        self.reg_page = self.scatter_plot

        self._build_series_page()

        self.empty = QLabel(self.tr("Results appear here after you press “Evaluate on test split”."))
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setWordWrap(True)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty)       # 0
        self.pages.addWidget(self.class_page)  # 1
        self.pages.addWidget(self.reg_page)    # 2
        self.pages.addWidget(self.series_page)  # 3

        for w in (self.per_class, self.confusion.table, self.gallery, self.scatter_plot):
            w.setMinimumHeight(48)  # the dock may be short: tables scroll instead
        for t in (self.per_class, self.confusion.table):  # compact rows
            t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 6)
        top = QHBoxLayout()
        top.addWidget(self.evaluate_btn)
        top.addWidget(self.progress)
        top.addWidget(self.cancel_btn)
        top.addWidget(self.summary, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(4)
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addWidget(self.pages, 1)
        self._update_enabled()
        self.set_status("")

    # ------------------------------------------------------------------ state
    def _request(self) -> None:
        if self._blocked is None and not self._busy:
            self.evaluate_requested.emit()

    def set_blocked(self, reason: str | None) -> None:
        """``None``: ready; otherwise the button is disabled and ``reason`` is shown."""
        self._blocked = reason
        if reason:
            self.set_status(self.tr("Not available: {why}.").format(why=engine_tr(reason)))
            self._status_kind = "blocked"
        elif self._status_kind == "blocked":
            self.set_status("")
        self._update_enabled()

    def set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.progress.setVisible(busy)
        self.cancel_btn.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
            self.set_status(text or self.tr("evaluating…"))
            self._status_kind = "busy"
        elif self.status.text() and self._status_kind not in ("blocked", "error"):
            self.set_status("")  # the progress text of a finished job
        self._update_enabled()

    def set_progress(self, pct: int, text: str = "") -> None:
        if not self._busy:
            return
        if pct >= 0:
            self.progress.setRange(0, 100)
            self.progress.setValue(pct)
        if text:
            self.set_status(text)
            self._status_kind = "busy"

    def _update_enabled(self) -> None:
        ok = self._blocked is None and not self._busy
        self.evaluate_btn.setEnabled(ok)
        self.evaluate_btn.setToolTip(self.tr("Not available: {why}").format(why=engine_tr(self._blocked))
                                     if self._blocked else self._evaluate_tip())

    def _evaluate_tip(self) -> str:
        return self.tr("Measure the trained model on data it was not trained on "
                       "(the test split, or the validation split when there is no test split)")

    def show_error(self, text: str) -> None:
        text = engine_tr(text)  # engine messages in the UI language
        self.set_status(f"<span style='color:#d93a3a'>{_escape(text)}</span>")
        self._status_kind = "error"

    def set_status(self, text: str) -> None:
        """The line under the button (hidden when empty)."""
        self.status.setText(text)
        self.status.setVisible(bool(text))
        self._status_kind = ""

    def mark_stale(self) -> None:
        """The model changed since the shown results were computed."""
        if self.metrics is not None:
            self.set_status(self.tr("The model changed since this evaluation: evaluate again to update."))

    def clear(self) -> None:
        self.metrics = None
        self.summary.clear()
        self.per_class.setRowCount(0)
        self.confusion.clear()
        self.gallery.clear()
        self.scatter.setData([], [])
        self.diagonal.setData([], [])
        self._clear_series()
        self.pages.setCurrentIndex(0)

    # ------------------------------------------------------------------ results
    def show_classification(self, metrics: dict, where: str) -> None:
        """``metrics`` from :func:`engine.evaluate.evaluate_arrays`; ``where`` e.g. "test split (30 samples)"."""
        self.metrics = metrics
        names = [str(n) for n in metrics.get("class_names", [])]
        m = metrics.get("macro", {})
        self.summary.setText(
            self.tr("<b>{where}</b>: accuracy <b>{acc}%</b> · loss {loss} · macro F1 {f1}").format(
                where=_escape(where), acc=f"{100 * metrics['accuracy']:.1f}", loss=f"{metrics['loss']:.4f}",
                f1=f"{m.get('f1', 0):.3f}"))
        rows = list(metrics.get("per_class", []))
        t = self.per_class
        t.setRowCount(len(rows) + 1)
        for r, c in enumerate(rows):
            t.setItem(r, 0, QTableWidgetItem(str(c["name"])))
            t.setItem(r, 1, _num_item(c["precision"]))
            t.setItem(r, 2, _num_item(c["recall"]))
            t.setItem(r, 3, _num_item(c["f1"]))
            t.setItem(r, 4, _num_item(c["support"], "{:.0f}"))
        r = len(rows)
        macro = QTableWidgetItem(self.tr("macro average"))
        f = macro.font()
        f.setItalic(True)
        macro.setFont(f)
        t.setItem(r, 0, macro)
        for j, key in enumerate(("precision", "recall", "f1"), start=1):
            t.setItem(r, j, _num_item(m.get(key, 0.0)))
        t.setItem(r, 4, _num_item(sum(int(c["support"]) for c in rows), "{:.0f}"))
        self.confusion.set_matrix(np.asarray(metrics["confusion"]), names)
        self.confusion.label.setText(self.tr("Confusion matrix (rows: true class, columns: predicted; "
                                             "green: right, red: wrong)"))
        self.gallery.clear()
        self.gallery_box.setVisible(False)
        self.pages.setCurrentIndex(1)

    def show_misclassified(self, items: list[dict], total_wrong: int | None = None) -> None:
        """``items``: ``{"image": uint8 (H, W[, C]), "true": str, "predicted": str, "confidence": float}``."""
        self.gallery.clear()
        for it in items:
            text = f"{it['true']} → {it['predicted']}\n{100 * float(it['confidence']):.0f}%"
            item = QListWidgetItem(QIcon(scaled_pixmap(it["image"], THUMB)), text)
            item.setToolTip(self.tr("true class {true}, predicted {pred} with {pct}% confidence").format(
                true=it["true"], pred=it["predicted"], pct=f"{100 * float(it['confidence']):.1f}"))
            item.setTextAlignment(Qt.AlignHCenter | Qt.AlignTop)
            self.gallery.addItem(item)
        if items:
            if total_wrong and total_wrong > len(items):
                text = self.tr("Most confident mistakes ({n} of {total}): true → predicted, confidence").format(
                    n=len(items), total=total_wrong)
            else:
                text = self.tr("Most confident mistakes: true → predicted, confidence")
            self.gallery_label.setText(text)
        else:
            self.gallery_label.setText(self.tr("No mistakes on this split."))
        self.gallery_box.setVisible(True)

    def show_regression(self, metrics: dict, pred: np.ndarray, true: np.ndarray, where: str) -> None:
        self.metrics = metrics
        self.summary.setText(
            self.tr("<b>{where}</b>: MAE <b>{mae}</b> · RMSE {rmse} · R² <b>{r2}</b> · loss {loss}").format(
                where=_escape(where), mae=f"{metrics['mae']:.4g}", rmse=f"{metrics['rmse']:.4g}",
                r2=f"{metrics['r2']:.3f}", loss=f"{metrics['loss']:.4g}"))
        p = np.asarray(pred, dtype=np.float64).reshape(-1)
        t = np.asarray(true, dtype=np.float64).reshape(-1)
        keep = np.isfinite(p) & np.isfinite(t)
        p, t = p[keep][:MAX_SCATTER], t[keep][:MAX_SCATTER]
        self.scatter.setData(t, p)
        if p.size:
            lo = float(min(p.min(), t.min()))
            hi = float(max(p.max(), t.max()))
            self.diagonal.setData([lo, hi], [lo, hi])
        else:
            self.diagonal.setData([], [])
        self.pages.setCurrentIndex(2)

    # ------------------------------------------------------------------ time series
    def _build_series_page(self) -> None:
        self.series_plot = pg.PlotWidget()
        self.series_plot.setLabel("left", self.tr("value"))
        self.series_plot.getAxis("left").enableAutoSIPrefix(False)
        self.series_plot.showGrid(x=True, y=True, alpha=0.2)
        self.series_plot.addLegend(offset=(10, 10))
        self.series_true = self.series_plot.plot(pen=pg.mkPen(ACTUAL_COLOUR, width=1.5), name=self.tr("actual"))
        self.series_pred = self.series_plot.plot(pen=pg.mkPen(PREDICTED_COLOUR, width=1.5), name=self.tr("predicted"))
        self.series_plot.setToolTip(self.tr("the forecast of each window against what really happened, in time order"))
        self.series_output = QComboBox()
        self.series_output.setToolTip(self.tr("The forecast to plot: a target column and how many steps ahead"))
        self.series_output.currentIndexChanged.connect(lambda _i: self._draw_series())
        self.series_x_kind = None
        self._series: dict | None = None
        bar = QHBoxLayout()
        bar.addWidget(QLabel(self.tr("forecast")))
        bar.addWidget(self.series_output)
        bar.addStretch(1)
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.series_plot, 1)
        self.series_plot.setMinimumHeight(48)
        self.series_page = page

    def show_series(self, series: dict) -> None:
        """Predicted vs actual over time: ``series`` from :func:`engine.jobs.evaluate` (``names``, and per
        output ``x``, ``pred``, ``true``; ``x_kind`` ``"datetime"`` (seconds since 1970), ``"number"`` or
        ``"row"``).  Call after :meth:`show_regression` (the summary line)."""
        self._series = series
        kind = series.get("x_kind", "row")
        if kind != self.series_x_kind:
            axis = pg.DateAxisItem(utcOffset=0) if kind == "datetime" else pg.AxisItem("bottom")
            axis.enableAutoSIPrefix(False)
            self.series_plot.setAxisItems({"bottom": axis})
            self.series_x_kind = kind
        label = {"datetime": self.tr("time"), "number": str(series.get("time_column") or self.tr("time")),
                 "row": self.tr("row")}.get(kind, kind)
        self.series_plot.setLabel("bottom", label)
        self.series_output.blockSignals(True)
        self.series_output.clear()
        self.series_output.addItems([str(n) for n in series.get("names", [])])
        self.series_output.blockSignals(False)
        self.series_output.setVisible(self.series_output.count() > 1)
        self._draw_series()
        self.pages.setCurrentIndex(3)

    def series_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, actual, predicted)`` of the plotted forecast (what the two lines show)."""
        xs, ts = self.series_true.getData()
        _x, ps = self.series_pred.getData()
        empty = np.zeros(0)
        return (empty if xs is None else xs), (empty if ts is None else ts), (empty if ps is None else ps)

    def _draw_series(self) -> None:
        s, j = self._series, max(self.series_output.currentIndex(), 0)
        if not s or j >= len(s.get("x", [])):
            self.series_true.setData([], [])
            self.series_pred.setData([], [])
            return
        x = np.asarray(s["x"][j], dtype=np.float64)
        t = np.asarray(s["true"][j], dtype=np.float64)
        p = np.asarray(s["pred"][j], dtype=np.float64)
        keep = np.isfinite(x) & np.isfinite(t) & np.isfinite(p)
        x, t, p = x[keep][-MAX_SERIES:], t[keep][-MAX_SERIES:], p[keep][-MAX_SERIES:]
        self.series_true.setData(x, t)
        self.series_pred.setData(x, p)
        self.series_plot.enableAutoRange()

    def _clear_series(self) -> None:
        self._series = None
        self.series_output.clear()
        self.series_true.setData([], [])
        self.series_pred.setData([], [])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
