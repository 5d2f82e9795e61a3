"""Attention softmax kernels (engine/kernels/attention.py) against NumPy references."""
import numpy as np
import pytest

from engine.kernels import attention as K

TOL = {np.float32: 2e-6, np.float64: 1e-14}


def ref_softmax(s, scale, causal):
    s = s.astype(np.float64) * scale
    if causal:
        L = s.shape[-1]
        s = np.where(np.triu(np.ones((L, L), dtype=bool), 1), -np.inf, s)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def kernel_softmax(s, scale, causal):
    a = s.copy()
    K.softmax_prep(a, a.dtype.type(scale), causal)
    np.exp(a, out=a)
    K.softmax_finish(a, causal)
    return a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("L", [1, 5, 16])
def test_softmax_matches_numpy(dtype, causal, L):
    rng = np.random.default_rng(L)
    s = (4 * rng.standard_normal((3, 2, L, L))).astype(dtype)
    a = kernel_softmax(s, 0.37, causal)
    want = ref_softmax(s, dtype(0.37), causal)
    np.testing.assert_allclose(a, want, rtol=TOL[dtype], atol=TOL[dtype])
    if causal:  # the future is exactly zero, not merely small
        assert not np.triu(a[0, 0], 1).any()
    np.testing.assert_allclose(a.sum(-1), 1.0, rtol=10 * TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("causal", [False, True])
def test_softmax_backward_matches_numpy(dtype, causal):
    rng = np.random.default_rng(7)
    L = 9
    a = kernel_softmax(rng.standard_normal((2, 3, L, L)).astype(dtype), 0.5, causal)
    da = rng.standard_normal(a.shape).astype(dtype)
    a64, da64 = a.astype(np.float64), da.astype(np.float64)
    want = a64 * (da64 - (da64 * a64).sum(-1, keepdims=True)) * 0.5
    got = da.copy()
    K.softmax_backward(a, got, dtype(0.5), causal)
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])
    if causal:
        assert not np.triu(got[1, 2], 1).any()


def test_softmax_gradient_by_finite_differences():
    """The backward kernel is the derivative of the forward kernels (float64)."""
    rng = np.random.default_rng(9)
    L, scale = 4, 0.7
    s = rng.standard_normal((1, 1, L, L))
    w = rng.standard_normal((1, 1, L, L))   # loss = sum(w * softmax(s))
    for causal in (False, True):
        a = kernel_softmax(s, scale, causal)
        ds = w.copy()
        K.softmax_backward(a, ds, scale, causal)
        num = np.zeros_like(s)
        eps = 1e-6
        for idx in np.ndindex(s.shape):
            sp, sm = s.copy(), s.copy()
            sp[idx] += eps
            sm[idx] -= eps
            num[idx] = ((w * kernel_softmax(sp, scale, causal)).sum()
                        - (w * kernel_softmax(sm, scale, causal)).sum()) / (2 * eps)
        np.testing.assert_allclose(ds, num, rtol=1e-6, atol=1e-8)


def test_attention_layer_is_bit_repeatable():
    from engine.registry import Ctx, build_layer
    layer = build_layer("MultiHeadAttention.v1", {"num_heads": 4, "causal": True})
    rng = np.random.default_rng(1)
    params = layer.init_params([(12, 8)], rng, np.float32)
    x = rng.standard_normal((5, 12, 8)).astype(np.float32)
    dy = rng.standard_normal((5, 12, 8)).astype(np.float32)
    outs = []
    for _ in range(2):
        y, back = layer.forward(params, {}, [x], Ctx(train=True))
        (dx,), g = back(dy)
        outs.append((y, dx, g["W_q"], g["b_v"]))
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
