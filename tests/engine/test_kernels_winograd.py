"""Winograd F(2x2, 3x3) kernels against plain NumPy references (float32 and float64), and
the Conv2D layer's Winograd path against the direct definition and the im2col path."""
import numpy as np
import pytest

import engine.layers.conv as conv
from engine.kernels import winograd as KW
from tests.engine.test_kernels_conv import naive_conv2d

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)

# (H, W, C, F, pt, pb, pl, pr): valid with odd/even outputs, same, asymmetric explicit pads
GEOMS = [(13, 13, 8, 5, 0, 0, 0, 0), (8, 8, 8, 3, 0, 0, 0, 0), (6, 7, 9, 4, 1, 1, 1, 1),
         (5, 6, 8, 2, 2, 1, 0, 1), (3, 3, 8, 2, 0, 0, 0, 0)]


def _out(g):
    h, w, c, f, pt, pb, pl, pr = g
    return h + pt + pb - 2, w + pl + pr - 2


def naive_tiles(x, pt, pl, oh, ow):
    """d (N, TH, TW, 4, 4, C): the 4x4 input tile of every 2x2 output tile (zeros outside)."""
    n, h, w, c = x.shape
    TH, TW = (oh + 1) // 2, (ow + 1) // 2
    xp = np.zeros((n, 2 * TH + 2, 2 * TW + 2, c), dtype=np.float64)
    ys, xs = slice(pt, pt + h), slice(pl, pl + w)
    xp[:, ys, xs] = x[:, :xp.shape[1] - pt, :xp.shape[2] - pl]
    d = np.empty((n, TH, TW, 4, 4, c))
    for ty in range(TH):
        for tx in range(TW):
            d[:, ty, tx] = xp[:, 2 * ty:2 * ty + 4, 2 * tx:2 * tx + 4]
    return d


def _flat(t):
    """(N, TH, TW, 4, 4, K) -> (16, P, K), the kernels' layout."""
    n, th, tw, _, _, k = t.shape
    return t.transpose(3, 4, 0, 1, 2, 5).reshape(16, n * th * tw, k)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("g", GEOMS)
