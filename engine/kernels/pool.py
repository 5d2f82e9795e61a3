"""Numba kernels for 2-D max and average pooling in channels-last layout.

1-D pooling uses the same kernels with ``H = 1``.  Windows start at
``i*sh - pt`` / ``j*sw - pl`` and their taps are ``dh`` / ``dw`` apart (dilation);
positions outside the input are ignored: max pooling never picks them.  Average
pooling sums the real values and divides by the number of taps whose position is
in ``[lo_h, hi_h) x [lo_w, hi_w)``: ``[0, H) x [0, W)`` for
``count_include_pad=False``, the padded extent for ``count_include_pad=True``.
The caller guarantees that every window holds at least one real position.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def maxpool2d_fwd(x, ph, pw, sh, sw, dh, dw, pt, pl, out, idx):
    """x (N,H,W,C) -> out (N,oh,ow,C); idx (N,oh,ow,C) int64 gets the flat index into x."""
    n, h, w, c = x.shape
    oh = out.shape[1]
    ow = out.shape[2]
    for b in range(n):
        for i in range(oh):
            y0 = i * sh - pt
            for j in range(ow):
                x0 = j * sw - pl
                for ch in range(c):
                    out[b, i, j, ch] = -np.inf
                    idx[b, i, j, ch] = -1
                for ki in range(ph):
                    y = y0 + ki * dh
                    if y < 0 or y >= h:
                        continue
                    for kj in range(pw):
                        xx = x0 + kj * dw
                        if xx < 0 or xx >= w:
                            continue
                        base = ((b * h + y) * w + xx) * c
                        for ch in range(c):
                            v = x[b, y, xx, ch]
                            # strict '>' keeps the first maximum; NaN never wins but idx stays valid
                            if v > out[b, i, j, ch] or idx[b, i, j, ch] < 0:
                                out[b, i, j, ch] = v
                                idx[b, i, j, ch] = base + ch


@njit(cache=True, nogil=True)
def maxpool2d_bwd(dy, idx, dx_flat):
    """Scatter-add dy (N,oh,ow,C) into dx_flat (N*H*W*C,) at idx; dx_flat zero-initialised."""
    d = dy.ravel()
    k = idx.ravel()
    for p in range(d.shape[0]):
        dx_flat[k[p]] += d[p]


@njit(cache=True, nogil=True)
def _taps(start, k, d, lo, hi):
    """Number of taps ``start + t*d`` (t < k) inside [lo, hi)."""
    m = 0
    for t in range(k):
        p = start + t * d
        if lo <= p < hi:
            m += 1
    return m


@njit(cache=True, nogil=True)
def avgpool2d_fwd(x, ph, pw, sh, sw, dh, dw, pt, pl, lo_h, hi_h, lo_w, hi_w, out):
    """Sum of the real values of each window over its count (see the module doc): x (N,H,W,C) -> out."""
    n, h, w, c = x.shape
    oh = out.shape[1]
    ow = out.shape[2]
    for b in range(n):
        for i in range(oh):
            y0 = i * sh - pt
            cy = _taps(y0, ph, dh, lo_h, hi_h)
            for j in range(ow):
                x0 = j * sw - pl
                cx = _taps(x0, pw, dw, lo_w, hi_w)
                for ch in range(c):
                    out[b, i, j, ch] = 0
                for ki in range(ph):
                    y = y0 + ki * dh
                    if y < 0 or y >= h:
                        continue
                    for kj in range(pw):
                        xx = x0 + kj * dw
                        if xx < 0 or xx >= w:
                            continue
                        for ch in range(c):
                            out[b, i, j, ch] += x[b, y, xx, ch]
                inv = 1.0 / (cy * cx)
                for ch in range(c):
                    out[b, i, j, ch] *= inv


@njit(cache=True, nogil=True)
def avgpool2d_bwd(dy, ph, pw, sh, sw, dh, dw, pt, pl, lo_h, hi_h, lo_w, hi_w, dx):
    """Adjoint of :func:`avgpool2d_fwd`; dx (N,H,W,C) zero-initialised."""
    n, h, w, c = dx.shape
    oh = dy.shape[1]
    ow = dy.shape[2]
    for b in range(n):
        for i in range(oh):
            y0 = i * sh - pt
            cy = _taps(y0, ph, dh, lo_h, hi_h)
            for j in range(ow):
                x0 = j * sw - pl
                cx = _taps(x0, pw, dw, lo_w, hi_w)
                inv = 1.0 / (cy * cx)
                for ki in range(ph):
                    y = y0 + ki * dh
                    if y < 0 or y >= h:
                        continue
                    for kj in range(pw):
                        xx = x0 + kj * dw
                        if xx < 0 or xx >= w:
                            continue
                        for ch in range(c):
                            dx[b, y, xx, ch] += dy[b, i, j, ch] * inv


# ------------------------------------------------- non-overlapping windows (stride == pool)
# The common case (MaxPool 2x2, stride 2, no padding).  The winner of each window is
# stored as its position inside the window (uint8, 1/8 of an int64 index), and the
# backward pass writes every element of dx once (no zero-filled array and no
# scatter).  Measured at 64x26x26x32 float32: forward 0.47 -> 0.25 ms, backward
# (zeros + scatter) 0.51 -> 0.2 ms.


@njit(cache=True, nogil=True)
def maxpool2d_fwd_tiled(x, ph, pw, out, arg):
    """x (N,H,W,C) -> out (N,H//ph,W//pw,C); arg (same shape, uint8) = ki*pw + kj of the max.

    Strict '>' keeps the first maximum in (ki, kj) order; a NaN in the first
    position stays (as in :func:`maxpool2d_fwd`), later NaNs never win.
    """
    n, h, w, c = x.shape
    oh = out.shape[1]
    ow = out.shape[2]
    if ph == 2 and pw == 2:  # the usual case: the four values in registers (0.31 -> 0.25 ms at 64x26x26x32)
        for b in range(n):
            for i in range(oh):
                y0 = 2 * i
                for j in range(ow):
                    x0 = 2 * j
                    for ch in range(c):
                        m = x[b, y0, x0, ch]
                        p = np.uint8(0)
                        v = x[b, y0, x0 + 1, ch]
                        if v > m:
                            m = v
                            p = np.uint8(1)
                        v = x[b, y0 + 1, x0, ch]
                        if v > m:
                            m = v
                            p = np.uint8(2)
                        v = x[b, y0 + 1, x0 + 1, ch]
                        if v > m:
                            m = v
                            p = np.uint8(3)
                        out[b, i, j, ch] = m
                        arg[b, i, j, ch] = p
        return
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                y0 = i * ph
                x0 = j * pw
                for ch in range(c):
                    out[b, i, j, ch] = x[b, y0, x0, ch]
                    arg[b, i, j, ch] = 0
                for ki in range(ph):
                    for kj in range(pw):
                        if ki == 0 and kj == 0:
                            continue
                        pos = ki * pw + kj
                        for ch in range(c):
                            v = x[b, y0 + ki, x0 + kj, ch]
                            better = v > out[b, i, j, ch]
                            out[b, i, j, ch] = v if better else out[b, i, j, ch]
                            arg[b, i, j, ch] = pos if better else arg[b, i, j, ch]


@njit(cache=True, nogil=True)
def maxpool2d_bwd_tiled(dy, arg, ph, pw, dx):
    """Adjoint of :func:`maxpool2d_fwd_tiled`: writes all of dx (N,H,W,C); rows and
    columns that no window covers (H % ph, W % pw) get zeros."""
    n, h, w, c = dx.shape
    oh = dy.shape[1]
    ow = dy.shape[2]
    zero = dx.dtype.type(0)
    for b in range(n):
        for i in range(oh):
            for ki in range(ph):
                y = i * ph + ki
                for j in range(ow):
                    for kj in range(pw):
                        pos = ki * pw + kj
                        xx = j * pw + kj
                        for ch in range(c):
                            dx[b, y, xx, ch] = dy[b, i, j, ch] if arg[b, i, j, ch] == pos else zero
                for xx in range(ow * pw, w):
                    for ch in range(c):
                        dx[b, y, xx, ch] = zero
        for y in range(oh * ph, h):
            for xx in range(w):
                for ch in range(c):
                    dx[b, y, xx, ch] = zero
