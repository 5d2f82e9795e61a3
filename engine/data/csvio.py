"""CSV reading with sniffing: encoding, delimiter, decimal comma, header row."""
from __future__ import annotations

import codecs
import csv
import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.columns import MISSING_TOKENS, LazyColumn, header_names
from engine.data.encoding import _bom, decode, label, normalise
from engine.data.errors import DataError
from engine.data.preprocess import Preprocessor
from engine.data.rows import RowLabels
from engine.data.tabular import (
    analyse_column,
    analyse_numeric_many,
    parse_numeric_many,
    propose_numeric_many,
    propose_task,
)
from engine.files import os_reason, regular_file_problem

DELIMITERS = (",", ";", "\t", "|")
MAX_FILE_BYTES = 2 * 2**30
SNIFF_LINES = 200
_NUM_DOT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_NUM_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)?,\d+([eE][+-]?\d+)?$")


_NOT_BLANK_BYTE = re.compile(rb"[^ \t\r\n\x00\xef\xbb\xbf\xff\xfe]")


def _name(path) -> str:
    return os.path.basename(str(path)) or str(path)


def decode_bytes(raw: bytes, name: str, encoding: str = "auto", *, complete: bool = True) -> tuple[str, str, bool]:
    """``(text, encoding, detected)``: strict decoding by the rule in :mod:`engine.data.encoding`."""
    if _NOT_BLANK_BYTE.search(raw) is None:  # ``not raw.strip(...)`` without a copy of the file
        raise DataError(f"{name}: the file is empty")
    if b"\x00" in raw[:4096] and _bom(raw) != "utf-16" and normalise(encoding) in ("auto", "utf-8", "utf-8-sig"):
        enc = _utf16_without_bom(raw)
        if enc is None:
            raise DataError(f"{name}: this is not a text (CSV) file")
        encoding = enc
    text, enc, detected = decode(raw, name, encoding, complete=complete)
    if "\x00" in text:
        raise DataError(f"{name}: this is not a text (CSV) file")
    if not text or text.isspace():  # ``not text.strip()`` without a copy
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


def _sniff_sample(text: str) -> str:
    """``"\\n".join(text.splitlines()[:SNIFF_LINES])`` without splitting the whole text.

    ``splitlines`` of a prefix gives the same lines as of the whole text except for its
    last one (which may be cut), so a prefix holding two lines more than needed suffices.
    """
    k = 1 << 16
    while k < len(text):
        lines = text[:k].splitlines()
        if len(lines) >= SNIFF_LINES + 2:
            return "\n".join(lines[:SNIFF_LINES])
        k *= 4
    return "\n".join(text.splitlines()[:SNIFF_LINES])


def sniff_delimiter(text: str) -> str:
    return _sniff(text)[0]


def _sniff(text: str):
    """``(delimiter, records)``: ``records`` is ``_records(text, delimiter)`` when the sniffed sample
    is the whole text (up to a last line end; a short file, e.g. 100 rows of 20 000 columns),
    so that it is not parsed twice; else ``None``."""
    sample = _sniff_sample(text)
    whole = sample == text or (text.endswith("\n") and len(sample) == len(text) - 1 and text.startswith(sample))
    best, best_score = ",", (0.0, 0)
    found: dict = {}
    for d in DELIMITERS:
        if d not in sample:
            continue  # one field per row: never a candidate (and a wide sample costs a full parse)
        try:
            rows, lines = _records(sample, d)
        except DataError:
            continue
        if whole:
            found[d] = (rows, lines)
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
    return best, found.get(best)


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

    def numeric(j):
        vals = [r[j].strip() for r in body if j < len(r) and r[j].strip().lower() not in MISSING_TOKENS]
        return bool(vals) and sum(_is_num(v, decimal) for v in vals) >= 0.8 * len(vals)

    # a header when some numeric column has a non-number in row 1, or no column is numeric;
    # each column is looked at only until the answer is known (wide files have 20 000)
    first_num = [_is_num(f, decimal) for f in first]
    if any(numeric(j) for j in range(len(first)) if not first_num[j]):
        return True
    return not any(numeric(j) for j in range(len(first)) if first_num[j])


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


