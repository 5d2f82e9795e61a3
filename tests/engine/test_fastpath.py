"""engine.fastpath: the fused MLP step agrees with the generic trainer step and keeps its behaviour."""
import numpy as np
import pytest

from engine.fastpath import FastMLPStep, why_not_fast
from engine.losses import LossError
from engine.spec import sequential
from engine.trainer import EpochEnded, TrainConfig, Trainer, TrainFailed, TrainFinished
from tests.engine.fakes import ArrayDataset, blobs, xor


def mlp(n_in, hidden, n_out, act="tanh", out_act="softmax", bias=True):
    layers = [("Input.v1", {"shape": [n_in]})]
    for h in hidden:
        layers.append(("Dense.v1", {"units": h, "activation": act, "use_bias": bias}))
    layers.append(("Dense.v1", {"units": n_out, "activation": out_act}))
    return sequential(layers)


def regression_data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    y = np.stack([x @ np.array([1.0, -2.0, 0.5]), np.sin(x[:, 0])], 1).astype(np.float32)
    return ArrayDataset(x, y, task="regression")


# (name, graph factory, dataset factory)
SETUPS = {
    "softmax_ce": (lambda: mlp(2, [8, 6], 3, act="relu"), lambda: ArrayDataset(*blobs(120))),
    "sigmoid_bce": (lambda: mlp(2, [8], 1, act="tanh", out_act="sigmoid"),
                    lambda: ArrayDataset(*xor(120), n_outputs=2)),
    "logits_ce": (lambda: mlp(2, [5], 3, act="leaky_relu", out_act="linear"), lambda: ArrayDataset(*blobs(120))),
    "mse": (lambda: mlp(3, [7], 2, act="elu", out_act="linear"), regression_data),
    "mse_tanh_out_nobias": (lambda: mlp(3, [6], 2, act="sigmoid", out_act="tanh", bias=False), regression_data),
    "bce_onehot": (lambda: mlp(2, [4], 3, act="relu", out_act="sigmoid"), lambda: ArrayDataset(*blobs(120))),
}

OPTIMIZERS = {
    "sgd": dict(optimizer="sgd", lr=0.05),
    "momentum": dict(optimizer="sgd", lr=0.05, momentum=0.9),
    "nesterov": dict(optimizer="sgd", lr=0.05, momentum=0.9, nesterov=True),
    "rmsprop": dict(optimizer="rmsprop", lr=0.01),
    "rmsprop_mom": dict(optimizer="rmsprop", lr=0.01, momentum=0.5),
    "adam": dict(optimizer="adam", lr=0.01),
    "adamw": dict(optimizer="adamw", lr=0.01, weight_decay=0.1),
}


def steps(trainer, n_steps, batch=16):
    ds = trainer.dataset
    n = ds.n("train")
    losses = []
    for s in range(n_steps):
        idx = (np.arange(batch) + s * batch) % n
        x, y = ds.get_batch("train", np.sort(idx))
        losses.append(trainer.train_step(x, y)[0])
    return np.array(losses)


def pair(setup, opt, dtype, strategy="auto", seed=3):
    graph, data = SETUPS[setup]
    ds = data()
    cfg = TrainConfig(epochs=1, batch_size=16, seed=seed, **OPTIMIZERS[opt])
    fast = Trainer(graph(), ds, cfg, dtype=dtype)
    slow = Trainer(graph(), ds, cfg, dtype=dtype)
    assert fast.fast_step is not None, why_not_fast(fast)
    fast.fast_step.strategy = strategy
    slow.fast_step = None
    return fast, slow


def assert_same_state(fast, slow, rtol, atol):
    a, b = fast.model.state_dict(), slow.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=atol, err_msg=k)
    oa, ob = fast.optimizer.state_dict(), slow.optimizer.state_dict()
    assert oa["t"] == ob["t"] and oa["hyper"] == ob["hyper"]
    assert oa["slots"].keys() == ob["slots"].keys()
    assert fast.optimizer.slots.keys() == slow.optimizer.slots.keys()
    for k in oa["slots"]:
        np.testing.assert_allclose(oa["slots"][k], ob["slots"][k], rtol=rtol, atol=atol, err_msg=k)


