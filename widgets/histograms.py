"""Weight histograms per parameter, their evolution over epochs, and gradient norms.

The histograms are computed on the training worker (``engine.trainer.histogram``:
bins fitted to each snapshot's own range, never re-smoothed); this view only
draws them.  The "over time" heat map needs one common value axis, so each
epoch's counts are moved onto shared bins spanning every snapshot's range
(each old bin's count goes to the shared bin holding its centre).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

HEAT_BINS = 48


def rebin(counts: np.ndarray, edges: np.ndarray, common_edges: np.ndarray) -> np.ndarray:
    """Counts of one histogram moved onto ``common_edges`` by bin centre."""
    counts = np.nan_to_num(np.asarray(counts, dtype=np.float64))
    edges = np.asarray(edges, dtype=np.float64)
    centres = 0.5 * (edges[:-1] + edges[1:])
    out, _ = np.histogram(centres, bins=common_edges, weights=counts)
    return out


def stats_text(h: dict) -> str:
    def f(key):
        v = h.get(key)
        return "–" if v is None else f"{float(v):.4g}"
    text = f"mean {f('mean')}   std {f('std')}   min {f('min')}   max {f('max')}"
    zeros, bad = float(h.get("zeros", 0.0)), float(h.get("nonfinite", 0.0))
    text += f"   zeros {100 * zeros:.1f}%"
    if bad:
        text += f"   NaN/inf {100 * bad:.1f}%"
    return text


class WeightHistograms(QWidget):
    """Pick a parameter (``"n2/W"``) in the combo; see its latest histogram with
    summary statistics, a heat map of every epoch's histogram, and the gradient
    norm of each layer."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.snapshots: dict[str, list[tuple[int, dict]]] = {}
        self.grad_history: list[tuple[int, dict]] = []
        self.combo = QComboBox()
        self.combo.setToolTip("Parameter to show (layer id / parameter name)")
        self.combo.currentTextChanged.connect(self._on_key)
        self.stats = QLabel("no histograms yet: train to see how the weights evolve")
        self.stats.setTextInteractionFlags(Qt.TextSelectableByMouse)

        self.hist_plot = pg.PlotWidget()
        self.hist_plot.setBackground(None)
        self.hist_plot.setLabel("bottom", "value")
        self.hist_plot.setLabel("left", "count")
        self.hist_item = self.hist_plot.plot(stepMode="center", fillLevel=0, brush=(59, 120, 196, 120),
                                             pen=pg.mkPen("#3b78c4", width=1.5))

        self.heat_plot = pg.PlotWidget()
        self.heat_plot.setBackground(None)
        self.heat_plot.setLabel("bottom", "epoch")
        self.heat_plot.setLabel("left", "value")
        self.heat_item = pg.ImageItem()
        self.heat_item.setColorMap(pg.colormap.get("viridis"))
        self.heat_plot.addItem(self.heat_item)

        self.grad_plot = pg.PlotWidget()
        self.grad_plot.setBackground(None)
        self.grad_plot.setLabel("left", "gradient norm")
        for plot in (self.hist_plot, self.heat_plot, self.grad_plot):
            for side in ("left", "bottom"):  # plain numbers, no "(x0.001)" unit prefixes
                plot.getAxis(side).enableAutoSIPrefix(False)
        self.grad_item = pg.BarGraphItem(x=[], height=[], width=0.6, brush="#d0672f")
        self.grad_plot.addItem(self.grad_item)

        top = QHBoxLayout()
        top.addWidget(QLabel("parameter"))
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
        self.grad_history = []
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.blockSignals(False)
        self.hist_item.setData([0.0, 1.0], [0.0])
        self.heat_item.clear()
        self.grad_item.setOpts(x=[], height=[])
        self.stats.setText("no histograms yet: train to see how the weights evolve")

    def add_epoch(self, ev) -> None:
        """An ``EpochEnded`` event (with ``histograms`` and ``grad_norms``)."""
        new_keys = False
        for key, h in (ev.histograms or {}).items():
            if key not in self.snapshots:
                self.snapshots[key] = []
                new_keys = True
            self.snapshots[key].append((int(ev.epoch), h))
        if new_keys:
            current = self.combo.currentText()
            self.combo.blockSignals(True)
            self.combo.clear()
            self.combo.addItems(list(self.snapshots))
            self.combo.setCurrentText(current if current in self.snapshots else next(iter(self.snapshots)))
            self.combo.blockSignals(False)
        if ev.grad_norms:
            self.grad_history.append((int(ev.epoch), dict(ev.grad_norms)))
            self._draw_grads(ev.grad_norms)
        self._on_key(self.combo.currentText())

    # ------------------------------------------------------------------ drawing
    def _draw_grads(self, norms: dict) -> None:
        names = list(norms)
        h = np.array([norms[n] for n in names], dtype=np.float64)
        h = np.where(np.isfinite(h), h, 0.0)
        self.grad_item.setOpts(x=np.arange(len(names)), height=h, width=0.6)
        self.grad_plot.getAxis("bottom").setTicks([list(enumerate(names))])

    def heat_image(self, key: str) -> tuple[np.ndarray, float, float] | None:
        """(epochs × HEAT_BINS counts, value low, value high) for ``key``."""
        snaps = self.snapshots.get(key) or []
        if not snaps:
            return None
        lo = min(float(h["edges"][0]) for _, h in snaps)
        hi = max(float(h["edges"][-1]) for _, h in snaps)
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
            lo, hi = -1.0, 1.0
        common = np.linspace(lo, hi, HEAT_BINS + 1)
        img = np.stack([rebin(h["counts"], h["edges"], common) for _, h in snaps])
        return img, lo, hi

    def _on_key(self, key: str) -> None:
        snaps = self.snapshots.get(key)
        if not snaps:
            return
        epoch, h = snaps[-1]
        counts = np.nan_to_num(np.asarray(h["counts"], dtype=np.float64))
        edges = np.asarray(h["edges"], dtype=np.float64)
        if np.all(np.isfinite(edges)):
            self.hist_item.setData(edges, counts)
        self.stats.setText(f"{key} after epoch {epoch}:   " + stats_text(h))
        heat = self.heat_image(key)
        if heat is not None:
            img, lo, hi = heat
            # ImageItem axes: image[x, y] (column-major); x = epoch, y = value
            self.heat_item.setImage(np.log1p(img), autoLevels=True)
            first = snaps[0][0]
            self.heat_item.setRect(QRectF(first - 0.5, lo, float(len(snaps)), hi - lo))
