"""One explanation run over a trained project: what the CLI writes and the Analyze panel shows.

:func:`explain` gathers, for a loaded data set: the analysis table (with the data
checks), the activations of one chosen sample, its saliency for one class, the unit
maps over the input plane (two-feature models) and the permutation importance (table
models).  Arrays stay NumPy arrays; :func:`to_json` turns the result into JSON
(activations larger than :data:`MAX_JSON_VALUES` values are summarised, their full
picture is in the PNGs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.explain.activations import attention_weights, sample_activations, unit_maps
from engine.explain.analyze import analyze
from engine.explain.importance import feature_groups, permutation_importance
from engine.explain.saliency import DEFAULT_STEPS, saliency
from engine.explain.trace import ExplainError, check_cancel

#: activations with more values than this are written to JSON as shape + statistics only
MAX_JSON_VALUES = 4096
#: rows used for the mean baseline
MEAN_ROWS = 2048


@dataclass
class Options:
    split: str = "val"              # where the sample and the importance rows come from (val, train, test)
    sample: int = 0                 # row of that split
    target: int | None = None       # class (None: the predicted one)
    method: str = "integrated_gradients"
    baseline: str = "zeros"
    steps: int = DEFAULT_STEPS
    score: str = "logit"
    repeats: int = 5
    metric: str = "loss"
    per: str = "column"
    seed: int = 0
    importance: bool = True
    batch_size: int = 32


def pick_split(dataset, split: str) -> str:
    """``split`` if it has rows, else the first of val/train/test that does."""
    for s in (split, "val", "train", "test"):
        if s in ("train", "val", "test") and dataset.n(s):
            return s
    raise ExplainError("the data set has no rows")


def mean_sample(dataset, rows: int = MEAN_ROWS) -> np.ndarray:
    """Mean training sample (a seeded subset of at most ``rows`` rows)."""
    n = dataset.n("train")
    if n == 0:
        raise ExplainError("the mean baseline needs training rows")
    idx = np.arange(n) if n <= rows else np.sort(np.random.default_rng(0).choice(n, rows, replace=False))
    x, _ = dataset.get_batch("train", idx)
    return np.asarray(x, dtype=np.float64).mean(axis=0)


def explain(model, dataset, spec, *, options: Options | None = None, loss: str | None = None,
            cancel=None, progress=None) -> dict:
    """Everything about one trained model and one sample (see the module docstring)."""
    o = options or Options()
    if len(model.input_ids) > 1:
        raise ExplainError(f"the explanation of one sample takes a model with one Input layer; this one has "
                           f"{len(model.input_ids)} ({', '.join(model.input_names)}); 'analyze' checks it")
    step = _Steps(progress)
    task = getattr(dataset, "task", None)
    result: dict = {"task": task, "class_names": getattr(dataset, "class_names", None),
                    "output_id": model.output_id}
    step(0.0, "analysing the layers")
    result["analysis"] = analyze(spec, model, dataset, batch_size=o.batch_size, task=task, loss=loss,
                                 cancel=cancel)
    split = pick_split(dataset, o.split)
    n = dataset.n(split)
    if not 0 <= o.sample < n:
        raise ExplainError(f"sample {o.sample} does not exist; the {split} split has rows 0 to {n - 1}")
    x, y = dataset.get_batch(split, np.array([o.sample]))
    x0 = np.asarray(x[0])
    result["sample"] = {"split": split, "index": int(o.sample), "input": x0,
                        "label": _label(y[0], task)}
    check_cancel(cancel)
    step(0.15, "computing activations")
    acts = sample_activations(model, x0)
    from engine.layers.attention import MultiHeadAttention
    for a in acts:
        if isinstance(model.layers[a["id"]], MultiHeadAttention):
            a["attention"] = attention_weights(model, a["id"], x0)
    result["activations"] = acts
    out = model.forward(x0[None])[0]
    result["sample"]["output"] = np.asarray(out, dtype=np.float64)
    check_cancel(cancel)
    step(0.25, "computing saliency")
    mean = mean_sample(dataset) if o.baseline == "mean" else None
    result["saliency"] = saliency(model, x0, target=o.target, method=o.method, baseline=o.baseline, mean=mean,
                                  steps=o.steps, score=o.score, task=task, cancel=cancel,
                                  progress=step.part(0.25, 0.55))
    groups = None
    if len(model.input_shape) == 1 and getattr(dataset, "feature_names", None) is not None:
        groups = feature_groups(model.input_shape[0], getattr(dataset, "preprocessing", None),
                                dataset.feature_names, o.per)
        attr = np.asarray(result["saliency"]["attributions"]).reshape(-1)
        result["saliency"]["groups"] = [{"name": g["name"], "value": float(attr[g["features"]].sum())}
                                        for g in groups]
    if tuple(model.input_shape) == (2,) and len(model.input_ids) == 1:
        check_cancel(cancel)
        step(0.55, "mapping the units over the input plane")
        pts, _ = dataset.get_batch("train", np.arange(min(dataset.n("train"), 5000)))
        result["unit_maps"] = unit_maps(model, pts, cancel=cancel)
    if o.importance and len(model.input_shape) == 1 and not _token_model(model):
        check_cancel(cancel)
        step(0.6, "permutation importance")
        isplit = pick_split(dataset, o.split)
        xi, yi = dataset.get_batch(isplit, np.arange(dataset.n(isplit)))
        if groups is None:
            groups = feature_groups(model.input_shape[0], getattr(dataset, "preprocessing", None),
                                    getattr(dataset, "feature_names", None), o.per)
        metric = o.metric
        result["importance"] = {"split": isplit, **permutation_importance(
            model, xi, yi, task=task or "regression", groups=groups, metric=metric, repeats=o.repeats,
            seed=o.seed, cancel=cancel, progress=step.part(0.6, 1.0))}
    step(1.0, "")
    return result


def _token_model(model) -> bool:
    from engine.explain.saliency import attribution_node
    try:
        return attribution_node(model) != model.input_ids[0]
    except ExplainError:
        return True


def _label(y, task):
    y = np.asarray(y)
    if task == "classification":
        return int(y.reshape(-1)[0])
    return [float(v) for v in y.reshape(-1)]


class _Steps:
    def __init__(self, progress):
        self.progress = progress

    def __call__(self, frac, text):
        if self.progress:
            self.progress(frac, text)

    def part(self, lo, hi):
        if not self.progress:
            return None
        return lambda f, text="": self.progress(lo + (hi - lo) * f, text)


# ------------------------------------------------------------------------ JSON
def _stats(a: np.ndarray) -> dict:
    a = np.asarray(a, dtype=np.float64)
    fin = a[np.isfinite(a)]
    if not fin.size:
        return {"min": None, "max": None, "mean": None, "zero_fraction": None}
    return {"min": float(fin.min()), "max": float(fin.max()), "mean": float(fin.mean()),
            "zero_fraction": float(np.mean(a == 0))}


def _array(a, limit=MAX_JSON_VALUES):
    a = np.asarray(a)
    if a.size > limit:
        return None
    return _clean(a.astype(np.float64).tolist())


def _clean(v):
    """``v`` with non-finite floats as ``None`` (JSON has no NaN), NumPy scalars as Python numbers."""
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


clean_json = _clean


def to_json(result: dict) -> dict:
    """A JSON-able copy of :func:`explain`'s result (non-finite numbers become null)."""
    out = {"task": result.get("task"), "class_names": result.get("class_names"),
           "analysis": result.get("analysis")}
    s = result.get("sample")
    if s:
        out["sample"] = {"split": s["split"], "index": s["index"], "label": s["label"],
                         "output": _array(s["output"]), "input": _array(s["input"])}
    acts = []
    for a in result.get("activations", []):
        row = {"id": a["id"], "shape": a["shape"], "kind": a["kind"], **_stats(a["values"]),
               "values": _array(a["values"])}
        if "attention" in a:
            row["attention"] = _array(a["attention"], limit=64 * MAX_JSON_VALUES)
        acts.append(row)
    out["activations"] = acts
    sal = result.get("saliency")
    if sal:
        out["saliency"] = {k: (_array(v, limit=1 << 22) if isinstance(v, np.ndarray) else _clean(v))
                           for k, v in sal.items() if k != "raw"}
    um = result.get("unit_maps")
    if um:
        out["unit_maps"] = {"x_range": um["x_range"], "y_range": um["y_range"], "res": um["res"],
                            "layers": [{"id": l["id"], "units": l["units"]} for l in um["layers"]]}
    if result.get("importance"):
        out["importance"] = result["importance"]
    return _clean(out)