def test_input_tiles_match_numpy(g, dtype):
    h, w, c, f, pt, pb, pl, pr = g
    oh, ow = _out(g)
    TH, TW = (oh + 1) // 2, (ow + 1) // 2
    x = np.random.default_rng(0).standard_normal((3, h, w, c)).astype(dtype)
    V = np.full((16, 3 * TH * TW + 5, c), np.nan, dtype=dtype)   # padded rows stay untouched
    KW.input_tiles(x, pt, pl, TH, TW, 1, 3, V)                   # images 1 and 2
    ref = _flat(np.einsum("ai,ntsijc,bj->ntsabc", BT, naive_tiles(x[1:], pt, pl, oh, ow), BT))
    P = 2 * TH * TW
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(V[:, :P], ref, rtol=tol, atol=tol)
    assert np.isnan(V[:, P:]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("g", GEOMS)
def test_output_tiles_and_their_adjoint_match_numpy(g, relu, dtype):
    h, w, c, f, pt, pb, pl, pr = g
    oh, ow = _out(g)
    TH, TW = (oh + 1) // 2, (ow + 1) // 2
    rng = np.random.default_rng(1)
    n, P = 2, 2 * TH * TW
    M = rng.standard_normal((16, P + 3, f)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    z = np.full((n, oh, ow, f), np.nan, dtype=dtype)
    KW.output_tiles(M, b, True, relu, TH, TW, 0, n, z)
    m6 = M[:, :P].reshape(4, 4, n, TH, TW, f).astype(np.float64)
    y = np.einsum("ia,abntsf,jb->ntisjf", AT, m6, AT).reshape(n, 2 * TH, 2 * TW, f)[:, :oh, :ow] + b
    if relu:
        y = np.maximum(y, 0)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(z, y, rtol=tol, atol=tol)
    # backward: ReLU mask, bias gradient, dM = A dz A^T
    dy = rng.standard_normal(z.shape).astype(dtype)
    dM = np.full((16, P + 3, f), np.nan, dtype=dtype)
    db = np.zeros(f, dtype=dtype)
    KW.grad_out_tiles(dy, z, relu, TH, TW, 0, n, dM, db)
    dz = dy.astype(np.float64) * (z > 0) if relu else dy.astype(np.float64)
    dzp = np.zeros((n, 2 * TH, 2 * TW, f))
    dzp[:, :oh, :ow] = dz
    d6 = dzp.reshape(n, TH, 2, TW, 2, f)
    ref = np.einsum("ia,ntisjf,jb->abntsf", AT, d6, AT).reshape(16, P, f)
    np.testing.assert_allclose(dM[:, :P], ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(db, dz.sum(axis=(0, 1, 2)), rtol=tol, atol=tol * 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("g", GEOMS)
def test_grad_in_tiles_is_adjoint_of_input_tiles(g, dtype):
    # <input_tiles(x), dV> == <x, grad_in_tiles(dV)> for random x, dV
    h, w, c, f, pt, pb, pl, pr = g
    oh, ow = _out(g)
    TH, TW = (oh + 1) // 2, (ow + 1) // 2
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, h, w, c)).astype(dtype)
    dV = rng.standard_normal((16, 2 * TH * TW + 1, c)).astype(dtype)
    V = np.empty_like(dV)
    KW.input_tiles(x, pt, pl, TH, TW, 0, 2, V)
    dx = np.zeros_like(x)
    KW.grad_in_tiles(dV, pt, pl, TH, TW, 0, 2, dx)
    P = 2 * TH * TW
    lhs = np.sum(V[:, :P].astype(np.float64) * dV[:, :P])
    rhs = np.sum(x.astype(np.float64) * dx)
    assert abs(lhs - rhs) <= (1e-4 if dtype == np.float32 else 1e-11) * max(1.0, abs(lhs))
    # and against the explicit B dV B^T scattered into the padded input
    dd = np.einsum("ai,abntsc,bj->ntsijc", BT, dV[:, :P].reshape(4, 4, 2, TH, TW, c).astype(np.float64), BT)
    xp = np.zeros((2, 2 * TH + 2 + h, 2 * TW + 2 + w, c))
    for ty in range(TH):
        for tx in range(TW):
            xp[:, 2 * ty:2 * ty + 4, 2 * tx:2 * tx + 4] += dd[:, ty, tx]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(dx, xp[:, pt:pt + h, pl:pl + w], rtol=tol, atol=tol)


def _layer_pair(g, dtype, activation, use_bias, train, monkeypatch, tiles=None):
    """Forward + backward of the layer's Winograd path and of its im2col path."""
    from engine.registry import Ctx, build_layer
    h, w, c, f, pt, pb, pl, pr = g
    cfg = {"filters": f, "kernel_size": 3, "activation": activation, "use_bias": use_bias}
    if (pt, pb, pl, pr) != (0, 0, 0, 0):
        cfg.update(padding="explicit", pads=[pt, pl, pb, pr])
    layer = build_layer("Conv2D.v1", cfg)
    rng = np.random.default_rng(3)
    params = {k: (v + 0.1 * rng.standard_normal(v.shape)).astype(dtype)
              for k, v in layer.init_params([(h, w, c)], rng, dtype).items()}
    x = rng.standard_normal((5, h, w, c)).astype(dtype)
    oh, ow = _out(g)
    dy = rng.standard_normal((5, oh, ow, f)).astype(dtype)
    out = []
    for min_c in (conv.WINO_MIN_C, 10 ** 9):
        monkeypatch.setattr(conv, "WINO_MIN_C", min_c)
        if tiles:
            monkeypatch.setattr(conv, "WINO_TILES", tiles)
        y, back = layer.forward(params, {}, [x], Ctx(train=train))
        (dx,), grads = back(dy)
        out.append((y, dx, grads))
    return x, params, out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation,use_bias,train", [("relu", True, True), ("linear", False, True),
                                                      ("tanh", True, False)])
