"""Numba pooling kernels against plain NumPy references (float32 and float64)."""
import numpy as np
import pytest

from engine.kernels.pool import avgpool2d_bwd, avgpool2d_fwd, maxpool2d_bwd, maxpool2d_fwd
from engine.layers.conv import axis_geometry, out_size


def _windows(h, w, ph, pw, sh, sw, pt, pl, oh, ow, dh=1, dw=1, count=None):
    """(i, j, real rows, real cols, divisor) of every window; ``count`` = (lo_h, hi_h, lo_w, hi_w)
    bounds the positions the divisor counts (default: the real ones)."""
    lo_h, hi_h, lo_w, hi_w = count or (0, h, 0, w)
    for i in range(oh):
        for j in range(ow):
            yt = [i * sh - pt + t * dh for t in range(ph)]
            xt = [j * sw - pl + t * dw for t in range(pw)]
            ys = [y for y in yt if 0 <= y < h]
            xs = [x for x in xt if 0 <= x < w]
            div = sum(lo_h <= y < hi_h for y in yt) * sum(lo_w <= x < hi_w for x in xt)
            yield i, j, ys, xs, div


def naive_maxpool2d(x, ph, pw, sh, sw, pt, pl, oh, ow, dh=1, dw=1):
    n, h, w, c = x.shape
    out = np.empty((n, oh, ow, c), dtype=x.dtype)
    for i, j, ys, xs, _ in _windows(h, w, ph, pw, sh, sw, pt, pl, oh, ow, dh, dw):
        out[:, i, j, :] = x[:, ys][:, :, xs].max(axis=(1, 2))
    return out


def naive_maxpool2d_bwd(x, dy, ph, pw, sh, sw, pt, pl, oh, ow, dh=1, dw=1):
    n, h, w, c = x.shape
    dx = np.zeros_like(x)
    for i, j, ys, xs, _ in _windows(h, w, ph, pw, sh, sw, pt, pl, oh, ow, dh, dw):
        for b in range(n):
            for ch in range(c):
                win = x[b, ys][:, xs, ch]
                a, bb = np.unravel_index(np.argmax(win), win.shape)
                dx[b, ys[a], xs[bb], ch] += dy[b, i, j, ch]
    return dx


def naive_avgpool2d(x, ph, pw, sh, sw, pt, pl, oh, ow, dh=1, dw=1, count=None):
    n, h, w, c = x.shape
    out = np.empty((n, oh, ow, c), dtype=x.dtype)
    for i, j, ys, xs, div in _windows(h, w, ph, pw, sh, sw, pt, pl, oh, ow, dh, dw, count):
        out[:, i, j, :] = x[:, ys][:, :, xs].sum(axis=(1, 2)) / div
    return out


def naive_avgpool2d_bwd(shape, dy, ph, pw, sh, sw, pt, pl, oh, ow, dh=1, dw=1, count=None):
    n, h, w, c = shape
    dx = np.zeros(shape, dtype=dy.dtype)
    for i, j, ys, xs, div in _windows(h, w, ph, pw, sh, sw, pt, pl, oh, ow, dh, dw, count):
        for y in ys:
            for x in xs:
                dx[:, y, x, :] += dy[:, i, j, :] / div
    return dx


GEOMS = [
    # (H, W, C, pool, stride, padding, dilation, pads (before, after) for explicit, ceil_mode)
    (4, 4, 2, 2, 2, "valid", 1, None, False),
    (5, 7, 3, 2, 2, "valid", 1, None, False),
    (5, 4, 2, 3, 2, "same", 1, None, False),
    (6, 6, 1, 3, 1, "same", 1, None, False),
    (7, 5, 2, 2, 3, "same", 1, None, False),
    (1, 9, 2, 1, 1, "valid", 1, None, False),
    (5, 7, 2, 3, 2, "valid", 1, None, True),            # ceil_mode: a last partial window
    (6, 5, 2, 3, 2, "explicit", 1, (1, 1), True),
    (5, 6, 1, 2, 2, "explicit", 1, (0, 1), False),      # asymmetric (ONNX pads)
    (7, 7, 2, 2, 1, "valid", 2, None, False),           # dilation
    (8, 6, 1, 3, 2, "explicit", 2, (2, 1), True),       # dilation, padding and ceil_mode together
]


