"""Worker objects that run engine code off the GUI thread.

Each worker is a plain ``QObject`` moved to its own ``QThread``
(``worker.moveToThread(thread)``; ``thread.started -> worker.run``).  Workers
never touch widgets and have one signal each: frozen event dataclasses, in
order (like napari's ``GeneratorWorker.yielded``).  Stopping is cooperative
through ``threading.Event`` flags that the GUI thread sets directly; nothing
here is ever ``terminate()``-d.

* :class:`TrainWorker` loads the data (if given a ``DataSpec``), compiles the
  graph and runs :func:`engine.live.run_live`; its events go into a
  :class:`LiveFeed` that the GUI drains once per frame (``wake`` says it is not
  empty).  :class:`ProcessTrainWorker` does the same with the trainer in the
  training process.
* :class:`TaskWorker` runs one plain function ``fn(progress, cancel)`` (data
  previews and loading) and emits ``event``: :class:`TaskProgress`, then
  :class:`TaskResult` or :class:`TaskFailed`.
"""
from __future__ import annotations

import atexit
import inspect
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from engine.i18n import tr as engine_tr
from engine.jobs.progress import eta_seconds, progress_parts
from engine.live import (  # noqa: F401 - re-exported
    BOUNDARY_INTERVAL,
    BOUNDARY_MAX_POINTS,
    BOUNDARY_RES,
    HISTOGRAM_INTERVAL,
    Controls,
    DataLoaded,
    boundary_grid,
    boundary_payload,
    run_live,
)
from engine.train_process import (
    ExportCache,
    ProcessGone,
    TrainProcess,
    exported_bytes,
    remove_folder,
    remove_stale_folders,
)
from engine.trainer import BatchEnded, Status, TrainConfig, Trainer, TrainFailed

#: data sets larger than this as float arrays train in the app's process (no copy for the child)
EXPORT_LIMIT = 2 * 2**30


def user_message(exc: BaseException) -> str:
    """One line for the user, in the UI language.  Our own error types (all ``ValueError``) carry it already
    (in English; :mod:`engine.i18n` translates it)."""
    if isinstance(exc, MemoryError):
        return QCoreApplication.translate(
            "Workers", "not enough memory for this data or model; try a smaller batch size, image size or model")
    if isinstance(exc, ValueError):
        msg = str(exc).strip() or type(exc).__name__
        return engine_tr(msg.splitlines()[0])
    if isinstance(exc, OSError):
        from engine.files import os_reason

        reason = engine_tr(os_reason(exc))
        if exc.filename:
            return QCoreApplication.translate("Workers", "could not read a file: {reason} ({file})").format(
                reason=reason, file=exc.filename)
        return QCoreApplication.translate("Workers", "could not read a file: {reason}").format(reason=reason)
    # a bug, not a user error: the details go to stderr and the log file, the user gets one line
    traceback.print_exception(exc, file=sys.stderr)
    from engine import logs
    logs.get("crash").error("internal error\n%s", "".join(traceback.format_exception(exc)))
    text = QCoreApplication.translate("Workers", "internal error in NN Studio ({details})").format(
        details=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else '-'}")
    where = logs.log_path()
    if where is not None:
        text += QCoreApplication.translate("Workers", "; details in {path}").format(path=where)
    return text


@dataclass
class TrainJob:
    """Everything one run needs; the GUI builds it and never touches it again."""

    spec: Any                      # GraphSpec snapshot (immutable)
    data: Any                      # a loaded Dataset, or a DataSpec loaded on the worker
    config: TrainConfig
    weights: dict | None = None    # start from these weights (continue training) or None
    boundary: bool = True          # compute the decision-boundary map for 2-D inputs
    boundary_res: int = BOUNDARY_RES
    name: str = ""


