"""Time series (engine/data/timeseries.py): windows, chronological split, scaling, predict, errors."""
from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data import DataError, DataSpec, load_dataset
from engine.data.samples import samples_dir
from engine.data.timeseries import build_series, part_rows, unscale, window_counts
from engine.evaluate import _predict, predict_file
from engine.io import Project
from engine.model import compile_graph
from engine.spec import sequential


def frame(n: int, start: str | None = "2024-01-01", freq: str = "h") -> pd.DataFrame:
    """a = 0, 1, 2, ...; b = 10 a; time column hourly from ``start``."""
    a = np.arange(n, dtype=np.float64)
    d = {"a": a, "b": 10 * a}
    if start is not None:
        d = {"time": [str(t) for t in pd.date_range(start, periods=n, freq=freq)], **d}
    return pd.DataFrame(d)


def spec(**kw) -> DataSpec:
    base = {"kind": "csv", "path": "series.csv", "time_series": True, "scaling": "none", "val_split": 0.0,
            "test_split": 0.0, "window": 3, "horizon": 1, "stride": 1}
    return DataSpec(**{**base, **kw}).validate()


def write_csv(path, df: pd.DataFrame) -> str:
    df.to_csv(path, index=False)
    return str(path)


# ------------------------------------------------------------------ window contents
def test_window_contents_exact():
    ds = build_series(frame(12), spec(time_column="time", target="b", window=3, horizon=2, stride=2))
    # inputs: every numeric column but the time column (the target too: its past is an input)
    assert ds.feature_names == ["a", "b"]
    assert ds.x_train.shape == (4, 3, 2) and ds.y_train.shape == (4, 2)
    assert ds.input_shape == (3, 2) and ds.n_outputs == 2
    np.testing.assert_array_equal(ds.x_train[0], [[0, 0], [1, 10], [2, 20]])
    np.testing.assert_array_equal(ds.y_train[0], [30, 40])
    np.testing.assert_array_equal(ds.x_train[1], [[2, 20], [3, 30], [4, 40]])
    np.testing.assert_array_equal(ds.y_train[3], [90, 100])        # window 6..8 -> rows 9, 10
    np.testing.assert_array_equal(ds.split_indices["train"], [0, 2, 4, 6])
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.float32


def test_several_targets_are_ordered_step_by_step():
    ds = build_series(frame(8, start=None), spec(target="a,b", window=2, horizon=2))
    np.testing.assert_array_equal(ds.y_train[0], [2, 20, 3, 30])   # (a, b) at t+1, then at t+2
    assert ds.preprocessing["output_names"] == ["a+1", "b+1", "a+2", "b+2"]
    assert ds.preprocessing["target"] == ["a", "b"]


def test_row_order_without_time_column_and_explicit_features():
    ds = build_series(frame(6, start=None), spec(target="b", features=["a"], window=2))
    assert ds.feature_names == ["a"]
    np.testing.assert_array_equal(ds.x_train[:, :, 0], [[0, 1], [1, 2], [2, 3], [3, 4]])
    np.testing.assert_array_equal(ds.y_train[:, 0], [20, 30, 40, 50])
    assert ds.preprocessing["time_column"] is None


# ------------------------------------------------------------------ chronological split
@pytest.mark.parametrize("stride", [1, 3])
def test_split_is_chronological_without_leakage(stride):
    w, h = 5, 3
    ds = build_series(frame(100), spec(time_column="time", target="b", window=w, horizon=h, stride=stride,
                                       val_split=0.2, test_split=0.1))
    parts = part_rows(100, 0.2, 0.1)
    assert parts == {"train": (0, 70), "val": (70, 90), "test": (90, 100)}
    order = ["train", "val", "test"]
    for s in order:
        starts = ds.split_indices[s]
        a, b = parts[s]
        assert len(starts) == ds.n(s) > 0
        assert starts.min() >= a and starts.max() + w + h - 1 < b     # inputs and targets inside the part
        # each window holds exactly its rows (a = row number) and its targets follow it
        np.testing.assert_array_equal(ds.x(s)[:, :, 0], starts[:, None] + np.arange(w))
        np.testing.assert_array_equal(ds.y(s)[:, 0], 10 * (starts + w))
    for earlier, later in zip(order, order[1:]):
        last_target_row = ds.split_indices[earlier][-1] + w + h - 1
        first_input_row = ds.split_indices[later][0]
        assert last_target_row < first_input_row
    assert window_counts(100, w, h, stride, 0.2, 0.1) == {s: ds.n(s) for s in order}


