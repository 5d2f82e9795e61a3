"""The training process: the app's live runs train here, beside (not inside) the GUI process.

Why a process: the GUI thread and a training thread share one interpreter lock, so every
frame the GUI draws is time the trainer cannot run (measured in ``docs/training.md``).  In
its own process the trainer runs on its own core at command-line speed, and a crash inside
a kernel cannot take the window (and unsaved work) with it.

Protocol (``engine.wire`` frames, never pickle) on the child's stdin/stdout:

* parent -> child: ``{"cmd": "job", ...}`` (graph, settings, weights, data files, options),
  then any of ``{"cmd": "pause" | "resume" | "stop" | "step"}`` and
  ``{"cmd": "boundary", "on": bool}``; closing stdin ends the process;
* child -> parent: the trainer's events (``engine.trainer`` dataclasses), decision-boundary maps
  (``engine.live.BoundaryMap``), ``{"failed": message}`` for errors outside the trainer, and ``{"done": True}``
  after each job.  Anything the child prints goes to stderr.

The data travels as ``.npy`` files (``export_dataset``, in ``/dev/shm`` where it exists)
that the child memory-maps; the parent deletes them after the run.  One child serves run
after run, so Numba's compiled kernels stay loaded (:class:`TrainProcess`).
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from engine import wire
from engine.files import os_reason
from engine.kernels.threads import BLAS_VARS
from engine.live import BoundaryMap
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

EVENT_TYPES = {c.__name__: c for c in (BatchEnded, BoundaryMap, Diverged, EpochEnded, Status, TrainFailed,
                                       TrainFinished, TrainStarted)}
#: rows copied at a time when a data set is written for the child
EXPORT_CHUNK = 8192


class ProcessGone(RuntimeError):
    """The training process is not running (it ended, or could not be started)."""


# ------------------------------------------------------------------ data hand-over
def _as_arrays(xb) -> dict[str, np.ndarray]:
    if isinstance(xb, dict):
        return {str(k): np.asarray(v) for k, v in xb.items()}
    return {"": np.asarray(xb)}


def export_dataset(ds, folder: str | Path) -> dict:
    """Write every split of ``ds`` (anything with ``n``/``get_batch``) as ``.npy`` files; returns the
    description :func:`open_dataset` reads back."""
    folder = Path(folder)
    desc: dict[str, Any] = {"task": getattr(ds, "task", "classification"),
                            "input_shape": [int(v) for v in ds.input_shape],
                            "n_outputs": int(getattr(ds, "n_outputs", 1)),
                            "class_names": list(getattr(ds, "class_names", None) or []) or None,
                            "splits": {}}
    if getattr(ds, "input_shapes", None):  # several inputs (named)
        desc["input_shapes"] = {str(k): [int(v) for v in s] for k, s in ds.input_shapes.items()}
    for split in ("train", "val", "test"):
        n = int(ds.n(split))
        files: dict[str, Any] = {"n": n, "x": {}, "y": None}
        shared = _shared_x(ds, split)
        if shared is not None:  # a memory-mapped table: the child maps the same file, nothing is copied
            files["x"][""] = shared
            np.save(folder / f"{split}_y.npy", np.asarray(ds.y(split)), allow_pickle=False)
            files["y"] = f"{split}_y.npy"
            desc["splits"][split] = files
            continue
        outs: dict[str, np.ndarray] = {}
        y_out = None
        for start in range(0, max(n, 1), EXPORT_CHUNK):
            idx = np.arange(start, min(n, start + EXPORT_CHUNK), dtype=np.int64)
            xb, yb = ds.get_batch(split, idx)
            xs, yb = _as_arrays(xb), np.asarray(yb)
            if not outs:
                for key, a in xs.items():
                    name = f"{split}_x{'_' + str(len(outs)) if key else ''}.npy"
                    outs[key] = np.lib.format.open_memmap(folder / name, mode="w+", dtype=a.dtype,
                                                          shape=(n, *a.shape[1:]))
                    files["x"][key] = name
                y_out = np.lib.format.open_memmap(folder / f"{split}_y.npy", mode="w+", dtype=yb.dtype,
                                                  shape=(n, *yb.shape[1:]))
                files["y"] = f"{split}_y.npy"
            if len(idx):
                for key, a in xs.items():
                    outs[key][start:start + len(idx)] = a
                y_out[start:start + len(idx)] = yb
        for m in (*outs.values(), y_out):
            if m is not None:
                m.flush()
        desc["splits"][split] = files
    return desc


def _shared_x(ds, split: str) -> dict | None:
    """``{"path", "start", "stop"}`` when the split's ``x`` is rows of a memory-mapped ``.npy`` file
    (``Dataset.x_files``: a large table) that the child can map itself."""
    f = (getattr(ds, "x_files", None) or {}).get(split)
    if isinstance(f, dict) and os.path.isfile(str(f.get("path"))):
        return {"path": str(f["path"]), "start": int(f["start"]), "stop": int(f["stop"])}
    return None


def exported_bytes(ds) -> int:
    """What :func:`export_dataset` would write (from one row of each split)."""
    total = 0
    for split in ("train", "val", "test"):
        n = int(ds.n(split))
        if n:
            xb, yb = ds.get_batch(split, np.arange(1))
            x_bytes = 0 if _shared_x(ds, split) else sum(a.nbytes for a in _as_arrays(xb).values())
            total += n * (x_bytes + np.asarray(yb).nbytes)
    return total


class ArrayDataset:
    """The child's view of an exported data set (memory-mapped, read-only)."""

    def __init__(self, folder: str | Path, desc: dict):
        folder = Path(folder)
        self.task = desc["task"]
        self.input_shape = tuple(desc["input_shape"])
        self.n_outputs = int(desc["n_outputs"])
        self.class_names = desc.get("class_names")
        shapes = desc.get("input_shapes")
        self.input_shapes = {str(k): tuple(v) for k, v in shapes.items()} if isinstance(shapes, dict) else None
        self._x: dict[str, dict[str, np.ndarray]] = {}
        self._y: dict[str, np.ndarray] = {}
        for split, files in desc["splits"].items():
            self._x[split] = {k: _open_x(folder, f) for k, f in files["x"].items()}
            self._y[split] = np.asarray(np.load(folder / files["y"], mmap_mode="r", allow_pickle=False))

    def n(self, split: str) -> int:
        return len(self._y[split])

    def get_batch(self, split: str, idx):
        idx = np.asarray(idx, dtype=np.int64)
        xs = self._x[split]
        x = xs[""][idx] if "" in xs else {k: v[idx] for k, v in xs.items()}
        return x, self._y[split][idx]


