"""Tabular data: analyse columns, propose a task, fit the feature transform on TRAIN rows.

How a cell becomes a number or a category is :mod:`engine.data.columns` (shared with the
CSV reader and the fitted transform).

The fitted transform is a JSON-able dict (see :mod:`engine.data.preprocess`); the
arrays of a loaded data set are produced by the very same
:meth:`Preprocessor.transform_frame` code that predict uses, so they cannot drift.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data import columns as _columns
from engine.data.columns import LazyColumn, _short, parse_categorical, parse_numeric
from engine.data.errors import DataError
from engine.data.preprocess import PREP_VERSION, Preprocessor
from engine.data.rows import as_row_labels
from engine.data.split import natural_sorted, split_indices
from engine.data.text import looks_like_text, may_be_text

MAX_CLASS_INTEGERS = 20        # integer targets with at most this many values -> classification
MAX_CATEGORIES = 1000          # one-hot width cap for an explicitly chosen text column
ID_LIKE_MIN = 50               # text columns with more distinct values (and mostly unique) are not default features
FLOAT32_MAX = float(np.finfo(np.float32).max)
NUMERIC_MAJORITY = 0.8         # a column this numeric with some text is a typo, not a text column

#: typed columns with more cells than this are read one by one (a float64 column is then a
#: read-only view of the frame, not a copy); fewer, in one 2-D cast (wide tables)
_BULK_CELLS = 1_000_000
#: below this magnitude every integer is a float64 exactly, so text numbers convert to the
#: same value whether pandas reads a batch of them as integers or as floats
_EXACT_INT = 2.0 ** 53


def parse_numeric_many(df: pd.DataFrame, columns, decimal: str = ".") -> dict:
    """``{column: parse_numeric(df[column], decimal)}`` for the columns that convert in bulk,
    exactly as :func:`parse_numeric` would convert them one by one: typed number columns,
    and (decimal dot) text columns whose every cell is a finite number below 2**53 in
    magnitude.  Other columns are left out (the caller parses them one by one).

    A wide table (20 000 columns) spends most of its time in per-column overheads; here the
    typed columns are one 2-D cast and the text columns one ``pd.to_numeric`` call.
    """
    out: dict = {}
    n = len(df)
    typed, text = [], []
    if not df.columns.is_unique:
        return out  # a duplicate name: the caller reports it
    dtypes = dict(zip(df.columns, df.dtypes))
    for c in columns:
        dt = dtypes[c]
        if dt.kind in "if":
            typed.append(c)
        elif decimal == "." and (dt == np.dtype(object) or pd.api.types.is_string_dtype(dt)):
            text.append(c)
    if typed:
        if n * len(typed) > _BULK_CELLS:  # a long table: each column as it is (float64: no copy)
            columns_f64 = (df[c].to_numpy() if dtypes[c] == np.float64 else
                           df[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in typed)
        else:  # a wide one: one cast for all of them
            columns_f64 = iter(np.ascontiguousarray(df[typed].to_numpy(dtype=np.float64, na_value=np.nan).T))
        for c, vals in zip(typed, columns_f64):
            miss = _mask_or_zeros(np.isnan(vals))
            bad = _mask_or_zeros(np.isinf(vals))
            if bad.any():
                vals = vals.copy()
                vals[bad] = np.nan
            out[c] = (vals, miss, bad)
    if text and n:
        obj = df[text].to_numpy(dtype=object).T.ravel()
        if pd.api.types.infer_dtype(obj, skipna=False) == "string":
            fast = pd.to_numeric(obj, errors="coerce")
            if fast.dtype.kind in "iuf":
                vals = np.asarray(fast, dtype=np.float64).reshape(len(text), n)
                with np.errstate(invalid="ignore"):
                    good = (np.abs(vals) < _EXACT_INT).all(axis=1)
                zeros = np.zeros(n, dtype=bool)
                for k in np.flatnonzero(good):
                    out[text[k]] = (vals[k].copy(), zeros.copy(), zeros.copy())
    return out


def _mask_or_zeros(mask: np.ndarray) -> np.ndarray:
    """``mask``, or when it holds no True a fresh ``np.zeros`` instead: the same values, but its
    pages are never written, so it takes no memory until read (ten million rows: 10 MB a mask)."""
    return mask if mask.any() else np.zeros(mask.shape, dtype=bool)


def _batch(bulk: dict, names, n: int) -> list:
    """The columns of ``names`` parsed in bulk without a bad cell, when they are few cells in all
    (:data:`engine.data.columns.BATCH_CELLS`) and more than one: those are handled as one block."""
    names = [c for c in names if c in bulk]
    if len(names) < 2 or len(names) * n > _columns.BATCH_CELLS:
        return []
    bad = np.stack([bulk[c][2] for c in names]).any(axis=1)
    return [c for c, b in zip(names, bad) if not b]


def analyse_numeric_many(bulk: dict, names, n: int) -> dict:
    """``{column: ColumnInfo}`` as :func:`analyse_column` gives it, for the columns of ``names``
    in ``bulk`` (:func:`parse_numeric_many`) that :func:`_batch` takes, in one 2-D pass
    (a wide table); the others are left out.  In a bulk column without a bad cell a value is
    NaN exactly where it is missing, so its sorted row holds the present values first."""
    names = _batch(bulk, names, n)
    if not names:
        return {}
    vals = np.sort(np.stack([bulk[c][0] for c in names]), axis=1)  # NaN (missing) last
    n_miss = np.stack([bulk[c][1] for c in names]).sum(axis=1)
    present = n - n_miss
    if n > 1:
        new = vals[:, 1:] != vals[:, :-1]
        new &= np.arange(n - 1) < (present - 1)[:, None]
        n_unique = 1 + new.sum(axis=1)
    else:
        n_unique = np.ones(len(names), dtype=np.int64)
    return {c: ColumnInfo(c, "numeric", int(m), int(u)) if p else ColumnInfo(c, "empty", int(m), 0)
            for c, m, u, p in zip(names, n_miss.tolist(), n_unique.tolist(), present.tolist())}


def _mean_std_rows(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_mean_std` of each row of ``v`` (2-D), as ``(mean of v/m, std of v/m, m)`` in float64:
    the same reductions as on each row alone (the row is the contiguous axis), so the same values."""
    v = np.ascontiguousarray(v)  # pairwise summation along each row, as for a 1-D array
    m = np.max(np.abs(v), axis=1) if v.shape[1] else np.zeros(len(v))
    u = v / np.where(m == 0.0, 1.0, m)[:, None]
    return u.mean(axis=1), u.std(axis=1), m


