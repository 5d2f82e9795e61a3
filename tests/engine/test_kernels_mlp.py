"""engine.kernels.mlp: every Numba kernel against its NumPy reference, plus a float64 gradient check."""
import math

import numpy as np
import pytest

from engine.kernels import mlp as K

DTYPES = [np.float32, np.float64]
ACTS = sorted(K.ACT_CODES.items())


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,act", ACTS)
@pytest.mark.parametrize("bias", [True, False])
def test_bias_act_forward_matches_naive(dtype, name, act, bias):
    rng = np.random.default_rng(act)
    z = (rng.standard_normal((7, 5)) * 3).astype(dtype)
    z[0, :] = 0.0  # the kink of relu/leaky/elu
    b = rng.standard_normal(5).astype(dtype) if bias else np.zeros(0, dtype)
    want = K.naive_bias_act_forward(z, b, act)
    got = z.copy()
    K.bias_act_forward(got, b, act)
    np.testing.assert_allclose(got, want, **tol(dtype))
    assert got.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,act", ACTS)
def test_act_backward_matches_naive_and_finite_differences(dtype, name, act):
    rng = np.random.default_rng(10 + act)
    x = rng.standard_normal((6, 4)).astype(dtype) * 2
    x[np.abs(x) < 1e-3] = 0.5  # keep away from kinks for the finite differences
    y = K.naive_bias_act_forward(x, np.zeros(0, dtype), act)
    d = rng.standard_normal((6, 4)).astype(dtype)
    got = d.copy()
    K.act_backward(got, y, act)
    np.testing.assert_allclose(got, K.naive_act_backward(d, y, act), **tol(dtype))
    if dtype == np.float64:
        h = 1e-6
        e = np.zeros(0, dtype)
        num = (K.naive_bias_act_forward(x + h, e, act) - K.naive_bias_act_forward(x - h, e, act)) / (2 * h)
        np.testing.assert_allclose(got, d * num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
def test_column_sums(dtype):
    d = np.random.default_rng(0).standard_normal((9, 3)).astype(dtype)
    out = np.full(3, 99, dtype)
    K.column_sums(d, out)
    np.testing.assert_allclose(out, d.sum(axis=0), **tol(dtype))


def _loss_case(kind, dtype, rng, n=6, c=3):
    p = (rng.standard_normal((n, c)) * 4).astype(dtype)
    yi = rng.integers(0, c, n).astype(np.int64)
    if kind == K.LOSS_BCE_LOGITS:
        yf = rng.integers(0, 2, (n, c)).astype(dtype)
    else:
        yf = rng.standard_normal((n, c)).astype(dtype)
    return p, yi, yf


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", [K.LOSS_BCE_LOGITS, K.LOSS_SPARSE_CE_LOGITS, K.LOSS_MSE])
def test_loss_grad_matches_naive_and_finite_differences(dtype, kind):
    rng = np.random.default_rng(kind)
    p, yi, yf = _loss_case(kind, dtype, rng)
    g = np.empty_like(p)
    value, status = K.loss_grad(p, yi, yf, kind, g)
    want_v, want_g = K.naive_loss_grad(p, yi, yf, kind)
    assert status == K.OK
    assert value == pytest.approx(want_v, rel=1e-6 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(g, want_g, **tol(dtype))
    if dtype == np.float64:
        num = np.zeros_like(p)
        h = 1e-6
        for idx in np.ndindex(p.shape):
            q = p.copy()
            q[idx] += h
            up = K.naive_loss_grad(q, yi, yf, kind)[0]
            q[idx] -= 2 * h
            num[idx] = (up - K.naive_loss_grad(q, yi, yf, kind)[0]) / (2 * h)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kind", [K.LOSS_BCE_LOGITS, K.LOSS_SPARSE_CE_LOGITS])
def test_loss_grad_is_exact_for_extreme_logits(kind):
    p = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    yi = np.array([0, 1])
    yf = np.array([[1.0, 0.0], [0.0, 1.0]])
    g = np.empty_like(p)
    value, status = K.loss_grad(p, yi, yf, kind, g)
    assert status == K.OK and math.isfinite(value) and value == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.isfinite(g))


@pytest.mark.parametrize("kind,yi,yf", [
    (K.LOSS_SPARSE_CE_LOGITS, [0, 3], None),
    (K.LOSS_SPARSE_CE_LOGITS, [-1, 0], None),
    (K.LOSS_BCE_LOGITS, None, [[0.0, 1.5, 0.0], [0.0, 0.0, 0.0]]),
    (K.LOSS_BCE_LOGITS, None, [[0.0, -0.5, 0.0], [0.0, 0.0, 0.0]]),
    (K.LOSS_MSE, None, [[0.0, np.nan, 0.0], [0.0, 0.0, 0.0]]),
])
def test_loss_grad_rejects_bad_targets_without_writing(kind, yi, yf):
    p = np.zeros((2, 3))
    yi = np.array(yi if yi is not None else [], dtype=np.int64)
    yf = np.array(yf if yf is not None else np.zeros((0, 0)), dtype=np.float64)
    g = np.full_like(p, 7.0)
    value, status = K.loss_grad(p, yi, yf, kind, g)
    assert status == K.BAD_TARGETS and math.isnan(value)
    assert np.all(g == 7.0)
    assert K.naive_loss_grad(p, yi, yf, kind)[1] is None


def _hyp(dtype, kind, lr=0.05, t=3, momentum=0.9, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, rho=0.9):
    h = np.zeros(K.N_HYPER, dtype)
    h[K.H_LR] = lr
    h[K.H_MOMENTUM] = momentum
    h[K.H_STEP_SIZE] = lr / (1 - b1 ** t)
    h[K.H_BETA2] = b2
    h[K.H_1MB1] = 1 - b1
    h[K.H_1MB2] = 1 - b2
    h[K.H_BC2_SQRT] = math.sqrt(1 - b2 ** t)
    h[K.H_EPS] = eps if kind == K.OPT_ADAM else 1e-7
    h[K.H_DECAY] = 1 - lr * wd
    h[K.H_ALPHA] = rho
    h[K.H_1MALPHA] = 1 - rho
    return h


OPTS = [(K.OPT_SGD, {}), (K.OPT_MOMENTUM, {}), (K.OPT_NESTEROV, {}), (K.OPT_ADAM, {}),
        (K.OPT_ADAM, {"wd": 0.1}), (K.OPT_RMSPROP, {}), (K.OPT_RMSPROP, {"momentum": 0.0})]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,kw", OPTS)
@pytest.mark.parametrize("first", [True, False])
def test_apply_updates_matches_naive(dtype, kind, kw, first):
    rng = np.random.default_rng(kind)
    W = rng.standard_normal((4, 3)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    dW = rng.standard_normal((4, 3)).astype(dtype)
    db = rng.standard_normal(3).astype(dtype)
    s1W, s2W = np.abs(rng.standard_normal((2, 4, 3))).astype(dtype)
    s1b, s2b = np.abs(rng.standard_normal((2, 3))).astype(dtype)
    hyp = _hyp(dtype, kind, **kw)
    want = [K.naive_update(p, g, s1, s2, first, kind, hyp)
            for p, g, s1, s2 in ((W, dW, s1W, s2W), (b, db, s1b, s2b))]
    arrs = [a.copy() for a in (W, b, s1W, s1b, s2W, s2b)]
    firsts = np.array([first, first])
    ok = K.apply_updates((arrs[0],), (arrs[1],), (dW,), (db,), (arrs[2],), (arrs[3],), (arrs[4],), (arrs[5],),
                         firsts, kind, hyp)
    assert ok
    t = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for got, ref in zip((arrs[0], arrs[2], arrs[4]), want[0]):
        np.testing.assert_allclose(got, ref, **t)
    for got, ref in zip((arrs[1], arrs[3], arrs[5]), want[1]):
        np.testing.assert_allclose(got, ref, **t)


def test_apply_updates_matches_engine_optimizer_kernels_bitwise():
    """Same float32 arithmetic as engine.optimizers' adam_kernel/sgd_kernel."""
    from engine.optimizers import adam_kernel, sgd_kernel
    rng = np.random.default_rng(3)
    f = np.float32
    W, dW, m, v = (rng.standard_normal((5, 4)).astype(f) for _ in range(4))
    v = np.abs(v)
    hyp = _hyp(f, K.OPT_ADAM, wd=0.01)
    ref = [a.copy() for a in (W, m, v)]
    adam_kernel(ref[0].reshape(-1), dW.reshape(-1), ref[1].reshape(-1), ref[2].reshape(-1),
                hyp[K.H_STEP_SIZE], hyp[K.H_BETA2], hyp[K.H_1MB1], hyp[K.H_1MB2], hyp[K.H_BC2_SQRT],
                hyp[K.H_EPS], hyp[K.H_DECAY])
    got = [a.copy() for a in (W, m, v)]
    e = np.zeros(0, f)
    K.apply_updates((got[0],), (e,), (dW,), (e,), (got[1],), (e,), (got[2],), (e,), np.zeros(2, bool),
                    K.OPT_ADAM, hyp)
    for a, r in zip(got, ref):
        np.testing.assert_array_equal(a, r)
    hyp = _hyp(f, K.OPT_NESTEROV)
    ref, buf = W.copy(), m.copy()
    sgd_kernel(ref.reshape(-1), dW.reshape(-1), buf.reshape(-1), hyp[K.H_LR], hyp[K.H_MOMENTUM], True, False)
    got, gbuf = W.copy(), m.copy()
    K.apply_updates((got,), (e,), (dW,), (e,), (gbuf,), (e,), (got,), (e,), np.zeros(2, bool), K.OPT_NESTEROV, hyp)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(gbuf, buf)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_apply_updates_changes_nothing_when_a_gradient_is_not_finite(bad):
    W = np.ones((2, 2))
    b = np.ones(2)
    dW = np.ones((2, 2))
    db = np.array([1.0, bad])
    m = np.zeros((2, 2))
    mb = np.zeros(2)
    ok = K.apply_updates((W,), (b,), (dW,), (db,), (m,), (mb,), (m.copy(),), (mb.copy(),), np.zeros(2, bool),
                         K.OPT_ADAM, _hyp(np.float64, K.OPT_ADAM))
    assert not ok
    assert np.all(W == 1) and np.all(b == 1) and np.all(m == 0) and np.all(mb == 0)
    assert not K.grads_finite((dW,), (db,))


def test_grads_finite_accumulates_float32_squares_in_float64():
    big = np.full((3, 3), 1e30, np.float32)  # squares overflow float32, not float64
    assert K.grads_finite((big,), (np.zeros(0, np.float32),))


def _mlp(dtype, sizes, acts, bias, rng):
    Ws = tuple((rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:]))
    bs = tuple((rng.standard_normal(b) * 0.1).astype(dtype) if bias else np.zeros(0, dtype) for b in sizes[1:])
    return Ws, bs, np.array(acts, dtype=np.int64)


def _targets(kind, dtype, n, c, rng):
    yi = rng.integers(0, c, n).astype(np.int64) if kind == K.LOSS_SPARSE_CE_LOGITS else np.zeros(0, np.int64)
    if kind == K.LOSS_BCE_LOGITS:
        yf = rng.integers(0, 2, (n, c)).astype(dtype)
    elif kind == K.LOSS_MSE:
        yf = rng.standard_normal((n, c)).astype(dtype)
    else:
        yf = np.zeros((0, 0), dtype)
    return yi, yf


STEP_CASES = [
    (K.LOSS_BCE_LOGITS, [3, 5, 4, 1], [K.ACT_TANH, K.ACT_TANH, K.ACT_LINEAR], True),
    (K.LOSS_SPARSE_CE_LOGITS, [4, 6, 3], [K.ACT_RELU, K.ACT_LINEAR], True),
    (K.LOSS_SPARSE_CE_LOGITS, [4, 5, 5, 3], [K.ACT_ELU, K.ACT_LEAKY_RELU, K.ACT_LINEAR], False),
    (K.LOSS_MSE, [2, 5, 2], [K.ACT_SIGMOID, K.ACT_TANH], True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss,sizes,acts,bias", STEP_CASES)
def test_mlp_step_small_gradients_match_naive(dtype, loss, sizes, acts, bias):
    rng = np.random.default_rng(len(sizes))
    Ws, bs, acts = _mlp(dtype, sizes, acts, bias, rng)
    n = 7
    x = rng.standard_normal((n, sizes[0])).astype(dtype)
    yi, yf = _targets(loss, dtype, n, sizes[-1], rng)
    dWs = tuple(np.zeros_like(w) for w in Ws)
    dbs = tuple(np.zeros_like(b) for b in bs)
    W0 = [w.copy() for w in Ws]
    b0 = [b.copy() for b in bs]
    hyp = _hyp(dtype, K.OPT_SGD, lr=0.1)
    value, status = K.mlp_step_small(x, yi, yf, Ws, bs, acts, loss, dWs, dbs, Ws, bs, Ws, bs,
                                     np.zeros(2 * len(Ws), bool), K.OPT_SGD, hyp)
    assert status == K.OK
    want_v, want_dW, want_db = K.naive_mlp_forward_backward(x, yi, yf, W0, b0, acts, loss)
    t = tol(dtype) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-6)
    assert value == pytest.approx(want_v, rel=1e-5 if dtype == np.float32 else 1e-12)
    for got, ref in zip(dWs + dbs, want_dW + want_db):
        np.testing.assert_allclose(got, ref, **t)
    for w, w0, g in zip(Ws + bs, W0 + b0, dWs + dbs):
        np.testing.assert_allclose(w, w0 - hyp[K.H_LR] * g, **t)


@pytest.mark.parametrize("loss,sizes,acts,bias", STEP_CASES)
def test_mlp_step_small_finite_difference_float64(loss, sizes, acts, bias):
    rng = np.random.default_rng(7)
    Ws, bs, acts = _mlp(np.float64, sizes, acts, bias, rng)
    n = 5
    x = rng.standard_normal((n, sizes[0]))
    yi, yf = _targets(loss, np.float64, n, sizes[-1], rng)
    dWs = tuple(np.zeros_like(w) for w in Ws)
    dbs = tuple(np.zeros_like(b) for b in bs)
    Wc, bc = tuple(w.copy() for w in Ws), tuple(b.copy() for b in bs)
    hyp = _hyp(np.float64, K.OPT_SGD, lr=0.0)  # lr 0: gradients only, nothing moves
    K.mlp_step_small(x, yi, yf, Wc, bc, acts, loss, dWs, dbs, Wc, bc, Wc, bc, np.zeros(2 * len(Ws), bool),
                     K.OPT_SGD, hyp)

    def f(Ws_, bs_):
        outs = x
        for w, b, a in zip(Ws_, bs_, acts):
            outs = K.naive_bias_act_forward(outs @ w, b, a)
        return K.naive_loss_grad(outs, yi, yf, loss)[0]

    h = 1e-6
    for li in range(len(Ws)):
        for arr, grad in ((Ws[li], dWs[li]), (bs[li], dbs[li])):
            for idx in np.ndindex(arr.shape):
                old = arr[idx]
                arr[idx] = old + h
                up = f(Ws, bs)
                arr[idx] = old - h
                down = f(Ws, bs)
                arr[idx] = old
                assert grad[idx] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8)


def test_mlp_step_small_bad_targets_and_nonfinite_leave_parameters_alone():
    rng = np.random.default_rng(0)
    Ws, bs, acts = _mlp(np.float64, [2, 3, 2], [K.ACT_RELU, K.ACT_LINEAR], True, rng)
    before = [a.copy() for a in Ws + bs]
    x = rng.standard_normal((4, 2))
    dWs = tuple(np.zeros_like(w) for w in Ws)
    dbs = tuple(np.zeros_like(b) for b in bs)
    hyp = _hyp(np.float64, K.OPT_SGD)
    args = (acts, K.LOSS_SPARSE_CE_LOGITS, dWs, dbs, Ws, bs, Ws, bs, np.zeros(4, bool), K.OPT_SGD, hyp)
    _, status = K.mlp_step_small(x, np.array([0, 1, 2, 0]), np.zeros((0, 0)), Ws, bs, *args)
    assert status == K.BAD_TARGETS
    x[0, 0] = np.nan
    value, status = K.mlp_step_small(x, np.array([0, 1, 1, 0]), np.zeros((0, 0)), Ws, bs, *args)
    assert status == K.NONFINITE and math.isnan(value)
    assert all(np.array_equal(a, b) for a, b in zip(Ws + bs, before))
