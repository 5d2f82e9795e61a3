"""TrainingPanel: config round trip, buttons from the state, progress/ETA."""
from __future__ import annotations

import pytest

from engine.io import Project, demo_project, load_project, save_project
from engine.trainer import BatchEnded, TrainConfig, TrainError, TrainStarted, train_fields
from widgets.training_panel import BUTTONS, TrainingPanel, format_eta


def other_value(fi):
    """A valid value of ``fi`` that is not its default (odd digits, so rounding would show)."""
    d = fi.default
    if fi.kind == "bool":
        return not d
    if fi.kind == "choice":
        return next(c for c in fi.choices if c != d)
    if fi.kind == "str":
        return next(c for c in fi.suggestions if c != d)
    if fi.kind == "int":
        return d + 3 if fi.max is None or d + 3 <= fi.max else d - 1
    lo = fi.min if fi.min is not None else 0.0
    hi = fi.max if fi.max is not None else 10.0
    v = lo + (min(hi, lo + 1.0) - lo) * 0.123456789
    return v if v != d else v / 2


def non_default_config():
    return {fi.name: other_value(fi) for fi in train_fields(include_internal=True)}


def test_every_field_round_trips(qtbot):
    p = TrainingPanel()
    qtbot.addWidget(p)
    values = non_default_config()
    assert set(values) == set(TrainConfig().to_dict())
    p.set_config(values)
    got = p.config().to_dict()
    for name, v in values.items():
        assert got[name] == v, name
        assert got[name] != getattr(TrainConfig(), name), name
    # and back to the defaults: nothing sticks
    p.set_config(TrainConfig())
    assert p.config() == TrainConfig()


def test_every_field_round_trips_through_a_saved_project(qtbot, tmp_path):
    p = TrainingPanel()
    qtbot.addWidget(p)
    p.set_config(non_default_config())
    proj = demo_project()
    path = tmp_path / "p.nnsp"
    save_project(path, Project(graph=proj.graph, train_config=p.config().to_dict(), data_spec=proj.data_spec))
    q = TrainingPanel()
    qtbot.addWidget(q)
    q.set_config(load_project(path).train_config)
    assert q.config() == p.config()


def test_every_user_field_has_an_input_and_internal_ones_none(qtbot):
    p = TrainingPanel()
    qtbot.addWidget(p)
    for fi in train_fields(include_internal=True):
        assert (fi.name in p.inputs) == (not fi.internal), fi.name
        if not fi.internal:
            assert p.inputs[fi.name].toolTip(), fi.name


def test_visible_when_hides_but_keeps_the_value(qtbot):
    p = TrainingPanel()
    qtbot.addWidget(p)
    p.set_config({"optimizer": "sgd", "momentum": 0.9, "schedule": "step", "step_size": 4, "gamma": 0.25,
                  "early_stopping": True, "patience": 2})
    for name in ("momentum", "nesterov", "step_size", "gamma", "patience", "monitor", "restore_best"):
        assert p.inputs[name].isVisibleTo(p), name
    assert not p.inputs["weight_decay"].isVisibleTo(p)
    p.optimizer.setCurrentIndex(p.optimizer.findData("adamw"))
    p.schedule.setCurrentIndex(p.schedule.findData("cosine"))
    p.early_stopping.setChecked(False)
    for name in ("momentum", "nesterov", "step_size", "gamma", "patience", "monitor", "restore_best"):
        assert not p.inputs[name].isVisibleTo(p), name
    assert p.inputs["weight_decay"].isVisibleTo(p)
    c = p.config()
    assert (c.momentum, c.step_size, c.gamma, c.patience) == (0.9, 4, 0.25, 2)
    p.schedule.setCurrentIndex(p.schedule.findData("exponential"))
    assert p.inputs["gamma"].isVisibleTo(p) and not p.inputs["step_size"].isVisibleTo(p)


def test_a_bad_saved_value_falls_back_alone(qtbot):
    p = TrainingPanel()
    qtbot.addWidget(p)
    p.set_config({"epochs": 5, "gamma": 7.0, "optimizer": "nonsense", "weight_decay": 0.2})
    c = p.config()
    assert (c.epochs, c.gamma, c.optimizer, c.weight_decay) == (5, 0.5, "adam", 0.2)


def test_bounds_are_plain_errors(qtbot):
    p = TrainingPanel()
    qtbot.addWidget(p)
    p.l2.setText("1e9")
    with pytest.raises(TrainError, match="L2 penalty must be between 0 and"):
        p.config()


