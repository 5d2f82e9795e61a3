"""Fused Numba kernels for one LSTM/GRU time step (gate maths only).

The matmuls stay in NumPy/BLAS (``h @ W_hh.T`` per step); these kernels replace
the dozen small element-wise NumPy calls per step, which dominate for the small
batches and hidden sizes typical here.  PyTorch gate order: LSTM i, f, g, o;
GRU r, z, n.  Every output array is allocated by the caller.
"""
from __future__ import annotations

import math

from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _sigmoid(v):
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


@njit(cache=True, nogil=True)
def lstm_step_fwd(xw, hw, b_hh, c_prev, acts, c_out, tc_out, h_out):
    """xw = x W_ih^T + b_ih, hw = h W_hh^T (N, 4u) -> acts (i, f, g, o), c', tanh(c'), h'."""
    n, u = c_prev.shape
    for b in range(n):
        for j in range(u):
            i = _sigmoid(xw[b, j] + hw[b, j] + b_hh[j])
            f = _sigmoid(xw[b, u + j] + hw[b, u + j] + b_hh[u + j])
            g = math.tanh(xw[b, 2 * u + j] + hw[b, 2 * u + j] + b_hh[2 * u + j])
            o = _sigmoid(xw[b, 3 * u + j] + hw[b, 3 * u + j] + b_hh[3 * u + j])
            c = f * c_prev[b, j] + i * g
            tc = math.tanh(c)
            acts[b, j] = i
            acts[b, u + j] = f
            acts[b, 2 * u + j] = g
            acts[b, 3 * u + j] = o
            c_out[b, j] = c
            tc_out[b, j] = tc
            h_out[b, j] = o * tc


@njit(cache=True, nogil=True)
def lstm_step_bwd(dh, dc, acts, c_prev, tc, dg):
    """Gradients w.r.t. the pre-activation gates ``dg`` (N, 4u) of one step.

    ``dh``: dL/dh' (N, u); ``dc``: dL/dc' coming from the next step (N, u), replaced
    in place by dL/dc for the previous step.
    """
    n, u = dh.shape
    for b in range(n):
        for j in range(u):
            i = acts[b, j]
            f = acts[b, u + j]
            g = acts[b, 2 * u + j]
            o = acts[b, 3 * u + j]
            t = tc[b, j]
            d_h = dh[b, j]
            d_c = dc[b, j] + d_h * o * (1.0 - t * t)
            dg[b, j] = d_c * g * i * (1.0 - i)
            dg[b, u + j] = d_c * c_prev[b, j] * f * (1.0 - f)
            dg[b, 2 * u + j] = d_c * i * (1.0 - g * g)
            dg[b, 3 * u + j] = d_h * t * o * (1.0 - o)
            dc[b, j] = d_c * f


@njit(cache=True, nogil=True)
def gru_step_fwd(xw, hw, b_hh, h_prev, acts, ghn, h_out):
    """xw = x W_ih^T + b_ih, hw = h W_hh^T (N, 3u) -> acts (r, z, n), ghn = W_hn h + b_hn, h'."""
    n, u = h_prev.shape
    for b in range(n):
        for j in range(u):
            r = _sigmoid(xw[b, j] + hw[b, j] + b_hh[j])
            z = _sigmoid(xw[b, u + j] + hw[b, u + j] + b_hh[u + j])
            hn = hw[b, 2 * u + j] + b_hh[2 * u + j]
            nn = math.tanh(xw[b, 2 * u + j] + r * hn)
            acts[b, j] = r
            acts[b, u + j] = z
            acts[b, 2 * u + j] = nn
            ghn[b, j] = hn
            h_out[b, j] = (1.0 - z) * nn + z * h_prev[b, j]


@njit(cache=True, nogil=True)
def gru_step_bwd(dh, acts, ghn, h_prev, dgx, dgh):
    """Gradients of one GRU step w.r.t. the input-side (``dgx``) and hidden-side
    (``dgh``) pre-activations, both (N, 3u).  ``dh`` (dL/dh') is replaced in place
    by its direct part ``dh * z``; the caller adds ``dgh @ W_hh``.
    """
    n, u = dh.shape
    for b in range(n):
        for j in range(u):
            r = acts[b, j]
            z = acts[b, u + j]
            nn = acts[b, 2 * u + j]
            d = dh[b, j]
            dn = d * (1.0 - z) * (1.0 - nn * nn)
            dz = d * (h_prev[b, j] - nn) * z * (1.0 - z)
            dr = dn * ghn[b, j] * r * (1.0 - r)
            dgx[b, j] = dr
            dgx[b, u + j] = dz
            dgx[b, 2 * u + j] = dn
            dgh[b, j] = dr
            dgh[b, u + j] = dz
            dgh[b, 2 * u + j] = dn * r
            dh[b, j] = d * z
