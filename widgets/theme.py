"""Colours shared by the canvas and the palette.

Category colours are mid-tone so that white header text is readable on them and
they stand out on both light and dark window palettes; node bodies and text take
their colours from the application palette.
"""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

CATEGORY_COLOURS = {
    "Core": "#3b78c4",
    "Convolution": "#2f9e6e",
    "Pooling": "#1f8a9b",
    "Recurrent": "#8a5cc2",
    "Attention": "#c2557a",
    "Normalisation": "#b7791f",
    "Merge": "#5a6f86",
    "Activation": "#d0672f",
}
FALLBACK = "#707a86"
ERROR = QColor("#d93a3a")
EDGE = QColor("#8b95a3")
SELECTION = QColor("#f0b429")


def category_colour(category: str) -> QColor:
    return QColor(CATEGORY_COLOURS.get(category, FALLBACK))


def is_dark(palette: QPalette | None = None) -> bool:
    if palette is None:
        app = QApplication.instance()
        palette = app.palette() if app is not None else QPalette()
    return palette.color(QPalette.Window).lightness() < 128


def canvas_background(palette: QPalette | None = None) -> QColor:
    return QColor("#1f2329") if is_dark(palette) else QColor("#f4f6f9")


def grid_colour(palette: QPalette | None = None) -> QColor:
    return QColor("#2b3038") if is_dark(palette) else QColor("#e3e7ed")


def node_body(palette: QPalette | None = None) -> QColor:
    return QColor("#2d333b") if is_dark(palette) else QColor("#ffffff")


def node_text(palette: QPalette | None = None) -> QColor:
    return QColor("#e6e9ee") if is_dark(palette) else QColor("#1d232b")


def muted_text(palette: QPalette | None = None) -> QColor:
    return QColor("#a2abb7") if is_dark(palette) else QColor("#5b6572")


def edge_label_background(palette: QPalette | None = None) -> QColor:
    c = QColor("#2d333b") if is_dark(palette) else QColor("#ffffff")
    c.setAlpha(225)
    return c
