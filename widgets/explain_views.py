"""Pictures for the Analyze panel: colour images from arrays, bar charts, feature-map grids.

Views only: they draw the plain arrays the app computed with :mod:`engine.explain`.
Colours come from :mod:`engine.explain.png` (the same scales as the CLI's PNGs):
signed values on blue–white–red around 0, unsigned values on a dark-blue–yellow scale.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from engine.explain.png import diverging_rgb, sequential_rgb

#: at most this many feature maps of a conv layer are drawn (the first ones)
MAX_MAPS = 64
#: vectors longer than this are drawn as a heat strip instead of bars
MAX_BARS = 48


def rgb_image(rgb: np.ndarray) -> QImage:
    """(H, W, 3) uint8 -> a QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()


def grid_rgb(maps: np.ndarray, signed: bool = False, gap: int = 1) -> np.ndarray:
    """(k, H, W) maps tiled into one RGB picture on a shared colour scale (white gaps)."""
    maps = np.nan_to_num(np.asarray(maps, dtype=np.float64))
    k, h, w = maps.shape
    cols = max(1, int(math.ceil(math.sqrt(k))))
    rows = int(math.ceil(k / cols))
    out = np.full((rows * (h + gap) + gap, cols * (w + gap) + gap, 3), 255, dtype=np.uint8)
    if signed:
        tiles = diverging_rgb(maps, float(np.abs(maps).max()))
    else:
        tiles = sequential_rgb(maps, float(maps.min()), float(maps.max()))
    for i in range(k):
        r, c = divmod(i, cols)
        y0, x0 = gap + r * (h + gap), gap + c * (w + gap)
        out[y0:y0 + h, x0:x0 + w] = tiles[i]
    return out


def display_rgb(x: np.ndarray) -> np.ndarray:
    """An (H, W, C) model input as RGB, stretched to its own range."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float64))
    lo, hi = float(x.min()), float(x.max())
    t = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    if t.shape[-1] == 1:
        t = np.repeat(t, 3, axis=-1)
    elif t.shape[-1] != 3:
        t = np.repeat(t.mean(axis=-1, keepdims=True), 3, axis=-1)
    return (t * 255).astype(np.uint8)


class ImageView(QLabel):
    """An array picture scaled to the widget with square, unsmoothed pixels."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignCenter)
        self.setMinimumSize(96, 40)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self._image: QImage | None = None
        self.draws = 0

    def set_rgb(self, rgb: np.ndarray | None) -> None:
        self._image = None if rgb is None else rgb_image(rgb)
        self._refresh()

    def image(self) -> QImage | None:
        return self._image

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._refresh()

    def _refresh(self) -> None:
        if self._image is None:
            self.setPixmap(QPixmap())
            return
        size = self.size() - QSize(4, 4)
        pm = QPixmap.fromImage(self._image).scaled(size, Qt.KeepAspectRatio, Qt.FastTransformation)
        self.draws += 1
        self.setPixmap(pm)


class BarsView(QWidget):
    """Horizontal bars for signed values, one row per name, with optional ± error bars."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.names: list[str] = []
        self.values = np.zeros(0)
        self.errors: np.ndarray | None = None
        self.setMinimumHeight(40)
        self.draws = 0

    def set_bars(self, names, values, errors=None) -> None:
        self.names = [str(n) for n in names]
        self.values = np.nan_to_num(np.asarray(values, dtype=np.float64).reshape(-1))
        self.errors = None if errors is None else np.nan_to_num(np.asarray(errors, dtype=np.float64).reshape(-1))
        self.setMinimumHeight(max(40, 18 * len(self.names) + 12))
        tips = [f"{n}: {v:.4g}" + (f" ± {e:.2g}" if self.errors is not None else "")
                for n, v, e in zip(self.names, self.values,
                                   self.errors if self.errors is not None else [0] * len(self.values))]
        self.setToolTip("\n".join(tips[:40]))
        self.update()

    def sizeHint(self):
        return QSize(360, max(80, 18 * len(self.names) + 12))

    def paintEvent(self, event):
        self.draws += 1
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        n = len(self.values)
        if not n:
            return
        fm = p.fontMetrics()
        label_w = min(max(fm.horizontalAdvance(s) for s in self.names) + 8, self.width() // 3)
        row = max(12.0, min(22.0, (self.height() - 8) / n))
        span = float(np.max(np.abs(self.values) + (self.errors if self.errors is not None else 0))) or 1.0
        signed = bool(np.any(self.values < 0))
        left = label_w + 4
        plot_w = max(self.width() - left - 60, 10)
        zero = left + (plot_w / 2 if signed else 0)
        scale = (plot_w / 2 if signed else plot_w) / span
        text = self.palette().text().color()
        for i, (name, v) in enumerate(zip(self.names, self.values)):
            y = 4 + i * row
            p.setPen(text)
            p.drawText(QRectF(2, y, label_w, row), Qt.AlignRight | Qt.AlignVCenter,
                       fm.elidedText(name, Qt.ElideMiddle, label_w - 4))
            x1 = zero + v * scale
            colour = QColor(204, 26, 38) if v >= 0 else QColor(33, 89, 191)
            p.fillRect(QRectF(min(zero, x1), y + 3, abs(x1 - zero), row - 6), colour)
            if self.errors is not None:
                e = self.errors[i] * scale
                p.setPen(QPen(text, 1))
                p.drawLine(int(x1 - e), int(y + row / 2), int(x1 + e), int(y + row / 2))
            p.setPen(text)
            p.drawText(QRectF(left + plot_w + 4, y, 56, row), Qt.AlignLeft | Qt.AlignVCenter, f"{v:.3g}")
        p.setPen(QPen(QColor(128, 128, 128), 1))
        p.drawLine(int(zero), 2, int(zero), int(4 + n * row))


def vector_rgb(v: np.ndarray, signed: bool) -> np.ndarray:
    """A (D,) or (L, D) array as a heat strip picture (rows stay rows)."""
    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 1:
        a = a[None]
    a = a.reshape(a.shape[0], -1)
    return diverging_rgb(a) if signed else sequential_rgb(a)


class TokenStrip(QWidget):
    """Tokens (their ids) in boxes coloured by their attribution: red raised the score, blue lowered it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.tokens: list[str] = []
        self.values = np.zeros(0)
        self.setMinimumHeight(40)
        self.draws = 0

    def set_tokens(self, tokens, values) -> None:
        self.tokens = [str(t) for t in tokens]
        self.values = np.nan_to_num(np.asarray(values, dtype=np.float64).reshape(-1))
        self.setToolTip("\n".join(f"{i}: {t} → {v:.4g}" for i, (t, v) in
                                  enumerate(zip(self.tokens, self.values)) if i < 60))
        self.update()

    def colours(self) -> np.ndarray:
        return diverging_rgb(self.values)

    def paintEvent(self, event):
        self.draws += 1
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        if not self.tokens:
            return
        fm = p.fontMetrics()
        rgb = self.colours()
        x, y, h = 4, 4, fm.height() + 8
        for tok, (r, g, b) in zip(self.tokens, rgb):
            w = fm.horizontalAdvance(tok) + 12
            if x + w > self.width() - 4 and x > 4:
                x, y = 4, y + h + 4
            p.fillRect(QRectF(x, y, w, h), QColor(int(r), int(g), int(b)))
            p.setPen(QColor(0, 0, 0))
            p.drawText(QRectF(x, y, w, h), Qt.AlignCenter, tok)
            x += w + 4
        self.setMinimumHeight(int(y + h + 8))