def _fit_numeric_many(parsed: dict, names, train_rows, spec) -> dict:
    """``{column: (fill, shift, scale)}`` as the fit loop of :func:`build_tabular` computes them, for
    numeric columns without a missing value, in one 2-D pass (``names`` from :func:`_batch`)."""
    names = [c for c in names if not parsed[c][1].any()]
    if len(names) < 2 or not len(train_rows):
        return {}
    tv = np.stack([parsed[c][0][train_rows] for c in names])  # C order: each row reduced as a 1-D array
    means = stds = m = None
    if spec.missing == "median":
        fills = [float(v) for v in np.median(tv, axis=1)]
    else:
        means, stds, m = _mean_std_rows(tv)
        fills = [0.0 if mm == 0.0 else a * mm for a, mm in zip(means.tolist(), m.tolist())]
    if spec.scaling == "standard":
        if means is None:
            means, stds, m = _mean_std_rows(tv)
        shifts = [0.0 if mm == 0.0 else a * mm for a, mm in zip(means.tolist(), m.tolist())]
        sds = [0.0 if mm == 0.0 else a * mm for a, mm in zip(stds.tolist(), m.tolist())]
        scales = [sd if sd > 1e-12 * max(1.0, abs(sh)) else 1.0 for sh, sd in zip(shifts, sds)]
    elif spec.scaling == "minmax":
        shifts = [float(v) for v in tv.min(axis=1)]
        his = [float(v) for v in tv.max(axis=1)]
        scales = [(hi - lo) if hi - lo > 1e-12 * max(1.0, abs(lo)) else 1.0 for lo, hi in zip(shifts, his)]
    else:
        shifts, scales = [0.0] * len(names), [1.0] * len(names)
    return {c: (f, sh, sc) for c, f, sh, sc in zip(names, fills, shifts, scales)}