def test_learning_rate_steps_along_1_2_5(qtbot):
    from PySide6.QtCore import Qt
    p = TrainingPanel()
    qtbot.addWidget(p)
    p.lr.setText("0.001")
    qtbot.keyClick(p.lr, Qt.Key_Up)
    assert p.lr.text() == "0.002"
    qtbot.keyClick(p.lr, Qt.Key_Up)
    assert p.lr.text() == "0.005"
    qtbot.keyClick(p.lr, Qt.Key_Down)
    qtbot.keyClick(p.lr, Qt.Key_Down)
    qtbot.keyClick(p.lr, Qt.Key_Down)
    assert p.lr.text() == "0.0005"


def buttons(p):
    return (p.train_btn.isEnabled(), p.pause_btn.isEnabled(), p.resume_btn.isEnabled(), p.stop_btn.isEnabled())


def test_config_round_trip(qtbot):
    p = TrainingPanel()
    qtbot.addWidget(p)
    c = TrainConfig(epochs=7, batch_size=64, optimizer="sgd", lr=0.05, momentum=0.9, loss="mse", l2=1e-4,
                    schedule="cosine", early_stopping=True, patience=3, seed=42, monitor="val_accuracy")
    p.set_config(c.to_dict())
    got = p.config()
    for k in ("epochs", "batch_size", "optimizer", "lr", "momentum", "loss", "l2", "schedule",
              "early_stopping", "patience", "seed", "monitor"):
        assert getattr(got, k) == getattr(c, k), k
    assert got.histograms is False  # internal: kept as given (the controller turns histograms on for a run)
    p.set_config({"nonsense": 1, "epochs": 3})
    assert p.config().epochs == 3


def test_bad_numbers_are_plain_errors(qtbot):
    p = TrainingPanel()
    qtbot.addWidget(p)
    p.lr.setText("fast")
    with pytest.raises(TrainError, match="learning rate must be a number"):
        p.config()
    p.lr.setText("-1")
    with pytest.raises(TrainError, match="positive"):
        p.config()


def test_buttons_follow_the_state(qtbot):
    p = TrainingPanel()
    qtbot.addWidget(p)
    for state, expected in BUTTONS.items():
        p.set_state(state)
        assert buttons(p) == expected, state
        assert p.settings_box.isEnabled() == (state in ("idle", "failed"))
    p.set_state("paused")
    assert p.resume_btn.isVisibleTo(p) and not p.pause_btn.isVisibleTo(p)


def test_signals(qtbot):
    p = TrainingPanel()
    qtbot.addWidget(p)
    with qtbot.waitSignal(p.train_requested, timeout=1000):
        p.train_btn.click()
    p.set_state("running")
    with qtbot.waitSignal(p.pause_requested, timeout=1000):
        p.pause_btn.click()
    with qtbot.waitSignal(p.stop_requested, timeout=1000):
        p.stop_btn.click()


def test_progress_counters_and_eta_ignore_compile_time(qtbot):
    t = [100.0]
    p = TrainingPanel(clock=lambda: t[0])
    qtbot.addWidget(p)
    p.set_state("compiling")
    p.on_started(TrainStarted(epochs=2, steps_per_epoch=10, n_train=100, n_val=20, n_params=50,
                              loss="mse", task="regression"))
    p.set_state("running")
    # first report arrives after a long compile: it only starts the clock
    t[0] = 130.0
    p.on_batch(BatchEnded(1, 2, 0.5, None, 0.2, 10.0))
    assert p.eta.text() == "ETA –"
    t[0] = 131.0  # 2 steps per second from now on
    p.on_batch(BatchEnded(1, 4, 0.4, None, 0.4, 10.0))
    assert p.eta.text() == "ETA 8 s"  # 16 steps left
    assert p.counters.text() == "epoch 1/2 · batch 4/10"
    assert p.progress.value() == 200
    assert "samples/s" in p.status.text()


def test_output_info_names_the_auto_loss(qtbot):
    p = TrainingPanel()
    qtbot.addWidget(p)
    p.set_output_info("softmax", 3, "classification")
    assert "sparse_cce" in p.loss.itemText(0)
    monitors = [p.monitor.itemText(i) for i in range(p.monitor.count())]
    assert "val_accuracy" in monitors and "val_r2" not in monitors
    p.set_output_info(None, 1, "regression")
    assert "mse" in p.loss.itemText(0)
    monitors = [p.monitor.itemText(i) for i in range(p.monitor.count())]
    assert "val_r2" in monitors and "val_accuracy" not in monitors
    p.set_config({"early_stopping": True, "monitor": "val_accuracy"})
    p.set_output_info(None, 1, "regression")  # a saved choice is kept, even if it does not fit the task
    assert p.config().monitor == "val_accuracy"


def test_format_eta():
    assert format_eta(5) == "5 s" and format_eta(125) == "2 min 05 s" and format_eta(float("inf")) == "–"