@pytest.mark.parametrize("g", GEOMS)
def test_layer_winograd_matches_im2col_and_direct_definition(g, activation, use_bias, train, dtype, monkeypatch):
    h, w, c, f, pt, pb, pl, pr = g
    x, params, ((y, dx, gr), (y0, dx0, gr0)) = _layer_pair(g, dtype, activation, use_bias, train, monkeypatch,
                                                          tiles=7)  # several blocks, a partial last one
    tol = 1e-4 if dtype == np.float32 else 1e-11
    oh, ow = _out(g)
    ref = naive_conv2d(x, params["W"], 1, 1, 1, 1, pt, pl, oh, ow) + (params["b"] if use_bias else 0)
    ref = {"relu": lambda v: np.maximum(v, 0), "linear": lambda v: v, "tanh": np.tanh}[activation](ref)
    assert y.dtype == dtype and dx.dtype == dtype and gr["W"].dtype == dtype
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(y, y0, rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, dx0, rtol=tol, atol=tol)
    assert set(gr) == set(gr0)
    for k in gr:
        np.testing.assert_allclose(gr[k], gr0[k], rtol=tol, atol=tol * 10)


def test_layer_uses_winograd_only_where_it_applies():
    x = np.zeros((1, 6, 6, 8), np.float32)
    W3 = np.zeros((3, 3, 8, 4), np.float32)
    assert conv._wino_ok(x, W3, 1, 1, 1, 1)
    assert not conv._wino_ok(x, W3, 2, 2, 1, 1)                      # strided
    assert not conv._wino_ok(x, W3, 1, 1, 2, 2)                      # dilated
    assert not conv._wino_ok(x[..., :4], W3[:, :, :4], 1, 1, 1, 1)   # few channels: im2col
    assert not conv._wino_ok(x, np.zeros((5, 5, 8, 4), np.float32), 1, 1, 1, 1)
    _, cache = conv._conv2d_forward(x, W3, None, 1, 1, 1, 1, 0, 0, 4, 4)
    assert cache[0] == "winograd"


def test_winograd_is_bit_repeatable(monkeypatch):
    from engine.registry import Ctx, build_layer
    layer = build_layer("Conv2D.v1", {"filters": 16, "kernel_size": 3, "activation": "relu"})
    rng = np.random.default_rng(4)
    params = layer.init_params([(11, 11, 16)], rng, np.float32)
    x = rng.standard_normal((9, 11, 11, 16)).astype(np.float32)
    dy = rng.standard_normal((9, 9, 9, 16)).astype(np.float32)
    runs = []
    for tiles in (conv.WINO_TILES, conv.WINO_TILES, 50):
        monkeypatch.setattr(conv, "WINO_TILES", tiles)
        y, back = layer.forward(params, {}, [x], Ctx(train=True))
        (dx,), g = back(dy)
        runs.append((y, dx, g["W"], g["b"]))
    for a, b in zip(runs[0], runs[1]):
        np.testing.assert_array_equal(a, b)
    # other blocks: BLAS may round a row differently for another number of rows
    for a, b in zip(runs[0], runs[2]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_padded_rows_break_4k_strides():
    for p, row in ((2304, 128), (288, 128), (288, 256), (36, 256), (5, 72)):
        rows = conv._padded_rows(p, row)
        assert p <= rows < p + 64
        if row % 64 == 0:
            assert (rows * row) % 4096 != 0


def test_run_items_takes_every_item_once(monkeypatch):
    import threading

    from engine.kernels import threads

    for setting in ("1", "2"):
        monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", setting)
        for n in (0, 1, 2, 7):
            done, who = [], set()

            def fn(take, done=done, who=who):
                while (k := take()) is not None:
                    done.append(k)
                    who.add(threading.get_ident())

            threads.run_items(fn, n)
            assert sorted(done) == list(range(n))
            assert len(who) <= (2 if setting == "2" else 1)
