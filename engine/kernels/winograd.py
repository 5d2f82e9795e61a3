"""Winograd F(2x2, 3x3) transforms for 3x3, stride-1, dilation-1 convolutions (channels-last).

A 3x3 convolution producing a 2x2 block of outputs from a 4x4 block of inputs needs
36 multiplies per (input channel, filter) directly and 16 in the Winograd domain
(Lavin & Gray 2015)::

    Y = A^T [ (G g G^T) * (B^T d B) ] A        (* element-wise over the 4x4 domain)

so a convolution becomes 16 independent matrix products ``V[e] (P, C) @ U[e] (C, F)``
(``e`` the 16 domain positions, ``P`` the 2x2 output tiles) plus cheap transforms, 2.25x
fewer multiplies than im2col + GEMM (less the padding of odd output sizes to whole
tiles: 11x11 outputs -> 6x6 tiles, 1.89x).  The products go to BLAS; these kernels are
the transforms around them, each one pass vectorised over the contiguous channels:

* :func:`input_tiles`: ``V[e, p, c] = (B^T d_p B)[e]`` of every 4x4 input tile (zeros
  outside the input: padding is implicit);
* :func:`output_tiles`: ``Y = A^T M A`` per tile, plus bias and ReLU, cropped to the output;
* :func:`grad_out_tiles` (backward): the ReLU mask, the bias gradient and
  ``dM = A dY A^T`` per tile (the adjoint of :func:`output_tiles`);
* :func:`grad_in_tiles` (backward): ``dd = B dV B^T`` per tile, added into ``dx`` (the
  adjoint of :func:`input_tiles`; neighbouring tiles overlap by 2 rows/columns).

The weight transform ``U = G g G^T`` and its adjoint ``dW = G^T dU G`` are small
(9 x C x F values) and done in NumPy by the layer.  Tiles are numbered
``p = (image * TH + tile_row) * TW + tile_col`` with ``TH = ceil(OH / 2)``,
``TW = ceil(OW / 2)``, counted from image ``b0`` for the images ``b0 .. b1-1`` a call
covers.  Every sum has a fixed order (no threads, no ``fastmath``): results are
bit-repeatable.

Each transform is written as short loops over the channels with at most three input
streams and one output stream each (a row pass into a small scratch array, then a column
pass): written as one loop per tile with all 16 values in registers, LLVM did not vectorise
it (too many possibly-aliasing streams) and the transforms cost 2-4x the GEMMs.  The transforms only add, subtract and halve (in ``G``), so float32
results stay within a few ulp of the im2col path's.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def input_tiles(x, pt, pl, TH, TW, b0, b1, V):
    """``V[:, p, :]`` (16, P, C) = B^T d B of the 4x4 input tile of every output tile of
    images ``b0 .. b1-1`` of ``x`` (N, H, W, C); tile (ty, tx) reads rows ``2 ty - pt ..``,
    columns ``2 tx - pl ..`` (zeros outside the input)."""
    n, h, w, c = x.shape
    xf = x.reshape(n * h * w * c)
    c4 = 4 * c
    tb = np.zeros(4 * c4, dtype=x.dtype)     # an edge tile, zero-padded
    t = np.empty((4, c4), dtype=x.dtype)     # B^T d: rows combined
    p = 0
    for b in range(b0, b1):
        for ty in range(TH):
            y0 = 2 * ty - pt
            for tx in range(TW):
                x0 = 2 * tx - pl
                if y0 >= 0 and x0 >= 0 and y0 + 3 < h and x0 + 3 < w:
                    src = xf
                    o0 = ((b * h + y0) * w + x0) * c
                    step = w * c
                else:
                    for i in range(4):
                        y = y0 + i
                        for j in range(4):
                            xx = x0 + j
                            o = (i * 4 + j) * c
                            if 0 <= y < h and 0 <= xx < w:
                                q = ((b * h + y) * w + xx) * c
                                for ch in range(c):
                                    tb[o + ch] = xf[q + ch]
                            else:
                                for ch in range(c):
                                    tb[o + ch] = 0
                    src = tb
                    o0 = 0
                    step = c4
                d0 = src[o0:o0 + c4]
                d1 = src[o0 + step:o0 + step + c4]
                d2 = src[o0 + 2 * step:o0 + 2 * step + c4]
                d3 = src[o0 + 3 * step:o0 + 3 * step + c4]
                t0, t1, t2, t3 = t[0], t[1], t[2], t[3]
                for k in range(c4):
                    t0[k] = d0[k] - d2[k]
                for k in range(c4):
                    t1[k] = d1[k] + d2[k]
                for k in range(c4):
                    t2[k] = d2[k] - d1[k]
                for k in range(c4):
                    t3[k] = d1[k] - d3[k]
                for i in range(4):
                    ti = t[i]
                    a0, a1, a2, a3 = ti[:c], ti[c:2 * c], ti[2 * c:3 * c], ti[3 * c:]
                    v0, v1, v2, v3 = V[4 * i, p], V[4 * i + 1, p], V[4 * i + 2, p], V[4 * i + 3, p]
                    for ch in range(c):
                        v0[ch] = a0[ch] - a2[ch]
                    for ch in range(c):
                        v1[ch] = a1[ch] + a2[ch]
                    for ch in range(c):
                        v2[ch] = a2[ch] - a1[ch]
                    for ch in range(c):
                        v3[ch] = a1[ch] - a3[ch]
                p += 1


@njit(cache=True, nogil=True, error_model="numpy")
def _store_out(val, bias, use_bias, relu, row):
    """``row = val (+ bias)``, then ReLU (NaN stays NaN)."""
    zero = val.dtype.type(0)
    if use_bias:
        for q in range(val.shape[0]):
            val[q] += bias[q]
    if relu:
        for q in range(val.shape[0]):
            v = val[q]
            row[q] = zero if v < zero else v
    else:
        for q in range(val.shape[0]):
            row[q] = val[q]


@njit(cache=True, nogil=True, error_model="numpy")
def output_tiles(M, bias, use_bias, relu, TH, TW, b0, b1, z):
    """``z`` (N, OH, OW, F) rows of images ``b0 .. b1-1`` = A^T M_p A of every tile
    (M (16, P, F)), ``+ bias`` if ``use_bias``, then ReLU if ``relu``; the parts of the
    last tiles past OH/OW are dropped."""
    n, oh, ow, f = z.shape
    s = np.empty((8, f), dtype=z.dtype)      # A^T m: rows combined
    y = np.empty((4, f), dtype=z.dtype)
    p = 0
    for b in range(b0, b1):
        for ty in range(TH):
            y0 = 2 * ty
            for tx in range(TW):
                x0 = 2 * tx
                for j in range(4):
                    m0, m1, m2, m3 = M[j, p], M[4 + j, p], M[8 + j, p], M[12 + j, p]
                    sa, sb = s[j], s[4 + j]
                    for q in range(f):
                        sa[q] = (m0[q] + m1[q]) + m2[q]
                    for q in range(f):
                        sb[q] = (m1[q] - m2[q]) - m3[q]
                for i in range(2):
                    s0, s1, s2, s3 = s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]
                    ya, yb = y[2 * i], y[2 * i + 1]
                    for q in range(f):
                        ya[q] = (s0[q] + s1[q]) + s2[q]
                    for q in range(f):
                        yb[q] = (s1[q] - s2[q]) - s3[q]
                for i in range(2):
                    if y0 + i >= oh:
                        continue
                    for j in range(2):
                        if x0 + j < ow:
                            _store_out(y[2 * i + j], bias, use_bias, relu, z[b, y0 + i, x0 + j])
                p += 1


@njit(cache=True, nogil=True, error_model="numpy")
def grad_out_tiles(dy, y, relu, TH, TW, b0, b1, dM, db):
    """Backward of :func:`output_tiles`: ``dz = dy * (y > 0)`` (or ``dy``), ``db += `` its sums
    over the pixels of images ``b0 .. b1-1``, and ``dM[:, p, :] = A dz_p A^T`` (16, P, F),
    ``dz`` taken as zero past OH/OW."""
    n, oh, ow, f = dy.shape
    zero = dy.dtype.type(0)
    d = np.empty((4, f), dtype=dy.dtype)     # dz of the tile's 2x2 pixels
    r = np.empty((8, f), dtype=dy.dtype)     # A dz: rows combined
    p = 0
    for b in range(b0, b1):
        for ty in range(TH):
            y0 = 2 * ty
            for tx in range(TW):
                x0 = 2 * tx
                for i in range(2):
                    for j in range(2):
                        dd = d[2 * i + j]
                        if y0 + i < oh and x0 + j < ow:
                            g = dy[b, y0 + i, x0 + j]
                            if relu:
                                yr = y[b, y0 + i, x0 + j]
                                for q in range(f):
                                    dd[q] = g[q] * (yr[q] > zero)
                            else:
                                for q in range(f):
                                    dd[q] = g[q]
                        else:
                            for q in range(f):
                                dd[q] = zero
                d0, d1, d2, d3 = d[0], d[1], d[2], d[3]
                for q in range(f):
                    db[q] += (d0[q] + d1[q]) + (d2[q] + d3[q])
                for q in range(f):
                    r[0, q] = d0[q]
                    r[1, q] = d1[q]
                for q in range(f):
                    r[2, q] = d0[q] + d2[q]
                for q in range(f):
                    r[3, q] = d1[q] + d3[q]
                for q in range(f):
                    r[4, q] = d0[q] - d2[q]
                for q in range(f):
                    r[5, q] = d1[q] - d3[q]
                for q in range(f):
                    r[6, q] = -d2[q]
                    r[7, q] = -d3[q]
                for a in range(4):
                    ra, rb = r[2 * a], r[2 * a + 1]
                    g0, g1, g2, g3 = dM[4 * a, p], dM[4 * a + 1, p], dM[4 * a + 2, p], dM[4 * a + 3, p]
                    for q in range(f):
                        g0[q] = ra[q]
                    for q in range(f):
                        g1[q] = ra[q] + rb[q]
                    for q in range(f):
                        g2[q] = ra[q] - rb[q]
                    for q in range(f):
                        g3[q] = -rb[q]
                p += 1


@njit(cache=True, nogil=True, error_model="numpy")
def grad_in_tiles(dV, pt, pl, TH, TW, b0, b1, dx):
    """Backward of :func:`input_tiles`: ``dx[b]`` (N, H, W, C) += B dV_p B^T of every tile of
    images ``b0 .. b1-1`` (positions outside the input are dropped).  ``dx`` must hold zeros
    (or the sum so far) for those images."""
    n, h, w, c = dx.shape
    wk = np.empty((16, c), dtype=dx.dtype)   # B dV: rows combined, [i*4 + col]
    e = np.empty(c, dtype=dx.dtype)
    p = 0
    for b in range(b0, b1):
        for ty in range(TH):
            y0 = 2 * ty - pt
            for tx in range(TW):
                x0 = 2 * tx - pl
                for j in range(4):
                    v0, v1, v2, v3 = dV[j, p], dV[4 + j, p], dV[8 + j, p], dV[12 + j, p]
                    w0, w1, w2, w3 = wk[j], wk[4 + j], wk[8 + j], wk[12 + j]
                    for ch in range(c):
                        w0[ch] = v0[ch]
                    for ch in range(c):
                        w1[ch] = (v1[ch] - v2[ch]) + v3[ch]
                    for ch in range(c):
                        w2[ch] = (v1[ch] + v2[ch]) - v0[ch]
                    for ch in range(c):
                        w3[ch] = -v3[ch]
                for i in range(4):
                    y = y0 + i
                    if y < 0 or y >= h:
                        continue
                    a0, a1, a2, a3 = wk[4 * i], wk[4 * i + 1], wk[4 * i + 2], wk[4 * i + 3]
                    for j in range(4):
                        xx = x0 + j
                        if xx < 0 or xx >= w:
                            continue
                        out = dx[b, y, xx]
                        if j == 0:
                            for ch in range(c):
                                out[ch] += a0[ch]
                        elif j == 1:
                            for ch in range(c):
                                e[ch] = (a1[ch] - a2[ch]) + a3[ch]
                            for ch in range(c):
                                out[ch] += e[ch]
                        elif j == 2:
                            for ch in range(c):
                                e[ch] = (a1[ch] + a2[ch]) - a0[ch]
                            for ch in range(c):
                                out[ch] += e[ch]
                        else:
                            for ch in range(c):
                                out[ch] -= a3[ch]
                p += 1
