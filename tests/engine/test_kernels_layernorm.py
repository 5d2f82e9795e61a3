"""engine.kernels.layernorm against the NumPy formulas it replaced (float32 and float64)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.kernels import layernorm as K


def reference(x, gamma, beta, eps, dy):
    mean = x.mean(axis=-1, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = xc * inv
    y = xhat * gamma + beta
    g = dy * gamma
    dx = inv * (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True))
    return y, dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("rows, d", [(1, 1), (3, 2), (70, 64), (5, 257)])
def test_kernels_match_numpy(dtype, tol, rows, d):
    rng = np.random.default_rng(rows * 1000 + d)
    x = (rng.standard_normal((rows, d)) * 3 + 1).astype(dtype)
    gamma, beta = rng.standard_normal(d).astype(dtype), rng.standard_normal(d).astype(dtype)
    dy = rng.standard_normal((rows, d)).astype(dtype)
    eps = 1e-5
    # the reference in float64 (the kernels accumulate in float64 too)
    want = reference(*(a.astype(np.float64) for a in (x, gamma, beta)), eps, dy.astype(np.float64))
    y, xhat, inv = np.empty_like(x), np.empty_like(x), np.empty(rows, dtype)
    K.forward(x, gamma, beta, eps, y, xhat, inv)
    dx, dg, db = np.empty_like(x), np.empty(d, dtype), np.empty(d, dtype)
    K.backward(dy, xhat, inv, gamma, dx, dg, db)
    for got, ref in zip((y, dx, dg, db), want):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * 10)


def test_kernels_are_repeatable_and_a_constant_row_is_finite():
    x = np.ones((4, 8), np.float32)
    x[1] = np.arange(8)
    out = [np.empty_like(x) for _ in range(4)]
    for _ in range(2):
        y, xhat, inv = np.empty_like(x), np.empty_like(x), np.empty(4, np.float32)
        K.forward(x, np.ones(8, np.float32), np.zeros(8, np.float32), 1e-5, y, xhat, inv)
        out.append(y.copy())
    assert np.array_equal(out[-1], out[-2]) and np.isfinite(out[-1]).all() and (out[-1][0] == 0).all()