class _TextReader:
    """A read-only file over a ``str`` for ``pd.read_csv``: slices on demand.

    ``io.StringIO(text)`` would copy the whole text into its own buffer (four bytes per
    character), which for a large file is the biggest single allocation of a load.
    """

    def __init__(self, text: str):
        self._text, self._pos = text, 0

    def read(self, n: int = -1) -> str:
        if n is None or n < 0:
            n = len(self._text) - self._pos
        chunk = self._text[self._pos:self._pos + n]
        self._pos += len(chunk)
        return chunk

    def __iter__(self):  # pandas only iterates when it sniffs, which it does not here
        return iter(self._text.splitlines(keepends=True))


#: bytes that ``str.strip`` removes (ASCII part); a line of these and delimiters is blank
_ASCII_SPACE = np.frombuffer(b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f", dtype=np.uint8)
#: characters per block of the plain scan (the NumPy temporaries are a few times this)
_SCAN_BLOCK = 1 << 22


def _scan_plain(text: str, delimiter: str):
    """One pass over quote-free text, line by line in NumPy: what the csv pre-pass learnt.

    Lines are the text split at ``\n`` (a ``\r`` only ever precedes one, checked by the caller).
    Returns ``(lines, fields, last_blank, long_line, n_lines)``: the 1-based line numbers of the
    non-blank records (a record is blank when every field is whitespace), their field counts,
    whether the last field of a record with one field more than the first record is whitespace
    only (a trailing delimiter), the first line holding a field longer than the csv module's
    limit (or ``None``), and the number of lines.  Per line, not per cell: NumPy finds the
    line ends and delimiters; only lines that start with a space or a delimiter (possible blank
    lines), trailing fields that are not empty and lines longer than the field limit are looked
    at one by one.
    """
    d = ord(delimiter)
    space = np.zeros(256, dtype=bool)
    space[_ASCII_SPACE] = True
    space[d] = True
    space[128:] = True  # a non-ASCII start byte may be Unicode whitespace: look at the line
    flimit = csv.field_size_limit()
    rec_lines, rec_fields, rec_last_blank = [], [], []
    long_line = None
    width = None
    base = 0  # line number (0-based) of the block's first line
    pos, n = 0, len(text)
    while pos < n:
        end = text.find("\n", min(pos + _SCAN_BLOCK, n) - 1)
        end = n if end < 0 else end + 1
        block = text[pos:end].encode("utf-8")
        b = np.frombuffer(block, dtype=np.uint8)
        nl = np.flatnonzero(b == 10)
        ends = nl if block.endswith(b"\n") else np.append(nl, len(b))
        starts = np.concatenate(([0], nl[:len(ends) - 1] + 1))
        dpos = np.flatnonzero(b == d)
        d_end = np.searchsorted(dpos, ends)
        fields = d_end - np.searchsorted(dpos, starts) + 1
        # a line is blank only if it is empty or starts with a space, a delimiter or non-ASCII
        blank = np.zeros(len(ends), dtype=bool)
        empty = ends == starts
        blank[empty] = True
        maybe = np.flatnonzero(~empty)
        maybe = maybe[space[b[starts[maybe]]]]
        for i in maybe:
            line = block[starts[i]:ends[i]].decode("utf-8")
            blank[i] = not line.replace(delimiter, "").strip()
        if long_line is None:
            for i in np.flatnonzero(ends - starts > flimit):
                line = block[starts[i]:ends[i]].decode("utf-8").removesuffix("\r")
                if any(len(f) > flimit for f in line.split(delimiter)):
                    long_line = base + int(i) + 1
                    break
        keep = np.flatnonzero(~blank)
        if width is None and len(keep):
            width = int(fields[keep[0]])
        last = np.zeros(len(keep), dtype=bool)
        if width is not None:
            for k in np.flatnonzero(fields[keep] == width + 1):
                i = keep[k]
                tail = block[dpos[d_end[i] - 1] + 1:ends[i]]
                last[k] = not tail or not tail.decode("utf-8").strip()
        rec_lines.append(keep + base + 1)
        rec_fields.append(fields[keep])
        rec_last_blank.append(last)
        base += len(ends)
        pos = end
    lines = np.concatenate(rec_lines) if rec_lines else np.zeros(0, dtype=np.int64)
    fields = np.concatenate(rec_fields) if rec_fields else np.zeros(0, dtype=np.int64)
    last_blank = np.concatenate(rec_last_blank) if rec_last_blank else np.zeros(0, dtype=bool)
    return lines, fields, last_blank, long_line, base


def _line_text(text: str, line: int, n_lines: int) -> str:
    """The text of 1-based ``line`` (without its line end), walking from the nearer end."""
    if line - 1 <= n_lines - line:
        p = 0
        for _ in range(line - 1):
            p = text.index("\n", p) + 1
    else:
        p = len(text) - 1 if text.endswith("\n") else len(text)
        for _ in range(n_lines - line + 1):
            p = text.rindex("\n", 0, p) if p > 0 else -1
        p += 1
    stop = text.find("\n", p)
    return text[p:stop if stop >= 0 else len(text)].removesuffix("\r")


#: wider than this, a table read by the csv module becomes a frame from its records directly
#: (pandas' C parser would cost ~0.3 ms per column more, and the values are the same)
WIDE_COLUMNS = 2000
#: below this many records the csv-module path is faster (pandas' C parser costs ~0.35 ms
#: per column, the csv module ~1 us per cell); previews always take it
PLAIN_MIN_RECORDS = 400


def _parse_plain(text: str, name: str, delimiter: str, typed: bool):
    """``parse_text`` for text without quote characters: same frame, meta, labels and errors.

    Returns ``None`` when pandas' reading does not match the scan (the caller then takes the
    csv-module path, which decides).
    """
    lines, fields, last_blank, long_line, n_lines = _scan_plain(text, delimiter)
    if long_line is not None:
        raise DataError(f"{name}, line {long_line}: field larger than field limit ({csv.field_size_limit()})")
    if not len(lines):
        raise DataError(f"{name}: the file is empty")
    if len(lines) < PLAIN_MIN_RECORDS:
        return None
    k = min(SNIFF_LINES, len(lines))
    head_end = len(text)
    if int(lines[k - 1]) < n_lines:  # up to the end of the k-th record's line
        head_end = 0
        for _ in range(int(lines[k - 1])):
            head_end = text.index("\n", head_end) + 1
    head, _ = _records(text[:head_end], delimiter, SNIFF_LINES)
    if len(head) != k:
        return None
    decimal = sniff_decimal(head, delimiter)
    header = sniff_header(head, decimal)
    width = int(fields[0])
    # a trailing delimiter on data lines only is a common export quirk
    trailing = (fields == width + 1) & last_blank
    bad = np.flatnonzero((fields != width) & ~trailing)
    if len(bad):
        i = int(bad[0])
        raise DataError(f"{name}, line {int(lines[i])}: {int(fields[i])} fields, but "
                        f"{'the header has' if header else 'line ' + str(int(lines[0])) + ' has'} "
                        f"{width} (ragged rows; is the delimiter {delimiter!r} right?)")
    names = header_names(head[0]) if header else [f"column{j + 1}" for j in range(width)]
    body_lines = lines[1:] if header else lines
    if not len(body_lines):
        raise DataError(f"{name}: no data rows (only a header)")
    ncols = width + 1 if trailing.any() else width
    skip = int(lines[0]) if header else 0  # the header line and blank lines before it
    n_read = int(body_lines[-1]) - skip  # physical lines up to the last data row
    read = dict(sep=delimiter, header=None, names=list(range(ncols)), skiprows=skip, nrows=n_read,
                na_filter=False, skip_blank_lines=False, quotechar='"', engine="c", index_col=False)
    try:
        with warnings.catch_warnings():
            # blank lines with more delimiters than the header are cut short (and dropped below)
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            if typed:
                df, redo = _read_typed_chunks(text, read, n_read, width, decimal)
            else:
                df = pd.read_csv(_TextReader(text), dtype=str, **read)
    except (pd.errors.ParserError, ValueError, csv.Error, IndexError, OverflowError):
        return None
    if df is None or len(df) != n_read:
        return None
    rows = body_lines - 1 - skip
    if len(rows) != len(df):
        df = df.iloc[rows]
    if ncols != width:
        df = df.iloc[:, :width]
    if typed:
        if redo:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", pd.errors.ParserWarning)
                    txt = pd.read_csv(_TextReader(text), usecols=redo, dtype=str, **read)
            except (pd.errors.ParserError, ValueError, csv.Error, IndexError, OverflowError):
                return None
            if len(txt) != n_read:
                return None
            if len(rows) != len(txt):
                txt = txt.iloc[rows]
            done = set(redo)
            df = pd.concat([txt[j] if j in done else df[j] for j in range(width)], axis=1, keys=list(range(width)))
    # the scan and pandas must agree on where the fields are: compare the first and last rows
    for i in sorted({0, len(rows) - 1}):
        want = _line_text(text, int(body_lines[i]), n_lines).split(delimiter)[:width]
        got = [df.iat[i, j] for j in range(width)]  # not df.iloc[i]: one block per column
        if any((isinstance(v, str) or not typed) and str(v) != w for v, w in zip(got, want)):
            return None
    df.columns = names
    df = df.reset_index(drop=True)
    for j, c in enumerate(list(df.columns)):
        if c == f"column{j + 1}" and header and df[c].astype(str).str.strip().eq("").all():
            df = df.drop(columns=c)
    labels = RowLabels(body_lines, "line ")
    meta = {"name": name, "delimiter": delimiter, "decimal": decimal, "header": header}
    return df, meta, labels


#: cells per chunk of the typed read (a few tens of MB of pandas' buffers at a time)
TYPED_CHUNK_CELLS = 4_000_000


def _read_typed_chunks(text: str, read: dict, n_read: int, width: int, decimal: str):
    """``pd.read_csv(dtype=None)`` of the first ``width`` columns, chunk by chunk, numbers written
    into preallocated int64/float64 columns: ``(frame, redo)``, ``redo`` the columns to read again
    as text (left out of the frame).  ``(None, [])`` when the row count is not ``n_read``.

    Reading the whole text at once, pandas parses it in chunks of rows anyway and joins each
    column's chunks at the end (two copies of every column at that moment); here each chunk is
    written into its place at once.  A column is int64 when every chunk is integers, float64 when
    every chunk has decimals, text when every chunk is text; it is read again as text (``redo``)
    when a chunk is not exactly numbers (:func:`_exact_typed_column`) or when kinds meet.  Integers
    meeting decimals are text too: an integer chunk has lost what its text said about a float
    (``-000`` is the integer 0, but the float -0.0; ``2**53 + 1`` rounds), and the text rules give
    the value of the text.
    """
    chunk = max(1, TYPED_CHUNK_CELLS // max(1, width))
    cols: list = [None] * width          # a preallocated number column, or a list of text chunks
    redo: set = set()
    at = 0
    for part in pd.read_csv(_TextReader(text), dtype=None, chunksize=chunk, **read):
        k = len(part)
        if at + k > n_read:
            return None, []
        for j in range(width):
            if j in redo:
                continue
            col = part[j]
            kind = col.dtype.kind
            dest = cols[j]
            number = kind in "if"
            if not _exact_typed_column(col, decimal) or (number and isinstance(dest, list)) or \
                    (not number and isinstance(dest, np.ndarray)):
                redo.add(j)
                cols[j] = None
                continue
            if not number:
                if dest is None:
                    dest = cols[j] = []
                dest.append(col)
                continue
            if dest is None:
                dest = cols[j] = np.empty(n_read, dtype=np.int64 if kind == "i" else np.float64)
            elif dest.dtype.kind != kind:  # integers and decimals: read as text (see above)
                redo.add(j)
                cols[j] = None
                continue
            dest[at:at + k] = col.to_numpy()
        at += k
    if at != n_read:
        return None, []
    data = {}
    for j in range(width):
        if j in redo:
            continue
        c = cols[j]
        data[j] = pd.concat(c, ignore_index=True) if isinstance(c, list) else c
    return pd.DataFrame(data, index=pd.RangeIndex(n_read), copy=False), sorted(redo)


def _exact_typed_column(col: pd.Series, decimal: str) -> bool:
    """Whether a column as pandas typed it stands for its text exactly under the tabular rules
    (:func:`engine.data.columns.parse_numeric`): text columns always; ``int64``; ``float64``
    without inf when the decimal mark is a dot (``1e400`` and ``inf`` are named by their text
    in messages, and with a decimal comma ``1.234`` means 1234).  Booleans, unsigned and
    other columns are read again as text."""
    kind = col.dtype.kind
    if kind == "i":
        return True
    if kind == "f":
        return decimal == "." and bool(np.isfinite(col.to_numpy()).all())
    if kind in "buO" or col.dtype == object:
        return False
    return pd.api.types.is_string_dtype(col.dtype)


def parse_text(text: str, name: str, *, limit: int | None = None,
               typed: bool = False) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """Sniff and parse CSV text into a frame of strings; ``(frame, meta, row_labels)``.

    With ``typed`` (the training path) a column whose every cell is a finite number comes
    back as an ``int64``/``float64`` column instead of text (the values are the ones the text
    column would give in :func:`engine.data.columns.parse_numeric`); every other column is text.
    Text without quote characters is read by :func:`_parse_plain` (pandas' C parser, a
    NumPy pass over the bytes for the checks); anything else by the csv module, as before.
    """
    delimiter, whole = _sniff(text)
    if (limit is None and text.count("\n", 0, 1 << 24) >= PLAIN_MIN_RECORDS and '"' not in text
            and text.count("\r") == text.count("\r\n")):
        fast = _parse_plain(text, name, delimiter, typed)
        if fast is not None:
            return fast
    if whole is not None:  # the sniff parsed the whole text already
        rows, lines = whole if limit is None else (whole[0][:limit + 1], whole[1][:limit + 1])
    else:
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
    if limit is None and width <= WIDE_COLUMNS:
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
    labels = RowLabels(body_lines, "line ")
    meta = {"name": name, "delimiter": delimiter, "decimal": decimal, "header": header}
    return df, meta, labels


def read_csv_frame(path, encoding: str = "auto", sheet: str | None = None,
                   *, typed: bool = False) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """A CSV/text file (or one sheet of an ``.xlsx`` workbook) as a frame; ``(frame, meta, row_labels)``.

    ``typed``: see :func:`parse_text` (what training uses; predictions keep the text as written).
    """
    from engine.data.sheets import is_spreadsheet, read_sheet_frame  # noqa: PLC0415

    if is_spreadsheet(path):
        return read_sheet_frame(path, sheet)
    text, enc, detected = _read_text(path, encoding=encoding)
    df, meta, labels = parse_text(text, _name(path), typed=typed)
    del text
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
    bulk = parse_numeric_many(df, list(df.columns), meta["decimal"]) if df.columns.is_unique else {}
    batch = analyse_numeric_many(bulk, list(df.columns), len(df))
    for c in df.columns:
        if c in batch:
            info, vals = batch[c], bulk[c][:2]
        else:
            col = LazyColumn(df, c) if c in bulk else df[c]
            info, vals = analyse_column(col, c, meta["decimal"], labels, "", strict=False, parsed=bulk.get(c))
        dtypes[c] = {"numeric": "number", "categorical": "text", "empty": "empty"}[info.kind]
        missing[c] = info.n_missing
        infos[c] = (info, vals)
    target = df.columns[-1]
    tasks = propose_numeric_many(batch, bulk)
    for c in df.columns:
        if c not in tasks and infos[c][0].kind != "empty" or c == target and c not in tasks:
            tasks[c] = propose_task(*infos[c])
    return {"columns": list(df.columns), "dtypes": dtypes,
            "rows": df.head(n_rows).astype(object).where(df.head(n_rows).notna(), "").values.tolist(),
            "delimiter": meta["delimiter"], "encoding": enc, "encoding_detected": detected,
            "encoding_label": label(enc), "decimal": meta["decimal"], "header": meta["header"],
            "missing": missing, "default_target": target, "proposed_task": tasks[target],
            "proposed_tasks": {c: tasks[c] for c in df.columns if infos[c][0].kind != "empty"},
            "text_columns": _free_text(infos), **extra}


def _free_text(infos: dict) -> list:
    """Preview columns that read as free text (:func:`engine.data.text.looks_like_text`)."""
    from engine.data.tabular import MAX_CATEGORIES  # noqa: PLC0415
    from engine.data.text import looks_like_text, may_be_text  # noqa: PLC0415

    return [c for c, (info, vals) in infos.items() if info.kind == "categorical"
            and may_be_text(info.n_unique, len(vals[0]) - info.n_missing, MAX_CATEGORIES)
            and looks_like_text(vals[0], MAX_CATEGORIES)]


def load_csv(spec, *, progress=None, cancel=None, fixed: dict | None = None, memory_budget: int | None = None):
    """A CSV data set.  Its float32 features are one array in split order (each split a view of it);
    when they are larger than ``memory_budget`` bytes (default: the image budget,
    :func:`engine.data.images.default_memory_budget`) that array is a memory-mapped file in the
    cache folder (``Dataset.cache_path``; deleted with the data set) instead of RAM.
    """
    from engine.data.tabular import build_tabular  # noqa: PLC0415

    if progress:
        progress(0, 2)
    df, meta, labels = read_csv_frame(spec.path, spec.encoding, spec.sheet, typed=True)
    cache: dict = {}
    if cancel is not None and cancel.is_set():
        from engine.data.errors import LoadCancelled  # noqa: PLC0415

        raise LoadCancelled("loading cancelled")
    if progress:
        progress(1, 2)
    x, y, splits, prep, report, kept = build_tabular(
        df, spec, source=meta["name"], decimal=meta["decimal"], row_labels=labels,
        extra={"csv": {"delimiter": meta["delimiter"], "encoding": meta["encoding"], "header": meta["header"],
                       **({"sheet": meta["sheet"]} if "sheet" in meta else {})}},
        fixed=fixed, split_order=True, alloc=_table_alloc(spec, memory_budget, cache))
    if progress:
        progress(2, 2)
    return _tabular_dataset(spec, x, y, splits, prep, report, kept, cache_path=cache.get("path"))


def _table_alloc(spec, memory_budget, cache: dict):
    """``alloc(n, width)`` for :func:`build_tabular`: ``None`` (in RAM) within the memory budget, else a
    memory-mapped file (its path goes into ``cache``).  Several inputs are split into separate
    arrays in RAM anyway, so they stay in RAM."""
    if getattr(spec, "inputs", None):
        return None

    def alloc(n, width):
        from engine.data.dataset import table_cache  # noqa: PLC0415
        from engine.data.images import cache_dir, default_memory_budget  # noqa: PLC0415

        budget = default_memory_budget() if memory_budget is None else int(memory_budget)
        if n * width * 4 <= budget:
            return None
        mm, cache["path"] = table_cache(n, width, cache_dir().parent / "table-cache")
        return mm

    return alloc


def _contiguous(i: np.ndarray) -> bool:
    """Whether the indices are one ascending run ``a, a+1, ..., b`` (a split in split order)."""
    return len(i) > 0 and int(i[-1]) - int(i[0]) + 1 == len(i) and (len(i) == 1 or bool((np.diff(i) == 1).all()))


def _rows(a, i: np.ndarray):
    """``a[i]``; a view when ``i`` is :func:`_contiguous`."""
    i = np.asarray(i)
    return a[int(i[0]):int(i[-1]) + 1] if _contiguous(i) else a[i]


def _tabular_dataset(spec, x, y, splits, prep, report, kept, cache_path: str | None = None):
    from engine.data.dataset import Dataset  # noqa: PLC0415

    task = prep["task"]
    xs = {s: _rows(x, i) for s, i in splits.items()}
    if prep.get("inputs"):  # several inputs: each split as {input name: its columns}
        from engine.data.preprocess import Preprocessor  # noqa: PLC0415

        pre = Preprocessor(prep)
        xs = {s: pre.split_inputs(v) for s, v in xs.items()}
    ds = Dataset(spec=spec, task=task, input_shape=tuple(prep["input_shape"]),
                 n_outputs=len(prep["class_names"]) if task == "classification" else y.shape[1],
                 class_names=prep["class_names"], feature_names=prep["feature_names"], preprocessing=prep,
                 report=report, x=xs, y={s: _rows(y, i) for s, i in splits.items()},
                 split_indices={s: _rows(kept, i) for s, i in splits.items()}, input_shapes=prep.get("input_shapes"),
                 cache_path=cache_path)
    if cache_path is not None and isinstance(x, np.memmap):
        for s, i in splits.items():
            if _contiguous(np.asarray(i)) or not len(i):
                start = int(i[0]) if len(i) else 0
                ds.x_files[s] = {"path": cache_path, "start": start, "stop": start + len(i)}
    return ds


def transform_csv(pre, path, encoding: str = "auto", meta_out: dict | None = None,
                  sheet: str | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Read a CSV file (sniffed like training data) and transform it with the fitted
    :class:`~engine.data.preprocess.Preprocessor` ``pre``: ``(x, frame)``.

    ``meta_out``, if given, receives the file's delimiter, decimal mark and encoding.
    """
    df, meta, labels = read_csv_frame(path, encoding, sheet)
    if meta_out is not None:
        meta_out.update(meta)
    src = f"{meta['name']}, "
    if meta["decimal"] != pre.d.get("decimal", "."):
        pre = Preprocessor({**pre.d, "decimal": meta["decimal"]})
    return pre.split_inputs(pre._transform_frame(df, labels, src)), df
