"""Merge layers: Add and Concatenate (two or more inputs)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.layers.core import fmt_shape
from engine.registry import Layer, ShapeError, register_layer


@register_layer
class Add(Layer):
    type_id = "Add.v1"
    label = "Add"
    category = "Merge"
    description = "Adds its inputs element by element (all must have the same shape); used for residual connections."
    n_inputs = None

    def output_shape(self, in_shapes):
        first = tuple(in_shapes[0])
        for s in in_shapes[1:]:
            if tuple(s) != first:
                raise ShapeError("inputs must all have the same shape, got "
                                 + " and ".join(fmt_shape(s) for s in in_shapes))
        return first

    def forward(self, params, state, xs, ctx):
        y = xs[0].copy()
        for x in xs[1:]:
            y += x
        n = len(xs)
        return y, lambda dy: ([dy] * n, {})


@dataclass(frozen=True)
class ConcatenateConfig:
    axis: int = field(default=-1, metadata={
        "min": -8, "max": 8, "help": "Axis to join along, without the batch axis (-1 = last, the channels)"})


@register_layer
class Concatenate(Layer):
    type_id = "Concatenate.v1"
    label = "Concatenate"
    category = "Merge"
    description = "Joins its inputs along one axis (the last by default); the other sizes must match."
    Config = ConcatenateConfig
    n_inputs = None

    def _axis(self, rank: int) -> int:
        a = self.cfg.axis
        if a == 0:
            raise ShapeError("axis 0 is the batch axis; use -1 (last) or 1..rank")
        idx = a - 1 if a > 0 else rank + a
        if not 0 <= idx < rank:
            raise ShapeError(f"axis {a} is out of range for inputs of rank {rank}")
        return idx

    def output_shape(self, in_shapes):
        ranks = {len(s) for s in in_shapes}
        if len(ranks) != 1:
            raise ShapeError("inputs must have the same rank, got " + " and ".join(fmt_shape(s) for s in in_shapes))
        ax = self._axis(ranks.pop())
        first = list(in_shapes[0])
        for s in in_shapes[1:]:
            if [d for i, d in enumerate(s) if i != ax] != [d for i, d in enumerate(first) if i != ax]:
                raise ShapeError("inputs must match except along the joined axis, got "
                                 + " and ".join(fmt_shape(s) for s in in_shapes))
        first[ax] = sum(s[ax] for s in in_shapes)
        return tuple(first)

    def forward(self, params, state, xs, ctx):
        ax = self._axis(xs[0].ndim - 1) + 1
        sizes = [x.shape[ax] for x in xs]
        cuts = np.cumsum(sizes)[:-1]
        return np.concatenate(xs, axis=ax), lambda dy: (np.split(dy, cuts, axis=ax), {})

    def summary(self):
        return "" if self.cfg.axis == -1 else f"axis {self.cfg.axis}"
