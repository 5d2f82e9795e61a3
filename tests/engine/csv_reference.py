"""The CSV reader and numeric parsing as they were before the columnar path (issue #18),
kept verbatim as the reference that ``test_data_csv_fast.py`` and the ``csv_dual`` plugin
compare the new code with.  Only the shared helpers are imported from the engine."""
from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd

from engine.data.columns import _THOUSANDS_DOT, MISSING_TOKENS, _floats, header_names
from engine.data.csvio import _NUM_COMMA, _NUM_DOT, DELIMITERS, SNIFF_LINES
from engine.data.errors import DataError


def _records(text: str, delimiter: str, limit: int | None = None) -> tuple[list[list[str]], list[int]]:
    """Non-blank records and their (1-based) line numbers, via the csv module."""
    rows, lines = [], []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True,
                        skipinitialspace=False, strict=False)
    start = 1
    try:
        for rec in reader:
            end = reader.line_num
            if rec and any(f.strip() for f in rec):
                rows.append(rec)
                lines.append(start)
                if limit is not None and len(rows) >= limit:
                    break
            start = end + 1
    except csv.Error as exc:
        raise DataError(f"line {reader.line_num}: {exc}") from None
    return rows, lines


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:SNIFF_LINES])
    best, best_score = ",", (0.0, 0)
    for d in DELIMITERS:
        try:
            rows, _ = _records(sample, d)
        except DataError:
            continue
        if not rows:
            continue
        counts = np.array([len(r) for r in rows])
        vals, freq = np.unique(counts, return_counts=True)
        mode = int(vals[np.argmax(freq)])
        if mode < 2:
            continue
        score = (float(freq.max()) / len(counts), mode)
        if score > best_score:
            best, best_score = d, score
    return best


def sniff_decimal(rows: list[list[str]], delimiter: str) -> str:
    if delimiter == ",":
        return "."
    dot = comma = 0
    for r in rows:
        for f in r:
            f = f.strip()
            if _NUM_COMMA.match(f):
                comma += 1
            elif _NUM_DOT.match(f) and "." in f:
                dot += 1
    return "," if comma > dot else "."


def _is_num(s: str, decimal: str) -> bool:
    s = s.strip()
    if decimal == ",":
        return bool(_NUM_COMMA.match(s) or re.match(r"^[+-]?\d+$", s))
    return bool(_NUM_DOT.match(s))


def sniff_header(rows: list[list[str]], decimal: str) -> bool:
    """No header only when row 1 is numeric in every column that is numeric below it."""
    if len(rows) < 2:
        return True
    first, body = rows[0], rows[1:]
    numeric_cols = []
    for j in range(len(first)):
        vals = [r[j].strip() for r in body if j < len(r) and r[j].strip().lower() not in MISSING_TOKENS]
        if vals and sum(_is_num(v, decimal) for v in vals) >= 0.8 * len(vals):
            numeric_cols.append(j)
    if not numeric_cols:
        return True
    return not all(_is_num(first[j], decimal) for j in numeric_cols)


def parse_text(text: str, name: str, *, limit: int | None = None) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """Sniff and parse CSV text into a frame of strings; ``(frame, meta, row_labels)``."""
    delimiter = sniff_delimiter(text)
    try:
        rows, lines = _records(text, delimiter, None if limit is None else limit + 1)
    except DataError as exc:
        raise DataError(f"{name}, {exc}") from None
    if not rows:
        raise DataError(f"{name}: the file is empty")
    decimal = sniff_decimal(rows[:SNIFF_LINES], delimiter)
    header = sniff_header(rows[:SNIFF_LINES], decimal)
    width = len(rows[0])
    for rec, ln in zip(rows, lines):
        if len(rec) != width:
            # a trailing delimiter on data lines only is a common export quirk
            if len(rec) == width + 1 and not rec[-1].strip():
                continue
            raise DataError(f"{name}, line {ln}: {len(rec)} fields, but {'the header has' if header else 'line ' + str(lines[0]) + ' has'} "
                            f"{width} (ragged rows; is the delimiter {delimiter!r} right?)")
    names = header_names(rows[0]) if header else [f"column{j + 1}" for j in range(width)]
    body, body_lines = (rows[1:], lines[1:]) if header else (rows, lines)
    if limit is not None:
        body, body_lines = body[:limit], body_lines[:limit]
    if not body:
        raise DataError(f"{name}: no data rows (only a header)")
    df = None
    if limit is None:
        try:
            df = pd.read_csv(io.StringIO(text), sep=delimiter, header=None, dtype=str, na_filter=False,
                             skip_blank_lines=True, quotechar='"', engine="c", names=list(range(width)),
                             index_col=False)
        except (pd.errors.ParserError, ValueError, csv.Error, IndexError, OverflowError):
            df = None
        if df is not None:
            if header:
                df = df.iloc[1:]
            if (len(df) != len(body) or df.shape[1] != width
                    or df.iloc[0].astype(str).tolist() != body[0][:width]
                    or df.iloc[-1].astype(str).tolist() != body[-1][:width]):
                df = None  # the csv pre-pass and pandas disagree (odd quoting): trust the pre-pass
    if df is None:
        df = pd.DataFrame([r[:width] for r in body], columns=list(range(width)), dtype=object)
    df.columns = names
    df = df.reset_index(drop=True)
    # drop an unnamed, entirely empty column (trailing delimiters)
    for j, c in enumerate(list(df.columns)):
        if c == f"column{j + 1}" and header and df[c].astype(str).str.strip().eq("").all():
            df = df.drop(columns=c)
    labels = np.array([f"line {ln}" for ln in body_lines], dtype=object)
    meta = {"name": name, "delimiter": delimiter, "decimal": decimal, "header": header}
    return df, meta, labels


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