def _mean_std(v: np.ndarray) -> tuple[float, float]:
    """Mean and std without overflow for values near the float64 limits."""
    m = float(np.max(np.abs(v))) if len(v) else 0.0
    if m == 0.0:
        return 0.0, 0.0
    u = v / m
    return float(u.mean()) * m, float(u.std()) * m


def class_label(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)


@dataclass
class ColumnInfo:
    name: str
    kind: str             # "numeric" | "categorical" | "empty"
    n_missing: int
    n_unique: int


def analyse_column(col: pd.Series, name: str, decimal: str, row_labels, source: str,
                   *, strict: bool, parsed: tuple | None = None) -> tuple[ColumnInfo, tuple]:
    """Decide numeric/categorical; with ``strict`` a mostly-numeric column holding text raises.

    ``parsed``: ``parse_numeric(col, decimal)`` if already known (:func:`parse_numeric_many`).
    """
    vals, miss, bad = parsed if parsed is not None else parse_numeric(col, decimal)
    present = int((~miss).sum())
    if present == 0:
        return ColumnInfo(name, "empty", int(miss.sum()), 0), (vals, miss)
    n_bad = int(bad.sum())
    if n_bad == 0:
        # distinct values as np.unique counts them (no NaN here; -0.0 == 0.0), without its overheads
        v = np.sort(vals[~miss])
        n_unique = 1 + int(np.count_nonzero(v[1:] != v[:-1])) if len(v) else 0
        return ColumnInfo(name, "numeric", int(miss.sum()), n_unique), (vals, miss)
    if strict and (present - n_bad) / present >= NUMERIC_MAJORITY:
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{source}{row_labels[i]}, column '{_short(name)}': '{_short(col.iloc[i])}' is not a number "
                        f"(the column is otherwise numeric)")
    cats, cmiss = parse_categorical(col)
    return ColumnInfo(name, "categorical", int(cmiss.sum()), len(set(cats[~cmiss]))), (cats, cmiss)


def propose_task(info: ColumnInfo, values) -> str:
    """classification for text targets or few (<= 20) integer values, else regression."""
    if info.kind != "numeric":
        return "classification"
    if info.n_unique > MAX_CLASS_INTEGERS:
        return "regression"
    vals, miss = values
    v = vals[~miss]
    if np.all(np.floor(v) == v):
        return "classification"
    return "regression"


def propose_numeric_many(infos: dict, bulk: dict) -> dict:
    """``{column: propose_task(info, bulk[column][:2])}`` for the numeric columns of ``infos`` (from
    :func:`analyse_numeric_many`), the integer check in one 2-D pass (a missing value is NaN there)."""
    names = [c for c, i in infos.items() if i.kind == "numeric"]
    out = {c: "regression" for c in names if infos[c].n_unique > MAX_CLASS_INTEGERS}
    few = [c for c in names if c not in out]
    if few:
        vals = np.stack([bulk[c][0] for c in few])
        whole = (np.floor(vals) == vals) | np.stack([bulk[c][1] for c in few])
        out.update({c: "classification" if k else "regression" for c, k in zip(few, whole.all(axis=1).tolist())})
    return out


