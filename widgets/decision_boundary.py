"""A TensorFlow-Playground-style map of the model's output over 2-D input space.

The worker evaluates the model on a grid at every epoch end and sends plain
arrays (``app.workers.boundary_payload``): ``values`` (rows = y, columns = x,
last axis = class probabilities, or one regression output), the grid's
``x_range``/``y_range``, and up to a few hundred training ``points``/``labels``.
This view only colours them: an ``ImageItem`` under a ``ScatterPlotItem``.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

CLASS_COLOURS = np.array([
    [59, 120, 196], [208, 103, 47], [47, 158, 110], [138, 92, 194], [194, 85, 122],
    [183, 121, 31], [31, 138, 155], [90, 111, 134], [120, 160, 40], [200, 60, 60],
], dtype=np.float64)


def class_colours(k: int) -> np.ndarray:
    reps = int(np.ceil(k / len(CLASS_COLOURS)))
    return np.tile(CLASS_COLOURS, (reps, 1))[:k]


def shared_brushes(colours: np.ndarray, exact: bool = True) -> list:
    """One brush per point, but one brush *object* per distinct colour: pyqtgraph renders a
    symbol for every distinct brush object, so 500 points with 500 brushes cost 500 renders
    (0.5 s) where 2 classes need 2.  Continuous colours (regression) are rounded to steps of 8."""
    c = np.asarray(colours, dtype=np.int64).reshape(-1, np.shape(colours)[-1] if np.ndim(colours) == 2 else 3)
    if not exact:
        c = np.clip((c + 4) // 8 * 8, 0, 255)
    if not len(c):
        return []
    uniq, inv = np.unique(c, axis=0, return_inverse=True)
    made = [pg.mkBrush(*map(int, u)) for u in uniq]
    return [made[i] for i in np.ravel(inv)]


def probability_image(probs: np.ndarray) -> np.ndarray:
    """(H, W, k) class probabilities -> (H, W, 3) uint8: the mixed class colour, faded
    towards white where the model is unsure (Playground style)."""
    p = np.clip(np.nan_to_num(np.asarray(probs, dtype=np.float64)), 0.0, 1.0)
    k = p.shape[-1]
    total = p.sum(axis=-1, keepdims=True)
    p = np.where(total > 0, p / np.maximum(total, 1e-12), 1.0 / k)
    mix = p @ class_colours(k)
    conf = (p.max(axis=-1, keepdims=True) - 1.0 / k) / (1.0 - 1.0 / k) if k > 1 else np.ones_like(p[..., :1])
    alpha = 0.25 + 0.6 * np.clip(conf, 0.0, 1.0)
    rgb = 255.0 * (1 - alpha) + mix * alpha
    return np.clip(rgb, 0, 255).astype(np.uint8)


def value_image(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """(H, W) regression outputs -> (H, W, 3) uint8 on a blue-white-orange scale."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    lo = float(v.min()) if lo is None else lo
    hi = float(v.max()) if hi is None else hi
    t = np.clip((v - lo) / max(hi - lo, 1e-12), 0.0, 1.0)[..., None]
    a, mid, b = np.array([59, 120, 196.0]), np.array([245, 245, 245.0]), np.array([208, 103, 47.0])
    rgb = np.where(t < 0.5, a + (mid - a) * (t * 2), mid + (b - mid) * (t * 2 - 1))
    return np.clip(rgb, 0, 255).astype(np.uint8)


class DecisionBoundaryView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setBackground(None)
        self.plot.setAspectLocked(True)  # same scale on both axes: shapes are not distorted
        self.image = pg.ImageItem()
        self.scatter = pg.ScatterPlotItem(size=6, pen=pg.mkPen("#ffffff", width=0.8))
        self.plot.addItem(self.image)
        self.plot.addItem(self.scatter)
        self.label = QLabel(self.tr("the decision boundary appears here for data with two input features"))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.label)
        lay.addWidget(self.plot, 1)
        self.payload: dict | None = None
        self.rgb: np.ndarray | None = None
        self.draws = 0                      # set_payload calls that drew (a counter for tests)
        self._points_key: tuple | None = None  # the scatter is rebuilt only when the points change

    def clear(self) -> None:
        self.payload = None
        self.rgb = None
        self._points_key = None
        self.image.clear()
        self.scatter.setData([], [])
        self.label.setText(self.tr("the decision boundary appears here for data with two input features"))

    def set_payload(self, payload: dict) -> None:
        values = np.asarray(payload["values"])
        pts = np.asarray(payload.get("points", np.zeros((0, 2))), dtype=np.float64)
        labels = np.asarray(payload.get("labels", np.zeros(0)))
        classification = payload.get("task") == "classification"
        if classification:
            rgb = probability_image(values)
            k = values.shape[-1]
            cols = class_colours(k)[np.clip(labels.astype(np.int64).ravel(), 0, k - 1)] if len(labels) else \
                np.zeros((0, 3))
        else:
            y = labels.reshape(len(labels), -1)[:, 0] if len(labels) else np.zeros(0)
            lo = float(min(values.min(), y.min())) if y.size else float(values.min())
            hi = float(max(values.max(), y.max())) if y.size else float(values.max())
            rgb = value_image(values[..., 0], lo, hi)
            cols = value_image(y[:, None], lo, hi)[:, 0] if y.size else np.zeros((0, 3))
        self.payload = payload
        self.rgb = rgb
        (x0, x1), (y0, y1) = payload["x_range"], payload["y_range"]
        # ImageItem is column-major (image[x, y]); the payload is rows = y
        self.image.setImage(np.ascontiguousarray(rgb.transpose(1, 0, 2)), levels=(0, 255))
        res_y, res_x = rgb.shape[:2]
        dx = (x1 - x0) / max(res_x - 1, 1)
        dy = (y1 - y0) / max(res_y - 1, 1)
        self.image.setRect(QRectF(x0 - dx / 2, y0 - dy / 2, (x1 - x0) + dx, (y1 - y0) + dy))
        # the same run sends the same points every epoch: build the scatter (and its brushes) once
        key = (pts.tobytes(), labels.tobytes(), classification, None if classification else (lo, hi))
        if key != self._points_key:
            self._points_key = key
            ok = np.all(np.isfinite(pts), axis=1) if len(pts) else np.zeros(0, bool)
            brushes = shared_brushes(cols[ok], exact=classification) if len(pts) else []
            self.scatter.setData(pts[ok, 0] if len(pts) else [], pts[ok, 1] if len(pts) else [], brush=brushes)
        self.draws += 1
        legend = self.tr("class colours; faded = unsure") if classification else self.tr("blue = low, orange = high")
        self.label.setText(self.tr("model output after epoch {epoch} ({legend})").format(
            epoch=payload.get("epoch", "?"), legend=legend))
