"""Optimizers (against PyTorch's documented formulas), kernels vs NumPy references,
state resume, penalties, clipping and learning-rate schedules."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine.optimizers import (
    OPTIMIZER_NAMES,
    SCHEDULE_NAMES,
    Optimizer,
    OptimizerError,
    adam_kernel,
    apply_penalties,
    clip_grad_norm,
    grad_norms,
    is_penalised,
    make_optimizer,
    make_schedule,
    naive_adam_step,
    naive_rmsprop_step,
    naive_sgd_step,
    optimizer_options,
    rmsprop_kernel,
    sgd_kernel,
)

CONFIGS = [
    ("sgd", {"lr": 0.05}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5}),
    ("adam", {"lr": 0.05}),
    ("adamw", {"lr": 0.05, "weight_decay": 0.1}),
]
IDS = [f"{n}-{'-'.join(f'{k}{v}' for k, v in kw.items())}" for n, kw in CONFIGS]


# ------------------------------------------------------------ kernels vs naive
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-13), (np.float32, 2e-6)])
@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_kernel_matches_naive(dtype, tol, momentum, nesterov):
    rng = np.random.default_rng(0)
    p = rng.normal(size=257).astype(dtype)
    buf = np.zeros_like(p)
    rp, rbuf = p.astype(np.float64), buf.astype(np.float64)
    for t in range(4):
        g = rng.normal(size=p.size).astype(dtype)
        sgd_kernel(p, g, buf, dtype(0.1), dtype(momentum), nesterov, t == 0)
        rp, rbuf = naive_sgd_step(rp, g.astype(np.float64), rbuf, 0.1, momentum, nesterov, t == 0)
        np.testing.assert_allclose(p, rp, rtol=tol, atol=tol)
        if momentum:
            np.testing.assert_allclose(buf, rbuf, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-13), (np.float32, 2e-6)])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_kernel_matches_naive(dtype, tol, momentum):
    rng = np.random.default_rng(1)
    p = rng.normal(size=300).astype(dtype)
    sq, buf = np.zeros_like(p), np.zeros_like(p)
    rp, rsq, rbuf = p.astype(np.float64), sq.astype(np.float64), buf.astype(np.float64)
    for _ in range(4):
        g = rng.normal(size=p.size).astype(dtype)
        rmsprop_kernel(p, g, sq, buf, dtype(0.01), dtype(0.9), dtype(0.1), dtype(1e-7), dtype(momentum))
        rp, rsq, rbuf = naive_rmsprop_step(rp, g.astype(np.float64), rsq, rbuf, 0.01, 0.9, 1e-7, momentum)
        np.testing.assert_allclose(p, rp, rtol=tol, atol=tol)
        np.testing.assert_allclose(sq, rsq, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-6)])
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_kernel_matches_naive(dtype, tol, wd):
    rng = np.random.default_rng(2)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p = rng.normal(size=1001).astype(dtype)
    m, v = np.zeros_like(p), np.zeros_like(p)
    rp, rm, rv = p.astype(np.float64), m.astype(np.float64), v.astype(np.float64)
    for t in range(1, 6):
        g = rng.normal(size=p.size).astype(dtype)
        adam_kernel(p, g, m, v, dtype(lr / (1 - b1 ** t)), dtype(b2), dtype(1 - b1), dtype(1 - b2),
                    dtype(math.sqrt(1 - b2 ** t)), dtype(eps), dtype(1 - lr * wd))
        rp, rm, rv = naive_adam_step(rp, g.astype(np.float64), rm, rv, t, lr, b1, b2, eps, wd)
        np.testing.assert_allclose(p, rp, rtol=tol, atol=tol)
        np.testing.assert_allclose(m, rm, rtol=tol, atol=tol)
        np.testing.assert_allclose(v, rv, rtol=tol, atol=tol)


# ------------------------------------------------- hand-computed PyTorch updates
def _run(name, steps, p0=1.0, **kw):
    opt = make_optimizer(name, **kw)
    params = {"n1/W": np.array([p0])}
    out = []
    for g in steps:
        opt.step(params, {"n1/W": np.array([g])})
        out.append(float(params["n1/W"][0]))
    return out


def test_sgd_known_values():
    # plain: p = 1 - 0.1*2
    assert _run("sgd", [2.0], lr=0.1) == pytest.approx([0.8])
    # momentum 0.9: b1 = g1 = 1 -> 0.9; b2 = 0.9*1 + 1 = 1.9 -> 0.9 - 0.19
    assert _run("sgd", [1.0, 1.0], lr=0.1, momentum=0.9) == pytest.approx([0.9, 0.71])
    # nesterov: d1 = 1 + 0.9*1 = 1.9 -> 0.81; b2 = 1.9, d2 = 1 + 0.9*1.9 = 2.71 -> 0.539
    assert _run("sgd", [1.0, 1.0], lr=0.1, momentum=0.9, nesterov=True) == pytest.approx([0.81, 0.539])


def test_rmsprop_known_values():
    # s = 0.1 * 2^2 = 0.4; p = 1 - 0.01 * 2 / (sqrt(0.4) + 1e-7)
    assert _run("rmsprop", [2.0], lr=0.01) == pytest.approx([0.9683772283983154], abs=1e-15)
    # momentum 0.5: b1 = 2/sqrt(.4) = 3.16227766; s2 = .9*.4 + .1*4 = .76,
    # b2 = .5*b1 + 2/sqrt(.76) = 1.58113883 + 2.29415734 = 3.87529617   (eps = 0 here)
    out = _run("rmsprop", [2.0, 2.0], lr=0.01, momentum=0.5, eps=0.0)
    assert out == pytest.approx([1 - 0.0316227766, 1 - 0.0316227766 - 0.0387529617], abs=1e-9)


def test_adam_known_values():
    # step 1: m_hat = g, v_hat = g^2 -> p = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
    # step 2 (g = -0.25): m = .045 - .025 = .02, v = .00024975 + .0000625 = .00031225,
    #   p = p1 - 0.1 * (.02/.19) / (sqrt(.00031225/.001999) + 1e-8)
    out = _run("adam", [0.5, -0.25], lr=0.1)
    assert out == pytest.approx([0.900000002, 0.8733662987078463], abs=1e-14)


def test_adamw_known_values():
    # decoupled decay first: 1 * (1 - 0.1*0.01) = 0.999, then the Adam step 0.1*0.5/(0.5+1e-8) = 0.099999998
    assert _run("adamw", [0.5], lr=0.1) == pytest.approx([0.899000002], abs=1e-14)
    # Adam ignores nothing: with zero gradient, AdamW still shrinks the weight
    assert _run("adamw", [0.0], lr=0.1, weight_decay=0.5) == pytest.approx([0.95])
    assert _run("adam", [0.0], lr=0.1) == pytest.approx([1.0])


# ---------------------------------------------------------------- behaviour
def _quadratic_grads(params, a, c):
    return {k: a[k] * (w - c[k]) for k, w in params.items()}


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_converges_on_quadratic(name, kw):
    rng = np.random.default_rng(3)
    params = {"n1/W": rng.normal(size=(3, 4)), "n1/b": rng.normal(size=4)}
    a = {k: rng.uniform(0.5, 2.0, size=v.shape) for k, v in params.items()}
    c = {k: rng.normal(size=v.shape) for k, v in params.items()}
    if name == "adamw":  # the decay pulls towards 0, so use a target at 0 to test convergence
        c = {k: np.zeros_like(v) for k, v in c.items()}
    opt = make_optimizer(name, **kw)
    start = sum(float(np.sum(a[k] * (params[k] - c[k]) ** 2)) for k in params)
    for _ in range(600):
        opt.step(params, _quadratic_grads(params, a, c))
    end = sum(float(np.sum(a[k] * (params[k] - c[k]) ** 2)) for k in params)
    assert end < 1e-4 * start


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_updates_in_place_and_keeps_dtype(name, kw):
    params = {"n1/W": np.ones((2, 3), np.float32), "n1/b": np.zeros(3, np.float32)}
    ids = {k: id(v) for k, v in params.items()}
    before = {k: v.copy() for k, v in params.items()}
    opt = make_optimizer(name, **kw)
    opt.step(params, {"n1/W": np.full((2, 3), 0.5, np.float32), "n1/b": np.full(3, -1.0, np.float32)})
    assert {k: id(v) for k, v in params.items()} == ids
    assert all(v.dtype == np.float32 for v in params.values())
    assert all(not np.array_equal(params[k], before[k]) for k in params)
    for arr in opt.state_dict()["slots"].values():
        assert arr.dtype == np.float32


def test_parameters_without_gradient_are_untouched():
    params = {"a/W": np.ones(3), "b/W": np.ones(3)}
    opt = make_optimizer("adam", lr=0.1)
    opt.step(params, {"a/W": np.ones(3)})
    assert params["b/W"].tolist() == [1.0, 1.0, 1.0] and params["a/W"][0] < 1
    assert set(opt.state_dict()["slots"]) == {"m/a/W", "v/a/W"}


def test_non_contiguous_parameter_is_updated():
    base = np.ones((4, 6))
    params = {"n1/W": base[:, ::2]}
    opt = make_optimizer("sgd", lr=0.5)
    opt.step(params, {"n1/W": np.ones((4, 3))})
    assert (base[:, ::2] == 0.5).all() and (base[:, 1::2] == 1.0).all()


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_state_dict_resume_is_bitwise(name, kw):
    rng = np.random.default_rng(4)
    init = {"n1/W": rng.normal(size=(5, 3)).astype(np.float32), "n2/b": rng.normal(size=3).astype(np.float32)}
    grads = [{k: rng.normal(size=v.shape).astype(np.float32) for k, v in init.items()} for _ in range(10)]
    schedule = make_schedule("cosine", kw["lr"], total_epochs=10)

    def run(opt, params, steps):
        for i in steps:
            opt.lr = schedule(i)
            opt.step(params, {k: g.copy() for k, g in grads[i].items()})

    straight = {k: v.copy() for k, v in init.items()}
    run(make_optimizer(name, **kw), straight, range(10))

    resumed = {k: v.copy() for k, v in init.items()}
    first = make_optimizer(name, **kw)
    run(first, resumed, range(4))
    saved = first.state_dict()
    # JSON part round-trips through text; arrays are stored separately
    meta = json.loads(json.dumps({k: v for k, v in saved.items() if k != "slots"}))
    slots = {k: np.frombuffer(v.tobytes(), dtype=v.dtype).reshape(v.shape) for k, v in saved["slots"].items()}
    second = make_optimizer(name, lr=123.0)  # fresh optimizer, other settings: load restores them
    second.load_state_dict({**meta, "slots": slots})
    assert second.t == 4 and second.hyper == first.hyper
    run(second, resumed, range(4, 10))
    for k in init:
        assert np.array_equal(straight[k], resumed[k]), k


def test_state_dict_is_a_copy():
    opt = make_optimizer("adam")
    params = {"n1/W": np.ones(2)}
    opt.step(params, {"n1/W": np.ones(2)})
    sd = opt.state_dict()
    sd["slots"]["m/n1/W"][:] = 99
    assert opt.state_dict()["slots"]["m/n1/W"][0] != 99


def test_load_state_dict_rejects_foreign_state():
    adam = make_optimizer("adam")
    adam.step({"n1/W": np.ones(2)}, {"n1/W": np.ones(2)})
    with pytest.raises(OptimizerError, match="for adam, this run uses sgd"):
        make_optimizer("sgd").load_state_dict(adam.state_dict())
    with pytest.raises(OptimizerError, match="incomplete"):
        make_optimizer("adam").load_state_dict({"name": "adam"})
    bad = adam.state_dict()
    bad["slots"]["q/n1/W"] = np.ones(2)
    with pytest.raises(OptimizerError, match="unexpected optimizer state"):
        make_optimizer("adam").load_state_dict(bad)
    bad = adam.state_dict()
    bad["hyper"]["beta1"] = 1.5
    target = make_optimizer("adam")
    with pytest.raises(OptimizerError, match="beta1"):
        target.load_state_dict(bad)
    assert target.hyper["beta1"] == 0.9
    # slots that do not fit the parameter are reported at the next step
    loaded = make_optimizer("adam")
    loaded.load_state_dict(adam.state_dict())
    with pytest.raises(OptimizerError, match="shape"):
        loaded.step({"n1/W": np.ones(3)}, {"n1/W": np.ones(3)})


def test_make_optimizer_errors_and_options():
    assert set(OPTIMIZER_NAMES) == {"sgd", "rmsprop", "adam", "adamw"}
    for name in OPTIMIZER_NAMES:
        opt = make_optimizer(name)
        assert isinstance(opt, Optimizer) and opt.name == name and opt.lr > 0
    assert optimizer_options("adamw")["weight_decay"] == 0.01
    assert make_optimizer("rmsprop").hyper == {"rho": 0.9, "eps": 1e-7, "momentum": 0.0}
    assert type(make_optimizer("adam")) is type(make_optimizer("adamw"))
    with pytest.raises(OptimizerError, match="sgd, rmsprop, adam, adamw"):
        make_optimizer("lbfgs")
    with pytest.raises(OptimizerError, match="adam does not take weight_decay"):
        make_optimizer("adam", weight_decay=0.1)
    with pytest.raises(OptimizerError, match="lr must be a positive number"):
        make_optimizer("sgd", lr=-1)
    with pytest.raises(OptimizerError, match="beta2"):
        make_optimizer("adam", beta2=1.0)
    with pytest.raises(OptimizerError, match="Nesterov"):
        make_optimizer("sgd", nesterov=True)
    opt = make_optimizer("sgd")
    with pytest.raises(OptimizerError, match="shape"):
        opt.step({"n1/W": np.ones(3)}, {"n1/W": np.ones(4)})
    with pytest.raises(OptimizerError, match="not a parameter"):
        opt.step({"n1/W": np.ones(3)}, {"n9/W": np.ones(3)})


# --------------------------------------------------------------- penalties
def test_is_penalised():
    for key in ("n1/W", "n2/kernel", "n3/W_ih", "n3/Wq", "W"):
        assert is_penalised(key), key
    for key in ("n1/b", "n2/gamma", "n2/beta", "n3/bias", "n4/b_ih", "n5/kernel_bias"):
        assert not is_penalised(key), key


def test_apply_penalties_value_and_grads():
    params = {"n1/W": np.array([[1.0, -2.0], [0.0, 3.0]]), "n1/b": np.array([5.0, -5.0]),
              "n2/gamma": np.array([2.0])}
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    value = apply_penalties(params, grads, l1=0.1, l2=0.01)
    # 0.1 * (1+2+0+3) + 0.01 * (1+4+0+9) = 0.6 + 0.14
    assert value == pytest.approx(0.74)
    np.testing.assert_allclose(grads["n1/W"], [[0.1 + 0.02, -0.1 - 0.04], [0.0, 0.1 + 0.06]])
    assert not grads["n1/b"].any() and not grads["n2/gamma"].any()
    assert apply_penalties(params, grads, 0.0, 0.0) == 0.0
    with pytest.raises(OptimizerError):
        apply_penalties(params, grads, -1.0, 0.0)


def test_penalty_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    w = rng.normal(size=(3, 2))
    grads = {"n1/W": np.zeros_like(w)}
    apply_penalties({"n1/W": w}, grads, 0.3, 0.2)
    h = 1e-6
    for i in np.ndindex(w.shape):
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        num = (apply_penalties({"n1/W": up}, {"n1/W": np.zeros_like(w)}, 0.3, 0.2)
               - apply_penalties({"n1/W": down}, {"n1/W": np.zeros_like(w)}, 0.3, 0.2)) / (2 * h)
        assert grads["n1/W"][i] == pytest.approx(num, rel=1e-6)


def test_penalties_keep_float32():
    params = {"n1/W": np.ones((2, 2), np.float32)}
    grads = {"n1/W": np.zeros((2, 2), np.float32)}
    apply_penalties(params, grads, 0.1, 0.1)
    assert grads["n1/W"].dtype == np.float32
    np.testing.assert_allclose(grads["n1/W"], 0.3, rtol=1e-6)


# ---------------------------------------------------------------- clipping
def test_clip_grad_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert clip_grad_norm(grads, None) == 5.0 and grads["a"][0] == 3.0
    assert clip_grad_norm(grads, 10.0) == 5.0 and grads["a"][0] == 3.0
    assert clip_grad_norm(grads, 1.0) == 5.0
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(grads["a"], [3.0 * coef, 0.0])
    np.testing.assert_allclose(grads["b"], [[4.0 * coef]])
    assert clip_grad_norm(grads, None) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(OptimizerError):
        clip_grad_norm(grads, 0.0)


def test_clip_grad_norm_non_finite_is_reported_not_applied():
    grads = {"a": np.array([np.nan, 1.0])}
    assert math.isnan(clip_grad_norm(grads, 1.0))
    assert grads["a"][1] == 1.0


def test_grad_norms_and_float32_overflow():
    assert grad_norms({"a": np.array([3.0, 4.0]), "b": np.zeros(2)}) == {"a": 5.0, "b": 0.0}
    big = {"a": np.array([3e20, 4e20], np.float32)}
    assert grad_norms(big)["a"] == pytest.approx(5e20, rel=1e-6)
    assert clip_grad_norm(big, 1.0) == pytest.approx(5e20, rel=1e-6)
    assert big["a"].dtype == np.float32
    np.testing.assert_allclose(big["a"], [0.6, 0.8], rtol=1e-5)


# --------------------------------------------------------------- schedules
def test_schedules_values():
    assert SCHEDULE_NAMES == ("constant", "step", "exponential", "cosine")
    const = make_schedule("constant", 0.1)
    assert const(0) == const(57.5) == 0.1
    step = make_schedule("step", 0.1, step_size=10, gamma=0.5)
    assert [step(e) for e in (0, 9.99, 10, 25)] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    exp = make_schedule("exponential", 0.1, gamma=0.9)
    assert [exp(e) for e in (0, 1, 2.5)] == pytest.approx([0.1, 0.09, 0.1 * 0.9 ** 2.5])
    cos = make_schedule("cosine", 0.1, total_epochs=10, min_lr=0.01)
    assert [cos(e) for e in (0, 5, 10, 20)] == pytest.approx([0.1, 0.055, 0.01, 0.01])
    assert cos(2.5) == pytest.approx(0.01 + 0.09 * (1 + math.cos(math.pi / 4)) / 2)


def test_schedule_errors():
    with pytest.raises(OptimizerError, match="constant, step, exponential, cosine"):
        make_schedule("warmup", 0.1)
    with pytest.raises(OptimizerError, match="total number of epochs"):
        make_schedule("cosine", 0.1)
    with pytest.raises(OptimizerError, match="step size"):
        make_schedule("step", 0.1, step_size=0)
    with pytest.raises(OptimizerError, match="learning rate"):
        make_schedule("constant", 0.0)
    with pytest.raises(OptimizerError, match="minimum learning rate"):
        make_schedule("cosine", 0.1, total_epochs=5, min_lr=0.5)


def test_schedule_drives_optimizer_lr():
    opt = make_optimizer("sgd", lr=0.1)
    sched = make_schedule("step", 0.1, step_size=1, gamma=0.1)
    params = {"n1/W": np.array([1.0])}
    for epoch in range(3):
        opt.lr = sched(epoch)
        opt.step(params, {"n1/W": np.array([1.0])})
    assert params["n1/W"][0] == pytest.approx(1 - 0.1 - 0.01 - 0.001)
