"""Live training curves (pyqtgraph), fed from the GUI thread by the training controller.

Rules this file follows (see docs/training.md):

* history lives in preallocated NumPy buffers that double when full
  (:class:`GrowBuffer`); the curves are a fixed set of ``PlotDataItem``s created
  once and only ever updated with ``setData``;
* events only append to buffers and mark the view dirty; a ``QTimer`` redraws at
  ~15 Hz, so a burst of batch events costs one redraw;
* the per-batch loss is smoothed at full resolution first (debiased EMA, like
  TensorBoard), then drawn with peak downsampling; the raw curve stays faintly
  underneath; the smoothing can be set to 0;
* NaN/inf never reach Qt (:func:`finite_xy`); on a log axis values <= 0 are masked
  and a notice says how many were hidden.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

#: epoch curves show a dot per epoch up to this many epochs; beyond, lines only (dots would merge,
#: and a scatter item's cost grows with every point on every redraw)
SYMBOL_LIMIT = 60
#: the batch curves are decimated to about this many points before drawing (min/max per bucket)
MAX_CURVE_POINTS = 2000
AXIS_WIDTH, AXIS_HEIGHT = 52, 36
REDRAW_MS = 100         # 10 Hz: smooth enough, and leaves the GIL to the training thread
TRAIN_COLOUR = "#3b78c4"
VAL_COLOUR = "#d0672f"
OVERLAY_ALPHA = 110


class GrowBuffer:
    """An append-only float64 series in a buffer that doubles when full."""

    def __init__(self, capacity: int = 256):
        self._data = np.empty(max(1, int(capacity)), dtype=np.float64)
        self.n = 0

    def append(self, values) -> None:
        v = np.asarray(values, dtype=np.float64).ravel()
        need = self.n + v.size
        if need > self._data.size:
            cap = self._data.size
            while cap < need:
                cap *= 2
            grown = np.empty(cap, dtype=np.float64)
            grown[:self.n] = self._data[:self.n]
            self._data = grown
        self._data[self.n:need] = v
        self.n = need

    def view(self) -> np.ndarray:
        return self._data[:self.n]

    @property
    def capacity(self) -> int:
        return self._data.size

    def clear(self) -> None:
        self.n = 0

    def __len__(self) -> int:
        return self.n


def ema(values: np.ndarray, weight: float, state: tuple[float, int] = (0.0, 0)) -> tuple[np.ndarray, tuple[float, int]]:
    """Debiased exponential moving average (TensorBoard's smoothing), incremental.

    ``state`` is ``(biased accumulator, count)`` from the previous call; non-finite
    inputs are passed through (and do not poison the average).
    """
    acc, count = state
    out = np.empty(len(values), dtype=np.float64)
    w = float(min(max(weight, 0.0), 0.999))
    if w == 0.0:
        return np.asarray(values, dtype=np.float64).copy(), (acc, count)
    for i, v in enumerate(np.asarray(values, dtype=np.float64)):
        if not math.isfinite(v):
            out[i] = v
            continue
        acc = acc * w + (1 - w) * v
        count += 1
        out[i] = acc / (1 - w ** count)
    return out, (acc, count)


def _nice_step(span: float) -> float:
    """1, 2 or 5 times a power of ten, about a fifth of ``span``."""
    raw = max(span, 1e-12) / 5.0
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * mag >= raw:
            return m * mag
    return 10.0 * mag


#: the epoch axis of a run ends this far beyond its planned epochs (room for the last epoch's dot)
PLANNED_PAD = 1.03


def _x_extent(plot) -> tuple[float | None, float | None]:
    """The smallest and largest finite x of a plot's curves (``None`` when it has none)."""
    lo = hi = None
    for item in plot.listDataItems():
        x = item.xData
        if x is None or len(x) == 0:
            continue
        x = x[np.isfinite(x)]
        if x.size:
            a, b = float(x.min()), float(x.max())
            lo = a if lo is None else min(lo, a)
            hi = b if hi is None else max(hi, b)
    return lo, hi


def sticky_range(current: tuple[float, float], data: tuple[float, float],
                 floor_zero: bool = False) -> tuple[float, float]:
    """The view range for ``data`` (min, max) given the ``current`` one: kept while the data
    fit inside it and fill at least half of it, else a new range on round numbers with a
    little room (for x, from 0 when ``floor_zero`` and the data start at or after 0)."""
    lo, hi = float(data[0]), float(data[1])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return current
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5 * max(abs(lo), 1.0), hi + 0.5 * max(abs(hi), 1.0)
    c0, c1 = float(current[0]), float(current[1])
    if c0 <= lo and hi <= c1 and (hi - lo) >= 0.5 * (c1 - c0):
        return current
    # data that start at (about) 0 -- bounds include a few pixels of symbol padding -- keep 0 as the edge
    nonneg = lo >= -0.02 * (hi - lo)
    if floor_zero and nonneg:
        # a growing axis (epochs): the next of 1, 2, 2.5, 5 x 10^k, so the data fill at least half
        target = hi * 1.02
        mag = 10.0 ** math.floor(math.log10(max(target, 1e-12)))
        top = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= target)
        return (0.0, top)
    pad = 0.05 * (hi - lo)
    want_lo, want_hi = lo - pad, hi + pad
    if nonneg:
        want_lo = max(want_lo, 0.0)        # a loss or an accuracy never goes below 0: no empty band under it
    step = _nice_step(want_hi - want_lo)
    return (math.floor(want_lo / step) * step, math.ceil(want_hi / step) * step)


