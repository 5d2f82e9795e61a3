"""Element-wise activations: shared functions and one layer node per activation.

Each activation is a pair ``fwd(x) -> (y, aux)`` and ``bwd(dy, x, y, aux) -> dx``.
Dense and the convolution layers use the same table for their ``activation``
option, so a fused ``Dense(activation="relu")`` and ``Dense -> ReLU`` agree exactly.

The activation *layers* take the parameters PyTorch and ONNX have: LeakyReLU
``negative_slope`` (ONNX ``alpha``), ELU ``alpha``, GELU ``approximate`` ("tanh" or
"none" = the exact erf form), Softmax ``axis``.  Their defaults are the values the
fused ``activation`` option uses (0.01, 1.0, tanh, last axis), so graphs saved
before the settings existed behave as they did.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.numerics import softmax
from engine.registry import Ctx, Layer, ShapeError, register_layer

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _sigmoid(x):
    # numerically stable: never exponentiates a large positive number
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _gelu(x):
    # tanh approximation (as PyTorch's approximate="tanh" and ONNX Gelu approximate="tanh")
    inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
    t = np.tanh(inner)
    return 0.5 * x * (1.0 + t), t


def _gelu_bwd(dy, x, y, t):
    d_inner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x ** 2)
    return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t ** 2) * d_inner)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erf(x):
    """Element-wise erf (a Numba loop over ``math.erf``; NumPy has none)."""
    from engine.kernels.elementwise import erf_

    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    erf_(flat, out)
    return out.reshape(x.shape)


def gelu_exact(x):
    """GELU as PyTorch's default and ONNX Gelu(approximate="none"): x * Phi(x)."""
    cdf = 0.5 * (1.0 + _erf(x * _SQRT_HALF))
    return (x * cdf).astype(x.dtype, copy=False), cdf


def gelu_exact_bwd(dy, x, y, cdf):
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return dy * (cdf + x * pdf)


LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0

# name -> (forward(x) -> (y, aux), backward(dy, x, y, aux) -> dx)
ACTIVATIONS = {
    "linear": (lambda x: (x, None), lambda dy, x, y, a: dy),
    "relu": (lambda x: (np.maximum(x, 0), None), lambda dy, x, y, a: dy * (x > 0)),
    "leaky_relu": (lambda x: (np.where(x > 0, x, LEAKY_SLOPE * x), None),
                   lambda dy, x, y, a: dy * np.where(x > 0, 1.0, LEAKY_SLOPE).astype(dy.dtype)),
    "elu": (lambda x: (np.where(x > 0, x, ELU_ALPHA * np.expm1(np.minimum(x, 0))), None),
            lambda dy, x, y, a: dy * np.where(x > 0, 1.0, y + ELU_ALPHA).astype(dy.dtype)),
    "gelu": (_gelu, _gelu_bwd),
    "sigmoid": (lambda x: (_sigmoid(x), None), lambda dy, x, y, a: dy * y * (1 - y)),
    "tanh": (lambda x: (np.tanh(x), None), lambda dy, x, y, a: dy * (1 - y * y)),
    "softmax": (lambda x: (softmax(x), None),
                lambda dy, x, y, a: y * (dy - (dy * y).sum(axis=-1, keepdims=True))),
}
ACTIVATION_NAMES = tuple(ACTIVATIONS)


def apply_activation(name: str, x: np.ndarray):
    """Forward an activation; returns ``(y, backprop)`` with ``backprop(dy) -> dx``."""
    fwd, bwd = ACTIVATIONS[name]
    if name == "linear":
        return x, lambda dy: dy
    y, aux = fwd(x)
    y = y.astype(x.dtype, copy=False)
    return y, lambda dy: bwd(dy, x, y, aux).astype(dy.dtype, copy=False)


def activation_field(default: str = "linear"):
    return field(default=default, metadata={
        "choices": ACTIVATION_NAMES,
        "help": "Function applied to the output (linear = none)"})


def gain_for(activation: str) -> str:
    """Initialiser family suited to an activation: He for ReLU-like, Glorot otherwise."""
    return "he" if activation in ("relu", "leaky_relu", "elu", "gelu") else "glorot"


@dataclass(frozen=True)
class _NoCfg:
    pass


class _Activation(Layer):
    category = "Activation"
    Config = _NoCfg
    fn = "linear"

    def output_shape(self, in_shapes):
        return tuple(in_shapes[0])

    def _apply(self, x):
        """``(y, backprop)``: the table's activation; layers with settings override it."""
        return apply_activation(self.fn, x)

    def forward(self, params, state, xs, ctx: Ctx):
        y, back = self._apply(xs[0])
        return y, lambda dy: ([back(dy)], {})

    def output_activation(self):
        return self.fn if self.fn in ("sigmoid", "softmax") else None

    def without_output_activation(self):
        return None if self.fn in ("sigmoid", "softmax") else self


def _make(name: str, fn: str, label: str, doc: str):
    cls = type(name, (_Activation,), {
        "type_id": f"{name}.v1", "label": label, "fn": fn, "description": doc,
        "__doc__": doc})
    return register_layer(cls)