def _call_with_supported(fn: Callable, *args, **kwargs):
    """Call ``fn`` passing only the keyword arguments its signature accepts."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn(*args)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return fn(*args, **kwargs)
    return fn(*args, **{k: v for k, v in kwargs.items() if k in params})


def load_dataset_for(data_spec, progress: Callable | None = None, cancel: threading.Event | None = None):
    """``engine.data.load_dataset(spec)`` with progress/cancel when that function takes them."""
    from engine.data import load_dataset  # imported lazily: the data package may be newer than us
    return _call_with_supported(load_dataset, data_spec, progress=progress, cancel=cancel)


def count_and_eta(args, elapsed: float) -> str:
    """``"1,200 / 5,000 · about 12 s left"`` for a ``(done, total)`` progress call, else ``""``."""
    nums = [a for a in args if isinstance(a, int) and not isinstance(a, bool)]
    if len(nums) < 2 or nums[1] <= 0:
        return ""
    done, total = nums[0], nums[1]
    text = f"{done:,} / {total:,}"
    left = eta_seconds(done, total, elapsed) if done < total and elapsed > 0.5 else None
    if left is not None:
        if left < 90:
            text += QCoreApplication.translate("Workers", " · about {n} s left").format(n=f"{left:.0f}")
        else:
            text += QCoreApplication.translate("Workers", " · about {n} min left").format(n=f"{left / 60:.0f}")
    return text


def _quit_worker_thread() -> None:
    """Quit the current thread's event loop, unless it is the GUI thread (run() called directly)."""
    from PySide6.QtCore import QCoreApplication
    thread = QThread.currentThread()
    app = QCoreApplication.instance()
    if thread is not None and (app is None or thread is not app.thread()):
        thread.quit()


