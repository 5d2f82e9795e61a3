"""Every layer's output for one chosen sample, attention weights, and Playground-style unit maps.

* :func:`sample_activations` -- one sample through the model in evaluation mode;
  each node's output (batch axis dropped) with the way to show it: ``"maps"`` for
  (H, W, C) feature maps, ``"sequence"`` for (L, D), ``"vector"`` for (D,).
* :func:`attention_weights` -- the (heads, L, L) attention matrix of a
  MultiHeadAttention node for that sample (recomputed from the node's input and
  weights with the layer's own formula; its output is checked against the layer's).
* :func:`unit_maps` -- for a model with two input features, each hidden unit's
  output over a grid of the input plane (TensorFlow Playground's neuron thumbnails).
"""
from __future__ import annotations

import math

import numpy as np

from engine.explain.trace import ExplainError, as_inputs, check_cancel, run
from engine.numerics import softmax

#: at most this many units of one layer get a plane map (the first ones)
MAX_UNIT_MAPS = 64
#: grid cells per side of a unit map
UNIT_MAP_RES = 48


def _one(model, x) -> list[np.ndarray]:
    """One sample (with or without a batch axis of 1) as model inputs of batch 1."""
    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    out = []
    for nid, a in zip(model.input_ids, xs):
        a = np.asarray(a)
        if a.shape == tuple(model.shapes[nid]):
            a = a[None]
        if a.shape[0] != 1:
            raise ExplainError(f"choose one sample; got {a.shape[0]}")
        out.append(a)
    return as_inputs(model, out if len(out) > 1 else out[0])


def kind_of(shape: tuple) -> str:
    if len(shape) == 3:
        return "maps"
    if len(shape) == 2:
        return "sequence"
    return "vector"


def sample_activations(model, x, *, logits: bool = False) -> list[dict]:
    """One dict per node in execution order: ``id``, ``shape``, ``kind``, ``values`` (ndarray)."""
    xs = _one(model, x)
    values, _ = run(model, xs if len(xs) > 1 else xs[0], logits=logits)
    out = []
    for nid in model.order:
        v = values.get(nid)
        if v is None:
            continue
        arr = np.asarray(v[0])
        out.append({"id": nid, "shape": list(arr.shape), "kind": kind_of(arr.shape), "values": arr})
    return out


def attention_weights(model, nid: str, x) -> np.ndarray:
    """(heads, L, L) softmax attention of MultiHeadAttention node ``nid`` for one sample ``x``."""
    from engine.layers.attention import MultiHeadAttention

    layer = model.layers.get(nid)
    if not isinstance(layer, MultiHeadAttention):
        raise ExplainError(f"node {nid} is not a MultiHeadAttention layer")
    xs = _one(model, x)
    values, _ = run(model, xs if len(xs) > 1 else xs[0])
    src = values[model.sources[nid][0]][0].astype(np.float64)       # (L, D)
    p = model.params[nid]
    L, D = src.shape
    h = layer.cfg.num_heads
    d = D // h
    q = (src @ p["W_q"] + p["b_q"]).reshape(L, h, d).transpose(1, 0, 2)
    k = (src @ p["W_k"] + p["b_k"]).reshape(L, h, d).transpose(1, 0, 2)
    s = q @ k.transpose(0, 2, 1) / math.sqrt(d)
    if layer.cfg.causal:
        s = np.where(np.triu(np.ones((L, L), dtype=bool), k=1), -np.inf, s)
    return softmax(s)


def plane_grid(points: np.ndarray | None, res: int = UNIT_MAP_RES, margin: float = 0.1):
    """(xs, ys, flat grid) around ``points`` (two columns), like the decision-boundary map."""
    from engine.live import boundary_grid

    pts = np.zeros((0, 2)) if points is None else np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return boundary_grid(pts, res, margin)


def unit_maps(model, points: np.ndarray | None = None, *, res: int = UNIT_MAP_RES,
              max_units: int = MAX_UNIT_MAPS, cancel=None) -> dict:
    """Each unit's output over the input plane, for models with one input of two features.

    Returns ``{"x_range", "y_range", "res", "layers": [{"id", "units", "maps" (k, res, res)}]}``
    for every node with a flat output (Dense and activation layers, the output included);
    row ``i`` of a map is ``y = ys[i]``, column ``j`` is ``x = xs[j]``.
    """
    if len(model.input_ids) != 1 or tuple(model.input_shape) != (2,):
        raise ExplainError(f"unit maps need a model with two input features, this one takes "
                           f"{tuple(model.input_shape)}")
    xs, ys, grid = plane_grid(points, res)
    check_cancel(cancel)
    values, _ = run(model, grid.astype(model.dtype))
    layers = []
    for nid in model.order:
        if nid in model.input_ids:
            continue
        v = values.get(nid)
        if v is None or v.ndim != 2:
            continue
        k = min(v.shape[1], max_units)
        maps = np.asarray(v[:, :k], dtype=np.float32).T.reshape(k, res, res)
        layers.append({"id": nid, "units": int(v.shape[1]), "maps": maps})
    return {"x_range": [float(xs[0]), float(xs[-1])], "y_range": [float(ys[0]), float(ys[-1])],
            "res": int(res), "layers": layers}
