"""Core layers: Input, Dense, Flatten, Reshape, Dropout."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from engine.initializers import init_weight
from engine.layers.activations import activation_field, apply_activation, gain_for
from engine.registry import Ctx, Layer, ShapeError, register_layer


def fmt_shape(shape) -> str:
    """Shape with the batch axis, as shown on canvas edges: ``(None, 128)``."""
    return "(" + ", ".join(["None", *map(str, shape)]) + ")"


@dataclass(frozen=True)
class InputConfig:
    shape: tuple = field(default=(2,), metadata={
        "kind": "shape", "help": "Size of one sample without the batch axis, e.g. 28, 28, 1 for a "
                                 "grey image (channels last) or 4 for four features"})


@register_layer
class Input(Layer):
    """Where data enters the network. Its shape is one sample's shape (no batch axis)."""

    type_id = "Input.v1"
    label = "Input"
    category = "Core"
    description = "Where data enters the network. Set the shape of one sample (no batch axis)."
    Config = InputConfig
    n_inputs = 0

    def output_shape(self, in_shapes):
        return tuple(self.cfg.shape)

    def forward(self, params, state, xs, ctx):
        return xs[0], lambda dy: ([dy], {})

    def summary(self):
        return "×".join(map(str, self.cfg.shape))


@dataclass(frozen=True)
class DenseConfig:
    units: int = field(default=32, metadata={"min": 1, "max": 65536, "help": "Number of output units (neurons)"})
    activation: str = activation_field("linear")
    use_bias: bool = field(default=True, metadata={"help": "Add a learned bias to each unit"})
    last_axis: bool = field(default=False, metadata={
        "help": "Accept a non-flat input and apply the same weights at every position of its last axis, "
                "e.g. (length, features) → (length, units), as Keras Dense and PyTorch Linear do"})


@register_layer
class Dense(Layer):
    """Fully connected layer: ``y = act(x @ W + b)``; x: (N, in), W: (in, units).

    With ``last_axis`` the input may be (N, ..., in) and the output is (N, ..., units):
    the same weights at every position (Keras ``Dense``, PyTorch ``Linear``, ONNX
    ``MatMul`` + ``Add`` on a rank-3 tensor).
    """

    type_id = "Dense.v1"
    label = "Dense"
    category = "Core"
    description = "Fully connected layer: every output unit sees every input value (y = act(x·W + b))."
    Config = DenseConfig

    def output_shape(self, in_shapes):
        s = tuple(in_shapes[0])
        if self.cfg.last_axis and len(s) >= 1:
            return (*s[:-1], self.cfg.units)
        if len(s) != 1:
            raise ShapeError(f"expects a flat input (None, features), got {fmt_shape(s)}; add Flatten before it")
        return (self.cfg.units,)

    def param_shapes(self, in_shapes):
        p = {"W": (in_shapes[0][-1], self.cfg.units)}  # the last axis: flat inputs and last_axis alike
        if self.cfg.use_bias:
            p["b"] = (self.cfg.units,)
        return p

    def init_params(self, in_shapes, rng, dtype):
        n_in = in_shapes[0][-1]
        p = {"W": init_weight(gain_for(self.cfg.activation), (n_in, self.cfg.units), n_in,
                              self.cfg.units, rng, dtype)}
        if self.cfg.use_bias:
            p["b"] = np.zeros(self.cfg.units, dtype=dtype)
        return p

    def forward(self, params, state, xs, ctx):
        x = xs[0]
        lead = x.shape[:-1]
        if x.ndim != 2:  # last_axis: every position is a row
            x = x.reshape(-1, x.shape[-1])
        W = params["W"]
        z = x @ W
        if "b" in params:
            z += params["b"]
        y, act_back = apply_activation(self.cfg.activation, z)

        def backprop(dy):
            dz = act_back(dy.reshape(z.shape))
            grads = {"W": x.T @ dz}
            if "b" in params:
                grads["b"] = dz.sum(axis=0)
            return [(dz @ W.T).reshape(*lead, W.shape[0])], grads

        return y.reshape(*lead, W.shape[1]), backprop

    def summary(self):
        a = self.cfg.activation
        return f"{self.cfg.units}" + ("" if a == "linear" else f", {a}") + (", last axis" if self.cfg.last_axis else "")

    def output_activation(self):
        return self.cfg.activation if self.cfg.activation in ("sigmoid", "softmax") else None

    def without_output_activation(self):
        if self.output_activation():
            return Dense(replace(self.cfg, activation="linear"))
        return self


@register_layer
class Flatten(Layer):
    type_id = "Flatten.v1"
    label = "Flatten"
    category = "Core"
    description = "Flattens each sample into one vector, e.g. (28, 28, 1) → (784,). Use before Dense."

    def output_shape(self, in_shapes):
        return (int(math.prod(in_shapes[0])),)

    def forward(self, params, state, xs, ctx):
        x = xs[0]
        shape = x.shape
        return x.reshape(shape[0], -1), lambda dy: ([dy.reshape(shape)], {})


@dataclass(frozen=True)
class ReshapeConfig:
    shape: tuple = field(default=(-1,), metadata={
        "kind": "shape", "min": -1,
        "help": "Target shape of one sample; one size may be -1 to be inferred"})


@register_layer
class Reshape(Layer):
    type_id = "Reshape.v1"
    label = "Reshape"
    category = "Core"
    description = "Changes the shape of each sample without changing its values."
    Config = ReshapeConfig

    def output_shape(self, in_shapes):
        target = list(self.cfg.shape)
        total = int(math.prod(in_shapes[0]))
        if target.count(-1) > 1:
            raise ShapeError("only one size in the target shape may be -1")
        if any(t == 0 or t < -1 for t in target):
            raise ShapeError(f"sizes must be positive (or -1), got {tuple(target)}")
        known = int(math.prod(t for t in target if t != -1))
        if -1 in target:
            if total % known:
                raise ShapeError(f"cannot reshape {fmt_shape(in_shapes[0])} ({total} values) into {tuple(target)}")
            target[target.index(-1)] = total // known
        elif known != total:
            raise ShapeError(f"cannot reshape {fmt_shape(in_shapes[0])} ({total} values) into "
                             f"{tuple(target)} ({known} values)")
        return tuple(target)

    def forward(self, params, state, xs, ctx):
        x = xs[0]
        shape = x.shape
        out = self.output_shape([shape[1:]])
        return x.reshape((shape[0], *out)), lambda dy: ([dy.reshape(shape)], {})

    def summary(self):
        return "×".join(map(str, self.cfg.shape))


@dataclass(frozen=True)
class DropoutConfig:
    rate: float = field(default=0.5, metadata={"min": 0.0, "max": 0.95,
                                               "help": "Fraction of values set to zero while training"})


@register_layer
class Dropout(Layer):
    """Inverted dropout: active only in training; evaluation is the identity."""

    type_id = "Dropout.v1"
    label = "Dropout"
    category = "Core"
    description = "Randomly zeroes a fraction of values while training to reduce over-fitting; does nothing at evaluation."
    Config = DropoutConfig

    def output_shape(self, in_shapes):
        return tuple(in_shapes[0])

    def forward(self, params, state, xs, ctx: Ctx):
        x = xs[0]
        rate = self.cfg.rate
        if not ctx.train or rate == 0.0:
            return x, lambda dy: ([dy], {})
        keep = 1.0 - rate
        mask = (ctx.generator().random(x.shape) < keep).astype(x.dtype) / x.dtype.type(keep)
        return x * mask, lambda dy: ([dy * mask], {})

    def summary(self):
        return f"{self.cfg.rate:g}"
