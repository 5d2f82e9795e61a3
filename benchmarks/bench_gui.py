"""GUI responsiveness while training (a benchmark, not a test).

Trains the W3 MLP (784-256-128-10 ReLU, softmax) on 60 000 random rows, batch 128,
Adam, inside the running app (offscreen MainWindow with the training UI and live
plots), and prints JSON with:

* ``max_event_loop_gap_ms``: the longest gap between ticks of a 10 ms QTimer on the
  GUI thread during training (plus the 99th percentile);
* ``gui_seconds`` / ``headless_seconds`` / ``gui_over_headless``: the same run with
  live plots vs ``Trainer.run`` consumed in a plain loop (no Qt);
* ``stop_latency_ms``: from pressing Stop mid-epoch to the worker thread finished.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--epochs 1] [--rows 60000]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402


class RandomDataset:
    """60 000 random MNIST-shaped rows (784 features, 10 classes) plus a validation split."""

    def __init__(self, n_train: int, n_val: int = 2000, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.task = "classification"
        self.input_shape = (784,)
        self.n_outputs = 10
        self.class_names = [str(i) for i in range(10)]
        self.x = {"train": rng.random((n_train, 784), dtype=np.float32),
                  "val": rng.random((n_val, 784), dtype=np.float32), "test": np.zeros((0, 784), np.float32)}
        self.y = {"train": rng.integers(0, 10, n_train), "val": rng.integers(0, 10, n_val),
                  "test": np.zeros(0, np.int64)}

    def n(self, split):
        return len(self.y[split])

    def get_batch(self, split, idx):
        return self.x[split][idx], self.y[split][idx]


def mlp_spec():
    from engine.spec import sequential
    return sequential([("Input.v1", {"shape": [784]}),
                       ("Dense.v1", {"units": 256, "activation": "relu"}),
                       ("Dense.v1", {"units": 128, "activation": "relu"}),
                       ("Dense.v1", {"units": 10, "activation": "softmax"})])


def headless(ds, cfg) -> float:
    from engine.trainer import Trainer
    t0 = time.perf_counter()
    trainer = Trainer(mlp_spec(), ds, cfg)
    for _ in trainer.run():
        pass
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--rows", type=int, default=60000)
    args = ap.parse_args()

    from engine.trainer import TrainConfig
    ds = RandomDataset(args.rows)
    cfg = TrainConfig(epochs=args.epochs, batch_size=128, optimizer="adam", lr=1e-3, histograms=True)

    # warm the Numba cache so neither measured run pays for compilation
    warm = RandomDataset(512, 128)
    headless(warm, TrainConfig(epochs=1, batch_size=128, histograms=True))
    t_headless = headless(ds, cfg)

    os.environ.setdefault("NNSTUDIO_DATA_DIR", tempfile.mkdtemp(prefix="nnstudio-bench-"))
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.training_controller import IDLE, RUNNING
    from app.training_ui import install_training_ui
    from engine.io import demo_project

    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = MainWindow(demo_project())
    ctl = getattr(win, "training", None) or install_training_ui(win)
    win.resize(1400, 900)
    win.show()
    win.document.set_spec(mlp_spec())  # benchmark only: bypasses the undo stack
    ui = win.training_ui
    ui.tabs.setCurrentIndex(0)  # the live curves are visible

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))

    loop = QEventLoop()
    t_end = {}

    def on_state(s):
        if s == IDLE:
            t_end["idle"] = time.perf_counter()
            loop.quit()

    ctl.state_changed.connect(on_state)
    timer.start()
    t0 = time.perf_counter()
    ok = ctl.start(cfg, ds)
    assert ok, ctl.last_error
    loop.exec()
    t_gui = t_end["idle"] - t0
    timer.stop()
    gaps = np.diff(np.asarray(ticks)) * 1000 if len(ticks) > 1 else np.zeros(1)
    ui.curves.redraw()
    bx = ui.curves.items["batch_raw"].getData()[0]
    curve_points = 0 if bx is None else len(bx)

    # stop latency: stop mid-epoch once batches flow
    steps = []
    ctl.batch_ended.connect(lambda ev: steps.append(ev.step))
    t_stop = {}

    def maybe_stop():
        if ctl.state == RUNNING and len(steps) >= 5 and "t" not in t_stop:
            t_stop["t"] = time.perf_counter()
            ctl.stop()

    poll = QTimer()
    poll.setInterval(10)
    poll.timeout.connect(maybe_stop)
    poll.start()
    ctl.start(TrainConfig(epochs=5, batch_size=128, histograms=True), ds)
    loop.exec()
    poll.stop()
    stop_ms = (t_end["idle"] - t_stop["t"]) * 1000

    win.project.timer.stop()
    win.undo_stack.setClean()
    ctl.shutdown(5000)
    result = {
        "model": "784-256-128-10 relu/softmax", "rows": args.rows, "epochs": args.epochs, "batch_size": 128,
        "max_event_loop_gap_ms": round(float(gaps.max()), 1),
        "p99_event_loop_gap_ms": round(float(np.percentile(gaps, 99)), 1),
        "timer_ticks": len(ticks),
        "gui_seconds": round(t_gui, 2), "headless_seconds": round(t_headless, 2),
        "gui_over_headless": round(t_gui / t_headless, 3),
        "stop_latency_ms": round(stop_ms, 1),
        "batch_points_plotted": int(curve_points),
        "cores": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    win.hide()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
