"""The training state machine and the thread that runs a :class:`TrainWorker`.

One explicit state drives every control (buttons, canvas lock)::

    idle ──start──▶ compiling ──first step done──▶ running ◀──resume── paused
      ▲                 │                             │  └────pause────▶  │
      │                 │                             └─pause─▶ pausing ─worker paused─▶┘
      │                 └──────────stop───────────▶ stopping ◀───stop─────┘
      └──── thread finished (completed / stopped) ────┘      failed ◀── TrainFailed / error

``pausing`` lasts until the worker says it has paused (at the next batch
boundary): "paused" is only shown when it is true.

Events do not arrive one queued signal each: the worker puts them into a
:class:`app.workers.LiveFeed` and the controller drains it at most
:data:`FRAME_HZ` times a second (a frame), so a trainer finishing thousands of
tiny epochs a second costs the GUI thread one short drain per frame.

``failed`` behaves like ``idle`` (Train is enabled) but keeps the message on
screen.  The state only returns to idle/failed when the worker thread has
*finished*, so a new run can never overlap an old one.

The controller owns the document side of a run: training uses a snapshot of
``document.spec``; when the run ends its weights go into ``document.weights``
and the run (name, settings, per-epoch logs) is appended to ``document.history``.
"""
from __future__ import annotations

import copy
import functools
import gc
import math
import time
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QThread, QTimer, Signal

from app.workers import (
    ProcessTrainWorker,
    TaskFailed,
    TaskProgress,
    TaskResult,
    TaskWorker,
    TrainJob,
    TrainWorker,
    process_enabled,
    start_in_thread,
)
from engine.i18n import tr as engine_tr
from engine.jobs.runs import new_run, trained_metadata
from engine.live import BoundaryMap, DataLoaded
from engine.trainer import (
    BatchEnded,
    Diverged,
    EpochEnded,
    Status,
    TrainConfig,
    TrainFailed,
    TrainFinished,
    TrainStarted,
)

IDLE = "idle"
COMPILING = "compiling"
RUNNING = "running"
PAUSED = "paused"
PAUSING = "pausing"
STOPPING = "stopping"
FAILED = "failed"
STATES = (IDLE, COMPILING, RUNNING, PAUSING, PAUSED, STOPPING, FAILED)
ACTIVE_STATES = (COMPILING, RUNNING, PAUSING, PAUSED, STOPPING)
#: how often the GUI takes the worker's events (frames per second)
FRAME_HZ = 15

#: allowed transitions; anything else is a bug and raises
TRANSITIONS = {
    IDLE: {COMPILING},
    FAILED: {COMPILING, IDLE},
    COMPILING: {RUNNING, PAUSED, STOPPING, IDLE, FAILED},
    RUNNING: {PAUSING, PAUSED, STOPPING, IDLE, FAILED},
    PAUSING: {PAUSED, RUNNING, STOPPING, IDLE, FAILED},
    PAUSED: {RUNNING, STOPPING, IDLE, FAILED},
    STOPPING: {IDLE, FAILED},
}

# QThreads whose worker did not finish within a shutdown timeout are kept here so that
# Python never destroys a running QThread (which aborts the process).
_ORPHANS: list = []


class StateError(RuntimeError):
    """A transition the state machine does not allow (a programming error)."""


def _same_object(a: QObject, b: QObject) -> bool:
    """Identity of the C++ objects (sender() may hand back a different Python wrapper)."""
    return a is b or shiboken6.getCppPointer(a)[0] == shiboken6.getCppPointer(b)[0]


