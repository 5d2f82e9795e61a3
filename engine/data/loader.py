"""load_dataset: one entry point for every kind of data source (dispatched by ``engine.data.sources``)."""
from __future__ import annotations

import threading

from engine.data.errors import DataError, LoadCancelled
from engine.data.spec import DataSpec


def load_dataset(spec: DataSpec, *, progress=None, cancel: threading.Event | None = None,
                 memory_budget: int | None = None, preprocessing: dict | None = None):
    """Load, split and preprocess the data described by ``spec``; raises :class:`DataError`.

    ``progress(done, total)`` reports decoding progress (called on the calling thread);
    setting ``cancel`` aborts with :class:`LoadCancelled`.  Image data sets larger than
    ``memory_budget`` bytes of float32 (default: min(25 % of RAM, 2 GiB)) are decoded
    into a memory-mapped uint8 cache and served batch by batch.

    ``preprocessing`` (a saved ``Dataset.preprocessing``) is applied instead of fitting a
    new transform: same columns, statistics, image size/mode and class indices, as
    needed to evaluate a trained model on new data.  Rows/images whose class the saved
    transform does not know are dropped and reported.
    """
    if not isinstance(spec, DataSpec):
        raise DataError("load_dataset needs a DataSpec")
    spec.validate()
    fixed = None
    if preprocessing is not None:
        from engine.data.preprocess import Preprocessor  # noqa: PLC0415

        fixed = Preprocessor.from_dict(preprocessing).to_dict()
    if cancel is not None and cancel.is_set():
        raise LoadCancelled("loading cancelled")
    from engine.data.sources import saved_form, source_for  # noqa: PLC0415

    form = saved_form(fixed) if fixed is not None else None
    load = form.load if form is not None and form.load is not None else source_for(spec).load
    return load(spec, progress=progress, cancel=cancel, memory_budget=memory_budget, fixed=fixed)
