"""Layer normalisation over the last axis (per sample, per position)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.registry import Layer, register_layer


@dataclass(frozen=True)
class LayerNormConfig:
    epsilon: float = field(default=1e-5, metadata={"min": 1e-12, "max": 1.0,
                                                   "help": "Added to the variance for stability"})


@register_layer
class LayerNorm(Layer):
    """``y = gamma * (x - mean) / sqrt(var + eps) + beta`` over the last axis.

    Same maths as ``torch.nn.LayerNorm(D, eps)`` (biased variance); behaves the
    same in training and evaluation.  Params ``gamma``, ``beta`` of shape (D,).
    """

    type_id = "LayerNorm.v1"
    label = "LayerNorm"
    category = "Normalisation"
    description = ("Layer normalisation: standardises each sample's features (the last axis), then "
                   "scales and shifts them. Common in transformers; independent of the batch.")
    Config = LayerNormConfig

    def output_shape(self, in_shapes):
        return tuple(in_shapes[0])

    def param_shapes(self, in_shapes):
        d = in_shapes[0][-1]
        return {"gamma": (d,), "beta": (d,)}

    def init_params(self, in_shapes, rng, dtype):
        d = in_shapes[0][-1]
        return {"gamma": np.ones(d, dtype=dtype), "beta": np.zeros(d, dtype=dtype)}

    def forward(self, params, state, xs, ctx):
        x = xs[0]
        gamma, beta = params["gamma"], params["beta"]
        mean = x.mean(axis=-1, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=-1, keepdims=True)
        inv = 1.0 / np.sqrt(var + x.dtype.type(self.cfg.epsilon))
        xhat = xc * inv
        y = xhat * gamma + beta
        lead = tuple(range(x.ndim - 1))

        def backprop(dy):
            dgamma = (dy * xhat).sum(axis=lead)
            dbeta = dy.sum(axis=lead)
            g = dy * gamma
            dx = inv * (g - g.mean(axis=-1, keepdims=True)
                        - xhat * (g * xhat).mean(axis=-1, keepdims=True))
            return [dx.astype(x.dtype, copy=False)], {"gamma": dgamma, "beta": dbeta}

        return y.astype(x.dtype, copy=False), backprop

    def summary(self):
        return "" if self.cfg.epsilon == 1e-5 else f"eps {self.cfg.epsilon:g}"
