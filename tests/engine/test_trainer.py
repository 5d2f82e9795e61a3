import threading

import numpy as np
import pytest

from engine.spec import sequential
from engine.trainer import (
    BatchEnded,
    EpochEnded,
    Status,
    TrainConfig,
    Trainer,
    TrainError,
    TrainFailed,
    TrainFinished,
    TrainStarted,
)
from tests.engine.fakes import ArrayDataset, blobs, xor


def classifier(n_in=2, n_out=3, hidden=16, act="tanh", out_act="softmax"):
    return sequential([("Input.v1", {"shape": [n_in]}), ("Dense.v1", {"units": hidden, "activation": act}),
                       ("Dense.v1", {"units": n_out, "activation": out_act})])


def run_all(trainer, **kw):
    return list(trainer.run(**kw))


def test_xor_learns_and_event_sequence():
    x, y = xor()
    ds = ArrayDataset(x, y)
    cfg = TrainConfig(epochs=60, batch_size=16, lr=0.02, seed=1)
    events = run_all(Trainer(classifier(n_out=2), ds, cfg))
    assert isinstance(events[0], TrainStarted)
    assert isinstance(events[1], Status) and events[1].state == "compiling"
    assert isinstance(events[-1], TrainFinished) and events[-1].reason == "completed"
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert [e.epoch for e in epochs] == list(range(1, 61))
    assert any(isinstance(e, BatchEnded) for e in events)
    last = epochs[-1].logs
    assert last["val_accuracy"] >= 0.9 and last["loss"] < 0.3
    assert epochs[-1].confusion.sum() == ds.n("val")


def test_sigmoid_bce_single_output():
    x, y = xor()
    ds = ArrayDataset(x, y, n_outputs=2)
    t = Trainer(classifier(n_out=1, out_act="sigmoid"), ds, TrainConfig(epochs=60, batch_size=16, lr=0.02))
    assert t.loss.name == "bce" and t.fused
    logs = run_all(t)[-1].logs
    assert logs["val_accuracy"] > 0.85


def test_regression_metrics():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(np.float32)
    ds = ArrayDataset(x, y, task="regression")
    g = sequential([("Input.v1", {"shape": [3]}), ("Dense.v1", {"units": 1})])
    t = Trainer(g, ds, TrainConfig(epochs=40, batch_size=16, lr=0.05))
    assert t.loss.name == "mse"
    logs = run_all(t)[-1].logs
    assert logs["val_r2"] > 0.99 and logs["val_mae"] < 0.1


def test_same_seed_same_history_bit_for_bit():
    x, y = blobs()
    ds = ArrayDataset(x, y)
    cfg = dict(epochs=3, batch_size=8, seed=5, optimizer="adam", lr=0.01)
    g = sequential([("Input.v1", {"shape": [2]}), ("Dense.v1", {"units": 16, "activation": "relu"}),
                    ("Dropout.v1", {"rate": 0.2}), ("Dense.v1", {"units": 3, "activation": "softmax"})])
    a = run_all(Trainer(g, ds, TrainConfig(**cfg)))[-1].state
    b = run_all(Trainer(g, ds, TrainConfig(**cfg)))[-1].state
    assert all(np.array_equal(a[k], b[k]) for k in a)
    c = run_all(Trainer(g, ds, TrainConfig(**{**cfg, "seed": 6})))[-1].state
    assert not all(np.array_equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("opt", ["sgd", "rmsprop", "adam", "adamw"])
def test_resume_equals_uninterrupted_run(opt):
    x, y = blobs()
    ds = ArrayDataset(x, y)
    g = sequential([("Input.v1", {"shape": [2]}), ("Dense.v1", {"units": 8, "activation": "relu"}),
                    ("Dropout.v1", {"rate": 0.1}), ("BatchNorm.v1", {}), ("Dense.v1", {"units": 3})])
    cfg = TrainConfig(epochs=4, batch_size=16, optimizer=opt, lr=0.01, momentum=0.9 if opt == "sgd" else 0.0, seed=2)
    straight = run_all(Trainer(g, ds, cfg))[-1].state
    first = Trainer(g, ds, TrainConfig(**{**cfg.to_dict(), "epochs": 2}))
    run_all(first)
    saved = first.state_dict()
    second = Trainer(g, ds, cfg)
    second.load_state_dict(saved)
    resumed = run_all(second)[-1].state
    assert all(np.array_equal(straight[k], resumed[k]) for k in straight)
    assert [h["epoch"] for h in second.history] == [1, 2, 3, 4]


def test_stop_takes_effect_within_one_batch():
    x, y = blobs(2000)
    ds = ArrayDataset(x, y)
    stop = threading.Event()
    t = Trainer(classifier(), ds, TrainConfig(epochs=5, batch_size=4, report_interval=0.0))
    steps_at_stop = None
    events = []
    for ev in t.run(stop=stop):
        events.append(ev)
        if isinstance(ev, BatchEnded) and ev.step == 3:
            stop.set()
            steps_at_stop = t.step
    assert isinstance(events[-1], TrainFinished) and events[-1].reason == "stopped"
    assert t.step == steps_at_stop
    assert not any(isinstance(e, EpochEnded) for e in events)


def test_pause_waits_and_resume_continues_from_same_step():
    x, y = blobs(400)
    ds = ArrayDataset(x, y)
    pause = threading.Event()
    t = Trainer(classifier(), ds, TrainConfig(epochs=1, batch_size=8, report_interval=0.0))
    seen = []
    for ev in t.run(pause=pause):
        seen.append(ev)
        if isinstance(ev, BatchEnded) and ev.step == 2:
            pause.set()
            threading.Timer(0.1, pause.clear).start()
    states = [e.state for e in seen if isinstance(e, Status)]
    assert "paused" in states and states[-1] == "running"
    steps = [e.step for e in seen if isinstance(e, BatchEnded)]
    assert steps == list(range(1, len(steps) + 1))
    assert isinstance(seen[-1], TrainFinished) and seen[-1].reason == "completed"


def test_nan_loss_stops_with_message_and_keeps_last_good_weights():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3)) * 100
    y = rng.standard_normal((200, 1)).astype(np.float32) * 1e3
    ds = ArrayDataset(x, y, task="regression")
    g = sequential([("Input.v1", {"shape": [3]}), ("Dense.v1", {"units": 16, "activation": "relu"}),
                    ("Dense.v1", {"units": 1})])
    t = Trainer(g, ds, TrainConfig(epochs=50, batch_size=8, optimizer="sgd", lr=10.0))
    events = run_all(t)
    fail = events[-1]
    assert isinstance(fail, TrainFailed)
    assert "diverged" in fail.message and "lower learning rate" in fail.message
    assert all(np.all(np.isfinite(v)) for v in fail.state.values())


