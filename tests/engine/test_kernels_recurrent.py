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


# ------------------------------------------------- NumPy references of the time loops
def sig_t(a):
    """The kernels' sigmoid: 0.5 + 0.5 tanh(a / 2)."""
    return 0.5 + 0.5 * np.tanh(0.5 * a)


def ref_lstm(xs, W_s, h0):
    """lstm_forward in NumPy (float64): xs/W_s with the i, f, o columns halved."""
    L, n, g4 = xs.shape
    u = g4 // 4
    hs, cs, acts, tcs = [h0], [np.zeros((n, u))], [], []
    for t in range(L):
        T = np.tanh(xs[t] + hs[-1] @ W_s)
        i, f, g, o = 0.5 + 0.5 * T[:, :u], 0.5 + 0.5 * T[:, u:2 * u], T[:, 2 * u:3 * u], 0.5 + 0.5 * T[:, 3 * u:]
        cs.append(f * cs[-1] + i * g)
        tcs.append(np.tanh(cs[-1]))
        hs.append(o * tcs[-1])
        acts.append(np.concatenate([i, f, g, o], axis=1))
    return np.stack(hs), np.stack(cs), np.stack(acts), np.stack(tcs)


def ref_lstm_back(dh_seq, dlast, W_hh, acts, cs, tcs):
    L, n, g4 = acts.shape
    u = g4 // 4
    dg = np.empty_like(acts)
    dc = np.zeros((n, u))
    for t in range(L - 1, -1, -1):
        dh = dh_seq[t].copy() if dh_seq is not None else (dlast.copy() if t == L - 1 else np.zeros((n, u)))
        if t < L - 1:
            dh += dg[t + 1] @ W_hh
        i, f, g, o = (acts[t][:, k * u:(k + 1) * u] for k in range(4))
        tc = tcs[t]
        d_c = dc + dh * o * (1 - tc ** 2)
        dg[t] = np.concatenate([d_c * g * i * (1 - i), d_c * cs[t] * f * (1 - f), d_c * i * (1 - g ** 2),
                                dh * tc * o * (1 - o)], axis=1)
        dc = d_c * f
    return dg


def ref_gru(xr, W_s, b_hn, h0):
    """gru_forward in NumPy: xr/W_s with the r, z columns halved (b_hh's r, z part in xr)."""
    L, n, g3 = xr.shape
    u = g3 // 3
    hs, acts, ghn = [h0], [], []
    for t in range(L):
        h = hs[-1]
        hw = h @ W_s
        r = 0.5 + 0.5 * np.tanh(xr[t][:, :u] + hw[:, :u])
        z = 0.5 + 0.5 * np.tanh(xr[t][:, u:2 * u] + hw[:, u:2 * u])
        hn = hw[:, 2 * u:] + b_hn
        nn = np.tanh(xr[t][:, 2 * u:] + r * hn)
        hs.append((1 - z) * nn + z * h)
        acts.append(np.concatenate([r, z, nn], 1))
        ghn.append(hn)
    return np.stack(hs), np.stack(acts), np.stack(ghn)


def ref_gru_back(dh_seq, dlast, W_hh, hs, acts, ghn):
    L, n, g3 = acts.shape
    u = g3 // 3
    dgx, dgh = np.empty_like(acts), np.empty_like(acts)
    dh = dh_seq[L - 1].copy() if dh_seq is not None else dlast.copy()
    for t in range(L - 1, -1, -1):
        if dh_seq is not None and t < L - 1:
            dh = dh + dh_seq[t]
        r, z, nn = (acts[t][:, k * u:(k + 1) * u] for k in range(3))
        dn = dh * (1 - z) * (1 - nn ** 2)
        dz = dh * (hs[t] - nn) * z * (1 - z)
        dr = dn * ghn[t] * r * (1 - r)
        dgx[t] = np.concatenate([dr, dz, dn], 1)
        dgh[t] = np.concatenate([dr, dz, dn * r], 1)
        dh = dh * z + dgh[t] @ W_hh
    return dgx, dgh


