"""How many numbers a graph's parameters and state hold, without allocating them.

A project file declares the size of its weights before they are decompressed; comparing
that with what the graph needs stops a small file from expanding into gigabytes (a zip
bomb) before any memory is spent.  The layers that can be large get a formula here; every
other layer is counted by building its (small) parameters once.  A registry-wide test
checks each formula against the arrays the layer really creates.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

Shape = tuple


def _dense(layer, in_shapes: Sequence[Shape]) -> int:
    n_in = int(in_shapes[0][-1])
    units = int(layer.cfg.units)
    return n_in * units + (units if layer.cfg.use_bias else 0)


def _conv(layer, in_shapes: Sequence[Shape]) -> int:
    c = int(in_shapes[0][-1])
    k = layer.cfg.kernel_size
    taps = math.prod(k) if isinstance(k, (list, tuple)) else int(k) ** int(layer.ndim)
    f = int(layer.cfg.filters)
    return taps * c * f + (f if layer.cfg.use_bias else 0)


def _embedding(layer, in_shapes: Sequence[Shape]) -> int:
    return int(layer.cfg.vocab_size) * int(layer.cfg.dim)


def _recurrent(layer, in_shapes: Sequence[Shape]) -> int:
    c = int(in_shapes[0][-1])
    u, g = int(layer.cfg.units), int(layer.gates)
    directions = 2 if getattr(layer.cfg, "bidirectional", False) else 1
    return directions * (g * u * c + g * u * u + 2 * g * u)


def _attention(layer, in_shapes: Sequence[Shape]) -> int:
    d = int(in_shapes[0][-1])
    return 4 * d * d + 4 * d


def _norm(layer, in_shapes: Sequence[Shape]) -> int:
    c = int(in_shapes[0][-1])
    state = 2 * c if layer.type_id.startswith("BatchNorm.") else 0
    return 2 * c + state


#: type name (without the version) -> numbers held by the layer (parameters + state)
FORMULAS: dict[str, Callable] = {
    "Dense": _dense, "Conv1D": _conv, "Conv2D": _conv, "Conv3D": _conv, "Embedding": _embedding,
    "SimpleRNN": _recurrent, "LSTM": _recurrent, "GRU": _recurrent, "MultiHeadAttention": _attention,
    "BatchNorm": _norm, "LayerNorm": _norm,
}


def layer_numbers(layer, in_shapes: Sequence[Shape]) -> int:
    """Parameters plus state of one layer (e.g. BatchNorm's running statistics)."""
    formula = FORMULAS.get(layer.type_id.split(".")[0])
    if formula is not None:
        return int(formula(layer, in_shapes))
    # parameter-free or small layers (activations, pooling, merges, reshapes): build them once
    params = layer.init_params(in_shapes, np.random.default_rng(0), np.float32)
    state = layer.init_state(in_shapes, np.float32)
    return int(sum(np.size(a) for a in params.values()) + sum(np.size(a) for a in state.values()))


def graph_numbers(spec, analysis=None) -> tuple[int, int] | None:
    """``(numbers, arrays)`` held by the parameters and state of ``spec``'s layers, or ``None``
    when the graph has errors (shapes unknown)."""
    from engine.compile import analyse

    a = analysis if analysis is not None else analyse(spec)
    if not a.ok:
        return None
    total, arrays = 0, 0
    for nid in a.order:
        layer = a.layers[nid]
        in_shapes = [a.shapes[e.src] for e in spec.inputs_of(nid)]
        n = layer_numbers(layer, in_shapes)
        total += n
        if n:
            arrays += 16     # at most a handful of arrays per layer (W, b, state ...), each with an .npy header
    return total, arrays