@pytest.mark.parametrize("setup", sorted(SETUPS))
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_fast_equals_generic_float64(setup, opt):
    fast, slow = pair(setup, opt, np.float64)
    lf, ls = steps(fast, 12), steps(slow, 12)
    np.testing.assert_allclose(lf, ls, rtol=1e-9)
    assert_same_state(fast, slow, rtol=1e-5, atol=1e-10)


@pytest.mark.parametrize("setup", ["softmax_ce", "sigmoid_bce", "mse"])
@pytest.mark.parametrize("opt", ["momentum", "adam"])
@pytest.mark.parametrize("strategy", ["small", "blas"])
def test_fast_equals_generic_float32_both_strategies(setup, opt, strategy):
    fast, slow = pair(setup, opt, np.float32, strategy=strategy)
    lf, ls = steps(fast, 12), steps(slow, 12)
    np.testing.assert_allclose(lf, ls, rtol=1e-4, atol=1e-6)
    assert_same_state(fast, slow, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("strategy", ["small", "blas"])
def test_blas_and_small_strategies_agree_float64(strategy):
    fast, slow = pair("softmax_ce", "adam", np.float64, strategy=strategy)
    slow.fast_step = FastMLPStep(slow, strategy="blas" if strategy == "small" else "small")
    np.testing.assert_allclose(steps(fast, 8), steps(slow, 8), rtol=1e-12)
    assert_same_state(fast, slow, rtol=1e-9, atol=1e-12)


def test_trainer_really_takes_the_fast_path(monkeypatch):
    fast, _ = pair("softmax_ce", "adam", np.float32)

    def boom(*a):
        raise AssertionError("generic step used")

    monkeypatch.setattr(fast, "_train_step", boom)
    value, grads = fast.train_step(*fast.dataset.get_batch("train", np.arange(16)))
    assert np.isfinite(value)
    assert set(grads) == set(fast.model.trainable())
    assert fast.optimizer.t == 1


def test_per_step_settings_fall_back_to_generic(monkeypatch):
    fast, _ = pair("softmax_ce", "sgd", np.float64)
    calls = []
    orig = fast._train_step
    monkeypatch.setattr(fast, "_train_step", lambda x, y: (calls.append(1), orig(x, y))[1])
    batch = fast.dataset.get_batch("train", np.arange(16))
    fast.cfg.clip_norm = 1.0
    fast.train_step(*batch)
    fast.cfg.clip_norm = 0.0
    fast.cfg.l2 = 0.01
    fast.train_step(*batch)
    fast.cfg.l2 = 0.0
    fast.train_step(*batch)
    assert len(calls) == 2


@pytest.mark.parametrize("layers,cfg,reason", [
    ([("Dense.v1", {"units": 4, "activation": "relu"}), ("Dropout.v1", {"rate": 0.2}),
      ("Dense.v1", {"units": 3, "activation": "softmax"})], {}, "Dropout"),
    ([("Dense.v1", {"units": 4, "activation": "relu"}), ("BatchNorm.v1", {}),
      ("Dense.v1", {"units": 3, "activation": "softmax"})], {}, "BatchNorm"),
    ([("Dense.v1", {"units": 4, "activation": "gelu"}), ("Dense.v1", {"units": 3, "activation": "softmax"})],
     {}, "activation gelu"),
    ([("Dense.v1", {"units": 4, "activation": "softmax"}), ("Dense.v1", {"units": 3, "activation": "softmax"})],
     {}, "activation softmax"),
    ([("Dense.v1", {"units": 3, "activation": "softmax"})], {"loss": "cce"}, "loss cce"),
    ([("Dense.v1", {"units": 3, "activation": "softmax"})], {"loss": "mse"}, "activation softmax"),
])
def test_ineligible_graphs_use_the_generic_step(layers, cfg, reason):
    g = sequential([("Input.v1", {"shape": [2]}), *layers])
    t = Trainer(g, ArrayDataset(*blobs(60)), TrainConfig(epochs=1, **cfg))
    assert t.fast_step is None
    assert reason in why_not_fast(t)


def test_env_switch_disables(monkeypatch):
    monkeypatch.setenv("NNSTUDIO_NO_FASTPATH", "1")
    t = Trainer(mlp(2, [4], 3), ArrayDataset(*blobs(60)), TrainConfig(epochs=1))
    assert t.fast_step is None


@pytest.mark.parametrize("opt", ["momentum", "adam", "rmsprop_mom"])
def test_resume_is_bit_exact_within_the_fast_path(opt):
    ds = ArrayDataset(*blobs(200))
    cfg = TrainConfig(epochs=4, batch_size=16, seed=2, **OPTIMIZERS[opt])
    g = mlp(2, [8, 8], 3, act="relu")
    straight = Trainer(g, ds, cfg)
    assert straight.fast_step is not None
    end = list(straight.run())[-1].state
    first = Trainer(g, ds, TrainConfig(**{**cfg.to_dict(), "epochs": 2}))
    list(first.run())
    saved = first.state_dict()
    second = Trainer(g, ds, cfg)
    second.load_state_dict(saved)
    resumed = list(second.run())[-1].state
    assert all(np.array_equal(end[k], resumed[k]) for k in end)
    assert second.optimizer.t == straight.optimizer.t


def test_weights_replaced_mid_run_are_picked_up():
    fast, slow = pair("softmax_ce", "adam", np.float64)
    steps(fast, 3)
    steps(slow, 3)
    other = Trainer(mlp(2, [8, 6], 3, act="relu"), fast.dataset, TrainConfig(seed=9), dtype=np.float64)
    for t in (fast, slow):
        t.model.load_state_dict(other.model.state_dict())
        t.optimizer.load_state_dict(slow.optimizer.state_dict())
    steps(fast, 3)
    steps(slow, 3)
    assert_same_state(fast, slow, rtol=1e-6, atol=1e-12)


def test_bad_class_number_gives_the_generic_message():
    fast, _ = pair("softmax_ce", "adam", np.float32)
    x, y = fast.dataset.get_batch("train", np.arange(16))
    y = y.copy()
    y[3] = 7
    before = fast.model.state_dict()
    with pytest.raises(LossError, match="class 7 but the model has 3 outputs"):
        fast.train_step(x, y)
    after = fast.model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert fast.optimizer.t == 0


def test_float_class_numbers_fall_back_and_still_train():
    fast, slow = pair("softmax_ce", "sgd", np.float64)
    x, y = fast.dataset.get_batch("train", np.arange(16))
    v1, _ = fast.train_step(x, y.astype(np.float64))
    v2, _ = slow.train_step(x, y)
    assert v1 == pytest.approx(v2)


def test_divergence_skips_the_update_and_the_trainer_fails_cleanly():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3)) * 100
    y = rng.standard_normal((200, 1)).astype(np.float32) * 1e3
    ds = ArrayDataset(x, y, task="regression")
    t = Trainer(mlp(3, [16], 1, act="relu", out_act="linear"), ds,
                TrainConfig(epochs=50, batch_size=8, optimizer="sgd", lr=10.0))
    assert t.fast_step is not None
    events = list(t.run())
    assert isinstance(events[-1], TrainFailed)
    assert all(np.all(np.isfinite(v)) for v in events[-1].state.values())


def test_fast_path_learns_xor():
    ds = ArrayDataset(*xor())
    t = Trainer(mlp(2, [16], 2), ds, TrainConfig(epochs=60, batch_size=16, lr=0.02, seed=1))
    assert t.fast_step is not None
    events = list(t.run())
    assert isinstance(events[-1], TrainFinished)
    last = [e for e in events if isinstance(e, EpochEnded)][-1].logs
    assert last["val_accuracy"] >= 0.9


def test_read_only_batches_are_accepted():
    fast, slow = pair("mse", "adam", np.float32)
    x, y = fast.dataset.get_batch("train", np.arange(16))
    x, y = x.copy(), y.copy()
    x.flags.writeable = False
    y.flags.writeable = False
    v1, _ = fast.train_step(x, y)
    v2, _ = slow.train_step(x, y)
    assert v1 == pytest.approx(v2, rel=1e-5)
    assert fast.optimizer.t == 1
