"""DataPanel: form -> DataSpec, previews, errors (the app does the file work)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.data import DataError, DataSpec, preview_csv
from widgets.data_panel import DataPanel, array_to_pixmap


def test_sample_spec_and_load_signal(qtbot):
    p = DataPanel()
    qtbot.addWidget(p)
    p.sample.setCurrentIndex(p.sample.findData("moons"))
    p.noise.setValue(0.3)
    p.val_split.setValue(0.25)
    with qtbot.waitSignal(p.spec_chosen, timeout=1000) as blocker:
        p.load_btn.click()
    spec = blocker.args[0]
    assert isinstance(spec, DataSpec)
    assert (spec.kind, spec.path, spec.noise, spec.val_split) == ("sample", "moons", 0.3, 0.25)


def test_csv_preview_fills_columns_and_features(qtbot, tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("a,b,c,label\n1,2,x,yes\n3,4,y,no\n5,6,x,yes\n")
    p = DataPanel()
    qtbot.addWidget(p)
    p.kind.setCurrentIndex(p.kind.findData("csv"))
    requested = []
    p.preview_requested.connect(requested.append)
    p.path.setText(str(f))
    p._request_preview()
    assert requested and requested[-1].kind == "csv"
    p.show_csv_preview(preview_csv(str(f)))
    assert p.table.columnCount() == 4 and p.table.rowCount() == 3
    assert "(number)" in p.table.horizontalHeaderItem(0).text()
    assert p.target.currentText() == "label"
    spec = p.spec()
    assert spec.target == "label" and spec.features is None  # all other columns
    p.features.item(2).setCheckState(Qt.Unchecked)
    assert p.spec().features == ["a", "b"]
    p.target.setCurrentText("a")
    assert "a" not in (p.spec().features or [])


def test_errors_are_one_line(qtbot):
    p = DataPanel()
    qtbot.addWidget(p)
    p.kind.setCurrentIndex(p.kind.findData("csv"))
    p.path.setText("")
    with pytest.raises(DataError):
        p.spec()
    p.load_btn.click()
    assert "choose a file" in p.message.text()
    p.show_error("bad row 3\nTraceback...")
    assert p.message.text() == "bad row 3"


def test_image_preview_and_loaded_summary(qtbot):
    p = DataPanel()
    qtbot.addWidget(p)
    thumbs = {"cat": [np.zeros((8, 8, 3), np.uint8)], "dog": [np.full((8, 8, 1), 200, np.uint8)] * 2}
    p.show_image_preview({"classes": ["cat", "dog"], "counts": {"cat": 1, "dog": 2}, "n_images": 3,
                          "proposed_size": [8, 8], "skipped": []}, thumbs)
    assert p.thumb_grid.count() == 5 and "3 images" in p.message.text()
    p.set_loaded({"counts": {"train": 8, "val": 2, "test": 0}, "total": 10, "input_shape": [2],
                  "task": "classification", "n_outputs": 2})
    assert "10 samples" in p.summary.text()
    assert not array_to_pixmap(np.zeros((4, 5), np.uint8)).isNull()


def test_set_spec_round_trip(qtbot):
    p = DataPanel()
    qtbot.addWidget(p)
    p.set_spec({"kind": "sample", "path": "circles", "val_split": 0.3, "n_samples": 200, "seed": 5})
    s = p.spec()
    assert (s.path, s.val_split, s.n_samples, s.seed) == ("circles", 0.3, 200, 5)
