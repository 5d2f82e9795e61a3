"""Evaluation: one split policy for the command line and the app."""
from __future__ import annotations

import numpy as np

from engine.jobs.model import JobError, check_input_shape, trained_model

SPLITS = ("auto", "test", "val", "train", "all")
SPLIT_TEXT = {"test": "test split", "val": "validation split", "train": "training split"}


def choose_split(dataset, asked: str = "auto") -> tuple[str, str]:
    """``(split, where)``: the split to measure and a sentence saying why.

    ``auto`` takes the test split if it has samples, else the validation split, else the
    training split (and says what that means); a named split must have samples.
    """
    if asked not in ("auto", "test", "val", "train"):
        raise JobError(f"unknown split {asked!r}; choose auto, test, val or train")
    if asked != "auto":
        if not dataset.n(asked):
            raise JobError(f"the {SPLIT_TEXT[asked]} is empty; choose another split or set its fraction")
        return asked, f"{SPLIT_TEXT[asked]} ({dataset.n(asked)} samples)"
    if dataset.n("test"):
        return "test", f"test split ({dataset.n('test')} samples)"
    if dataset.n("val"):
        return "val", (f"validation split ({dataset.n('val')} samples; there is no test split — set a test "
                       "fraction for a score on data never used while training)")
    return "train", (f"training split ({dataset.n('train')} samples; there is no test or validation split, so "
                     "this only shows how well the model fits its training data)")


def evaluate(graph, weights, data_spec, *, preprocessing: dict | None = None, loss: str | None = None,
             split: str = "auto", details: bool = False, gallery: int = 0, progress=None, cancel=None) -> dict | None:
    """Measure a trained model on data.

    ``data_spec``: a :class:`engine.data.DataSpec` or its dict; ``preprocessing``: the
    project's saved transform (new data is scaled as the training data was); ``split``:
    one of :data:`SPLITS` (``all``: every row of the data, for a new file).  Returns
    ``{"task", "split", "where", "n", "metrics"}`` -- with ``details`` also regression
    ``pred``/``true`` pairs, and for images the ``gallery`` most confidently wrong samples
    as indices (``gallery_indices``, ``total_wrong``) -- or ``None`` when cancelled.
    """
    from engine.data import DataSpec, load_dataset
    from engine.evaluate import evaluate_arrays, misclassified, regression_pairs

    if split not in SPLITS:
        raise JobError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    spec = data_spec if isinstance(data_spec, DataSpec) else DataSpec.from_dict(data_spec)
    if split == "all":
        spec = DataSpec.from_dict({**spec.to_dict(), "val_split": 0.0, "test_split": 0.0})
    _say(progress, "loading the data")
    ds = load_dataset(spec, progress=progress, cancel=cancel, preprocessing=preprocessing)
    if cancel is not None and cancel.is_set():
        return None
    _say(progress, "compiling the model")
    model = trained_model(graph, weights)
    check_input_shape(model, ds)
    if split == "all":
        part, where = "train", f"all rows ({ds.n('train')} samples)"
    else:
        part, where = choose_split(ds, split)
    x, y = ds.get_batch(part, np.arange(ds.n(part)))
    series = _series_units(ds, model, y)
    if series is not None:  # forecasts: metrics and plots in the targets' own units
        model, y = series
    _say(progress, "running the model")
    metrics = evaluate_arrays(model, x, y, task=ds.task, class_names=ds.class_names, loss=loss)
    res = {"task": ds.task, "split": "all" if split == "all" else part, "where": where, "n": int(ds.n(part)),
           "metrics": metrics, "report": list(getattr(ds, "report", None) or [])}
    if details:
        if ds.task == "regression":
            pairs = regression_pairs(model, x, y)
            res["pred"], res["true"] = pairs["pred"], pairs["true"]
            if series is not None:
                res["series"] = _series_plot(ds, part, pairs)
        elif len(ds.input_shape) == 3 and gallery > 0:
            mis = misclassified(model, x, y, k=gallery, class_names=metrics["class_names"])
            res["gallery"] = mis
            res["x"] = x
            res["preprocessing"] = ds.preprocessing
            cm = np.asarray(metrics["confusion"])
            res["total_wrong"] = int(cm.sum() - np.trace(cm))
    return res


def _series_units(ds, model, y):
    """For a time-series forecast: the model with outputs in the targets' units, and ``y`` likewise."""
    from engine.data.sources import saved_form

    prep = ds.preprocessing or {}
    form = saved_form(prep)
    if form is None or form.in_units is None or ds.task != "regression":
        return None
    return form.in_units(model, prep, y)


def _series_plot(ds, part: str, pairs: dict) -> dict:
    """Predicted vs actual over time: per output (``<target>+<k>``), the row each value is for."""
    prep = ds.preprocessing
    info = getattr(ds, "series", None) or {}
    first = np.asarray((info.get("target_rows") or {}).get(part, np.arange(len(pairs["pred"]))), dtype=np.int64)
    n_t = max(len(prep.get("target") or [1]), 1)
    names = prep.get("output_names") or [str(j) for j in range(pairs["pred"].shape[1])]
    # output j is target j % n_t, j // n_t steps after the window's first target row
    rows = [first + j // n_t for j in range(pairs["pred"].shape[1])]
    t = info.get("t")
    if t is not None:  # plotted over the time column (seconds since 1970 for dates), else over row numbers
        x, x_kind = [np.asarray(t, dtype=np.float64)[r].tolist() for r in rows], info.get("time_kind") or "number"
    else:
        x, x_kind = [(r + 1).tolist() for r in rows], "row"
    return {"names": list(names), "rows": [r.tolist() for r in rows], "x": x, "x_kind": x_kind,
            "pred": pairs["pred"].T.tolist(), "true": pairs["true"].T.tolist(), "time_column": prep.get("time_column")}


def _say(progress, text: str) -> None:
    if progress is not None:
        progress(None, text)