#: the child's last opened data set: (key, ArrayDataset).  The parent keeps a data set's folder for
#: the next run on the same data (ExportCache), and the same mapping then serves that run too: a
#: fresh mapping page-faults every page in again on first touch (P3's 188 MB: ~47,000 faults).
_last_open: list = []


def _folder_key(folder, desc: dict):
    try:
        st = os.stat(Path(folder) / next(iter(desc["splits"].values()))["y"])
    except (OSError, StopIteration, KeyError, TypeError):
        return None
    return (str(folder), json.dumps(desc, sort_keys=True, default=str), st.st_ino, st.st_mtime_ns)


def open_dataset(folder: str | Path, desc: dict) -> ArrayDataset:
    """:class:`ArrayDataset` of ``folder``, the one opened for the last run when it is the same
    folder and description (only the last one is kept, so an old mapping never outlives a new
    data set's).  Not on Windows, which cannot delete a mapped file."""
    # Windows cannot delete a file that is still mapped: there the parent's cleanup wins
    key = _folder_key(folder, desc) if os.name != "nt" else None
    if key is not None and _last_open and _last_open[0][0] == key:
        return _last_open[0][1]
    _last_open.clear()
    data = ArrayDataset(folder, desc)
    if key is not None:
        _last_open.append((key, data))
    return data


def _open_x(folder: Path, f) -> np.ndarray:
    """An exported ``x`` file, or rows ``start:stop`` of the parent's memory-mapped table (``_shared_x``)."""
    if isinstance(f, dict):
        return np.asarray(np.load(f["path"], mmap_mode="r", allow_pickle=False)[int(f["start"]):int(f["stop"])])
    return np.asarray(np.load(folder / f, mmap_mode="r", allow_pickle=False))


FOLDER_PREFIX = "nnstudio-run-"


def _folder_base() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def data_folder() -> str:
    """A new folder for one run's data (in RAM where the system offers /dev/shm).  Its name holds this
    process's id, so that :func:`remove_stale_folders` can tell a crashed app's folders."""
    return tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=_folder_base())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True   # someone else's process: not ours to judge
    return True


