"""A training run as the app shows it live: the trainer's events plus decision-boundary maps.

Shared by the in-process worker thread (``app.workers.TrainWorker``) and the training
process (``engine.train_process``), so both behave the same: weight histograms at most
every :data:`HISTOGRAM_INTERVAL` seconds; for 2-D inputs a decision-boundary map at the
first and last epoch and, while the view wants one, at most every
:data:`BOUNDARY_INTERVAL` seconds; *step* pauses the run after the next epoch.
"""
from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.numerics import softmax
from engine.trainer import EpochEnded, Trainer, TrainFailed

#: grid resolution of the decision-boundary map (cells per side)
BOUNDARY_RES = 64
#: at most this many data points travel with a boundary map
BOUNDARY_MAX_POINTS = 600
#: the decision-boundary map is recomputed at most this often (seconds) while its view is shown
BOUNDARY_INTERVAL = 0.2
#: weight histograms are taken at most this often (seconds), and always at the last epoch
HISTOGRAM_INTERVAL = 0.2


@dataclass(frozen=True)
class BoundaryMap:
    """A decision-boundary map for the live view (:func:`boundary_payload`'s dict)."""
    payload: dict


@dataclass(frozen=True)
class DataLoaded:
    """The app's worker has loaded the run's data set (an in-process event; never sent to the training
    process)."""
    dataset: object


class Controls:
    """The flags a live run is steered by (set from another thread, or from the parent process)."""

    def __init__(self):
        self.stop = threading.Event()
        self.pause = threading.Event()
        self.step = threading.Event()
        self.boundary_wanted = threading.Event()
        self.boundary_wanted.set()

    def request_stop(self) -> None:
        self.stop.set()
        self.pause.clear()

    def request_pause(self) -> None:
        self.pause.set()

    def request_resume(self) -> None:
        self.pause.clear()

    def request_step(self) -> None:
        """Run until the next epoch ends, then pause (from paused: resumes for one epoch)."""
        self.step.set()
        self.pause.clear()


def boundary_grid(x: np.ndarray, res: int = BOUNDARY_RES, margin: float = 0.1):
    """The evaluation grid over 2-D points: (xs, ys, flat grid (res*res, 2))."""
    x = np.asarray(x, dtype=np.float64)
    finite = x[np.all(np.isfinite(x), axis=1)] if len(x) else x
    if len(finite) == 0:
        lo, hi = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    else:
        lo, hi = finite.min(axis=0), finite.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - margin * span, hi + margin * span
    xs = np.linspace(lo[0], hi[0], res)
    ys = np.linspace(lo[1], hi[1], res)
    gx, gy = np.meshgrid(xs, ys)          # row = y, column = x
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()])


def boundary_payload(trainer: Trainer, res: int, points: np.ndarray, labels: np.ndarray, epoch: int) -> dict:
    """Model outputs over a grid around the data, as plain arrays (runs beside the trainer)."""
    xs, ys, grid = boundary_grid(points, res)
    model = trainer.model
    out = np.asarray(model.forward(grid.astype(model.dtype)), dtype=np.float64)
    out = out.reshape(len(grid), -1)
    task = trainer.task
    if task == "classification":
        if out.shape[1] == 1:
            p1 = out[:, 0]
            if trainer.from_logits:
                p1 = 1.0 / (1.0 + np.exp(-np.clip(p1, -60, 60)))
            probs = np.column_stack([1.0 - p1, p1])
        else:
            probs = softmax(out) if trainer.from_logits else out
        values = np.nan_to_num(probs, nan=0.0, posinf=1.0, neginf=0.0).reshape(res, res, -1)
    else:
        values = np.nan_to_num(out[:, :1], nan=0.0, posinf=0.0, neginf=0.0).reshape(res, res, 1)
    return {"epoch": int(epoch), "task": task, "x_range": (float(xs[0]), float(xs[-1])),
            "y_range": (float(ys[0]), float(ys[-1])), "values": values.astype(np.float32),
            "points": np.asarray(points, dtype=np.float32), "labels": np.asarray(labels)}


def run_live(trainer: Trainer, data, put: Callable, controls: Controls, *, boundary: bool = True,
             boundary_res: int = BOUNDARY_RES) -> None:
    """Iterate ``trainer.run`` and hand every event (and boundary maps as :class:`BoundaryMap`) to ``put``."""
    trainer.histogram_interval = HISTOGRAM_INTERVAL
    want_boundary = (boundary and tuple(data.input_shape) == (2,) and len(trainer.model.input_ids) == 1)
    points = labels = None
    if want_boundary:
        n = min(data.n("train"), BOUNDARY_MAX_POINTS)
        pick = np.sort(np.random.default_rng(0).choice(data.n("train"), n, replace=False))
        points, labels = data.get_batch("train", pick)
    last_boundary = -math.inf
    epochs = trainer.cfg.epochs
    for ev in trainer.run(controls.stop, controls.pause):
        if isinstance(ev, EpochEnded):
            if controls.step.is_set():
                controls.step.clear()
                controls.pause.set()   # the trainer pauses before the next batch
            put(ev)
            now = time.monotonic()
            if want_boundary and (ev.epoch == epochs or ev.epoch == 1 or (
                    controls.boundary_wanted.is_set() and now - last_boundary >= BOUNDARY_INTERVAL)):
                last_boundary = now
                try:
                    put(BoundaryMap(boundary_payload(trainer, boundary_res, points, labels, ev.epoch)))
                except Exception as exc:  # noqa: BLE001 - a view extra must not end the run
                    print(f"decision boundary skipped: {exc}", file=sys.stderr)
                    want_boundary = False
        else:
            put(ev)
            if isinstance(ev, TrainFailed):
                return
