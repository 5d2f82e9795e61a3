"""How the cells of a table become numbers and categories: shared by the CSV reader
(:mod:`engine.data.csvio`), the spreadsheet reader, the column analysis that fits a transform
(:mod:`engine.data.tabular`) and the fitted transform itself (:mod:`engine.data.preprocess`),
so that training data and prediction input are parsed by the same code.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from engine.data.errors import one_line

#: numeric columns parsed in bulk with at most this many cells in all are analysed, fitted and
#: transformed as one 2-D block (a wide table: 20 000 columns); more cells, one column at a time
#: (a long table: few columns, where a 2-D copy would only cost memory).  Same values either way.
BATCH_CELLS = 4_000_000

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "missing", "#n/a"})

_THOUSANDS_DOT = re.compile(r"(?<=\d)\.(?=\d{3}(?:\D|$))")


def _short(v, n: int = 40) -> str:
    s = one_line(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def _floats(values) -> np.ndarray:
    """Robust float conversion of what pd.to_numeric returned (huge ints, objects)."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (OverflowError, ValueError, TypeError):
        out = np.empty(len(values), dtype=np.float64)
        for i, v in enumerate(values):
            try:
                out[i] = float(v)
            except (OverflowError, ValueError, TypeError):
                out[i] = np.nan
        return out


def parse_numeric(col: pd.Series, decimal: str = ".") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values float64 with NaN where missing, missing mask, bad mask).

    ``bad`` marks present values that are not finite numbers.  Accepts raw text
    columns (as read from a CSV) and typed columns (as from ``pd.read_csv``).
    """
    n = len(col)
    if pd.api.types.is_bool_dtype(col.dtype):
        vals = np.array(col.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        miss = np.isnan(vals)
        return vals, miss, np.zeros(n, dtype=bool)
    if pd.api.types.is_numeric_dtype(col.dtype):
        vals = np.array(_floats(col.to_numpy(dtype=np.float64, na_value=np.nan)), dtype=np.float64)
        miss = np.isnan(vals)
        bad = np.isinf(vals)
        vals[bad] = np.nan
        return vals, miss, bad
    obj = col.to_numpy(dtype=object)
    if decimal == "." and n and pd.api.types.infer_dtype(obj, skipna=False) == "string":
        # Fast path, exact: when every cell is text that converts to a finite number as it
        # stands, no cell is missing (every missing token converts to NaN) and stripping
        # changes no value (the converter skips surrounding whitespace itself), so the
        # general path below would convert these very strings the same way.  Anything else
        # (a missing value, a word, inf) takes the general path.
        fast = pd.to_numeric(obj, errors="coerce")
        if fast.dtype.kind in "iuf":
            vals = np.array(_floats(fast), dtype=np.float64)
            if np.isfinite(vals).all():
                return vals, np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    isna = np.asarray(pd.isna(obj), dtype=bool).reshape(n)
    text = pd.Series([("" if m else str(v)) for v, m in zip(obj, isna)], dtype=object).str.strip()
    miss = isna | text.str.lower().isin(MISSING_TOKENS).to_numpy(dtype=bool)
    if decimal == ",":
        text = text.str.replace(_THOUSANDS_DOT, "", regex=True).str.replace(",", ".", regex=False)
    text = text.where(~miss, None)
    vals = np.array(_floats(pd.to_numeric(text, errors="coerce").to_numpy()), dtype=np.float64)
    bad = ~miss & ~np.isfinite(vals)
    vals[bad | miss] = np.nan
    return vals, miss, bad


class LazyColumn:
    """``df[name]``, looked up on first use: in a wide frame the lookups cost more than
    converting the values that :func:`parse_numeric_many` already parsed."""

    def __init__(self, df: pd.DataFrame, name):
        self._df, self._name, self._col = df, name, None

    def __getattr__(self, attr):
        if self._col is None:
            self._col = self._df[self._name]
        return getattr(self._col, attr)

    def __len__(self):
        return len(self._df)


def parse_categorical(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(object array of stripped strings with None where missing, missing mask)."""
    obj = col.to_numpy(dtype=object)
    out = np.empty(len(obj), dtype=object)
    miss = np.zeros(len(obj), dtype=bool)
    for i, v in enumerate(obj):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
            miss[i] = True
            continue
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            s = str(int(v))
        else:
            s = str(v).strip()
        if s.lower() in MISSING_TOKENS:
            miss[i] = True
        else:
            out[i] = s
    return out, miss


def header_names(first: list[str]) -> list[str]:
    """Column names from a header row: blanks become ``column<j>``, repeats get ``.1``, ``.2``, ..."""
    names, seen = [], {}
    for j, h in enumerate(first):
        h = h.strip() or f"column{j + 1}"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        seen.setdefault(h, 0)
        names.append(h)
    return names