def test_scaler_is_fitted_on_the_training_part_only():
    df = frame(50)
    s = spec(time_column="time", target="b", window=4, val_split=0.2, test_split=0.2, scaling="standard")
    ds = build_series(df, s)
    cols = {c["name"]: c for c in ds.preprocessing["columns"]}
    train = df["a"].to_numpy()[:30]
    assert cols["a"]["shift"] == pytest.approx(train.mean())
    assert cols["a"]["scale"] == pytest.approx(train.std())
    tb = ds.preprocessing["targets"][0]
    assert tb["shift"] == pytest.approx(10 * train.mean()) and tb["scale"] == pytest.approx(10 * train.std())
    # whatever happens after the training part does not change the fit
    df2 = df.copy()
    df2.loc[30:, ["a", "b"]] = df2.loc[30:, ["a", "b"]] * 1000 + 7
    ds2 = build_series(df2, s)
    assert ds2.preprocessing["columns"] == ds.preprocessing["columns"]
    assert ds2.preprocessing["targets"] == ds.preprocessing["targets"]
    np.testing.assert_array_equal(ds2.x_train, ds.x_train)
    np.testing.assert_allclose(ds.x_train[0, :, 0], (np.arange(4) - train.mean()) / train.std(), rtol=1e-6)
    np.testing.assert_allclose(unscale(ds.preprocessing, ds.y_val), 10 * (ds.split_indices["val"] + 4)[:, None],
                               rtol=1e-6)


def test_minmax_and_missing_inputs_filled_with_training_mean():
    df = frame(20)
    df.loc[3, "a"] = np.nan
    ds = build_series(df, spec(time_column="time", target="b", scaling="minmax", val_split=0.25))
    col = {c["name"]: c for c in ds.preprocessing["columns"]}["a"]
    train = np.delete(np.arange(15.0), 3)
    assert col["fill"] == pytest.approx(train.mean())
    assert col["shift"] == 0.0 and col["scale"] == 14.0
    assert any("missing values filled" in r["reason"] for r in ds.report)


# ------------------------------------------------------------------ preprocessing, predict, evaluate
def linear_model(w: int, f: int, k: int):
    m = compile_graph(sequential([("Input.v1", {"shape": [w, f]}), ("Flatten.v1", {}), ("Dense.v1", {"units": k})]))
    rng = np.random.default_rng(3)
    state = m.state_dict()
    m.load_state_dict({n: rng.normal(0, 0.3, v.shape).astype(np.float32) for n, v in state.items()})
    return m


