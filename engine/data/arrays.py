"""Array data sets: the built-in samples and ``.npz`` files (read by the ``sample`` and ``npz`` sources)."""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from engine import safe_json
from engine.data.csvio import _tabular_dataset
from engine.data.errors import DataError
from engine.data.images import build_image_dataset
from engine.data.samples import CLASS_COLUMN, IMAGE_SAMPLES, SAMPLE_NAMES, load_shipped, sample_frame
from engine.data.split import split_indices
from engine.data.tabular import build_tabular, class_label
from engine.files import os_reason, regular_file_problem


def _tabular_from_frame(spec, df, source, default_target, extra=None, fixed=None):
    x, y, splits, prep, report, kept = build_tabular(df, spec, source=source, default_target=default_target,
                                                     extra=extra, fixed=fixed)
    return _tabular_dataset(spec, x, y, splits, prep, report, kept)


def _image_array_dataset(spec, x, y, class_names, value_max, source, memory_budget, extra=None, fixed=None):
    if spec.target is not None or spec.features is not None:
        raise DataError(f"{source}: target/features do not apply to image data")
    if spec.task == "regression":
        raise DataError(f"{source}: image data sets are for classification")
    report = []
    if fixed is not None:
        if fixed.get("kind") != "images":
            raise DataError(f"{source}: the saved preprocessing is for tables, not images")
        if list(x.shape[1:]) != list(fixed["input_shape"]):
            raise DataError(f"{source}: images are {tuple(x.shape[1:])}, the saved preprocessing expects "
                            f"{tuple(fixed['input_shape'])}")
        index = {n: i for i, n in enumerate(fixed["class_names"])}
        mapped = np.array([index.get(class_names[int(v)], -1) for v in y], dtype=np.int64)
        if (mapped < 0).any():
            report.append({"count": int((mapped < 0).sum()),
                           "reason": "images whose class was not in the training data were dropped"})
        keep = np.flatnonzero(mapped >= 0)
        if len(keep) == 0:
            raise DataError(f"{source}: no images of a class known to the saved preprocessing")
        sp = split_indices(len(keep), spec.val_split, spec.test_split, spec.seed, mapped[keep], what=source,
                           min_train=1)
        return build_image_dataset(x, mapped, fixed["class_names"], spec,
                                   rows_by_split={s: keep[v] for s, v in sp.items()}, value_max=value_max,
                                   report=report, memory_budget=memory_budget, fixed=fixed)
    sp = split_indices(len(y), spec.val_split, spec.test_split, spec.seed, y, what=source)
    return build_image_dataset(x, y, class_names, spec, rows_by_split=sp, value_max=value_max, report=report,
                               memory_budget=memory_budget, extra=extra)


def load_sample(spec, memory_budget, fixed=None):
    name = spec.path.strip().lower()
    if name.startswith("sample:"):
        name = name[7:]
    if name not in SAMPLE_NAMES:
        raise DataError(f"unknown sample '{spec.path}' (expected one of {', '.join(SAMPLE_NAMES)})")
    if name in IMAGE_SAMPLES:
        d = load_shipped(name)
        return _image_array_dataset(spec, d["x"], d["y"], d["class_names"], 16.0, f"sample:{name}", memory_budget,
                                    extra={"source": d["source"]}, fixed=fixed)
    return _tabular_from_frame(spec, sample_frame(name, spec), f"sample:{name}", CLASS_COLUMN, fixed=fixed)


