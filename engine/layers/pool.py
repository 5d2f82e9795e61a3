"""Pooling layers (channels-last): Max/Avg pooling in 1-D and 2-D, GlobalAvgPool, GlobalMaxPool.

* 1-D: (N, L, C) -> (N, L', C);  2-D: (N, H, W, C) -> (N, H', W', C).
* ``strides = 0`` means "same as pool_size" (non-overlapping windows).
* ``padding="same"``: TensorFlow semantics, ``out = ceil(in / stride)``;
  ``padding="explicit"``: the amounts in ``pads`` (PyTorch ``padding=``, ONNX ``pads``).
  Padded positions never win a max.  Average pooling divides by the number of
  *valid* positions in each window by default (PyTorch's ``count_include_pad=False``;
  also what Keras does); ``count_include_pad`` counts the padding too (but never
  the part of a ``ceil_mode`` window past the padded end, as PyTorch and ONNX Runtime).
* ``ceil_mode``: the number of windows is rounded up (PyTorch/ONNX ``ceil_mode``).
* ``dilation``: spacing between the taps of a window (PyTorch ``MaxPool`` /
  ONNX ``dilations``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.layers.conv import _check_pads_config, axis_geometry, axis_pads, padding_field, pads_field
from engine.layers.core import fmt_shape
from engine.lazy import LazyModule
from engine.registry import Layer, ShapeError, register_layer

#: the Numba kernels, imported when a layer first computes
KP = LazyModule("engine.kernels.pool")


@dataclass(frozen=True)
class PoolConfig:
    pool_size: int = field(default=2, metadata={"min": 1, "max": 32,
                                                "help": "Width (and height) of each pooling window"})
    strides: int = field(default=0, metadata={"min": 0, "max": 32,
                                              "help": "Step between windows; 0 = same as pool size"})
    padding: str = padding_field()
    pads: tuple = pads_field()
    ceil_mode: bool = field(default=False, metadata={
        "visible_when": {"padding": ("valid", "explicit")},
        "help": "Round the number of windows up, so that a last partial window is kept "
                "(PyTorch/ONNX ceil_mode; 'same' padding already does this)"})
    dilation: int = field(default=1, metadata={"min": 1, "max": 16,
                                               "help": "Spacing between the positions of a window (1 = dense)"})

    def validate(self):
        _check_pads_config(self)


@dataclass(frozen=True)
class AvgPoolConfig(PoolConfig):
    count_include_pad: bool = field(default=False, metadata={
        "help": "Average pooling: divide by the whole window, padding included (PyTorch's default), "
                "instead of by the number of real values (Keras, ONNX default)"})


class _PoolBase(Layer):
    category = "Pooling"
    Config = PoolConfig
    ndim = 2
    mode = "max"

    @property
    def stride(self) -> int:
        return self.cfg.strides or self.cfg.pool_size

    def pads_per_axis(self, nd: int | None = None) -> list[tuple[int, int]]:
        nd = self.ndim if nd is None else nd
        if self.cfg.padding != "explicit":
            return [(0, 0)] * nd
        return axis_pads(self.cfg.pads, nd)

    def geometry(self, spatial):
        """``(out, before, after)`` per spatial axis (``after`` as used for ``count_include_pad``)."""
        cfg = self.cfg
        ceil = cfg.ceil_mode and cfg.padding != "same"
        return [axis_geometry(n, cfg.pool_size, self.stride, cfg.dilation, cfg.padding, p, ceil)
                for n, p in zip(spatial, self.pads_per_axis(len(spatial)))]

    def _geometry(self, spatial):
        return [g[:2] for g in self.geometry(spatial)]

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
        cfg = self.cfg
        for n, (o, before, after) in zip(s[:-1], self.geometry(s[:-1])):
            if o < 1:
                raise ShapeError(f"pool_size {cfg.pool_size} is larger than the input {fmt_shape(s)}; "
                                 "use padding 'same' or a smaller pool_size")
            for i in range(o):  # every window must see at least one real value
                start = i * self.stride - before
                if not any(0 <= start + t * cfg.dilation < n for t in range(cfg.pool_size)):
                    raise ShapeError(f"a window takes no value from the input (padding {before} before, "
                                     f"{after} after, dilation {cfg.dilation}, input {fmt_shape(s)}); "
                                     "use smaller pads or dilation")
            outs.append(o)
        return (*outs, s[-1])

    def forward(self, params, state, xs, ctx):
        x = xs[0]
        in_shape = x.shape
        cfg = self.cfg
        if self.ndim == 1:
            n, L, c = x.shape
            x4 = np.ascontiguousarray(x).reshape(n, 1, L, c)
            (ow, pl, pr), = self.geometry((L,))
            oh, pt, pb, ph, sh, dh = 1, 0, 0, 1, 1, 1
        else:
            x4 = np.ascontiguousarray(x)
            (oh, pt, pb), (ow, pl, pr) = self.geometry(x.shape[1:3])
            ph, sh, dh = cfg.pool_size, self.stride, cfg.dilation
        pw, sw, dw = cfg.pool_size, self.stride, cfg.dilation
        n, h, w, c = x4.shape
        # the rows/columns that average pooling counts: real values only, or padding too
        if getattr(cfg, "count_include_pad", False):  # average pooling only
            lo_h, hi_h, lo_w, hi_w = -pt, h + pb, -pl, w + pr
        else:
            lo_h, hi_h, lo_w, hi_w = 0, h, 0, w
        out = np.empty((n, oh, ow, c), dtype=x.dtype)
        out_shape = (n, ow, c) if self.ndim == 1 else out.shape
        tiled = (pt == 0 and pl == 0 and sh == ph and sw == pw and ph * pw <= 256 and cfg.dilation == 1
                 and oh * ph <= x4.shape[1] and ow * pw <= x4.shape[2])
        if self.mode == "max" and tiled:
            # non-overlapping windows: winner stored as its uint8 position in the window
            arg = np.empty((n, oh, ow, c), dtype=np.uint8)
            KP.maxpool2d_fwd_tiled(x4, ph, pw, out, arg)

            def backprop(dy):
                dx = np.empty(x4.shape, dtype=dy.dtype)
                KP.maxpool2d_bwd_tiled(np.ascontiguousarray(dy).reshape(out.shape), arg, ph, pw, dx)
                return [dx.reshape(in_shape)], {}
        elif self.mode == "max":
            idx = np.empty((n, oh, ow, c), dtype=np.int64)
            KP.maxpool2d_fwd(x4, ph, pw, sh, sw, dh, dw, pt, pl, out, idx)

            def backprop(dy):
                dx = np.zeros(x4.size, dtype=dy.dtype)
                KP.maxpool2d_bwd(np.ascontiguousarray(dy), idx, dx)
                return [dx.reshape(in_shape)], {}
        else:
            KP.avgpool2d_fwd(x4, ph, pw, sh, sw, dh, dw, pt, pl, lo_h, hi_h, lo_w, hi_w, out)

            def backprop(dy):
                dx = np.zeros(x4.shape, dtype=dy.dtype)
                KP.avgpool2d_bwd(np.ascontiguousarray(dy).reshape(out.shape), ph, pw, sh, sw, dh, dw, pt, pl,
                              lo_h, hi_h, lo_w, hi_w, dx)
                return [dx.reshape(in_shape)], {}

        return out.reshape(out_shape), backprop

    def summary(self):
        k = "×".join([str(self.cfg.pool_size)] * self.ndim)
        parts = [k]
        if self.cfg.strides and self.cfg.strides != self.cfg.pool_size:
            parts.append(f"stride {self.cfg.strides}")
        if self.cfg.padding == "same":
            parts.append("same")
        elif self.cfg.padding == "explicit" and any(self.cfg.pads):
            parts.append("pad " + ",".join(map(str, self.cfg.pads)))
        if self.cfg.dilation != 1:
            parts.append(f"dilation {self.cfg.dilation}")
        if self.cfg.ceil_mode and self.cfg.padding != "same":
            parts.append("ceil")
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
    Config = AvgPoolConfig
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
    Config = AvgPoolConfig
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


@register_layer
class GlobalMaxPool(Layer):
    """Maximum over every position: (L, C) or (H, W, C) -> (C,)."""

    type_id = "GlobalMaxPool.v1"
    label = "GlobalMaxPool"
    category = "Pooling"
    description = ("Keeps the largest value of each channel over all positions: (H, W, C) or (L, C) → (C,).")

    def output_shape(self, in_shapes):
        s = tuple(in_shapes[0])
        if len(s) not in (2, 3):
            raise ShapeError(f"expects (length, channels) or (height, width, channels), got {fmt_shape(s)}")
        return (s[-1],)

    def forward(self, params, state, xs, ctx):
        x = xs[0]
        shape = x.shape
        n, c = shape[0], shape[-1]
        flat = x.reshape(n, -1, c)
        # the first maximum of each channel gets the gradient (as MaxPool); a NaN wins (np.argmax)
        arg = flat.argmax(axis=1)                                   # (N, C)
        y = np.take_along_axis(flat, arg[:, None, :], axis=1)[:, 0, :]

        def backprop(dy):
            dx = np.zeros_like(flat, dtype=dy.dtype)
            np.put_along_axis(dx, arg[:, None, :], dy[:, None, :], axis=1)
            return [dx.reshape(shape)], {}

        return y, backprop