def test_early_stopping_restores_best_weights():
    x, y = blobs(200)
    ds = ArrayDataset(x, y)
    t = Trainer(classifier(), ds, TrainConfig(epochs=200, batch_size=8, lr=0.05, early_stopping=True, patience=3))
    fin = run_all(t)[-1]
    assert fin.reason == "early_stopping" and t.epoch < 200
    assert fin.best_epoch == t.epoch - 3
    np.testing.assert_array_equal(fin.state["n2/W"], t.best_state["n2/W"])


def test_histograms_and_grad_norms():
    x, y = blobs(100)
    t = Trainer(classifier(), ArrayDataset(x, y), TrainConfig(epochs=1, histograms=True))
    ep = [e for e in run_all(t) if isinstance(e, EpochEnded)][0]
    h = ep.histograms["n2/W"]
    assert h["counts"].sum() == 2 * 16 and h["min"] >= h["edges"][0] and h["max"] <= h["edges"][-1]
    assert set(ep.grad_norms) == {"n2", "n3"} and all(v > 0 for v in ep.grad_norms.values())


def test_bad_settings_and_mismatched_data_are_clear():
    x, y = blobs(50)
    ds = ArrayDataset(x, y)
    with pytest.raises(TrainError, match="learning rate"):
        TrainConfig(lr=-1)
    with pytest.raises(TrainError, match="unknown optimizer"):
        TrainConfig(optimizer="adamx")
    with pytest.raises(TrainError, match="unknown training setting"):
        TrainConfig.from_dict({"epochz": 3})
    with pytest.raises(TrainError, match="expects samples of shape"):
        Trainer(classifier(n_in=5), ds)
    with pytest.raises(TrainError, match="3 classes but the output layer has 2"):
        Trainer(classifier(n_out=2), ds)


def test_training_metrics_use_a_fixed_probe_of_the_training_set():
    x, y = blobs(300)
    ds = ArrayDataset(x, y)
    t = Trainer(classifier(), ds, TrainConfig(epochs=1, seed=3))
    t.TRAIN_PROBE = 50
    ep = [e for e in t.run() if isinstance(e, EpochEnded)][0]
    probe = t._train_probe()
    assert len(probe) == 50 and np.all(np.diff(probe) > 0)
    assert ep.logs["accuracy"] == t.evaluate("train", rows=probe)["accuracy"]
    np.testing.assert_array_equal(probe, t._train_probe())  # the same rows every epoch


