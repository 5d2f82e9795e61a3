"""Numba kernels for the time loops of SimpleRNN, LSTM and GRU (forward and backward through time).

One call runs a whole sequence: every step's recurrent matmul, gate nonlinearities, cell
update and output in compiled code, so a 50-step sequence costs one Python call instead
of ~10 NumPy calls per step.  What stays outside (in the layer, as BLAS GEMMs over all
steps at once): the input projection ``x W_ih^T`` of every time step, the weight gradients
and the input gradient.

* **The per-step matmul** ``h (N, u) @ W (u, G*u)`` is a loop in blocks of 4 batch rows x 4
  values of ``k`` with the contiguous output row innermost (:func:`_mm_acc`), which LLVM
  vectorises.  At these sizes (32 x 80 x 256) it is faster than single-threaded OpenBLAS
  through NumPy and does not pay NumPy's call overhead or the 2-thread BLAS hand-off that a
  shared machine makes expensive (measured in BENCHMARKS.md, W5).  The summation order over
  ``k`` is fixed, so results are bit-repeatable; no ``fastmath``, no threads.
* **tanh.**  Scalar libm ``tanh`` in a Numba loop is ~6x slower than NumPy's SIMD ``tanh``.
  For float32 the kernels use :func:`tanh_f32`, a [13/6] rational approximation (Eigen's
  ``ptanh_float``: clamp to +-7.9053, odd polynomial over even polynomial), which vectorises
  (only multiply, add, divide, compare; the kernels use ``error_model="numpy"`` because
  Python's division-by-zero check keeps LLVM from vectorising any loop with a division) and
  is within 6 ulp of the exact tanh (NumPy's own float32 tanh: 1.4 ulp); float64 keeps
  libm's ``tanh`` (float64 rounding, for gradient checks).  Sigmoids are ``0.5 + 0.5 * tanh(a / 2)``; the LSTM's caller folds the ``1/2``
  into the weights.

PyTorch gate order: LSTM i, f, g, o; GRU r, z, n.  Every output array is allocated by the
caller; the initial state is ``hs[0]``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

_f = np.float32
_A1, _A3, _A5, _A7, _A9, _A11, _A13 = (
    _f(4.89352455891786e-03), _f(6.37261928875436e-04), _f(1.48572235717979e-05),
    _f(5.12229709037114e-08), _f(-8.60467152213735e-11), _f(2.00018790482477e-13),
    _f(-2.76076847742355e-16))
_B0, _B2, _B4, _B6 = (_f(4.89352518554385e-03), _f(2.26843463243900e-03),
                      _f(1.18534705686654e-04), _f(1.19825839466702e-06))
_CLAMP = _f(7.90531110763549805)
_TINY = _f(0.0004)


@njit(cache=True, nogil=True, error_model="numpy")
def tanh_f32(x):
    """tanh of a float32 scalar by Eigen's rational approximation (<= 6 ulp; vectorisable)."""
    y = x
    if y > _CLAMP:
        y = _CLAMP
    if y < -_CLAMP:
        y = -_CLAMP
    x2 = y * y
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    p = y * p
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    r = p / q
    if abs(x) < _TINY:  # tanh(x) = x to float32 rounding
        r = x
    return r


def vtanh(x):
    """tanh of one scalar inside the kernels: :func:`tanh_f32` for float32, libm otherwise."""
    return math.tanh(x)


@overload(vtanh)
def _vtanh_impl(x):
    if x == types.float32:
        return lambda x: tanh_f32(x)
    return lambda x: math.tanh(x)


@njit(cache=True, nogil=True, error_model="numpy")
def tanh_rows(a):
    """In place ``a = tanh(a)`` of a 2-D array through :func:`vtanh` (for tests and references)."""
    for b in range(a.shape[0]):
        for j in range(a.shape[1]):
            a[b, j] = vtanh(a[b, j])


