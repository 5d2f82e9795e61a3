"""The time-series sample trains in the app: TrainingController + the LSTM forecaster template (pytest-qt)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from app.training_controller import FAILED, IDLE, TrainingController
from engine.data import DataSpec
from engine.jobs import evaluate
from engine.templates import get_template
from engine.trainer import TrainConfig

TIMEOUT = 240_000


@pytest.mark.parametrize("process", [False, True], ids=["thread", "training-process"])
def test_seasonal_sample_trains_through_the_controller(qtbot, process):
    ctl = TrainingController()
    ctl.use_process = process
    epochs = []
    ctl.epoch_ended.connect(epochs.append)
    data = DataSpec(kind="sample", path="seasonal", time_series=True, window=24, test_split=0.1)
    graph = get_template("forecast").build()
    try:
        with qtbot.waitSignal(ctl.run_finished, timeout=TIMEOUT) as blocker:
            assert ctl.start(TrainConfig(epochs=2, batch_size=64, lr=0.01, seed=1), data, spec=graph)
        qtbot.waitUntil(lambda: ctl.state in (IDLE, FAILED), timeout=TIMEOUT)
        fin = blocker.args[0]
        assert fin.reason == "completed" and ctl.state == IDLE
        assert [e.epoch for e in epochs] == [1, 2]
        losses = [e.logs["loss"] for e in epochs]
        assert all(math.isfinite(v) for v in losses) and losses[1] < losses[0]
        assert ctl.dataset.input_shape == (24, 2) and ctl.dataset.preprocessing["kind"] == "timeseries"
        # the trained weights forecast better than the training mean (R² > 0) on the held-out last part
        res = evaluate(graph, fin.state, data, preprocessing=ctl.dataset.preprocessing, split="test", details=True)
        assert res["metrics"]["r2"] > 0.0
        assert np.asarray(res["series"]["pred"]).shape == (1, res["n"])
    finally:
        assert ctl.shutdown(10_000)
