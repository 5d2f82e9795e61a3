"""Numba kernels for element-wise functions NumPy lacks.

``erf`` (for the exact GELU) is ``math.erf`` applied element by element: NumPy has no
``erf`` and SciPy is not a dependency.  Numba compiles ``math.erf`` to the C library's
``erf`` (accurate to float64 rounding), and one loop over a flat array writes into an
array the caller allocated (so the caller chooses the dtype).
"""
from __future__ import annotations

import math

from numba import njit


@njit(cache=True, nogil=True)
def erf_(x, out):
    """out[i] = erf(x[i]) for flat (1-D) arrays of the same length."""
    for i in range(x.shape[0]):
        out[i] = math.erf(x[i])