@njit(cache=True, nogil=True, error_model="numpy")
def _mm_acc(A, W, O, b0=0, b1=-1):
    """``O[b0:b1] += A[b0:b1] @ W`` for A (N, K), W (K, M), O (N, M), all C-contiguous
    (``b1 = -1``: to the last row).

    Blocks of 4 rows x 4 values of ``k``: each pass over a contiguous output row adds four
    products (``((a0 w0 + a1 w1) + a2 w2) + a3 w3``), so the row is loaded and stored once per
    4 ``k`` and each loaded row of ``W`` serves 4 rows (measured: 1.5x faster than one ``k``
    per pass, 1.4-2x faster than NumPy's matmul at 32 x 80 x 256).  Every row is summed in
    the same order whether it falls in a block or among the rows left over, so a row's
    result does not depend on the batch size.
    """
    n, kk = A.shape
    if b1 >= 0:
        n = b1
    k4 = kk - kk % 4
    b = b0
    while b + 4 <= n:
        o0, o1, o2, o3 = O[b], O[b + 1], O[b + 2], O[b + 3]
        for k in range(0, k4, 4):
            w, v, x, y = W[k], W[k + 1], W[k + 2], W[k + 3]
            a0, a1, a2, a3 = A[b, k], A[b, k + 1], A[b, k + 2], A[b, k + 3]
            c0, c1, c2, c3 = A[b + 1, k], A[b + 1, k + 1], A[b + 1, k + 2], A[b + 1, k + 3]
            d0, d1, d2, d3 = A[b + 2, k], A[b + 2, k + 1], A[b + 2, k + 2], A[b + 2, k + 3]
            e0, e1, e2, e3 = A[b + 3, k], A[b + 3, k + 1], A[b + 3, k + 2], A[b + 3, k + 3]
            for j in range(w.shape[0]):
                wj, vj, xj, yj = w[j], v[j], x[j], y[j]
                o0[j] += ((a0 * wj + a1 * vj) + a2 * xj) + a3 * yj
                o1[j] += ((c0 * wj + c1 * vj) + c2 * xj) + c3 * yj
                o2[j] += ((d0 * wj + d1 * vj) + d2 * xj) + d3 * yj
                o3[j] += ((e0 * wj + e1 * vj) + e2 * xj) + e3 * yj
        for k in range(k4, kk):
            a0, a1, a2, a3 = A[b, k], A[b + 1, k], A[b + 2, k], A[b + 3, k]
            w = W[k]
            for j in range(w.shape[0]):
                wj = w[j]
                o0[j] += a0 * wj
                o1[j] += a1 * wj
                o2[j] += a2 * wj
                o3[j] += a3 * wj
        b += 4
    while b < n:
        o0 = O[b]
        for k in range(0, k4, 4):
            w, v, x, y = W[k], W[k + 1], W[k + 2], W[k + 3]
            a0, a1, a2, a3 = A[b, k], A[b, k + 1], A[b, k + 2], A[b, k + 3]
            for j in range(w.shape[0]):
                o0[j] += ((a0 * w[j] + a1 * v[j]) + a2 * x[j]) + a3 * y[j]
        for k in range(k4, kk):
            a0 = A[b, k]
            w = W[k]
            for j in range(w.shape[0]):
                o0[j] += a0 * w[j]
        b += 1


# --------------------------------------------------------------------------- SimpleRNN
@njit(cache=True, nogil=True, error_model="numpy")
def rnn_forward(xw, W_hhT, hs, b0, b1):
    """``hs[t+1] = tanh(xw[t] + hs[t] @ W_hhT)``; xw (L, N, u) holds the projection and both
    biases.  Rows ``b0 .. b1-1`` (see :func:`lstm_forward`)."""
    L, n, u = xw.shape
    for t in range(L):
        h = hs[t + 1]
        x = xw[t]
        for b in range(b0, b1):
            for j in range(u):
                h[b, j] = x[b, j]
        _mm_acc(hs[t], W_hhT, h, b0, b1)
        for b in range(b0, b1):
            for j in range(u):
                h[b, j] = vtanh(h[b, j])