def build_tabular(df: pd.DataFrame, spec, *, source: str = "", decimal: str = ".",
                  row_labels=None, default_target: str | None = None, extra: dict | None = None,
                  fixed: dict | None = None, split_order: bool = False, alloc=None):
    """Fit the tabular transform on the train split of ``df`` and produce all arrays.

    ``split_order`` (fitting only): ``x``/``y``/``kept`` come in split order (train rows, then
    val, then test) and ``splits`` are contiguous ranges, so each split is a view of one array,
    not a copy.  ``alloc(n_rows, width)``: the zeroed float32 array ``x`` is written into
    (a memory-mapped file for a large table), or ``None`` for a new one in RAM.

    With ``fixed`` (a saved preprocessing dict) nothing is fitted: its columns, statistics
    and class names are applied as they are (for evaluating new data).
    Returns ``(x, y, splits, preprocessing, report, kept)`` where ``x``/``y`` hold the kept
    rows, ``splits`` maps split name -> indices into them and ``kept`` are the kept rows'
    positions in ``df``.
    """
    src = f"{source}, " if source else ""
    row_labels = as_row_labels(row_labels, len(df))
    columns = [str(c) for c in df.columns]
    if len(set(columns)) != len(columns):
        dup = next(c for c in columns if columns.count(c) > 1)
        raise DataError(f"{src}column name '{_short(dup)}' appears twice")
    df = df.set_axis(columns, axis=1)  # a new frame (the caller's keeps its names), no copy of the data
    report: list[dict] = []
    if len(df) == 0:
        raise DataError(f"{source or 'data'}: no data rows")
    if fixed is not None:
        return _apply_tabular(df, spec, fixed, src, source, decimal, row_labels, report)
    target = spec.target if spec.target is not None else (default_target or columns[-1])
    if target not in columns:
        raise DataError(f"{src}target column '{_short(target)}' not found; columns are: "
                        f"{_short(', '.join(columns), 200)}")
    explicit = spec.features is not None
    if explicit:
        features = list(spec.features)
        missing_cols = [f for f in features if f not in columns]
        if missing_cols:
            raise DataError(f"{src}feature column(s) not found: {_short(', '.join(missing_cols), 120)}")
        if target in features:
            raise DataError(f"{src}column '{_short(target)}' cannot be both the target and a feature")
        if len(set(features)) != len(features):
            raise DataError(f"{src}a feature column is listed twice")
    else:
        features = [c for c in columns if c != target]
    groups = getattr(spec, "inputs", None)
    if groups:  # columns assigned to named inputs: those are the features
        features, explicit = _group_features(groups, columns, target, spec.features, src), True
    if not features:
        raise DataError(f"{src}no feature columns: the file needs at least one column besides the target '{_short(target)}'")
    text_cols = _chosen_text_columns(spec, columns, target, features, src)

    bulk = parse_numeric_many(df, [target, *[f for f in features if f not in (text_cols or ())]], decimal)

    # ---- target
    t_info, t_vals = analyse_column(LazyColumn(df, target), target, decimal, row_labels, src, strict=True,
                                    parsed=bulk.get(target))
    if t_info.kind == "empty":
        raise DataError(f"{src}target column '{_short(target)}' has no values")
    task = spec.task or propose_task(t_info, t_vals)
    if task == "regression" and t_info.kind != "numeric":
        raise DataError(f"{src}target column '{_short(target)}' holds text, so it cannot be a regression target")
    keep = ~t_vals[1]
    if (~keep).any():
        bad_rows = np.flatnonzero(~keep)
        report.append({"column": target, "rows": [str(row_labels[i]) for i in bad_rows[:20]],
                       "count": int(len(bad_rows)), "reason": "rows without a target value were dropped"})

    # ---- features
    infos: dict[str, ColumnInfo] = {}
    parsed: dict[str, tuple] = {}
    batch = analyse_numeric_many(bulk, [f for f in features if f in bulk], len(df))
    #: detected free-text columns: used as text when they are the only features (or in an input group),
    #: else read as before (one-hot or identifier-like), with a note; ``{column: (as text, as before)}``
    detected: dict[str, tuple] = {}
    for f in features:
        if text_cols is not None and f in text_cols:  # chosen as text: read as it is written
            infos[f], parsed[f] = _text_info(df[f], f)
            continue
        if f in batch:
            info, vals = batch[f], bulk[f][:2]
        else:
            info, vals = analyse_column(LazyColumn(df, f), f, decimal, row_labels, src, strict=True,
                                        parsed=bulk.get(f))
        if text_cols is None and info.kind == "categorical" and \
                may_be_text(info.n_unique, len(df) - info.n_missing, MAX_CATEGORIES) and \
                looks_like_text(vals[0], MAX_CATEGORIES):
            detected[f] = (_text_info(df[f], f), (info, vals))
            continue
        if info.kind == "empty":
            if explicit:
                raise DataError(f"{src}feature column '{_short(f)}' has no values")
            report.append({"column": f, "reason": "column has no values; not used as a feature"})
            continue
        if info.kind == "categorical":
            present = len(df) - info.n_missing
            if not explicit and info.n_unique > ID_LIKE_MIN and info.n_unique > 0.5 * present:
                report.append({"column": f, "reason": f"text column with {info.n_unique} distinct values "
                                                      f"(looks like an identifier); not used as a feature"})
                continue
            if info.n_unique > MAX_CATEGORIES:
                raise DataError(f"{src}column '{_short(f)}' has {info.n_unique} distinct text values; "
                                f"at most {MAX_CATEGORIES} can be one-hot encoded")
        infos[f] = info
        parsed[f] = vals
    if detected:
        alone = groups or not any(f in infos for f in features)
        for f, (as_text, before) in detected.items():
            if alone:
                infos[f], parsed[f] = as_text
            elif _categorical_as_before(f, *before, len(df), explicit, src, report):
                infos[f], parsed[f] = before
    features = [f for f in features if f in infos]
    if not features:
        raise DataError(f"{src}no usable feature columns (all were empty or identifier-like)")
    if spec.missing == "drop":
        any_missing = np.zeros(len(df), dtype=bool)
        for f in features:
            if infos[f].kind != "text":  # an empty text is a text (all padding), not a missing value
                any_missing |= parsed[f][1]
        dropped = any_missing & keep
        if dropped.any():
            rows = np.flatnonzero(dropped)
            report.append({"rows": [str(row_labels[i]) for i in rows[:20]], "count": int(len(rows)),
                           "reason": "rows with missing feature values were dropped"})
        keep &= ~any_missing
    kept = np.flatnonzero(keep)
    if len(kept) == 0:
        raise DataError(f"{source or 'data'}: no rows left after dropping rows with missing values")

    # ---- labels
    if task == "classification":
        if t_info.kind == "numeric":
            raw = t_vals[0][kept]
            uniq = np.unique(raw)
            class_names = [class_label(v) for v in uniq]
            y_all = np.searchsorted(uniq, raw).astype(np.int64)
            raw_names = class_names
        else:
            raw = t_vals[0][kept]
            class_names = natural_sorted(set(raw))
            index = {c: i for i, c in enumerate(class_names)}
            y_all = np.array([index[v] for v in raw], dtype=np.int64)
            raw_names = class_names
        if len(class_names) < 2:
            raise DataError(f"{src}target column '{_short(target)}' has only one class "
                            f"('{_short(raw_names[0])}'); classification needs at least two")
        y_for_split = y_all
    else:
        class_names = None
        tv = t_vals[0][kept]
        big = np.abs(tv) > FLOAT32_MAX
        if big.any():
            i = int(kept[np.flatnonzero(big)[0]])
            raise DataError(f"{src}{row_labels[i]}, column '{_short(target)}': {tv[big][0]:g} is too large "
                            f"for 32-bit floats")
        y_all = tv.astype(np.float32).reshape(-1, 1)
        y_for_split = None
    splits = split_indices(len(kept), spec.val_split, spec.test_split, spec.seed, y_for_split,
                           what=source or "data")
    train_rows = kept[splits["train"]]

    # ---- fit on TRAIN rows
    cols = []
    fitted = _fit_numeric_many(parsed, [f for f in features if f in batch and infos[f].kind == "numeric"],
                               train_rows, spec)
    for f in features:
        info = infos[f]
        if f in fitted:  # what the branch below gives a column without missing values
            fill, shift, scale = fitted[f]
            cols.append({"name": f, "type": "numeric", "fill": fill, "shift": shift, "scale": scale})
        elif info.kind == "numeric":
            vals, miss = parsed[f]
            train_miss = miss[train_rows]
            tv = vals[train_rows][~train_miss]
            stats = None
            if len(tv) == 0:
                fill = 0.0
            elif spec.missing == "median":
                fill = float(np.median(tv))
            else:
                stats = _mean_std(tv)
                fill = stats[0]
            filled = np.where(train_miss, fill, vals[train_rows])
            if spec.scaling == "standard":
                # with nothing missing ``filled`` holds the values of ``tv``: same statistics
                shift, sd = stats if stats is not None and not train_miss.any() else _mean_std(filled)
                scale = sd if sd > 1e-12 * max(1.0, abs(shift)) else 1.0
            elif spec.scaling == "minmax":
                lo, hi = float(filled.min()), float(filled.max())
                shift, scale = lo, (hi - lo) if hi - lo > 1e-12 * max(1.0, abs(lo)) else 1.0
            else:
                shift, scale = 0.0, 1.0
            n_miss = int(miss[kept].sum())
            if n_miss and spec.missing != "drop":
                report.append({"column": f, "count": n_miss,
                               "reason": f"missing values filled with the training {spec.missing} ({fill:g})"})
            cols.append({"name": f, "type": "numeric", "fill": fill, "shift": shift, "scale": scale})
        elif info.kind == "categorical":
            cats, cmiss = parsed[f]
            train_cats = natural_sorted({c for c, m in zip(cats[train_rows], cmiss[train_rows]) if not m})
            unseen = {c for c, m in zip(cats[kept], cmiss[kept]) if not m} - set(train_cats)
            if unseen:
                report.append({"column": f, "count": len(unseen),
                               "reason": "categories not in the training rows are encoded as all zeros: "
                                         + _short(", ".join(natural_sorted(unseen)), 80)})
            cols.append({"name": f, "type": "categorical", "categories": train_cats})
        elif info.kind == "text":
            cols.append(_fit_text(f, parsed[f], kept, train_rows, spec, src, report))
    feature_names = []
    for c in cols:
        if c["type"] == "numeric":
            feature_names.append(c["name"])
        elif c["type"] == "text":
            feature_names.extend(f"{c['name']}[{i + 1}]" for i in range(int(c["tokenizer"]["max_len"])))
        else:
            feature_names.extend(f"{c['name']}={v}" for v in c["categories"])
    if not feature_names:
        raise DataError(f"{src}the feature columns give no inputs (text columns without training values)")
    has_text = any(c["type"] == "text" for c in cols)
    prep = {
        "version": PREP_VERSION if has_text else 1, "kind": "tabular", "task": task, "target": target,
        "class_names": class_names, "columns": cols, "feature_names": feature_names,
        "input_shape": [len(feature_names)], "scaling": spec.scaling, "missing": spec.missing,
        "decimal": decimal,
    }
    if groups:
        widths = {c["name"]: n for c, n in zip(cols, _widths(cols))}
        prep["inputs"] = [{"name": g, "columns": list(cs)} for g, cs in groups.items()]
        prep["input_shapes"] = {g: [sum(widths[c] for c in cs)] for g, cs in groups.items()}
        prep["input_shape"] = next(iter(prep["input_shapes"].values()))
    if extra:
        prep.update(extra)
    pre = Preprocessor.from_dict(prep)
    # the columns parsed in bulk convert the kept rows to the same values (below 2**53 an
    # integer is parsed exactly either way, and typed columns are already numbers)
    every = len(kept) == len(df)  # kept is sorted: then it is every row, and no copy is needed
    known = {f: (v, m, b) if every else (v[kept], m[kept], b[kept])
             for f, (v, m, b) in bulk.items() if f in infos and infos[f].kind == "numeric"}
    order = np.concatenate([np.asarray(r, dtype=np.int64) for r in splits.values()]) if split_order else None
    out = alloc(len(kept), len(feature_names)) if alloc is not None else None
    x_all = pre._transform_frame(df if every else df.iloc[kept], row_labels if every else row_labels[kept], src,
                                 parsed=known, out=out, order=order)
    if order is not None:
        y_all, kept = y_all[order], kept[order]
        ends = np.cumsum([len(r) for r in splits.values()])
        splits = {s: np.arange(e - len(r), e) for (s, r), e in zip(splits.items(), ends)}
    if has_text:
        _text_rates(prep, x_all, splits)
    return x_all, y_all, splits, prep, report, kept


