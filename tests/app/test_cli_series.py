"""Time series from the command line, as a user runs it: template, train, evaluate, predict from raw rows."""
from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from engine.data import DataSpec, load_dataset
from engine.data.timeseries import unscale
from engine.evaluate import _predict
from engine.io import load_project
from engine.jobs import trained_model
from tests.app.test_cli import run


def test_train_evaluate_and_predict_a_csv_series(tmp_path):
    n = 400
    t = np.arange(n)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"date": [str(d.date()) for d in pd.date_range("2020-01-01", periods=n, freq="D")],
                       "temp": np.sin(2 * np.pi * t / 7) + 0.1 * rng.normal(size=n),
                       "sales": 100 + 10 * np.sin(2 * np.pi * (t + 1) / 7) + rng.normal(size=n)})
    data = tmp_path / "sales.csv"
    df.to_csv(data, index=False)
    flags = ["--data", data, "--time-column", "date", "--target", "sales", "--window", "14", "--horizon", "2"]
    graph = tmp_path / "g.json"
    r = run("template", "forecast", *flags, "--out", graph)
    assert r.returncode == 0, r.stderr
    nodes = json.loads(graph.read_text())["nodes"]
    assert nodes[0]["config"]["shape"] == [14, 2] and nodes[-1]["config"]["units"] == 2
    out = tmp_path / "m.nnsp"
    r = run("train", graph, *flags, "--test-split", "0.15", "--epochs", "2", "--batch-size", "32", "--out", out)
    assert r.returncode == 0, r.stderr
    project = load_project(out)
    assert project.data_spec["time_series"] and project.data_spec["window"] == 14
    assert project.preprocessing["kind"] == "timeseries" and project.preprocessing["output_names"] == ["sales+1",
                                                                                                         "sales+2"]
    r = run("evaluate", out)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    ds = load_dataset(DataSpec.from_dict(project.data_spec))
    model = trained_model(project.graph, project.weights)
    pred = unscale(project.preprocessing, _predict(model, ds.x_test))
    true = unscale(project.preprocessing, ds.y_test)
    assert res["split"] == "test" and res["n"] == ds.n("test")
    assert res["mae"] == pytest.approx(float(np.mean(np.abs(pred - true))), rel=1e-5)   # in the target's units
    # predict from the 20 most recent raw rows: 7 windows, the last one forecasts the 2 days after the file
    recent = tmp_path / "recent.csv"
    df.iloc[-20:].to_csv(recent, index=False)
    pred_csv = tmp_path / "forecast.csv"
    r = run("predict", out, "--data", recent, "--out", pred_csv)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["predictions"] == 7
    rows = list(csv.DictReader(open(pred_csv, encoding="utf-8")))
    assert list(rows[0]) == ["date", "prediction_sales+1", "prediction_sales+2"]
    assert rows[-1]["date"] == df["date"].iloc[-1]
    # the test windows of the data set that end in these rows get the same numbers
    ends = ds.split_indices["test"] + 14 - 1
    by_date = {r["date"]: [float(r["prediction_sales+1"]), float(r["prediction_sales+2"])] for r in rows}
    hits = [(i, by_date[df["date"].iloc[e]]) for i, e in enumerate(ends) if df["date"].iloc[e] in by_date]
    assert hits
    for i, got in hits:
        np.testing.assert_allclose(got, pred[i], rtol=1e-5)


def test_bad_series_input_is_one_line(tmp_path):
    df = pd.DataFrame({"date": ["2020-01-02", "2020-01-01", "2020-01-03"] * 10, "y": np.arange(30.0)})
    data = tmp_path / "bad.csv"
    df.to_csv(data, index=False)
    graph = tmp_path / "g.json"
    assert run("template", "forecast", "--out", graph).returncode == 0
    r = run("train", graph, "--data", data, "--time-column", "date", "--window", "3", "--out", tmp_path / "m.nnsp")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        "error: bad.csv, line 3, column 'date': '2020-01-01' comes before '2020-01-02' of the row above; the rows are "
        "not in time order (sort the file by 'date' first)")
    r = run("train", graph, "--data", data, "--window", "0", "--out", tmp_path / "m.nnsp")
    assert r.returncode == 1 and "window must be a whole number from 1 to 100000, got 0" in r.stderr
