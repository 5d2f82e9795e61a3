"""Excel workbooks (``.xlsx``/``.xlsm``) read like a CSV: one sheet becomes a table.

openpyxl in read-only mode with ``data_only=True``: the values Excel saved, never
the formulas.  Typed cells are used as typed -- a number cell is a number (no
decimal-comma guessing), a boolean is the category ``TRUE``/``FALSE``, a date is
its ISO text.  Two things a sheet can hold that a table cannot are refused with
the sheet and cell named: merged cells, and formulas without a saved value (a
workbook written by a program that does not calculate).  ``.xls`` (Excel 97-2003)
is not read; see ``docs/data.md``.
"""
from __future__ import annotations

import datetime as _dt
import os
import zipfile
from typing import TYPE_CHECKING
from xml.etree.ElementTree import ParseError, iterparse

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from engine.data.errors import DataError
from engine.data.rows import RowLabels
from engine.files import regular_file_problem

SHEET_SUFFIXES = (".xlsx", ".xlsm")
OLD_SUFFIXES = (".xls",)
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
MAX_CELLS = 50_000_000


def is_spreadsheet(path) -> bool:
    return str(path).lower().endswith(SHEET_SUFFIXES + OLD_SUFFIXES)


def _open(path):
    name = os.path.basename(str(path))
    if str(path).lower().endswith(OLD_SUFFIXES):
        raise DataError(f"{name}: .xls (Excel 97-2003) files are not supported; save the sheet as .xlsx or CSV")
    if not os.path.exists(path):
        raise DataError(f"{path}: file not found")
    problem = regular_file_problem(path)
    if problem:
        raise DataError(problem)
    import openpyxl  # noqa: PLC0415
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, ParseError) as exc:
        raise DataError(f"{name}: not a readable .xlsx workbook ({type(exc).__name__})") from None


def sheet_names(path) -> list[str]:
    wb = _open(path)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _check_cells(ws, name: str, sheet: str) -> None:
    """Merged cells and formulas without a saved value, found in the sheet's XML (one streaming pass)."""
    try:
        src = ws._get_source()
    except (AttributeError, KeyError, OSError):
        return
    try:
        with src:
            for _ev, el in iterparse(src, events=("end",)):
                tag = el.tag
                if tag == f"{_NS}c":
                    f = el.find(f"{_NS}f")
                    if f is not None:
                        v = el.find(f"{_NS}v")
                        if (v is None or v.text is None) and el.get("t") != "inlineStr":
                            raise DataError(f"{name}, sheet '{sheet}', cell {el.get('r', '?')}: a formula without a "
                                            "saved value (the workbook was written by a program that does not "
                                            "calculate); open and save it in Excel or LibreOffice, or export a CSV")
                    el.clear()
                elif tag == f"{_NS}row":
                    el.clear()
                elif tag == f"{_NS}mergeCell":
                    raise DataError(f"{name}, sheet '{sheet}', cells {el.get('ref', '?')}: merged cells cannot be "
                                    "read as a table; unmerge them (one value per cell) or export a CSV")
    except ParseError:
        raise DataError(f"{name}, sheet '{sheet}': the sheet's XML is damaged") from None


def _cell(v):
    """A typed cell -> float (number), str (text, booleans, dates) or None (empty)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, _dt.datetime) and v.time() == _dt.time(0) and v.tzinfo is None:
        return v.date().isoformat()  # Excel stores dates as date-times at midnight
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, _dt.timedelta):
        return str(v)
    s = str(v)
    return s if s.strip() else None


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    return v


def read_sheet_frame(path, sheet: str | None = None, *, limit: int | None = None
                     ) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """``(frame, meta, row_labels)`` of one sheet; numeric columns float64, others text."""
    import pandas as pd  # noqa: PLC0415 - only loading a sheet needs pandas

    name = os.path.basename(str(path)) or str(path)
    wb = _open(path)
    try:
        names = list(wb.sheetnames)
        if not names:
            raise DataError(f"{name}: the workbook has no sheets")
        if sheet is None or sheet == "":
            sheet = names[0]
        elif sheet not in names:
            raise DataError(f"{name}: no sheet named '{sheet}' (sheets: {', '.join(names)}); choose one with "
                            "--sheet or the Sheet box of the data panel")
        ws = wb[sheet]
        if getattr(ws, "max_row", None) and getattr(ws, "max_column", None) \
                and ws.max_row * ws.max_column > MAX_CELLS:
            raise DataError(f"{name}, sheet '{sheet}': too large ({ws.max_row:,} rows × {ws.max_column:,} "
                            f"columns); export a CSV")
        if limit is None:
            _check_cells(ws, name, sheet)
        rows, lines = [], []
        for i, r in enumerate(ws.iter_rows(values_only=True), start=1):
            vals = [_cell(v) for v in r]
            if any(v is not None for v in vals):
                rows.append(vals)
                lines.append(i)
                if limit is not None and len(rows) > limit:
                    break
    except DataError:
        raise
    except (KeyError, OSError, ValueError, TypeError, ParseError, zipfile.BadZipFile) as exc:
        raise DataError(f"{name}, sheet '{sheet}': cannot be read ({type(exc).__name__})") from None
    finally:
        wb.close()
    others = [n for n in names if n != sheet]
    hint = (f" (other sheets: {', '.join(others)}; choose one with --sheet or the Sheet box of the data panel)"
            if others else "")
    if not rows:
        raise DataError(f"{name}, sheet '{sheet}': the sheet is empty{hint}")
    width = max(max((j + 1 for j, v in enumerate(r) if v is not None), default=0) for r in rows)
    rows = [(r + [None] * width)[:width] for r in rows]
    first = rows[0]
    header = len(rows) < 2 or not all(isinstance(v, float) or v is None for v in first)
    from engine.data.columns import header_names  # noqa: PLC0415 - columns loads pandas; this module must not

    names_ = header_names([_text(v) for v in first]) if header else [f"column{j + 1}" for j in range(width)]
    body, body_lines = (rows[1:], lines[1:]) if header else (rows, lines)
    if limit is not None:
        body, body_lines = body[:limit], body_lines[:limit]
    if not body:
        raise DataError(f"{name}, sheet '{sheet}': no data rows (only a header){hint}")
    cols = {}
    for j, c in enumerate(names_):
        vals = [r[j] for r in body]
        present = [v for v in vals if v is not None]
        if present and all(isinstance(v, float) for v in present):
            cols[c] = pd.Series([np.nan if v is None else v for v in vals], dtype=np.float64)
        else:
            cols[c] = pd.Series([_text(v) for v in vals], dtype=object)
    df = pd.DataFrame(cols)
    labels = RowLabels(body_lines, f"sheet '{sheet}', row ")
    meta = {"name": name, "delimiter": ",", "decimal": ".", "header": header, "sheet": sheet, "sheets": names,
            "encoding": "utf-8-sig", "encoding_detected": False}
    return df, meta, labels
