"""CSV reading with sniffing: encoding, delimiter, decimal comma, header row."""
from __future__ import annotations

import codecs
import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.encoding import _bom, decode, label, normalise
from engine.data.errors import DataError
from engine.data.tabular import MISSING_TOKENS, analyse_column, propose_task
from engine.files import os_reason, regular_file_problem

DELIMITERS = (",", ";", "\t", "|")
MAX_FILE_BYTES = 2 * 2**30
SNIFF_LINES = 200
_NUM_DOT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_NUM_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)?,\d+([eE][+-]?\d+)?$")


def _name(path) -> str:
    return os.path.basename(str(path)) or str(path)


def decode_bytes(raw: bytes, name: str, encoding: str = "auto", *, complete: bool = True) -> tuple[str, str, bool]:
    """``(text, encoding, detected)``: strict decoding by the rule in :mod:`engine.data.encoding`."""
    if not raw.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise DataError(f"{name}: the file is empty")
    if b"\x00" in raw[:4096] and _bom(raw) != "utf-16" and normalise(encoding) in ("auto", "utf-8", "utf-8-sig"):
        enc = _utf16_without_bom(raw)
        if enc is None:
            raise DataError(f"{name}: this is not a text (CSV) file")
        encoding = enc
    text, enc, detected = decode(raw, name, encoding, complete=complete)
    if "\x00" in text:
        raise DataError(f"{name}: this is not a text (CSV) file")
    if not text.strip():
        raise DataError(f"{name}: the file is empty")
    return text, enc, detected


def _utf16_without_bom(raw: bytes) -> str | None:
    """UTF-16 without a BOM, recognised by its zero bytes (text with ASCII digits, commas, line ends)."""
    head = raw[:4096]
    even, odd = head[0::2], head[1::2]
    if len(head) >= 8 and odd.count(0) > 0.3 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if len(head) >= 8 and even.count(0) > 0.3 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


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


def _read_text(path, max_bytes: int | None = None, encoding: str = "auto") -> tuple[str, str, bool]:
    name = _name(path)
    p = Path(path)
    if not p.exists():
        raise DataError(f"{path}: file not found")
    if p.is_dir():
        raise DataError(f"{path}: is a folder, not a CSV file")
    problem = regular_file_problem(p)
    if problem:
        raise DataError(problem)
    try:
        size = p.stat().st_size
        if max_bytes is None and size > MAX_FILE_BYTES:
            raise DataError(f"{name}: file too large ({size / 2**30:.1f} GiB; limit 2 GiB)")
        with open(p, "rb") as fh:
            raw = fh.read() if max_bytes is None else fh.read(max_bytes)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({os_reason(exc)})") from None
    partial = max_bytes is not None and len(raw) == max_bytes
    if partial:
        # cut at the last line end so no half line (or half character) is sniffed
        if raw.startswith(codecs.BOM_UTF16_LE):
            k = next((i for i in range(len(raw) - 2, 1, -1) if i % 2 == 0 and raw[i:i + 2] == b"\n\x00"), -1)
        elif raw.startswith(codecs.BOM_UTF16_BE):
            k = next((i for i in range(len(raw) - 2, 1, -1) if i % 2 == 0 and raw[i:i + 2] == b"\x00\n"), -1)
        else:
            k = raw.rfind(b"\n")
            k = k - 1 if k > 0 else -1
        if k > 0:
            raw = raw[: k + 2]
    return decode_bytes(raw, name, encoding, complete=not partial)


def _header_names(first: list[str]) -> list[str]:
    names, seen = [], {}
    for j, h in enumerate(first):
        h = h.strip() or f"column{j + 1}"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        seen.setdefault(h, 0)
        names.append(h)
    return names


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
    names = _header_names(rows[0]) if header else [f"column{j + 1}" for j in range(width)]
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


