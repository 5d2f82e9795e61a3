"""Numba kernels for the fused MLP training step (see :mod:`engine.fastpath`).

A chain ``Input -> Dense(act) -> ... -> Dense`` trained with a cross-entropy
on logits (or MSE) is the most common graph people build, and for small
layers a training step is almost all Python overhead in the generic path
(closures, dicts, one NumPy call per tiny array).  These kernels do the same
maths in a few compiled calls:

* :func:`bias_act_forward` - ``z <- act(z + b)`` in place (after a matmul);
* :func:`act_backward` - ``d <- d * act'(y)`` in place, from the activation's
  *output* ``y`` (enough for every supported activation, so no pre-activation
  copy is kept);
* :func:`loss_grad` - fused loss value and ``dL/dlogits`` (BCE with logits,
  sparse softmax cross-entropy, MSE), with the targets checked;
* :func:`apply_updates` - finiteness check of all gradients, then the
  optimizer update of every parameter (SGD/momentum/Nesterov, RMSprop,
  Adam/AdamW) with exactly the update rules of :mod:`engine.optimizers`;
* :func:`mlp_step_small` - all of the above plus hand-written matmuls in *one*
  call, for networks whose layers are too small for BLAS to pay off.

Arrays of the layers are passed as homogeneous tuples (``Ws[i]`` with a
run-time ``i``).  Layers without a bias get a zero-length bias array.  Every
kernel has a plain NumPy reference ``naive_*`` used by the tests.

Status codes returned by the step kernels: :data:`OK` (updated),
:data:`NONFINITE` (loss or a gradient is NaN/inf: nothing was updated) and
:data:`BAD_TARGETS` (targets out of range: nothing was computed; the caller
runs the generic path, which raises the user-facing message).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

# activation codes (hidden layers and, for MSE, the output layer)
ACT_LINEAR, ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_LEAKY_RELU, ACT_ELU = 0, 1, 2, 3, 4, 5
ACT_CODES = {"linear": ACT_LINEAR, "relu": ACT_RELU, "tanh": ACT_TANH, "sigmoid": ACT_SIGMOID,
             "leaky_relu": ACT_LEAKY_RELU, "elu": ACT_ELU}
LEAKY_SLOPE = 0.01   # as engine.layers.activations
ELU_ALPHA = 1.0

# loss codes (the cross-entropies always take logits here)
LOSS_BCE_LOGITS, LOSS_SPARSE_CE_LOGITS, LOSS_MSE = 0, 1, 2

# optimizer codes and the layout of the ``hyp`` array (in the parameter dtype)
OPT_SGD, OPT_MOMENTUM, OPT_NESTEROV, OPT_ADAM, OPT_RMSPROP = 0, 1, 2, 3, 4
H_LR, H_MOMENTUM, H_STEP_SIZE, H_BETA2, H_1MB1, H_1MB2, H_BC2_SQRT, H_EPS, H_DECAY, H_ALPHA, H_1MALPHA = range(11)
N_HYPER = 11

OK, NONFINITE, BAD_TARGETS = 0, 1, 2


# ====================================================================== helpers
@njit(cache=True, nogil=True)
def _act(v, act):
    if act == ACT_RELU:
        return v if v > 0 else v * 0
    if act == ACT_TANH:
        return np.tanh(v)
    if act == ACT_SIGMOID:
        if v >= 0:
            return 1.0 / (1.0 + np.exp(-v))
        e = np.exp(v)
        return e / (1.0 + e)
    if act == ACT_LEAKY_RELU:
        return v if v > 0 else LEAKY_SLOPE * v
    if act == ACT_ELU:
        return v if v > 0 else ELU_ALPHA * np.expm1(v)
    return v


@njit(cache=True, nogil=True)
def _dact(y, act):
    """act'(x) expressed through y = act(x)."""
    if act == ACT_RELU:
        return 1.0 if y > 0 else 0.0
    if act == ACT_TANH:
        return 1.0 - y * y
    if act == ACT_SIGMOID:
        return y * (1.0 - y)
    if act == ACT_LEAKY_RELU:
        return 1.0 if y > 0 else LEAKY_SLOPE
    if act == ACT_ELU:
        return 1.0 if y > 0 else y + ELU_ALPHA
    return 1.0


