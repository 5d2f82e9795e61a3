"""Live training inside the running app versus headless (a benchmark, not a test).

Workloads (issue "live training that never freezes"):

* ``P1-300`` / ``P1-3000``: the demo project (two spirals, MLP 2-16-16-2 tanh, batch 16,
  Adam lr 0.01) for 300 and for 3000 epochs;
* ``P2``: a tabular MLP 30-64-64-2 (relu, softmax) on the breast-cancer sample, 1000 epochs;
* ``P3``: the W3 MLP 784-256-128-10 on 60 000 random rows, batch 128, 1 epoch;
* ``P4``: a small CNN (conv16-pool-conv32-pool-dense10) on the 8x8 digits sample, 5 epochs.

Each workload runs three times in one process:

* ``headless_s``: what ``python main.py train`` does (``Trainer.run`` consumed in a plain
  loop; histograms off, divergence checkpoints on);
* ``headless_hist_s``: the same with the app's extra work on the training thread
  (weight histograms, decision-boundary maps for 2-D data);
* ``app_s``: inside an offscreen (or real, with ``QT_QPA_PLATFORM=xcb``) MainWindow with
  every live view on, the plot tabs shown in turn (see below); the run trains in the training
  process (``--thread``: on a thread of the app's process, ``NNSTUDIO_TRAIN_PROCESS=0``).  The tabs
  rotate every 0.4 s, or faster (down to 0.1 s) so that each is shown once in a short run.

Reported per workload: ``app_over_headless`` (app / CLI), the longest gap and the 99th
percentile between ticks of a 10 ms QTimer on the GUI thread during the app run,
``gui_cpu_share`` (CPU time of the GUI thread / wall time of the run), the number of frames
drawn, and in a separate run the latency of Pause (until the worker has paused) and of Stop
(until the worker thread has finished).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--only P1-300,P2] [--repeat 1]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("NNSTUDIO_LANG", "en")

import numpy as np


class RandomDataset:
    """Random MNIST-shaped rows (784 features, 10 classes) plus a validation split."""

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


def _mlp(sizes, hidden_act, out_act):
    from engine.spec import sequential
    layers = [("Input.v1", {"shape": [sizes[0]]})]
    layers += [("Dense.v1", {"units": u, "activation": hidden_act}) for u in sizes[1:-1]]
    layers.append(("Dense.v1", {"units": sizes[-1], "activation": out_act}))
    return sequential(layers)


def _digits_cnn():
    from engine.spec import sequential
    return sequential([
        ("Input.v1", {"shape": [8, 8, 1]}),
        ("Conv2D.v1", {"filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"}),
        ("MaxPool2D.v1", {"pool_size": 2}),
        ("Conv2D.v1", {"filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"}),
        ("MaxPool2D.v1", {"pool_size": 2}),
        ("Flatten.v1", {}),
        ("Dense.v1", {"units": 10, "activation": "softmax"}),
    ])


def workloads() -> dict:
    """name -> (graph, dataset factory, TrainConfig dict)."""
    from engine.data import load_dataset
    from engine.data.spec import DataSpec
    from engine.io import demo_project

    demo = demo_project()

    def sample(name, **kw):
        return lambda: load_dataset(DataSpec(kind="sample", path=name, **kw))

    demo_data = lambda: load_dataset(DataSpec.from_dict(demo.data_spec))
    return {
        "P1-300": (demo.graph, demo_data, {**demo.train_config, "epochs": 300}),
        "P1-3000": (demo.graph, demo_data, {**demo.train_config, "epochs": 3000}),
        "P2": (_mlp([30, 64, 64, 2], "relu", "softmax"), sample("breast_cancer"),
               {"epochs": 1000, "batch_size": 32, "optimizer": "adam", "lr": 1e-3}),
        "P3": (_mlp([784, 256, 128, 10], "relu", "softmax"), lambda: RandomDataset(60000),
               {"epochs": 1, "batch_size": 128, "optimizer": "adam", "lr": 1e-3}),
        "P4": (_digits_cnn(), sample("digits"),
               {"epochs": 5, "batch_size": 32, "optimizer": "adam", "lr": 3e-3}),
    }


def headless(graph, ds, settings: dict, app_extras: bool) -> float:
    """``python main.py train``'s loop; ``app_extras``: the app's own loop (``engine.live.run_live``:
    histograms every 0.2 s, decision-boundary maps) without a window."""
    from engine.live import Controls, run_live
    from engine.trainer import TrainConfig, Trainer
    cfg = TrainConfig.from_dict({**settings, "pause_on_divergence": True, "histograms": app_extras})
    t0 = time.perf_counter()
    trainer = Trainer(graph, ds, cfg)
    if app_extras:
        run_live(trainer, ds, lambda ev: None, Controls())
    else:
        for _ in trainer.run():
            pass
    return time.perf_counter() - t0


class AppRunner:
    def __init__(self):
        os.environ.setdefault("NNSTUDIO_DATA_DIR", tempfile.mkdtemp(prefix="nnstudio-bench-"))
        from PySide6.QtWidgets import QApplication

        from app.main_window import MainWindow
        from app.training_ui import install_training_ui
        from engine.io import demo_project

        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        self.win = MainWindow(demo_project())
        self.ctl = getattr(self.win, "training", None) or install_training_ui(self.win)
        self.win.project.maybe_save = lambda *a, **k: True
        self.win.resize(1400, 900)
        self.win.show()
        self.ui = self.win.training_ui

    def _wait(self, pred, timeout: float) -> bool:
        t_end = time.perf_counter() + timeout
        while not pred():
            if time.perf_counter() > t_end:
                return False
            self.app.processEvents()
            time.sleep(0.001)
        return True

    def run(self, graph, ds, settings: dict, expect_s: float = 4.0) -> dict:
        from PySide6.QtCore import QEventLoop, QTimer

        from app.training_controller import IDLE
        from engine.trainer import TrainConfig

        self.win.document.set_spec(graph)  # benchmark only: bypasses the undo stack
        cfg = TrainConfig.from_dict(settings)
        ticks: list[float] = []
        tick = QTimer()
        tick.setInterval(10)
        tick.timeout.connect(lambda: ticks.append(time.perf_counter()))
        rotate = QTimer()
        # every tab shown in a run shorter than a second too (expect_s: the headless time)
        rotate.setInterval(int(min(400, max(100, 1000 * expect_s / self.ui.tabs.count()))))
        shown: list[tuple[float, int]] = []   # (time, tab index) of each tab switch

        def next_tab():
            i = (self.ui.tabs.currentIndex() + 1) % self.ui.tabs.count()
            shown.append((time.perf_counter(), i))
            self.ui.tabs.setCurrentIndex(i)

        rotate.timeout.connect(next_tab)
        self.ui.tabs.setCurrentIndex(0)
        loop = QEventLoop()
        t_end: dict = {}

        def on_state(s):
            if s == IDLE:
                t_end["idle"] = time.perf_counter()
                loop.quit()

        self.ctl.state_changed.connect(on_state)
        frames0 = self.ctl.frames
        tick.start()
        rotate.start()
        cpu0, t0 = time.thread_time(), time.perf_counter()
        ok = self.ctl.start(cfg, ds)
        assert ok, self.ctl.last_error
        loop.exec()
        cpu = time.thread_time() - cpu0
        tick.stop()
        rotate.stop()
        self.ctl.state_changed.disconnect(on_state)
        wall = t_end["idle"] - t0
        gaps = np.diff(np.asarray(ticks)) * 1000 if len(ticks) > 1 else np.zeros(1)
        epochs = (self.ctl.last_finished.epoch if getattr(self.ctl, "last_finished", None) is not None
                  and hasattr(self.ctl.last_finished, "epoch") else None)
        worst = []
        if len(ticks) > 1:
            for k in np.argsort(gaps)[::-1][:3]:
                at = ticks[k]
                tab = next((i for ts, i in reversed(shown) if ts <= at), 0)
                worst.append({"gap_ms": round(float(gaps[k]), 1), "at_ms": round((at - t0) * 1000, 1),
                              "tab": self.ui.tabs.tabText(tab).replace("&", "")})
        return {"app_s": round(wall, 3), "max_gap_ms": round(float(gaps.max()), 1), "worst_gaps": worst,
                "p99_gap_ms": round(float(np.percentile(gaps, 99)), 1),
                "gui_cpu_share": round(cpu / wall, 3), "frames": self.ctl.frames - frames0,
                "tab_switches": len(shown),
                "epochs_done": epochs}

    def latencies(self, graph, ds, settings: dict, headless_s: float = 1.0) -> dict:
        """Pause (until the worker reports paused) and Stop (until its thread has finished), in a
        run made long enough (about 4 s by the headless time) that both land while it trains."""
        from app.training_controller import IDLE, PAUSED, RUNNING
        from engine.trainer import TrainConfig

        self.win.document.set_spec(graph)
        epochs = settings["epochs"]
        epochs = max(epochs, math.ceil(epochs * 4.0 / max(headless_s, 1e-3)))
        cfg = TrainConfig.from_dict({**settings, "epochs": epochs})
        self.ui.tabs.setCurrentIndex(1)  # the weights heat map: the most drawing per frame
        assert self.ctl.start(cfg, ds), self.ctl.last_error
        self._wait(lambda: self.ctl.state == RUNNING, 60)
        self._wait(lambda: False, 1.0)  # let it run (and draw) for a second
        running_at_pause = self.ctl.state == RUNNING
        t0 = time.perf_counter()
        self.ctl.pause()
        paused = self._wait(lambda: self.ctl.state == PAUSED, 10)
        pause_ms = (time.perf_counter() - t0) * 1000
        self.ctl.resume()
        self._wait(lambda: False, 0.5)
        running_at_stop = self.ctl.state == RUNNING
        t0 = time.perf_counter()
        self.ctl.stop()
        stopped = self._wait(lambda: self.ctl.state == IDLE and self.ctl._thread is None, 10)
        stop_ms = (time.perf_counter() - t0) * 1000
        # None: not measured (the run had ended, or never got there)
        return {"pause_ms": round(pause_ms, 1) if paused and running_at_pause else None,
                "stop_ms": round(stop_ms, 1) if stopped and running_at_stop else None}

    def close(self):
        self.win.project.timer.stop()
        self.win.undo_stack.setClean()
        self.ctl.shutdown(5000)
        self.win.hide()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated workload names (default: all)")
    ap.add_argument("--repeat", type=int, default=1, help="repeat each measurement, keep the median")
    ap.add_argument("--json", default="", help="also write the results to this file")
    ap.add_argument("--thread", action="store_true", help="train on a thread of the app's process")
    args = ap.parse_args()
    if args.thread:
        os.environ["NNSTUDIO_TRAIN_PROCESS"] = "0"

    all_w = workloads()
    names = [n for n in (args.only.split(",") if args.only else all_w) if n]
    # warm the Numba cache (and every kernel the workloads use) so no measured run compiles
    for name in dict.fromkeys(n.split("-")[0] for n in names):
        key = next(k for k in all_w if k.startswith(name))
        graph, make, settings = all_w[key]
        headless(graph, make(), {**settings, "epochs": 1}, app_extras=True)
    runner = AppRunner()
    results = {}
    for name in names:
        graph, make, settings = all_w[name]
        ds = make()
        runner.run(graph, ds, {**settings, "epochs": 1})   # the training process loads this model's kernels
        rows = []
        for _ in range(max(1, args.repeat)):
            h = headless(graph, ds, settings, app_extras=False)
            hh = headless(graph, ds, settings, app_extras=True)
            a = runner.run(graph, ds, settings, expect_s=h)
            rows.append({"headless_s": round(h, 3), "headless_hist_s": round(hh, 3), **a,
                         "app_over_headless": round(a["app_s"] / h, 3),
                         "app_over_headless_hist": round(a["app_s"] / hh, 3)})
        rows.sort(key=lambda r: r["app_over_headless"])
        res = rows[len(rows) // 2]
        res.update(runner.latencies(graph, ds, settings, res["headless_s"]))
        res["epochs"] = settings["epochs"]
        results[name] = res
        print(name, json.dumps(res), flush=True)
    runner.close()
    out = {"platform": os.environ.get("QT_QPA_PLATFORM"), "cores": os.cpu_count(),
           "mode": "thread" if args.thread else "process", "results": results}
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