def read_csv_frame(path, encoding: str = "auto", sheet: str | None = None) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """A CSV/text file (or one sheet of an ``.xlsx`` workbook) as a frame; ``(frame, meta, row_labels)``."""
    from engine.data.sheets import is_spreadsheet, read_sheet_frame  # noqa: PLC0415

    if is_spreadsheet(path):
        return read_sheet_frame(path, sheet)
    text, enc, detected = _read_text(path, encoding=encoding)
    df, meta, labels = parse_text(text, _name(path))
    meta["encoding"] = enc
    meta["encoding_detected"] = detected
    return df, meta, labels


def preview_csv(path, n_rows: int = 20, encoding: str = "auto", sheet: str | None = None) -> dict:
    """Sniff a CSV from its first rows only (first 1 MiB): columns, types, rows, settings.

    ``encoding`` is ``"auto"`` (detected; ``encoding_detected`` is then True) or a codec name.
    An ``.xlsx`` workbook previews ``sheet`` (default: the first); ``sheets`` lists them all.
    """
    from engine.data.sheets import is_spreadsheet, read_sheet_frame  # noqa: PLC0415

    limit = max(int(n_rows), 1) * 5 if n_rows < 200 else n_rows
    extra = {}
    if is_spreadsheet(path):
        df, meta, labels = read_sheet_frame(path, sheet, limit=limit)
        enc, detected = meta["encoding"], False
        extra = {"sheet": meta["sheet"], "sheets": meta["sheets"]}
    else:
        text, enc, detected = _read_text(path, max_bytes=2**20, encoding=encoding)
        df, meta, labels = parse_text(text, _name(path), limit=limit)
    dtypes, missing = {}, {}
    infos = {}
    for c in df.columns:
        info, vals = analyse_column(df[c], c, meta["decimal"], labels, "", strict=False)
        dtypes[c] = {"numeric": "number", "categorical": "text", "empty": "empty"}[info.kind]
        missing[c] = info.n_missing
        infos[c] = (info, vals)
    target = df.columns[-1]
    return {"columns": list(df.columns), "dtypes": dtypes,
            "rows": df.head(n_rows).astype(object).where(df.head(n_rows).notna(), "").values.tolist(),
            "delimiter": meta["delimiter"], "encoding": enc, "encoding_detected": detected,
            "encoding_label": label(enc), "decimal": meta["decimal"], "header": meta["header"],
            "missing": missing, "default_target": target, "proposed_task": propose_task(*infos[target]),
            "proposed_tasks": {c: propose_task(*infos[c]) for c in df.columns if infos[c][0].kind != "empty"},
            **extra}


def load_csv(spec, *, progress=None, cancel=None, fixed: dict | None = None):
    from engine.data.tabular import build_tabular  # noqa: PLC0415

    if progress:
        progress(0, 2)
    df, meta, labels = read_csv_frame(spec.path, spec.encoding, spec.sheet)
    if cancel is not None and cancel.is_set():
        from engine.data.errors import LoadCancelled  # noqa: PLC0415

        raise LoadCancelled("loading cancelled")
    if progress:
        progress(1, 2)
    x, y, splits, prep, report, kept = build_tabular(
        df, spec, source=meta["name"], decimal=meta["decimal"], row_labels=labels,
        extra={"csv": {"delimiter": meta["delimiter"], "encoding": meta["encoding"], "header": meta["header"],
                       **({"sheet": meta["sheet"]} if "sheet" in meta else {})}},
        fixed=fixed)
    if progress:
        progress(2, 2)
    return _tabular_dataset(spec, x, y, splits, prep, report, kept)


def _tabular_dataset(spec, x, y, splits, prep, report, kept):
    from engine.data.dataset import Dataset  # noqa: PLC0415

    task = prep["task"]
    return Dataset(spec=spec, task=task, input_shape=tuple(prep["input_shape"]),
                   n_outputs=len(prep["class_names"]) if task == "classification" else y.shape[1],
                   class_names=prep["class_names"], feature_names=prep["feature_names"], preprocessing=prep,
                   report=report, x={s: x[i] for s, i in splits.items()}, y={s: y[i] for s, i in splits.items()},
                   split_indices={s: kept[i] for s, i in splits.items()})
