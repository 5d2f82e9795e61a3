"""Numba conv kernels against plain NumPy references (float32 and float64)."""
import numpy as np
import pytest

from engine.kernels.conv import col2im2d, im2col2d
from engine.layers.conv import out_size


def naive_im2col2d(x, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow):
    n, h, w, c = x.shape
    # pad generously, then slice windows
    pb = max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - h - pt)
    pr = max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - w - pl)
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    rows = []
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                patch = xp[b, i * sh:i * sh + (kh - 1) * dh + 1:dh, j * sw:j * sw + (kw - 1) * dw + 1:dw, :]
                rows.append(patch.reshape(-1))
    return np.array(rows, dtype=x.dtype).reshape(n * oh * ow, kh * kw * c)


def naive_col2im2d(cols, shape, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow):
    """Adjoint via the transpose of the im2col linear map, built column by column."""
    n, h, w, c = shape
    dx = np.zeros(shape, dtype=cols.dtype)
    flat = dx.reshape(-1)
    for p in range(flat.size):
        e = np.zeros(shape, dtype=cols.dtype)
        e.reshape(-1)[p] = 1
        flat[p] = np.sum(naive_im2col2d(e, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow) * cols)
    return dx


def naive_conv2d(x, W, sh, sw, dh, dw, pt, pl, oh, ow):
    """Direct definition: y[b,i,j,f] = sum x[b, i*sh-pt+ki*dh, j*sw-pl+kj*dw, c] W[ki,kj,c,f]."""
    n, h, w, c = x.shape
    kh, kw, _, f = W.shape
    y = np.zeros((n, oh, ow, f), dtype=np.float64)
    for i in range(oh):
        for j in range(ow):
            for ki in range(kh):
                for kj in range(kw):
                    yy, xx = i * sh - pt + ki * dh, j * sw - pl + kj * dw
                    if 0 <= yy < h and 0 <= xx < w:
                        y[:, i, j, :] += x[:, yy, xx, :].astype(np.float64) @ W[ki, kj].astype(np.float64)
    return y


GEOMS = [
    # (H, W, C, kh, kw, stride, dilation, padding)
    (5, 6, 2, 3, 3, 1, 1, "valid"),
    (5, 6, 3, 3, 3, 1, 1, "same"),
    (7, 5, 1, 3, 2, 2, 1, "same"),
    (8, 8, 2, 2, 2, 3, 2, "valid"),
    (6, 7, 2, 3, 3, 2, 2, "same"),
    (1, 9, 2, 1, 4, 1, 1, "same"),
]


def _geom(h, w, kh, kw, s, d, padding):
    oh, pt = out_size(h, kh, s, d, padding)
    ow, pl = out_size(w, kw, s, d, padding)
    return oh, pt, ow, pl


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("g", GEOMS)
def test_im2col_matches_naive(g, dtype):
    h, w, c, kh, kw, s, d, padding = g
    oh, pt, ow, pl = _geom(h, w, kh, kw, s, d, padding)
    x = np.random.default_rng(0).standard_normal((2, h, w, c)).astype(dtype)
    cols = np.empty((2 * oh * ow, kh * kw * c), dtype=dtype)
    cols.fill(np.nan)  # every entry must be written
    im2col2d(x, kh, kw, s, s, d, d, pt, pl, oh, ow, cols)
    np.testing.assert_array_equal(cols, naive_im2col2d(x, kh, kw, s, s, d, d, pt, pl, oh, ow))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("g", GEOMS[:4])
