"""CSV and spreadsheet files (``kind="csv"``), with text columns and time series as features of a table.

Free-text columns (``engine.data.text``) are not a source of their own: any table source with
``columns`` has them (the ``text columns`` options).  A time series (``engine.data.timeseries``)
is a table whose rows are time steps: the ``time_series`` option of this source (and of the
series samples) turns it on, and the ``time series`` options apply only then.
"""
from __future__ import annotations

from engine.data.sources.base import PATH_FILE, PREVIEW_TABLE, DataSource, SavedForm

TABLE_OPTIONS = ("target", "features", "task", "val_split", "test_split", "seed", "scaling", "missing")
TEXT_OPTIONS = ("text_columns", "text_mode", "text_vocab", "text_max_len", "inputs")
SERIES_OPTIONS = ("time_series", "time_column", "window", "horizon", "stride")


def is_series(spec) -> bool:
    return bool(spec.time_series)


def _sheet(spec) -> bool:
    from engine.data.sheets import is_spreadsheet  # noqa: PLC0415

    return is_spreadsheet(str(spec.path).strip())


def _series_only(spec) -> bool:
    return is_series(spec)


def load(spec, *, progress=None, cancel=None, memory_budget=None, fixed=None):
    if spec.time_series:
        from engine.data.timeseries import load_series  # noqa: PLC0415

        return load_series(spec, progress=progress, cancel=cancel, fixed=fixed)
    from engine.data.csvio import load_csv  # noqa: PLC0415

    return load_csv(spec, progress=progress, cancel=cancel, fixed=fixed, memory_budget=memory_budget)


def preview(spec, cancel=None):
    """``("table", preview_csv(...))``, with the series rows under ``"series"`` for a time series."""
    from engine.data.csvio import preview_csv  # noqa: PLC0415

    info = preview_csv(spec.path, encoding=spec.encoding, sheet=spec.sheet)
    if spec.time_series:
        from engine.data.timeseries import preview_series  # noqa: PLC0415

        info = {**info, "series": preview_series(spec)}
    return (PREVIEW_TABLE, info)


SOURCE = DataSource(
    kind="csv", label="CSV or Excel file", load=load, path=PATH_FILE, preview=preview, columns=True,
    patterns=(("Tables", ("*.csv", "*.tsv", "*.txt", "*.xlsx", "*.xlsm")), ("All files", ("*",))),
    claim=lambda d: d, fallback=True,
    options=TABLE_OPTIONS + ("encoding", "sheet") + SERIES_OPTIONS + TEXT_OPTIONS,
    when={"encoding": lambda s: not _sheet(s), "sheet": _sheet,
          **{o: _series_only for o in SERIES_OPTIONS[1:]}},
)


TABLE_FORM = SavedForm(kind="tabular", predict_input="row", rows=True)
