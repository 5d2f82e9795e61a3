"""Forward and backward passes that keep what the model's own passes throw away.

:meth:`engine.model.CompiledModel.forward` frees each activation after its last
consumer and :meth:`~engine.model.CompiledModel.forward_train` only hands back
gradients of the parameters and inputs.  Explaining a prediction needs every
layer's output and the gradient with respect to an inner node (an Embedding's
vectors), so this module walks the same plan (``model.order``, ``model.sources``,
the same layers and parameters, the same ``logits`` swap of the output layer)
and keeps them.  The maths is the layers' own ``forward``/``backprop``.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from engine.errors import UserError
from engine.registry import Ctx


class ExplainError(UserError):
    """A model, input or option the explanations cannot use; the message is for the user."""


class ExplainCancelled(ExplainError):
    """The user cancelled a running explanation."""

    def __init__(self, message: str = "cancelled"):
        super().__init__(message)


def check_cancel(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise ExplainCancelled()


def as_inputs(model, x) -> list[np.ndarray]:
    """``x`` (one array, one per Input, or ``{Input name: array}``) as the model's input dtype, shapes checked."""
    if isinstance(x, dict):
        x = model._named_inputs(x)
    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    if len(xs) != len(model.input_ids):
        raise ExplainError(f"the model has {len(model.input_ids)} inputs, got {len(xs)} arrays")
    out = []
    for nid, arr in zip(model.input_ids, xs):
        arr = np.asarray(arr)
        want = tuple(model.shapes[nid])
        if tuple(arr.shape[1:]) != want:
            raise ExplainError(f"the model expects samples of shape {want}, got {tuple(arr.shape[1:])}")
        if np.issubdtype(arr.dtype, np.floating) and arr.dtype != model.dtype:
            arr = arr.astype(model.dtype)
        out.append(arr)
    return out


def _layer(model, nid: str, logits: bool):
    # the same swap as CompiledModel._layer: the output layer without its softmax/sigmoid
    if logits and nid == model.output_id:
        return model.layers[nid].without_output_activation()
    return model.layers[nid]


def run(model, x, *, logits: bool = False, override: Mapping[str, np.ndarray] | None = None,
        backward: bool = False):
    """Evaluation-mode pass over the whole graph.

    Returns ``(values, backs)``: ``values[nid]`` is every node's output (inputs
    included); ``backs[nid]`` the layer's backprop closure (only with
    ``backward=True``).  ``override[nid]`` replaces that node's output (the
    node is not run; nodes only it feeds are not run either unless needed), which
    is how an attribution path starts at an inner node.
    """
    override = dict(override or {})
    ctx = Ctx(train=False, rng=None)
    values: dict[str, np.ndarray] = {}
    if not all(i in override for i in model.input_ids):
        values.update(zip(model.input_ids, as_inputs(model, x)))
    backs: dict = {}
    needed = _needed(model, set(override))
    for nid in model.order:
        if nid in override:
            values[nid] = np.asarray(override[nid], dtype=model.dtype)
            continue
        if nid not in needed:
            continue
        layer = _layer(model, nid, logits)
        srcs = model.sources[nid]
        xs = [values[s] for s in srcs] or [values[nid]]
        if layer is None:
            values[nid] = xs[0]
            if backward:
                backs[nid] = lambda dy: ([dy], {})
        else:
            y, back = layer.forward(model.params[nid], model.state[nid], xs, ctx)
            values[nid] = y
            if backward:
                backs[nid] = back
    return values, backs


def _needed(model, overridden: set[str]) -> set[str]:
    """Nodes that must run: ancestors of the output, not cut off by an override."""
    need: set[str] = set()
    stack = [model.output_id]
    while stack:
        nid = stack.pop()
        if nid in need:
            continue
        need.add(nid)
        if nid in overridden:
            continue
        stack.extend(model.sources[nid])
    return need


def backward(model, backs, dy: np.ndarray, wrt: set[str]) -> dict[str, np.ndarray]:
    """dL/d(output of each node in ``wrt``) for an output gradient ``dy``.

    Fan-out gradients are summed, as in the model's own backprop.  A node in
    ``wrt`` that no gradient reaches gets zeros.
    """
    pending: dict[str, np.ndarray] = {model.output_id: dy}
    out: dict[str, np.ndarray] = {}
    for nid in reversed(model.order):
        g = pending.pop(nid, None)
        if g is None:
            continue
        if nid in wrt:
            out[nid] = g
        if nid not in backs:
            continue  # an override or an input: the gradient stops here
        srcs = model.sources[nid]
        if not srcs:
            continue
        dxs, _ = backs[nid](g)
        for s, dx in zip(srcs, dxs):
            if dx is None:
                continue
            pending[s] = pending[s] + dx if s in pending else dx
    return out


def output_values(model, x, *, logits: bool = False) -> dict[str, np.ndarray]:
    """Every node's output for the samples ``x`` (evaluation mode)."""
    values, _ = run(model, x, logits=logits)
    return values