def ref_gru_reset_first(xw, W_rz, b_rz, W_n, b_n, h0):
    L, n, g3 = xw.shape
    u = g3 // 3
    hs, acts, rh = [h0], [], []
    for t in range(L):
        h = hs[-1]
        rz = sig(xw[t][:, :2 * u] + h @ W_rz.T + b_rz)
        r, z = rz[:, :u], rz[:, u:]
        rh.append(r * h)
        nn = np.tanh(xw[t][:, 2 * u:] + rh[-1] @ W_n.T + b_n)
        hs.append((1 - z) * nn + z * h)
        acts.append(np.concatenate([r, z, nn], 1))
    return np.stack(hs), np.stack(acts), np.stack(rh)


def ref_gru_reset_first_back(dh_seq, dlast, W_rz, W_n, hs, acts):
    L, n, g3 = acts.shape
    u = g3 // 3
    dg = np.empty_like(acts)
    dh = dh_seq[L - 1].copy() if dh_seq is not None else dlast.copy()
    for t in range(L - 1, -1, -1):
        if dh_seq is not None and t < L - 1:
            dh = dh + dh_seq[t]
        h = hs[t]
        r, z, nn = (acts[t][:, k * u:(k + 1) * u] for k in range(3))
        dn = dh * (1 - z) * (1 - nn * nn)
        d_rh = dn @ W_n
        dg[t] = np.concatenate([d_rh * h * r * (1 - r), dh * (h - nn) * z * (1 - z), dn], 1)
        dh = dh * z + d_rh * r + dg[t][:, :2 * u] @ W_rz
    return dg


def ref_rnn(xw, W_hhT, h0):
    hs = [h0]
    for t in range(xw.shape[0]):
        hs.append(np.tanh(xw[t] + hs[-1] @ W_hhT))
    return np.stack(hs)


def ref_rnn_back(dh_seq, dlast, W_hh, hs):
    L = hs.shape[0] - 1
    dpre = np.empty(hs[1:].shape)
    for t in range(L - 1, -1, -1):
        dh = dh_seq[t].copy() if dh_seq is not None else (dlast.copy() if t == L - 1 else np.zeros_like(dlast))
        if t < L - 1:
            dh += dpre[t + 1] @ W_hh
        dpre[t] = dh * (1 - hs[t + 1] ** 2)
    return dpre


def _dh(rng, seq, L, n, u, dtype):
    """(dh_seq or None for the reference, the kernels' dh_seq, dlast)."""
    if seq:
        d = rng.standard_normal((L, n, u)).astype(dtype)
        return d, d, np.empty((n, u), dtype)
    d = rng.standard_normal((n, u)).astype(dtype)
    return None, np.empty((0, n, u), dtype), d


def close(got, want, dtype):
    tol = TOL[dtype]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# batch sizes 5 and 7 exercise the 4-row blocks and the rows left over
CASES = [(np.float32, 7, 5, 6), (np.float64, 5, 3, 4), (np.float64, 1, 4, 2), (np.float32, 32, 4, 16)]


