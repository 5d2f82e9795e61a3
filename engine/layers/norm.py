"""Batch normalisation over the last (channel/feature) axis."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.registry import Ctx, Layer, register_layer


@dataclass(frozen=True)
class BatchNormConfig:
    momentum: float = field(default=0.1, metadata={
        "min": 0.0, "max": 1.0,
        "help": "Weight of the current batch in the running statistics (PyTorch convention)"})
    epsilon: float = field(default=1e-5, metadata={"min": 1e-12, "max": 1.0,
                                                   "help": "Added to the variance for stability"})


@register_layer
class BatchNorm(Layer):
    """Normalises every channel (last axis) over the batch and spatial axes.

    Training uses the batch statistics and updates the running mean/variance
    (unbiased variance, as PyTorch); evaluation uses the running statistics.
    Shapes: (N, C) or (N, ..., C) in, same shape out.  Params ``gamma``, ``beta``
    of shape (C,); buffers ``running_mean``, ``running_var``.
    """

    type_id = "BatchNorm.v1"
    label = "BatchNorm"
    category = "Normalisation"
    description = ("Batch normalisation: standardises each channel over the batch, then scales and "
                   "shifts it. Speeds up training; behaves differently in training and evaluation.")
    Config = BatchNormConfig

    def output_shape(self, in_shapes):
        return tuple(in_shapes[0])

    def param_shapes(self, in_shapes):
        c = in_shapes[0][-1]
        return {"gamma": (c,), "beta": (c,)}

    def state_shapes(self, in_shapes):
        c = in_shapes[0][-1]
        return {"running_mean": (c,), "running_var": (c,)}

    def init_params(self, in_shapes, rng, dtype):
        c = in_shapes[0][-1]
        return {"gamma": np.ones(c, dtype=dtype), "beta": np.zeros(c, dtype=dtype)}

    def init_state(self, in_shapes, dtype):
        c = in_shapes[0][-1]
        return {"running_mean": np.zeros(c, dtype=dtype), "running_var": np.ones(c, dtype=dtype)}

    def forward(self, params, state, xs, ctx: Ctx):
        x = xs[0]
        axes = tuple(range(x.ndim - 1))
        gamma, beta = params["gamma"], params["beta"]
        eps = self.cfg.epsilon
        if not ctx.train:
            inv = 1.0 / np.sqrt(state["running_var"] + eps)
            xhat = (x - state["running_mean"]) * inv
            y = (gamma * xhat + beta).astype(x.dtype, copy=False)

            def backprop_eval(dy):
                return [dy * (gamma * inv)], {"gamma": (dy * xhat).sum(axis=axes),
                                              "beta": dy.sum(axis=axes)}
            return y, backprop_eval

        m = x.size // x.shape[-1]
        mean = x.mean(axis=axes)
        xc = x - mean
        var = (xc * xc).mean(axis=axes)
        inv = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        xhat = xc * inv
        y = gamma * xhat + beta
        mom = self.cfg.momentum
        if state:
            unbiased = var * (m / max(m - 1, 1))
            state["running_mean"] *= (1 - mom)
            state["running_mean"] += mom * mean
            state["running_var"] *= (1 - mom)
            state["running_var"] += mom * unbiased

        def backprop(dy):
            dgamma = (dy * xhat).sum(axis=axes)
            dbeta = dy.sum(axis=axes)
            dxhat = dy * gamma
            dx = (inv / m) * (m * dxhat - dxhat.sum(axis=axes) - xhat * (dxhat * xhat).sum(axis=axes))
            return [dx.astype(x.dtype, copy=False)], {"gamma": dgamma, "beta": dbeta}

        return y, backprop
