"""Losses: finite-difference gradients, plain formulas, extreme logits, bad targets."""
from __future__ import annotations

import numpy as np
import pytest

from engine.losses import LOSS_NAMES, Loss, LossError, default_loss_for, get_loss, wants_logits

RNG = np.random.default_rng(1234)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _case(name: str, from_logits: bool, rng=RNG):
    """(pred, target) in float64 away from kinks and clip boundaries."""
    n, c = 5, 4
    if name in ("mse", "mae", "huber"):
        pred = rng.normal(size=(n, 3))
        target = pred + rng.choice([-1, 1], size=(n, 3)) * rng.uniform(0.1, 2.5, size=(n, 3))
        return pred, target
    if name == "bce":
        x = rng.normal(size=(n, 3)) * 2
        t = (rng.random((n, 3)) < 0.5).astype(np.float64)
        return (x if from_logits else _sigmoid(x)), t
    x = rng.normal(size=(n, c)) * 2
    y = rng.integers(0, c, size=n)
    pred = x if from_logits else _softmax(x)
    if name == "cce":
        t = np.eye(c)[y]
        t[0] = [0.1, 0.2, 0.3, 0.4]  # a soft-label row
        return pred, t
    return pred, y


CASES = [(n, False) for n in LOSS_NAMES] + [(n, True) for n in ("bce", "cce", "sparse_cce")]


def _numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        g[i] = (up - down) / (2 * h)
    return g


@pytest.mark.parametrize("name,from_logits", CASES)
def test_gradient_matches_finite_differences(name, from_logits):
    loss = get_loss(name)
    pred, target = _case(name, from_logits)
    value, grad = loss.value_and_grad(pred, target, from_logits=from_logits)
    assert grad.shape == pred.shape and grad.dtype == np.float64
    assert np.isfinite(value)
    num = _numeric_grad(lambda p: loss.value(p, target, from_logits=from_logits), pred.copy())
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name,from_logits", CASES)
def test_float32_grad_keeps_dtype_and_matches_float64(name, from_logits):
    loss = get_loss(name)
    pred, target = _case(name, from_logits, np.random.default_rng(7))
    v64, g64 = loss.value_and_grad(pred, target, from_logits=from_logits)
    v32, g32 = loss.value_and_grad(pred.astype(np.float32), target, from_logits=from_logits)
    assert g32.dtype == np.float32 and isinstance(v32, float)
    np.testing.assert_allclose(v32, v64, rtol=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-6)


def test_values_agree_with_plain_formulas():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(6, 2))
    t = rng.normal(size=(6, 2)) * 2
    d = p - t
    assert get_loss("mse").value(p, t) == pytest.approx(np.mean(d ** 2))
    assert get_loss("mae").value(p, t) == pytest.approx(np.mean(np.abs(d)))
    delta = 0.7
    hub = np.where(np.abs(d) <= delta, 0.5 * d ** 2, delta * (np.abs(d) - 0.5 * delta))
    assert get_loss("huber", delta=delta).value(p, t) == pytest.approx(np.mean(hub))

    x = rng.normal(size=(6, 3))
    tb = (rng.random((6, 3)) < 0.5).astype(float)
    s = _sigmoid(x)
    bce = -np.mean(tb * np.log(s) + (1 - tb) * np.log(1 - s))
    assert get_loss("bce").value(s, tb) == pytest.approx(bce)
    assert get_loss("bce").value(x, tb, from_logits=True) == pytest.approx(bce)

    y = np.array([0, 2, 1, 1, 0, 2])
    sm = _softmax(x)
    ce = -np.mean(np.log(sm[np.arange(6), y]))
    assert get_loss("sparse_cce").value(sm, y) == pytest.approx(ce)
    assert get_loss("sparse_cce").value(x, y, from_logits=True) == pytest.approx(ce)
    assert get_loss("cce").value(sm, np.eye(3)[y]) == pytest.approx(ce)
    assert get_loss("cce").value(x, np.eye(3)[y], from_logits=True) == pytest.approx(ce)


