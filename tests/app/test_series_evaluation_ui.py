"""Evaluate a time-series project in the main window: metrics in the target's units, the plot over time."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data import DataSpec
from engine.jobs import evaluate
from engine.trainer import TrainConfig
from tests.app.test_evaluation_ui import TIMEOUT, make_window, train_headless  # noqa: F401 - fixture


@pytest.fixture(scope="module")
def series_project():
    spec = DataSpec(kind="sample", path="seasonal", time_series=True, window=12, test_split=0.1)
    return train_headless(spec, [("Flatten.v1", {}), ("Dense.v1", {"units": 1})],
                          TrainConfig(epochs=3, batch_size=64, lr=0.01), "seasonal")


def test_evaluate_plots_predicted_vs_actual_over_time(qtbot, make_window, series_project):  # noqa: F811
    w, ui = make_window(series_project)
    ep = ui.evaluation_panel
    with qtbot.waitSignal(ui.evaluated, timeout=TIMEOUT) as blocker:
        ep.evaluate_btn.click()
    res = blocker.args[0]
    p = series_project
    want = evaluate(p.graph, p.weights, p.data_spec, preprocessing=p.preprocessing, details=True)
    assert res["split"] == "test" and res["metrics"]["mae"] == pytest.approx(want["metrics"]["mae"])
    assert ep.pages.currentWidget() is ep.series_page
    x, actual, predicted = ep.series_data()
    np.testing.assert_allclose(x, want["series"]["x"][0])
    np.testing.assert_allclose(actual, want["series"]["true"][0])
    np.testing.assert_allclose(predicted, want["series"]["pred"][0])
    assert 40 < actual.mean() < 100        # the demand in its own units, not standardised
    # saved with the project: shown again as a plot over time
    saved = w.document.metadata["evaluation"]
    assert saved["series"]["names"] == ["demand+1"] and len(saved["series"]["x"][0]) == len(x)
    ep.clear()
    assert ui.show_saved_evaluation()
    assert ep.pages.currentWidget() is ep.series_page
    np.testing.assert_allclose(ep.series_data()[2], predicted)
