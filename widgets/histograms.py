"""Weight histograms per parameter, their evolution over epochs, and gradient norms.

The histograms are computed on the training worker (``engine.trainer.histogram``:
bins fitted to each snapshot's own range, never re-smoothed); this view only
draws them.  The "over time" heat map needs one common value axis, so each
snapshot's counts are moved onto shared bins (each bin's count goes to the
shared bin holding its centre).  That history is built incrementally
(:class:`HeatHistory`): a new snapshot costs one column, the shared range only
widens (by a margin, so rarely) and then re-bins the columns in one matrix
product, and at :data:`MAX_COLUMNS` every other old column is dropped, so its
memory and drawing cost stay bounded however many epochs a run has.
Only the latest snapshot per parameter is kept besides.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QRectF, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

HEAT_BINS = 48
#: at most this many columns (snapshots) in a heat map; older ones are thinned out
MAX_COLUMNS = 400
#: a widened shared range gets this much extra room on the side that grew
RANGE_MARGIN = 0.25


def rebin(counts: np.ndarray, edges: np.ndarray, common_edges: np.ndarray) -> np.ndarray:
    """Counts of one histogram moved onto ``common_edges`` by bin centre."""
    counts = np.nan_to_num(np.asarray(counts, dtype=np.float64))
    edges = np.asarray(edges, dtype=np.float64)
    centres = 0.5 * (edges[:-1] + edges[1:])
    out, _ = np.histogram(centres, bins=common_edges, weights=counts)
    return out


class HeatHistory:
    """One parameter's histograms over time on shared bins, bounded in size."""

    def __init__(self, bins: int = HEAT_BINS, max_columns: int = MAX_COLUMNS):
        self.bins = int(bins)
        self.max_columns = int(max_columns)
        self.lo = self.hi = None
        self.cols = np.zeros((0, self.bins))
        self.epochs: list[int] = []
        self.stride = 1          # epochs between kept columns after thinning

    def edges(self) -> np.ndarray:
        return np.linspace(self.lo, self.hi, self.bins + 1)

    def _widen(self, a: float, b: float) -> None:
        if self.lo is None:
            span = max(b - a, 1e-12)
            self.lo, self.hi = a - 0.01 * span, b + 0.01 * span
            return
        lo, hi = self.lo, self.hi
        span = max(max(hi, b) - min(lo, a), 1e-12)
        new_lo = min(lo, a - RANGE_MARGIN * span) if a < lo else lo
        new_hi = max(hi, b + RANGE_MARGIN * span) if b > hi else hi
        old_edges = self.edges()
        self.lo, self.hi = new_lo, new_hi
        if len(self.epochs):
            centres = 0.5 * (old_edges[:-1] + old_edges[1:])
            idx = np.clip(np.searchsorted(self.edges(), centres, side="right") - 1, 0, self.bins - 1)
            move = np.zeros((self.bins, self.bins))
            move[np.arange(self.bins), idx] = 1.0
            self.cols = self.cols @ move

    def add(self, epoch: int, h: dict) -> bool:
        """Add one snapshot; returns False when thinning skips it."""
        if self.epochs and epoch < self.epochs[-1] + self.stride:
            return False
        edges = np.asarray(h["edges"], dtype=np.float64)
        if not np.all(np.isfinite(edges)):
            return False
        a, b = float(edges[0]), float(edges[-1])
        if self.lo is None or a < self.lo or b > self.hi:
            self._widen(a, b)
        col = rebin(h["counts"], edges, self.edges())
        if len(self.epochs) >= self.max_columns:
            self.cols = self.cols[::2].copy()
            self.epochs = self.epochs[::2]
            self.stride *= 2
        self.cols = np.vstack([self.cols, col[None, :]]) if len(self.cols) else col[None, :]
        self.epochs.append(int(epoch))
        return True


def stats_text(h: dict) -> str:
    def f(key):
        v = h.get(key)
        return "–" if v is None else f"{float(v):.4g}"
    zeros, bad = float(h.get("zeros", 0.0)), float(h.get("nonfinite", 0.0))
    text = QCoreApplication.translate("WeightHistograms", "mean {mean}   std {std}   min {min}   max {max}   "
                                      "zeros {zeros}%").format(mean=f("mean"), std=f("std"), min=f("min"),
                                                               max=f("max"), zeros=f"{100 * zeros:.1f}")
    if bad:
        text += QCoreApplication.translate("WeightHistograms", "   NaN/inf {pct}%").format(pct=f"{100 * bad:.1f}")
    return text