@pytest.mark.parametrize("dtype,n,L,u", CASES)
@pytest.mark.parametrize("seq", [False, True])
def test_lstm_time_loop_matches_numpy(dtype, n, L, u, seq):
    rng = np.random.default_rng(0)
    c = 3
    x = rng.standard_normal((L, n, c)).astype(dtype)
    W_x = (0.5 * rng.standard_normal((c, 4 * u))).astype(dtype)
    bias = rng.standard_normal(4 * u).astype(dtype)
    W_s = (0.5 * rng.standard_normal((u, 4 * u))).astype(dtype)
    hs = np.zeros((L + 1, n, u), dtype)
    hs[0] = rng.standard_normal((n, u))
    cs = np.zeros((L + 1, n, u), dtype)
    acts, tcs = np.empty((L, n, 4 * u), dtype), np.empty((L, n, u), dtype)
    xh = np.empty((L, n, c + u), dtype)
    xh[:, :, :c] = x
    K.lstm_forward(xh, np.concatenate([W_x, W_s]), bias, hs, cs, acts, tcs, 0, n)
    f64 = np.float64
    xs = x.astype(f64) @ W_x.astype(f64) + bias
    r = ref_lstm(xs, W_s.astype(f64), hs[0].astype(f64))
    for got, want in zip((hs, cs, acts, tcs), r):
        close(got, want, dtype)
    np.testing.assert_array_equal(xh[:, :, :c], x)   # the inputs stay, the states each step read follow
    np.testing.assert_array_equal(xh[:, :, c:], hs[:-1])
    W_hh = rng.standard_normal((4 * u, u)).astype(dtype)
    ref_seq, dh_seq, dlast = _dh(rng, seq, L, n, u, dtype)
    dg = np.empty_like(acts)
    K.lstm_backward(dh_seq, dlast, W_hh, acts, cs, tcs, dg, 0, n)
    want = ref_lstm_back(ref_seq, dlast.astype(np.float64), W_hh.astype(np.float64), acts.astype(np.float64),
                         cs.astype(np.float64), tcs.astype(np.float64))
    close(dg, want, dtype)


@pytest.mark.parametrize("dtype,n,L,u", CASES)
@pytest.mark.parametrize("seq", [False, True])
def test_gru_time_loops_match_numpy(dtype, n, L, u, seq):
    rng = np.random.default_rng(1)
    f64 = np.float64
    xw = rng.standard_normal((L, n, 3 * u)).astype(dtype)
    W_s = (0.5 * rng.standard_normal((u, 3 * u))).astype(dtype)
    b_hn = rng.standard_normal(u).astype(dtype)
    hs = np.zeros((L + 1, n, u), dtype)
    hs[0] = rng.standard_normal((n, u))
    acts, ghn = np.empty((L, n, 3 * u), dtype), np.empty((L, n, u), dtype)
    K.gru_forward(xw, W_s, b_hn, hs, acts, ghn, np.empty((n, 3 * u), dtype), 0, n)
    for got, want in zip((hs, acts, ghn), ref_gru(xw.astype(f64), W_s.astype(f64), b_hn.astype(f64),
                                                  hs[0].astype(f64))):
        close(got, want, dtype)
    W_hh = rng.standard_normal((3 * u, u)).astype(dtype)
    ref_seq, dh_seq, dlast = _dh(rng, seq, L, n, u, dtype)
    dgx, dgh = np.empty_like(acts), np.empty_like(acts)
    K.gru_backward(dh_seq, dlast, W_hh, hs, acts, ghn, dgx, dgh, 0, n)
    wx, wh = ref_gru_back(ref_seq, dlast.astype(f64), W_hh.astype(f64), hs.astype(f64), acts.astype(f64),
                          ghn.astype(f64))
    close(dgx, wx, dtype)
    close(dgh, wh, dtype)
    # linear_before_reset off
    W_rz, W_n = (0.5 * rng.standard_normal((2 * u, u))).astype(dtype), (0.5 * rng.standard_normal((u, u))).astype(dtype)
    b_rz, b_n = rng.standard_normal(2 * u).astype(dtype), rng.standard_normal(u).astype(dtype)
    hs2 = hs.copy()
    rh = np.empty((L, n, u), dtype)
    K.gru_reset_first_forward(xw, np.ascontiguousarray(W_rz.T), b_rz, np.ascontiguousarray(W_n.T), b_n, hs2,
                              acts, rh, np.empty((n, 2 * u), dtype), np.empty((n, u), dtype), 0, n)
    r = ref_gru_reset_first(xw.astype(f64), W_rz.astype(f64), b_rz.astype(f64), W_n.astype(f64),
                            b_n.astype(f64), hs2[0].astype(f64))
    for got, want in zip((hs2, acts, rh), r):
        close(got, want, dtype)
    dg = np.empty_like(acts)
    K.gru_reset_first_backward(dh_seq, dlast, W_rz, W_n, hs2, acts, dg, np.empty((n, u), dtype), 0, n)
    close(dg, ref_gru_reset_first_back(ref_seq, dlast.astype(f64), W_rz.astype(f64), W_n.astype(f64),
                                       hs2.astype(f64), acts.astype(f64)), dtype)


