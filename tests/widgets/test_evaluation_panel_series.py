"""EvaluationPanel's plot over time for time-series forecasts (the plotted data, not pixels)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from widgets.evaluation_panel import MAX_SERIES, EvaluationPanel

METRICS = {"mae": 1.0, "rmse": 1.5, "r2": 0.5, "loss": 2.25}


def series(kind="datetime"):
    x0 = 1_704_067_200.0 + 3600.0 * np.arange(5)          # 2024-01-01 00:00 UTC, hourly
    return {"names": ["demand+1", "demand+2"], "x_kind": kind, "time_column": "time",
            "x": [x0.tolist(), (x0 + 3600).tolist()],
            "true": [[1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 3.0, 4.0, 5.0, 6.0]],
            "pred": [[1.5, 2.5, 2.5, 4.5, 5.5], [2.5, 2.0, 4.5, 5.5, 6.5]]}


def test_predicted_and_actual_over_time(qtbot):
    p = EvaluationPanel()
    qtbot.addWidget(p)
    s = series()
    p.show_regression(METRICS, np.array(s["pred"][0]), np.array(s["true"][0]), "test split (5 samples)")
    p.show_series(s)
    assert p.pages.currentWidget() is p.series_page
    assert "MAE" in p.summary.text()
    x, t, pr = p.series_data()
    np.testing.assert_array_equal(x, s["x"][0])
    np.testing.assert_array_equal(t, s["true"][0])
    np.testing.assert_array_equal(pr, s["pred"][0])
    assert isinstance(p.series_plot.getAxis("bottom"), pg.DateAxisItem)
    assert [p.series_output.itemText(i) for i in range(p.series_output.count())] == ["demand+1", "demand+2"]
    p.series_output.setCurrentIndex(1)                     # two steps ahead
    x, t, pr = p.series_data()
    np.testing.assert_array_equal(x, s["x"][1])
    np.testing.assert_array_equal(pr, s["pred"][1])
    # row order: a plain axis over row numbers; one forecast: no chooser
    p.show_series({"names": ["y+1"], "x_kind": "row", "x": [[25, 26, 27]], "true": [[1, 2, 3]],
                   "pred": [[1, 2, float("nan")]]})
    assert not isinstance(p.series_plot.getAxis("bottom"), pg.DateAxisItem)
    assert p.series_output.isHidden()
    x, t, pr = p.series_data()
    np.testing.assert_array_equal(x, [25, 26])              # a non-finite value is left out
    p.clear()
    assert p.pages.currentIndex() == 0 and len(p.series_data()[0]) == 0


def test_long_series_keeps_the_most_recent_points(qtbot):
    p = EvaluationPanel()
    qtbot.addWidget(p)
    n = MAX_SERIES + 10
    p.show_series({"names": ["y+1"], "x_kind": "number", "x": [list(range(n))], "true": [[0.0] * n],
                   "pred": [[1.0] * n]})
    x, _t, _p = p.series_data()
    assert len(x) == MAX_SERIES and x[0] == 10 and x[-1] == n - 1
