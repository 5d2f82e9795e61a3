"""Evaluation metrics and batch prediction to files.

* :func:`evaluate_arrays` -- JSON-able metrics for a classification or regression
  model on arrays (loss, accuracy, per-class precision/recall/F1, confusion matrix;
  or MAE, RMSE, R²).
* :func:`regression_pairs` -- predicted and true values for a scatter plot.
* :func:`misclassified` -- the most confident mistakes, for a gallery.
* :func:`predict_file` -- a CSV file, an image, a folder of images or an ``.npz``
  in; a CSV of the same rows plus ``prediction`` and ``prob_<class>`` columns out,
  using exactly the preprocessing saved with the project.

Class outputs are read as probabilities when the model ends in softmax/sigmoid and
as logits (softmax/sigmoid applied here) otherwise.  A single sigmoid output is a
two-class model: probability of class 1 is the output, of class 0 its complement.
"""
from __future__ import annotations

import csv
import io
import math
import re
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.sources import SOURCES, saved_form
from engine.data.sources.base import table_transform_csv
from engine.errors import UserError
from engine.files import os_reason
from engine.numerics import softmax

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class EvaluateError(UserError):
    """Inputs that cannot be evaluated or predicted; the message is for the user."""


# ----------------------------------------------------------------------- helpers
def _predict(model, x, batch_size: int = 1024) -> np.ndarray:
    """Evaluation-mode outputs, batch by batch (works for lazy image arrays and named inputs too)."""
    n = n_rows(x)
    outs = []
    for i in range(0, n, batch_size):
        if isinstance(x, dict):  # several inputs: {Input name: array}
            xb = {k: np.asarray(v[i:i + batch_size], dtype=model.dtype) for k, v in x.items()}
        else:
            xb = np.asarray(x[i:i + batch_size], dtype=model.dtype)
        outs.append(model.forward(xb))
    if not outs:
        return np.zeros((0, *model.output_shape), dtype=model.dtype)
    return np.concatenate(outs, axis=0)


def n_rows(x) -> int:
    """Samples in model input: an array, or ``{Input name: array}`` for several inputs."""
    if isinstance(x, dict):
        return len(next(iter(x.values()))) if x else 0
    return len(x)


def check_model_input(model, x, source: str | None = None) -> None:
    """Refuse input the model cannot take: the wrong sample shape, or named inputs that are not its
    Inputs.  ``source``: the file's name in messages (``None``: rows typed in)."""
    if isinstance(x, dict) or len(model.input_ids) > 1:
        want = model.input_shapes
        have = {k: tuple(v.shape[1:]) for k, v in x.items()} if isinstance(x, dict) else {}
        missing = [n for n in want if n not in have]
        if missing:
            if source:
                raise EvaluateError(f"the model's Input layer(s) {', '.join(missing)} get no data from {source}")
            raise EvaluateError(f"the model's Input layer(s) {', '.join(missing)} get no data from the rows")
        for name, shape in want.items():
            if have[name] != tuple(shape):
                raise EvaluateError(f"the model's Input '{name}' expects samples of shape {tuple(shape)}, "
                                    f"its data has {have[name]}")
        return
    want = tuple(model.input_shape)
    if tuple(x.shape[1:]) != want:
        if source:
            raise EvaluateError(f"the model expects samples of shape {want}, {source} gives {tuple(x.shape[1:])}")
        raise EvaluateError(f"the model expects samples of shape {want}, the rows give {tuple(x.shape[1:])}")


def _stable_sigmoid(z: np.ndarray) -> np.ndarray:
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


def class_probabilities(model, out: np.ndarray) -> np.ndarray:
    """Model outputs -> float64 (N, K) class probabilities (K >= 2)."""
    out = np.asarray(out, dtype=np.float64)
    if out.ndim != 2:
        raise EvaluateError(f"a classifier must output one vector per sample, this model outputs "
                            f"{tuple(out.shape[1:])}; add Flatten/Dense before the output")
    act = model.output_activation
    if out.shape[1] == 1:
        p = out[:, 0] if act == "sigmoid" else _stable_sigmoid(out[:, 0])
        return np.stack([1.0 - p, p], axis=1)
    if act == "softmax":
        return out
    if act == "sigmoid":  # independent sigmoids: normalise for a single-label reading
        s = out.sum(axis=1, keepdims=True)
        return out / np.where(s > 0, s, 1.0)
    return softmax(out, axis=1)