def test_col2im_is_adjoint_of_im2col(g, dtype):
    h, w, c, kh, kw, s, d, padding = g
    oh, pt, ow, pl = _geom(h, w, kh, kw, s, d, padding)
    rng = np.random.default_rng(1)
    cols = rng.standard_normal((1 * oh * ow, kh * kw * c)).astype(dtype)
    dx = np.zeros((1, h, w, c), dtype=dtype)
    col2im2d(cols, kh, kw, s, s, d, d, pt, pl, oh, ow, dx)
    ref = naive_col2im2d(cols, (1, h, w, c), kh, kw, s, s, d, d, pt, pl, oh, ow)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(dx, ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("g", [g for g in GEOMS if g[3] == g[4]])  # the layer has square kernels
def test_conv2d_layer_matches_direct_definition(g, dtype):
    from engine.registry import Ctx, build_layer
    h, w, c, kh, kw, s, d, padding = g
    layer = build_layer("Conv2D.v1", {"filters": 3, "kernel_size": kh, "strides": s, "dilation": d,
                                      "padding": padding})
    rng = np.random.default_rng(2)
    params = layer.init_params([(h, w, c)], rng, dtype)
    params["b"] = rng.standard_normal(3).astype(dtype)
    x = rng.standard_normal((2, h, w, c)).astype(dtype)
    y, _ = layer.forward(params, {}, [x], Ctx())
    oh, pt, ow, pl = _geom(h, w, kh, kw, s, d, padding)
    ref = naive_conv2d(x, params["W"], s, s, d, d, pt, pl, oh, ow) + params["b"]
    assert y.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)


def test_same_padding_follows_tensorflow():
    # TF: out = ceil(in / stride); pad_total = max((out-1)*s + k - in, 0); pad_before = total // 2
    assert out_size(28, 3, 1, 1, "same") == (28, 1)
    assert out_size(5, 3, 2, 1, "same") == (3, 1)
    assert out_size(6, 3, 2, 1, "same") == (3, 0)    # total 1 -> 0 before, 1 after
    assert out_size(7, 4, 2, 1, "same") == (4, 1)    # total 3 -> 1 before, 2 after
    assert out_size(28, 3, 1, 1, "valid") == (26, 0)
    assert out_size(2, 3, 1, 1, "valid") == (0, 0)


def test_chunked_path_matches_cached_path(monkeypatch):
    import engine.layers.conv as conv
    from engine.registry import Ctx, build_layer
    layer = build_layer("Conv2D.v1", {"filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"})
    rng = np.random.default_rng(3)
    params = layer.init_params([(6, 6, 2)], rng, np.float64)
    x = rng.standard_normal((5, 6, 6, 2))
    dy = rng.standard_normal((5, 6, 6, 4))
    y1, b1 = layer.forward(params, {}, [x], Ctx())
    (dx1,), g1 = b1(dy)
    monkeypatch.setattr(conv, "MAX_COLS_BYTES", 6 * 6 * 18 * 8 * 2)  # two samples per chunk
    y2, b2 = layer.forward(params, {}, [x], Ctx())
    (dx2,), g2 = b2(dy)
    np.testing.assert_allclose(y1, y2, rtol=1e-12)
    np.testing.assert_allclose(dx1, dx2, rtol=1e-12)
    np.testing.assert_allclose(g1["W"], g2["W"], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("g", GEOMS)
def test_layer_im2col_dispatch_matches_naive(g, dtype):
    # the layer uses a NumPy strided copy when no window leaves the input, the kernel otherwise
    from engine.layers.conv import _im2col
    h, w, c, kh, kw, s, d, padding = g
    oh, pt, ow, pl = _geom(h, w, kh, kw, s, d, padding)
    x = np.random.default_rng(5).standard_normal((3, h, w, c)).astype(dtype)
    cols = np.full((3 * oh * ow, kh * kw * c), np.nan, dtype=dtype)
    _im2col(x, kh, kw, s, s, d, d, pt, pl, oh, ow, cols)
    np.testing.assert_array_equal(cols, naive_im2col2d(x, kh, kw, s, s, d, d, pt, pl, oh, ow))


def test_malloc_tuning_applies_once_and_can_be_disabled():
    import os
    import subprocess
    import sys
    code = "from engine.kernels.alloc import tune_malloc; print(tune_malloc(), tune_malloc())"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {k: v for k, v in os.environ.items() if k != "NNSTUDIO_NO_MALLOC_TUNING"}
    on = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)
    off = subprocess.run([sys.executable, "-c", code], cwd=root, env={**env, "NNSTUDIO_NO_MALLOC_TUNING": "1"},
                         capture_output=True, text=True)
    assert off.stdout.split() == ["False", "False"], off.stderr
    if sys.platform.startswith("linux") and "glibc" in " ".join(__import__("platform").libc_ver()):
        assert on.stdout.split() == ["True", "True"], on.stderr


