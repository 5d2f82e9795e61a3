"""Convolution layers (channels-last): Conv1D, Conv2D and UpSampling2D.

Layouts (batch axis first, never part of a layer's shape):

* Conv1D: input (N, L, C) -> output (N, L', filters); weight ``W`` (k, C, filters).
* Conv2D: input (N, H, W, C) -> output (N, H', W', filters); weight ``W`` (kh, kw, C, filters).

``padding="valid"``: no padding, ``out = floor((in - dilation*(k-1) - 1) / stride) + 1``.
``padding="same"``: TensorFlow/Keras semantics, ``out = ceil(in / stride)``, the total
padding ``max((out-1)*stride + dilation*(k-1) + 1 - in, 0)`` split with the smaller half
before (top/left) and the larger half after.
``padding="explicit"``: the zeros given in ``pads`` (PyTorch ``padding=``, ONNX ``pads``),
``out = floor((in + before + after - dilation*(k-1) - 1) / stride) + 1``.

The computation is im2col + one BLAS matmul (see :mod:`engine.kernels.conv`), except for
3x3 stride-1 undilated layers with at least ``WINO_MIN_C`` input channels, which use
Winograd F(2x2, 3x3) (:mod:`engine.kernels.winograd`; 2.25x fewer multiplies).  Both run
blocks of whole images on two threads with BLAS on one thread each
(:mod:`engine.kernels.threads`); the bits do not depend on the thread count.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import numpy as np

from engine.initializers import init_weight
from engine.kernels.alloc import tune_malloc
from engine.kernels.threads import blas_one_thread, run_items
from engine.layers.activations import activation_field, apply_activation, gain_for
from engine.layers.core import fmt_shape
from engine.lazy import LazyModule
from engine.registry import ConfigError, Layer, ShapeError, register_layer

#: im2col matrices larger than this are built batch-chunk by batch-chunk and
#: recomputed in the backward pass instead of being kept (memory bound).
MAX_COLS_BYTES = 256 * 1024 * 1024
#: inference (no training) never keeps the im2col matrix and works in cache-friendly
#: chunks of about this size (a backprop after it recomputes the columns)
EVAL_COLS_BYTES = 8 * 1024 * 1024

PADDINGS = ("valid", "same", "explicit")

#: the Numba kernels, imported when a layer first computes
KC = LazyModule("engine.kernels.conv")


def out_size(n: int, k: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """Output length and padding before, for one spatial axis; ``(0, 0)`` if it does not fit."""
    eff = (k - 1) * dilation + 1
    if padding == "same":
        out = -(-n // stride)
        total = max((out - 1) * stride + eff - n, 0)
        return out, total // 2
    if n < eff:
        return 0, 0
    return (n - eff) // stride + 1, 0


def axis_pads(pads, ndim: int) -> list[tuple[int, int]]:
    """The ``pads`` setting as ``(before, after)`` for each spatial axis.

    One number pads every side (PyTorch ``padding=1``); in 2-D two numbers pad
    (height, width) symmetrically (PyTorch ``padding=(1, 2)``); ``2*ndim`` numbers are
    every axis's start then every axis's end (ONNX ``pads``: top, left, bottom, right).
    """
    p = [int(v) for v in pads]
    if len(p) == 1:
        return [(p[0], p[0])] * ndim
    if ndim > 1 and len(p) == ndim:
        return [(v, v) for v in p]
    if len(p) == 2 * ndim:
        return list(zip(p[:ndim], p[ndim:]))
    if ndim == 1:
        raise ShapeError(f"pads needs 1 number (both ends) or 2 (start, end), got {len(p)}: {tuple(p)}")
    raise ShapeError(f"pads needs 1 number (every side), 2 (height, width) or 4 (top, left, bottom, right), "
                     f"got {len(p)}: {tuple(p)}")


def axis_geometry(n: int, k: int, stride: int, dilation: int, padding: str, pads: tuple[int, int] = (0, 0),
                  ceil_mode: bool = False) -> tuple[int, int, int]:
    """``(out, before, after)`` for one spatial axis of length ``n``; ``out`` is 0 if no window fits.

    ``pads`` is used for ``padding="explicit"``.  ``ceil_mode`` (pooling) rounds the
    number of windows up, as PyTorch and ONNX do: the last window may run past the
    padded end, but it must start inside the input or the padding before it.
    """
    eff = (k - 1) * dilation + 1
    if padding == "same":
        out = -(-n // stride)
        total = max((out - 1) * stride + eff - n, 0)
        return out, total // 2, total - total // 2
    before, after = pads if padding == "explicit" else (0, 0)
    span = n + before + after
    if span < eff:
        return 0, before, after
    if ceil_mode:
        out = -(-(span - eff) // stride) + 1
        if (out - 1) * stride >= n + before:
            out -= 1
    else:
        out = (span - eff) // stride + 1
    return out, before, after


def padding_field():
    return field(default="valid", metadata={
        "choices": PADDINGS,
        "help": "valid: no padding (output shrinks); same: pad with zeros so that "
                "output size = ceil(input size / stride); explicit: the amounts given in Pads"})


def pads_field():
    return field(default=(0,), metadata={
        "kind": "shape", "min": 0, "visible_when": {"padding": ("explicit",)},
        "help": "Padding explicit: zeros added at the edges. One number for every side (PyTorch padding=1), "
                "one per axis (height, width), or every start then every end (ONNX pads: top, left, "
                "bottom, right)"})


MAX_PAD = 256


def _check_pads_config(cfg) -> None:
    if cfg.padding == "explicit" and not cfg.pads:
        raise ConfigError("setting 'pads' needs at least one number when padding is explicit")
    if any(p > MAX_PAD for p in cfg.pads):
        raise ConfigError(f"setting 'pads': each amount must be at most {MAX_PAD}, got {max(cfg.pads)}")


@dataclass(frozen=True)
class ConvConfig:
    filters: int = field(default=16, metadata={"min": 1, "max": 4096,
                                               "help": "Number of output channels (learned filters)"})
    kernel_size: int = field(default=3, metadata={"min": 1, "max": 31,
                                                  "help": "Width (and height) of each filter window"})
    strides: int = field(default=1, metadata={"min": 1, "max": 16,
                                              "help": "Step between neighbouring windows"})
    padding: str = padding_field()
    dilation: int = field(default=1, metadata={"min": 1, "max": 16,
                                               "help": "Spacing between the taps of a filter (1 = dense)"})
    use_bias: bool = field(default=True, metadata={"help": "Add a learned bias to each filter"})
    activation: str = activation_field("linear")
    pads: tuple = pads_field()

    def validate(self):
        _check_pads_config(self)


def _im2col(x, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, out):
    """im2col into ``out``; windows that never leave the input use NumPy's strided
    copy (measured 2-3x faster than the Numba gather for C >= 8), others the kernel."""
    n, h, w, c = x.shape
    inside = (pt == 0 and pl == 0 and (oh - 1) * sh + (kh - 1) * dh < h
              and (ow - 1) * sw + (kw - 1) * dw < w)
    if inside:
        s0, s1, s2, s3 = x.strides
        win = np.lib.stride_tricks.as_strided(
            x, (n, oh, ow, kh, kw, c), (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3), writeable=False)
        out.reshape(n, oh, ow, kh, kw, c)[...] = win
    else:
        KC.im2col2d(x, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, out)


#: backward works in blocks of whole images, about this many output pixels per block
BWD_CHUNK_ROWS = 2048
#: inputs with at most this many channels build the column matrix transposed,
#: (K, N*oh*ow): one contiguous strided copy per kernel tap instead of a gather with
#: a tiny inner dimension (28x28x1, 3x3: 0.63 ms -> 0.08 ms for a batch of 64)
TRANSPOSED_MAX_C = 4


def _tap_ranges(n_in, k, s, d, p, o):
    """For each tap ``kk`` of one axis: ``(o0, o1, i0)``, the outputs o0 <= i < o1 whose
    input ``i*s - p + kk*d`` is inside [0, n_in), and the first such input; None if none."""
    res = []
    for kk in range(k):
        off = kk * d - p
        o0 = max(0, (-off + s - 1) // s)
        o1 = min(o, (n_in - 1 - off) // s + 1) if n_in - 1 - off >= 0 else 0
        res.append((o0, o1, o0 * s + off) if o1 > o0 else None)
    return res


def _columns(x, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow):
    """The (N*oh*ow, kh*kw*C) im2col matrix of ``x``, column order (ki, kj, c).

    For C <= TRANSPOSED_MAX_C it is returned as the transpose view of a C-contiguous
    (K, N*oh*ow) array (BLAS takes either layout at the same speed)."""
    n, h, w, c = x.shape
    K = kh * kw * c
    if c > TRANSPOSED_MAX_C:
        cols = np.empty((n * oh * ow, K), dtype=x.dtype)
        _im2col(x, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cols)
        return cols
    rows, cols_ = _tap_ranges(h, kh, sh, dh, pt, oh), _tap_ranges(w, kw, sw, dw, pl, ow)
    full = all(r == (0, oh, r[2]) for r in rows if r) and all(r == (0, ow, r[2]) for r in cols_ if r) \
        and None not in rows and None not in cols_
    colsT = (np.empty if full else np.zeros)((K, n * oh * ow), dtype=x.dtype)
    c6 = colsT.reshape(kh, kw, c, n, oh, ow)
    xc = np.moveaxis(x, 3, 0)                                   # (C, N, H, W) view
    for ki, r in enumerate(rows):
        if r is None:
            continue
        i0, i1, y0 = r
        ys = slice(y0, y0 + (i1 - i0 - 1) * sh + 1, sh)
        for kj, q in enumerate(cols_):
            if q is None:
                continue
            j0, j1, x0 = q
            c6[ki, kj, :, :, i0:i1, j0:j1] = xc[:, :, ys, x0:x0 + (j1 - j0 - 1) * sw + 1:sw]
    return colsT.T


#: the Winograd kernels, imported when a 3x3 layer first computes
KW = LazyModule("engine.kernels.winograd")
#: 3x3 stride-1 layers with at least this many input channels use Winograd F(2x2, 3x3)
#: (16 GEMMs with K = C: too narrow for BLAS below this; the first layer of an image
#: model, C = 1..4, keeps the transposed im2col)
WINO_MIN_C = 8
#: Winograd works in blocks of whole images of about this many 2x2 output tiles, so that
#: the transformed tiles, the GEMM outputs and the transforms' reads stay in cache
WINO_TILES = 288


def _wino_ok(x, W, sh, sw, dh, dw) -> bool:
    kh, kw, c, _ = W.shape
    return kh == 3 and kw == 3 and sh == 1 and sw == 1 and dh == 1 and dw == 1 and c >= WINO_MIN_C


def _wino_G(dt):
    return np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=dt)


def _wino_weights(W):
    """``U[a*4 + b] = (G g G^T)[a, b]`` for every (channel, filter): (3, 3, C, F) -> (16, C, F)."""
    _, _, c, f = W.shape
    G = _wino_G(W.dtype)
    t = (G @ W.reshape(3, 3 * c * f)).reshape(4, 3, c * f)           # [a, j]
    u = (G @ t.transpose(1, 0, 2).reshape(3, 4 * c * f)).reshape(4, 4, c, f)  # [b, a]
    return np.ascontiguousarray(u.transpose(1, 0, 2, 3)).reshape(16, c, f)


def _wino_weights_grad(dU):
    """Adjoint of :func:`_wino_weights`: dL/dU (16, C, F) -> dL/dW (3, 3, C, F)."""
    _, c, f = dU.shape
    GT = _wino_G(dU.dtype).T
    t = (GT @ dU.reshape(4, 4 * c * f)).reshape(3, 4, c * f)         # [i, b]
    g = (GT @ t.transpose(1, 0, 2).reshape(4, 3 * c * f)).reshape(3, 3, c, f)  # [j, i]
    return np.ascontiguousarray(g.transpose(1, 0, 2, 3))


@functools.lru_cache(maxsize=64)
def _padded_rows(p: int, row_bytes: int) -> int:
    """Rows to allocate per domain position for ``p`` rows of ``row_bytes``: the 16 slices
    of a (16, rows, C) array are read or written together, and at a stride that is a
    multiple of 4 KiB they all fall into the same L1 cache sets (W4's second layer: blocks of
    288 tiles x 64 filters, a stride of 18 x 4 KiB; one more row took the output transform
    from 0.47 to 0.33 ms per batch of 64, the input transform from 0.48 to 0.46 ms)."""
    lines = -(-row_bytes // 64)
    best, best_sets = p, -1
    for extra in range(64):
        stride = (p + extra) * row_bytes
        sets = len({(e * stride // 64 + k) % 64 for e in range(16) for k in range(lines)})
        if sets > best_sets:
            best, best_sets = p + extra, sets
        if sets >= min(64, 16 * lines):
            break
    return best


def _tiles_buf(p, c, dt):
    """A C-contiguous (16, rows >= p, c) array for ``p`` tiles (see :func:`_padded_rows`)."""
    return np.empty((16, _padded_rows(p, c * np.dtype(dt).itemsize), c), dtype=dt)


def _blocks(n, T):
    """Blocks of whole images for the Winograd path: [(first image, images), ...]."""
    chunk = min(n, max(1, WINO_TILES // T))
    return [(s, min(chunk, n - s)) for s in range(0, n, chunk)], chunk


def _wino_forward(x, W, b, pt, pl, oh, ow, keep, relu):
    """Winograd F(2x2, 3x3) convolution (see :mod:`engine.kernels.winograd`) in blocks of
    whole images: -> (z (N, oh, ow, F), cache for :func:`_wino_backward`).  The kernels get
    the whole (padded) tile arrays and fill their first ``m*T`` rows; BLAS gets those rows.
    The blocks are independent: two threads share them (whichever runs takes the next one,
    :func:`engine.kernels.threads.run_items`), each calling BLAS on one thread."""
    n, h, w, c = x.shape
    f = W.shape[3]
    dt = x.dtype
    TH, TW = (oh + 1) // 2, (ow + 1) // 2
    T = TH * TW
    U = _wino_weights(W)
    blocks, chunk = _blocks(n, T)
    z = np.empty((n, oh, ow, f), dtype=dt)
    Vs = [None] * len(blocks)
    bias = W[0, 0, 0] if b is None else b

    def part(take):
        V = None
        M = _tiles_buf(chunk * T, f, dt)
        while (k := take()) is not None:
            s, m = blocks[k]
            if keep or V is None:
                V = _tiles_buf(chunk * T, c, dt)
            KW.input_tiles(x, pt, pl, TH, TW, s, s + m, V)
            np.matmul(V[:, :m * T], U, out=M[:, :m * T])
            KW.output_tiles(M, bias, b is not None, relu, TH, TW, s, s + m, z)
            if keep:
                Vs[k] = V

    with blas_one_thread():
        run_items(part, len(blocks))
    return z, ("winograd", Vs if keep else None, U)


def _wino_backward(dz, x, W, cache, pt, pl, oh, ow, need_dx, relu_out):
    """Backward of :func:`_wino_forward`: -> (dx or None, dW, db); ``dz`` is dL/dy and
    ``relu_out`` the layer's ReLU output (mask applied here) or None.  Each block's weight
    and bias gradients are kept apart and summed in block order, so the bits do not depend
    on how the blocks were split between threads."""
    _, Vs, U = cache
    n, h, w, c = x.shape
    f = W.shape[3]
    TH, TW = (oh + 1) // 2, (ow + 1) // 2
    T = TH * TW
    blocks, chunk = _blocks(n, T)
    dt = x.dtype
    dy = np.ascontiguousarray(dz)
    relu = relu_out is not None
    yy = np.ascontiguousarray(relu_out) if relu else dy
    dUs = np.empty((len(blocks), 16, c, f), dtype=dt)
    dbs = np.zeros((len(blocks), f), dtype=dt)
    dx = np.zeros_like(x) if need_dx else None
    UT = U.transpose(0, 2, 1)

    def part(take):
        dM = _tiles_buf(chunk * T, f, dt)
        dV = _tiles_buf(chunk * T, c, dt) if need_dx else None
        V = _tiles_buf(chunk * T, c, dt) if Vs is None else None
        while (k := take()) is not None:
            s, m = blocks[k]
            rows = m * T
            if Vs is None:
                KW.input_tiles(x, pt, pl, TH, TW, s, s + m, V)
            else:
                V = Vs[k]
            KW.grad_out_tiles(dy, yy, relu, TH, TW, s, s + m, dM, dbs[k])
            np.matmul(V[:, :rows].transpose(0, 2, 1), dM[:, :rows], out=dUs[k])
            if need_dx:
                np.matmul(dM[:, :rows], UT, out=dV[:, :rows])
                KW.grad_in_tiles(dV, pt, pl, TH, TW, s, s + m, dx)

    with blas_one_thread():
        run_items(part, len(blocks))
    dU, db = dUs[0].copy(), dbs[0].copy()
    for k in range(1, len(blocks)):
        dU += dUs[k]
        db += dbs[k]
    return dx, _wino_weights_grad(dU), db


def _image_halves(n):
    """The batch as two halves of whole images (one part for a single image)."""
    return [(0, n)] if n < 2 else [(0, (n + 1) // 2), ((n + 1) // 2, n)]


def _conv2d_forward(x, W, b, sh, sw, dh, dw, pt, pl, oh, ow, keep_cols=True, relu=False):
    """x (N,H,W,C) contiguous -> (z (N,oh,ow,F), cache for :func:`_conv2d_backward`); ``relu``
    applies max(z, 0) in the same pass as the bias (one Numba kernel).

    3x3 stride-1 layers with enough channels use Winograd (:func:`_wino_forward`); the
    others im2col + GEMM, the two halves of the batch shared by two threads (BLAS on one
    thread each; the halves are computed the same way with one thread, so the bits do not
    depend on the thread count)."""
    if _wino_ok(x, W, sh, sw, dh, dw):
        return _wino_forward(x, W, b, pt, pl, oh, ow, keep_cols, relu)
    n = x.shape[0]
    z = np.empty((n, oh, ow, W.shape[3]), dtype=x.dtype)
    parts = _image_halves(n)
    caches = [None] * len(parts)

    def part(take):
        while (k := take()) is not None:
            s, e = parts[k]
            caches[k] = _im2col_forward(x[s:e], W, b, sh, sw, dh, dw, pt, pl, oh, ow, keep_cols, relu, z[s:e])

    if len(parts) == 1:  # one image: BLAS keeps its threads
        part(iter([0, None]).__next__)
    else:
        with blas_one_thread():
            run_items(part, len(parts))
    return z, ("im2col", parts, caches)


def _im2col_forward(x, W, b, sh, sw, dh, dw, pt, pl, oh, ow, keep_cols, relu, z):
    """im2col + GEMM of ``x`` into ``z`` (N,oh,ow,F) -> the columns (or None if not kept)."""
    n = x.shape[0]
    kh, kw, c, f = W.shape
    W2 = W.reshape(kh * kw * c, f)
    K = kh * kw * c
    per_sample = oh * ow * K * x.itemsize
    chunk = max(1, (MAX_COLS_BYTES if keep_cols else EVAL_COLS_BYTES) // max(per_sample, 1))
    if chunk >= n and keep_cols:
        cols = _columns(x, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow)
        np.matmul(cols, W2, out=z.reshape(n * oh * ow, f))
        keep = cols
    else:
        keep = None
        for s in range(0, n, chunk):
            xs = x[s:s + chunk]
            m = xs.shape[0]
            cols = _columns(xs, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow)
            np.matmul(cols, W2, out=z[s:s + m].reshape(m * oh * ow, f))
    if b is not None or relu:
        KC.bias_act_(z.reshape(n * oh * ow, f), W2[0] if b is None else b, b is not None, relu)
    return keep


def _conv2d_backward(dz, x, W, cache, sh, sw, dh, dw, pt, pl, oh, ow, need_dx=True, relu_out=None):
    """dz (N,oh,ow,F) -> (dx, dW, db); ``dx`` is None when ``need_dx`` is False.

    With ``relu_out`` (the layer's ReLU output), ``dz`` is dL/dy and the ReLU mask is
    applied here.  The im2col path runs the forward's two halves of the batch on two
    threads and adds the halves' weight and bias gradients in order."""
    if cache[0] == "winograd":
        return _wino_backward(dz, x, W, cache, pt, pl, oh, ow, need_dx, relu_out)
    _, parts, caches = cache
    dz = np.ascontiguousarray(dz)
    dx = np.zeros_like(x) if need_dx else None
    res = [None] * len(parts)

    def part(take):
        while (k := take()) is not None:
            s, e = parts[k]
            res[k] = _im2col_backward(dz[s:e], x[s:e], W, caches[k], sh, sw, dh, dw, pt, pl, oh, ow,
                                      None if relu_out is None else relu_out[s:e],
                                      None if dx is None else dx[s:e])

    if len(parts) == 1:
        part(iter([0, None]).__next__)
    else:
        with blas_one_thread():
            run_items(part, len(parts))
    dW, db = res[0]
    for dWk, dbk in res[1:]:
        dW += dWk
        db += dbk
    return dx, dW.reshape(W.shape), db


def _im2col_backward(dz, x, W, cols, sh, sw, dh, dw, pt, pl, oh, ow, relu_out, dx):
    """One part of :func:`_conv2d_backward` -> (dW (K, F), db); adds dL/dx into ``dx``
    (zeros) unless it is None.

    The work goes in blocks of whole images of about ``BWD_CHUNK_ROWS`` output pixels
    (at least one image), so that the weight-gradient and input-gradient matmuls
    read the masked gradient from cache (W4: first layer 1.3 -> 0.95 ms, second
    3.75 -> 3.5 ms per batch of 64).
    """
    n = x.shape[0]
    kh, kw, c, f = W.shape
    K = kh * kw * c
    W2 = W.reshape(K, f)
    dy = dz.reshape(-1, f)
    relu = relu_out is not None
    yy = relu_out.reshape(-1, f) if relu else dy
    rows = oh * ow
    chunk = max(1, BWD_CHUNK_ROWS // rows)
    if cols is None:  # columns too large to keep: rebuilt block by block
        chunk = min(chunk, max(1, MAX_COLS_BYTES // max(rows * K * x.itemsize, 1)))
    chunk = min(chunk, n)
    dW = np.zeros((K, f), dtype=dy.dtype)
    db = np.zeros(f, dtype=dy.dtype)
    dbc = np.empty(f, dtype=dy.dtype)
    dz_buf = np.empty((chunk * rows, f), dtype=dy.dtype)
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        r0, r1 = s * rows, (s + m) * rows
        dzc = dz_buf[:r1 - r0]
        KC.relu_bwd_bias(dy[r0:r1], yy[r0:r1], relu, dzc, dbc)
        db += dbc
        cc = cols[r0:r1] if cols is not None else _columns(x[s:s + m], kh, kw, sh, sw, dh, dw, pt, pl, oh, ow)
        dW += cc.T @ dzc
        if dx is not None:
            KC.col2im2d(dzc @ W2.T, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, dx[s:s + m])
    return dW, db


class _ConvBase(Layer):
    category = "Convolution"
    Config = ConvConfig
    ndim = 2
    # the work is split over our own two threads (each calling BLAS on one): a training run with such a
    # layer gives BLAS one thread (engine.kernels.threads.blas_for_run)
    SPLITS_WORK = True

    def _spatial(self, in_shapes):
        s = tuple(in_shapes[0])
        if len(s) != self.ndim + 1:
            if self.ndim == 2:
                hint = ("add Reshape before it (e.g. 28, 28, 1 for grey images)" if len(s) == 1
                        else "it needs a channels axis last")
                raise ShapeError(f"expects (height, width, channels), got {fmt_shape(s)}; {hint}")
            hint = ("add Reshape before it (e.g. length, 1)" if len(s) == 1
                    else "use Conv2D for images")
            raise ShapeError(f"expects (length, channels), got {fmt_shape(s)}; {hint}")
        cfg = self.cfg
        outs = []
        for o, _ in self._geometry(s[:-1]):
            if o < 1:
                span = (cfg.kernel_size - 1) * cfg.dilation + 1
                raise ShapeError(f"window of {span} (kernel_size {cfg.kernel_size}, dilation {cfg.dilation}) "
                                 f"is larger than the input {fmt_shape(s)}; use padding 'same' or a "
                                 f"smaller kernel_size")
            outs.append(o)
        return s, outs

    def output_shape(self, in_shapes):
        _, outs = self._spatial(in_shapes)
        return (*outs, self.cfg.filters)

    def param_shapes(self, in_shapes):
        c, k = in_shapes[0][-1], self.cfg.kernel_size
        p = {"W": (k,) * self.ndim + (c, self.cfg.filters)}
        if self.cfg.use_bias:
            p["b"] = (self.cfg.filters,)
        return p

    def init_params(self, in_shapes, rng, dtype):
        c = in_shapes[0][-1]
        k = self.cfg.kernel_size
        taps = k ** self.ndim
        shape = (k,) * self.ndim + (c, self.cfg.filters)
        p = {"W": init_weight(gain_for(self.cfg.activation), shape, taps * c, taps * self.cfg.filters,
                              rng, dtype)}
        if self.cfg.use_bias:
            p["b"] = np.zeros(self.cfg.filters, dtype=dtype)
        return p

    def pads_per_axis(self, nd: int | None = None) -> list[tuple[int, int]]:
        """``(before, after)`` of each spatial axis for ``padding="explicit"`` (zeros otherwise)."""
        nd = self.ndim if nd is None else nd
        if self.cfg.padding != "explicit":
            return [(0, 0)] * nd
        return axis_pads(self.cfg.pads, nd)

    def _geometry(self, spatial):
        """``(out, before)`` per spatial axis."""
        cfg = self.cfg
        pads = self.pads_per_axis(len(spatial))
        return [axis_geometry(n, cfg.kernel_size, cfg.strides, cfg.dilation, cfg.padding, p)[:2]
                for n, p in zip(spatial, pads)]

    def summary(self):
        cfg = self.cfg
        k = "×".join([str(cfg.kernel_size)] * self.ndim)
        parts = [str(cfg.filters), k]
        if cfg.strides != 1:
            parts.append(f"stride {cfg.strides}")
        if cfg.dilation != 1:
            parts.append(f"dilation {cfg.dilation}")
        if cfg.padding == "same":
            parts.append("same")
        elif cfg.padding == "explicit" and any(cfg.pads):
            parts.append("pad " + ",".join(map(str, cfg.pads)))
        if cfg.activation != "linear":
            parts.append(cfg.activation)
        return ", ".join(parts)

    def output_activation(self):
        return self.cfg.activation if self.cfg.activation in ("sigmoid", "softmax") else None

    def without_output_activation(self):
        if self.output_activation():
            return type(self)(replace(self.cfg, activation="linear"))
        return self

    def forward(self, params, state, xs, ctx):
        if ctx.train:
            tune_malloc()  # see engine/kernels/alloc.py: halves a CNN training step on glibc
        x = xs[0]
        in_shape = x.shape
        cfg = self.cfg
        W = params["W"]
        b = params.get("b")
        if self.ndim == 1:
            n, L, c = x.shape
            x4 = np.ascontiguousarray(x).reshape(n, 1, L, c)
            W4 = W.reshape(1, *W.shape)
            (ow, pl), = self._geometry((L,))
            geo = (1, cfg.strides, 1, cfg.dilation, 0, pl, 1, ow)
        else:
            x4 = np.ascontiguousarray(x)
            W4 = W
            (oh, pt), (ow, pl) = self._geometry(x.shape[1:3])
            geo = (cfg.strides, cfg.strides, cfg.dilation, cfg.dilation, pt, pl, oh, ow)
        # ReLU and linear are fused into the bias pass (forward) and the bias-gradient
        # pass (backward); other activations use the shared activation table
        fused = cfg.activation in ("relu", "linear")
        relu = cfg.activation == "relu"
        z, cols = _conv2d_forward(x4, W4, b, *geo, keep_cols=ctx.train, relu=relu)
        out_shape = (n, ow, W.shape[-1]) if self.ndim == 1 else z.shape
        z = z.reshape(out_shape)
        if fused:
            y, act_back = z, None
        else:
            y, act_back = apply_activation(cfg.activation, z)

        def backprop(dy):
            dz = dy if fused else act_back(dy)
            dz = dz.reshape(z.shape[0], *((1,) if self.ndim == 1 else ()), *z.shape[1:])
            dx, dW, db = _conv2d_backward(dz, x4, W4, cols, *geo, need_dx=ctx.need_input_grad,
                                          relu_out=y if relu else None)
            grads = {"W": dW.reshape(W.shape)}
            if b is not None:
                grads["b"] = db
            return [None if dx is None else dx.reshape(in_shape)], grads

        return y, backprop


@register_layer
class Conv2D(_ConvBase):
    """2-D convolution over (height, width, channels) images."""

    type_id = "Conv2D.v1"
    label = "Conv2D"
    description = ("2-D convolution: slides small learned filters over an image (height, width, channels) "
                   "and outputs one feature map per filter.")
    ndim = 2


@register_layer
class Conv1D(_ConvBase):
    """1-D convolution over (length, channels) sequences."""

    type_id = "Conv1D.v1"
    label = "Conv1D"
    description = ("1-D convolution: slides small learned filters along a sequence (length, channels) "
                   "and outputs one channel per filter.")
    ndim = 1


@dataclass(frozen=True)
class UpSamplingConfig:
    size: int = field(default=2, metadata={"min": 1, "max": 16,
                                           "help": "Repeat every pixel this many times along height and width"})


@register_layer
class UpSampling2D(Layer):
    """Nearest-neighbour up-sampling: (H, W, C) -> (H*size, W*size, C)."""

    type_id = "UpSampling2D.v1"
    label = "UpSampling2D"
    category = "Convolution"
    description = "Enlarges an image by repeating every pixel (nearest neighbour), e.g. 14×14 → 28×28."
    Config = UpSamplingConfig

    def output_shape(self, in_shapes):
        s = tuple(in_shapes[0])
        if len(s) != 3:
            raise ShapeError(f"expects (height, width, channels), got {fmt_shape(s)}; add Reshape before it")
        k = self.cfg.size
        return (s[0] * k, s[1] * k, s[2])

    def forward(self, params, state, xs, ctx):
        x = xs[0]
        k = self.cfg.size
        n, h, w, c = x.shape
        y = np.broadcast_to(x[:, :, None, :, None, :], (n, h, k, w, k, c)).reshape(n, h * k, w * k, c)

        def backprop(dy):
            return [dy.reshape(n, h, k, w, k, c).sum(axis=(2, 4))], {}

        return y, backprop

    def summary(self):
        return f"×{self.cfg.size}"
