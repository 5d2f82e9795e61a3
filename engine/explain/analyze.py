"""The per-layer analysis table: shapes, parameters, multiply-adds, activation memory, warnings.

``analyze(spec, model=None, data=None)`` returns a JSON-able dict::

    {"layers": [row, ...], "totals": {...}, "checked": {...} | None}

One row per node in execution order: ``id``, ``name`` (the node's label),
``type``, ``summary``, ``output_shape``, ``params`` = ``trainable`` +
``non_trainable`` (BatchNorm's running statistics), ``macs`` (multiply-adds for
one sample, see :func:`layer_macs`), ``activation_bytes`` (the layer's output for
one batch of ``batch_size`` samples in the model's dtype), ``stats`` and
``warnings`` (plain-words sentences).

With a (trained) ``model`` and ``data`` the rows also get what one batch of data
shows: the fraction of dead ReLU units, of saturated sigmoid/tanh values, and the
gradient norm of each layer's parameters from one backward pass of the training
loss on one batch (``batch_size`` rows; exploding or vanishing gradients).  The thresholds are module constants.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.explain.losses import loss_setup
from engine.explain.trace import ExplainError, as_inputs, check_cancel, run
from engine.model import compile_graph

#: a ReLU unit (a Dense unit or a conv channel) is dead when it is 0 for every probe sample;
#: a layer is flagged when at least this fraction of its units is dead
DEAD_FRACTION = 0.2
#: a sigmoid output below 0.01 or above 0.99, a tanh output beyond ±0.99, is saturated;
#: a layer is flagged when at least this fraction of its values is saturated
SATURATED_FRACTION = 0.5
SATURATION_LEVEL = 0.99
#: a layer's gradient is exploding when ||grad|| / max(||weights||, 1) exceeds this (or is not finite)
EXPLODING_RATIO = 10.0
#: ... and vanishing when that ratio is below this fraction of the largest layer's ratio
VANISHING_RELATIVE = 1e-4
#: rows of data used for the checks (fewer when their activations would pass MEMORY_BUDGET)
PROBE_ROWS = 256
#: the checks keep every layer's output and its backward pass for the probe rows within this
MEMORY_BUDGET = 256 * 1024 * 1024

_RELU_NAMES = ("relu",)
_SQUASH_NAMES = ("sigmoid", "tanh")


# --------------------------------------------------------------------- counting
def layer_macs(layer, in_shapes: list[tuple], out_shape: tuple) -> int:
    """Multiply-adds for one sample.

    Dense ``in × units``; Conv ``output positions × filters × k^d × in_channels``;
    SimpleRNN/GRU/LSTM ``length × gates × units × (features + units)``;
    MultiHeadAttention ``4·L·D² + 2·L²·D`` (four projections, scores, weighted sum);
    BatchNorm/LayerNorm one per output value (the scale and shift); everything else 0
    (look-ups, pooling, element-wise activations, reshapes and merges have no
    multiply-adds to speak of).  Biases and activations are not counted.
    """
    from engine.layers.attention import MultiHeadAttention
    from engine.layers.conv import _ConvBase
    from engine.layers.core import Dense
    from engine.layers.layernorm import LayerNorm
    from engine.layers.norm import BatchNorm
    from engine.layers.recurrent import _RecurrentBase

    if isinstance(layer, Dense):
        return int(in_shapes[0][0]) * int(layer.cfg.units)
    if isinstance(layer, _ConvBase):
        k = layer.cfg.kernel_size ** layer.ndim
        positions = math.prod(out_shape[:-1])
        return int(positions * out_shape[-1] * k * in_shapes[0][-1])
    if isinstance(layer, _RecurrentBase):
        length, feats = in_shapes[0]
        u = layer.cfg.units
        return int(length * layer.gates * u * (feats + u))
    if isinstance(layer, MultiHeadAttention):
        L, D = in_shapes[0]
        return int(4 * L * D * D + 2 * L * L * D)
    if isinstance(layer, (BatchNorm, LayerNorm)):
        return int(math.prod(out_shape))
    return 0


def _activation_of(layer) -> str | None:
    """The element-wise function a layer ends in (fused ``activation`` option or an activation node)."""
    fn = getattr(type(layer), "fn", None)
    if isinstance(fn, str) and layer.category == "Activation":
        return fn
    cfg = getattr(layer, "cfg", None)
    return getattr(cfg, "activation", None)


# ---------------------------------------------------------------------- the table
def analyze(spec, model=None, data=None, *, batch_size: int = 32, task: str | None = None,
            loss: str | None = None, cancel=None, progress=None) -> dict:
    """The analysis table of ``spec`` (see the module docstring).

    ``model``: a compiled model of ``spec`` with its (trained) weights; without it
    the graph is compiled with fresh weights and no data checks are made.
    ``data``: an :class:`engine.data.Dataset` (its validation split, else its
    training split), an ``(x, y)`` pair, or ``x`` alone (no gradient check).
    """
    if model is None:
        model = compile_graph(spec)
    batch_size = max(int(batch_size), 1)
    itemsize = model.dtype.itemsize
    rows: list[dict[str, Any]] = []
    for nid in model.order:
        layer = model.layers[nid]
        node = spec.node(nid)
        in_shapes = [tuple(model.shapes[s]) for s in model.sources[nid]]
        out_shape = tuple(model.shapes[nid])
        trainable = int(sum(p.size for p in model.params[nid].values()))
        fixed = int(sum(p.size for p in model.state[nid].values()))
        rows.append({
            "id": nid, "name": node.label, "type": node.type, "summary": layer.summary(),
            "output_shape": list(out_shape), "params": trainable + fixed,
            "trainable": trainable, "non_trainable": fixed,
            "macs": layer_macs(layer, in_shapes, out_shape),
            "activation_bytes": int(math.prod(out_shape)) * itemsize * batch_size,
            "stats": {}, "warnings": [],
        })
    totals = {k: int(sum(r[k] for r in rows)) for k in ("params", "trainable", "non_trainable", "macs",
                                                        "activation_bytes")}
    totals.update({"batch_size": batch_size, "dtype": str(model.dtype), "layers": len(rows)})
    result = {"layers": rows, "totals": totals, "checked": None}
    if data is not None:
        result["checked"] = _check(model, rows, data, task, loss, cancel, progress, batch_size)
    return result


def probe_rows(model, memory_bytes: int | None = None) -> int:
    """Rows for the checks: PROBE_ROWS, fewer when their activations would pass ``memory_bytes``."""
    from engine.explain.saliency import per_sample_bytes
    memory_bytes = MEMORY_BUDGET if memory_bytes is None else memory_bytes
    return max(1, min(PROBE_ROWS, int(memory_bytes // max(per_sample_bytes(model), 1))))


def _probe(data, task, rows: int = PROBE_ROWS):
    """(x, y or None, task) from a Dataset, a pair or an array; at most ``rows`` rows."""
    if hasattr(data, "get_batch") and hasattr(data, "n"):
        split = "val" if data.n("val") else "train"
        n = min(data.n(split), rows)
        if n == 0:
            raise ExplainError("the data set has no rows to check the model with")
        x, y = data.get_batch(split, np.arange(n))
        return x, y, task or getattr(data, "task", None), split
    if isinstance(data, tuple) and len(data) == 2:
        x, y = data
        return np.asarray(x)[:rows], np.asarray(y)[:rows], task, "given"
    return np.asarray(data)[:rows], None, task, "given"


def _check(model, rows, data, task, loss_name, cancel, progress, batch_size: int) -> dict:
    x, y, task, split = _probe(data, task, probe_rows(model))
    if (len(next(iter(x.values()))) if isinstance(x, dict) and x else len(x)) == 0:
        raise ExplainError("the data has no rows to check the model with")
    x = as_inputs(model, x)
    by_id = {r["id"]: r for r in rows}
    if progress:
        progress(0.1, "checking activations")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        values, _ = run(model, x)
        for nid in model.order:
            check_cancel(cancel)
            if nid == model.output_id:
                continue  # a confident output layer is saturated by design
            act = _activation_of(model.layers[nid])
            v = values.get(nid)
            if v is None or act is None or not np.issubdtype(v.dtype, np.floating):
                continue
            row = by_id[nid]
            if act in _RELU_NAMES:
                units = v.reshape(-1, v.shape[-1])
                dead = ~np.any(units > 0, axis=0)
                frac = float(dead.mean())
                row["stats"]["dead_units"] = int(dead.sum())
                row["stats"]["units"] = int(dead.size)
                if frac >= DEAD_FRACTION:
                    row["warnings"].append(f"{int(dead.sum())} of {dead.size} ReLU units are dead (zero for every "
                                           f"checked sample); try a smaller learning rate or LeakyReLU")
            elif act in _SQUASH_NAMES:
                if act == "sigmoid":
                    sat = (v < 1 - SATURATION_LEVEL) | (v > SATURATION_LEVEL)
                else:
                    sat = np.abs(v) > SATURATION_LEVEL
                frac = float(sat.mean()) if sat.size else 0.0
                row["stats"]["saturated_fraction"] = frac
                if frac >= SATURATED_FRACTION:
                    row["warnings"].append(f"{frac:.0%} of the {act} outputs are saturated, where gradients are "
                                           f"almost zero; try scaling the inputs or BatchNorm before it")
        del values
        checked = {"rows": int(len(x[0])), "split": split, "gradients": False}
        if y is None:
            return checked
        check_cancel(cancel)
        if progress:
            progress(0.5, "checking gradients")
        setup = loss_setup(model, task, loss_name)
        # one training batch (the first batch_size probe rows), as one step of training sees it
        xb = [a[:batch_size] for a in x]
        yb = np.asarray(y)[:batch_size]
        pred, back = model.forward_train(xb, train=False, logits=setup.fused)
        value, dpred = setup.loss.value_and_grad(pred, setup.targets(yb, pred),
                                                 from_logits=setup.from_logits)
        grads, _ = back(dpred)
    ratios = {}
    for nid in model.order:
        g = grads.get(nid) or {}
        if not g:
            continue
        gn = math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in g.values()))
        wn = math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in model.params[nid].values()))
        ratio = gn / max(wn, 1.0)
        by_id[nid]["stats"]["grad_norm"] = gn if math.isfinite(gn) else None
        by_id[nid]["stats"]["weight_norm"] = wn
        ratios[nid] = ratio
    finite = [r for r in ratios.values() if math.isfinite(r)]
    top = max(finite) if finite else 0.0
    for nid, r in ratios.items():
        row = by_id[nid]
        if not math.isfinite(r) or r > EXPLODING_RATIO:
            row["warnings"].append("exploding gradient: the gradient is much larger than the weights; lower the "
                                   "learning rate or set gradient clipping")
        elif top > 0 and r < VANISHING_RELATIVE * top:
            row["warnings"].append("vanishing gradient: this layer's gradient is tiny next to the other layers'; "
                                   "try ReLU, BatchNorm or a skip connection")
    checked.update({"gradients": True, "gradient_rows": int(len(yb)),
                    "loss": float(value) if math.isfinite(value) else None,
                    "loss_name": setup.loss.name})
    return checked