# extra geometries where windows leave the input on one side only / taps miss the input
GEOMS_T = GEOMS + [
    (4, 4, 1, 3, 3, 3, 1, "same"),
    (3, 9, 2, 3, 3, 1, 2, "same"),
    (6, 6, 1, 5, 5, 1, 1, "same"),
    (1, 5, 1, 3, 3, 1, 1, "same"),    # the top and bottom taps never touch the input
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("g", GEOMS_T)
@pytest.mark.parametrize("max_c", [0, 16])
def test_columns_both_layouts_match_naive(g, dtype, max_c, monkeypatch):
    """_columns builds (M, K) directly (C > TRANSPOSED_MAX_C) or as the transpose of (K, M)."""
    import engine.layers.conv as conv
    monkeypatch.setattr(conv, "TRANSPOSED_MAX_C", max_c)
    h, w, c, kh, kw, s, d, padding = g
    oh, pt, ow, pl = _geom(h, w, kh, kw, s, d, padding)
    x = np.random.default_rng(6).standard_normal((3, h, w, c)).astype(dtype)
    cols = conv._columns(x, kh, kw, s, s, d, d, pt, pl, oh, ow)
    assert cols.flags.f_contiguous if c <= max_c else cols.flags.c_contiguous
    np.testing.assert_array_equal(cols, naive_im2col2d(x, kh, kw, s, s, d, d, pt, pl, oh, ow))


def naive_bias_act(z, b, relu):
    z = z + b
    return np.maximum(z, 0) if relu else z


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("relu", [False, True])
def test_fused_bias_act_and_relu_bwd_bias_match_naive(dtype, relu):
    from engine.kernels.conv import bias_act_, relu_bwd_bias
    rng = np.random.default_rng(7)
    z = rng.standard_normal((2500, 5)).astype(dtype)   # > 1024 rows: block sums
    z[0, 0] = np.nan
    b = rng.standard_normal(5).astype(dtype)
    ref = naive_bias_act(z, b, relu)
    out = z.copy()
    bias_act_(out, b, True, relu)
    np.testing.assert_allclose(out, ref, rtol=TOLS[dtype], atol=TOLS[dtype])
    assert np.isnan(out[0, 0])  # a NaN is never hidden by the ReLU
    out2 = z.copy()
    bias_act_(out2, b, False, relu)
    np.testing.assert_allclose(out2, np.maximum(z, 0) if relu else z, rtol=0, atol=0)
    dy = rng.standard_normal(z.shape).astype(dtype)
    dz, db = np.empty_like(dy), np.empty(5, dtype)
    relu_bwd_bias(dy, out, relu, dz, db)
    ref_dz = dy * (out > 0) if relu else dy
    np.testing.assert_allclose(dz, ref_dz, rtol=0, atol=0)
    np.testing.assert_allclose(db, ref_dz.sum(axis=0), rtol=TOLS[dtype] * 10, atol=TOLS[dtype] * 10)


TOLS = {np.float32: 1e-5, np.float64: 1e-12}


@pytest.mark.parametrize("max_c", [0, 16])
@pytest.mark.parametrize("activation", ["relu", "linear", "tanh"])
@pytest.mark.parametrize("g", [g for g in GEOMS_T if g[3] == g[4]])
def test_conv2d_layer_backward_matches_reference(g, activation, max_c, monkeypatch):
    """Forward and backward of both column layouts and the fused ReLU/bias passes against
    the direct definition (gradients: the transpose of the linear map, via naive col2im)."""
    import engine.layers.conv as conv
    from engine.registry import Ctx, build_layer
    monkeypatch.setattr(conv, "TRANSPOSED_MAX_C", max_c)
    h, w, c, k, _, s, d, padding = g
    layer = build_layer("Conv2D.v1", {"filters": 3, "kernel_size": k, "strides": s, "dilation": d,
                                      "padding": padding, "activation": activation})
    rng = np.random.default_rng(8)
    params = layer.init_params([(h, w, c)], rng, np.float64)
    params["b"] = rng.standard_normal(3)
    x = rng.standard_normal((2, h, w, c))
    y, back = layer.forward(params, {}, [x], Ctx(train=True))
    oh, pt, ow, pl = _geom(h, w, k, k, s, d, padding)
    z = naive_conv2d(x, params["W"], s, s, d, d, pt, pl, oh, ow) + params["b"]
    ref = {"relu": np.maximum(z, 0), "linear": z, "tanh": np.tanh(z)}[activation]
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    (dx,), grads = back(dy)
    dz = {"relu": dy * (z > 0), "linear": dy, "tanh": dy * (1 - np.tanh(z) ** 2)}[activation]
    cols = naive_im2col2d(x, k, k, s, s, d, d, pt, pl, oh, ow)
    dz2 = dz.reshape(-1, 3)
    np.testing.assert_allclose(grads["W"].reshape(-1, 3), cols.T @ dz2, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grads["b"], dz2.sum(axis=0), rtol=1e-10, atol=1e-10)
    ref_dx = naive_col2im2d(dz2 @ params["W"].reshape(-1, 3).T, x.shape, k, k, s, s, d, d, pt, pl, oh, ow)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("rows", [1, 7, 10 ** 9])
def test_backward_blocks_give_the_same_gradients(rows, monkeypatch):
    """Backward in blocks of whole images (BWD_CHUNK_ROWS) equals the one-block result."""
    import engine.layers.conv as conv
    from engine.registry import Ctx, build_layer
    layer = build_layer("Conv2D.v1", {"filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"})
    rng = np.random.default_rng(9)
    params = layer.init_params([(4, 5, 6)], rng, np.float64)
    params["b"] = rng.standard_normal(3)
    x = rng.standard_normal((5, 4, 5, 6))
    dy = rng.standard_normal((5, 4, 5, 3))
    monkeypatch.setattr(conv, "BWD_CHUNK_ROWS", 10 ** 9)
    _, back = layer.forward(params, {}, [x], Ctx(train=True))
    (dx1,), g1 = back(dy)
    monkeypatch.setattr(conv, "BWD_CHUNK_ROWS", rows)
    _, back = layer.forward(params, {}, [x], Ctx(train=True))
    (dx2,), g2 = back(dy)
    np.testing.assert_allclose(dx2, dx1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g2["W"], g1["W"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g2["b"], g1["b"], rtol=1e-12, atol=1e-12)


def test_conv_pool_lstm_from_two_threads_match_sequential():
    """The kernels are plain nogil functions (no parallel=True, no threading layer):
    running layers from two worker threads at once gives the sequential results."""
    import threading

    from engine.registry import Ctx, build_layer
    rng = np.random.default_rng(10)
    conv = build_layer("Conv2D.v1", {"filters": 4, "kernel_size": 3, "activation": "relu"})
    pool = build_layer("MaxPool2D.v1", {})
    lstm = build_layer("LSTM.v1", {"units": 5})
    pc = conv.init_params([(8, 8, 2)], rng, np.float32)
    pl = lstm.init_params([(6, 3)], rng, np.float32)
    xs = [rng.standard_normal((4, 8, 8, 2)).astype(np.float32) for _ in range(2)]
    ss = [rng.standard_normal((4, 6, 3)).astype(np.float32) for _ in range(2)]

    def run(i):
        y, bc = conv.forward(pc, {}, [xs[i]], Ctx(train=True))
        p, bp = pool.forward({}, {}, [y], Ctx(train=True))
        (dy,), _ = bp(np.ones_like(p))
        (dx,), g = bc(dy)
        h, bl = lstm.forward(pl, {}, [ss[i]], Ctx(train=True))
        (ds,), gl = bl(np.ones_like(h))
        return p, dx, g["W"], h, ds, gl["W_hh"]

    want = [run(0), run(1)]
    got = [None, None]
    for _ in range(5):
        threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, run(i))) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in range(2):
            for a, b in zip(got[i], want[i]):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("type_id,shape,tiles", [("Conv2D.v1", (7, 6, 2), None), ("Conv1D.v1", (9, 3), None),
                                                ("Conv2D.v1", (9, 9, 8), 50)])
