"""Weight initialisers (Glorot/He), always drawn from the run's own Generator.

The values are drawn in float64 -- the same stream and the same numbers as drawing the
whole array at once and converting it -- but block by block straight into an array of
the model's dtype, so that a float32 model never holds a float64 copy of its weights
(peak: the float32 array plus one block of :data:`BLOCK` float64 values).
"""
from __future__ import annotations

import numpy as np

#: values drawn per block (8 MB of float64)
BLOCK = 1 << 20


def _fill(shape: tuple[int, ...], dtype, draw) -> np.ndarray:
    """An array of ``shape`` filled, in C order, from ``draw(k) -> k float64 values``."""
    out = np.empty(shape, dtype=dtype)
    flat = out.reshape(-1)
    n = flat.size
    for start in range(0, n, BLOCK):
        k = min(BLOCK, n - start)
        flat[start:start + k] = draw(k)
    return out


def normal(shape: tuple[int, ...], std: float, rng: np.random.Generator, dtype) -> np.ndarray:
    """``rng.standard_normal(shape) * std`` as ``dtype``, block by block (same values)."""
    return _fill(tuple(shape), dtype, lambda k: rng.standard_normal(k) * std)


def init_weight(kind: str, shape: tuple[int, ...], fan_in: int, fan_out: int,
                rng: np.random.Generator, dtype) -> np.ndarray:
    """``kind`` is ``"he"`` (normal, std sqrt(2/fan_in)) or ``"glorot"`` (uniform,
    limit sqrt(6/(fan_in+fan_out)))."""
    shape = tuple(int(d) for d in shape)
    if kind == "he":
        return normal(shape, np.sqrt(2.0 / max(fan_in, 1)), rng, dtype)
    if kind == "glorot":
        limit = np.sqrt(6.0 / max(fan_in + fan_out, 1))
        return _fill(shape, dtype, lambda k: rng.uniform(-limit, limit, size=k))
    raise ValueError(f"unknown initialiser {kind!r}")
