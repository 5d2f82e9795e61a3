"""PredictPanel and ProbabilityBars on their own: inputs from a preprocessing dict, intents, drops."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QComboBox, QLineEdit

from widgets.predict_panel import MISSING, PredictPanel, ProbabilityBars, array_to_qimage, image_path_of

TABULAR = {
    "version": 1, "kind": "tabular", "task": "classification", "class_names": ["no", "yes"],
    "columns": [
        {"name": "age", "type": "numeric", "fill": 41.5, "shift": 41.5, "scale": 12.0},
        {"name": "city", "type": "categorical", "categories": ["Lyon", "Paris"]},
    ],
    "input_shape": [3], "decimal": ".",
}
IMAGES = {"version": 1, "kind": "images", "task": "classification", "class_names": ["a", "b"],
          "image_size": [8, 8], "mode": "L", "input_shape": [8, 8, 1], "value_max": 255.0, "scaling": "none"}


@pytest.fixture
def panel(qtbot):
    p = PredictPanel()
    qtbot.addWidget(p)
    return p


def test_form_from_tabular_preprocessing(qtbot, panel):
    panel.set_preprocessing(TABULAR)
    panel.set_blocked(None)
    assert panel.kind == "tabular" and panel.pages.currentIndex() == 1
    age, city = panel.inputs["age"], panel.inputs["city"]
    assert isinstance(age, QLineEdit) and age.text() == "41.5" and "training mean" in age.placeholderText()
    assert isinstance(city, QComboBox)
    assert [city.itemText(i) for i in range(city.count())] == ["Lyon", "Paris", MISSING]
    assert panel.values() == {"age": "41.5", "city": "Lyon"}
    panel.set_values({"age": 30.25, "city": "Paris"})
    assert panel.values() == {"age": "30.25", "city": "Paris"}
    panel.set_values({"city": "Berlin"})   # unknown: counts as missing
    assert panel.values()["city"] == ""
    with qtbot.waitSignal(panel.predict_requested, timeout=1000) as blocker:
        panel.predict_btn.click()
    assert blocker.args[0] == {"age": "30.25", "city": ""}
    with qtbot.waitSignal(panel.predict_requested, timeout=1000):
        age.returnPressed.emit()
    panel.reset_values()
    assert panel.values() == {"age": "41.5", "city": "Lyon"}
    assert panel.file_btn.text() == "Predict a CSV file…"


def test_blocked_panel_disables_everything_and_says_why(qtbot, panel):
    panel.set_preprocessing(TABULAR)
    panel.set_blocked("the model has no trained weights yet")
    assert not panel.predict_btn.isEnabled() and not panel.file_btn.isEnabled()
    assert "no trained weights" in panel.info.text()
    assert "no trained weights" in panel.predict_btn.toolTip()
    got = []
    panel.predict_requested.connect(got.append)
    panel._emit_predict()
    assert got == []
    panel.set_blocked(None)
    assert panel.predict_btn.isEnabled() and "Not available" not in panel.predict_btn.toolTip()
    panel.set_busy(True)
    assert not panel.predict_btn.isEnabled()
    panel.set_busy(False)
    assert panel.predict_btn.isEnabled()


def test_no_preprocessing_shows_the_empty_page(panel):
    panel.set_preprocessing(None)
    assert panel.kind is None and panel.pages.currentIndex() == 0 and panel.inputs == {}


def test_probability_bars_sorted_and_bold_first(qtbot):
    bars = ProbabilityBars(top=3)
    qtbot.addWidget(bars)
    bars.set_probabilities(["a", "b", "c", "d"], [0.1, 0.6, 0.05, 0.25])
    assert [r[0].text() for r in bars.rows] == ["b", "d", "a"]   # top 3, most likely first
    assert bars.rows[0][0].font().bold() and not bars.rows[1][0].font().bold()
    assert bars.rows[0][1].value() == 600 and bars.rows[0][2].text() == "60.0%"
    assert bars.probabilities == pytest.approx({"a": 0.1, "b": 0.6, "c": 0.05, "d": 0.25})
    bars.set_probabilities(["x", "y"], [0.5, 0.5])
    assert len(bars.rows) == 2


def test_show_results(panel):
    panel.set_preprocessing(TABULAR)
    panel.show_probabilities(["no", "yes"], np.array([0.2, 0.8]))
    assert panel.value.text() == "yes  (80.0%)" and len(panel.bars.rows) == 2
    panel.show_value(np.array([3.14159]))
    assert panel.value.text() == "3.14159" and panel.bars.rows == []
    panel.show_value([1.0, 2.5])
    assert panel.value.text() == "1, 2.5"
    panel.show_error("row 1, column 'age': 'x' is not a number")
    assert "&#39;" not in panel.message.text() and "not a number" in panel.message.text()


def test_images_page_and_drop(qtbot, panel, tmp_path):
    panel.set_preprocessing(IMAGES)
    panel.set_blocked(None)
    assert panel.pages.currentIndex() == 2 and panel.file_btn.text().startswith("Predict a folder")
    assert panel.acceptDrops()
    png = tmp_path / "pic.png"
    png.write_bytes(b"not really a png: the panel only looks at the name")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt")), QUrl.fromLocalFile(str(png))])
    assert image_path_of(mime) == str(png)
    ev = QDropEvent(QPointF(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(panel.image_chosen, timeout=1000) as blocker:
        panel.dropEvent(ev)
    assert blocker.args == [str(png)]
    # a text file alone is refused; a blocked panel refuses drops
    only_text = QMimeData()
    only_text.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    assert image_path_of(only_text) is None
    panel.set_blocked("train first")
    assert not panel.acceptDrops()
    got = []
    panel.image_chosen.connect(got.append)
    panel.dropEvent(QDropEvent(QPointF(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    assert got == []
    with qtbot.waitSignal(panel.open_image_requested, timeout=1000, raising=False) as blocker:
        panel.open_btn.click()
    assert not blocker.signal_triggered   # disabled button


def test_show_image_and_array_to_qimage(panel):
    panel.set_preprocessing(IMAGES)
    gray = (np.arange(64, dtype=np.uint8) * 4).reshape(8, 8, 1)
    rgb = np.zeros((5, 7, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    q = array_to_qimage(gray)
    assert (q.width(), q.height()) == (8, 8) and q.pixelColor(3, 2).red() == gray[2, 3, 0]
    q = array_to_qimage(rgb)
    assert (q.width(), q.height()) == (7, 5) and q.pixelColor(6, 4).red() == 255 and q.pixelColor(6, 4).blue() == 0
    panel.show_image(rgb, gray, "pic.png")
    assert not panel.preview.pixmap().isNull() and panel.preview.pixmap().width() == 160
    assert panel.model_view.pixmap().width() == 96 and panel.image_name.text() == "pic.png"