def test_preprocessing_is_json_and_predict_from_raw_rows_matches_the_dataset(tmp_path):
    df = frame(60)
    path = write_csv(tmp_path / "series.csv", df)
    s = DataSpec.parse_cli(path, time_series=True, time_column="time", target="b", window=6, horizon=2,
                           val_split=0.2)
    ds = load_dataset(s)
    prep = json.loads(json.dumps(ds.preprocessing))
    assert prep["kind"] == "timeseries" and prep["window"] == 6 and prep["horizon"] == 2
    assert prep["csv"]["delimiter"] == ","
    model = linear_model(6, 2, 2)
    proj = Project(graph=model.spec, preprocessing=prep)
    # the most recent rows only (at least one window): the last line is the forecast after the file
    recent = write_csv(tmp_path / "recent.csv", df.iloc[40:].drop(columns=["b"]).assign(b=df["b"].iloc[40:]))
    out = tmp_path / "pred.csv"
    n = predict_file(model, proj, recent, out)
    assert n == 20 - 6 + 1
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert list(rows[0]) == ["time", "prediction_b+1", "prediction_b+2"]
    assert rows[-1]["time"] == df["time"].iloc[-1]
    # the validation windows of the data set: same numbers, by the time of their last input row
    want = unscale(prep, _predict(model, ds.x_val))
    by_time = {r["time"]: [float(r["prediction_b+1"]), float(r["prediction_b+2"])] for r in rows}
    ends = ds.split_indices["val"] + 6 - 1
    got = np.array([by_time[df["time"].iloc[e]] for e in ends])
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # too few rows for one window
    short = write_csv(tmp_path / "short.csv", df.iloc[:5])
    with pytest.raises(Exception, match="5 rows, but the model reads windows of 6 rows"):
        predict_file(model, proj, short, tmp_path / "p2.csv")


def test_saved_preprocessing_applies_exactly_to_new_data(tmp_path):
    df = frame(60)
    s = spec(time_column="time", target="b", window=5, val_split=0.2, scaling="standard")
    ds = build_series(df, s)
    new = frame(30, start="2025-03-01")
    new[["a", "b"]] += 100.0
    again = build_series(new, DataSpec.from_dict({**s.to_dict(), "val_split": 0.0}), fixed=ds.preprocessing)
    assert again.preprocessing == ds.preprocessing
    col = ds.preprocessing["columns"][0]
    np.testing.assert_allclose(again.x_train[0, :, 0], (new["a"].to_numpy()[:5] - col["shift"]) / col["scale"],
                               rtol=1e-6)
    with pytest.raises(DataError, match="column 'a' not found"):
        build_series(new.drop(columns=["a"]), s, fixed=ds.preprocessing)


def test_evaluate_job_reports_target_units_and_a_plot_over_time():
    from engine.jobs import evaluate

    ds = load_dataset(DataSpec(kind="sample", path="seasonal", window=8, test_split=0.1))
    model = linear_model(8, 2, 1)
    res = evaluate(model.spec, model.state_dict(), ds.spec, preprocessing=ds.preprocessing, details=True)
    assert res["split"] == "test" and res["n"] == ds.n("test")
    pred = unscale(ds.preprocessing, _predict(model, ds.x_test))[:, 0]
    true = unscale(ds.preprocessing, ds.y_test)[:, 0]
    assert res["metrics"]["mae"] == pytest.approx(np.mean(np.abs(pred - true)), rel=1e-5)
    plot = res["series"]
    assert plot["names"] == ["demand+1"] and plot["time_column"] == "time"
    np.testing.assert_allclose(plot["pred"][0], pred, rtol=1e-5)
    np.testing.assert_allclose(plot["true"][0], true, rtol=1e-5)
    assert plot["rows"][0] == (ds.split_indices["test"] + 8).tolist()
    raw = pd.read_csv(samples_dir() / "seasonal.csv")
    np.testing.assert_allclose(plot["true"][0], raw["demand"].to_numpy()[plot["rows"][0]], rtol=1e-5)
    assert plot["x_kind"] == "datetime"
    first = pd.Timestamp(raw["time"].iloc[plot["rows"][0][0]], tz="UTC")
    assert plot["x"][0][0] == first.timestamp() and np.all(np.diff(plot["x"][0]) == 3600.0)


def test_text_target_is_classification_of_the_next_step():
    df = frame(30, start=None)
    df["state"] = np.where(np.arange(30) % 3 == 0, "peak", "calm")
    ds = build_series(df, spec(target="state", window=4))
    assert ds.task == "classification" and ds.class_names == ["calm", "peak"]
    assert ds.feature_names == ["a", "b"]
    np.testing.assert_array_equal(ds.y_train, (ds.split_indices["train"] + 4) % 3 == 0)
    with pytest.raises(DataError, match="horizon of 1"):
        build_series(df, spec(target="state", window=4, horizon=2))