# ============================================================ element-wise kernels
@njit(cache=True, nogil=True)
def bias_act_forward(z, b, act):
    """In place ``z <- act(z + b)``; z: (N, M) C-contiguous, b: (M,) or empty (no bias)."""
    n, m = z.shape
    hb = b.size > 0
    if act == ACT_LINEAR:
        if hb:
            for i in range(n):
                for j in range(m):
                    z[i, j] += b[j]
        return
    if act == ACT_RELU:
        for i in range(n):
            for j in range(m):
                v = z[i, j] + b[j] if hb else z[i, j]
                z[i, j] = v if v > 0 else v * 0
        return
    for i in range(n):
        for j in range(m):
            v = z[i, j] + b[j] if hb else z[i, j]
            z[i, j] = _act(v, act)


def naive_bias_act_forward(z, b, act):
    """NumPy reference of :func:`bias_act_forward` (returns a new array)."""
    v = z + b if b.size else z.copy()
    if act == ACT_RELU:
        return np.maximum(v, 0)
    if act == ACT_TANH:
        return np.tanh(v)
    if act == ACT_SIGMOID:
        return (1.0 / (1.0 + np.exp(-v.astype(np.float64)))).astype(v.dtype)
    if act == ACT_LEAKY_RELU:
        return np.where(v > 0, v, LEAKY_SLOPE * v).astype(v.dtype)
    if act == ACT_ELU:
        return np.where(v > 0, v, ELU_ALPHA * np.expm1(np.minimum(v, 0))).astype(v.dtype)
    return v


@njit(cache=True, nogil=True)
def act_backward(d, y, act):
    """In place ``d <- d * act'(x)`` given the activation output ``y`` (same shape)."""
    n, m = d.shape
    if act == ACT_LINEAR:
        return
    if act == ACT_RELU:
        for i in range(n):
            for j in range(m):
                if not y[i, j] > 0:
                    d[i, j] = 0
        return
    for i in range(n):
        for j in range(m):
            d[i, j] = d[i, j] * _dact(y[i, j], act)


def naive_act_backward(d, y, act):
    """NumPy reference of :func:`act_backward` (returns a new array)."""
    if act == ACT_RELU:
        return d * (y > 0)
    if act == ACT_TANH:
        return d * (1 - y * y)
    if act == ACT_SIGMOID:
        return d * y * (1 - y)
    if act == ACT_LEAKY_RELU:
        return d * np.where(y > 0, 1.0, LEAKY_SLOPE).astype(d.dtype)
    if act == ACT_ELU:
        return d * np.where(y > 0, 1.0, y + ELU_ALPHA).astype(d.dtype)
    return d.copy()


@njit(cache=True, nogil=True)
def column_sums(d, out):
    """``out[j] = sum_i d[i, j]`` (the bias gradient)."""
    n, m = d.shape
    for j in range(m):
        out[j] = 0
    for i in range(n):
        for j in range(m):
            out[j] += d[i, j]