def _diverging():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3)) * 100
    y = rng.standard_normal((200, 1)).astype(np.float32) * 1e3
    g = sequential([("Input.v1", {"shape": [3]}), ("Dense.v1", {"units": 16, "activation": "relu"}),
                    ("Dense.v1", {"units": 1})])
    return g, ArrayDataset(x, y, task="regression")


def test_divergence_can_pause_and_resume_with_half_the_learning_rate():
    from engine.trainer import Diverged
    g, ds = _diverging()
    t = Trainer(g, ds, TrainConfig(epochs=3, batch_size=8, optimizer="sgd", lr=10.0, pause_on_divergence=True))
    pause = threading.Event()
    events = []
    for ev in t.run(pause=pause):
        events.append(ev)
        if isinstance(ev, Diverged):
            assert pause.is_set() and "Resume retries with half the learning rate" in ev.message
            assert all(np.all(np.isfinite(v)) for v in ev.state.values())
            pause.clear()  # the user presses Resume
    diverged = [e for e in events if isinstance(e, Diverged)]
    assert diverged and t.lr_scale == 0.5 ** len(diverged)
    assert isinstance(events[-1], TrainFinished) and events[-1].reason == "completed"
    assert all(np.all(np.isfinite(v)) for v in events[-1].state.values())
    assert t.state_dict()["lr_scale"] == t.lr_scale


def test_divergence_pause_then_stop_keeps_the_last_good_weights():
    from engine.trainer import Diverged
    g, ds = _diverging()
    t = Trainer(g, ds, TrainConfig(epochs=3, batch_size=8, optimizer="sgd", lr=10.0, pause_on_divergence=True))
    pause, stop = threading.Event(), threading.Event()
    events = []
    for ev in t.run(stop=stop, pause=pause):
        events.append(ev)
        if isinstance(ev, Diverged):
            good = ev.state
            stop.set()  # the user presses Stop
    assert isinstance(events[-1], TrainFinished) and events[-1].reason == "stopped"
    assert all(np.array_equal(events[-1].state[k], good[k]) for k in good)


def test_every_train_setting_has_form_metadata():
    """A new TrainConfig field must say how forms and the CLI show it (engine/trainer.py ``_setting``)."""
    from dataclasses import fields as dc_fields

    from engine.i18n import translate
    from engine.trainer import TRAIN_GROUPS, train_fields
    infos = {fi.name: fi for fi in train_fields(include_internal=True)}
    assert set(infos) == {f.name for f in dc_fields(TrainConfig)}
    for f in dc_fields(TrainConfig):
        md = f.metadata
        assert md.get("label") and md.get("help") and md.get("group") in TRAIN_GROUPS, f.name
        fi = infos[f.name]
        if fi.kind in ("int", "float") and not fi.internal:
            assert fi.min is not None and fi.max is not None, f"{f.name} needs bounds for the form and the CLI"
        for other in (fi.visible_when or {}):
            assert other in infos, f"{f.name}: visible_when names an unknown field {other}"
        for text in (fi.label, fi.help, fi.group, *(fi.choice_labels or {}).values()):
            assert translate(text, "zh_CN") != text or text in ("RMSprop", "Adam"), f"no zh_CN for {text!r}"
    assert TrainConfig().to_dict() == {n: fi.default for n, fi in infos.items()}


def test_settings_bounds_from_the_metadata():
    with pytest.raises(TrainError, match="gamma must be between 0.001 and 1, got 2"):
        TrainConfig(gamma=2.0)
    with pytest.raises(TrainError, match="shuffle must be true or false"):
        TrainConfig(shuffle=1)
    with pytest.raises(TrainError, match="step size must be a whole number"):
        TrainConfig(step_size=2.5)


def test_the_final_weights_are_not_copied_twice():
    """A large model must not hold one more copy of its weights than needed: when no step was taken
    since the best epoch's copy (or early stopping restores it), that copy is the final state."""
    x, y = blobs(200)
    t = Trainer(classifier(), ArrayDataset(x, y), TrainConfig(epochs=1, batch_size=8, lr=0.05))
    fin = run_all(t)[-1]
    assert fin.state is t.best_state and t.best_epoch == 1
    np.testing.assert_array_equal(fin.state["n2/W"], t.model.state_dict()["n2/W"])
    # whatever epoch was best, the final state is the model's final weights (without early stopping)
    for lr in (0.05, 0.5, 2.0):
        t = Trainer(classifier(), ArrayDataset(x, y), TrainConfig(epochs=6, batch_size=8, lr=lr))
        fin = run_all(t)[-1]
        now = t.model.state_dict()
        assert all(np.array_equal(fin.state[k], now[k]) for k in now)
        assert (fin.state is t.best_state) == (t.best_epoch == t.epoch)