class WeightHistograms(QWidget):
    """Pick a parameter (``"n2/W"``) in the combo; see its latest histogram with
    summary statistics, a heat map of every epoch's histogram, and the gradient
    norm of each layer."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.snapshots: dict[str, tuple[int, dict]] = {}   # the latest (epoch, histogram) per parameter
        self.heat: dict[str, HeatHistory] = {}
        self.latest_grads: dict = {}
        self.draws = 0                  # redraws (a counter for tests)
        self._dirty = False
        self.combo = QComboBox()
        self.combo.setToolTip(self.tr("Parameter to show (layer id / parameter name)"))
        self.combo.currentTextChanged.connect(self._on_key)
        self.stats = QLabel(self.tr("no histograms yet: train to see how the weights evolve"))
        self.stats.setTextInteractionFlags(Qt.TextSelectableByMouse)

        self.hist_plot = pg.PlotWidget()
        self.hist_plot.setBackground(None)
        self.hist_plot.setLabel("bottom", self.tr("value"))
        self.hist_plot.setLabel("left", self.tr("count"))
        self.hist_item = self.hist_plot.plot(stepMode="center", fillLevel=0, brush=(59, 120, 196, 120),
                                             pen=pg.mkPen("#3b78c4", width=1.5))

        self.heat_plot = pg.PlotWidget()
        self.heat_plot.setBackground(None)
        self.heat_plot.setLabel("bottom", self.tr("epoch"))
        self.heat_plot.setLabel("left", self.tr("value"))
        self.heat_item = pg.ImageItem()
        self.heat_item.setColorMap(pg.colormap.get("viridis"))
        self.heat_plot.addItem(self.heat_item)

        self.grad_plot = pg.PlotWidget()
        self.grad_plot.setBackground(None)
        self.grad_plot.setLabel("left", self.tr("gradient norm"))
        for plot in (self.hist_plot, self.heat_plot, self.grad_plot):
            for side in ("left", "bottom"):  # plain numbers, no "(x0.001)" unit prefixes
                plot.getAxis(side).enableAutoSIPrefix(False)
        self.grad_item = pg.BarGraphItem(x=[], height=[], width=0.6, brush="#d0672f")
        self.grad_plot.addItem(self.grad_item)

        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("parameter")))
        top.addWidget(self.combo, 1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.hist_plot)
        split.addWidget(self.heat_plot)
        split.addWidget(self.grad_plot)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.stats)
        lay.addWidget(split, 1)

    # ------------------------------------------------------------------ feeding
    def reset(self) -> None:
        self.snapshots = {}
        self.heat = {}
        self.latest_grads = {}
        self._dirty = False
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.blockSignals(False)
        self.hist_item.setData([0.0, 1.0], [0.0])
        self.heat_item.clear()
        self.grad_item.setOpts(x=[], height=[])
        self.stats.setText(self.tr("no histograms yet: train to see how the weights evolve"))

    def add_epoch(self, ev) -> None:
        """An ``EpochEnded`` event (with ``histograms`` and ``grad_norms``): store and draw."""
        self.store_epoch(ev)
        self.redraw()

    def store_epoch(self, ev) -> None:
        """Keep an epoch's histograms without drawing (the app draws at its frame rate)."""
        for key, h in (ev.histograms or {}).items():
            self.snapshots[key] = (int(ev.epoch), h)
            heat = self.heat.get(key)
            if heat is None:
                heat = self.heat[key] = HeatHistory()
            heat.add(int(ev.epoch), h)
            self._dirty = True
        if ev.grad_norms:
            self.latest_grads = dict(ev.grad_norms)
            self._dirty = True

    def redraw(self) -> None:
        """Draw what was stored since the last redraw (cheap when nothing was)."""
        if not self._dirty:
            return
        self._dirty = False
        self.draws += 1
        if self.combo.count() != len(self.snapshots):
            current = self.combo.currentText()
            self.combo.blockSignals(True)
            self.combo.clear()
            self.combo.addItems(list(self.snapshots))
            if self.snapshots:
                self.combo.setCurrentText(current if current in self.snapshots else next(iter(self.snapshots)))
            self.combo.blockSignals(False)
        if self.latest_grads:
            self._draw_grads(self.latest_grads)
        self._on_key(self.combo.currentText())

    # ------------------------------------------------------------------ drawing
    def _draw_grads(self, norms: dict) -> None:
        names = list(norms)
        h = np.array([norms[n] for n in names], dtype=np.float64)
        h = np.where(np.isfinite(h), h, 0.0)
        self.grad_item.setOpts(x=np.arange(len(names)), height=h, width=0.6)
        self.grad_plot.getAxis("bottom").setTicks([list(enumerate(names))])

    def heat_image(self, key: str) -> tuple[np.ndarray, float, float] | None:
        """(snapshots × HEAT_BINS counts, value low, value high) for ``key``."""
        heat = self.heat.get(key)
        if heat is None or not heat.epochs:
            return None
        return heat.cols, float(heat.lo), float(heat.hi)

    def _on_key(self, key: str) -> None:
        snap = self.snapshots.get(key)
        if not snap:
            return
        epoch, h = snap
        counts = np.nan_to_num(np.asarray(h["counts"], dtype=np.float64))
        edges = np.asarray(h["edges"], dtype=np.float64)
        if np.all(np.isfinite(edges)):
            self.hist_item.setData(edges, counts)
        self.stats.setText(self.tr("{key} after epoch {epoch}:   {stats}").format(key=key, epoch=epoch, stats=stats_text(h)))
        heat = self.heat.get(key)
        if heat is not None and heat.epochs:
            # ImageItem axes: image[x, y] (column-major); x = epoch, y = value
            self.heat_item.setImage(np.log1p(heat.cols), autoLevels=True)
            first, last = heat.epochs[0], heat.epochs[-1]
            width = max(float(last - first), 0.0) + 1.0
            self.heat_item.setRect(QRectF(first - 0.5, heat.lo, width, heat.hi - heat.lo))
