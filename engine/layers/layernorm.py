"""Layer normalisation over the last axis (per sample, per position)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.lazy import LazyModule
from engine.registry import Layer, register_layer

K = LazyModule("engine.kernels.layernorm")


@dataclass(frozen=True)
class LayerNormConfig:
    epsilon: float = field(default=1e-5, metadata={"min": 1e-12, "max": 1.0,
                                                   "help": "Added to the variance for stability"})


@register_layer
class LayerNorm(Layer):
    """``y = gamma * (x - mean) / sqrt(var + eps) + beta`` over the last axis.

    Same maths as ``torch.nn.LayerNorm(D, eps)`` (biased variance); behaves the
    same in training and evaluation.  Params ``gamma``, ``beta`` of shape (D,).  Computed one row at
    a time by :mod:`engine.kernels.layernorm` (the NumPy formulas are its test reference).
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
        dt = x.dtype
        gamma = np.ascontiguousarray(params["gamma"], dtype=dt)
        beta = np.ascontiguousarray(params["beta"], dtype=dt)
        shape = x.shape
        x2 = np.ascontiguousarray(x).reshape(-1, shape[-1])
        y = np.empty_like(x2)
        xhat = np.empty_like(x2)
        inv = np.empty(x2.shape[0], dtype=dt)
        K.forward(x2, gamma, beta, float(self.cfg.epsilon), y, xhat, inv)   # engine/kernels/layernorm.py

        def backprop(dy):
            dy2 = np.ascontiguousarray(dy, dtype=dt).reshape(x2.shape)
            dx = np.empty_like(x2)
            dgamma = np.empty(shape[-1], dtype=dt)
            dbeta = np.empty(shape[-1], dtype=dt)
            K.backward(dy2, xhat, inv, gamma, dx, dgamma, dbeta)
            return [dx.reshape(shape)], {"gamma": dgamma, "beta": dbeta}

        return y.reshape(shape), backprop

    def summary(self):
        return "" if self.cfg.epsilon == 1e-5 else f"eps {self.cfg.epsilon:g}"