def _geom(h, w, p, s, padding, d=1, pads=None, ceil=False):
    oh, pt, pb = axis_geometry(h, p, s, d, padding, pads or (0, 0), ceil)
    ow, pl, pr = axis_geometry(w, p, s, d, padding, pads or (0, 0), ceil)
    return oh, pt, pb, ow, pl, pr


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("g", GEOMS)
def test_maxpool_matches_naive(g, dtype):
    h, w, c, p, s, padding, d, pads, ceil = g
    oh, pt, _, ow, pl, _ = _geom(h, w, p, s, padding, d, pads, ceil)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, h, w, c)).astype(dtype)
    out = np.empty((2, oh, ow, c), dtype=dtype)
    idx = np.empty((2, oh, ow, c), dtype=np.int64)
    maxpool2d_fwd(x, p, p, s, s, d, d, pt, pl, out, idx)
    np.testing.assert_array_equal(out, naive_maxpool2d(x, p, p, s, s, pt, pl, oh, ow, d, d))
    dy = rng.standard_normal(out.shape).astype(dtype)
    dx = np.zeros(x.size, dtype=dtype)
    maxpool2d_bwd(dy, idx, dx)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(dx.reshape(x.shape), naive_maxpool2d_bwd(x, dy, p, p, s, s, pt, pl, oh, ow, d, d),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("include_pad", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("g", GEOMS)
def test_avgpool_matches_naive(g, dtype, include_pad):
    h, w, c, p, s, padding, d, pads, ceil = g
    oh, pt, pb, ow, pl, pr = _geom(h, w, p, s, padding, d, pads, ceil)
    count = (-pt, h + pb, -pl, w + pr) if include_pad else (0, h, 0, w)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, h, w, c)).astype(dtype)
    out = np.empty((2, oh, ow, c), dtype=dtype)
    avgpool2d_fwd(x, p, p, s, s, d, d, pt, pl, *count, out)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(out, naive_avgpool2d(x, p, p, s, s, pt, pl, oh, ow, d, d, count),
                               rtol=tol, atol=tol)
    dy = rng.standard_normal(out.shape).astype(dtype)
    dx = np.zeros(x.shape, dtype=dtype)
    avgpool2d_bwd(dy, p, p, s, s, d, d, pt, pl, *count, dx)
    np.testing.assert_allclose(dx, naive_avgpool2d_bwd(x.shape, dy, p, p, s, s, pt, pl, oh, ow, d, d, count),
                               rtol=tol, atol=tol)


def test_axis_geometry_ceil_mode_rule():
    # PyTorch: out = ceil((n + 2p - eff) / s) + 1, minus one if the last window starts in the end padding
    assert axis_geometry(5, 2, 2, 1, "valid", (0, 0), True) == (3, 0, 0)
    assert axis_geometry(5, 2, 2, 1, "valid", (0, 0), False) == (2, 0, 0)
    assert axis_geometry(4, 2, 2, 1, "explicit", (1, 1), True) == (3, 1, 1)   # torch gives 3 as well
    assert axis_geometry(6, 3, 2, 1, "explicit", (1, 1), True) == (4, 1, 1)
    assert axis_geometry(2, 3, 1, 1, "explicit", (0, 0), False)[0] == 0
    assert axis_geometry(28, 3, 1, 1, "same", (5, 5), True) == (28, 1, 1)      # pads ignored for 'same'


def test_avgpool_same_padding_excludes_padded_positions():
    from engine.registry import Ctx, build_layer
    layer = build_layer("AvgPool2D.v1", {"pool_size": 2, "padding": "same"})
    x = np.ones((1, 3, 3, 1), dtype=np.float32)
    y, _ = layer.forward({}, {}, [x], Ctx())
    # the bottom/right windows are partly padding; averaging valid positions only keeps 1.0
    np.testing.assert_array_equal(y, np.ones((1, 2, 2, 1), dtype=np.float32))