@njit(cache=True, nogil=True, error_model="numpy")
def rnn_backward(dh_seq, dlast, W_hh, hs, dpre, b0, b1):
    """Gradients w.r.t. the pre-activations ``dpre`` (L, N, u).

    ``dh_seq`` (L, N, u): dL/dh of every output step, or an empty (0, N, u) array when only
    the last state is an output, whose gradient is then ``dlast`` (N, u).  Rows ``b0 .. b1-1``.
    """
    L, n, u = dpre.shape
    seq = dh_seq.shape[0] > 0
    dh = np.empty((n, u), dtype=dpre.dtype)
    one = dpre.dtype.type(1.0)
    for t in range(L - 1, -1, -1):
        _dh_init(dh, dh_seq, dlast, seq, t, L, b0, b1)
        if t < L - 1:
            _mm_acc(dpre[t + 1], W_hh, dh, b0, b1)
        h = hs[t + 1]
        d = dpre[t]
        for b in range(b0, b1):
            for j in range(u):
                d[b, j] = dh[b, j] * (one - h[b, j] * h[b, j])


@njit(cache=True, nogil=True, error_model="numpy")
def _dh_init(dh, dh_seq, dlast, seq, t, L, b0, b1):
    """dL/dh of step ``t`` from the outputs: ``dh_seq[t]``, else ``dlast`` at the last step, else 0."""
    u = dh.shape[1]
    for b in range(b0, b1):
        for j in range(u):
            if seq:
                dh[b, j] = dh_seq[t, b, j]
            elif t == L - 1:
                dh[b, j] = dlast[b, j]
            else:
                dh[b, j] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _dh_add(dh, dh_seq, t, b0, b1):
    """Add output step ``t``'s gradient ``dh_seq[t]`` to ``dh`` (rows ``b0 .. b1-1``)."""
    u = dh.shape[1]
    for b in range(b0, b1):
        for j in range(u):
            dh[b, j] += dh_seq[t, b, j]


# -------------------------------------------------------------------------------- LSTM
@njit(cache=True, nogil=True, error_model="numpy")
def lstm_forward(xh, W_cat, bias, hs, cs, acts, tcs, b0, b1):
    """The LSTM over a whole sequence, one matmul per step over ``[x_t, h_t]``.

    ``xh`` (L, N, C+u): the inputs in ``[:, :, :C]``; the kernel writes the state each step
    reads into ``[:, :, C:]`` (the rows the weight gradient is taken against).  ``W_cat``
    (C+u, 4u): ``[W_ih^T; W_hh^T]`` and ``bias`` (4u,): ``b_ih + b_hh``, both with the i, f, o
    columns halved.  Writes the states ``hs[1:]``, ``cs[1:]`` (both (L+1, N, u), ``[0]`` is
    the initial state), the gate values ``acts`` (L, N, 4u; i, f, g, o after their
    nonlinearity) and ``tcs = tanh(c')``.  Only batch rows ``b0 .. b1-1`` are computed: the
    rows never interact, so two threads can each run the whole sequence for part of the batch.

    The gate nonlinearities, the cell update and the new state (written to ``hs[t+1]`` and to
    the next step's ``xh`` row) are one pass over a row's ``u`` units, on 1-D views of each
    gate's block: measured 19.1 -> 12.1 us a step (16 rows, C=16, u=64) against one loop per
    gate over the 2-D arrays.
    """
    L, n, g4 = acts.shape
    u = g4 // 4
    c_in = xh.shape[2] - u
    half = acts.dtype.type(0.5)
    for b in range(b0, b1):
        for j in range(u):
            xh[0, b, c_in + j] = hs[0, b, j]
    for t in range(L):
        a = acts[t]
        for b in range(b0, b1):
            for j in range(g4):
                a[b, j] = bias[j]
        _mm_acc(xh[t], W_cat, a, b0, b1)
        c_prev, c_out, tc, h_out = cs[t], cs[t + 1], tcs[t], hs[t + 1]
        for b in range(b0, b1):
            ab = a[b]
            ai, af, ag, ao = ab[:u], ab[u:2 * u], ab[2 * u:3 * u], ab[3 * u:]
            cp, co, tcb, ho = c_prev[b], c_out[b], tc[b], h_out[b]
            for j in range(u):
                i_ = half + half * vtanh(ai[j])
                f_ = half + half * vtanh(af[j])
                g_ = vtanh(ag[j])
                o_ = half + half * vtanh(ao[j])
                ai[j] = i_
                af[j] = f_
                ag[j] = g_
                ao[j] = o_
                cc = f_ * cp[j] + i_ * g_
                co[j] = cc
                tt = vtanh(cc)
                tcb[j] = tt
                ho[j] = o_ * tt
            if t + 1 < L:
                nb = xh[t + 1, b, c_in:]
                for j in range(u):
                    nb[j] = ho[j]


