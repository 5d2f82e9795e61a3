"""Numba kernels for convolutions in channels-last layout.

A 2-D convolution is computed as ``im2col`` (gather every receptive field into
one row of a contiguous ``(N*OH*OW, kh*kw*C)`` matrix) followed by one BLAS
matrix product; the input gradient is the reverse, ``col2im`` (scatter-add the
rows back into an ``(N, H, W, C)`` array).  1-D convolutions use the same
kernels with ``H = 1``.

Padding is implicit: positions outside the input read as zero (im2col) or are
dropped (col2im), so no padded copy of the input is ever made.  Column order
inside a row is ``(ki, kj, c)``, which matches a weight of shape
``(kh, kw, C, F)`` reshaped to ``(kh*kw*C, F)``.

Every kernel writes into an array the caller allocated (so the caller chooses
the dtype) and takes all sizes as arguments.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def im2col2d(x, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, out):
    """x: (N, H, W, C) -> out: (N*oh*ow, kh*kw*C), both C-contiguous; pt/pl: zero padding before rows/cols."""
    n, h, w, c = x.shape
    xf = x.reshape(n * h * w * c)
    ktot = out.shape[1]
    of = out.reshape(out.shape[0] * ktot)
    span = kw * c
    row = 0
    for b in range(n):
        for i in range(oh):
            y0 = i * sh - pt
            for j in range(ow):
                x0 = j * sw - pl
                inside_w = x0 >= 0 and x0 + (kw - 1) * dw < w
                col = 0
                for ki in range(kh):
                    y = y0 + ki * dh
                    if dw == 1 and inside_w and 0 <= y < h:
                        # the kw taps of this kernel row are one contiguous run of kw*C values
                        base = ((b * h + y) * w + x0) * c
                        o = row * ktot + col
                        for t in range(span):
                            of[o + t] = xf[base + t]
                        col += span
                        continue
                    yin = 0 <= y < h
                    for kj in range(kw):
                        xx = x0 + kj * dw
                        if yin and 0 <= xx < w:
                            for ch in range(c):
                                out[row, col + ch] = x[b, y, xx, ch]
                        else:
                            for ch in range(c):
                                out[row, col + ch] = 0
                        col += c
                row += 1


@njit(cache=True, nogil=True)
def col2im2d(cols, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, dx):
    """Adjoint of :func:`im2col2d`: scatter-add cols (N*oh*ow, kh*kw*C) into dx (N, H, W, C).

    ``dx`` must be zero-initialised by the caller.
    """
    n, h, w, c = dx.shape
    row = 0
    for b in range(n):
        for i in range(oh):
            y0 = i * sh - pt
            for j in range(ow):
                x0 = j * sw - pl
                col = 0
                for ki in range(kh):
                    y = y0 + ki * dh
                    yin = 0 <= y < h
                    for kj in range(kw):
                        xx = x0 + kj * dw
                        if yin and 0 <= xx < w:
                            for ch in range(c):
                                dx[b, y, xx, ch] += cols[row, col + ch]
                        col += c
                row += 1


# ------------------------------------------------------------- fused element-wise parts
@njit(cache=True, nogil=True)
def bias_act_(z, b, use_bias, relu):
    """In place on z (M, F): ``z += b`` (if ``use_bias``), then ReLU (if ``relu``; NaN stays NaN)."""
    m, f = z.shape
    zero = z.dtype.type(0)
    for r in range(m):
        zr = z[r]
        if use_bias:
            for q in range(f):
                zr[q] += b[q]
        if relu:
            for q in range(f):
                if zr[q] < zero:
                    zr[q] = zero


@njit(cache=True, nogil=True)
def relu_bwd_bias(dy, y, relu, dz, db):
    """dz = dy * (y > 0) (or dy if not ``relu``), db = column sums of dz; all (M, F), db (F,).

    Written as one 2-D loop so that LLVM vectorises it (about 2.5x faster than
    the NumPy expression plus ``sum(axis=0)``); the sums are accumulated in
    blocks of 1024 rows (shorter float32 sums).
    """
    m, f = dy.shape
    zero = dz.dtype.type(0)
    acc = np.zeros(f, dtype=db.dtype)
    for q in range(f):
        db[q] = zero
    for r0 in range(0, m, 1024):
        r1 = min(r0 + 1024, m)
        if relu:
            for r in range(r0, r1):
                for q in range(f):
                    v = dy[r, q] * (y[r, q] > zero)
                    dz[r, q] = v
                    acc[q] += v
        else:
            for r in range(r0, r1):
                for q in range(f):
                    v = dy[r, q]
                    dz[r, q] = v
                    acc[q] += v
        for q in range(f):
            db[q] += acc[q]
            acc[q] = zero