def test_seasonal_sample_is_deterministic_and_documented():
    a = load_dataset(DataSpec(kind="sample", path="seasonal"))
    b = load_dataset(DataSpec(kind="sample", path="sample:seasonal", time_series=True))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.input_shape == (24, 2) and a.feature_names == ["temperature", "demand"]
    assert a.preprocessing["time_step"] == 3600.0
    with pytest.raises(DataError, match="sample 'iris' is not a time series"):
        load_dataset(DataSpec(kind="sample", path="iris", time_series=True))
    text = (samples_dir() / "make_timeseries.py").read_text(encoding="utf-8")
    assert "synthetic" in text and "SEED" in text


def test_spec_fields_round_trip_and_validation():
    s = DataSpec.parse_cli("x.csv", time_series=True, time_column="date", window=12, horizon=3, stride=2)
    assert DataSpec.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    for bad in ({"window": 0}, {"horizon": 1.5}, {"stride": True}):
        with pytest.raises(DataError, match="must be a whole number"):
            DataSpec.parse_cli("x.csv", time_series=True, **bad)
    with pytest.raises(DataError, match="not from images data"):
        DataSpec(kind="images", path="d", time_series=True).validate()


# ------------------------------------------------------------------ bad input
def csv_error(tmp_path, df, **kw) -> str:
    path = write_csv(tmp_path / "s.csv", df)
    with pytest.raises(DataError) as info:
        load_dataset(DataSpec.parse_cli(path, time_series=True, **{"window": 3, "val_split": 0.0, **kw}))
    return str(info.value)


def test_time_out_of_order_names_the_line_and_says_to_sort(tmp_path):
    df = frame(10)
    df.loc[[4, 5]] = df.loc[[5, 4]].to_numpy()
    msg = csv_error(tmp_path, df, time_column="time")
    assert msg.startswith("s.csv, line 7, column 'time': '2024-01-01 04:00:00' comes before '2024-01-01 05:00:00'")
    assert "sort the file by 'time'" in msg


def test_duplicate_times_and_gaps(tmp_path):
    df = frame(10)
    df.loc[6, "time"] = df.loc[5, "time"]
    msg = csv_error(tmp_path, df, time_column="time")
    assert "line 8, column 'time': the time '2024-01-01 05:00:00' appears twice (also on line 7)" in msg
    df = frame(10).drop(index=[6, 7])
    msg = csv_error(tmp_path, df, time_column="time")
    assert "line 8, column 'time': a gap in the series after '2024-01-01 05:00:00' (about 3 times the usual step)" in msg


def test_unparseable_date_names_the_row(tmp_path):
    df = frame(10)
    df.loc[3, "time"] = "next tuesday"
    msg = csv_error(tmp_path, df, time_column="time")
    assert msg.startswith("s.csv, line 5, column 'time': 'next tuesday' is not a date or time")


def test_window_longer_than_the_series_and_parts_too_short(tmp_path):
    msg = csv_error(tmp_path, frame(10), window=10)
    assert "the series has 10 rows, fewer than one window of 10 rows plus a horizon of 1" in msg
    assert "at most 9" in msg
    msg = csv_error(tmp_path, frame(40), window=6, val_split=0.1)
    assert "the validation part (rows 37 to 40, 4 rows) is too short for one window of 6 rows" in msg
    msg = csv_error(tmp_path, frame(40), window=6, val_split=0.5, test_split=0.4)
    assert "the training part (rows 1 to 4, 4 rows)" in msg


