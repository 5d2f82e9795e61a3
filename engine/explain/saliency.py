"""Saliency of one input for one class: gradient × input and integrated gradients.

Both use the model's own backward pass (the layers' ``backprop`` closures) in
evaluation mode.  The explained quantity ``f`` is one output of the model for the
chosen class: with ``score="logit"`` the output layer runs without its final
softmax/sigmoid (the class's logit), with ``score="output"`` it is what the model
outputs (a probability after softmax/sigmoid).  A single sigmoid unit is a
two-class model: class 1 is its value, class 0 its negation (logit) or
complement (probability).  Regression models explain output number ``target``.

* gradient × input: ``a = x ⊙ ∂f/∂x`` (for a linear model ``a_i = W_ic x_i``).
* integrated gradients (Sundararajan et al. 2017):
  ``a = (x − b) ⊙ ∫₀¹ ∂f/∂x (b + α(x − b)) dα``, the integral by the trapezoid rule
  over ``steps`` intervals, so ``Σ a ≈ f(x) − f(b)`` (completeness; the gap is returned).

Token ids have no gradient: when the input feeds an Embedding, attributions are
computed on the embedding vectors (baseline: zero vectors) and summed per token.
The interpolation points go through the model in chunks that keep the activations
of forward and backward pass within ``memory_bytes`` (:data:`MEMORY_BUDGET`).
"""
from __future__ import annotations

import math

import numpy as np

from engine.explain.trace import ExplainError, as_inputs, backward, check_cancel, run

METHODS = ("integrated_gradients", "gradient_x_input")
BASELINES = ("zeros", "mean", "blur")
SCORES = ("logit", "output")
#: activations of one chunk of interpolation points (forward values, kept inputs of the
#: backprop closures and gradients, estimated as 3x the outputs of every node) stay below this
MEMORY_BUDGET = 256 * 1024 * 1024
DEFAULT_STEPS = 32


def attribution_node(model) -> str:
    """The node attributions are computed at: the input, or the Embedding the input feeds."""
    from engine.layers.embedding import Embedding

    if len(model.input_ids) != 1:
        raise ExplainError(f"saliency needs a model with one input, this one has {len(model.input_ids)}")
    inp = model.input_ids[0]
    users = [n for n in model.order if inp in model.sources[n]]
    if users and all(isinstance(model.layers[n], Embedding) for n in users):
        if len(users) != 1:
            raise ExplainError("saliency of token ids needs one Embedding after the input")
        return users[0]
    return inp


