"""Element-wise activations: shared functions and one layer node per activation.

Each activation is a pair ``fwd(x) -> (y, aux)`` and ``bwd(dy, x, y, aux) -> dx``.
Dense and the convolution layers use the same table for their ``activation``
option, so a fused ``Dense(activation="relu")`` and ``Dense -> ReLU`` agree exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.registry import Ctx, Layer, register_layer

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _sigmoid(x):
    # numerically stable: never exponentiates a large positive number
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _softmax(x):
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _gelu(x):
    # tanh approximation (as PyTorch's approximate="tanh" and ONNX Gelu approximate="tanh")
    inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
    t = np.tanh(inner)
    return 0.5 * x * (1.0 + t), t


def _gelu_bwd(dy, x, y, t):
    d_inner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x ** 2)
    return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t ** 2) * d_inner)


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
    "softmax": (lambda x: (_softmax(x), None),
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

    def forward(self, params, state, xs, ctx: Ctx):
        y, back = apply_activation(self.fn, xs[0])
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


ReLU = _make("ReLU", "relu", "ReLU", "Rectified linear unit: max(x, 0).")
LeakyReLU = _make("LeakyReLU", "leaky_relu", "LeakyReLU",
                  f"Leaky ReLU: x for x > 0, {LEAKY_SLOPE}·x otherwise.")
ELU = _make("ELU", "elu", "ELU", "Exponential linear unit: x for x > 0, exp(x) − 1 otherwise.")
GELU = _make("GELU", "gelu", "GELU", "Gaussian error linear unit (tanh approximation), used in transformers.")
Sigmoid = _make("Sigmoid", "sigmoid", "Sigmoid",
                "Logistic function 1/(1+exp(−x)): squashes to (0, 1); for binary outputs.")
Tanh = _make("Tanh", "tanh", "Tanh", "Hyperbolic tangent: squashes to (−1, 1).")
Softmax = _make("Softmax", "softmax", "Softmax",
                "Turns scores into class probabilities over the last axis (they sum to 1).")