# ------------------------------------------------------------------ several inputs
def _group_features(groups: dict, columns, target, features, src) -> list:
    """The feature columns of ``inputs`` (column groups by Input name), checked against the table."""
    listed = [c for cs in groups.values() for c in cs]
    for name, cs in groups.items():
        missing_cols = [c for c in cs if c not in columns]
        if missing_cols:
            raise DataError(f"{src}input '{_short(name)}': column(s) not found: {_short(', '.join(missing_cols), 120)}")
        if target in cs:
            raise DataError(f"{src}input '{_short(name)}': column '{_short(target)}' is the target, not a feature")
    if features is not None:
        outside = [c for c in features if c not in listed]
        if outside:
            raise DataError(f"{src}feature column(s) in no input: {_short(', '.join(outside), 120)}; "
                            f"add them to an input or leave them out")
    return listed


def _widths(cols: list) -> list:
    from engine.data.preprocess import _width  # noqa: PLC0415 - cycle

    return [_width(c) for c in cols]


# ------------------------------------------------------------------ text columns
def _chosen_text_columns(spec, columns, target, features, src) -> set | None:
    """The columns ``spec.text_columns`` names (``None``: detect them), checked against the table."""
    chosen = getattr(spec, "text_columns", None)
    if chosen is None:
        return None
    missing_cols = [c for c in chosen if c not in columns]
    if missing_cols:
        raise DataError(f"{src}text column(s) not found: {_short(', '.join(missing_cols), 120)}")
    if target in chosen:
        raise DataError(f"{src}column '{_short(target)}' cannot be both the target and a text column")
    outside = [c for c in chosen if c not in features]
    if outside:
        raise DataError(f"{src}text column(s) not among the feature columns: {_short(', '.join(outside), 120)}")
    return set(chosen)