class LiveFeed:
    """The mailbox between a training worker and the GUI thread (one lock, no Qt).

    The worker puts every engine event in; the GUI drains them at its own frame rate.  Consecutive ``BatchEnded`` events are merged into one as they
    arrive (their losses concatenated), so a fast trainer cannot flood the GUI
    thread: between two frames the mailbox holds at most one batch event plus the
    epochs that ended (a few numbers each).  :meth:`put` returns True when the
    mailbox was empty, i.e. when the GUI needs one wake-up.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._events: list = []
        self.put_count = 0

    def put(self, ev) -> bool:
        with self._lock:
            self.put_count += 1
            was_empty = not self._events
            last = self._events[-1] if self._events else None
            if isinstance(ev, BatchEnded) and isinstance(last, BatchEnded):
                self._events[-1] = merge_batches(last, ev)
            else:
                self._events.append(ev)
            return was_empty

    def drain(self) -> list:
        with self._lock:
            out, self._events = self._events, []
        return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)


def merge_batches(a: BatchEnded, b: BatchEnded) -> BatchEnded:
    """Two consecutive batch reports as one (b is the later one)."""
    losses = np.concatenate([np.asarray(a.batch_losses, dtype=np.float64).ravel(),
                             np.asarray(b.batch_losses, dtype=np.float64).ravel()])
    losses.setflags(write=False)
    return BatchEnded(b.epoch, b.step, float(np.mean(losses)) if losses.size else b.loss, losses,
                      b.epoch_progress, b.samples_per_s)




class TrainWorker(QObject):
    """Runs one :class:`TrainJob` on the thread it was moved to.

    One signal: every event goes into :attr:`feed` (a :class:`LiveFeed`) as a frozen
    dataclass, in order, and ``wake`` is emitted only when the feed was empty, so at
    most one queued call is ever pending, however fast the trainer is.  The events are
    the trainer's (``engine.trainer``), ``engine.live.BoundaryMap`` (computed only while
    :attr:`boundary_wanted` is set, i.e. the view is shown, at most every
    :data:`BOUNDARY_INTERVAL` seconds), ``engine.live.DataLoaded`` and, for errors
    outside the trainer, ``TrainFailed`` (with no weights).  Step: :meth:`request_step`
    pauses the run after the next epoch ends.
    """

    wake = Signal()

    def __init__(self, job: TrainJob):
        super().__init__()
        self.job = job
        self.controls = Controls()
        self.stop_event = self.controls.stop
        self.pause_event = self.controls.pause
        self.step_event = self.controls.step
        self.boundary_wanted = self.controls.boundary_wanted
        self.feed = LiveFeed()

    def _put(self, ev) -> None:
        if self.feed.put(ev):
            self.wake.emit()

    def _fail(self, message: str) -> None:
        """An error outside the trainer (no weights to keep)."""
        self._put(TrainFailed(message, {}))

    # called from the GUI thread (Events are thread-safe; the loop polls them between batches)
    def request_stop(self) -> None:
        self.controls.request_stop()

    def request_pause(self) -> None:
        self.controls.request_pause()

    def request_resume(self) -> None:
        self.controls.request_resume()

    def request_step(self) -> None:
        """Run until the next epoch ends, then pause (from paused: resumes for one epoch)."""
        self.controls.request_step()

    def set_boundary_wanted(self, on: bool) -> None:
        (self.boundary_wanted.set if on else self.boundary_wanted.clear)()

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001 - the thread must always finish cleanly
            self._fail(user_message(exc))
        finally:
            self.wake.emit()
            _quit_worker_thread()  # direct call: works even while the GUI thread waits in shutdown()

    def _run(self) -> None:
        job = self.job
        data = job.data
        if self.stop_event.is_set():
            return
        if not hasattr(data, "get_batch"):  # a DataSpec: load it here, off the GUI thread
            self._put(Status("loading", QCoreApplication.translate("Workers", "loading the data…")))

            last = [-1]

            def progress(*args):
                frac, text = progress_parts(args)
                pct = -1 if frac is None else int(100 * frac)
                if pct == last[0] and not text:
                    return  # throttle: only whole-percent changes
                last[0] = pct
                text = engine_tr(text) if text else ""
                if text and pct >= 0:
                    msg = QCoreApplication.translate("Workers", "loading the data: {what} ({pct}%)…")
                elif text:
                    msg = QCoreApplication.translate("Workers", "loading the data: {what}…")
                elif pct >= 0:
                    msg = QCoreApplication.translate("Workers", "loading the data ({pct}%)…")
                else:
                    msg = QCoreApplication.translate("Workers", "loading the data…")
                self._put(Status("loading", msg.format(what=text, pct=pct)))

            data = load_dataset_for(data, progress=progress, cancel=self.stop_event)
            self._put(DataLoaded(data))
        if self.stop_event.is_set():
            return
        self._train(data)

    def _train(self, data) -> None:
        """Train on this thread (the training process's worker overrides this)."""
        job = self.job
        self._put(Status("compiling", QCoreApplication.translate("Workers", "compiling the model…")))
        trainer = Trainer(job.spec, data, job.config, weights=job.weights)
        run_live(trainer, data, self._put, self.controls, boundary=job.boundary, boundary_res=job.boundary_res)


# the data set last written for the training process, kept for the next run on the same data
EXPORTS = ExportCache()
# the training process shared by every run of this app (started early by :func:`prestart_process`)
_PROCESS: TrainProcess | None = None
_PROCESS_LOCK = threading.Lock()


def process_enabled() -> bool:
    """Live runs train in their own process unless ``NNSTUDIO_TRAIN_PROCESS=0``."""
    return os.environ.get("NNSTUDIO_TRAIN_PROCESS", "1").strip() not in ("0", "no", "false", "off")


def shared_process() -> TrainProcess:
    global _PROCESS
    with _PROCESS_LOCK:
        if _PROCESS is None:
            _PROCESS = TrainProcess()
            atexit.register(_PROCESS.close)
        if not _PROCESS.alive():
            _PROCESS.start(warm=True)
        return _PROCESS


def prestart_process() -> None:
    """Start (and warm) the training process in the background, so the first run does not wait."""
    if process_enabled():
        def start():
            remove_stale_folders()   # a crashed app's data copies
            _try(shared_process)
        threading.Thread(target=start, daemon=True, name="nnstudio-prestart").start()


def _try(fn):
    try:
        return fn()
    except ProcessGone:
        return None


class ProcessTrainWorker(TrainWorker):
    """A :class:`TrainWorker` whose trainer runs in the training process (``engine.train_process``).

    The worker's thread loads the data as before (the GUI needs the Dataset too), writes it
    for the child, sends the job and relays the child's events into the same :class:`LiveFeed`;
    Pause/Resume/Stop/Step and the boundary wish are forwarded as commands.  If the child
    cannot be started the run trains on this thread instead; if it dies mid-run the run fails
    with a message and the next run starts a new child.
    """

    def __init__(self, job: TrainJob):
        super().__init__(job)
        self._proc: TrainProcess | None = None

    def _send(self, msg: dict) -> None:
        proc = self._proc
        if proc is not None:
            try:
                proc.send(msg)
            except ProcessGone:
                pass

    def request_stop(self) -> None:
        super().request_stop()
        self._send({"cmd": "stop"})

    def request_pause(self) -> None:
        super().request_pause()
        self._send({"cmd": "pause"})

    def request_resume(self) -> None:
        super().request_resume()
        self._send({"cmd": "resume"})

    def request_step(self) -> None:
        super().request_step()
        self._send({"cmd": "step"})

    def set_boundary_wanted(self, on: bool) -> None:
        super().set_boundary_wanted(on)
        self._send({"cmd": "boundary", "on": bool(on)})

    def _train(self, data) -> None:
        job = self.job
        try:
            proc = shared_process()
        except ProcessGone as exc:
            print(f"{exc}; training in the app's process", file=sys.stderr)
            return super()._train(data)
        size = exported_bytes(data)
        if size > EXPORT_LIMIT:
            print(f"the data set needs {size / 2**30:.1f} GiB as arrays; training in the app's process",
                  file=sys.stderr)
            return super()._train(data)
        folder, kept = None, False
        try:
            self._put(Status("compiling", QCoreApplication.translate("Workers", "compiling the model…")))
            try:
                folder, desc, kept = EXPORTS.acquire(data)
            except OSError as exc:   # e.g. /dev/shm full: the run still happens, in this process
                print(f"could not hand the data to the training process ({exc}); training in the app's process",
                      file=sys.stderr)
                return super()._train(data)
            if self.stop_event.is_set():
                return
            self._proc = proc
            proc.send({"cmd": "job", "folder": folder, "data": desc, "spec": job.spec.to_dict(),
                       "config": job.config.to_dict(), "weights": job.weights, "boundary": job.boundary,
                       "boundary_res": job.boundary_res, "step": self.step_event.is_set(),
                       "boundary_wanted": self.boundary_wanted.is_set()})
            # flags set while the job was being prepared
            if self.stop_event.is_set():
                self._send({"cmd": "stop"})
            elif self.pause_event.is_set():
                self._send({"cmd": "pause"})
            while True:
                msgs = proc.read_many()     # whatever arrived: one GIL hand-over per burst, not per event
                if msgs is None:
                    code = proc.exit_code()
                    proc.close()
                    self._fail(QCoreApplication.translate(
                        "Workers", "the training process ended unexpectedly (exit code {code}); the app and your "
                                   "project are unaffected, press Train to start again").format(code=code))
                    return
                for msg in msgs:
                    if isinstance(msg, dict) and msg.get("done"):
                        return
                    if isinstance(msg, dict) and "failed" in msg:
                        self._fail(engine_tr(str(msg["failed"])))
                        continue
                    self._put(msg)
        except ProcessGone:
            self._fail(QCoreApplication.translate(
                "Workers", "the training process ended unexpectedly; press Train to start again"))
        finally:
            self._proc = None
            if not kept:
                remove_folder(folder)


@dataclass(frozen=True)
class TaskProgress:
    percent: int          # -1: unknown
    text: str


@dataclass(frozen=True)
class TaskResult:
    value: object


@dataclass(frozen=True)
class TaskFailed:
    message: str


class TaskWorker(QObject):
    """Runs ``fn(progress, cancel)`` once on its thread.

    One signal, ``event``, carries frozen events: :class:`TaskProgress` (``progress(fraction_or_None,
    text)`` calls from ``fn``, throttled to whole percents), then :class:`TaskResult` or
    :class:`TaskFailed` (nothing after a cancel).
    """

    event = Signal(object)

    def __init__(self, fn: Callable, tag: str = ""):
        super().__init__()
        self.fn = fn
        self.tag = tag
        self.cancel_event = threading.Event()
        self._last_pct = -1
        self._started = time.monotonic()

    def request_stop(self) -> None:
        self.cancel_event.set()

    def _progress(self, *args) -> None:
        frac, text = progress_parts(args)
        pct = -1 if frac is None else int(frac * 100)
        if pct != self._last_pct or text:
            self._last_pct = pct
            if not text:
                text = count_and_eta(args, time.monotonic() - self._started)
            else:
                text = engine_tr(text)
            self.event.emit(TaskProgress(pct, text))

    @Slot()
    def run(self) -> None:
        self._started = time.monotonic()
        try:
            out = self.fn(self._progress, self.cancel_event)
            if not self.cancel_event.is_set():
                self.event.emit(TaskResult(out))
        except BaseException as exc:  # noqa: BLE001
            if not self.cancel_event.is_set():
                self.event.emit(TaskFailed(user_message(exc)))
        finally:
            _quit_worker_thread()


def start_in_thread(worker: QObject, parent: QObject | None = None) -> QThread:
    """Move ``worker`` to a new ``QThread`` and start it.  The caller keeps both alive
    until ``thread.finished``; ``worker.run`` quits the thread itself when it returns."""
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    thread.start()
    return thread
