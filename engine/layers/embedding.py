"""Embedding: integer token ids (N, L) -> vectors (N, L, dim)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.errors import UserError
from engine.initializers import normal
from engine.layers.core import fmt_shape
from engine.registry import Layer, ShapeError, register_layer


class TokenIdError(UserError):
    """Token ids that are not whole numbers in ``0 .. vocab_size-1``."""


@dataclass(frozen=True)
class EmbeddingConfig:
    vocab_size: int = field(default=1000, metadata={
        "min": 1, "max": 1_000_000, "help": "Number of distinct token ids (ids run from 0 to vocab_size-1)"})
    dim: int = field(default=32, metadata={"min": 1, "max": 65536,
                                           "help": "Length of the vector learned for each token"})


def token_ids(x: np.ndarray, vocab_size: int) -> np.ndarray:
    """Check and convert token ids (float or int array) to int64."""
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer):
        ids = x.astype(np.int64, copy=False)
    elif np.issubdtype(x.dtype, np.floating):
        ids = x.astype(np.int64)
        if not np.array_equal(ids, x):
            raise TokenIdError(f"token ids must be whole numbers in 0..{vocab_size - 1}; "
                               "the input has fractional or non-finite values")
    else:
        raise TokenIdError(f"token ids must be numbers in 0..{vocab_size - 1}, got {x.dtype} data")
    if ids.size:
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi >= vocab_size:
            bad = lo if lo < 0 else hi
            raise TokenIdError(f"token id {bad} is outside 0..{vocab_size - 1} (vocab_size {vocab_size}); "
                               "raise vocab_size or fix the data")
    return ids


@register_layer
class Embedding(Layer):
    """Looks up a learned vector for every token id.

    Input (N, L) token ids (float or integer arrays, cast to int64); output
    (N, L, dim) in the parameters' dtype.  Param ``W`` (vocab_size, dim), drawn
    from N(0, 1) like PyTorch's ``nn.Embedding``.  There is no gradient with
    respect to the ids: backprop returns zeros for the input.
    """

    type_id = "Embedding.v1"
    label = "Embedding"
    category = "Core"
    description = ("Turns integer token ids (e.g. word numbers) into learned vectors: "
                   "(length,) → (length, dim). Ids must be in 0..vocab_size−1.")
    Config = EmbeddingConfig

    def output_shape(self, in_shapes):
        s = tuple(in_shapes[0])
        if len(s) != 1:
            raise ShapeError(f"expects token ids (None, length), got {fmt_shape(s)}; "
                             "each sample must be one sequence of integer ids")
        return (s[0], self.cfg.dim)

    def init_params(self, in_shapes, rng, dtype):
        return {"W": normal((self.cfg.vocab_size, self.cfg.dim), 1.0, rng, dtype)}

    def param_shapes(self, in_shapes):
        return {"W": (self.cfg.vocab_size, self.cfg.dim)}

    def forward(self, params, state, xs, ctx):
        x = xs[0]
        W = params["W"]
        ids = token_ids(x, self.cfg.vocab_size)
        y = W[ids]

        def backprop(dy):
            gW = np.zeros_like(W)
            np.add.at(gW, ids.reshape(-1), dy.reshape(-1, W.shape[1]))
            return [np.zeros(x.shape, dtype=W.dtype)], {"W": gW}

        return y, backprop

    def summary(self):
        return f"{self.cfg.vocab_size} → {self.cfg.dim}"