def _text_info(col: pd.Series, name: str) -> tuple[ColumnInfo, tuple]:
    from engine.data.text import text_cells  # noqa: PLC0415

    texts = np.array(text_cells(col.to_numpy(dtype=object)), dtype=object)
    empty = np.array([not t.strip() for t in texts], dtype=bool)
    return ColumnInfo(name, "text", int(empty.sum()), len(set(texts[~empty]))), (texts, empty)


def _categorical_as_before(f, info, vals, n_rows, explicit, src, report) -> bool:
    """A detected free-text column beside other features: read as a category column, as before text
    columns existed (one-hot, or left out as identifier-like), with a note; whether it is used."""
    present = n_rows - info.n_missing
    if not explicit and info.n_unique > ID_LIKE_MIN and info.n_unique > 0.5 * present:
        report.append({"column": f, "reason": "free-text column beside other features; not used as a feature "
                                              "(choose it as a text column to add its token ids)"})
        return False
    if info.n_unique > MAX_CATEGORIES:
        raise DataError(f"{src}column '{_short(f)}' has {info.n_unique} distinct text values; "
                        f"at most {MAX_CATEGORIES} can be one-hot encoded")
    report.append({"column": f, "reason": "free-text column beside other features; one-hot encoded by value "
                                          "(choose it as a text column for token ids)"})
    return True