def remove_stale_folders(base: str | None = None) -> list[str]:
    """Delete data folders left by an app that ended without cleaning up (a crash, a kill); returns them.
    Only folders named by :func:`data_folder` whose process no longer runs are touched."""
    base = base if base is not None else (_folder_base() or tempfile.gettempdir())
    removed = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    for e in entries:
        if not e.name.startswith(FOLDER_PREFIX):
            continue
        pid = e.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            try:
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path, ignore_errors=True)
                    removed.append(e.path)
            except OSError:
                pass
    return removed


def keep_limit() -> int:
    """The largest exported data set kept between runs: min(1 GiB, an eighth of the RAM)."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        ram = 2 * 2**30
    return int(min(2**30, ram // 8))


class ExportCache:
    """The data set last written for the training process, kept for the next run on the same data set.

    Pressing Train again (after Reset, a changed setting or a changed graph) on the same loaded data
    then starts at once instead of writing the arrays again (0.2-0.3 s for 60 000 MNIST rows).  One
    entry: a different data set replaces it; the folder goes when the data set is freed, on
    :meth:`clear` and at exit.  Data sets above :func:`keep_limit` are written per run and removed
    after it, as before (the copy doubles their memory while kept)."""

    def __init__(self, limit: int | None = None):
        self.limit = keep_limit() if limit is None else int(limit)
        self._lock = threading.Lock()
        self._ref = None
        self._entry: tuple[str, dict] | None = None
        self._finalizer = None
        self.writes = 0   # data sets written (a counter for tests)

    def acquire(self, ds) -> tuple[str, dict, bool]:
        """``(folder, description, kept)`` for ``ds``: the kept copy when it is the same data set, else a
        new one.  ``kept`` False: the caller removes the folder after the run.  OSError from writing."""
        with self._lock:
            if self._entry is not None and self._ref is not None and self._ref() is ds \
                    and os.path.isdir(self._entry[0]):
                return self._entry[0], self._entry[1], True
        folder = data_folder()
        try:
            desc = export_dataset(ds, folder)
        except BaseException:
            remove_folder(folder)
            raise
        self.writes += 1
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        if size > self.limit:
            return folder, desc, False
        try:
            ref = weakref.ref(ds)
        except TypeError:   # not weak-referenceable: cannot tell when it is freed, so never kept
            return folder, desc, False
        with self._lock:
            self._drop()
            self._ref, self._entry = ref, (folder, desc)
            self._finalizer = weakref.finalize(ds, remove_folder, folder)
        return folder, desc, True

    def _drop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()   # removes the folder (once)
        self._ref = self._entry = self._finalizer = None

    def clear(self) -> None:
        with self._lock:
            self._drop()


# ------------------------------------------------------------------ the child
def _user_message(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "not enough memory for this data or model; try a smaller batch size, image size or model"
    if isinstance(exc, ValueError):
        return (str(exc).strip() or type(exc).__name__).splitlines()[0]
    traceback.print_exception(exc, file=sys.stderr)
    return f"unexpected error ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else '-'})"


class FrameWriter:
    """Frames to the parent, written in bursts: at most every :data:`FLUSH_S` seconds (a background
    flusher), at once for events that change what the user sees (status, start, end, failure).

    One write per burst instead of one per event: the parent's reader wakes (and takes its GIL) a
    few dozen times a second, not for each of thousands of epochs.  Events are encoded at the burst
    too, not as they are put: encoding each one between two epochs cost a small run (P1, 1 ms
    epochs) about 8 % of its time (JSON and Python objects pushing the trainer's data out of cache),
    encoding them 20 ms at a time costs a fraction of that.  Events are immutable (the trainer never
    changes an event it has yielded; the in-process worker relies on the same), so encoding later
    sends the same bytes."""

    FLUSH_S = 0.02
    URGENT = (Status, TrainStarted, TrainFinished, TrainFailed, Diverged)

    def __init__(self, out, flush_s: float | None = None):
        self.out = out
        if flush_s is not None:
            self.FLUSH_S = flush_s
        self._pending: list = []
        self._lock = threading.Lock()
        threading.Thread(target=self._flusher, daemon=True, name="nnstudio-frames").start()

    def put(self, ev) -> None:
        with self._lock:
            self._pending.append(ev)
        if isinstance(ev, self.URGENT) or (isinstance(ev, dict) and ("done" in ev or "failed" in ev)):
            self.flush()

    @staticmethod
    def _encode(ev) -> bytes:
        try:
            return wire.encode(ev)
        except wire.WireError as exc:   # a bug in NN Studio: say so instead of losing the event silently
            return wire.encode({"failed": f"internal error: {exc}"})

    def flush(self) -> None:
        with self._lock:   # held while writing: two flushes never interleave their frames
            if self._pending:
                evs, self._pending = self._pending, []
                self.out.write(b"".join([self._encode(ev) for ev in evs]))
                self.out.flush()

    def _flusher(self) -> None:
        while True:   # a daemon thread: it ends with the process
            time.sleep(self.FLUSH_S)
            try:
                self.flush()
            except (OSError, ValueError):
                return


def _run_job(job: dict, controls, out) -> None:
    from engine.live import run_live
    from engine.spec import GraphSpec
    from engine.trainer import Trainer

    put = out.put

    try:
        data = open_dataset(job["folder"], job["data"])
        cfg = TrainConfig.from_dict(job["config"])
        trainer = Trainer(GraphSpec.from_dict(job["spec"]), data, cfg, weights=job.get("weights"))
        threads = None if user_set_threads() else blas_threads(model_macs(trainer.model) * cfg.batch_size)
        with _Threads(threads):
            run_live(trainer, data, put, controls, boundary=bool(job.get("boundary", True)),
                     boundary_res=int(job.get("boundary_res", 64)))
    except BaseException as exc:  # noqa: BLE001 - report and serve the next job
        put({"failed": _user_message(exc)})
    finally:
        put({"done": True})


def _warm_up() -> None:
    """Load the common kernels (Dense, Adam, cross-entropy) so the first run does not wait for them."""
    from engine.spec import sequential
    from engine.trainer import Trainer

    class Tiny:
        task, input_shape, n_outputs = "classification", (2,), 2

        def n(self, split):
            return 8 if split != "test" else 0

        def get_batch(self, split, idx):
            rng = np.random.default_rng(0)
            return rng.random((len(idx), 2), dtype=np.float32), (np.asarray(idx) % 2).astype(np.int64)

    graph = sequential([("Input.v1", {"shape": [2]}), ("Dense.v1", {"units": 4, "activation": "tanh"}),
                        ("Dense.v1", {"units": 2, "activation": "softmax"})])
    for _ in Trainer(graph, Tiny(), TrainConfig(epochs=1, batch_size=4, histograms=True)).run():
        pass
    # the other kernel modules are imported lazily by their layers (engine.lazy): import them now
    import engine.kernels.attention
    import engine.kernels.conv
    import engine.kernels.layernorm
    import engine.kernels.pool
    import engine.kernels.recurrent  # noqa: F401


def serve(inp, out) -> None:
    """Read jobs and commands from ``inp``; run jobs one after the other, events to ``out``."""
    from engine.live import Controls

    jobs: queue.Queue = queue.Queue()
    current: list = [None]

    def reader():
        try:
            while True:
                msg = wire.read_frame(inp)
                if msg is None:
                    break
                cmd = msg.get("cmd") if isinstance(msg, dict) else None
                if cmd == "job":
                    c = Controls()
                    if not msg.get("boundary_wanted", True):
                        c.boundary_wanted.clear()
                    if msg.get("step"):
                        c.step.set()
                    current[0] = c
                    jobs.put((msg, c))
                    continue
                c = current[0]
                if c is None:
                    continue
                if cmd == "stop":
                    c.request_stop()
                elif cmd == "pause":
                    c.request_pause()
                elif cmd == "resume":
                    c.request_resume()
                elif cmd == "step":
                    c.request_step()
                elif cmd == "boundary":
                    (c.boundary_wanted.set if msg.get("on") else c.boundary_wanted.clear)()
        except wire.WireError as exc:
            print(f"training process: {exc}", file=sys.stderr)
        finally:
            c = current[0]
            if c is not None:
                c.request_stop()
            jobs.put(None)

    threading.Thread(target=reader, daemon=True, name="nnstudio-commands").start()
    writer = out if isinstance(out, FrameWriter) else FrameWriter(out)
    while True:
        item = jobs.get()
        if item is None:
            return
        msg, controls = item
        _run_job(msg, controls, writer)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from engine.userdirs import configure_numba_cache
    configure_numba_cache()   # normally inherited from the app (NUMBA_CACHE_DIR); checked again here
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())   # stray prints must not corrupt the frames
    if "--warm" in argv:
        try:
            _warm_up()
        except Exception:  # noqa: BLE001 - warming is an optimisation
            traceback.print_exc()
    serve(sys.stdin.buffer, out)
    return 0


# ------------------------------------------------------------------ the parent's handle
#: forward multiply-adds per batch from which a run in the training process uses every core
#: (below it, one core is left to the window): measured in ``docs/training.md``
BIG_BATCH_MACS = 8_000_000
THREAD_VARS = (*BLAS_VARS, "NNSTUDIO_KERNEL_THREADS")


def blas_threads(batch_macs: float = 0.0, cores: int | None = None) -> int:
    """Threads (BLAS and NN Studio's split kernels) for a run of ``batch_macs`` forward multiply-adds
    per batch.  Small models leave one core to the window, which draws while the run trains: a
    two-thread BLAS on a two-core machine whose other core is drawing waits at every barrier for
    the descheduled thread.  Large ones (big matrix products) gain more from the second thread."""
    cores = int((os.cpu_count() if cores is None else cores) or 1)
    return cores if batch_macs >= BIG_BATCH_MACS else max(1, cores - 1)


def user_set_threads(env=None) -> bool:
    """Whether the user fixed the thread counts (then the training process never changes them)."""
    env = os.environ if env is None else env
    return any(env.get(n) for n in THREAD_VARS)


def model_macs(model) -> int:
    """Forward multiply-adds per sample of a compiled model (``engine.explain.analyze``'s count)."""
    from engine.explain.analyze import layer_macs  # noqa: PLC0415

    total = 0
    for nid in model.order:
        try:
            total += layer_macs(model.layers[nid], [tuple(model.shapes[s]) for s in model.sources[nid]],
                                tuple(model.shapes[nid]))
        except Exception:  # noqa: BLE001 - a count for a thread choice, never an error
            pass
    return int(total)


class _Threads:
    """Limit BLAS (threadpoolctl) and the split kernels to ``n`` threads for one job."""

    def __init__(self, n: int | None):
        self.n, self._limits, self._old = n, None, None

    def __enter__(self):
        if self.n is None:
            return self
        from threadpoolctl import threadpool_limits  # noqa: PLC0415

        self._limits = threadpool_limits(limits=self.n, user_api="blas")
        self._old = os.environ.get("NNSTUDIO_KERNEL_THREADS")
        os.environ["NNSTUDIO_KERNEL_THREADS"] = str(self.n)
        return self

    def __exit__(self, *exc):
        if self._limits is not None:
            self._limits.restore_original_limits()
            if self._old is None:
                os.environ.pop("NNSTUDIO_KERNEL_THREADS", None)
            else:
                os.environ["NNSTUDIO_KERNEL_THREADS"] = self._old
        return False


class TrainProcess:
    """One long-lived child process that runs jobs (start it early: it warms its kernels)."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._buf = bytearray()
        self._ready: list = []

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, warm: bool = True) -> None:
        if self.alive():
            return
        self._buf, self._ready = bytearray(), []
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        cmd = [sys.executable, "-m", "engine.train_process"] + (["--warm"] if warm else [])
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=root)
        except OSError as exc:
            self.proc = None
            raise ProcessGone(f"could not start the training process: {os_reason(exc)}") from None

    def send(self, msg: dict) -> None:
        with self._lock:
            p = self.proc
            if p is None or p.stdin is None:
                raise ProcessGone("the training process is not running")
            try:
                wire.write_frame(p.stdin, msg)
            except (BrokenPipeError, OSError, ValueError):
                raise ProcessGone("the training process has ended") from None

    def read(self):
        """The next message, or ``None`` when the process has ended."""
        if not self._ready:
            self._ready = self.read_many() or []
            if not self._ready:
                return None
        return self._ready.pop(0)

    def read_many(self) -> list | None:
        """Every message that has arrived (waiting for at least one), or ``None`` when the process has
        ended.  One large read takes whatever the child wrote since the last call."""
        if self._ready:
            out, self._ready = self._ready, []
            return out
        p = self.proc
        if p is None or p.stdout is None:
            return None
        fd = p.stdout.fileno()
        try:
            while True:
                msgs = wire.split_frames(self._buf, EVENT_TYPES)
                if msgs:
                    return msgs
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return None
                self._buf += chunk
        except (OSError, ValueError):
            return None

    def exit_code(self, timeout: float = 2.0) -> int | None:
        p = self.proc
        if p is None:
            return None
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self, timeout: float = 3.0) -> None:
        p, self.proc = self.proc, None
        if p is None:
            return
        try:
            if p.stdin is not None:
                p.stdin.close()
            p.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            p.kill()
            p.wait(timeout)
        for f in (p.stdout,):
            if f is not None:
                f.close()


def remove_folder(folder: str | None) -> None:
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