@njit(cache=True, nogil=True)
def loss_grad(p, yi, yf, kind, g):
    """Mean loss over the batch and its gradient ``g = dL/dp`` (p, g: (N, C)).

    ``kind``: :data:`LOSS_BCE_LOGITS` (p are logits, yf 0/1 targets shaped
    like p; averaged over all elements), :data:`LOSS_SPARSE_CE_LOGITS` (p are
    logits, yi class numbers (N,); averaged over rows) or :data:`LOSS_MSE`
    (yf shaped like p; averaged over all elements).  Returns ``(value,
    status)``; on :data:`BAD_TARGETS` ``g`` is not written.
    """
    n, c = p.shape
    total = 0.0
    if kind == LOSS_SPARSE_CE_LOGITS:
        for i in range(n):
            if yi[i] < 0 or yi[i] >= c:
                return math.nan, BAD_TARGETS
        inv = 1.0 / n
        for i in range(n):
            mx = p[i, 0]
            for j in range(1, c):
                if p[i, j] > mx:
                    mx = p[i, j]
            s = 0.0
            for j in range(c):
                e = np.exp(p[i, j] - mx)
                g[i, j] = e
                s += e
            lse = mx + np.log(s)
            total += lse - p[i, yi[i]]
            for j in range(c):
                g[i, j] = g[i, j] / s * inv
            g[i, yi[i]] -= inv
        return total / n, OK
    for i in range(n):
        for j in range(c):
            t = yf[i, j]
            if not np.isfinite(t):
                return math.nan, BAD_TARGETS
            if kind == LOSS_BCE_LOGITS and (t < 0 or t > 1):
                return math.nan, BAD_TARGETS
    size = n * c
    inv = 1.0 / size
    if kind == LOSS_BCE_LOGITS:
        for i in range(n):
            for j in range(c):
                x = p[i, j]
                t = yf[i, j]
                ax = abs(x)
                e = np.exp(-ax)
                total += (x if x > 0 else x * 0) - x * t + np.log1p(e)
                s = 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)
                g[i, j] = (s - t) * inv
        return total / size, OK
    two_inv = 2.0 * inv
    for i in range(n):
        for j in range(c):
            d = p[i, j] - yf[i, j]
            total += d * d
            g[i, j] = d * two_inv
    return total / size, OK


def naive_loss_grad(p, yi, yf, kind):
    """NumPy reference of :func:`loss_grad`: returns ``(value, grad)`` or ``(nan, None)`` for bad targets."""
    n, c = p.shape
    p64 = p.astype(np.float64)
    if kind == LOSS_SPARSE_CE_LOGITS:
        if np.any(yi < 0) or np.any(yi >= c):
            return math.nan, None
        m = p64.max(axis=1, keepdims=True)
        e = np.exp(p64 - m)
        s = e.sum(axis=1, keepdims=True)
        lse = (m + np.log(s))[:, 0]
        value = float(np.mean(lse - p64[np.arange(n), yi]))
        g = e / s
        g[np.arange(n), yi] -= 1.0
        return value, (g / n).astype(p.dtype)
    t = yf.astype(np.float64)
    if not np.all(np.isfinite(t)) or (kind == LOSS_BCE_LOGITS and (np.any(t < 0) or np.any(t > 1))):
        return math.nan, None
    if kind == LOSS_BCE_LOGITS:
        per = np.maximum(p64, 0) - p64 * t + np.log1p(np.exp(-np.abs(p64)))
        return float(per.mean()), ((1.0 / (1.0 + np.exp(-p64)) - t) / p.size).astype(p.dtype)
    d = p64 - t
    return float(np.mean(d * d)), (2.0 * d / p.size).astype(p.dtype)


# ================================================================== optimizer
@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _sq(a):
    """Sum of squares in float64.  Reassociation lets LLVM vectorise the sum (7x faster on
    784x256); without nnan/ninf flags an inf or NaN still propagates to the result."""
    f = a.reshape(-1)
    s = 0.0
    for i in range(f.size):
        v = np.float64(f[i])
        s += v * v
    return s


@njit(cache=True, nogil=True, error_model="numpy")
def _update_one(p, g, s1, s2, first, kind, hyp):
    """One parameter (1-D views); the per-element rules of engine.optimizers' kernels."""
    lr = hyp[H_LR]
    if kind == OPT_SGD:
        for i in range(p.size):
            p[i] = p[i] - lr * g[i]
    elif kind == OPT_MOMENTUM or kind == OPT_NESTEROV:
        mom = hyp[H_MOMENTUM]
        for i in range(p.size):
            gi = g[i]
            if first:
                b = gi
            else:
                b = mom * s1[i] + gi
            s1[i] = b
            if kind == OPT_NESTEROV:
                d = gi + mom * b
            else:
                d = b
            p[i] = p[i] - lr * d
    elif kind == OPT_ADAM:
        step_size = hyp[H_STEP_SIZE]
        beta2 = hyp[H_BETA2]
        omb1 = hyp[H_1MB1]
        omb2 = hyp[H_1MB2]
        bc2_sqrt = hyp[H_BC2_SQRT]
        eps = hyp[H_EPS]
        decay = hyp[H_DECAY]
        for i in range(p.size):
            gi = g[i]
            mi = s1[i]
            mi = mi + omb1 * (gi - mi)
            vi = beta2 * s2[i] + omb2 * (gi * gi)
            s1[i] = mi
            s2[i] = vi
            denom = np.sqrt(vi) / bc2_sqrt + eps
            p[i] = p[i] * decay - step_size * (mi / denom)
    else:  # OPT_RMSPROP: s1 = square_avg, s2 = momentum buffer (empty when momentum == 0)
        alpha = hyp[H_ALPHA]
        oma = hyp[H_1MALPHA]
        eps = hyp[H_EPS]
        mom = hyp[H_MOMENTUM]
        for i in range(p.size):
            gi = g[i]
            s = alpha * s1[i] + oma * (gi * gi)
            s1[i] = s
            avg = np.sqrt(s) + eps
            if mom > 0:
                b = mom * s2[i] + gi / avg
                s2[i] = b
                p[i] = p[i] - lr * b
            else:
                p[i] = p[i] - lr * (gi / avg)


