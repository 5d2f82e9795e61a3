"""EvaluationPanel on its own: metrics tables, confusion matrix, gallery, regression scatter, states."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from widgets.evaluation_panel import EvaluationPanel

METRICS = {
    "task": "classification", "n": 5, "loss": 0.81234, "accuracy": 0.6,
    "per_class": [{"name": "a", "precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2},
                  {"name": "b", "precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1},
                  {"name": "c", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}],
    "macro": {"precision": 2 / 3, "recall": 2 / 3, "f1": 11 / 18},
    "confusion": [[1, 0, 1], [0, 1, 0], [0, 1, 1]], "class_names": ["a", "b", "c"],
}


@pytest.fixture
def panel(qtbot):
    p = EvaluationPanel()
    qtbot.addWidget(p)
    return p


def test_button_follows_blocked_and_busy(qtbot, panel):
    assert not panel.evaluate_btn.isEnabled()        # blocked until the app says otherwise
    panel.set_blocked(None)
    assert panel.evaluate_btn.isEnabled()
    with qtbot.waitSignal(panel.evaluate_requested, timeout=1000):
        panel.evaluate_btn.click()
    panel.set_busy(True, "loading the data…")
    assert not panel.evaluate_btn.isEnabled() and panel.progress.isVisibleTo(panel)
    assert panel.status.text() == "loading the data…"
    panel.set_progress(40, "decoding")
    assert panel.progress.value() == 40 and panel.status.text() == "decoding"
    assert panel.cancel_btn.isVisibleTo(panel)
    with qtbot.waitSignal(panel.cancel_requested, timeout=1000):
        panel.cancel_btn.click()
    panel.set_busy(False)
    assert panel.evaluate_btn.isEnabled() and not panel.progress.isVisibleTo(panel)
    assert not panel.cancel_btn.isVisibleTo(panel) and panel.status.text() == ""
    panel.set_blocked("the model has no trained weights yet")
    assert not panel.evaluate_btn.isEnabled()
    assert "no trained weights" in panel.status.text() and "no trained weights" in panel.evaluate_btn.toolTip()
    got = []
    panel.evaluate_requested.connect(lambda: got.append(1))
    panel._request()
    assert got == []
    panel.set_blocked(None)
    assert panel.status.text() == ""


def test_classification_tables(panel):
    panel.show_classification(METRICS, "test split (5 samples)")
    assert panel.pages.currentWidget() is panel.class_page
    t = panel.per_class
    assert t.rowCount() == 4
    assert [t.item(r, 0).text() for r in range(4)] == ["a", "b", "c", "macro average"]
    assert t.item(0, 2).text() == "0.500" and t.item(0, 2).data(Qt.UserRole) == pytest.approx(0.5)
    assert t.item(3, 4).text() == "5" and t.item(3, 3).text() == f"{11 / 18:.3f}"
    assert panel.confusion.matrix.tolist() == METRICS["confusion"]
    assert panel.confusion.table.item(0, 2).text() == "1"
    assert "rows: true class" in panel.confusion.label.text()
    s = panel.summary.text()
    assert "60.0%" in s and "0.8123" in s and "test split" in s
    assert not panel.gallery_box.isVisibleTo(panel)
    panel.mark_stale()
    assert "evaluate again" in panel.status.text()
    panel.clear()
    assert panel.metrics is None and panel.pages.currentIndex() == 0 and panel.per_class.rowCount() == 0


def test_gallery(panel):
    panel.show_classification(METRICS, "test split")
    img = np.zeros((8, 8, 1), dtype=np.uint8)
    img[2:6, 3] = 255
    items = [{"image": img, "true": "1", "predicted": "7", "confidence": 0.93},
             {"image": np.full((4, 6, 3), 128, np.uint8), "true": "2", "predicted": "3", "confidence": 0.5}]
    panel.show_misclassified(items, total_wrong=9)
    assert panel.gallery.count() == 2 and panel.gallery_box.isVisibleTo(panel)
    assert panel.gallery.item(0).text() == "1 → 7\n93%"
    assert "93.0%" in panel.gallery.item(0).toolTip()
    assert not panel.gallery.item(1).icon().isNull()
    assert "2 of 9" in panel.gallery_label.text()
    panel.show_misclassified([], total_wrong=0)
    assert panel.gallery.count() == 0 and "No mistakes" in panel.gallery_label.text()


def test_regression_scatter(panel):
    metrics = {"task": "regression", "n": 4, "loss": 0.25, "mae": 0.5, "rmse": 0.5, "r2": 0.875}
    pred = np.array([[1.5], [2.5], [np.nan], [3.5]])
    true = np.array([[1.0], [3.0], [2.0], [4.0]])
    panel.show_regression(metrics, pred, true, "validation split (4 samples)")
    assert panel.pages.currentWidget() is panel.reg_page
    xs, ys = panel.scatter.getData()
    assert list(xs) == [1.0, 3.0, 4.0] and list(ys) == [1.5, 2.5, 3.5]  # the NaN pair is left out
    dx, dy = panel.diagonal.getData()
    assert list(dx) == [1.0, 4.0] and list(dy) == [1.0, 4.0]
    s = panel.summary.text()
    assert "MAE" in s and "0.875" in s and "validation split" in s


def test_error_text_is_escaped(panel):
    panel.show_error("Evaluation failed: <bad> & worse")
    assert "&lt;bad&gt;" in panel.status.text()
