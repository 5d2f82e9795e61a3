"""How many numbers a graph's parameters and state hold, without allocating them.

A project file declares the size of its weights before they are decompressed; comparing
that with what the graph needs stops a small file from expanding into gigabytes (a zip
bomb) before any memory is spent.  The counts come from each layer's ``param_shapes`` and
``state_shapes`` (the same shapes the memory check before training uses, see
``engine/memory.py``); a registry-wide test checks them against the arrays the layers create.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

Shape = tuple


def layer_numbers(layer, in_shapes: Sequence[Shape]) -> int:
    """Parameters plus state of one layer (e.g. BatchNorm's running statistics)."""
    shapes = list(layer.param_shapes(in_shapes).values()) + list(layer.state_shapes(in_shapes).values())
    return int(sum(math.prod(int(d) for d in s) for s in shapes))


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
        shapes = list(layer.param_shapes(in_shapes).values()) + list(layer.state_shapes(in_shapes).values())
        total += sum(math.prod(int(d) for d in s) for s in shapes)
        arrays += len(shapes)
    return total, arrays
