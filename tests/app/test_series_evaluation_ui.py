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


def test_predict_from_recent_rows_in_the_app(qtbot, make_window, series_project, tmp_path):  # noqa: F811
    import csv

    from engine.data.samples import samples_dir
    from engine.evaluate import predict_file
    from engine.jobs import trained_model

    w, ui = make_window(series_project)
    pp = ui.predict_panel
    assert pp.pages.currentWidget() is pp.series_page and "windows of 12 rows" in pp.series_page.text()
    assert pp.file_btn.isEnabled()
    lines = (samples_dir() / "seasonal.csv").read_text(encoding="utf-8").splitlines()
    src = tmp_path / "recent.csv"
    src.write_text("\n".join([lines[0], *lines[-20:]]) + "\n", encoding="utf-8")
    ui.ask_predict_input = lambda: str(src)
    ui.ask_predict_output = lambda s: str(tmp_path / "out.csv")
    with qtbot.waitSignal(ui.file_predicted, timeout=TIMEOUT) as blocker:
        pp.file_btn.click()
    out, n = blocker.args
    assert n == 20 - 12 + 1
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["time", "prediction_demand+1"] and rows[-1]["time"] == lines[-1].split(",")[0]
    # the same file through the command line's function gives the same numbers
    p = series_project
    predict_file(trained_model(p.graph, p.weights), p, str(src), tmp_path / "cli.csv")
    assert (tmp_path / "cli.csv").read_text(encoding="utf-8") == open(out, encoding="utf-8").read()
