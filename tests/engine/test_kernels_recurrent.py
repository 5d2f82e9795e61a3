"""Recurrent step kernels against NumPy references, and whole layers against
plain re-implementations of PyTorch's LSTM/GRU/RNN and MultiheadAttention equations."""
import math

import numpy as np
import pytest

from engine.kernels import recurrent as K
from engine.registry import Ctx, build_layer

TOL = {np.float32: 2e-5, np.float64: 1e-12}


def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


# ----------------------------------------------------------------- naive kernels
def naive_lstm_cell_fwd(T, c_prev):
    u = c_prev.shape[1]
    i, f, g, o = (0.5 + 0.5 * T[:, :u], 0.5 + 0.5 * T[:, u:2 * u], T[:, 2 * u:3 * u],
                  0.5 + 0.5 * T[:, 3 * u:])
    return np.concatenate([i, f, g, o], axis=1), f * c_prev + i * g


def naive_lstm_step_bwd(dh, dc, acts, c_prev, tc):
    u = dh.shape[1]
    i, f, g, o = (acts[:, k * u:(k + 1) * u] for k in range(4))
    d_c = dc + dh * o * (1 - tc ** 2)
    dg = np.concatenate([d_c * g * i * (1 - i), d_c * c_prev * f * (1 - f), d_c * i * (1 - g ** 2),
                         dh * tc * o * (1 - o)], axis=1)
    return dg, d_c * f


def naive_gru_gates_fwd(T, xw, hw, b_hn):
    u = b_hn.shape[0]
    r, z = 0.5 + 0.5 * T[:, :u], 0.5 + 0.5 * T[:, u:]
    hn = hw[:, 2 * u:] + b_hn
    return np.concatenate([r, z, xw[:, 2 * u:] + r * hn], axis=1), hn


def naive_gru_out_fwd(acts, h_prev):
    u = h_prev.shape[1]
    z, n = acts[:, u:2 * u], acts[:, 2 * u:]
    return (1 - z) * n + z * h_prev