@dataclass(frozen=True)
class LeakyReLUConfig:
    negative_slope: float = field(default=LEAKY_SLOPE, metadata={
        "min": 0.0, "max": 1.0, "decimals": 4,
        "help": "Slope for x < 0 (PyTorch negative_slope, ONNX alpha)"})


@dataclass(frozen=True)
class ELUConfig:
    alpha: float = field(default=ELU_ALPHA, metadata={
        "min": 0.0, "max": 100.0,
        "help": "Value the output approaches for very negative x is −alpha (PyTorch and ONNX alpha)"})


GELU_FORMS = ("tanh", "none")


@dataclass(frozen=True)
class GELUConfig:
    approximate: str = field(default="tanh", metadata={
        "choices": GELU_FORMS,
        "help": "tanh: the tanh approximation (GPT-2, BERT code); none: the exact form x·Φ(x) with erf "
                "(PyTorch's default, ONNX Gelu)"})


@dataclass(frozen=True)
class SoftmaxConfig:
    axis: int = field(default=-1, metadata={
        "min": -8, "max": 8,
        "help": "Axis whose values sum to 1, without the batch axis (-1 = last)"})


ReLU = _make("ReLU", "relu", "ReLU", "Rectified linear unit: max(x, 0).")


@register_layer
class LeakyReLU(_Activation):
    """Leaky ReLU with PyTorch's ``negative_slope`` (ONNX ``LeakyRelu`` ``alpha``)."""

    type_id = "LeakyReLU.v1"
    label = "LeakyReLU"
    fn = "leaky_relu"
    description = "Leaky ReLU: x for x > 0, negative_slope·x otherwise (default 0.01)."
    Config = LeakyReLUConfig

    def _apply(self, x):
        a = x.dtype.type(self.cfg.negative_slope)
        y = np.where(x > 0, x, a * x).astype(x.dtype, copy=False)
        slope = np.where(x > 0, 1.0, a).astype(x.dtype)
        return y, lambda dy: (dy * slope).astype(dy.dtype, copy=False)

    def summary(self):
        return f"{self.cfg.negative_slope:g}"


@register_layer
class ELU(_Activation):
    """ELU with PyTorch's and ONNX's ``alpha``."""

    type_id = "ELU.v1"
    label = "ELU"
    fn = "elu"
    description = "Exponential linear unit: x for x > 0, alpha·(exp(x) − 1) otherwise."
    Config = ELUConfig

    def _apply(self, x):
        a = x.dtype.type(self.cfg.alpha)
        y = np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)
        return y, lambda dy: (dy * np.where(x > 0, 1.0, y + a)).astype(dy.dtype, copy=False)

    def summary(self):
        return "" if self.cfg.alpha == ELU_ALPHA else f"{self.cfg.alpha:g}"


@register_layer
class GELU(_Activation):
    """GELU, exact (``approximate="none"``, erf) or the tanh approximation (the default here)."""

    type_id = "GELU.v1"
    label = "GELU"
    fn = "gelu"
    description = "Gaussian error linear unit, used in transformers: x·Φ(x), exact (erf) or its tanh approximation."
    Config = GELUConfig

    def _apply(self, x):
        if self.cfg.approximate == "tanh":
            return apply_activation("gelu", x)
        y, cdf = gelu_exact(x)
        return y, lambda dy: gelu_exact_bwd(dy, x, y, cdf).astype(dy.dtype, copy=False)

    def summary(self):
        return "exact" if self.cfg.approximate == "none" else "tanh"


Sigmoid = _make("Sigmoid", "sigmoid", "Sigmoid",
                "Logistic function 1/(1+exp(−x)): squashes to (0, 1); for binary outputs.")
Tanh = _make("Tanh", "tanh", "Tanh", "Hyperbolic tangent: squashes to (−1, 1).")


@register_layer
class Softmax(_Activation):
    """Softmax over one axis of a sample (Concatenate's axis convention: 1..rank, or negative)."""

    type_id = "Softmax.v1"
    label = "Softmax"
    fn = "softmax"
    description = "Turns scores into probabilities that sum to 1 over one axis (the last by default)."
    Config = SoftmaxConfig

    def axis_index(self, rank: int) -> int:
        """The axis in a per-sample shape of ``rank`` (0-based), or a ShapeError in plain words."""
        a = self.cfg.axis
        if a == 0:
            raise ShapeError("axis 0 is the batch axis; use -1 (last) or 1..rank")
        idx = a - 1 if a > 0 else rank + a
        if not 0 <= idx < rank:
            raise ShapeError(f"axis {a} is out of range for inputs of rank {rank}")
        return idx

    def output_shape(self, in_shapes):
        s = tuple(in_shapes[0])
        self.axis_index(len(s))
        return s

    def _apply(self, x):
        ax = self.axis_index(x.ndim - 1) + 1
        y = softmax(x, axis=ax).astype(x.dtype, copy=False)
        return y, lambda dy: (y * (dy - (dy * y).sum(axis=ax, keepdims=True))).astype(dy.dtype, copy=False)

    # only a softmax over the last axis is what a loss can fuse
    def output_activation(self):
        return "softmax" if self.cfg.axis == -1 else None

    def without_output_activation(self):
        return None if self.cfg.axis == -1 else self

    def summary(self):
        return "" if self.cfg.axis == -1 else f"axis {self.cfg.axis}"