def per_sample_bytes(model) -> int:
    return 3 * model.dtype.itemsize * int(sum(math.prod(s) for s in model.shapes.values()))


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of an (H, W, C) image over H and W (edges reflected)."""
    img = np.asarray(img, dtype=np.float64)
    r = max(1, int(math.ceil(3 * sigma)))
    t = np.arange(-r, r + 1, dtype=np.float64)
    w = np.exp(-0.5 * (t / sigma) ** 2)
    w /= w.sum()
    out = img
    for axis in (0, 1):
        n = out.shape[axis]
        pad = [(0, 0)] * out.ndim
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="reflect" if n > 1 else "edge")
        acc = np.zeros_like(out)
        for i, wi in enumerate(w):
            sl = [slice(None)] * out.ndim
            sl[axis] = slice(i, i + n)
            acc += wi * p[tuple(sl)]
        out = acc
    return out


def make_baseline(model, x: np.ndarray, kind: str, mean: np.ndarray | None = None,
                  sigma: float | None = None) -> np.ndarray:
    """A baseline input for integrated gradients, shaped like one sample ``x``."""
    if kind == "zeros":
        return np.zeros_like(x)
    if kind == "mean":
        if mean is None:
            raise ExplainError("the mean baseline needs the training data (its mean sample)")
        m = np.asarray(mean, dtype=x.dtype)
        if m.shape != x.shape:
            raise ExplainError(f"the mean sample has shape {m.shape}, the input {x.shape}")
        return m.copy()
    if kind == "blur":
        if x.ndim != 3:
            raise ExplainError("the blurred baseline is for images (height, width, channels)")
        s = sigma if sigma is not None else max(x.shape[0], x.shape[1]) / 8.0
        return gaussian_blur(x, max(float(s), 0.5)).astype(x.dtype)
    raise ExplainError(f"unknown baseline {kind!r}; choose one of {', '.join(BASELINES)}")


class _Scalar:
    """f and df/d(output) for the chosen class, on a batch of outputs."""

    def __init__(self, model, target: int, score: str, task: str | None):
        if score not in SCORES:
            raise ExplainError(f"unknown score {score!r}; choose one of {', '.join(SCORES)}")
        self.logits = score == "logit" and model.output_activation in ("softmax", "sigmoid")
        out = tuple(model.output_shape)
        if len(out) != 1:
            raise ExplainError(f"saliency needs one output vector per sample, this model outputs {out}")
        k = out[0]
        self.sign = 1.0
        self.complement = False
        binary = k == 1 and (task == "classification" or model.output_activation == "sigmoid")
        if binary:
            if target not in (0, 1):
                raise ExplainError(f"class {target} does not exist; this model has classes 0 and 1")
            self.index = 0
            if target == 0:
                self.sign = -1.0
                self.complement = not self.logits and model.output_activation == "sigmoid"
        else:
            if not 0 <= target < k:
                raise ExplainError(f"output {target} does not exist; the model has outputs 0 to {k - 1}")
            self.index = target
        self.k = k

    def value(self, out: np.ndarray) -> np.ndarray:
        v = out[:, self.index].astype(np.float64)
        if self.complement:
            return 1.0 - v
        return self.sign * v

    def grad(self, n: int, dtype) -> np.ndarray:
        dy = np.zeros((n, self.k), dtype=dtype)
        dy[:, self.index] = self.sign
        return dy


def predicted_class(model, x: np.ndarray, task: str | None = None) -> int:
    out = np.asarray(model.forward(as_inputs(model, x[None])[0]))[0]
    if task == "regression":
        return 0
    if out.size == 1:
        if model.output_activation == "sigmoid":
            return int(out[0] > 0.5)
        return int(out[0] > 0) if task == "classification" else 0
    return int(np.argmax(out))


def _path_grads(model, where: str, base: np.ndarray, point: np.ndarray, alphas: np.ndarray,
                weights: np.ndarray, fn: _Scalar, x_ids=None, cancel=None, memory_bytes: int = MEMORY_BUDGET,
                progress=None):
    """f at ``base + α (point − base)`` for every α, and ``Σ w_α ∂f/∂(where)`` at those points.

    The points are made chunk by chunk and the gradients summed as they come, so memory
    holds one chunk of activations and one input-sized sum, whatever the number of steps.
    """
    n = len(alphas)
    chunk = max(1, int(memory_bytes // max(per_sample_bytes(model), 1)))
    fs = np.empty(n, dtype=np.float64)
    acc = np.zeros(point.shape, dtype=np.float64)
    inp = model.input_ids[0]
    diff = point - base
    for s in range(0, n, chunk):
        check_cancel(cancel)
        e = min(n, s + chunk)
        a = alphas[s:e].reshape(-1, *([1] * point.ndim))
        pts = (base[None] + a * diff[None]).astype(model.dtype)
        if where == inp:
            values, backs = run(model, pts, logits=fn.logits, backward=True)
        else:
            ids = np.broadcast_to(x_ids, (e - s, *x_ids.shape[1:]))
            values, backs = run(model, ids, logits=fn.logits, backward=True, override={where: pts})
        out = values[model.output_id]
        fs[s:e] = fn.value(out)
        g = backward(model, backs, fn.grad(e - s, out.dtype), {where}).get(where)
        if g is not None:
            acc += np.tensordot(weights[s:e], np.asarray(g, dtype=np.float64), axes=(0, 0))
        del values, backs, pts
        if progress:
            progress(e / n, "")
    return fs, acc


def saliency(model, x, *, target: int | None = None, method: str = "integrated_gradients",
             baseline: str = "zeros", mean: np.ndarray | None = None, steps: int = DEFAULT_STEPS,
             score: str = "logit", task: str | None = None, memory_bytes: int = MEMORY_BUDGET,
             cancel=None, progress=None) -> dict:
    """Attributions of one sample ``x`` (shape = the model's input shape) for class ``target``.

    Returns ``{"method", "target", "score", "baseline", "where", "attributions", "raw",
    "f_x", "f_baseline", "sum", "delta"}``: ``attributions`` has the input's shape
    (per token, shape (L,), for token ids), ``raw`` the shape of the node attributions
    were computed at; ``delta = sum − (f_x − f_baseline)`` is the completeness gap of
    integrated gradients (for gradient × input ``f_baseline`` is ``None``).
    """
    if method not in METHODS:
        raise ExplainError(f"unknown saliency method {method!r}; choose one of {', '.join(METHODS)}")
    where = attribution_node(model)
    inp = model.input_ids[0]
    x = np.asarray(x)
    if x.shape != tuple(model.input_shape):
        raise ExplainError(f"the model expects one sample of shape {tuple(model.input_shape)}, got {x.shape}")
    if target is None:
        target = predicted_class(model, x, task)
    fn = _Scalar(model, int(target), score, task)
    x_ids = None
    if where == inp:
        point = as_inputs(model, x[None])[0][0].astype(np.float64)
    else:
        x_ids = as_inputs(model, x[None])[0]
        values, _ = run(model, x_ids)
        point = values[where][0].astype(np.float64)
        if baseline != "zeros":
            raise ExplainError("for token ids only the zeros baseline (zero embedding vectors) is available")
    steps = max(1, int(steps))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if method == "gradient_x_input":
            f, g = _path_grads(model, where, point, point, np.ones(1), np.ones(1), fn, x_ids, cancel,
                               memory_bytes, progress)
            raw = point * g
            f_x, f_b = float(f[0]), None
        else:
            base = make_baseline(model, point, baseline, mean) if where == inp else np.zeros_like(point)
            alphas = np.linspace(0.0, 1.0, steps + 1)
            w = np.full(steps + 1, 1.0 / steps)      # the trapezoid rule
            w[0] = w[-1] = 0.5 / steps
            f, avg = _path_grads(model, where, base, point, alphas, w, fn, x_ids, cancel, memory_bytes, progress)
            raw = (point - base) * avg
            f_x, f_b = float(f[-1]), float(f[0])
    attributions = raw.sum(axis=-1) if where != inp else raw
    total = float(raw.sum())
    return {"method": method, "target": int(target), "score": "logit" if fn.logits else "output",
            "baseline": baseline if method == "integrated_gradients" else None, "where": where,
            "attributions": attributions, "raw": raw, "f_x": f_x, "f_baseline": f_b, "sum": total,
            "delta": None if f_b is None else total - (f_x - f_b), "steps": steps if f_b is not None else None}


def group_sum(attributions: np.ndarray, groups: list[dict]) -> list[float]:
    """Per original column: the sum of a table row's attributions over its one-hot features."""
    a = np.asarray(attributions, dtype=np.float64).reshape(-1)
    return [float(a[g["features"]].sum()) for g in groups]