@njit(cache=True, nogil=True)
def grads_finite(dWs, dbs):
    """True when the global squared gradient norm (accumulated in float64) is finite."""
    s = 0.0
    for i in range(len(dWs)):
        s += _sq(dWs[i])
        s += _sq(dbs[i])
    return np.isfinite(s)


@njit(cache=True, nogil=True)
def apply_updates(Ws, bs, dWs, dbs, s1W, s1b, s2W, s2b, firsts, kind, hyp):
    """Update every layer's W and b in place (unless a gradient is not finite).

    ``s1*``/``s2*``: the optimizer's slot arrays per layer (Adam: m, v; SGD
    with momentum: momentum buffer, unused; RMSprop: square_avg, momentum
    buffer).  ``firsts[2*i]``/``firsts[2*i+1]``: the slots of W/b were just
    created (SGD momentum's ``b_1 = g_1``).  Returns False (and changes
    nothing) when the gradients are not all finite.
    """
    if not grads_finite(dWs, dbs):
        return False
    for i in range(len(Ws)):
        _update_one(Ws[i].reshape(-1), dWs[i].reshape(-1), s1W[i].reshape(-1), s2W[i].reshape(-1),
                    firsts[2 * i], kind, hyp)
        if bs[i].size > 0:
            _update_one(bs[i], dbs[i], s1b[i], s2b[i], firsts[2 * i + 1], kind, hyp)
    return True


def naive_update(p, g, s1, s2, first, kind, hyp):
    """NumPy reference of one parameter's update (float64 maths); returns new ``(p, s1, s2)``."""
    lr = float(hyp[H_LR])
    p, g = p.astype(np.float64), g.astype(np.float64)
    s1, s2 = s1.astype(np.float64), s2.astype(np.float64)
    if kind == OPT_SGD:
        return p - lr * g, s1, s2
    if kind in (OPT_MOMENTUM, OPT_NESTEROV):
        mom = float(hyp[H_MOMENTUM])
        b = g.copy() if first else mom * s1 + g
        d = g + mom * b if kind == OPT_NESTEROV else b
        return p - lr * d, b, s2
    if kind == OPT_ADAM:
        m = s1 + float(hyp[H_1MB1]) * (g - s1)
        v = float(hyp[H_BETA2]) * s2 + float(hyp[H_1MB2]) * g * g
        denom = np.sqrt(v) / float(hyp[H_BC2_SQRT]) + float(hyp[H_EPS])
        return p * float(hyp[H_DECAY]) - float(hyp[H_STEP_SIZE]) * (m / denom), m, v
    s = float(hyp[H_ALPHA]) * s1 + float(hyp[H_1MALPHA]) * g * g
    avg = np.sqrt(s) + float(hyp[H_EPS])
    mom = float(hyp[H_MOMENTUM])
    if mom > 0:
        b = mom * s2 + g / avg
        return p - lr * b, s, b
    return p - lr * (g / avg), s, s2