@njit(cache=True, nogil=True, error_model="numpy")
def lstm_step_bwd(dh, dc, acts, c_prev, tc, dg, b0, b1):
    """Gradients w.r.t. the pre-activation gates ``dg`` (N, 4u) of one step.

    ``dh``: dL/dh' (N, u); ``dc``: dL/dc' coming from the next step (N, u), replaced
    in place by dL/dc for the previous step.  Rows ``b0 .. b1-1``.
    """
    n, u = dh.shape
    one = dh.dtype.type(1.0)
    for b in range(b0, b1):
        for j in range(u):  # o gate and the full dL/dc'
            o = acts[b, 3 * u + j]
            t = tc[b, j]
            dg[b, 3 * u + j] = dh[b, j] * t * o * (one - o)
            dc[b, j] = dc[b, j] + dh[b, j] * o * (one - t * t)
        for j in range(u):
            i = acts[b, j]
            dg[b, j] = dc[b, j] * acts[b, 2 * u + j] * i * (one - i)
        for j in range(u):
            f = acts[b, u + j]
            dg[b, u + j] = dc[b, j] * c_prev[b, j] * f * (one - f)
        for j in range(u):
            g = acts[b, 2 * u + j]
            dg[b, 2 * u + j] = dc[b, j] * acts[b, j] * (one - g * g)
        for j in range(u):
            dc[b, j] = dc[b, j] * acts[b, u + j]


@njit(cache=True, nogil=True, error_model="numpy")
def lstm_backward(dh_seq, dlast, W_hh, acts, cs, tcs, dg, b0, b1):
    """Backward through time: gradients w.r.t. the pre-activation gates ``dg`` (L, N, 4u).

    ``W_hh`` (4u, u) unscaled; ``dh_seq``/``dlast`` as in :func:`rnn_backward`; ``cs`` as
    written by :func:`lstm_forward` (``cs[t]`` is the cell state step ``t`` read).  Rows
    ``b0 .. b1-1`` only (see :func:`lstm_forward`).
    """
    L, n, g4 = acts.shape
    u = g4 // 4
    seq = dh_seq.shape[0] > 0
    dh = np.empty((n, u), dtype=acts.dtype)
    dc = np.zeros((n, u), dtype=acts.dtype)
    for t in range(L - 1, -1, -1):
        _dh_init(dh, dh_seq, dlast, seq, t, L, b0, b1)
        if t < L - 1:
            _mm_acc(dg[t + 1], W_hh, dh, b0, b1)
        lstm_step_bwd(dh, dc, acts[t], cs[t], tcs[t], dg[t], b0, b1)