def test_known_numbers():
    # hand-computed: mse of [1, 2] vs [0, 0] = 2.5, grad = 2*(p-t)/2
    v, g = get_loss("mse").value_and_grad(np.array([[1.0], [2.0]]), np.array([0.0, 0.0]))
    assert v == 2.5 and g.tolist() == [[1.0], [2.0]]
    # huber(delta=1) of d = 3 -> 1*(3 - 0.5) = 2.5, grad clipped to 1
    v, g = get_loss("huber").value_and_grad(np.array([[3.0]]), np.array([[0.0]]))
    assert v == 2.5 and g.tolist() == [[1.0]]
    # sparse cce of uniform logits over 4 classes = log 4
    v, g = get_loss("sparse_cce").value_and_grad(np.zeros((2, 4)), np.array([1, 3]), from_logits=True)
    assert v == pytest.approx(np.log(4))
    np.testing.assert_allclose(g, [[0.125, -0.375, 0.125, 0.125], [0.125, 0.125, 0.125, -0.375]])


def test_mae_and_mse_accept_column_targets_for_single_output():
    p = np.array([[1.0], [3.0]])
    assert get_loss("mae").value(p, np.array([0.0, 1.0])) == pytest.approx(1.5)
    assert get_loss("mse").value(p, np.array([[0.0], [1.0]])) == pytest.approx(2.5)


# ------------------------------------------------------------ extreme logits
def test_bce_logits_of_1000_are_exact():
    x = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    v, g = get_loss("bce").value_and_grad(x, t, from_logits=True)
    # two perfect predictions (loss 0) and two maximally wrong ones (loss 1000 each)
    assert v == pytest.approx(500.0)
    np.testing.assert_allclose(g[:, 0], [0.0, 0.0, 0.25, -0.25])
    v32, g32 = get_loss("bce").value_and_grad(x.astype(np.float32), t, from_logits=True)
    assert v32 == pytest.approx(500.0) and np.isfinite(g32).all()