def _class_targets(y, k: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == k and k > 1:  # one-hot
        y = y.argmax(axis=1)
    y = y.reshape(-1)
    if y.size and not np.all(np.isfinite(y.astype(np.float64))):
        raise EvaluateError("class labels must be whole numbers")
    yi = y.astype(np.int64)
    if y.size and (np.any(yi != y) or yi.min() < 0 or yi.max() >= k):
        raise EvaluateError(f"class labels must be whole numbers from 0 to {k - 1}")
    return yi


def _check_len(x, y) -> None:
    if n_rows(x) != len(y):
        raise EvaluateError(f"{n_rows(x)} samples but {len(y)} targets")


def _names(class_names, k: int) -> list[str]:
    if class_names is None:
        return [str(i) for i in range(k)]
    names = [str(c) for c in class_names]
    if len(names) != k:
        raise EvaluateError(f"{len(names)} class names for a model with {k} classes")
    return names


# ---------------------------------------------------------------------- metrics
def confusion_matrix(true: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """``cm[i, j]`` = number of samples of true class ``i`` predicted as ``j``."""
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (np.asarray(true, np.int64), np.asarray(pred, np.int64)), 1)
    return cm


def classification_report(cm: np.ndarray, names: Sequence[str]) -> dict:
    """Per-class precision/recall/F1/support and their macro averages (0 where undefined)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)
    support = cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / np.where(predicted > 0, predicted, 1), 0.0)
        recall = np.where(support > 0, tp / np.where(support > 0, support, 1), 0.0)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
    per_class = [{"name": n, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                 for n, p, r, f, s in zip(names, precision, recall, f1, support)]
    macro = {"precision": float(precision.mean()), "recall": float(recall.mean()),
             "f1": float(f1.mean())} if len(names) else {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    return {"per_class": per_class, "macro": macro}


def regression_metrics(pred: np.ndarray, true: np.ndarray) -> dict:
    """MAE, RMSE and R² (over all outputs) of same-shaped float arrays."""
    pred = np.asarray(pred, dtype=np.float64)
    err = pred - np.asarray(true, dtype=np.float64)
    n = err.shape[0]
    ss_res = float(np.sum(err ** 2))
    ss_tot = float(np.sum((true - np.mean(true, axis=0)) ** 2)) if n else 0.0
    mse = float(np.mean(err ** 2)) if n else 0.0
    return {"mae": float(np.mean(np.abs(err))) if n else 0.0, "rmse": math.sqrt(mse), "mse": mse,
            "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0}


def _regression_targets(y, pred: np.ndarray) -> np.ndarray:
    t = np.asarray(y, dtype=np.float64)
    if t.size != pred.size:
        raise EvaluateError(f"targets of shape {t.shape} do not match outputs of shape {pred.shape}")
    return t.reshape(pred.shape)


def evaluate_arrays(model, x, y, *, task: str, class_names=None, loss: str | None = None,
                    batch_size: int = 1024) -> dict:
    """Metrics of ``model`` on ``(x, y)`` as a JSON-able dict.

    Classification (``y`` class indices (N,) or one-hot (N, K)): ``loss``
    (mean cross-entropy of the probabilities), ``accuracy``, ``per_class``
    (precision, recall, f1, support), ``macro`` averages, ``confusion``
    (list of lists, rows = true class), ``class_names`` and ``n``.

    Regression: ``loss`` (MSE unless ``loss`` names another engine loss),
    ``mae``, ``rmse``, ``r2`` (over all outputs), ``n``.
    """
    _check_len(x, y)
    out = _predict(model, x, batch_size)
    n = int(out.shape[0])
    if task == "classification":
        probs = class_probabilities(model, out)
        k = probs.shape[1]
        names = _names(class_names, k)
        true = _class_targets(y, k)
        pred = probs.argmax(axis=1)
        if n:
            p_true = probs[np.arange(n), true]
            ce = float(np.mean(-np.log(np.clip(p_true, 1e-12, 1.0))))
        else:
            ce = 0.0
        cm = confusion_matrix(true, pred, k)
        rep = classification_report(cm, names)
        res = {"task": "classification", "n": n, "loss": ce,
               "accuracy": float(np.mean(pred == true)) if n else 0.0,
               **rep, "confusion": cm.tolist(), "class_names": names}
        if loss is not None and loss not in ("cce", "sparse_cce", "bce", "cross_entropy"):
            res["loss_name"] = loss
            res["loss"] = _engine_loss(loss, out, np.eye(out.shape[1])[true] if out.shape[1] > 1
                                       else true.reshape(-1, 1))
        return res
    if task != "regression":
        raise EvaluateError(f"unknown task {task!r}; expected classification or regression")
    pred = out.astype(np.float64).reshape(n, -1)
    t = _regression_targets(y, pred)
    m = regression_metrics(pred, t)
    res = {"task": "regression", "n": n, "loss": m.pop("mse"), **m}
    if loss is not None and loss != "mse":
        res["loss_name"] = loss
        res["loss"] = _engine_loss(loss, out.reshape(n, -1), t)
    return res


def _engine_loss(name: str, out: np.ndarray, target: np.ndarray) -> float:
    from engine.losses import LossError, get_loss

    try:
        return float(get_loss(name).value(np.asarray(out, np.float64), np.asarray(target, np.float64)))
    except LossError as exc:
        raise EvaluateError(str(exc)) from None


def regression_pairs(model, x, y, batch_size: int = 1024) -> dict:
    """``{"pred": (N, k) float64, "true": (N, k) float64}`` for a predicted-vs-true plot."""
    _check_len(x, y)
    out = _predict(model, x, batch_size).astype(np.float64)
    pred = out.reshape(out.shape[0], -1)
    return {"pred": pred, "true": _regression_targets(y, pred)}


def misclassified(model, x, y, k: int = 16, *, class_names=None, batch_size: int = 1024) -> dict:
    """The ``k`` most confident mistakes, most confident first.

    Returns JSON-able lists: ``indices`` (rows of ``x``), ``true``, ``predicted``
    (class indices), ``confidence`` (probability of the predicted class) and,
    when ``class_names`` is given, ``true_names``/``predicted_names``.
    """
    _check_len(x, y)
    probs = class_probabilities(model, _predict(model, x, batch_size))
    true = _class_targets(y, probs.shape[1])
    pred = probs.argmax(axis=1)
    conf = probs[np.arange(len(pred)), pred]
    wrong = np.flatnonzero(pred != true)
    order = wrong[np.argsort(-conf[wrong], kind="stable")][:max(int(k), 0)]
    res: dict[str, Any] = {"indices": order.tolist(), "true": true[order].tolist(),
                           "predicted": pred[order].tolist(), "confidence": conf[order].tolist()}
    if class_names is not None:
        names = _names(class_names, probs.shape[1])
        res["true_names"] = [names[i] for i in res["true"]]
        res["predicted_names"] = [names[i] for i in res["predicted"]]
    return res


# ------------------------------------------------------------------- predict_file
def _preprocessor(project):
    pre = getattr(project, "preprocessing", None)
    if not pre:
        return None
    from engine.data.errors import DataError
    from engine.data.preprocess import Preprocessor

    try:
        return Preprocessor.from_dict(pre)
    except DataError as exc:
        raise EvaluateError(f"the project's preprocessing cannot be used: {exc}") from None


def _task_and_names(model, project, pre) -> tuple[str, list[str] | None]:
    names = None
    task = None
    if pre is not None:
        task = pre.task
        names = pre.class_names
    meta = getattr(project, "metadata", None) or {}
    if task is None:
        task = meta.get("task")
    if names is None:
        names = meta.get("class_names")
    if task is None:
        task = "classification" if (model.output_activation in ("softmax", "sigmoid")) else "regression"
    return task, names


def _image_paths(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                       key=lambda p: p.name.casefold())
        if not files:
            raise EvaluateError(f"the folder {path} has no image files ({', '.join(IMAGE_SUFFIXES)})")
        return files
    return [path]


def _wrap_data_error(fn, *args):
    from engine.data.errors import DataError

    try:
        return fn(*args)
    except DataError as exc:
        raise EvaluateError(str(exc)) from None


def _load_input(model, pre, path: Path, encoding: str = "auto", meta: dict | None = None, sheet: str | None = None):
    """-> (x, frame-or-None, leading columns dict); ``meta`` receives a CSV's delimiter/encoding."""
    suffix = path.suffix.lower()
    if path.is_dir() or suffix in IMAGE_SUFFIXES:
        if pre is None:
            raise EvaluateError("the project has no saved image preprocessing, so images cannot be predicted")
        files = _image_paths(path)
        from engine.data.images import transform_images

        x = _wrap_data_error(transform_images, pre, [str(p) for p in files])
        return x, None, {"file": [p.name for p in files]}
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                if pre is not None and getattr(saved_form(pre), "named_arrays", False):
                    named = {f[2:]: z[f] for f in z.files if f.startswith("x_")}
                    x = _wrap_data_error(pre.transform_named, named)
                    return x, None, {"row": list(range(n_rows(x)))}
                if "x" not in z.files:
                    raise EvaluateError(f"{path.name} has no array named 'x' (it has: {', '.join(z.files)})")
                x = z["x"]
        except EvaluateError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:
            raise EvaluateError(f"{path.name} cannot be read as .npz ({os_reason(exc)})") from None
        if pre is not None:
            x = _wrap_data_error(pre.transform_array, x)
        return np.asarray(x, dtype=np.float32), None, {"row": list(range(len(x)))}
    if suffix in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls"):
        if pre is not None:
            form = saved_form(pre)   # a series: every window of recent rows, and the row each one ends on
            transform_csv = form.transform_csv if form is not None else table_transform_csv
            x, df = _wrap_data_error(transform_csv, pre, str(path), encoding, meta, sheet)
            return x, df, {}
        from engine.data.csvio import read_csv_frame

        df, m, _labels = _wrap_data_error(read_csv_frame, str(path), encoding, sheet)
        if meta is not None:
            meta.update(m)
        num = df
        if m["decimal"] == "," and "sheet" not in m:
            num = df.apply(lambda c: c.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
        try:
            x = num.to_numpy(dtype=np.float32)
        except (ValueError, TypeError):
            raise EvaluateError(f"{path.name}: without saved preprocessing every column must be a number") from None
        return x, df, {}
    raise EvaluateError(f"cannot predict from {path.name}: use a .csv or .xlsx file, an image, a folder of images or "
                        f"an .npz with an array 'x'")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(text: str) -> str:
    """``text`` for a CSV cell that spreadsheet tools will not run as a formula.

    Text starting with ``= + - @``, a tab or a carriage return gets a leading ``'`` (OWASP's
    advice for CSV injection); plain numbers such as ``-1`` stay as they are.
    """
    text = str(text)
    if text.startswith(_FORMULA_START) and _NUMBER.fullmatch(text) is None:
        return "'" + text
    return text


def _training_file_options(project, path: Path, encoding: str, sheet: str | None) -> tuple[str, str | None]:
    """Predicting the project's own data file again: its saved encoding and sheet apply.

    Only for that very file (a chosen encoding such as GB18030 decodes many other files
    strictly but wrongly, so it is never applied to a different one); an encoding or a
    sheet given for this call wins.
    """
    spec = getattr(project, "data_spec", None) or {}
    source = SOURCES.get(spec.get("kind")) if isinstance(spec, dict) else None
    saved = spec.get("path") if source is not None and "encoding" in source.options else None   # a text table
    if not saved:
        return encoding, sheet
    try:
        same = Path(saved).resolve() == path.resolve()
    except (OSError, ValueError):
        same = False
    if not same:
        return encoding, sheet
    if (encoding or "auto").strip().lower() == "auto" and spec.get("encoding"):
        encoding = str(spec["encoding"])
    if sheet is None and spec.get("sheet"):
        sheet = str(spec["sheet"])
    return encoding, sheet


def predict_file(model, project, data_path, out_csv, batch_size: int = 1024, encoding: str = "auto",
                 out_encoding: str | None = None, sheet: str | None = None) -> int:
    """Predict every row/image of ``data_path`` and write ``out_csv`` atomically.

    The output has the input's columns (CSV), a ``file`` column (images) or a
    ``row`` column (.npz), then ``prediction`` (the class name, or the value for
    regression; ``prediction_<i>`` for several regression outputs) and, for
    classification, one ``prob_<class>`` column per class.  Returns the number of
    rows written.

    ``encoding`` is the input CSV's text encoding (``"auto"``: detected).  The output
    is written in the input's encoding, delimiter and decimal mark (a UTF-8 input with
    a BOM gives a UTF-8 output with a BOM, so Excel opens it); images and ``.npz``
    give UTF-8 with commas, an ``.xlsx`` sheet (``sheet``, default the first) UTF-8 with a
    BOM.  ``out_encoding`` overrides the output encoding.  For the project's own data
    file the saved encoding and sheet are used unless given here.
    """
    from engine.io import ProjectError

    path = Path(data_path)
    if not path.exists():
        raise EvaluateError(f"{path} does not exist")
    pre = _preprocessor(project)
    meta: dict = {}
    encoding, sheet = _training_file_options(project, path, encoding, sheet)
    x, df, lead = _load_input(model, pre, path, encoding, meta, sheet)
    check_model_input(model, x, path.name)
    out = _predict(model, x, batch_size)
    task, names = _task_and_names(model, project, pre)
    n = int(out.shape[0])
    cols: dict[str, list] = {}
    if df is not None:
        for c in df.columns:
            cols[str(c)] = df[c].tolist()
    cols.update(lead)
    if task == "classification":
        probs = class_probabilities(model, out)
        k = probs.shape[1]
        names = _names(names, k) if names is not None and len(names) == k else [str(i) for i in range(k)]
        names = [spreadsheet_safe(nm) for nm in names]
        cls = probs.argmax(axis=1)
        cols["prediction"] = [names[i] for i in cls]
        for j, name in enumerate(names):
            key = f"prob_{name}"
            while key in cols:
                key = "_" + key
            cols[key] = [float(v) for v in probs[:, j]]
    elif pre is not None and getattr(saved_form(pre), "prediction_columns", None):  # a forecast, in target units
        cols.update(_wrap_data_error(saved_form(pre).prediction_columns, pre.d, out))
    else:
        flat = out.reshape(n, -1).astype(np.float64)
        if flat.shape[1] == 1:
            cols["prediction"] = flat[:, 0].tolist()
        else:
            for j in range(flat.shape[1]):
                cols[f"prediction_{j}"] = flat[:, j].tolist()
    delimiter = meta.get("delimiter", ",")
    comma = meta.get("decimal") == ","
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    keys = list(cols)
    w.writerow(keys)
    for i in range(n):
        w.writerow(["" if _is_nan(cols[c][i]) else _fmt(cols[c][i], comma) for c in keys])
    from engine.data.encoding import encode_for, normalise
    from engine.data.errors import DataError
    try:
        enc = normalise(out_encoding) if out_encoding else meta.get("encoding", "utf-8")
        if enc == "auto":
            enc = meta.get("encoding", "utf-8")
        data = encode_for(buf.getvalue(), enc, Path(out_csv).name)
    except DataError as exc:
        raise EvaluateError(str(exc)) from None
    from engine.io import atomic_write_bytes
    try:
        atomic_write_bytes(out_csv, data)
    except ProjectError as exc:
        raise EvaluateError(f"could not write {out_csv}: {exc}") from None
    except OSError as exc:
        raise EvaluateError(f"could not write {out_csv}: {os_reason(exc)}") from None
    return n


def _is_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _fmt(v, comma: bool = False):
    if isinstance(v, float):
        return repr(v).replace(".", ",") if comma else repr(v)
    return v


def predict_rows(model, project, rows: Sequence[dict]) -> list[dict]:
    """Predict raw rows (``{column: text}``, as a CSV would have them; a sentence for a text column).

    Returns one ``{"prediction": class name or value, "probabilities": {class: p}}`` per row
    (``probabilities`` for classification only; several regression outputs give a list).
    Uses the project's saved preprocessing, so a text is tokenised exactly as in training.
    """
    import pandas as pd

    pre = _preprocessor(project)
    if pre is None or not getattr(saved_form(pre), "rows", False):
        raise EvaluateError("rows can only be predicted with a model trained on a table (CSV or sample)")
    unknown = sorted({str(k) for r in rows for k in r} - set(pre.columns))
    if unknown:
        raise EvaluateError(f"unknown column(s): {', '.join(unknown)}; the model reads {', '.join(pre.columns)}")
    df = pd.DataFrame([{c: ("" if r.get(c) is None else str(r.get(c))) for c in pre.columns} for r in rows],
                      columns=pre.columns, dtype=object)
    x = _wrap_data_error(pre.transform_frame, df)
    check_model_input(model, x)
    out = _predict(model, x)
    task, names = _task_and_names(model, project, pre)
    results = []
    if task == "classification":
        probs = class_probabilities(model, out)
        k = probs.shape[1]
        names = _names(names, k) if names is not None and len(names) == k else [str(i) for i in range(k)]
        for p in probs:
            results.append({"prediction": names[int(p.argmax())],
                            "probabilities": {n: float(v) for n, v in zip(names, p)}})
    else:
        for v in out.reshape(len(out), -1).astype(np.float64):
            results.append({"prediction": float(v[0]) if v.size == 1 else [float(u) for u in v]})
    return results