def test_two_threads_give_the_bits_of_one(type_id, shape, tiles, monkeypatch):
    """im2col: the two halves of the batch on two threads (BLAS on one each); Winograd
    (C >= 8, 25 tiles per image: 6 blocks, the last one partial): the blocks shared by two
    threads.  Either way the bits equal those of one thread."""
    import engine.layers.conv as conv
    from engine.registry import Ctx, build_layer
    layer = build_layer(type_id, {"filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"})
    if tiles:
        monkeypatch.setattr(conv, "WINO_TILES", tiles)
    rng = np.random.default_rng(11)
    params = {k: (v + 0.1 * rng.standard_normal(v.shape)).astype(np.float32)
              for k, v in layer.init_params([shape], rng, np.float32).items()}
    x = rng.standard_normal((11, *shape)).astype(np.float32)
    dy = rng.standard_normal((11, *shape[:-1], 4)).astype(np.float32)
    runs = []
    for threads in ("1", "2"):
        monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", threads)
        for train in (True, False):
            y, back = layer.forward(params, {}, [x], Ctx(train=train))
            (dx,), g = back(dy)
            runs.append((y, dx, g["W"], g["b"]))
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)


def test_blas_one_thread_blocks_from_two_threads_wait_and_restore_the_setting():
    import threading

    from threadpoolctl import threadpool_info

    from engine.kernels.threads import blas_one_thread

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    seen = []

    def other():
        with blas_one_thread():
            seen.append(blas_threads())

    t = threading.Thread(target=other)
    with blas_one_thread():
        with blas_one_thread():                      # nested on one thread
            assert all(n == 1 for n in blas_threads())
        assert all(n == 1 for n in blas_threads())
        t.start()
        t.join(0.2)
        assert not seen                              # the other thread waits for this block
    t.join(10)
    assert seen                                      # (OpenBLAS reports its count oddly on other threads)
    assert blas_threads() == before