@pytest.mark.parametrize("name", ["cce", "sparse_cce"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_ce_logits_of_1000_are_exact(name, dtype):
    x = np.array([[1000.0, -1000.0, 0.0], [1000.0, -1000.0, 0.0]], dtype=dtype)
    y = np.array([0, 1])
    target = np.eye(3)[y] if name == "cce" else y
    v, g = get_loss(name).value_and_grad(x, target, from_logits=True)
    # row 0 right with certainty (loss 0), row 1 wrong by 2000 -> mean 1000
    assert np.isfinite(v) and v == pytest.approx(1000.0)
    assert g.dtype == dtype and np.isfinite(g).all()
    np.testing.assert_allclose(g, [[0, 0, 0], [0.5, -0.5, 0]], atol=1e-12)


@pytest.mark.parametrize("name", ["bce", "cce", "sparse_cce"])
def test_probabilities_of_exactly_0_and_1_are_clipped(name):
    if name == "bce":
        p, t = np.array([[0.0], [1.0]]), np.array([1.0, 0.0])
    else:
        p = np.array([[1.0, 0.0], [0.0, 1.0]])
        t = np.array([1, 0]) if name == "sparse_cce" else np.array([[0.0, 1.0], [1.0, 0.0]])
    v, g = get_loss(name).value_and_grad(p, t)
    assert np.isfinite(v) and np.isfinite(g).all()
    assert v == pytest.approx(-np.log(1e-7), rel=1e-6)


# -------------------------------------------------------------- bad targets
def test_sparse_class_out_of_range_message():
    with pytest.raises(LossError, match="targets contain class 7 but the model has 3 outputs"):
        get_loss("sparse_cce").value(np.zeros((2, 3)), np.array([0, 7]))
    with pytest.raises(LossError, match="class -1"):
        get_loss("sparse_cce").value(np.zeros((2, 3)), np.array([0, -1]))


def test_sparse_accepts_float_and_column_targets():
    x = np.random.default_rng(3).normal(size=(3, 4))
    ref = get_loss("sparse_cce").value(x, np.array([1, 0, 3]), from_logits=True)
    assert get_loss("sparse_cce").value(x, np.array([1.0, 0.0, 3.0]), from_logits=True) == ref
    assert get_loss("sparse_cce").value(x, np.array([[1], [0], [3]]), from_logits=True) == ref
    with pytest.raises(LossError, match="whole class numbers"):
        get_loss("sparse_cce").value(x, np.array([1.5, 0.0, 3.0]))


@pytest.mark.parametrize("name,pred,target,msg", [
    ("mse", np.zeros((4, 2)), np.zeros((4, 3)), "shape"),
    ("mse", np.zeros((4, 1)), np.zeros(5), "5 targets for 4 samples"),
    ("mae", np.zeros((2, 1)), np.array([np.nan, 1.0]), "NaN"),
    ("bce", np.full((2, 1), 0.5), np.array([0.0, 2.0]), "between 0 and 1"),
    ("cce", np.full((2, 3), 1 / 3), np.array([0, 1]), "use sparse_cce"),
    ("sparse_cce", np.full((2, 3), 1 / 3), np.eye(3)[[0, 1]], "use cce"),
    ("sparse_cce", np.full((2, 3), 1 / 3), np.array([0, 1, 2]), "3 targets for 2 samples"),
    ("sparse_cce", np.full((2, 3), 1 / 3), np.array(["a", "b"]), "class numbers"),
    ("sparse_cce", np.full(3, 1 / 3), np.array([0, 1, 2]), "needs outputs of shape"),
])
def test_bad_targets_raise_loss_error(name, pred, target, msg):
    with pytest.raises(LossError, match=msg):
        get_loss(name).value(pred, target)


def test_unknown_loss_and_option():
    with pytest.raises(LossError, match="mse, mae, huber, bce, cce, sparse_cce"):
        get_loss("hinge")
    with pytest.raises(LossError, match="delta"):
        get_loss("mse", delta=2.0)
    with pytest.raises(LossError, match="positive"):
        get_loss("huber", delta=0)
    with pytest.raises(LossError, match="logits"):
        get_loss("mse").value_and_grad(np.zeros((1, 1)), np.zeros((1, 1)), from_logits=True)


def test_names_and_fusion():
    for name in LOSS_NAMES:
        loss = get_loss(name)
        assert isinstance(loss, Loss) and loss.name == name and loss.label
    assert get_loss("bce").fuses == "sigmoid"
    assert get_loss("cce").fuses == get_loss("sparse_cce").fuses == "softmax"
    assert get_loss("mse").fuses is None and get_loss("huber").fuses is None


def test_default_loss_for():
    assert default_loss_for("softmax", 10, None) == "sparse_cce"
    assert default_loss_for("sigmoid", 1, "classification") == "bce"
    assert default_loss_for(None, 3, "classification") == "sparse_cce"
    assert default_loss_for(None, 1, "classification") == "mse"
    assert default_loss_for(None, 3, "regression") == "mse"
    assert default_loss_for(None, 1, None) == "mse"


def test_wants_logits():
    assert wants_logits("sparse_cce", "softmax") and wants_logits("sparse_cce", None)
    assert not wants_logits("sparse_cce", "sigmoid")
    assert wants_logits(get_loss("bce"), "sigmoid")
    assert not wants_logits("mse", None) and not wants_logits("mse", "softmax")


def test_empty_batch():
    v, g = get_loss("sparse_cce").value_and_grad(np.zeros((0, 3)), np.zeros(0, dtype=int))
    assert v == 0.0 and g.shape == (0, 3)


def test_sequence_outputs_average_over_positions():
    x = np.random.default_rng(5).normal(size=(2, 3, 4))
    y = np.array([[0, 1, 2], [3, 3, 0]])
    flat = get_loss("sparse_cce").value(x.reshape(6, 4), y.reshape(6), from_logits=True)
    assert get_loss("sparse_cce").value(x, y, from_logits=True) == pytest.approx(flat)
    assert get_loss("cce").value(x, np.eye(4)[y], from_logits=True) == pytest.approx(flat)


@pytest.mark.parametrize("name,from_logits", CASES)
def test_non_finite_predictions_give_non_finite_loss_without_raising(name, from_logits):
    pred, target = _case(name, from_logits, np.random.default_rng(11))
    pred = pred.copy()
    pred[0] = np.nan  # a diverged row (softmax makes a whole row NaN)
    v, g = get_loss(name).value_and_grad(pred, target, from_logits=from_logits)
    assert not np.isfinite(v)