def _json_float(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class TrainingController(QObject):
    state_changed = Signal(str)
    running_changed = Signal(bool)
    status_changed = Signal(str)          # a line for the status bar / panel
    run_started = Signal(object)          # TrainStarted
    batch_ended = Signal(object)          # BatchEnded
    epoch_ended = Signal(object)          # EpochEnded
    boundary_ready = Signal(object)       # decision-boundary payload dict
    data_loaded = Signal(object)          # Dataset loaded by the worker
    run_finished = Signal(object)         # TrainFinished
    run_failed = Signal(str)              # one-line message (with a suggestion)
    diverged = Signal(str)                # NaN/inf loss: the run paused itself (message with the options)
    history_changed = Signal()

    def __init__(self, document=None, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self._state = IDLE
        self._thread: QThread | None = None
        self._worker: TrainWorker | None = None
        self._run: dict | None = None
        self._local_history: list[dict] = []
        self.last_error: str = ""
        self.last_finished = None
        self.dataset = None                 # the last Dataset used (loaded here or passed in)
        self._shutdown_hooks: list[Callable[[int], bool]] = []
        #: live runs train in the training process (engine.train_process) unless NNSTUDIO_TRAIN_PROCESS=0
        self.use_process = process_enabled()
        self.frames = 0                     # drains that delivered events (a counter for tests/benchmarks)
        self._last_drain = -1.0
        self._frame_timer = QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.timeout.connect(self._drain)
        self._boundary_wanted = True
        self._heap_frozen = False

    def _freeze_heap(self) -> None:
        """Keep the garbage collector's full passes off the window's objects while a run draws.

        A full (generation 2) collection walks every object of the app -- Qt wrappers, pyqtgraph
        items, the compiled kernels' metadata -- and took ~100 ms on the GUI thread (the longest
        event-loop gap of a P1-3000 run, 121-143 ms, was one).  ``gc.freeze`` moves the objects
        alive at Train into a generation the collector skips; the frame's own short-lived objects
        are still collected as before.  The run's end unfreezes them, so cyclic garbage among them
        is found by the next full pass, with the window idle."""
        if not self._heap_frozen:
            gc.freeze()
            self._heap_frozen = True

    def _thaw_heap(self) -> None:
        if self._heap_frozen:
            self._heap_frozen = False
            gc.unfreeze()

    def add_shutdown_hook(self, fn: Callable[[int], bool]) -> None:
        """``fn(timeout_ms) -> bool`` is also called by :meth:`shutdown` (e.g. a DataLoader's)."""
        self._shutdown_hooks.append(fn)

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> str:
        return self._state

    @property
    def running(self) -> bool:
        return self._state in ACTIVE_STATES

    def _set_state(self, new: str) -> None:
        old = self._state
        if new == old:
            return
        if new not in TRANSITIONS.get(old, ()):
            raise StateError(f"training state cannot go from {old} to {new}")
        was_running = self.running
        self._state = new
        self.state_changed.emit(new)
        if self.running != was_running:
            self.running_changed.emit(self.running)

    @property
    def history(self) -> list[dict]:
        """Past runs: ``{"name", "settings", "data", "epochs": [...], "reason", ...}``."""
        if self.document is not None:
            return self.document.history
        return self._local_history

    # ------------------------------------------------------------------ commands
    def start(self, config: TrainConfig | dict | None = None, data: Any = None, *, spec=None,
              weights: dict | None = None, name: str | None = None, boundary: bool = True,
              step: bool = False) -> bool:
        """Start a run on a snapshot of ``spec`` (default: the document's graph).

        ``data`` is a loaded Dataset or a DataSpec (loaded on the worker); ``step``
        pauses the run after its first epoch.  Returns
        False (and reports why through ``run_failed``) when it cannot start.
        """
        if self.running:
            return False
        if isinstance(config, dict):
            config = TrainConfig.from_dict(config)
        config = config or TrainConfig()
        if spec is None:
            if self.document is None:
                raise ValueError("no graph to train: pass spec= or give the controller a document")
            spec = self.document.spec
            blocker = self.document.train_blocker() if hasattr(self.document, "train_blocker") else None
            if blocker:
                self._fail_now(self.tr("the graph cannot be trained yet: {why}").format(why=engine_tr(blocker)))
                return False
        if data is None:
            self._fail_now(self.tr("choose a data set first (Data panel)"))
            return False
        if hasattr(data, "get_batch"):
            self.dataset = data
        if config.histograms is False or config.pause_on_divergence is False:
            # the app shows histograms, and a diverging run pauses (Resume rolls back and halves the lr)
            config = TrainConfig.from_dict({**config.to_dict(), "histograms": True, "pause_on_divergence": True})
        self.last_error = ""
        self.last_finished = None
        data_desc = data.spec.to_dict() if hasattr(getattr(data, "spec", None), "to_dict") else \
            (data.to_dict() if hasattr(data, "to_dict") else None)
        self._run = new_run(self.history, config.to_dict(), data_desc, name=name)
        self._loss = None
        job = TrainJob(spec=spec, data=data, config=config, weights=weights, boundary=boundary,
                       name=self._run["name"])
        worker = (ProcessTrainWorker if self.use_process else TrainWorker)(job)
        if step:
            worker.step_event.set()
        if not self._boundary_wanted:
            worker.boundary_wanted.clear()
        worker.wake.connect(self._on_wake)
        self._worker = worker
        self._failed_flag = False
        self._set_state(COMPILING)
        self.status_changed.emit(self.tr("preparing…"))
        thread = start_in_thread(worker)
        # bind the thread itself: sender() identity is not reliable across wrapper lifetimes
        thread.finished.connect(functools.partial(self._on_thread_finished, thread))
        self._thread = thread
        self._freeze_heap()
        return True

    def pause(self) -> None:
        """Ask the worker to pause; the state is ``pausing`` until it has."""
        if self._state == RUNNING and self._worker is not None:
            self._worker.request_pause()
            self._set_state(PAUSING)
            self.status_changed.emit(self.tr("pausing…"))

    def resume(self) -> None:
        if self._state == PAUSED and self._worker is not None:
            self._worker.request_resume()
            self._set_state(RUNNING)
            self.status_changed.emit(self.tr("running"))

    def step(self) -> bool:
        """From paused: train one more epoch, then pause again.  (From idle the caller
        starts a run with ``start(..., step=True)``.)"""
        if self._state == PAUSED and self._worker is not None:
            self._worker.request_step()
            self._set_state(RUNNING)
            self.status_changed.emit(self.tr("one epoch…"))
            return True
        return False

    def set_boundary_wanted(self, on: bool) -> None:
        """Whether the worker computes decision-boundary maps (only while the view is shown)."""
        self._boundary_wanted = bool(on)
        w = self._worker
        if w is not None:
            w.set_boundary_wanted(self._boundary_wanted)

    def stop(self) -> None:
        if self._state in (COMPILING, RUNNING, PAUSING, PAUSED) and self._worker is not None:
            self._worker.request_stop()
            self._set_state(STOPPING)
            self.status_changed.emit(self.tr("stopping…"))

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop any run and wait (at most ``timeout_ms``) for its thread to finish.

        For the main window's ``closeEvent``.  Returns True when no thread is left
        running.  Never terminates a thread: one that does not finish in time is kept
        alive (detached) and finishes on its own.
        """
        ok = True
        for hook in self._shutdown_hooks:
            ok = bool(hook(timeout_ms)) and ok
        thread = self._thread
        if thread is None:
            return ok
        if self._worker is not None:
            self._worker.request_stop()
        if self._state in (COMPILING, RUNNING, PAUSING, PAUSED):
            self._set_state(STOPPING)
        finished = thread.wait(max(0, int(timeout_ms)))
        if not finished:
            _ORPHANS.append((thread, self._worker))
            thread.finished.connect(lambda t=thread, w=self._worker: _ORPHANS.remove((t, w))
                                    if (t, w) in _ORPHANS else None)
        # the worker's queued signals are not delivered any more; finish the bookkeeping now
        self._on_thread_finished()
        return finished and ok

    # ------------------------------------------------------------------ the frame
    def _on_wake(self) -> None:
        """The feed went from empty to non-empty: drain now, or at the next frame."""
        if self._frame_timer.isActive():
            return
        wait = self._last_drain + 1.0 / FRAME_HZ - time.monotonic()
        if wait <= 0:
            self._drain()
        else:
            self._frame_timer.start(max(1, int(wait * 1000)))

    def _drain(self) -> None:
        worker = self._worker
        if worker is None:
            return
        self._last_drain = time.monotonic()
        events = worker.feed.drain()
        if not events:
            return
        self.frames += 1
        for ev in events:
            self._dispatch(ev)
        if len(worker.feed) and not self._frame_timer.isActive():
            self._frame_timer.start(int(1000 / FRAME_HZ))

    def _dispatch(self, ev) -> None:
        if isinstance(ev, BatchEnded):
            self._on_batch(ev)
        elif isinstance(ev, EpochEnded):
            self._on_epoch(ev)
        elif isinstance(ev, Status):
            self._on_status(ev)
        elif isinstance(ev, TrainStarted):
            self._on_started(ev)
        elif isinstance(ev, TrainFinished):
            self._on_finished(ev)
        elif isinstance(ev, Diverged):
            self._on_diverged(ev)
        elif isinstance(ev, TrainFailed):
            self._on_failed(ev.message, ev.state)
        elif isinstance(ev, BoundaryMap):
            self.boundary_ready.emit(ev.payload)
        elif isinstance(ev, DataLoaded):
            self._on_data_loaded(ev.dataset)

    # ------------------------------------------------------------------ worker slots
    def _fail_now(self, message: str) -> None:
        self.last_error = message
        if self._state == IDLE:
            self._state = FAILED
            self.state_changed.emit(FAILED)
        self.status_changed.emit(message)
        self.run_failed.emit(message)

    def _on_status(self, ev) -> None:
        if ev.state == "running" and self._state == COMPILING:
            self._set_state(RUNNING)
        elif ev.state == "paused" and self._state in (COMPILING, RUNNING, PAUSING):
            self._set_state(PAUSED)   # the worker has really paused (Pause, or the end of a Step)
            self.status_changed.emit(self.tr("{what} (weights and optimizer state kept)").format(
                what=engine_tr(ev.message) if ev.message else self.tr("paused")))
            return
        elif ev.state == "running" and self._state == PAUSED:
            return  # a Resume/Step the controller already shows as running
        if self._state == STOPPING:
            return
        text = ev.message or ev.state
        self.status_changed.emit(engine_tr(text))

    def _on_started(self, ev) -> None:
        self._loss = ev.loss
        self.run_started.emit(ev)

    def _on_data_loaded(self, dataset) -> None:
        self.dataset = dataset
        self.data_loaded.emit(dataset)

    def _on_batch(self, ev) -> None:
        if self._state == COMPILING:
            self._set_state(RUNNING)
        self.batch_ended.emit(ev)

    def _on_epoch(self, ev) -> None:
        if self._run is not None:
            row = {"epoch": ev.epoch, **{k: _json_float(v) for k, v in ev.logs.items()},
                   "seconds": round(float(ev.seconds), 4)}
            self._run["epochs"].append(row)
        self.epoch_ended.emit(ev)

    def _on_finished(self, ev) -> None:
        self.last_finished = ev
        if self.document is not None and ev.state:
            self._store_result(ev.state)
        self._close_run(ev.reason, best_epoch=ev.best_epoch)
        self.run_finished.emit(ev)
        what = {"completed": self.tr("training finished"),
                "early_stopping": self.tr("stopped early (no more improvement)"),
                "stopped": self.tr("training stopped")}.get(ev.reason, engine_tr(ev.reason))
        self.status_changed.emit(what)

    def _on_failed(self, message: str, state) -> None:
        self._failed_flag = True
        self.last_error = message
        if self.document is not None and state:
            self._store_result(state)   # the last good weights (before the bad batch)
        self._close_run("failed", message=message)
        shown = engine_tr(message)
        self.status_changed.emit(shown)
        self.run_failed.emit(shown)

    def _on_diverged(self, ev) -> None:
        """The run paused itself after a NaN/inf loss: keep the last good weights, say what to do."""
        self.last_error = ev.message
        if self.document is not None and ev.state:
            self._store_result(ev.state)
        if self._state in (COMPILING, RUNNING, PAUSING):
            self._set_state(PAUSED)
        self.status_changed.emit(self.tr("diverged: paused (Resume halves the learning rate)"))
        self.diverged.emit(engine_tr(ev.message))

    def _store_result(self, state: dict) -> None:
        """Weights plus what predict/export need: the fitted preprocessing, class names, task."""
        ds = self.dataset
        if ds is not None:
            pre = getattr(ds, "preprocessing", None)
            if pre is not None:
                self.document.preprocessing = copy.deepcopy(pre)
            self.document.metadata = trained_metadata(self.document.metadata, ds, getattr(self, "_loss", None))
        self.document.set_weights(state)

    def _close_run(self, reason: str, **extra) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        run["reason"] = reason
        run.update(extra)
        if run["epochs"] or reason != "failed":
            self.history.append(run)
            self.history_changed.emit()

    def _on_thread_finished(self, finished_thread: QThread | None = None) -> None:
        thread, worker = self._thread, self._worker
        if thread is None:
            return
        if finished_thread is not None and finished_thread is not thread:
            return  # a thread that shutdown() already accounted for
        if worker is not None:
            self._frame_timer.stop()
            self._drain()   # whatever the worker said last (finished, failed) is shown
        self._thread = None
        self._worker = None
        self._thaw_heap()
        if worker is not None:
            try:
                worker.wake.disconnect()
            except (RuntimeError, TypeError):
                pass
        if not thread.isRunning():
            thread.deleteLater()
            if worker is not None:
                worker.deleteLater()
        if self._run is not None:  # ended without a final event (e.g. stopped while loading)
            self._close_run("stopped")
        self._set_state(FAILED if self._failed_flag else IDLE)
        if not self._failed_flag and self.last_finished is None:
            self.status_changed.emit(self.tr("stopped"))


class DataLoader(QObject):
    """Runs data previews and loads on a worker thread, one at a time per kind.

    ``run(tag, fn)`` starts ``fn(progress, cancel)``; a newer request with the same
    tag cancels the older one (its result is dropped).  Emits ``progress(tag, pct,
    text)``, ``result(tag, value)``, ``failed(tag, message)``, ``busy_changed(bool)``.
    """

    progress = Signal(str, int, str)
    result = Signal(str, object)
    failed = Signal(str, str)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._jobs: dict[str, tuple[QThread, TaskWorker]] = {}
        self._threads: dict = {}
        self._retired: list = []

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def run(self, tag: str, fn: Callable) -> None:
        was_busy = self.busy
        self.cancel(tag)
        worker = TaskWorker(fn, tag)
        # a bound method of this QObject: queued into the GUI thread; sender() names the worker
        worker.event.connect(self._on_event)
        thread = QThread()
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        thread.finished.connect(functools.partial(self._on_job_thread_finished, thread))
        self._jobs[tag] = (thread, worker)
        self._threads[thread] = worker
        thread.start()
        if not was_busy:
            self.busy_changed.emit(True)

    def _on_event(self, ev) -> None:
        worker = self.sender()
        if isinstance(ev, TaskProgress):
            self._forward(worker, "progress", ev.percent, ev.text)
        elif isinstance(ev, TaskResult):
            self._forward(worker, "result", ev.value)
        elif isinstance(ev, TaskFailed):
            self._forward(worker, "failed", ev.message)

    def _on_job_thread_finished(self, thread: QThread) -> None:
        worker = self._threads.pop(thread, None)
        if worker is not None:
            self._finished(thread, worker)

    def _forward(self, worker, kind: str, *args) -> None:
        if not isinstance(worker, TaskWorker):
            return
        current = self._jobs.get(worker.tag)
        if current is None or not _same_object(current[1], worker):
            return  # a cancelled, superseded request
        getattr(self, kind).emit(worker.tag, *args)

    def cancel(self, tag: str) -> None:
        job = self._jobs.pop(tag, None)
        if job is not None:
            job[1].request_stop()
            self._retired.append(job)

    def _finished(self, thread: QThread, worker: TaskWorker) -> None:
        if self._jobs.get(worker.tag, (None, None))[1] is worker:
            del self._jobs[worker.tag]
            if not self._jobs:
                self.busy_changed.emit(False)
        self._retired = [j for j in self._retired if j[1] is not worker]
        thread.deleteLater()
        worker.deleteLater()

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        ok = True
        jobs = list(self._jobs.values()) + list(self._retired)
        self._jobs.clear()
        for _thread, worker in jobs:
            worker.request_stop()
        for thread, worker in jobs:
            if not thread.wait(max(0, int(timeout_ms))):
                ok = False
                _ORPHANS.append((thread, worker))
        self._retired = []
        if jobs:
            self.busy_changed.emit(False)
        return ok