def load_npz(spec, memory_budget, fixed=None):
    path = Path(spec.path)
    name = path.name
    if not path.exists():
        raise DataError(f"{spec.path}: file not found")
    problem = regular_file_problem(path)
    if problem:
        raise DataError(problem)
    try:
        with np.load(path, allow_pickle=False) as z:
            if "x" not in z.files and "y" in z.files and any(f.startswith("x_") for f in z.files):
                named = {f[2:]: z[f] for f in z.files if f.startswith("x_")}
                return _npz_named(spec, named, z["y"], _npz_class_names(z, name), name, fixed)
            if "x" not in z.files or "y" not in z.files:
                raise DataError(f"{name}: needs arrays named 'x' and 'y' (has: {', '.join(z.files) or 'none'})")
            x, y = z["x"], z["y"]
            class_names = None
            if "class_names" in z.files:
                try:
                    class_names = [str(c) for c in safe_json.loads(str(z["class_names"][()]), "class_names")]
                except (ValueError, TypeError):
                    raise DataError(f"{name}: 'class_names' must be a JSON list of strings") from None
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise DataError(f"{name}: not a readable .npz file ({os_reason(exc)})") from None
    if x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        raise DataError(f"{name}: 'x' and 'y' must be numeric arrays")
    if x.ndim < 2 or x.ndim > 4:
        raise DataError(f"{name}: 'x' must have shape (N, features), (N, H, W) or (N, H, W, C); got {x.shape}")
    if len(x) != len(y):
        raise DataError(f"{name}: 'x' has {len(x)} rows but 'y' has {len(y)}")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{name}: 'x' contains NaN or infinite values")
    if x.ndim >= 3:  # images (N, H, W[, C]) or float sequences (N, L, C)
        if x.ndim == 3 and x.dtype.kind in "biu":  # integer pixels without a channel axis
            x = x[..., None]
        y = np.asarray(y)
        if y.ndim != 1 or y.dtype.kind == "f" and not np.all(np.floor(y) == y):
            raise DataError(f"{name}: image data need integer class labels 'y' of shape (N,)")
        y = y.astype(np.int64)
        uniq = np.unique(y)
        if class_names is not None and uniq.min() >= 0 and uniq.max() < len(class_names):
            names = class_names
        else:
            names = [class_label(v) for v in uniq]
            y = np.searchsorted(uniq, y)
        if len(names) < 2:
            raise DataError(f"{name}: 'y' has only one class; classification needs at least two")
        vmax = {"u1": 255.0, "u2": 65535.0}.get(f"{x.dtype.kind}{x.dtype.itemsize}", 1.0)
        if x.dtype == np.uint8:
            vmax = 255.0
        return _image_array_dataset(spec, x, y, names, vmax, name, memory_budget, fixed=fixed)
    # tables
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    cols = [f"x{j + 1}" for j in range(x.shape[1])]
    df = pd.DataFrame(x.astype(np.float64), columns=cols)
    if y.ndim == 1:
        target_names = ["y"]
        if y.dtype.kind in "biu" and class_names is not None and y.min() >= 0 and y.max() < len(class_names):
            df["y"] = np.asarray(class_names, dtype=object)[y]
        else:
            df["y"] = y
    elif y.ndim == 2 and y.dtype.kind == "f":
        return _npz_multi_regression(spec, x, y, name, fixed)
    else:
        raise DataError(f"{name}: 'y' must have shape (N,) or (N, k); got {y.shape}")
    task = spec.task or ("classification" if y.dtype.kind in "biu" else "regression")
    from dataclasses import replace  # noqa: PLC0415

    spec2 = replace(spec, task=task, target=spec.target or target_names[0])
    ds = _tabular_from_frame(spec2, df, name, "y", fixed=fixed)
    ds.spec = spec
    return ds


def _npz_class_names(z, name):
    if "class_names" not in z.files:
        return None
    try:
        return [str(c) for c in safe_json.loads(str(z["class_names"][()]), "class_names")]
    except (ValueError, TypeError):
        raise DataError(f"{name}: 'class_names' must be a JSON list of strings") from None


