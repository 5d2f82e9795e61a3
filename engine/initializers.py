"""Weight initialisers (Glorot/He), always drawn from the run's own Generator."""
from __future__ import annotations

import numpy as np


def init_weight(kind: str, shape: tuple[int, ...], fan_in: int, fan_out: int,
                rng: np.random.Generator, dtype) -> np.ndarray:
    """``kind`` is ``"he"`` (normal, std sqrt(2/fan_in)) or ``"glorot"`` (uniform,
    limit sqrt(6/(fan_in+fan_out)))."""
    if kind == "he":
        w = rng.standard_normal(shape) * np.sqrt(2.0 / max(fan_in, 1))
    elif kind == "glorot":
        limit = np.sqrt(6.0 / max(fan_in + fan_out, 1))
        w = rng.uniform(-limit, limit, size=shape)
    else:
        raise ValueError(f"unknown initialiser {kind!r}")
    return np.ascontiguousarray(w, dtype=dtype)
