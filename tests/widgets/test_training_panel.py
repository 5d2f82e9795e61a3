"""TrainingPanel: config round trip, buttons from the state, progress/ETA."""
from __future__ import annotations

import pytest

from engine.trainer import BatchEnded, TrainConfig, TrainError, TrainStarted
from widgets.training_panel import BUTTONS, TrainingPanel, format_eta


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
    assert got.histograms
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
    p.set_output_info(None, 1, "regression")
    assert "mse" in p.loss.itemText(0)


def test_format_eta():
    assert format_eta(5) == "5 s" and format_eta(125) == "2 min 05 s" and format_eta(float("inf")) == "–"