def _npz_named(spec, named: dict, y, class_names, name, fixed=None):
    """``x_<input name>`` arrays: one per Input layer of a graph with several inputs, used as they are
    (no scaling: scale them beforehand; integer arrays of token ids feed an Embedding)."""
    from engine.data.dataset import Dataset  # noqa: PLC0415

    if spec.target is not None or spec.features is not None or spec.inputs is not None:
        raise DataError(f"{name}: target/features/inputs do not apply to named arrays (x_<input name>)")
    y = np.asarray(y)
    for k, a in named.items():
        if not k:
            raise DataError(f"{name}: the array 'x_' needs an input name after 'x_' (e.g. x_text)")
        if a.dtype.kind not in "biuf" or a.ndim < 2:
            raise DataError(f"{name}: 'x_{k}' must be a numeric array of shape (N, ...); got {a.dtype} {a.shape}")
        if len(a) != len(y):
            raise DataError(f"{name}: 'x_{k}' has {len(a)} rows but 'y' has {len(y)}")
        if not np.all(np.isfinite(a)):
            raise DataError(f"{name}: 'x_{k}' contains NaN or infinite values")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    task = spec.task or ("classification" if y.dtype.kind in "biu" and y.ndim == 1 else "regression")
    if fixed is not None:
        if fixed.get("kind") != "arrays":
            raise DataError(f"{name}: the saved preprocessing is not for named arrays (x_<input name>)")
        want = {g["name"]: list(g["shape"]) for g in fixed.get("inputs") or []}
        missing = [k for k in want if k not in named]
        if missing:
            raise DataError(f"{name}: no array 'x_{missing[0]}' for the Input '{missing[0]}' "
                            f"(has: {', '.join('x_' + k for k in named)})")
        named = {k: named[k] for k in want}
        for k, shape in want.items():
            if list(named[k].shape[1:]) != shape:
                raise DataError(f"{name}: 'x_{k}' has samples of shape {tuple(named[k].shape[1:])}, the model "
                                f"expects {tuple(shape)}")
        task = fixed["task"]
    report: list = []
    if task == "classification":
        if y.ndim != 1 or y.dtype.kind == "f" and not np.all(np.floor(y) == y):
            raise DataError(f"{name}: classification needs integer class labels 'y' of shape (N,)")
        y = y.astype(np.int64)
        uniq = np.unique(y)
        if class_names is not None and len(uniq) and uniq.min() >= 0 and uniq.max() < len(class_names):
            names, labels = class_names, [class_names[int(v)] for v in y]
        else:
            names = [class_label(v) for v in uniq]
            labels = [class_label(v) for v in y]
        if fixed is not None:
            names = list(fixed["class_names"])
        index = {n: i for i, n in enumerate(names)}
        y = np.array([index.get(lab, -1) for lab in labels], dtype=np.int64)
        keep = np.flatnonzero(y >= 0)
        if len(keep) < len(y):
            report.append({"count": int(len(y) - len(keep)),
                           "reason": "rows whose class was not in the training data were dropped"})
        if fixed is None and len(names) < 2:
            raise DataError(f"{name}: 'y' has only one class; classification needs at least two")
        n_out = len(names)
    else:
        if y.dtype.kind not in "biuf" or y.ndim not in (1, 2):
            raise DataError(f"{name}: regression needs numeric targets 'y' of shape (N,) or (N, k)")
        y = y.astype(np.float32).reshape(len(y), -1)
        keep, names, n_out = np.arange(len(y)), None, y.shape[1]
    if len(keep) == 0:
        raise DataError(f"{name}: no rows with a usable target value")
    sp = split_indices(len(keep), spec.val_split, spec.test_split, spec.seed,
                       y[keep] if task == "classification" else None, what=name, min_train=1 if fixed else 2)
    rows = {s: keep[i] for s, i in sp.items()}
    shapes = {k: [int(v) for v in a.shape[1:]] for k, a in named.items()}
    prep = {"version": 2, "kind": "arrays", "task": task, "class_names": names,
            "inputs": [{"name": k, "shape": v} for k, v in shapes.items()], "input_shapes": shapes,
            "input_shape": next(iter(shapes.values()))}
    x = {s: {k: np.ascontiguousarray(a[r], dtype=np.float32) for k, a in named.items()} for s, r in rows.items()}
    return Dataset(spec=spec, task=task, input_shape=tuple(prep["input_shape"]), n_outputs=n_out, class_names=names,
                   feature_names=None, preprocessing=prep, report=report, x=x, y={s: y[r] for s, r in rows.items()},
                   split_indices=rows, input_shapes=shapes)


def _npz_multi_regression(spec, x, y, name, fixed=None):
    """(N, k) float targets: regression on k outputs, features via the tabular path."""
    cols = [f"x{j + 1}" for j in range(x.shape[1])]
    df = pd.DataFrame(x.astype(np.float64), columns=cols)
    df["_y0"] = y[:, 0]
    from dataclasses import replace  # noqa: PLC0415

    spec2 = replace(spec, task="regression", target="_y0", features=spec.features)
    ds = _tabular_from_frame(spec2, df, name, "_y0", fixed=fixed)
    kept = {s: ds.split_indices[s] for s in ("train", "val", "test")}
    ds.y_train, ds.y_val, ds.y_test = (y[kept[s]].astype(np.float32) for s in ("train", "val", "test"))
    ds.n_outputs = y.shape[1]
    ds.preprocessing["target"] = [f"y{j + 1}" for j in range(y.shape[1])]
    ds.spec = spec
    return ds
