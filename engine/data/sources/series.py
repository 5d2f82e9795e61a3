"""Time series: the saved transform of a model trained on windows of rows (``"timeseries"``).

A time series is read from a table (a CSV/Excel file with ``time_series`` on, or a series
sample; see :mod:`engine.data.sources.table` and :mod:`engine.data.sources.samples`); what is
its own is the predict side: new data are recent rows cut into the same windows.
"""
from __future__ import annotations

from engine.data.sources.base import SavedForm


def _load(spec, *, progress=None, cancel=None, memory_budget=None, fixed=None):
    from engine.data.timeseries import load_series  # noqa: PLC0415

    return load_series(spec, progress=progress, cancel=cancel, fixed=fixed)


def _transform_csv(pre, path, encoding="auto", meta=None, sheet=None):
    from engine.data.timeseries import transform_csv  # noqa: PLC0415

    return transform_csv(pre, path, encoding, meta, sheet)


def _prediction_columns(pre, out):
    from engine.data.timeseries import prediction_columns  # noqa: PLC0415

    return prediction_columns(pre, out)


def _in_units(model, pre, y):
    import numpy as np  # noqa: PLC0415

    from engine.data.timeseries import UnscaledModel, unscale  # noqa: PLC0415

    return UnscaledModel(model, pre), unscale(pre, y).astype(np.float32)


SERIES_FORM = SavedForm(kind="timeseries", predict_input="recent rows", transform_csv=_transform_csv,
                        prediction_columns=_prediction_columns, load=_load, in_units=_in_units)
