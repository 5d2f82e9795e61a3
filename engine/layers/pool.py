"""Pooling layers (channels-last): Max/Avg pooling in 1-D and 2-D, GlobalAvgPool.

* 1-D: (N, L, C) -> (N, L', C);  2-D: (N, H, W, C) -> (N, H', W', C).
* ``strides = 0`` means "same as pool_size" (non-overlapping windows).
* ``padding="same"``: TensorFlow semantics, ``out = ceil(in / stride)``.  Padded
  positions never win a max, and average pooling divides by the number of *valid*
  positions in each window (PyTorch's ``count_include_pad=False``; also what
  Keras does).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.kernels.pool import (avgpool2d_bwd, avgpool2d_fwd, maxpool2d_bwd, maxpool2d_bwd_tiled,
                                 maxpool2d_fwd, maxpool2d_fwd_tiled)
from engine.layers.conv import out_size, padding_field
from engine.layers.core import fmt_shape
from engine.registry import Layer, ShapeError, register_layer


@dataclass(frozen=True)
class PoolConfig:
    pool_size: int = field(default=2, metadata={"min": 1, "max": 32,
                                                "help": "Width (and height) of each pooling window"})
    strides: int = field(default=0, metadata={"min": 0, "max": 32,
                                              "help": "Step between windows; 0 = same as pool size"})
    padding: str = padding_field()


class _PoolBase(Layer):
    category = "Pooling"
    Config = PoolConfig
    ndim = 2
    mode = "max"

    @property
    def stride(self) -> int:
        return self.cfg.strides or self.cfg.pool_size

    def _geometry(self, spatial):
        res = []
        for n in spatial:
            res.append(out_size(n, self.cfg.pool_size, self.stride, 1, self.cfg.padding))
        return res

    def output_shape(self, in_shapes):
        s = tuple(in_shapes[0])
        if len(s) != self.ndim + 1:
            if self.ndim == 2:
                raise ShapeError(f"expects (height, width, channels), got {fmt_shape(s)}; "
                                 + ("add Reshape before it" if len(s) < 3 else "use a 1-D pooling layer "
                                    "for sequences"))
            raise ShapeError(f"expects (length, channels), got {fmt_shape(s)}; "
                             + ("add Reshape before it" if len(s) < 2 else "use a 2-D pooling layer for images"))
        outs = []
        for o, _ in self._geometry(s[:-1]):
            if o < 1:
                raise ShapeError(f"pool_size {self.cfg.pool_size} is larger than the input {fmt_shape(s)}; "
                                 "use padding 'same' or a smaller pool_size")
            outs.append(o)
        return (*outs, s[-1])

    def forward(self, params, state, xs, ctx):
        x = xs[0]
        in_shape = x.shape
        if self.ndim == 1:
            n, L, c = x.shape
            x4 = np.ascontiguousarray(x).reshape(n, 1, L, c)
            (ow, pl), = self._geometry((L,))
            oh, pt, ph, sh = 1, 0, 1, 1
        else:
            x4 = np.ascontiguousarray(x)
            (oh, pt), (ow, pl) = self._geometry(x.shape[1:3])
            ph, sh = self.cfg.pool_size, self.stride
        pw, sw = self.cfg.pool_size, self.stride
        n, c = x4.shape[0], x4.shape[3]
        out = np.empty((n, oh, ow, c), dtype=x.dtype)
        out_shape = (n, ow, c) if self.ndim == 1 else out.shape
        tiled = (pt == 0 and pl == 0 and sh == ph and sw == pw and ph * pw <= 256
                 and oh * ph <= x4.shape[1] and ow * pw <= x4.shape[2])
        if self.mode == "max" and tiled:
            # non-overlapping windows: winner stored as its uint8 position in the window
            arg = np.empty((n, oh, ow, c), dtype=np.uint8)
            maxpool2d_fwd_tiled(x4, ph, pw, out, arg)

            def backprop(dy):
                dx = np.empty(x4.shape, dtype=dy.dtype)
                maxpool2d_bwd_tiled(np.ascontiguousarray(dy).reshape(out.shape), arg, ph, pw, dx)
                return [dx.reshape(in_shape)], {}
        elif self.mode == "max":
            idx = np.empty((n, oh, ow, c), dtype=np.int64)
            maxpool2d_fwd(x4, ph, pw, sh, sw, pt, pl, out, idx)

            def backprop(dy):
                dx = np.zeros(x4.size, dtype=dy.dtype)
                maxpool2d_bwd(np.ascontiguousarray(dy), idx, dx)
                return [dx.reshape(in_shape)], {}
        else:
            avgpool2d_fwd(x4, ph, pw, sh, sw, pt, pl, out)

            def backprop(dy):
                dx = np.zeros(x4.shape, dtype=dy.dtype)
                avgpool2d_bwd(np.ascontiguousarray(dy).reshape(out.shape), ph, pw, sh, sw, pt, pl, dx)
                return [dx.reshape(in_shape)], {}

        return out.reshape(out_shape), backprop

    def summary(self):
        k = "×".join([str(self.cfg.pool_size)] * self.ndim)
        parts = [k]
        if self.cfg.strides and self.cfg.strides != self.cfg.pool_size:
            parts.append(f"stride {self.cfg.strides}")
        if self.cfg.padding == "same":
            parts.append("same")
        return ", ".join(parts)


@register_layer
class MaxPool2D(_PoolBase):
    type_id = "MaxPool2D.v1"
    label = "MaxPool2D"
    description = "Keeps the largest value in each window of an image, e.g. 2×2 halves height and width."
    ndim, mode = 2, "max"


@register_layer
class AvgPool2D(_PoolBase):
    type_id = "AvgPool2D.v1"
    label = "AvgPool2D"
    description = "Averages each window of an image, e.g. 2×2 halves height and width."
    ndim, mode = 2, "avg"


@register_layer
class MaxPool1D(_PoolBase):
    type_id = "MaxPool1D.v1"
    label = "MaxPool1D"
    description = "Keeps the largest value in each window along a sequence (length, channels)."
    ndim, mode = 1, "max"


@register_layer
class AvgPool1D(_PoolBase):
    type_id = "AvgPool1D.v1"
    label = "AvgPool1D"
    description = "Averages each window along a sequence (length, channels)."
    ndim, mode = 1, "avg"


@register_layer
class GlobalAvgPool(Layer):
    """Mean over every position: (L, C) or (H, W, C) -> (C,)."""

    type_id = "GlobalAvgPool.v1"
    label = "GlobalAvgPool"
    category = "Pooling"
    description = "Averages over all positions, leaving one value per channel: (H, W, C) or (L, C) → (C,)."

    def output_shape(self, in_shapes):
        s = tuple(in_shapes[0])
        if len(s) not in (2, 3):
            raise ShapeError(f"expects (length, channels) or (height, width, channels), got {fmt_shape(s)}")
        return (s[-1],)

    def forward(self, params, state, xs, ctx):
        x = xs[0]
        shape = x.shape
        axes = tuple(range(1, x.ndim - 1))
        m = int(np.prod(shape[1:-1]))
        y = x.mean(axis=axes)

        def backprop(dy):
            scale = dy / dy.dtype.type(m)
            return [np.broadcast_to(scale.reshape(shape[0], *([1] * len(axes)), shape[-1]), shape).copy()], {}

        return y, backprop