def _fit_text(name, parsed, kept, train_rows, spec, src, report) -> dict:
    """The tokenizer of one text column, fitted on the training rows; notes on what it could not keep."""
    from engine.data.text import TextVocab  # noqa: PLC0415

    texts, empty = parsed
    vocab = TextVocab.fit(list(texts[train_rows]), mode=getattr(spec, "text_mode", "auto"),
                          max_tokens=int(getattr(spec, "text_vocab", 20_000)),
                          max_len=getattr(spec, "text_max_len", None), what=f"{src}column '{_short(name)}'")
    r = vocab.report
    if r["distinct_tokens"] > r["kept_tokens"]:
        report.append({"column": name, "count": int(r["distinct_tokens"]),
                       "reason": f"{r['distinct_tokens']:,} distinct tokens in the training texts; the "
                                 f"{r['kept_tokens']:,} most frequent are kept and the others read as the "
                                 f"unknown-token id (raise the vocabulary size to keep more)"})
    if r["truncated_texts"]:
        report.append({"column": name, "count": int(r["truncated_texts"]),
                       "reason": f"training texts longer than {vocab.max_len} tokens are cut after "
                                 f"{vocab.max_len} tokens"})
    n_empty = int(empty[kept].sum())
    if n_empty:
        report.append({"column": name, "count": n_empty,
                       "reason": "empty text cells are read as a text without tokens (all padding)"})
    return {"name": name, "type": "text", "tokenizer": vocab.to_dict()}


