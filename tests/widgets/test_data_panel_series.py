"""DataPanel's Time series group: form -> DataSpec, time column, window counts per split."""
from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt

from engine.data import load_dataset, preview_csv
from engine.data.timeseries import preview_series
from widgets.data_panel import DataPanel


def series_csv(tmp_path, n=100):
    f = tmp_path / "s.csv"
    t = [str(v) for v in pd.date_range("2024-01-01", periods=n, freq="D")]
    pd.DataFrame({"date": t, "temp": np.arange(n) * 0.5, "sales": np.arange(n) * 2.0}).to_csv(f, index=False)
    return str(f)


def csv_panel(qtbot, path):
    p = DataPanel()
    qtbot.addWidget(p)
    p.kind.setCurrentIndex(p.kind.findData("csv"))
    p.path.setText(path)
    p.show_csv_preview(preview_csv(path))
    return p


def test_group_off_by_default_and_hidden_for_images(qtbot, tmp_path):
    p = csv_panel(qtbot, series_csv(tmp_path))
    assert not p.series_box.isChecked() and not p.spec().time_series
    assert p.form.isRowVisible(p.series_box)
    p.kind.setCurrentIndex(p.kind.findData("images"))
    assert not p.form.isRowVisible(p.series_box)


def test_time_series_spec_from_the_form(qtbot, tmp_path):
    path = series_csv(tmp_path)
    p = csv_panel(qtbot, path)
    requested = []
    p.preview_requested.connect(requested.append)
    p.series_box.setChecked(True)
    assert requested and requested[-1].time_series   # the preview is asked again, now as a series
    assert p.time_column.currentData() == "date"     # proposed by its name
    p.window.setValue(7)
    p.horizon.setValue(2)
    p.stride.setValue(3)
    s = p.spec()
    assert (s.time_series, s.time_column, s.window, s.horizon, s.stride) == (True, "date", 7, 2, 3)
    assert s.target == "sales" and s.features is None   # every numeric column, the target's past too
    items = {p.features.item(i).text(): p.features.item(i) for i in range(p.features.count())}
    assert items["sales"].checkState() == Qt.Checked and items["sales"].flags() & Qt.ItemIsEnabled
    assert not items["date"].flags() & Qt.ItemIsEnabled
    items["temp"].setCheckState(Qt.Unchecked)
    assert p.spec().features == ["sales"]
    p.series_box.setChecked(False)                      # a table again: the target is no feature
    assert items["date"].flags() & Qt.ItemIsEnabled and not items["sales"].flags() & Qt.ItemIsEnabled
    assert not p.spec().time_series and p.spec().features == ["date"]
    p.series_box.setChecked(True)
    items["temp"].setCheckState(Qt.Unchecked)
    assert p.spec().features == ["sales"]
    # round trip through the project's data description
    q = DataPanel()
    qtbot.addWidget(q)
    q.set_spec(s.to_dict())
    q.show_csv_preview(preview_csv(path))
    assert q.series_box.isChecked() and q.time_column.currentData() == "date"
    assert (q.window.value(), q.horizon.value(), q.stride.value()) == (7, 2, 3)
    assert q.spec() == s


def test_window_counts_follow_the_settings_and_match_loading(qtbot, tmp_path):
    path = series_csv(tmp_path)
    p = csv_panel(qtbot, path)
    p.series_box.setChecked(True)
    p.window.setValue(8)
    p.val_split.setValue(0.2)
    p.test_split.setValue(0.1)
    p.show_series_preview(preview_series(p.spec()))
    ds = load_dataset(p.spec())
    want = {s: ds.n(s) for s in ("train", "val", "test")}
    assert p.window_counts() == want
    assert p.windows_info.text() == f"100 rows → windows: {want['train']} train, {want['val']} validation, {want['test']} test"
    p.window.setValue(9)  # counted again without reading the file
    assert p.window_counts()["test"] == 1 and "too short" not in p.windows_info.text()
    p.window.setValue(10)
    assert p.window_counts()["test"] == 0 and "too short for one window" in p.windows_info.text()


def test_preview_error_is_shown(qtbot, tmp_path):
    path = series_csv(tmp_path)
    df = pd.read_csv(path)
    df.loc[[3, 4]] = df.loc[[4, 3]].to_numpy()
    df.to_csv(path, index=False)
    p = csv_panel(qtbot, path)
    p.series_box.setChecked(True)
    p.show_series_preview(preview_series(p.spec()))
    assert "line 6, column 'date'" in p.windows_info.text() and "not in time order" in p.windows_info.text()
    assert p.window_counts() is None


def test_series_sample_is_always_a_series(qtbot):
    p = DataPanel()
    qtbot.addWidget(p)
    requested = []
    p.preview_requested.connect(requested.append)
    p.sample.setCurrentIndex(p.sample.findData("seasonal"))
    assert p.form.isRowVisible(p.series_box) and not p.series_box.isCheckable()
    assert requested and requested[-1].time_series and requested[-1].path == "seasonal"
    p.show_series_preview(preview_series(requested[-1]))
    assert p.window_counts() == {"train": int(0.8 * 1440) - 24, "val": 288 - 24, "test": 0}
    s = p.spec()
    assert s.time_series and s.kind == "sample" and s.time_column is None and s.window == 24
    p.sample.setCurrentIndex(p.sample.findData("iris"))
    assert not p.form.isRowVisible(p.series_box) and not p.spec().time_series