def naive_gru_step_bwd(dh, acts, ghn, h_prev):
    u = dh.shape[1]
    r, z, n = (acts[:, k * u:(k + 1) * u] for k in range(3))
    dn = dh * (1 - z) * (1 - n ** 2)
    dz = dh * (h_prev - n) * z * (1 - z)
    dr = dn * ghn * r * (1 - r)
    return np.concatenate([dr, dz, dn], 1), np.concatenate([dr, dz, dn * r], 1), dh * z


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_kernels_match_naive(dtype):
    rng = np.random.default_rng(0)
    n, u = 3, 5
    T = np.tanh(rng.standard_normal((n, 4 * u))).astype(dtype)
    c = rng.standard_normal((n, u)).astype(dtype)
    acts, c_out = np.empty((n, 4 * u), dtype), np.empty((n, u), dtype)
    K.lstm_cell_fwd(T, c, acts, c_out)
    ra, rc = naive_lstm_cell_fwd(T, c)
    np.testing.assert_allclose(acts, ra, rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_allclose(c_out, rc, rtol=TOL[dtype], atol=TOL[dtype])
    dh, dc = rng.standard_normal((n, u)).astype(dtype), rng.standard_normal((n, u)).astype(dtype)
    tc = np.tanh(c_out)
    dg = np.empty((n, 4 * u), dtype)
    ref_dg, ref_dc = naive_lstm_step_bwd(dh, dc.copy(), acts, c, tc)
    K.lstm_step_bwd(dh, dc, acts, c, tc, dg)
    np.testing.assert_allclose(dg, ref_dg, rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_allclose(dc, ref_dc, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gru_kernels_match_naive(dtype):
    rng = np.random.default_rng(1)
    n, u = 3, 4
    T = np.tanh(rng.standard_normal((n, 2 * u))).astype(dtype)
    xw, hw = (rng.standard_normal((n, 3 * u)).astype(dtype) for _ in range(2))
    b_hn = rng.standard_normal(u).astype(dtype)
    h = rng.standard_normal((n, u)).astype(dtype)
    acts, ghn, h_out = np.empty((n, 3 * u), dtype), np.empty((n, u), dtype), np.empty((n, u), dtype)
    K.gru_gates_fwd(T, xw, hw, b_hn, acts, ghn)
    ra, rg = naive_gru_gates_fwd(T, xw, hw, b_hn)
    np.testing.assert_allclose(acts, ra, rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_allclose(ghn, rg, rtol=TOL[dtype], atol=TOL[dtype])
    acts[:, 2 * u:] = np.tanh(acts[:, 2 * u:])
    K.gru_out_fwd(acts, h, h_out)
    np.testing.assert_allclose(h_out, naive_gru_out_fwd(acts, h), rtol=TOL[dtype], atol=TOL[dtype])
    dh = rng.standard_normal((n, u)).astype(dtype)
    ref = naive_gru_step_bwd(dh.copy(), acts, ghn, h)
    dgx, dgh = np.empty((n, 3 * u), dtype), np.empty((n, 3 * u), dtype)
    K.gru_step_bwd(dh, acts, ghn, h, dgx, dgh)
    for got, want in zip((dgx, dgh, dh), ref):
        np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])


# ------------------------------------------- PyTorch equations, written out plainly
def torch_rnn(x, p, cell):
    n, L, _ = x.shape
    u = p["W_hh"].shape[1]
    h = np.zeros((n, u))
    c = np.zeros((n, u))
    outs = []
    for t in range(L):
        gi = x[:, t] @ p["W_ih"].T + p["b_ih"]
        gh = h @ p["W_hh"].T + p["b_hh"]
        if cell == "SimpleRNN":
            h = np.tanh(gi + gh)
        elif cell == "LSTM":
            i, f, g, o = np.split(gi + gh, 4, axis=1)
            c = sig(f) * c + sig(i) * np.tanh(g)
            h = sig(o) * np.tanh(c)
        else:  # GRU
            ir, iz, in_ = np.split(gi, 3, axis=1)
            hr, hz, hn = np.split(gh, 3, axis=1)
            r, z = sig(ir + hr), sig(iz + hz)
            nn = np.tanh(in_ + r * hn)
            h = (1 - z) * nn + z * h
        outs.append(h)
    return np.stack(outs, axis=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("seq", [False, True])
def test_recurrent_layers_follow_pytorch_equations(cell, seq, dtype):
    layer = build_layer(f"{cell}.v1", {"units": 4, "return_sequences": seq})
    rng = np.random.default_rng(2)
    params = layer.init_params([(6, 3)], rng, dtype)
    params = {k: (v + 0.3 * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
    x = rng.standard_normal((2, 6, 3)).astype(dtype)
    y, _ = layer.forward(params, {}, [x], Ctx())
    ref = torch_rnn(x.astype(np.float64), {k: v.astype(np.float64) for k, v in params.items()}, cell)
    ref = ref if seq else ref[:, -1]
    assert y.dtype == dtype and y.shape == ref.shape
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("seq", [False, True])
def test_recurrent_skips_input_grad_when_not_needed(cell, seq):
    """Ctx.need_input_grad=False (layer reads the model input): dx is None, the
    parameter gradients are exactly those of the full backward pass."""
    layer = build_layer(f"{cell}.v1", {"units": 3, "return_sequences": seq})
    rng = np.random.default_rng(4)
    params = layer.init_params([(5, 2)], rng, np.float64)
    x = rng.standard_normal((3, 5, 2))
    y, back = layer.forward(params, {}, [x], Ctx(train=True))
    dy = rng.standard_normal(y.shape)
    (dx,), grads = back(dy)
    y2, back2 = layer.forward(params, {}, [x], Ctx(train=True, need_input_grad=False))
    (dx2,), grads2 = back2(dy)
    assert dx is not None and dx.shape == x.shape and dx2 is None
    np.testing.assert_array_equal(y, y2)
    for k in grads:
        np.testing.assert_array_equal(grads[k], grads2[k])
    # the bias gradients are the column sums of the gate gradients (b_ih and b_hh alike for LSTM)
    if cell == "LSTM":
        np.testing.assert_array_equal(grads["b_ih"], grads["b_hh"])
        assert grads["b_ih"] is not grads["b_hh"]


def torch_mha(x, p, h, causal):
    """torch.nn.MultiheadAttention(batch_first=True) with in_proj_weight = [W_q.T; W_k.T; W_v.T]."""
    n, L, D = x.shape
    in_w = np.concatenate([p["W_q"].T, p["W_k"].T, p["W_v"].T], axis=0)
    in_b = np.concatenate([p["b_q"], p["b_k"], p["b_v"]])
    qkv = x @ in_w.T + in_b
    q, k, v = np.split(qkv, 3, axis=-1)
    d = D // h
    out = np.zeros((n, L, D))
    for b in range(n):
        for head in range(h):
            sl = slice(head * d, (head + 1) * d)
            s = q[b, :, sl] @ k[b, :, sl].T / math.sqrt(d)
            if causal:
                s = s + np.triu(np.full((L, L), -np.inf), 1)
            a = np.exp(s - s.max(axis=1, keepdims=True))
            a /= a.sum(axis=1, keepdims=True)
            out[b, :, sl] = a @ v[b, :, sl]
    out_proj_weight = p["W_o"].T
    return out @ out_proj_weight.T + p["b_o"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("heads,causal", [(1, False), (2, True), (4, False)])
def test_attention_follows_pytorch_equations(heads, causal, dtype):
    layer = build_layer("MultiHeadAttention.v1", {"num_heads": heads, "causal": causal})
    rng = np.random.default_rng(3)
    params = layer.init_params([(5, 8)], rng, dtype)
    params = {k: (v + 0.2 * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
    x = rng.standard_normal((2, 5, 8)).astype(dtype)
    y, _ = layer.forward(params, {}, [x], Ctx())
    ref = torch_mha(x.astype(np.float64), {k: v.astype(np.float64) for k, v in params.items()}, heads, causal)
    assert y.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)


def test_causal_attention_ignores_the_future():
    layer = build_layer("MultiHeadAttention.v1", {"num_heads": 2, "causal": True})
    rng = np.random.default_rng(4)
    params = layer.init_params([(6, 4)], rng, np.float64)
    x = rng.standard_normal((1, 6, 4))
    x2 = x.copy()
    x2[0, 4:] += 10.0  # change only the last two positions
    y1, _ = layer.forward(params, {}, [x], Ctx())
    y2, _ = layer.forward(params, {}, [x2], Ctx())
    np.testing.assert_allclose(y1[0, :4], y2[0, :4], rtol=1e-12)
    assert not np.allclose(y1[0, 4:], y2[0, 4:])


def test_layernorm_matches_definition():
    layer = build_layer("LayerNorm.v1", {"epsilon": 1e-5})
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 6)).astype(np.float32) * 3 + 1
    params = {"gamma": rng.standard_normal(6).astype(np.float32), "beta": rng.standard_normal(6).astype(np.float32)}
    y, _ = layer.forward(params, {}, [x], Ctx())
    xd = x.astype(np.float64)
    ref = (xd - xd.mean(-1, keepdims=True)) / np.sqrt(xd.var(-1, keepdims=True) + 1e-5) * params["gamma"] \
        + params["beta"]
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_embedding_lookup_and_bad_ids():
    from engine.layers.embedding import TokenIdError
    layer = build_layer("Embedding.v1", {"vocab_size": 5, "dim": 2})
    W = np.arange(10, dtype=np.float32).reshape(5, 2)
    y, back = layer.forward({"W": W}, {}, [np.array([[0, 4, 4]], dtype=np.float32)], Ctx())
    np.testing.assert_array_equal(y[0], W[[0, 4, 4]])
    (dx,), g = back(np.ones_like(y))
    np.testing.assert_array_equal(g["W"][:, 0], [1, 0, 0, 0, 2])
    assert dx.shape == (1, 3) and not dx.any()
    with pytest.raises(TokenIdError, match=r"token id 5 is outside 0\.\.4"):
        layer.forward({"W": W}, {}, [np.array([[0, 5]])], Ctx())
    with pytest.raises(TokenIdError, match="whole numbers"):
        layer.forward({"W": W}, {}, [np.array([[0.5, 1.0]])], Ctx())
    with pytest.raises(TokenIdError, match="outside"):
        layer.forward({"W": W}, {}, [np.array([[-1, 1]])], Ctx())