@pytest.mark.parametrize("dtype,n,L,u", CASES)
@pytest.mark.parametrize("seq", [False, True])
def test_rnn_time_loop_matches_numpy(dtype, n, L, u, seq):
    rng = np.random.default_rng(2)
    xw = rng.standard_normal((L, n, u)).astype(dtype)
    W = (0.5 * rng.standard_normal((u, u))).astype(dtype)
    hs = np.zeros((L + 1, n, u), dtype)
    hs[0] = rng.standard_normal((n, u))
    K.rnn_forward(xw, np.ascontiguousarray(W.T), hs, 0, n)
    close(hs, ref_rnn(xw.astype(np.float64), W.T.astype(np.float64), hs[0].astype(np.float64)), dtype)
    ref_seq, dh_seq, dlast = _dh(rng, seq, L, n, u, dtype)
    dpre = np.empty((L, n, u), dtype)
    K.rnn_backward(dh_seq, dlast, W, hs, dpre, 0, n)
    close(dpre, ref_rnn_back(ref_seq, dlast.astype(np.float64), W.astype(np.float64), hs.astype(np.float64)),
          dtype)


def test_tanh_f32_within_6_ulp():
    """The float32 rational tanh against float64 tanh, over the whole useful range and tiny inputs."""
    x = np.concatenate([np.linspace(-12, 12, 400_001), np.geomspace(1e-9, 10, 20_001),
                        -np.geomspace(1e-9, 10, 20_001), [0.0, 0.0004, -0.0004, 7.9053, 50.0, -50.0]])
    x = x.astype(np.float32).reshape(1, -1)
    got = x.copy()
    K.tanh_rows(got)
    want = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    err = np.abs(got.astype(np.float64) - want) / ulp
    assert err.max() <= 6.0, (err.max(), x[0, err.argmax()])
    assert np.all(np.abs(got) <= 1.0)
    # float64 goes through libm: float64 rounding
    x64 = x.astype(np.float64)
    got64 = x64.copy()
    K.tanh_rows(got64)
    np.testing.assert_allclose(got64, np.tanh(x64), rtol=1e-15, atol=1e-300)


def test_time_loops_are_bit_repeatable_and_independent_of_the_row_split():
    """Same result on every run, and whether the batch runs in one call, in two halves on two
    threads (run_rows) or row by row: each row is summed in the same order wherever it falls."""
    from engine.kernels.threads import run_rows
    rng = np.random.default_rng(3)
    L, n, u = 6, 13, 8
    xh0 = rng.standard_normal((L, n, 2 + u)).astype(np.float32)
    W = rng.standard_normal((2 + u, 4 * u)).astype(np.float32)
    W_hh = rng.standard_normal((4 * u, u)).astype(np.float32)
    bias = rng.standard_normal(4 * u).astype(np.float32)
    dlast = rng.standard_normal((n, u)).astype(np.float32)

    def run(split):
        xh = xh0.copy()
        hs, cs = np.zeros((L + 1, n, u), np.float32), np.zeros((L + 1, n, u), np.float32)
        acts, tcs = np.empty((L, n, 4 * u), np.float32), np.empty((L, n, u), np.float32)
        dg = np.empty_like(acts)
        empty = np.empty((0, n, u), np.float32)
        if split == "threads":
            run_rows(K.lstm_forward, n, xh, W, bias, hs, cs, acts, tcs)
            run_rows(K.lstm_backward, n, empty, dlast, W_hh, acts, cs, tcs, dg)
        else:
            cuts = [0, n] if split == "one" else list(range(n + 1))
            for b0, b1 in zip(cuts[:-1], cuts[1:]):
                K.lstm_forward(xh, W, bias, hs, cs, acts, tcs, b0, b1)
            for b0, b1 in zip(cuts[:-1], cuts[1:]):
                K.lstm_backward(empty, dlast, W_hh, acts, cs, tcs, dg, b0, b1)
        return hs, dg

    ref = run("one")
    for split in ("one", "threads", "rows"):
        for got, want in zip(run(split), ref):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("cell,cfg", [("GRU", {}), ("GRU", {"linear_before_reset": False}), ("SimpleRNN", {}),
                                      ("LSTM", {"return_sequences": True, "bidirectional": True})])
