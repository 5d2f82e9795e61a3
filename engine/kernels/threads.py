"""Running a row-independent Numba kernel on two threads (batch halves).

Used by the recurrent time loops and by the attention softmax (independent (sample, head)
blocks; there the function is a small Python closure around ``nogil`` kernels and NumPy's
``exp``, which releases the GIL as well).

The recurrent time loops (:mod:`engine.kernels.recurrent`) never mix batch rows, release
the GIL (``nogil=True``) and sum every row in the same order wherever it falls, so splitting
the batch between the calling thread and one helper thread gives bit-identical results
(``tests/engine/test_kernels_recurrent.py`` checks it).  Plain Python threads, not Numba's
``parallel=True``: Numba's default ``workqueue`` threading layer must not be entered from
two threads at once, and a training run may be on the GUI's worker thread.

``NNSTUDIO_KERNEL_THREADS`` (default: 2 if the process may use two or more CPUs, else 1)
sets the number of threads; ``1`` turns the split off.  The benchmarks set it to their
``--threads`` so that both engines get the same number of threads.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

#: batches smaller than this run on one thread (the hand-off costs more than it saves)
MIN_ROWS = 8

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_blas_ctl = None
_blas_lock = threading.RLock()
_blas_depth = 0


def kernel_threads() -> int:
    """How many threads a split kernel uses (1 or 2)."""
    raw = os.environ.get("NNSTUDIO_KERNEL_THREADS", "").strip()
    if raw:
        try:
            return 2 if int(raw) >= 2 else 1
        except ValueError:
            return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return 2 if cpus >= 2 else 1


def _helper() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nn-kernel")
        return _pool


def run_rows(fn, n: int, *args) -> None:
    """``fn(*args, b0, b1)`` over batch rows ``0 .. n-1``: in two halves on two threads when
    allowed and the batch is large enough, else in one call."""
    if n < MIN_ROWS or kernel_threads() < 2:
        fn(*args, 0, n)
        return
    half = ((n + 1) // 2 + 3) // 4 * 4   # a multiple of 4: the matmul's row blocks stay whole
    fut = _helper().submit(fn, *args, half, n)
    try:
        fn(*args, 0, half)
    finally:
        fut.result()


def run_items(fn, n: int) -> None:
    """``fn(take)`` on the calling thread and on the helper thread, sharing work items
    ``0 .. n-1`` (e.g. blocks of images): ``take()`` returns the next unclaimed item, or
    None when none is left.  Whichever thread is running takes the next item, so on a busy
    machine the calling thread does them all if the helper is not scheduled (it is then
    cancelled, not waited for).  ``fn`` must write each item's results apart (the caller
    combines them in item order), so that the bits do not depend on who did what.
    One thread only when not allowed or ``n < 2``."""
    items = iter(range(n))
    lock = threading.Lock()

    def take():
        with lock:
            return next(items, None)

    if n < 2 or kernel_threads() < 2:
        fn(take)
        return
    fut = _helper().submit(fn, take)
    try:
        fn(take)
    finally:
        if not fut.cancel():
            fut.result()


@contextmanager
def blas_one_thread():
    """BLAS (NumPy's OpenBLAS, through threadpoolctl) on one thread inside the block.

    For code that calls BLAS from two of our threads at once (:func:`run_items`): each call
    then runs on its own core instead of both handing work to OpenBLAS's pool, and a GEMM's
    bits do not depend on how many BLAS threads the process has (W4's Winograd layer: with
    two BLAS threads the backward took 9-20 ms per batch under load, 2.7 ms split this way).
    The setting is process-wide, so blocks entered from different threads (two trainers in
    one process) run one after the other: OpenBLAS 0.3.31 did not take a thread count raised
    back from another thread than the one that lowered it (measured), so the thread that
    lowers it restores it.  Nested blocks on one thread are fine.
    """
    global _blas_ctl, _blas_depth
    with _blas_lock:
        if _blas_depth == 0:
            if _blas_ctl is None:
                from threadpoolctl import ThreadpoolController  # noqa: PLC0415 (a few ms, once)
                _blas_ctl = ThreadpoolController()
            limiter = _blas_ctl.limit(limits=1, user_api="blas")
        else:
            limiter = None
        _blas_depth += 1
        try:
            yield
        finally:
            _blas_depth -= 1
            if limiter is not None:
                limiter.restore_original_limits()


#: the environment variables by which a user fixes BLAS's thread count (then we never change it)
BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def blas_for_run(split_layers: bool):
    """BLAS threads for a whole training run.  When the model's heavy layers split their own work over
    two threads (the convolutions: Winograd blocks and im2col batch halves, each calling BLAS on one
    thread), BLAS gets one thread for the whole run: a two-thread BLAS call elsewhere in the step (the
    Dense layers) leaves OpenBLAS's second thread spinning on the core our helper thread needs.
    Measured on W4 (quiet, 2 cores, ``bench_engine.py --only W4 --threads 2 --repeat 3``): 4,264
    samples/s with two BLAS threads, 6,638 with one (PyTorch 4,946-5,083).  The recurrent layers split
    their time loops the same way (batch halves): W5 7,526 -> 10,829 samples/s with one BLAS thread
    (2026-12-04).  Attention models keep the BLAS threads they were given (W7 was slower with one:
    1,652 -> 1,204).  Nothing
    changes when the user fixed BLAS's threads (``BLAS_VARS``) or our kernels run on one thread.
    Yields whether BLAS was limited (the fused MLP step then splits its own products)."""
    if not split_layers or kernel_threads() < 2 or any(os.environ.get(v) for v in BLAS_VARS):
        yield False
        return
    with blas_one_thread():
        yield True