def test_maxpool_ties_route_gradient_to_one_position():
    from engine.registry import Ctx, build_layer
    layer = build_layer("MaxPool2D.v1", {})
    x = np.zeros((1, 2, 2, 1), dtype=np.float64)
    y, back = layer.forward({}, {}, [x], Ctx())
    (dx,), _ = back(np.ones_like(y))
    assert dx.sum() == 1.0 and dx[0, 0, 0, 0] == 1.0


TILED = [
    # (H, W, C, ph, pw): stride == pool, no padding; odd sizes leave rows/cols uncovered
    (4, 4, 2, 2, 2),
    (5, 7, 3, 2, 2),
    (7, 6, 1, 3, 3),
    (1, 9, 2, 1, 3),     # the 1-D layers use ph = 1
    (6, 6, 2, 3, 2),
    (6, 8, 5, 2, 2),     # the 2x2 special case with more channels
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("g", TILED)
def test_tiled_maxpool_matches_naive(g, dtype):
    from engine.kernels.pool import maxpool2d_bwd_tiled, maxpool2d_fwd_tiled
    h, w, c, ph, pw = g
    oh, ow = h // ph, w // pw
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, h, w, c)).astype(dtype)
    x[0, 0, 0, 0] = x[0, 0, 1 % w, 0]   # a tie: the first position wins
    out = np.empty((2, oh, ow, c), dtype)
    arg = np.empty((2, oh, ow, c), np.uint8)
    maxpool2d_fwd_tiled(x, ph, pw, out, arg)
    np.testing.assert_array_equal(out, naive_maxpool2d(x, ph, pw, ph, pw, 0, 0, oh, ow))
    assert arg.max() < ph * pw
    dy = rng.standard_normal(out.shape).astype(dtype)
    dx = np.full(x.shape, np.nan, dtype)   # every element must be written
    maxpool2d_bwd_tiled(dy, arg, ph, pw, dx)
    np.testing.assert_array_equal(dx, naive_maxpool2d_bwd(x, dy, ph, pw, ph, pw, 0, 0, oh, ow))


def test_tiled_maxpool_nan_semantics_match_general_kernel():
    """A NaN in a window's first position stays; a later NaN never wins (both kernels)."""
    from engine.kernels.pool import maxpool2d_fwd_tiled
    first = np.array([[[[np.nan], [1.0]], [[2.0], [0.0]]]])      # (1, 2, 2, 1)
    later = np.array([[[[1.0], [np.nan]], [[2.0], [0.0]]]])
    for xx, want_pos in ((first, 0), (later, 2)):
        out_t, arg = np.empty((1, 1, 1, 1)), np.empty((1, 1, 1, 1), np.uint8)
        out_g, idx = np.empty((1, 1, 1, 1)), np.empty((1, 1, 1, 1), np.int64)
        maxpool2d_fwd_tiled(xx, 2, 2, out_t, arg)
        maxpool2d_fwd(xx, 2, 2, 2, 2, 1, 1, 0, 0, out_g, idx)
        np.testing.assert_array_equal(out_t, out_g)
        assert arg.ravel()[0] == idx.ravel()[0] == want_pos   # flat index == window position here


@pytest.mark.parametrize("cfg,shape", [({}, (5, 7, 3)), ({"pool_size": 3}, (7, 6, 2)),
                                       ({"pool_size": 2, "padding": "same"}, (5, 4, 2))])
def test_maxpool_layer_tiled_and_general_paths_agree(cfg, shape):
    """The layer's tiled path (stride == pool, no padding, windows inside) against the general kernels."""
    from engine.registry import Ctx, build_layer
    layer = build_layer("MaxPool2D.v1", cfg)
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, *shape))
    y, back = layer.forward({}, {}, [x], Ctx(train=True))
    p = layer.cfg.pool_size
    (oh, pt), (ow, pl) = out_size(shape[0], p, p, 1, layer.cfg.padding), out_size(shape[1], p, p, 1, layer.cfg.padding)
    np.testing.assert_array_equal(y, naive_maxpool2d(x, p, p, p, p, pt, pl, oh, ow))
    dy = rng.standard_normal(y.shape)
    (dx,), _ = back(dy)
    np.testing.assert_array_equal(dx, naive_maxpool2d_bwd(x, dy, p, p, p, p, pt, pl, oh, ow))