def test_non_numeric_inputs(tmp_path):
    df = frame(10)
    df["note"] = ["x"] * 10
    msg = csv_error(tmp_path, df, time_column="time", features=["a", "note"], target="b")
    assert "column 'note' holds text (such as 'x'); the inputs of a time series must be numbers" in msg
    # by default a text column is left out and reported
    ds = load_dataset(DataSpec.parse_cli(write_csv(tmp_path / "t.csv", df), time_series=True, time_column="time",
                                         window=3, val_split=0.0))
    assert ds.feature_names == ["a", "b"]
    assert any(r.get("column") == "note" and "not used as a feature" in r["reason"] for r in ds.report)
    # a date column that is not named as the time column is text too
    msg = csv_error(tmp_path, frame(10), features=["time", "a"], target="b")
    assert "column 'time' holds text" in msg
    # a typo in a number column names its row
    df = frame(10)
    df["a"] = df["a"].astype(object)
    df.loc[2, "a"] = "1,5x"
    msg = csv_error(tmp_path, df, time_column="time", target="b")
    assert "line 4, column 'a': '1,5x' is not a number" in msg


def test_missing_target_value_names_the_row(tmp_path):
    df = frame(10)
    df.loc[4, "b"] = np.nan
    msg = csv_error(tmp_path, df, time_column="time", target="b", features=["a"])
    assert "line 6, column 'b': the target value is missing" in msg


# ------------------------------------------------------------------ property
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 80), w=st.integers(1, 12), h=st.integers(1, 4), s=st.integers(1, 5),
       val=st.sampled_from([0.0, 0.1, 0.25]), test=st.sampled_from([0.0, 0.1, 0.2]), k=st.integers(1, 2))
def test_window_counts_and_shapes(n, w, h, s, val, test, k):
    df = frame(n, start=None)
    target = "a,b" if k == 2 else "b"
    sp = spec(target=target, window=w, horizon=h, stride=s, val_split=val, test_split=test)
    parts = part_rows(n, val, test)
    counts = window_counts(n, w, h, s, val, test)
    try:
        ds = build_series(df, sp)
    except DataError as exc:
        # refused exactly when a part that should have windows has none
        need = {"train": True, "val": val > 0, "test": test > 0}
        assert any(need[p] and counts[p] == 0 for p in counts), str(exc)
        return
    for p in ("train", "val", "test"):
        a, b = parts[p]
        assert ds.n(p) == counts[p] == (0 if b - a < w + h else (b - a - w - h) // s + 1)
        assert ds.x(p).shape == (counts[p], w, 2)
        assert ds.y(p).shape == (counts[p], h * k)
        if counts[p]:
            st_ = ds.split_indices[p]
            assert st_[0] == a and st_[-1] + w + h <= b and np.all(np.diff(st_) == s)
            np.testing.assert_array_equal(ds.x(p)[:, -1, 0], st_ + w - 1)
            # the last output is target b (= 10 a) at the last step of the horizon, for one target or two
            np.testing.assert_array_equal(ds.y(p)[:, -1], 10 * (st_ + w + h - 1))
            if k == 2:
                np.testing.assert_array_equal(ds.y(p)[:, -2], st_ + w + h - 1)


def test_windows_are_cut_on_request_from_one_table():
    from engine.data.timeseries import WindowArray

    ds = build_series(frame(50, start=None), spec(target="b", window=6, stride=2, val_split=0.2))
    x = ds.x_train
    assert isinstance(x, WindowArray) and x.shape == (len(x), 6, 2) and x.ndim == 3 and x.dtype == np.float32
    full = np.asarray(x)
    want = np.stack([np.c_[np.arange(s, s + 6), 10 * np.arange(s, s + 6)] for s in ds.split_indices["train"]])
    np.testing.assert_array_equal(full, want)
    np.testing.assert_array_equal(x[3], want[3])
    np.testing.assert_array_equal(x[2:5], want[2:5])
    np.testing.assert_array_equal(x[np.array([4, 0, 4])], want[[4, 0, 4]])
    np.testing.assert_array_equal(x[:, -1, 1], want[:, -1, 1])
    assert x[1, 2, 0] == want[1, 2, 0]
    xb, yb = ds.get_batch("train", np.array([1, 0]))
    np.testing.assert_array_equal(xb, want[[1, 0]])
    # the splits share one scaled table (rows × features), not a copy per window
    assert ds.x_train._table is ds.x_val._table and ds.x_train._table.shape == (50, 2)
