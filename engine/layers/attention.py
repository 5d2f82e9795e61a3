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

The Q, K, V projections are one GEMM (``x @ [W_q | W_k | W_v]``) copied once into per-head
blocks; the six batched matmuls per step are BLAS, and the softmax around them is three
in-place passes over the scores (two Numba kernels around NumPy's SIMD ``exp``; backward:
one kernel), with the causal mask written directly instead of a broadcast (L, L) mask
(:mod:`engine.kernels.attention`); the softmax passes run on two threads over halves of the
(sample, head) blocks (:mod:`engine.kernels.threads`; blocks are independent, so the bits
do not depend on the split).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.initializers import init_weight
from engine.kernels.threads import run_rows
from engine.layers.core import fmt_shape
from engine.lazy import LazyModule
from engine.registry import Layer, ShapeError, register_layer

#: the Numba kernels, imported when an attention layer first computes
K = LazyModule("engine.kernels.attention")


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
        dt = x.dtype
        scale = dt.type(1.0 / math.sqrt(dh))
        causal = bool(self.cfg.causal)
        x2 = x.reshape(n * L, D)
        # the three projections as one GEMM, then one copy into per-head blocks (3, N, H, L, d)
        W_qkv = np.concatenate([params["W_q"], params["W_k"], params["W_v"]], axis=1)
        qkv = x2 @ W_qkv
        qkv += np.concatenate([params["b_q"], params["b_k"], params["b_v"]])
        qkv_h = np.ascontiguousarray(qkv.reshape(n, L, 3, h, dh).transpose(2, 0, 3, 1, 4))
        q, k, v = qkv_h[0], qkv_h[1], qkv_h[2]
        a = q @ k.transpose(0, 1, 3, 2)                  # (N, H, L, L) scores, then weights
        a3 = a.reshape(n * h, L, L)

        def softmax(b0, b1):                             # (sample, head) blocks b0 .. b1-1
            part = a3[b0:b1]
            K.softmax_prep(part, scale, causal)
            np.exp(part, out=part)                       # NumPy releases the GIL here too
            K.softmax_finish(part, causal)

        run_rows(softmax, n * h)
        o = np.ascontiguousarray((a @ v).transpose(0, 2, 1, 3)).reshape(n * L, D)
        y = o @ params["W_o"]
        y += params["b_o"]

        def backprop(dy):
            dy2 = dy.reshape(n * L, D)
            g = {"W_o": o.T @ dy2, "b_o": dy2.sum(axis=0)}
            do = np.ascontiguousarray((dy2 @ params["W_o"].T).reshape(n, L, h, dh).transpose(0, 2, 1, 3))
            dqkv_h = np.empty_like(qkv_h)
            da = do @ v.transpose(0, 1, 3, 2)
            np.matmul(a.transpose(0, 1, 3, 2), do, out=dqkv_h[2])
            da3 = da.reshape(n * h, L, L)
            run_rows(lambda b0, b1: K.softmax_backward(a3[b0:b1], da3[b0:b1], scale, causal),
                     n * h)                              # da -> dL/dS
            np.matmul(da, k, out=dqkv_h[0])
            np.matmul(da.transpose(0, 1, 3, 2), q, out=dqkv_h[1])
            dqkv = np.ascontiguousarray(dqkv_h.transpose(1, 3, 0, 2, 4)).reshape(n * L, 3 * D)
            dW = x2.T @ dqkv                             # (D, 3D)
            db = dqkv.sum(axis=0)
            for i, name in enumerate("qkv"):
                g[f"W_{name}"] = np.ascontiguousarray(dW[:, i * D:(i + 1) * D])
                g[f"b_{name}"] = db[i * D:(i + 1) * D].copy()
            return [(dqkv @ W_qkv.T).reshape(x.shape)], g

        return y.reshape(n, L, D), backprop

    def summary(self):
        return f"{self.cfg.num_heads} heads" + (", causal" if self.cfg.causal else "")
