"""Every layout change between NN Studio's arrays and other frameworks, in one place.

NN Studio (channels-last, ``x @ W``):

* Dense ``W`` (in, out); Conv1D ``W`` (k, Cin, F); Conv2D ``W`` (kh, kw, Cin, F);
  activations (N, L, C) / (N, H, W, C).
* Recurrent layers store PyTorch's layout directly: ``W_ih`` (G*H, in), ``W_hh``
  (G*H, H), ``b_ih``/``b_hh`` (G*H,), gate blocks LSTM ``i, f, g, o``, GRU ``r, z, n``.

PyTorch: ``Linear.weight`` (out, in); ``ConvNd.weight`` (F, Cin, k...); data NC(H)(W).
ONNX: ``Conv`` weight (F, Cin, k...) like PyTorch; ``LSTM`` gate blocks ``i, o, f, c``;
``GRU`` gate blocks ``z, r, h``.
"""
from __future__ import annotations

import numpy as np


# ------------------------------------------------------------------- dense
def dense_to_torch(W: np.ndarray) -> np.ndarray:
    """Dense (in, out) -> ``nn.Linear.weight`` (out, in)."""
    return np.ascontiguousarray(np.asarray(W).T)


def dense_from_torch(w: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(w).T)


# -------------------------------------------------------------------- conv
def conv_to_torch(W: np.ndarray) -> np.ndarray:
    """Conv ``(k..., Cin, F)`` -> ``(F, Cin, k...)`` (PyTorch ConvNd and ONNX Conv)."""
    W = np.asarray(W)
    nd = W.ndim - 2
    return np.ascontiguousarray(W.transpose(nd + 1, nd, *range(nd)))


def conv_from_torch(w: np.ndarray) -> np.ndarray:
    """``(F, Cin, k...)`` -> ``(k..., Cin, F)``."""
    w = np.asarray(w)
    nd = w.ndim - 2
    return np.ascontiguousarray(w.transpose(*range(2, nd + 2), 1, 0))


conv_to_onnx = conv_to_torch


# ---------------------------------------------------------------- activations
def channels_last_to_first_perm(rank: int) -> list[int]:
    """Axis permutation (N, ..., C) -> (N, C, ...) for a tensor of ``rank`` (batch included)."""
    return [0, rank - 1, *range(1, rank - 1)]


def channels_first_to_last_perm(rank: int) -> list[int]:
    return [0, *range(2, rank), 1]


def to_channels_first(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(x, channels_last_to_first_perm(x.ndim)))


def to_channels_last(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(x, channels_first_to_last_perm(x.ndim)))


# -------------------------------------------------------------- recurrent gates
#: positions (in PyTorch gate order) of the blocks in ONNX gate order
LSTM_TORCH_TO_ONNX = (0, 3, 1, 2)   # i,f,g,o -> i,o,f,c(=g)
GRU_TORCH_TO_ONNX = (1, 0, 2)       # r,z,n   -> z,r,h(=n)


def reorder_gates(a: np.ndarray, order, axis: int = 0) -> np.ndarray:
    """Split ``a`` into ``len(order)`` equal blocks along ``axis`` and reassemble as ``order``."""
    a = np.asarray(a)
    blocks = np.split(a, len(order), axis=axis)
    return np.ascontiguousarray(np.concatenate([blocks[i] for i in order], axis=axis))


def lstm_to_onnx(a: np.ndarray, axis: int = 0) -> np.ndarray:
    return reorder_gates(a, LSTM_TORCH_TO_ONNX, axis)


def gru_to_onnx(a: np.ndarray, axis: int = 0) -> np.ndarray:
    return reorder_gates(a, GRU_TORCH_TO_ONNX, axis)


def inverse_order(order) -> tuple[int, ...]:
    inv = [0] * len(order)
    for new, old in enumerate(order):
        inv[old] = new
    return tuple(inv)


def lstm_from_onnx(a: np.ndarray, axis: int = 0) -> np.ndarray:
    return reorder_gates(a, inverse_order(LSTM_TORCH_TO_ONNX), axis)


def gru_from_onnx(a: np.ndarray, axis: int = 0) -> np.ndarray:
    return reorder_gates(a, inverse_order(GRU_TORCH_TO_ONNX), axis)


# ------------------------------------------------------------------ batch norm
def batchnorm_scale_shift(gamma, beta, mean, var, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Evaluation BatchNorm as ``y = x * scale + shift`` (float64 maths, float32 result)."""
    g, b, m, v = (np.asarray(a, dtype=np.float64) for a in (gamma, beta, mean, var))
    scale = g / np.sqrt(v + eps)
    shift = b - m * scale
    return scale.astype(np.float32), shift.astype(np.float32)


# ------------------------------------------------------------------ padding
def same_pads(n: int, k: int, stride: int, dilation: int = 1, lower: bool = False) -> tuple[int, int]:
    """TensorFlow 'same' padding (before, after) of one axis of length ``n`` (= ONNX ``SAME_UPPER``).

    ``lower=True`` is ONNX ``SAME_LOWER``: the odd extra zero goes before.  NN Studio's
    ``padding="same"`` is the upper form; the lower one is ``padding="explicit"`` with these
    amounts (an importer's mapping).
    """
    eff = (k - 1) * dilation + 1
    out = -(-n // stride)
    total = max((out - 1) * stride + eff - n, 0)
    small, large = total // 2, total - total // 2
    return (large, small) if lower else (small, large)


# -------------------------------------------------------------- tables for codegen
#: transform names used by the generated PyTorch code and the tests
TO_TORCH = {
    "id": lambda a: np.ascontiguousarray(a),
    "T": dense_to_torch,
    "conv": conv_to_torch,
}
FROM_TORCH = {
    "id": lambda a: np.ascontiguousarray(a),
    "T": dense_from_torch,
    "conv": conv_from_torch,
}
