"""Small numerical building blocks shared across the engine.

``softmax`` is the one softmax of NN Studio: the Softmax layer and a Dense layer's softmax
activation, attention weights (the layer and the Analyze view of them), the losses'
gradients, class probabilities in evaluation and the live decision-boundary map all call it,
so they agree to the last bit.
"""
from __future__ import annotations

import numpy as np


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``exp(x) / sum(exp(x))`` along ``axis``, shifted by the maximum so that it never
    overflows; a row holding ``-inf`` (a masked position) gets probability 0 there.
    The result has ``x``'s floating dtype."""
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    e /= e.sum(axis=axis, keepdims=True)
    return e
