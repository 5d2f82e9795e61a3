"""Numba kernels for the softmax of multi-head self-attention (forward and backward).

The batched matmuls ``Q K^T``, ``A V``, ``dO V^T``, ``A^T dO``, ``dS K`` and ``dS^T Q`` stay
in NumPy/BLAS: measured at N=32, H=4, L=64, d=16, hand-written Numba loops over such short
rows (d = 16) were 2-3x slower than OpenBLAS's small GEMMs.  What these kernels replace are
the element-wise passes around them (scale, mask, row max, subtract, exp, sum, divide in
the forward; ``A * (dA - rowsum(dA * A)) * scale`` in the backward), each one a full pass
over the (N, H, L, L) scores and some a temporary of that size; with ``causal`` the
masked entries are written directly, no (L, L) mask is built or broadcast.

* :func:`softmax_prep` scales the raw scores in place and subtracts each row's maximum
  (``-inf`` above the diagonal when causal);
* the caller takes ``np.exp`` in place (NumPy's SIMD exp is several times faster than a
  scalar ``exp`` per element inside Numba);
* :func:`softmax_finish` divides each row by its sum;
* :func:`softmax_backward` turns dL/dA into dL/dS (the gradient w.r.t. the unscaled scores)
  in place, one pass per row.

Every sum runs in a fixed order (no threads, no ``fastmath``): results are bit-repeatable.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def softmax_prep(s, scale, causal):
    """``s`` (..., L, L) raw scores -> ``s * scale - rowmax`` in place; ``-inf`` where masked."""
    L = s.shape[-1]
    rows = s.reshape(-1, L)
    ninf = -np.inf
    for r in range(rows.shape[0]):
        row = rows[r]
        jmax = r % L + 1 if causal else L
        for j in range(jmax):
            row[j] *= scale
        m = row[0]
        for j in range(1, jmax):
            if row[j] > m:
                m = row[j]
        for j in range(jmax):
            row[j] -= m
        for j in range(jmax, L):
            row[j] = ninf


@njit(cache=True, nogil=True, error_model="numpy")
def softmax_finish(e, causal):
    """``e`` (..., L, L) exponentiated shifted scores -> softmax rows in place."""
    L = e.shape[-1]
    rows = e.reshape(-1, L)
    one = e.dtype.type(1.0)
    for r in range(rows.shape[0]):
        row = rows[r]
        jmax = r % L + 1 if causal else L
        tot = row[0]
        for j in range(1, jmax):
            tot += row[j]
        inv = one / tot
        for j in range(jmax):
            row[j] *= inv


@njit(cache=True, nogil=True, error_model="numpy")
def softmax_backward(a, da, scale, causal):
    """``da`` (dL/dA, (..., L, L)) -> dL/dS in place, S being the scores before ``* scale``:
    ``dS = A * (dA - rowsum(dA * A)) * scale`` (zero where masked)."""
    L = a.shape[-1]
    ar = a.reshape(-1, L)
    dr = da.reshape(-1, L)
    for r in range(ar.shape[0]):
        arow = ar[r]
        drow = dr[r]
        jmax = r % L + 1 if causal else L
        t = arow[0] * drow[0]
        for j in range(1, jmax):
            t += arow[j] * drow[j]
        for j in range(jmax):
            drow[j] = arow[j] * (drow[j] - t) * scale
        for j in range(jmax, L):
            drow[j] = 0.0
