"""Time series: a table whose rows are time steps becomes windows of past rows -> the next steps.

A window is ``window`` consecutive rows of the input columns, ``x`` of shape
``(N, window, features)`` (what Conv1D, LSTM, GRU and attention layers read); its target is
the target column(s) at the ``horizon`` rows right after it, ``y`` of shape
``(N, horizon * targets)`` ordered step by step (``y[:, k * targets + j]`` is target ``j``
``k + 1`` steps after the window).  Windows start every ``stride`` rows.

* **time order**: with a ``time_column`` (dates and times, or numbers) the rows must be in
  increasing time order, without duplicate times and without gaps (a step longer than 1.5 times
  the usual one); without it the row order is the time order.
* **chronological split**: the rows are cut into three contiguous parts, training (oldest),
  validation, test (newest), by the split fractions.  A window and its targets lie inside one
  part, so no window straddles a boundary and nothing from the future of a part is seen while
  training on it.  Nothing is shuffled across parts (the trainer only reorders training windows).
* **scaling**: every input column is scaled with statistics of the training part only
  (``standard``, ``minmax`` or ``none``, like tables); regression targets likewise, and
  predictions are converted back to the target's units (:func:`unscale`).
* **task**: a numeric target is a forecast (regression), even when its values are whole numbers;
  a text target (or ``task="classification"``) is classification of the state at the next step,
  so it needs ``horizon=1`` and one target column.

The fitted settings are the project's preprocessing (``kind: "timeseries"``, JSON, see
:func:`build_series`); :func:`transform_frame` applies them to raw rows for predict.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from engine.data.errors import DataError
from engine.data.rows import as_row_labels
from engine.data.spec import MAX_HORIZON, MAX_WINDOW  # noqa: F401 - the limits, for readers of this module
from engine.data.split import natural_sorted
from engine.data.tabular import (
    FLOAT32_MAX,
    PREP_VERSION,
    _mean_std,
    _short,
    analyse_column,
    class_label,
    parse_categorical,
    parse_numeric,
)

#: a step longer than this many times the usual (median) step is a gap
GAP_FACTOR = 1.5


# ---------------------------------------------------------------------- counting
def part_rows(n_rows: int, val_split: float, test_split: float) -> dict[str, tuple[int, int]]:
    """``{split: (first_row, end_row)}``: contiguous parts, training first, test last.

    A non-zero fraction gets at least one row (as :func:`engine.data.split.split_counts`).
    """
    n_test = max(1, int(round(n_rows * test_split))) if test_split > 0 else 0
    n_val = max(1, int(round(n_rows * val_split))) if val_split > 0 else 0
    n_train = max(n_rows - n_val - n_test, 0)
    return {"train": (0, n_train), "val": (n_train, n_train + n_val),
            "test": (n_train + n_val, n_train + n_val + n_test)}


def n_windows(length: int, window: int, horizon: int, stride: int) -> int:
    """Windows (with all their targets) that fit in ``length`` consecutive rows."""
    span = window + horizon
    return 0 if length < span else (length - span) // stride + 1


def window_starts(first: int, end: int, window: int, horizon: int, stride: int) -> np.ndarray:
    """First input row of every window inside rows ``[first, end)``."""
    return first + stride * np.arange(n_windows(end - first, window, horizon, stride), dtype=np.int64)


def window_counts(n_rows: int, window: int, horizon: int, stride: int, val_split: float,
                  test_split: float) -> dict[str, int]:
    """Windows per split for a series of ``n_rows`` rows (the data panel's preview)."""
    return {s: n_windows(b - a, window, horizon, stride)
            for s, (a, b) in part_rows(n_rows, val_split, test_split).items()}


def _check_parts(parts, n_rows, window, horizon, stride, val_split, test_split, source) -> None:
    span = window + horizon
    src = source or "data"
    if n_rows < span:
        raise DataError(f"{src}: the series has {n_rows} rows, fewer than one window of {window} rows plus a "
                        f"horizon of {horizon}; use a shorter window (at most {max(n_rows - horizon, 0)})")
    fractions = {"train": 1.0, "val": val_split, "test": test_split}
    for s, (a, b) in parts.items():
        if fractions[s] > 0 and n_windows(b - a, window, horizon, stride) == 0:
            part = "the training part" if s == "train" else ("the validation part" if s == "val" else "the test part")
            raise DataError(f"{src}: {part} (rows {a + 1} to {b}, {b - a} rows) is too short for one window of "
                            f"{window} rows plus a horizon of {horizon}; use a shorter window or change the split "
                            f"fractions")


# ---------------------------------------------------------------------- time column
def parse_time(col: pd.Series, name: str, row_labels, src: str) -> tuple[np.ndarray, str]:
    """``(float64 times, "datetime" | "number")``; a cell that is not a time names its row."""
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        t = pd.to_datetime(col, utc=True)
        miss = np.asarray(t.isna(), dtype=bool)
        if miss.any():
            i = int(np.flatnonzero(miss)[0])
            raise DataError(f"{src}{row_labels[i]}, column '{_short(name)}': the time is missing")
        return _seconds(t), "datetime"
    vals, miss, bad = parse_numeric(col)
    if miss.any():
        i = int(np.flatnonzero(miss)[0])
        raise DataError(f"{src}{row_labels[i]}, column '{_short(name)}': the time is missing")
    if not bad.any():
        return vals, "number"
    text = pd.Series([str(v).strip() for v in col.to_numpy(dtype=object)], dtype=object)
    best = None
    for fmt in ("ISO8601", None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                t = pd.to_datetime(text, errors="coerce", utc=True, format=fmt)
            except (ValueError, TypeError, OverflowError):
                continue
        n_bad = int(t.isna().sum())
        if best is None or n_bad < best[1]:
            best = (t, n_bad)
        if n_bad == 0:
            break
    if best is None:
        raise DataError(f"{src}column '{_short(name)}': the times cannot be read as dates")
    t, n_bad = best
    if n_bad:
        i = int(np.flatnonzero(np.asarray(t.isna(), dtype=bool))[0])
        raise DataError(f"{src}{row_labels[i]}, column '{_short(name)}': '{_short(text.iloc[i])}' is not a date or "
                        f"time (write it like 2024-01-31 or 2024-01-31 13:00)")
    return _seconds(t), "datetime"


def _seconds(t: pd.Series) -> np.ndarray:
    """UTC datetimes -> float64 seconds since 1970 (whatever the resolution pandas chose)."""
    return np.asarray((t - pd.Timestamp(0, tz="UTC")).dt.total_seconds(), dtype=np.float64)


def check_time_order(t: np.ndarray, texts, name: str, row_labels, src: str) -> float | None:
    """Raise for rows out of time order, duplicate times or gaps; return the usual step."""
    if len(t) < 2:
        return None
    d = np.diff(t)
    dup = np.flatnonzero(d == 0)
    back = np.flatnonzero(d < 0)
    if len(back) and (not len(dup) or back[0] < dup[0]):
        i = int(back[0]) + 1
        raise DataError(f"{src}{row_labels[i]}, column '{_short(name)}': '{_short(texts[i])}' comes before "
                        f"'{_short(texts[i - 1])}' of the row above; the rows are not in time order "
                        f"(sort the file by '{_short(name)}' first)")
    if len(dup):
        i = int(dup[0]) + 1
        raise DataError(f"{src}{row_labels[i]}, column '{_short(name)}': the time '{_short(texts[i])}' appears "
                        f"twice (also on {row_labels[i - 1]}); remove or merge the duplicate rows")
    step = float(np.median(d))
    gaps = np.flatnonzero(d > GAP_FACTOR * step)
    if len(gaps):
        i = int(gaps[0]) + 1
        raise DataError(f"{src}{row_labels[i]}, column '{_short(name)}': a gap in the series after "
                        f"'{_short(texts[i - 1])}' (about {d[i - 1] / step:.3g} times the usual step); "
                        f"fill in the missing rows, or resample the series to a regular step")
    return step


# ---------------------------------------------------------------------- fitting
def _targets_of(spec_target, columns, time_column, numeric) -> list[str]:
    if spec_target is None:
        cands = [c for c in columns if c != time_column and c in numeric]
        return [cands[-1]] if cands else []
    if spec_target in columns:
        return [spec_target]
    return [t.strip() for t in str(spec_target).split(",") if t.strip()]


def _fit_scale(vals: np.ndarray, scaling: str) -> tuple[float, float]:
    if scaling == "standard":
        shift, sd = _mean_std(vals)
        return shift, (sd if sd > 1e-12 * max(1.0, abs(shift)) else 1.0)
    if scaling == "minmax":
        lo, hi = float(vals.min()), float(vals.max())
        return lo, ((hi - lo) if hi - lo > 1e-12 * max(1.0, abs(lo)) else 1.0)
    return 0.0, 1.0


def build_series(df: pd.DataFrame, spec, *, source: str = "", decimal: str = ".", row_labels=None,
                 fixed: dict | None = None, extra: dict | None = None, default_time: str | None = None):
    """Fit (or, with ``fixed``, apply) the windowing of ``df``; returns a :class:`~engine.data.Dataset`.

    ``default_time`` is the time column when ``spec.time_column`` is not set (the samples').
    """
    from engine.data.dataset import Dataset  # noqa: PLC0415
    from engine.data.preprocess import Preprocessor  # noqa: PLC0415

    src = f"{source}, " if source else ""
    row_labels = as_row_labels(row_labels, len(df))
    columns = [str(c) for c in df.columns]
    if len(set(columns)) != len(columns):
        dup = next(c for c in columns if columns.count(c) > 1)
        raise DataError(f"{src}column name '{_short(dup)}' appears twice")
    df = df.set_axis(columns, axis=1).reset_index(drop=True)
    if len(df) == 0:
        raise DataError(f"{source or 'data'}: no data rows")
    report: list[dict] = []
    if fixed is not None:
        if fixed.get("kind") != "timeseries":
            raise DataError(f"{src}the saved preprocessing is not for a time series")
        window, horizon, stride = int(fixed["window"]), int(fixed["horizon"]), int(fixed["stride"])
        time_column = fixed.get("time_column")
    else:
        window, horizon, stride = int(spec.window), int(spec.horizon), int(spec.stride)
        time_column = spec.time_column if spec.time_column is not None else default_time

    # ---- time
    time_kind, step, t = None, None, None
    if time_column is not None:
        if time_column not in columns:
            raise DataError(f"{src}time column '{_short(time_column)}' not found; columns are: "
                            f"{_short(', '.join(columns), 200)}")
        tcol = df[time_column]
        t, time_kind = parse_time(tcol, time_column, row_labels, src)
        step = check_time_order(t, [str(v) for v in tcol.to_numpy(dtype=object)], time_column, row_labels, src)
    n_rows = len(df)

    # ---- columns
    parsed: dict[str, tuple] = {}

    def numeric(name: str, role: str) -> tuple:
        if name not in parsed:
            info, vals = analyse_column(df[name], name, decimal, row_labels, src, strict=True)
            if info.kind == "empty":
                raise DataError(f"{src}{role} column '{_short(name)}' has no values")
            parsed[name] = (info, vals)
        return parsed[name]

    if fixed is not None:
        task = fixed["task"]
        targets = list(fixed["target"])
        inputs = [c["name"] for c in fixed["columns"]]
        for name in [*inputs, *([] if task == "classification" else targets)]:
            if name not in columns:
                raise DataError(f"{src}column '{_short(name)}' not found; the model was trained on columns "
                                f"{_short(', '.join(inputs), 160)}")
        if task == "classification" and targets[0] not in columns:
            raise DataError(f"{src}target column '{_short(targets[0])}' not found; columns are: "
                            f"{_short(', '.join(columns), 200)}")
    else:
        kinds = {}
        others = [c for c in columns if c != time_column]
        for c in others:
            # strict: a number column with a typo names the row (not "a text column, left out")
            info, _vals = analyse_column(df[c], c, decimal, row_labels, src, strict=True)
            kinds[c] = info.kind
        num_cols = {c for c, k in kinds.items() if k == "numeric"}
        targets = _targets_of(spec.target, columns, time_column, num_cols)
        if not targets:
            raise DataError(f"{src}no numeric column to forecast; name the target column")
        for tname in targets:
            if tname not in columns:
                raise DataError(f"{src}target column '{_short(tname)}' not found; columns are: "
                                f"{_short(', '.join(columns), 200)}")
            if tname == time_column:
                raise DataError(f"{src}column '{_short(tname)}' cannot be both the time column and a target")
        if len(set(targets)) != len(targets):
            raise DataError(f"{src}a target column is listed twice")
        text_target = kinds.get(targets[0]) == "categorical"
        task = spec.task or ("classification" if text_target else "regression")
        if task == "regression":
            for tname in targets:
                if kinds.get(tname) != "numeric":
                    numeric(tname, "target")  # raises for a mostly numeric column with a typo
                    raise DataError(f"{src}target column '{_short(tname)}' holds text, so it cannot be a "
                                    f"regression target")
        elif len(targets) != 1 or horizon != 1:
            raise DataError(f"{src}classifying a time series predicts one text column at the next step; "
                            f"use one target column and a horizon of 1 (got {len(targets)} targets, horizon "
                            f"{horizon})")
        if spec.features is not None:
            inputs = list(spec.features)
            if not inputs:
                raise DataError(f"{src}no input columns given")
            missing_cols = [f for f in inputs if f not in columns]
            if missing_cols:
                raise DataError(f"{src}feature column(s) not found: {_short(', '.join(missing_cols), 120)}")
            if time_column in inputs:
                raise DataError(f"{src}column '{_short(time_column)}' is the time column; it cannot also be an input")
            if len(set(inputs)) != len(inputs):
                raise DataError(f"{src}a feature column is listed twice")
            for f in inputs:
                if kinds[f] != "numeric":
                    numeric(f, "feature")  # a typo in a number column names its row
                    vals = parse_categorical(df[f])[0]
                    value = next((v for v in vals if v is not None), "")
                    raise DataError(f"{src}column '{_short(f)}' holds text (such as '{_short(value)}'); the inputs "
                                    f"of a time series must be numbers: leave it out of the features")
        else:
            inputs = [c for c in others if kinds[c] == "numeric"]
            for c in others:
                if kinds[c] == "categorical" and c not in targets:
                    report.append({"column": c, "reason": "text column; not used as a feature (time-series inputs "
                                                          "are numbers; a date column is the time column)"})
                elif kinds[c] == "empty":
                    report.append({"column": c, "reason": "column has no values; not used as a feature"})
            if not inputs:
                raise DataError(f"{src}no numeric input columns besides the time column")
    if spec.missing == "drop" and fixed is None:
        for f in inputs:
            if numeric(f, "feature")[1][1].any():
                i = int(np.flatnonzero(parsed[f][1][1])[0])
                raise DataError(f"{src}{row_labels[i]}, column '{_short(f)}': a value is missing; rows cannot be "
                                f"dropped from a time series (fill missing values with the mean or median)")

    # ---- parts
    val_split, test_split = float(spec.val_split), float(spec.test_split)
    parts = part_rows(n_rows, val_split, test_split)
    _check_parts(parts, n_rows, window, horizon, stride, val_split, test_split, source)
    a_tr, b_tr = parts["train"]

    # ---- targets
    class_names = None
    tstats: list[dict] = []
    if task == "classification":
        tname = targets[0]
        tinfo, (tv, tmiss) = analyse_column(df[tname], tname, decimal, row_labels, src, strict=False)
        if tmiss.any():
            _missing_target(src, row_labels, int(np.flatnonzero(tmiss)[0]), tname)
        labels = [None if m else (class_label(v) if tinfo.kind == "numeric" else str(v)) for v, m in zip(tv, tmiss)]
        if fixed is not None:
            class_names = list(fixed["class_names"])
        else:
            class_names = natural_sorted({lab for lab in labels[a_tr:b_tr] if lab is not None})
            if len(class_names) < 2:
                raise DataError(f"{src}target column '{_short(tname)}' has only one class in the training part "
                                f"('{_short(class_names[0])}'); classification needs at "
                                f"least two")
        index = {c: i for i, c in enumerate(class_names)}
        y_rows = np.array([index.get(lab, -1) for lab in labels], dtype=np.int64)
    else:
        ymat = np.zeros((n_rows, len(targets)), dtype=np.float64)
        saved = {t["name"]: t for t in fixed.get("targets", [])} if fixed is not None else {}
        for j, tname in enumerate(targets):
            _info, (tv, tmiss) = numeric(tname, "target")
            big = np.abs(np.where(tmiss, 0.0, tv)) > FLOAT32_MAX
            if big.any():
                i = int(np.flatnonzero(big)[0])
                raise DataError(f"{src}{row_labels[i]}, column '{_short(tname)}': {tv[i]:g} is too large for "
                                f"32-bit floats")
            if tmiss.any():
                _missing_target(src, row_labels, int(np.flatnonzero(tmiss)[0]), tname)
            if fixed is not None:
                shift, scale = float(saved[tname]["shift"]), float(saved[tname]["scale"])
            else:
                train = tv[a_tr:b_tr][~tmiss[a_tr:b_tr]]
                shift, scale = _fit_scale(train, spec.scaling) if len(train) else (0.0, 1.0)
            tstats.append({"name": tname, "shift": shift, "scale": scale})
            ymat[:, j] = (np.where(tmiss, shift, tv) - shift) / scale
    # ---- inputs: fitted on the training part
    if fixed is not None:
        cols = [dict(c) for c in fixed["columns"]]
    else:
        cols = []
        for f in inputs:
            _info, (vals, miss) = numeric(f, "feature")
            tv = vals[a_tr:b_tr][~miss[a_tr:b_tr]]
            if len(tv) == 0:
                fill = 0.0
            else:
                fill = float(np.median(tv)) if spec.missing == "median" else _mean_std(tv)[0]
            filled = np.where(miss[a_tr:b_tr], fill, vals[a_tr:b_tr])
            shift, scale = _fit_scale(filled, spec.scaling)
            n_miss = int(miss.sum())
            if n_miss:
                report.append({"column": f, "count": n_miss,
                               "reason": f"missing values filled with the training {spec.missing} ({fill:g})"})
            cols.append({"name": f, "type": "numeric", "fill": fill, "shift": shift, "scale": scale})
    table = Preprocessor({"kind": "tabular", "columns": cols, "decimal": decimal})
    xmat = table._transform_frame(df, row_labels, src)          # (rows, features), float32

    # ---- windows
    xs, ys, starts = {}, {}, {}
    for s, (a, b) in parts.items():
        st = window_starts(a, b, window, horizon, stride)
        if task == "classification":
            yv = y_rows[st + window]
            unknown = yv < 0
            if unknown.any():
                i = int(st[np.flatnonzero(unknown)[0]] + window)
                report.append({"column": targets[0], "rows": [str(row_labels[i])], "count": int(unknown.sum()),
                               "reason": "windows whose class was not in the training data were dropped"})
                st, yv = st[~unknown], yv[~unknown]
            ys[s] = yv
        else:
            idx = st[:, None] + window + np.arange(horizon)[None, :]
            ys[s] = ymat[idx].reshape(len(st), horizon * len(targets)).astype(np.float32)
        starts[s] = st
        xs[s] = WindowArray(xmat, st, window)
    if fixed is not None:
        prep = dict(fixed)
    else:
        output_names = ([f"{t}+{k + 1}" for k in range(horizon) for t in targets] if task == "regression"
                        else [targets[0]])
        prep = {"version": PREP_VERSION, "kind": "timeseries", "task": task, "class_names": class_names,
                "target": targets, "targets": tstats, "columns": cols, "feature_names": list(inputs),
                "input_shape": [window, len(inputs)], "window": window, "horizon": horizon, "stride": stride,
                "time_column": time_column, "time_kind": time_kind, "time_step": step, "scaling": spec.scaling,
                "missing": spec.missing, "decimal": decimal, "output_names": output_names}
        if extra:
            prep.update(extra)
    ds = Dataset(spec=spec, task=task, input_shape=(window, len(inputs)),
                 n_outputs=len(class_names) if task == "classification" else horizon * len(targets),
                 class_names=class_names, feature_names=list(inputs), preprocessing=prep, report=report,
                 x=xs, y=ys, split_indices=starts)
    #: for plots over time: per split, the row of each window's first target step; the rows' times
    #: (seconds since 1970 for dates, or the time column's numbers; None in row order)
    ds.series = {"target_rows": {s: st + window for s, st in starts.items()}, "parts": parts,
                 "t": t, "time_kind": time_kind}
    return ds


def _missing_target(src, row_labels, i, name):
    raise DataError(f"{src}{row_labels[i]}, column '{_short(name)}': the target value is missing; a time series "
                    f"needs a value at every step (fill it in)")


class WindowArray:
    """Read-only ``(N, window, features)`` float32 windows over one scaled ``(rows, features)`` table.

    Windows overlap, so they are cut on request: ``x[idx]`` copies just those windows (memory is
    the table's, not ``N × window`` rows).  Like an ndarray it has ``len()``, ``shape``, ``ndim``
    and ``dtype``; ``x[i, j, k]``-style tuples index the windows first; ``np.asarray(x)`` makes
    them all.
    """

    def __init__(self, table: np.ndarray, starts: np.ndarray, window: int):
        self._table = np.ascontiguousarray(table, dtype=np.float32)
        self._starts = np.asarray(starts, dtype=np.int64)
        self._window = int(window)
        self.dtype = np.dtype(np.float32)

    @property
    def shape(self) -> tuple:
        return (len(self._starts), self._window, self._table.shape[1])

    @property
    def ndim(self) -> int:
        return 3

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, idx) -> np.ndarray:
        if isinstance(idx, tuple):
            head, rest = (idx[0] if idx else slice(None)), idx[1:]
            out = self[head]
            return out[rest] if np.ndim(self._starts[head]) == 0 else out[(slice(None), *rest)]
        st = self._starts[idx]
        if np.ndim(st) == 0:
            return self._table[int(st):int(st) + self._window].copy()
        return _windows(self._table, np.asarray(st), self._window)

    def __array__(self, dtype=None, copy=None):
        x = self[np.arange(len(self))]
        return x if dtype is None else x.astype(dtype)


def _windows(xmat: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    if len(starts) == 0:
        return np.zeros((0, window, xmat.shape[1]), dtype=np.float32)
    view = np.lib.stride_tricks.sliding_window_view(xmat, window, axis=0)  # (rows - w + 1, F, w)
    return np.ascontiguousarray(view[starts].transpose(0, 2, 1), dtype=np.float32)


# ---------------------------------------------------------------------- loading
def load_series(spec, *, progress=None, cancel=None, fixed: dict | None = None):
    """:func:`engine.data.load_dataset` for ``spec.time_series`` (a CSV/Excel file or a series sample)."""
    if progress:
        progress(0, 2)
    if spec.kind == "sample":
        from engine.data.samples import SERIES_NAMES, SERIES_TIME_COLUMN, series_frame  # noqa: PLC0415

        name = spec.path.strip().lower().removeprefix("sample:")
        if name not in SERIES_NAMES:
            raise DataError(f"sample '{name}' is not a time series (the time-series samples: {', '.join(SERIES_NAMES)})")
        df = series_frame(name)
        if progress:
            progress(2, 2)
        return build_series(df, spec, source=f"sample:{name}", fixed=fixed, default_time=SERIES_TIME_COLUMN)
    if spec.kind != "csv":
        raise DataError(f"{spec.path}: time-series windows are made from a CSV or Excel file (or a time-series "
                        f"sample), not from {spec.kind} data")
    from engine.data.csvio import read_csv_frame  # noqa: PLC0415

    df, meta, labels = read_csv_frame(spec.path, spec.encoding, spec.sheet, typed=True)
    if cancel is not None and cancel.is_set():
        from engine.data.errors import LoadCancelled  # noqa: PLC0415

        raise LoadCancelled("loading cancelled")
    if progress:
        progress(1, 2)
    ds = build_series(df, spec, source=meta["name"], decimal=meta["decimal"], row_labels=labels, fixed=fixed,
                      extra={"csv": {"delimiter": meta["delimiter"], "encoding": meta["encoding"],
                                     "header": meta["header"], **({"sheet": meta["sheet"]} if "sheet" in meta else {})}})
    if progress:
        progress(2, 2)
    return ds


def preview_series(spec) -> dict:
    """What the data panel needs to count windows: ``{"rows": n}``, or ``{"error": message}`` when the
    file cannot be a series (time order, columns).  Window and split settings are left out of the check
    (the panel counts the windows for them itself, :func:`window_counts`)."""
    from dataclasses import replace  # noqa: PLC0415

    try:
        ds = load_series(replace(spec, window=1, horizon=1, stride=1, val_split=0.0, test_split=0.0))
    except DataError as exc:
        return {"error": str(exc)}
    return {"rows": ds.n("train") + 1, "time_column": ds.preprocessing["time_column"]}


# ---------------------------------------------------------------------- predict
def transform_csv(pre, path, encoding: str = "auto", meta_out: dict | None = None,
                  sheet: str | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Recent rows in a CSV file as the fitted series' windows (``csvio.transform_csv`` for a time
    series): every window of ``window`` rows, and the frame."""
    from engine.data.csvio import read_csv_frame  # noqa: PLC0415

    df, meta, labels = read_csv_frame(path, encoding, sheet)
    if meta_out is not None:
        meta_out.update(meta)
    return transform_frame({**pre.d, "decimal": meta["decimal"]}, df, labels, f"{meta['name']}, ")


def transform_frame(prep: dict, df: pd.DataFrame, row_labels=None, src: str = "") -> tuple[np.ndarray, pd.DataFrame]:
    """Raw rows (oldest first) -> every window of ``window`` rows and a frame naming each window's last row.

    The last window ends at the last row: its prediction is the forecast for the ``horizon``
    steps after the file.  Rows are checked for time order like training data.
    """
    from engine.data.preprocess import Preprocessor  # noqa: PLC0415

    window = int(prep["window"])
    row_labels = as_row_labels(row_labels, len(df))
    df = df.set_axis([str(c) for c in df.columns], axis=1).reset_index(drop=True)
    if len(df) < window:
        raise DataError(f"{src}{len(df)} rows, but the model reads windows of {window} rows; give at least "
                        f"{window} recent rows (oldest first)")
    tc = prep.get("time_column")
    if tc is not None:
        if tc not in df.columns:
            raise DataError(f"{src}time column '{_short(tc)}' not found; columns are: "
                            f"{_short(', '.join(map(str, df.columns)), 200)}")
        t, _kind = parse_time(df[tc], tc, row_labels, src)
        check_time_order(t, [str(v) for v in df[tc].to_numpy(dtype=object)], tc, row_labels, src)
    table = Preprocessor({"kind": "tabular", "columns": prep["columns"], "decimal": prep.get("decimal", ".")})
    xmat = table._transform_frame(df, row_labels, src)
    starts = np.arange(len(df) - window + 1, dtype=np.int64)
    ends = starts + window - 1
    if tc is not None:
        lead = pd.DataFrame({tc: df[tc].to_numpy(dtype=object)[ends]})
    else:
        lead = pd.DataFrame({"row": ends + 1})
    return _windows(xmat, starts, window), lead


def unscale(prep: dict, out: np.ndarray) -> np.ndarray:
    """Model outputs (N, horizon * targets) in scaled units -> the targets' own units (float64)."""
    out = np.asarray(out, dtype=np.float64).reshape(len(out), -1)
    stats = prep.get("targets") or []
    if not stats:
        return out
    k = len(stats)
    shift = np.array([t["shift"] for t in stats] * (out.shape[1] // k), dtype=np.float64)
    scale = np.array([t["scale"] for t in stats] * (out.shape[1] // k), dtype=np.float64)
    if len(shift) != out.shape[1]:
        raise DataError(f"the model gives {out.shape[1]} outputs, the time-series settings expect a multiple of {k}")
    return out * scale + shift


def prediction_columns(prep: dict, out: np.ndarray) -> dict[str, list]:
    """Regression predictions as named columns (``<target>+<k>``) in the targets' units."""
    vals = unscale(prep, out)
    names = prep.get("output_names") or [f"prediction_{j}" for j in range(vals.shape[1])]
    if len(names) != vals.shape[1]:
        names = [f"prediction_{j}" for j in range(vals.shape[1])]
    return {f"prediction_{n}": vals[:, j].tolist() for j, n in enumerate(names)}


class UnscaledModel:
    """A model whose outputs are converted to the targets' units (for metrics in those units)."""

    def __init__(self, model, prep: dict):
        self._model, self._prep = model, prep

    def forward(self, x):
        out = self._model.forward(x)
        return unscale(self._prep, out).reshape(out.shape).astype(out.dtype)

    def __getattr__(self, name):
        return getattr(self._model, name)