# ============================================================ small matmuls
@njit(cache=True, nogil=True)
def _mm_bias(a, w, b, out):
    """out = a @ w (+ b): a (N, K), w (K, M); inner loop over M (vectorises)."""
    n, k = a.shape
    m = w.shape[1]
    hb = b.size > 0
    for i in range(n):
        for j in range(m):
            out[i, j] = 0
        for p in range(k):
            av = a[i, p]
            for j in range(m):
                out[i, j] += av * w[p, j]
        if hb:
            for j in range(m):
                out[i, j] += b[j]


@njit(cache=True, nogil=True)
def _mm_tn(a, d, out):
    """out = a.T @ d: a (N, K), d (N, M) -> (K, M)."""
    n, k = a.shape
    m = d.shape[1]
    for p in range(k):
        for j in range(m):
            out[p, j] = 0
    for i in range(n):
        for p in range(k):
            av = a[i, p]
            for j in range(m):
                out[p, j] += av * d[i, j]


@njit(cache=True, nogil=True)
def _mm_nt(d, w, out):
    """out = d @ w.T: d (N, M), w (K, M) -> (N, K)."""
    n, m = d.shape
    k = w.shape[0]
    wt = np.empty((m, k), dtype=w.dtype)
    for p in range(k):
        for j in range(m):
            wt[j, p] = w[p, j]
    for i in range(n):
        for p in range(k):
            out[i, p] = 0
        for j in range(m):
            dv = d[i, j]
            for p in range(k):
                out[i, p] += dv * wt[j, p]


# ============================================================= the fused step
@njit(cache=True, nogil=True)
def mlp_step_small(x, yi, yf, Ws, bs, acts, loss_kind, dWs, dbs, s1W, s1b, s2W, s2b, firsts, opt_kind, hyp):
    """One whole training step of a Dense chain, hand-written matmuls (small layers).

    ``acts[i]`` is layer i's activation code; for the cross-entropies the last
    layer's code must be :data:`ACT_LINEAR` (its outputs are the logits).
    Gradients are written to ``dWs``/``dbs``; parameters and slots are
    updated in place.  Returns ``(loss, status)``.
    """
    n = x.shape[0]
    L = len(Ws)
    outs = [x]
    for i in range(L):
        w = Ws[i]
        z = np.empty((n, w.shape[1]), dtype=w.dtype)
        _mm_bias(outs[i], w, bs[i], z)
        if acts[i] != ACT_LINEAR:
            bias_act_forward(z, bs[i][:0], acts[i])
        outs.append(z)
    y = outs[L]
    g = np.empty_like(y)
    value, status = loss_grad(y, yi, yf, loss_kind, g)
    if status != OK:
        return value, status
    if not np.isfinite(value):
        return value, NONFINITE
    for i in range(L - 1, -1, -1):
        act_backward(g, outs[i + 1], acts[i])
        _mm_tn(outs[i], g, dWs[i])
        if bs[i].size > 0:
            column_sums(g, dbs[i])
        if i > 0:
            da = np.empty_like(outs[i])
            _mm_nt(g, Ws[i], da)
            g = da
    if not apply_updates(Ws, bs, dWs, dbs, s1W, s1b, s2W, s2b, firsts, opt_kind, hyp):
        return value, NONFINITE
    return value, OK


def naive_mlp_forward_backward(x, yi, yf, Ws, bs, acts, loss_kind):
    """NumPy reference of the forward/loss/backward part of :func:`mlp_step_small`.

    Returns ``(value, dWs, dbs)`` (lists) or ``(nan, None, None)`` for bad targets.
    """
    outs = [x]
    for w, b, a in zip(Ws, bs, acts):
        outs.append(naive_bias_act_forward(outs[-1] @ w, b, a))
    value, g = naive_loss_grad(outs[-1], yi, yf, loss_kind)
    if g is None:
        return value, None, None
    dWs, dbs = [None] * len(Ws), [None] * len(Ws)
    for i in range(len(Ws) - 1, -1, -1):
        g = naive_act_backward(g, outs[i + 1], acts[i])
        dWs[i] = outs[i].T @ g
        dbs[i] = g.sum(axis=0) if bs[i].size else bs[i].copy()
        g = g @ Ws[i].T
    return value, dWs, dbs