def test_layers_give_the_same_bits_on_one_or_two_threads(monkeypatch, cell, cfg):
    layer = build_layer(f"{cell}.v1", {"units": 6, **cfg})
    rng = np.random.default_rng(5)
    params = layer.init_params([(7, 3)], rng, np.float32)
    x = rng.standard_normal((13, 7, 3)).astype(np.float32)
    outs = []
    for threads in ("1", "2"):
        monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", threads)
        y, back = layer.forward(params, {}, [x], Ctx(train=True))
        (dx,), g = back(np.ones_like(y))
        outs.append([y, dx] + [g[k] for k in sorted(g)])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(1600, 256, 80), (999, 200, 33), (320, 96, 7)])
def test_weight_gradient_gemm_on_two_threads_gives_the_same_bits(monkeypatch, shape):
    """gemm_tn splits a.T @ b into two halves of the output rows on two threads (BLAS on one)."""
    from engine.kernels.threads import blas_one_thread
    from engine.layers import recurrent
    monkeypatch.setattr(recurrent, "SPLIT_MACS", 1)
    monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", "2")
    rng = np.random.default_rng(3)
    r, m, k = shape
    a = rng.standard_normal((r, m)).astype(np.float32)
    b = rng.standard_normal((r, k)).astype(np.float32)
    with blas_one_thread():
        want = a.T @ b
        got = recurrent.gemm_tn(a, b)
        sliced = recurrent.gemm_tn(a[:, 1:m - 1], b)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(sliced, want[1:m - 1])
    np.testing.assert_allclose(got, a.astype(np.float64).T @ b, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_w5_sized_layers_give_the_same_bits_on_one_or_two_threads(monkeypatch, cell):
    """Large enough that the time loops and the weight-gradient GEMMs are split (as in W5)."""
    from engine.kernels.threads import blas_one_thread
    layer = build_layer(f"{cell}.v1", {"units": 64})
    rng = np.random.default_rng(6)
    params = layer.init_params([(50, 16)], rng, np.float32)
    x = rng.standard_normal((32, 50, 16)).astype(np.float32)
    outs = []
    for threads in ("1", "2"):
        monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", threads)
        with blas_one_thread():
            y, back = layer.forward(params, {}, [x], Ctx(train=True))
            (dx,), g = back(np.ones_like(y))
        outs.append([y, dx] + [g[k] for k in sorted(g)])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


def test_kernel_threads_setting(monkeypatch):
    from engine.kernels import threads
    monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", "1")
    assert threads.kernel_threads() == 1
    monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", "4")
    assert threads.kernel_threads() == 2
    monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", "many")
    assert threads.kernel_threads() == 1
    calls = []
    threads.run_rows(lambda *a: calls.append(a), 20, "x")
    assert calls == [("x", 0, 20)]          # one thread: one call over every row
    monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", "2")
    calls.clear()
    threads.run_rows(lambda *a: calls.append(a), 20, "x")
    assert sorted(calls) == [("x", 0, 12), ("x", 12, 20)]
    calls.clear()
    threads.run_rows(lambda *a: calls.append(a), threads.MIN_ROWS - 1, "x")
    assert calls == [("x", 0, threads.MIN_ROWS - 1)]


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
