"""Multi-head self-attention over a sequence (N, L, D) -> (N, L, D).

Maths (per sample)::

    Q = x W_q + b_q,  K = x W_k + b_k,  V = x W_v + b_v          (L, D) each
    split into h heads of size d = D / h
    A_i = softmax(Q_i K_i^T / sqrt(d) [+ causal mask])           (L, L)
    O = concat_i(A_i V_i) W_o + b_o

The weights multiply from the right (``x @ W``), so the mapping to
``torch.nn.MultiheadAttention(D, h, batch_first=True)`` is::

    in_proj_weight = concat([W_q.T, W_k.T, W_v.T], axis=0)     # (3D, D)
    in_proj_bias   = concat([b_q, b_k, b_v])                   # (3D,)
    out_proj.weight = W_o.T,  out_proj.bias = b_o

and ``causal=True`` equals passing ``attn_mask`` = the upper triangle (a
position attends to itself and earlier positions only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.initializers import init_weight
from engine.layers.core import fmt_shape
from engine.numerics import softmax
from engine.registry import Layer, ShapeError, register_layer


@dataclass(frozen=True)
class MHAConfig:
    num_heads: int = field(default=2, metadata={
        "min": 1, "max": 64, "help": "Number of attention heads; must divide the feature size"})
    causal: bool = field(default=False, metadata={
        "help": "Each position only attends to itself and earlier positions (for next-token models)"})


@register_layer
class MultiHeadAttention(Layer):
    """Scaled dot-product self-attention with ``num_heads`` heads (PyTorch-compatible maths)."""

    type_id = "MultiHeadAttention.v1"
    label = "MultiHeadAttention"
    category = "Attention"
    description = ("Self-attention: every position of a sequence (length, features) looks at all "
                   "(or, if causal, earlier) positions and mixes their values; several heads in parallel.")
    Config = MHAConfig

    def output_shape(self, in_shapes):
        s = tuple(in_shapes[0])
        if len(s) != 2:
            hint = "add Reshape or Embedding before it" if len(s) == 1 else "flatten the positions into one axis"
            raise ShapeError(f"expects a sequence (length, features), got {fmt_shape(s)}; {hint}")
        h = self.cfg.num_heads
        if s[1] % h:
            raise ShapeError(f"cannot split {s[1]} features evenly into {h} heads; choose num_heads that "
                             f"divides {s[1]}")
        return s

    def param_shapes(self, in_shapes):
        d = in_shapes[0][-1]
        p = {}
        for name in ("q", "k", "v", "o"):
            p[f"W_{name}"] = (d, d)
            p[f"b_{name}"] = (d,)
        return p

    def init_params(self, in_shapes, rng, dtype):
        d = in_shapes[0][-1]
        p = {}
        for name in ("q", "k", "v", "o"):
            p[f"W_{name}"] = init_weight("glorot", (d, d), d, d, rng, dtype)
            p[f"b_{name}"] = np.zeros(d, dtype=dtype)
        return p

    def forward(self, params, state, xs, ctx):
        x = xs[0]
        n, L, D = x.shape
        h = self.cfg.num_heads
        dh = D // h
        scale = x.dtype.type(1.0 / math.sqrt(dh))
        x2 = x.reshape(n * L, D)

        def heads(t):  # (n*L, D) -> (n, h, L, dh)
            return t.reshape(n, L, h, dh).transpose(0, 2, 1, 3)

        def merge(t):  # (n, h, L, dh) -> (n*L, D)
            return t.transpose(0, 2, 1, 3).reshape(n * L, D)

        q = heads(x2 @ params["W_q"] + params["b_q"])
        k = heads(x2 @ params["W_k"] + params["b_k"])
        v = heads(x2 @ params["W_v"] + params["b_v"])
        s = (q @ k.transpose(0, 1, 3, 2)) * scale
        if self.cfg.causal:
            mask = np.triu(np.ones((L, L), dtype=bool), k=1)
            s = np.where(mask, -np.inf, s).astype(x.dtype, copy=False)
        a = softmax(s)
        o = merge(a @ v)
        y = (o @ params["W_o"] + params["b_o"]).reshape(n, L, D)

        def backprop(dy):
            dy2 = dy.reshape(n * L, D)
            g = {"W_o": o.T @ dy2, "b_o": dy2.sum(axis=0)}
            do = heads(dy2 @ params["W_o"].T)
            da = do @ v.transpose(0, 1, 3, 2)
            dv = a.transpose(0, 1, 3, 2) @ do
            ds = a * (da - (da * a).sum(axis=-1, keepdims=True))
            ds *= scale
            dq = ds @ k
            dk = ds.transpose(0, 1, 3, 2) @ q
            dx = np.zeros((n * L, D), dtype=x.dtype)
            for name, dt in (("q", dq), ("k", dk), ("v", dv)):
                dt2 = merge(dt)
                g[f"W_{name}"] = x2.T @ dt2
                g[f"b_{name}"] = dt2.sum(axis=0)
                dx += dt2 @ params[f"W_{name}"].T
            return [dx.reshape(x.shape)], g

        return y, backprop

    def summary(self):
        return f"{self.cfg.num_heads} heads" + (", causal" if self.cfg.causal else "")
