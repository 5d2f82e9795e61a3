"""Numba kernels for 2-D max and average pooling in channels-last layout.

1-D pooling uses the same kernels with ``H = 1``.  Windows start at
``i*sh - pt`` / ``j*sw - pl``; positions outside the input are ignored (max
pooling never picks them, average pooling divides by the number of valid
positions only, i.e. ``count_include_pad=False``).  The caller guarantees that
every window holds at least one valid position (true for "valid" and for
TF-style "same" padding).
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def maxpool2d_fwd(x, ph, pw, sh, sw, pt, pl, out, idx):
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
                    y = y0 + ki
                    if y < 0 or y >= h:
                        continue
                    for kj in range(pw):
                        xx = x0 + kj
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
def avgpool2d_fwd(x, ph, pw, sh, sw, pt, pl, out):
    """Mean over the valid positions of each window: x (N,H,W,C) -> out (N,oh,ow,C)."""
    n, h, w, c = x.shape
    oh = out.shape[1]
    ow = out.shape[2]
    for b in range(n):
        for i in range(oh):
            y0 = i * sh - pt
            ya = max(y0, 0)
            yb = min(y0 + ph, h)
            for j in range(ow):
                x0 = j * sw - pl
                xa = max(x0, 0)
                xb = min(x0 + pw, w)
                for ch in range(c):
                    out[b, i, j, ch] = 0
                for y in range(ya, yb):
                    for xx in range(xa, xb):
                        for ch in range(c):
                            out[b, i, j, ch] += x[b, y, xx, ch]
                inv = 1.0 / ((yb - ya) * (xb - xa))
                for ch in range(c):
                    out[b, i, j, ch] *= inv


@njit(cache=True, nogil=True)
def avgpool2d_bwd(dy, ph, pw, sh, sw, pt, pl, dx):
    """Adjoint of :func:`avgpool2d_fwd`; dx (N,H,W,C) zero-initialised."""
    n, h, w, c = dx.shape
    oh = dy.shape[1]
    ow = dy.shape[2]
    for b in range(n):
        for i in range(oh):
            y0 = i * sh - pt
            ya = max(y0, 0)
            yb = min(y0 + ph, h)
            for j in range(ow):
                x0 = j * sw - pl
                xa = max(x0, 0)
                xb = min(x0 + pw, w)
                inv = 1.0 / ((yb - ya) * (xb - xa))
                for y in range(ya, yb):
                    for xx in range(xa, xb):
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