def finite_xy(x: np.ndarray, y: np.ndarray, log: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop points Qt must never see (NaN/inf; <= 0 on a log axis); returns (x, y, n_dropped)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if log:
        ok &= y > 0
    n_bad = int(ok.size - np.count_nonzero(ok))
    if n_bad:
        return x[ok], y[ok], n_bad
    return x, y, 0


def peak_decimate(x: np.ndarray, y: np.ndarray, max_points: int = MAX_CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most about ``max_points`` points of a curve with increasing ``x``, keeping each bucket's
    minimum and maximum (spikes stay visible) and the last point (the newest batch)."""
    n = len(y)
    if n <= max_points:
        return x, y
    k = -(-n // (max_points // 2))          # points per bucket (ceil)
    m = (n // k) * k
    yb = y[:m].reshape(-1, k)
    lo, hi = yb.argmin(axis=1), yb.argmax(axis=1)
    base = np.arange(0, m, k)
    idx = np.stack([base + np.minimum(lo, hi), base + np.maximum(lo, hi)], axis=1).ravel()
    idx = np.concatenate([idx, np.arange(m, n)[-1:]]) if m < n else idx
    return x[idx], y[idx]


def _pen(colour: str, width: float = 2.0, alpha: int = 255, dash: bool = False):
    """A pen whose 'transparency' is pre-blended with the palette's background.

    Opaque pens draw about ten times faster than translucent ones in Qt's raster
    engine (measured: 40 ms -> 4 ms per redraw of the loss plot with 1,000 points),
    which keeps the GUI thread from slowing the training thread down.
    """
    c = pg.mkColor(colour)
    if alpha < 255:
        from PySide6.QtWidgets import QApplication
        app = QApplication.instance()
        bg = app.palette().color(app.palette().ColorRole.Base) if app is not None else pg.mkColor("w")
        t = alpha / 255.0
        c = pg.mkColor(int(c.red() * t + bg.red() * (1 - t)), int(c.green() * t + bg.green() * (1 - t)),
                       int(c.blue() * t + bg.blue() * (1 - t)))
    pen = pg.mkPen(c, width=width)
    if dash:
        pen.setStyle(Qt.DashLine)
    return pen


#: the logged values a person sees; in English the name is the key itself
METRIC_NAMES = (
    QT_TRANSLATE_NOOP("Metrics", "loss"), QT_TRANSLATE_NOOP("Metrics", "val_loss"),
    QT_TRANSLATE_NOOP("Metrics", "accuracy"), QT_TRANSLATE_NOOP("Metrics", "val_accuracy"),
    QT_TRANSLATE_NOOP("Metrics", "mae"), QT_TRANSLATE_NOOP("Metrics", "val_mae"),
    QT_TRANSLATE_NOOP("Metrics", "rmse"), QT_TRANSLATE_NOOP("Metrics", "val_rmse"),
    QT_TRANSLATE_NOOP("Metrics", "mse"), QT_TRANSLATE_NOOP("Metrics", "val_mse"),
    QT_TRANSLATE_NOOP("Metrics", "r2"), QT_TRANSLATE_NOOP("Metrics", "val_r2"),
    QT_TRANSLATE_NOOP("Metrics", "lr"),
)


def metric_label(key: str | None) -> str:
    """``"val_accuracy"`` -> its name in the UI language (unknown keys stay as they are)."""
    return QCoreApplication.translate("Metrics", key) if key else (key or "")


def metric_keys(logs: dict) -> list[str]:
    """Training metrics in an epoch's logs other than the loss (accuracy, mae, rmse, r2)."""
    return [k for k in logs if k not in ("loss", "lr", "epoch", "seconds") and not k.startswith("val_")]


class TrainingCurves(QWidget):
    """Loss (per batch and per epoch) and one metric (per epoch), train and validation.

    Feed it with :meth:`start` (``TrainStarted``), :meth:`add_batch` (``BatchEnded``)
    and :meth:`add_epoch` (``EpochEnded``); :meth:`set_overlay` draws an earlier
    run's per-epoch curves (a history record) dashed for comparison.  The x axis is
    in epochs (a batch at global step ``s`` sits at ``s / steps_per_epoch``).
    """

    hovered = Signal(str)

    SERIES = ("batch_raw", "batch_smooth", "loss", "val_loss", "metric", "val_metric",
              "overlay_loss", "overlay_val_loss", "overlay_metric", "overlay_val_metric")

    def __init__(self, parent: QWidget | None = None, redraw_ms: int = REDRAW_MS, draw_hidden: bool = True):
        super().__init__(parent)
        self.draw_hidden = draw_hidden    # False: a hidden view draws nothing and catches up when shown
        self.draws = 0
        self.steps_per_epoch = 1
        self.metric_name = None           # e.g. "accuracy" or "mae"
        self.smoothing = 0.6
        self.log_loss = False
        self._dirty = False
        self._dirty_batches = False
        self._ema_state = (0.0, 0)
        self.bx, self.by, self.bsmooth = GrowBuffer(1024), GrowBuffer(1024), GrowBuffer(1024)
        self.epochs = GrowBuffer(64)
        self.logs: dict[str, GrowBuffer] = {}
        self._overlay: dict | None = None
        self.hidden_points = 0
        self.planned_epochs = 0          # epochs of the current run (TrainStarted): the x axis spans them

        # ---- widgets
        self.loss_plot = pg.PlotWidget()
        self.metric_plot = pg.PlotWidget()
        for p, title in ((self.loss_plot, metric_label("loss")), (self.metric_plot, self.tr("metric"))):
            p.setBackground(None)  # no grid: it costs more to draw than the curves
            p.setLabel("bottom", self.tr("epoch"))
            p.setLabel("left", title)
            for side in ("left", "bottom"):  # plain numbers, no "(x0.001)" unit prefixes
                p.getAxis(side).enableAutoSIPrefix(False)
            # fixed axis sizes: tick labels of a new width would re-lay out the plot (and paint it twice)
            p.getAxis("left").setWidth(AXIS_WIDTH)
            p.getAxis("bottom").setHeight(AXIS_HEIGHT)
            p.addLegend(offset=(-10, 10))
        # not x-linked: the metric plot then repaints only when an epoch ends, not on every batch
        lp, mp = self.loss_plot, self.metric_plot
        self.items: dict[str, pg.PlotDataItem] = {
            "batch_raw": lp.plot(pen=_pen(TRAIN_COLOUR, 1, 60)),
            "batch_smooth": lp.plot(pen=_pen(TRAIN_COLOUR, 1.5, 200), name=self.tr("train (batches)")),
            "loss": lp.plot(pen=_pen(TRAIN_COLOUR, 2), symbol="o", symbolSize=5, symbolBrush=TRAIN_COLOUR,
                            name=self.tr("train (epoch)")),
            "val_loss": lp.plot(pen=_pen(VAL_COLOUR, 2), symbol="o", symbolSize=5, symbolBrush=VAL_COLOUR,
                                name=self.tr("validation")),
            "metric": mp.plot(pen=_pen(TRAIN_COLOUR, 2), symbol="o", symbolSize=5, symbolBrush=TRAIN_COLOUR,
                              name=self.tr("train")),
            "val_metric": mp.plot(pen=_pen(VAL_COLOUR, 2), symbol="o", symbolSize=5, symbolBrush=VAL_COLOUR,
                                  name=self.tr("validation")),
            "overlay_loss": lp.plot(pen=_pen(TRAIN_COLOUR, 1.5, OVERLAY_ALPHA, dash=True)),
            "overlay_val_loss": lp.plot(pen=_pen(VAL_COLOUR, 1.5, OVERLAY_ALPHA, dash=True)),
            "overlay_metric": mp.plot(pen=_pen(TRAIN_COLOUR, 1.5, OVERLAY_ALPHA, dash=True)),
            "overlay_val_metric": mp.plot(pen=_pen(VAL_COLOUR, 1.5, OVERLAY_ALPHA, dash=True)),
        }
        for item in self.items.values():
            # no re-computation on every view-range change (pyqtgraph's auto-downsampling, clipping and
            # dynamic range limit each re-set the data inside the paint, which then paints a second time);
            # the batch curves are decimated here instead (peak_decimate) and non-finite points dropped
            item.setDynamicRangeLimit(None)
        self._symbols = True
        self.range_changes = 0          # view-range changes made by _settle (a counter for tests)

        self.log_box = QCheckBox(self.tr("log loss"))
        self.log_box.setToolTip(self.tr("Logarithmic loss axis (values <= 0 are hidden)"))
        self.log_box.toggled.connect(self.set_log_loss)
        self.smooth_slider = QSlider(Qt.Horizontal)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(int(self.smoothing * 100))
        self.smooth_slider.setMaximumWidth(140)
        self.smooth_slider.setToolTip(self.tr("Smoothing of the per-batch loss (0 = none); the raw curve stays faint"))
        self.smooth_slider.valueChanged.connect(lambda v: self.set_smoothing(v / 100.0))
        self.metric_combo = QComboBox()
        self.metric_combo.setToolTip(self.tr("Metric shown in the lower plot"))
        self.metric_combo.currentIndexChanged.connect(
            lambda i: self._on_metric_chosen(self.metric_combo.itemData(i) or ""))
        self.readout = QLabel(" ")
        self.readout.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.notice = QLabel("")
        self.notice.setStyleSheet("color: #b7791f")

        bar = QHBoxLayout()
        bar.addWidget(self.log_box)
        bar.addWidget(QLabel(self.tr("smoothing")))
        bar.addWidget(self.smooth_slider)
        bar.addWidget(QLabel(self.tr("metric")))
        bar.addWidget(self.metric_combo)
        bar.addStretch(1)
        bar.addWidget(self.notice)
        self._bar = bar
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(bar)
        plots = QHBoxLayout()  # side by side: the dock below the canvas is wide, not tall
        plots.addWidget(self.loss_plot, 1)
        plots.addWidget(self.metric_plot, 1)
        lay.addLayout(plots, 1)
        lay.addWidget(self.readout)

        self._proxies = [pg.SignalProxy(p.scene().sigMouseMoved, rateLimit=30,
                                        slot=lambda evt, p=p: self._on_mouse(p, evt[0]))
                         for p in (self.loss_plot, self.metric_plot)]
        self.timer = QTimer(self)
        self.timer.setInterval(redraw_ms)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    # ------------------------------------------------------------------ feeding
    def reset(self, steps_per_epoch: int = 1, metric: str | None = None) -> None:
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        for b in (self.bx, self.by, self.bsmooth, self.epochs):
            b.clear()
        self.logs = {}
        self._ema_state = (0.0, 0)
        self.hidden_points = 0
        self.metric_name = metric
        self.metric_combo.blockSignals(True)
        self.metric_combo.clear()
        if metric:
            self.metric_combo.addItem(metric_label(metric), metric)
        self.metric_combo.blockSignals(False)
        self.metric_plot.setLabel("left", metric_label(metric) if metric else self.tr("metric"))
        self._dirty = True

    def start(self, ev) -> None:
        """A ``TrainStarted`` event: clear the curves for a new run."""
        self.reset(ev.steps_per_epoch, "accuracy" if ev.task == "classification" else "mae")
        # the epoch axis spans the planned run from its start (as MATLAB's training plot does): it
        # never changes during the run, so its ticks are laid out once
        self.planned_epochs = max(0, int(getattr(ev, "epochs", 0) or 0))

    def add_batch(self, ev) -> None:
        """A ``BatchEnded`` event: its ``batch_losses`` end at global step ``ev.step``."""
        losses = np.asarray(ev.batch_losses, dtype=np.float64).ravel()
        if losses.size == 0:
            losses = np.array([ev.loss], dtype=np.float64)
        steps = np.arange(ev.step - losses.size + 1, ev.step + 1, dtype=np.float64)
        self.bx.append(steps / self.steps_per_epoch)
        self.by.append(losses)
        smooth, self._ema_state = ema(losses, self.smoothing, self._ema_state)
        self.bsmooth.append(smooth)
        self._dirty_batches = True  # only the batch curves: the epoch curves and metric plot stay as they are

    def add_epoch(self, ev) -> None:
        """An ``EpochEnded`` event: one point per logged value."""
        logs = ev.logs
        n = len(self.epochs)
        self.epochs.append([ev.epoch])
        for k, v in logs.items():
            buf = self.logs.get(k)
            if buf is None:
                buf = self.logs[k] = GrowBuffer(64)
                buf.append(np.full(n, np.nan))  # a key that appears late
            buf.append([float(v) if isinstance(v, (int, float)) else np.nan])
        for buf in self.logs.values():
            if len(buf) < len(self.epochs):
                buf.append([np.nan])
        keys = metric_keys(logs)
        if keys and self.metric_combo.count() != len(keys):
            current = self.metric_name if self.metric_name in keys else keys[0]
            self.metric_combo.blockSignals(True)
            self.metric_combo.clear()
            for k in keys:
                self.metric_combo.addItem(metric_label(k), k)
            self.metric_combo.setCurrentIndex(max(self.metric_combo.findData(current), 0))
            self.metric_combo.blockSignals(False)
            self.metric_name = current
            self.metric_plot.setLabel("left", metric_label(current))
        self._dirty = True

    def set_overlay(self, run: dict | None) -> None:
        """Draw a history record's per-epoch curves dashed (``None`` removes them)."""
        self._overlay = run
        self._dirty = True

    # ------------------------------------------------------------------ options
    def set_log_loss(self, on: bool) -> None:
        self.log_loss = bool(on)
        if self.log_box.isChecked() != self.log_loss:
            self.log_box.setChecked(self.log_loss)
        self.loss_plot.setLogMode(y=self.log_loss)
        self._dirty = True
        self.redraw()

    def set_smoothing(self, weight: float) -> None:
        self.smoothing = float(min(max(weight, 0.0), 0.99))
        smooth, self._ema_state = ema(self.by.view(), self.smoothing, (0.0, 0))
        self.bsmooth.clear()
        self.bsmooth.append(smooth)
        self._dirty = True

    def _on_metric_chosen(self, name: str) -> None:
        if name:
            self.metric_name = name
            self.metric_plot.setLabel("left", metric_label(name))
            self._dirty = True

    # ------------------------------------------------------------------ drawing
    def _tick(self) -> None:
        if not self.draw_hidden and not self.isVisible():
            return
        if self._dirty:
            self.redraw()
        elif self._dirty_batches:
            self._redraw_batches()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._tick()

    def _redraw_batches(self, settle: bool = True) -> None:
        self.draws += 1
        self._dirty_batches = False
        log = self.log_loss
        self._set("batch_raw", self.bx.view(), self.by.view(), log, decimate=True)
        self._set("batch_smooth", self.bx.view(), self.bsmooth.view(), log, decimate=True)
        if settle:
            self._settle(self.loss_plot)

    def _settle(self, plot) -> None:
        """Fit the view to the data now, before the paint, in steps (:func:`sticky_range`).

        pyqtgraph's auto-range follows the data exactly, so every frame of a run changes the
        range, and new axis ticks cost more than the curves (``AxisItem.generateDrawSpecs``
        was the largest item of GUI time).  A range that only changes when the data leave it,
        or fill less than half of it, keeps the axes as they were for most frames.  Once the
        user pans or zooms, the view is theirs until they press pyqtgraph's "A" button."""
        vb = plot.getViewBox()
        if getattr(vb, "_nn_user_range", False):
            if not any(vb.state["autoRange"]):
                return
            vb._nn_user_range = False          # "A" pressed: follow the data again
        if not hasattr(vb, "_nn_user_range"):
            vb._nn_user_range = False
            vb.sigRangeChangedManually.connect(lambda *_, vb=vb: setattr(vb, "_nn_user_range", True))
        vb.disableAutoRange()
        bounds = vb.childrenBounds()
        if bounds is None or bounds[0] is None or bounds[1] is None:
            return
        (cx0, cx1), (cy0, cy1) = vb.viewRange()
        nx = sticky_range((cx0, cx1), bounds[0], floor_zero=True)
        planned = self.planned_epochs
        if planned:
            # the data's own x extent, not childrenBounds: that adds the dots' pixel padding, which
            # at a 3000-epoch scale is tens of epochs and reached below zero (the axis left the plan)
            lo, hi = _x_extent(plot)
            if lo is None or (-0.5 <= lo and hi <= planned * PLANNED_PAD):
                nx = (0.0, planned * PLANNED_PAD)
        ny = sticky_range((cy0, cy1), bounds[1])
        if nx != (cx0, cx1) or ny != (cy0, cy1):
            vb.setRange(xRange=nx, yRange=ny, padding=0)
            self.range_changes += 1
        plot.scene().prepareForPaint()     # anything pyqtgraph deferred to the paint, done now

    def _set_symbols(self, on: bool) -> None:
        if on == self._symbols:
            return
        self._symbols = on
        for key in ("loss", "val_loss", "metric", "val_metric"):
            self.items[key].setSymbol("o" if on else None)

    def _set(self, key: str, x, y, log: bool = False, decimate: bool = False) -> None:
        x, y, bad = finite_xy(x, y, log)
        self.hidden_points += bad
        if decimate:
            x, y = peak_decimate(x, y)
        self.items[key].setData(x, y)

    def redraw(self) -> None:
        """Push the buffers into the plot items (normally called by the timer)."""
        self._dirty = False
        self.hidden_points = 0
        log = self.log_loss
        self._redraw_batches(settle=False)
        ex = self.epochs.view()
        empty = np.empty(0)
        self._set_symbols(len(ex) <= SYMBOL_LIMIT)
        for key, name in (("loss", "loss"), ("val_loss", "val_loss"),
                          ("metric", self.metric_name), ("val_metric", f"val_{self.metric_name}")):
            buf = self.logs.get(name) if name else None
            if buf is None:
                self.items[key].setData(empty, empty)
            else:
                self._set(key, ex, buf.view(), log and key in ("loss", "val_loss"))
        run = self._overlay
        for key, name in (("overlay_loss", "loss"), ("overlay_val_loss", "val_loss"),
                          ("overlay_metric", self.metric_name), ("overlay_val_metric", f"val_{self.metric_name}")):
            rows = (run or {}).get("epochs") or []
            if not rows or not name:
                self.items[key].setData(empty, empty)
                continue
            x = np.array([r.get("epoch", i + 1) for i, r in enumerate(rows)], dtype=np.float64)
            y = np.array([r.get(name) if isinstance(r.get(name), (int, float)) else np.nan for r in rows],
                         dtype=np.float64)
            x, y, _ = finite_xy(x, y, log and "loss" in key)
            self.items[key].setData(x, y)
        self._settle(self.loss_plot)
        self._settle(self.metric_plot)
        if self.hidden_points:
            text = (self.tr("{n} non-finite or non-positive values not drawn") if log
                    else self.tr("{n} non-finite values not drawn"))
            self.notice.setText(text.format(n=self.hidden_points))
        else:
            self.notice.setText("")

    # ------------------------------------------------------------------ hover
    def readout_at(self, x: float) -> str:
        """Text for the epoch nearest ``x`` (and the nearest batch loss)."""
        parts = []
        ex = self.epochs.view()
        if len(ex):
            i = int(np.argmin(np.abs(ex - x)))
            vals = [f"{metric_label(k)} {buf.view()[i]:.4g}" for k, buf in self.logs.items()
                    if k != "lr" and i < len(buf) and math.isfinite(buf.view()[i])]
            parts.append(self.tr("epoch {n}: {values}").format(n=int(ex[i]), values=", ".join(vals)))
        bx = self.bx.view()
        if len(bx):
            j = int(np.searchsorted(bx, x).clip(0, len(bx) - 1))
            parts.append(self.tr("batch loss at {x}: {loss}").format(x=f"{bx[j]:.2f}", loss=f"{self.by.view()[j]:.4g}"))
        return "   ".join(parts)

    def add_toolbar_widgets(self, *widgets: QWidget) -> None:
        """Put extra controls (e.g. a run chooser) on the row above the plots."""
        at = self._bar.count() - 2  # before the stretch and the notice
        for w in widgets:
            self._bar.insertWidget(at, w)
            at += 1

    def _on_mouse(self, plot: pg.PlotWidget, pos) -> None:
        vb = plot.getPlotItem().vb
        if not plot.sceneBoundingRect().contains(pos):
            return
        x = vb.mapSceneToView(pos).x()
        text = self.readout_at(x)
        self.readout.setText(text or " ")
        self.hovered.emit(text)