# --------------------------------------------------------------------------------- GRU
@njit(cache=True, nogil=True, error_model="numpy")
def gru_forward(xw, W_s, b_hn, hs, acts, ghn, hw, b0, b1):
    """The GRU (``linear_before_reset``, PyTorch's form) over a whole sequence.

    ``xw`` (L, N, 3u): input projection with ``b_ih``, plus ``b_hh`` on the r, z columns,
    and those r, z columns halved; ``W_s`` (u, 3u): ``W_hh^T`` with the r, z columns halved;
    ``b_hn`` (u,) the n part of ``b_hh``; ``hw`` (N, 3u) scratch.  Writes ``hs[1:]``,
    ``acts`` (r, z, n after their nonlinearity) and ``ghn = W_hn h + b_hn`` (L, N, u).
    Rows ``b0 .. b1-1`` (see :func:`lstm_forward`).
    """
    L, n, g3 = xw.shape
    u = g3 // 3
    half = xw.dtype.type(0.5)
    for t in range(L):
        for b in range(b0, b1):
            for j in range(g3):
                hw[b, j] = 0.0
        h = hs[t]
        _mm_acc(h, W_s, hw, b0, b1)
        x, a, gn, h_out = xw[t], acts[t], ghn[t], hs[t + 1]
        for b in range(b0, b1):
            for j in range(2 * u):
                a[b, j] = half + half * vtanh(x[b, j] + hw[b, j])
            for j in range(u):
                hn = hw[b, 2 * u + j] + b_hn[j]
                gn[b, j] = hn
                nn = vtanh(x[b, 2 * u + j] + a[b, j] * hn)
                a[b, 2 * u + j] = nn
                h_out[b, j] = nn + a[b, u + j] * (h[b, j] - nn)


@njit(cache=True, nogil=True, error_model="numpy")
def gru_step_bwd(dh, acts, ghn, h_prev, dgx, dgh, b0, b1):
    """Gradients of one GRU step w.r.t. the input-side (``dgx``) and hidden-side
    (``dgh``) pre-activations, both (N, 3u).  ``dh`` (dL/dh') is replaced in place
    by its direct part ``dh * z``; the caller adds ``dgh @ W_hh``.  Rows ``b0 .. b1-1``.
    """
    n, u = dh.shape
    one = dh.dtype.type(1.0)
    for b in range(b0, b1):
        for j in range(u):
            r = acts[b, j]
            z = acts[b, u + j]
            nn = acts[b, 2 * u + j]
            d = dh[b, j]
            dn = d * (one - z) * (one - nn * nn)
            dz = d * (h_prev[b, j] - nn) * z * (one - z)
            dr = dn * ghn[b, j] * r * (one - r)
            dgx[b, j] = dr
            dgx[b, u + j] = dz
            dgx[b, 2 * u + j] = dn
            dgh[b, j] = dr
            dgh[b, u + j] = dz
            dgh[b, 2 * u + j] = dn * r
            dh[b, j] = d * z


@njit(cache=True, nogil=True, error_model="numpy")
def gru_backward(dh_seq, dlast, W_hh, hs, acts, ghn, dgx, dgh, b0, b1):
    """Backward through time of :func:`gru_forward`: ``dgx``/``dgh`` (L, N, 3u) the gradients
    w.r.t. the input-side and hidden-side pre-activations.  ``W_hh`` (3u, u) unscaled.
    Rows ``b0 .. b1-1``."""
    L, n, g3 = acts.shape
    u = g3 // 3
    seq = dh_seq.shape[0] > 0
    dh = np.empty((n, u), dtype=acts.dtype)
    _dh_init(dh, dh_seq, dlast, seq, L - 1, L, b0, b1)
    for t in range(L - 1, -1, -1):
        if seq and t < L - 1:
            _dh_add(dh, dh_seq, t, b0, b1)
        gru_step_bwd(dh, acts[t], ghn[t], hs[t], dgx[t], dgh[t], b0, b1)
        _mm_acc(dgh[t], W_hh, dh, b0, b1)