def _text_rates(prep: dict, x_all: np.ndarray, splits: dict) -> None:
    """Unknown-token shares per split, into each text column's tokenizer report (what the panel shows)."""
    from engine.data.text import oov_rate  # noqa: PLC0415

    j = 0
    for c in prep["columns"]:
        w = 1 if c["type"] == "numeric" else int(c["tokenizer"]["max_len"]) if c["type"] == "text" \
            else len(c["categories"])
        if c["type"] == "text":
            for s, rows in splits.items():
                c["tokenizer"]["report"][f"oov_rate_{s}"] = oov_rate(x_all[rows, j:j + w]) if len(rows) else None
        j += w


def _apply_tabular(df, spec, fixed, src, source, decimal, row_labels, report):
    """Labels and arrays for new data under a saved (already fitted) transform."""
    if fixed.get("kind") != "tabular":
        raise DataError(f"{src}the saved preprocessing is for images, not tables")
    target = fixed.get("target")
    if isinstance(target, list):
        target = "_y0"  # multi-output npz regression keeps its targets outside the frame
    if target not in df.columns:
        raise DataError(f"{src}target column '{_short(target)}' not found; columns are: "
                        f"{_short(', '.join(df.columns), 200)}")
    task = fixed["task"]
    t_info, (t_vals, t_miss) = analyse_column(df[target], target, decimal, row_labels, src, strict=True)
    keep = ~t_miss
    if task == "classification":
        names = list(fixed["class_names"])
        index = {n: i for i, n in enumerate(names)}
        labels = [None if m else (class_label(v) if t_info.kind == "numeric" else v)
                  for v, m in zip(t_vals, t_miss)]
        y_full = np.array([index.get(lab, -1) if lab is not None else -1 for lab in labels], dtype=np.int64)
        unknown = keep & (y_full < 0)
        if unknown.any():
            rows = np.flatnonzero(unknown)
            report.append({"column": target, "rows": [str(row_labels[i]) for i in rows[:20]], "count": int(len(rows)),
                           "reason": "rows whose class was not in the training data were dropped: "
                                     + _short(", ".join(sorted({str(labels[i]) for i in rows})), 80)})
        keep &= y_full >= 0
    else:
        if t_info.kind != "numeric":
            raise DataError(f"{src}target column '{_short(target)}' holds text, so it cannot be a regression target")
        y_full = t_vals
    if (t_miss).any():
        rows = np.flatnonzero(t_miss)
        report.append({"column": target, "rows": [str(row_labels[i]) for i in rows[:20]], "count": int(len(rows)),
                       "reason": "rows without a target value were dropped"})
    kept = np.flatnonzero(keep)
    if len(kept) == 0:
        raise DataError(f"{source or 'data'}: no rows with a usable target value")
    if task == "classification":
        y_all = y_full[kept]
    else:
        y_all = y_full[kept].astype(np.float32).reshape(-1, 1)
    splits = split_indices(len(kept), spec.val_split, spec.test_split, spec.seed,
                           y_all if task == "classification" else None, what=source or "data", min_train=1)
    prep = Preprocessor.from_dict(fixed)
    x_all = Preprocessor({**prep.d, "decimal": decimal})._transform_frame(df.iloc[kept], row_labels[kept], src)
    return x_all, y_all, splits, prep.to_dict(), report, kept
