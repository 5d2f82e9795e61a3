"""Permutation importance for table models, on the validation split.

For each feature group the values of that group are shuffled across the rows
(one permutation shared by all columns of the group, so a one-hot encoded column
stays a valid one-hot row), the model is evaluated again, and the importance is
how much the score got worse: ``loss(shuffled) − loss`` for ``metric="loss"``,
``score − score(shuffled)`` for ``accuracy`` and ``r2``, ``error(shuffled) − error``
for ``mae``/``rmse``.  This is repeated ``repeats`` times with a seeded generator;
the mean and the standard deviation of the repeats (the error bar) are returned.

Groups (:func:`feature_groups`): one per original column when the project's
preprocessing one-hot encodes text columns (``per="column"``), else one per model
input feature (``per="feature"``).
"""
from __future__ import annotations

import numpy as np

from engine.evaluate import class_probabilities, regression_metrics
from engine.explain.trace import ExplainError, check_cancel

CLASS_METRICS = ("loss", "accuracy")
REGRESSION_METRICS = ("loss", "mae", "rmse", "r2")
HIGHER_IS_BETTER = {"accuracy", "r2"}
#: at most this many validation rows are used (a seeded sample of them)
MAX_ROWS = 20000


def feature_groups(n_features: int, preprocessing: dict | None = None, feature_names=None,
                   per: str = "column") -> list[dict]:
    """``[{"name", "features": [indices]}]`` covering the ``n_features`` model inputs once each."""
    if per not in ("column", "feature"):
        raise ExplainError(f"per must be 'column' or 'feature', got {per!r}")
    names = list(feature_names) if feature_names is not None and len(feature_names) == n_features \
        else [f"feature {i}" for i in range(n_features)]
    cols = (preprocessing or {}).get("columns") if isinstance(preprocessing, dict) else None
    if per == "column" and cols:
        groups, j = [], 0
        for c in cols:
            w = 1 if c.get("type") == "numeric" else \
                int((c.get("tokenizer") or {}).get("max_len", 0)) if c.get("type") == "text" else \
                len(c.get("categories") or [])
            if w == 0:
                continue
            groups.append({"name": str(c["name"]), "features": list(range(j, j + w))})
            j += w
        if j == n_features:
            return groups
    return [{"name": names[i], "features": [i]} for i in range(n_features)]


def _score(model, x, y, task: str, metric: str, batch_size: int = 1024) -> float:
    out = np.asarray(model.predict(x, batch_size=batch_size), dtype=np.float64)
    if task == "classification":
        p = class_probabilities(model, out)
        yi = np.asarray(y).astype(np.int64).reshape(-1)
        if metric == "accuracy":
            return float(np.mean(p.argmax(axis=1) == yi))
        return float(np.mean(-np.log(np.clip(p[np.arange(len(yi)), yi], 1e-12, 1.0))))
    pred = out.reshape(len(out), -1)
    m = regression_metrics(pred, np.asarray(y, dtype=np.float64).reshape(pred.shape))
    return float(m["mse" if metric == "loss" else metric])


def permutation_importance(model, x: np.ndarray, y: np.ndarray, *, task: str, groups: list[dict] | None = None,
                           metric: str = "loss", repeats: int = 5, seed: int = 0, cancel=None,
                           progress=None) -> dict:
    """Importance of each group of input columns of a table model (see the module docstring).

    Returns ``{"metric", "baseline", "repeats", "rows", "features": [{"name", "features",
    "importance", "std", "values"}]}``, most important first.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ExplainError(f"permutation importance is for table rows (features,), the data has samples of "
                           f"shape {tuple(x.shape[1:])}")
    if len(x) < 2:
        raise ExplainError("permutation importance needs at least two rows (use a validation split)")
    allowed = CLASS_METRICS if task == "classification" else REGRESSION_METRICS
    if metric not in allowed:
        raise ExplainError(f"metric {metric!r} does not fit {task}; choose one of {', '.join(allowed)}")
    repeats = max(1, int(repeats))
    rng = np.random.default_rng(seed)
    if len(x) > MAX_ROWS:
        rows = np.sort(rng.choice(len(x), MAX_ROWS, replace=False))
        x, y = x[rows], np.asarray(y)[rows]
    x = np.ascontiguousarray(x, dtype=model.dtype)
    groups = groups or feature_groups(x.shape[1])
    sign = -1.0 if metric in HIGHER_IS_BETTER else 1.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        base = _score(model, x, y, task, metric)
        results = []
        total = len(groups) * repeats
        done = 0
        work = x.copy()
        for g in groups:
            cols = np.asarray(g["features"], dtype=np.int64)
            vals = []
            for _ in range(repeats):
                check_cancel(cancel)
                perm = rng.permutation(len(x))
                work[:, cols] = x[perm][:, cols]
                vals.append(sign * (_score(model, work, y, task, metric) - base))
                done += 1
                if progress:
                    progress(done / total, "")
            work[:, cols] = x[:, cols]
            v = np.asarray(vals)
            results.append({"name": g["name"], "features": [int(c) for c in cols], "importance": float(v.mean()),
                            "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "values": [float(a) for a in v]})
    results.sort(key=lambda r: -r["importance"])
    return {"metric": metric, "baseline": base, "repeats": repeats, "rows": int(len(x)), "features": results}