@njit(cache=True, nogil=True, error_model="numpy")
def gru_reset_first_forward(xw, W_rzT, b_rz, W_nT, b_n, hs, acts, rh, srz, sn, b0, b1):
    """The GRU with ``linear_before_reset`` off (ONNX's default) over a whole sequence:
    ``n = tanh(x W_in^T + b_in + (r * h) W_hn^T + b_hn)``.

    ``xw`` (L, N, 3u): input projection with ``b_ih``; ``W_rzT`` (u, 2u), ``W_nT`` (u, u);
    ``b_rz``/``b_n`` the parts of ``b_hh``; ``srz`` (N, 2u), ``sn`` (N, u) scratch.  Writes ``hs[1:]``,
    ``acts`` (r, z, n) and ``rh = r * h`` (L, N, u), the input of ``W_hn``.  Rows ``b0 .. b1-1``.
    """
    L, n, g3 = xw.shape
    u = g3 // 3
    half = xw.dtype.type(0.5)
    for t in range(L):
        x, a, h, r_h, h_out = xw[t], acts[t], hs[t], rh[t], hs[t + 1]
        for b in range(b0, b1):
            for j in range(2 * u):
                srz[b, j] = x[b, j] + b_rz[j]
        _mm_acc(h, W_rzT, srz, b0, b1)
        for b in range(b0, b1):
            for j in range(2 * u):
                a[b, j] = half + half * vtanh(half * srz[b, j])
            for j in range(u):
                r_h[b, j] = a[b, j] * h[b, j]
                sn[b, j] = x[b, 2 * u + j] + b_n[j]
        _mm_acc(r_h, W_nT, sn, b0, b1)
        for b in range(b0, b1):
            for j in range(u):
                nn = vtanh(sn[b, j])
                a[b, 2 * u + j] = nn
                h_out[b, j] = nn + a[b, u + j] * (h[b, j] - nn)


@njit(cache=True, nogil=True, error_model="numpy")
def gru_reset_first_backward(dh_seq, dlast, W_rz, W_n, hs, acts, dg, scratch, b0, b1):
    """Backward through time of :func:`gru_reset_first_forward`: ``dg`` (L, N, 3u), the
    gradients w.r.t. the pre-activations (input and hidden side alike; the n block of
    dL/dW_hh is taken against ``r * h``).  ``W_rz`` (2u, u), ``W_n`` (u, u); ``scratch`` (N, u).
    Rows ``b0 .. b1-1``."""
    L, n, g3 = acts.shape
    u = g3 // 3
    seq = dh_seq.shape[0] > 0
    one = acts.dtype.type(1.0)
    dh = np.empty((n, u), dtype=acts.dtype)
    d_rh = scratch
    _dh_init(dh, dh_seq, dlast, seq, L - 1, L, b0, b1)
    for t in range(L - 1, -1, -1):
        if seq and t < L - 1:
            _dh_add(dh, dh_seq, t, b0, b1)
        a, h, d = acts[t], hs[t], dg[t]
        for b in range(b0, b1):
            for j in range(u):
                z = a[b, u + j]
                nn = a[b, 2 * u + j]
                d[b, 2 * u + j] = dh[b, j] * (one - z) * (one - nn * nn)
        for b in range(b0, b1):
            for j in range(u):
                d_rh[b, j] = 0.0
        _mm_acc(d[:, 2 * u:], W_n, d_rh, b0, b1)
        for b in range(b0, b1):
            for j in range(u):
                r = a[b, j]
                z = a[b, u + j]
                nn = a[b, 2 * u + j]
                d[b, j] = d_rh[b, j] * h[b, j] * r * (one - r)
                d[b, u + j] = dh[b, j] * (h[b, j] - nn) * z * (one - z)
                dh[b, j] = dh[b, j] * z + d_rh[b, j] * r
        _mm_acc(d[:, :2 * u], W_rz, dh, b0, b1)