def test_a_run_with_convolutions_gives_blas_one_thread(monkeypatch):
    """blas_for_run: one BLAS thread for a run whose convolutions split their own work (measured in its
    docstring), nothing changed for other models, when the user fixed BLAS's threads, or on one core."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from engine.kernels import threads

    def blas():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    for v in threads.BLAS_VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", "2")
    with threadpool_limits(limits=2, user_api="blas"):
        with threads.blas_for_run(True):
            assert set(blas()) == {1}
        assert set(blas()) == {2}
        with threads.blas_for_run(False):
            assert set(blas()) == {2}
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
        with threads.blas_for_run(True):
            assert set(blas()) == {2}
        monkeypatch.delenv("OPENBLAS_NUM_THREADS")
        monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", "1")
        with threads.blas_for_run(True):
            assert set(blas()) == {2}


def test_the_trainer_asks_for_it_only_with_layers_that_split_work(monkeypatch):
    """Convolutions and recurrent layers split their own work over two threads; Dense does not."""
    from engine.kernels import threads
    from engine.spec import sequential
    from engine.trainer import TrainConfig, Trainer
    from tests.engine.fakes import ArrayDataset

    asked = []
    real = threads.blas_for_run
    monkeypatch.setattr(threads, "blas_for_run", lambda split: (asked.append(split), real(split))[1])
    rng = np.random.default_rng(0)
    cnn = sequential([("Input.v1", {"shape": [6, 6, 1]}), ("Conv2D.v1", {"filters": 2, "kernel_size": 3}),
                      ("Flatten.v1", {}), ("Dense.v1", {"units": 2, "activation": "softmax"})])
    mlp = sequential([("Input.v1", {"shape": [36]}), ("Dense.v1", {"units": 2, "activation": "softmax"})])
    rnn = sequential([("Input.v1", {"shape": [6, 3]}), ("LSTM.v1", {"units": 4}),
                      ("Dense.v1", {"units": 2, "activation": "softmax"})])
    for graph, x in ((cnn, rng.random((16, 6, 6, 1), dtype=np.float32)), (mlp, rng.random((16, 36), dtype=np.float32)),
                     (rnn, rng.random((16, 6, 3), dtype=np.float32))):
        for _ in Trainer(graph, ArrayDataset(x, np.arange(16) % 2), TrainConfig(epochs=1, batch_size=8)).run():
            pass
    assert asked == [True, False, True]
