"""The columnar CSV path (issue #18) gives what the csv-module path gave: same frame (or the
same values from typed columns), meta, row labels, errors and messages; and loading a data
set gives the same arrays, splits, preprocessing and report."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data import DataError, DataSpec, columns, csvio, load_dataset, preprocess, preview_csv, tabular
from tests.engine import csv_reference as ref
from tests.engine.csv_dual import compare_parse, same_numeric

ROOT = Path(__file__).resolve().parents[2]

token = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-1e6, 1e6).map(lambda v: f"{v:.3f}"),
    st.floats(-1e3, 1e3).map(lambda v: f"{v:.2f}".replace(".", ",")),
    st.integers(0, 10**25).map(str),
    st.sampled_from(["", " ", "NA", "n/a", "?", "nan", "NaN", "null", "None", "inf", "-inf", "1e400", "-1e400",
                     "1e-400", " 7", "7 ", "\t7", "\u30007", "7\xa0", "+1", ".5", "5.", "1_0", "0x10", "007", "1.234",
                     "1.234,5", "True", "false", "TRUE", "x", "é", "١٢", "9223372036854775808",
                     "-9223372036854775809", "18446744073709551616", "1e5", "1E5", "1d5", "-0", "0.1e-2"]),
    st.text(alphabet="ab 1.,;-", max_size=4),
)


@st.composite
def table(draw, numeric_bias=True):
    width = draw(st.integers(1, 5))
    delim = draw(st.sampled_from([",", ";", "\t", "|"]))
    n = draw(st.integers(1, 14))
    kinds = draw(st.lists(st.sampled_from(["int", "float", "any"]), min_size=width, max_size=width))

    def cell(k):
        if k == "int" and draw(st.integers(0, 9)):
            return str(draw(st.integers(-1000, 1000)))
        if k == "float" and draw(st.integers(0, 9)):
            return repr(draw(st.floats(-1e9, 1e9, allow_nan=False)))
        return draw(token).replace(delim, "")

    lines = []
    if draw(st.booleans()):
        lines.append(delim.join(f"c{j}" for j in range(width)))
    for _ in range(n):
        row = [cell(k) for k in kinds]
        if draw(st.integers(0, 12)) == 0:
            row = row[:-1] if len(row) > 1 else row + ["x"]  # ragged
        line = delim.join(row)
        if draw(st.integers(0, 8)) == 0:
            line += delim  # trailing delimiter
        lines.append(line)
        if draw(st.integers(0, 10)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", delim * width, " " + delim, "\u3000"])))  # blank lines
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    return eol.join(lines) + draw(st.sampled_from(["", eol, eol + eol]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=table(), typed=st.booleans(), chunk=st.sampled_from([1, 7, 4_000_000]))
def test_parse_text_matches_the_reference(text, typed, chunk, monkeypatch):
    monkeypatch.setattr(csvio, "PLAIN_MIN_RECORDS", 1)  # small tables take the columnar path too
    monkeypatch.setattr(csvio, "TYPED_CHUNK_CELLS", chunk)  # typed columns read in chunks of 1+ rows
    try:
        compare_parse(text, "t.csv", typed=typed)
    except DataError:
        pass


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(token, min_size=1, max_size=12), decimal=st.sampled_from([".", ","]))
def test_parse_numeric_matches_the_reference(cells, decimal):
    import pandas as pd

    for col in (pd.Series(cells, dtype=object), pd.Series(cells, dtype="str")):
        assert same_numeric(tabular.parse_numeric(col, decimal), ref.parse_numeric(col, decimal))


def _old_paths(monkeypatch):
    monkeypatch.setattr(columns, "BATCH_CELLS", 0)  # numeric columns analysed, fitted, transformed one by one
    monkeypatch.setattr(csvio, "parse_text", lambda text, name, *, limit=None, typed=False:
                        ref.parse_text(text, name, limit=limit))
    monkeypatch.setattr(tabular, "parse_numeric", ref.parse_numeric)
    monkeypatch.setattr(preprocess, "parse_numeric", ref.parse_numeric)


def _load(path, kw):
    try:
        ds = load_dataset(DataSpec(kind="csv", path=path, **kw))
    except DataError as exc:
        return ("error", str(exc))
    return ("ok", {s: (ds.x(s).tolist(), ds.y(s).tolist()) for s in ("train", "val", "test")},
            ds.preprocessing, ds.report, {s: v.tolist() for s, v in ds.split_indices.items()}, ds.class_names)


SPECS = [dict(), dict(task="regression"), dict(task="classification", missing="drop", scaling="minmax"),
         dict(val_split=0.0, missing="median"), dict(target="c0"), dict(test_split=0.3, scaling="none")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=table(), which=st.integers(0, len(SPECS) - 1))
def test_loaded_data_sets_match_the_reference(tmp_path, text, which):
    p = tmp_path / "d.csv"
    p.write_bytes(text.encode("utf-8"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(csvio, "PLAIN_MIN_RECORDS", 1)
        new = _load(str(p), SPECS[which])
    with pytest.MonkeyPatch.context() as mp:
        _old_paths(mp)
        old = _load(str(p), SPECS[which])
    assert new == old


def test_typed_columns_are_numbers_and_text_stays_text(tmp_path, monkeypatch):
    monkeypatch.setattr(csvio, "PLAIN_MIN_RECORDS", 1)
    p = tmp_path / "t.csv"
    p.write_text("a,b,c,d\n1,2.5,x,True\n2,3.5,y,False\n")
    df, meta, labels = csvio.read_csv_frame(str(p), typed=True)
    assert [df[c].dtype.kind for c in "ab"] == ["i", "f"]
    assert df["c"].tolist() == ["x", "y"] and df["d"].tolist() == ["True", "False"]  # booleans stay categories
    df2, _, _ = csvio.read_csv_frame(str(p))  # what predictions see: the text as written
    assert df2["b"].tolist() == ["2.5", "3.5"]
    assert labels.tolist() == ["line 2", "line 3"]


@pytest.mark.parametrize("text, msg", [
    ("a,b\n1,2\n3\n", "t.csv, line 3: 1 fields, but the header has 2"),
    ("1,2\n\n3,4,5\n", "t.csv, line 3: 3 fields, but line 1 has 2"),
    ("a,b\n", "t.csv: no data rows (only a header)"),
    ("a,b\n1," + "9" * 131073 + "\n", "t.csv, line 2: field larger than field limit (131072)"),
])
def test_errors_name_the_same_line(text, msg, monkeypatch):
    monkeypatch.setattr(csvio, "PLAIN_MIN_RECORDS", 1)
    with pytest.raises(DataError) as new:
        csvio.parse_text(text, "t.csv")
    with pytest.raises(DataError) as old:
        ref.parse_text(text, "t.csv")
    assert str(new.value) == str(old.value) and str(new.value).startswith(msg)


def test_sniff_sample_equals_splitlines_of_the_whole_text():
    rng = np.random.default_rng(0)
    breaks = ["\n", "\r\n", "\r", "\x0b", "\x1c", "\u2028", "\x85"]
    for _ in range(30):
        n = int(rng.integers(1, 600))
        lens = rng.integers(0, 400, n)
        text = "".join("x" * int(k) + breaks[int(rng.integers(len(breaks)))] for k in lens)
        assert csvio._sniff_sample(text) == "\n".join(text.splitlines()[:csvio.SNIFF_LINES])


def test_blocks_of_the_plain_scan_join_seamlessly(monkeypatch):
    monkeypatch.setattr(csvio, "_SCAN_BLOCK", 7)  # many blocks, cut inside lines
    monkeypatch.setattr(csvio, "PLAIN_MIN_RECORDS", 1)
    text = "a,b,c\n" + "".join(f"{i},{i * 2},é{i}{',' if i % 3 == 0 else ''}\n" + ("\u3000,\n" if i % 5 == 0 else "")
                               for i in range(60))
    compare_parse(text, "t.csv", typed=True)
    compare_parse(text, "t.csv", typed=False)


def test_preview_reads_only_the_head(tmp_path):
    p = tmp_path / "big.csv"
    with open(p, "w") as fh:
        fh.write("a,b\n")
        fh.write("1,2\n" * 600_000)  # 2.4 MB: more than the 1 MiB the preview reads
    info = preview_csv(str(p))
    assert info["columns"] == ["a", "b"] and len(info["rows"]) == 20


def test_existing_csv_tests_agree_with_the_reference():
    """The hand-written corpus of the CSV tests, every parse checked against the reference."""
    mods = ["tests/engine/test_data_csv.py", "tests/engine/test_hardening_csv.py", "tests/engine/test_data_encoding.py",
            "tests/engine/test_data_apply.py", "tests/engine/test_data_sheets.py", "tests/engine/test_evaluate.py"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-m", "pytest", *mods, "-q", "-x", "-p", "no:cacheprovider",
                        "-p", "tests.engine.csv_dual", "--timeout", "600"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("csv_dual:"))
    assert int(line.split()[1]) > 50, line  # the comparison really ran on many files


@settings(max_examples=300, deadline=None)
@given(text=table(), limit=st.integers(1, 12))
def test_preview_parse_matches_the_reference(text, limit):
    try:
        compare_parse(text, "t.csv", limit=limit)
    except DataError:
        pass


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(token, min_size=3, max_size=3), min_size=1, max_size=8),
       decimal=st.sampled_from([".", ","]))
def test_sniff_header_matches_the_reference(rows, decimal):
    assert csvio.sniff_header(rows, decimal) == ref.sniff_header(rows, decimal)


@pytest.mark.parametrize("bulk_cells", [0, 10**9])  # typed columns one by one (views) / in one 2-D cast
@pytest.mark.parametrize("spec", [dict(), dict(missing="median", scaling="minmax"), dict(missing="drop")])
def test_a_wide_table_loads_like_the_reference(tmp_path, spec, bulk_cells, monkeypatch):
    """Bulk parsing of many columns (typed, text, missing, huge integers) against the reference."""
    monkeypatch.setattr(tabular, "_BULK_CELLS", bulk_cells)
    rng = np.random.default_rng(5)
    n, w = 450, 120
    cols = []
    for j in range(w):
        kind = j % 6
        if kind == 0:
            c = [f"{v:.6g}" for v in rng.standard_normal(n)]
        elif kind == 1:
            c = [str(v) for v in rng.integers(-50, 50, n)]
        elif kind == 2:  # text numbers with a missing value: one by one
            c = [f"{v:.3f}" for v in rng.standard_normal(n)]
            c[int(rng.integers(n))] = "NA"
        elif kind == 3:  # integers beyond 2**53: one by one
            c = [str(int(v) * 2**40 + 12345) for v in rng.integers(10**4, 10**6, n)]
        elif kind == 4:
            c = [" 7 " if i % 9 == 0 else str(i % 5) for i in range(n)]
        else:
            c = [str(v) for v in rng.choice(["a", "b", "c"], n)]
        cols.append(c)
    lines = [",".join(f"c{j}" for j in range(w)) + ",label"]
    lines += [",".join(col[i] for col in cols) + f",{i % 3}" for i in range(n)]
    lines.insert(200, "")  # a blank line: the frame then takes rows by line
    p = tmp_path / "wide.csv"
    p.write_text("\n".join(lines) + "\n")
    new = _load(str(p), spec)
    with pytest.MonkeyPatch.context() as mp:
        _old_paths(mp)
        old = _load(str(p), spec)
    assert new[0] == "ok" and new == old
    info = preview_csv(str(p))
    with pytest.MonkeyPatch.context() as mp:
        _old_paths(mp)
        assert preview_csv(str(p)) == info


@settings(max_examples=200, deadline=None)
@given(text=table())
def test_sniff_delimiter_matches_the_reference(text):
    assert csvio.sniff_delimiter(text) == ref.sniff_delimiter(text)


@settings(max_examples=200, deadline=None)
@given(vals=st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0.0, -0.0, 1.0])),
                     min_size=1, max_size=30))
def test_distinct_value_count_matches_np_unique(vals):
    import pandas as pd

    info, _ = tabular.analyse_column(pd.Series(vals), "c", ".", None, "", strict=False)
    assert info.n_unique == len(np.unique(np.array(vals)))


@pytest.mark.parametrize("spec", [dict(), dict(scaling="minmax"), dict(scaling="none"), dict(missing="median"),
                                  dict(missing="median", scaling="minmax"), dict(task="regression"),
                                  dict(val_split=0.5, test_split=0.3)])
@pytest.mark.parametrize("n", [3, 40, 333])
def test_numeric_block_gives_what_one_column_at_a_time_gives(tmp_path, spec, n):
    """Wide tables analyse, fit and transform their numeric columns as one 2-D block
    (``columns.BATCH_CELLS``): the same preprocessing, arrays, report and preview as column by column."""
    rng = np.random.default_rng(n)
    cols = [[f"{v:.6g}" for v in rng.standard_normal(n) * 10.0 ** rng.integers(-3, 6)] for _ in range(30)]
    cols += [["0"] * n, ["5"] * n, [str(v) for v in rng.integers(-3, 3, n)], [f"{v:.2f}" for v in rng.random(n)]]
    cols += [["1e300"] * (n - 1) + ["-1e300"], [("NA" if i == 1 else str(i)) for i in range(n)]]
    lines = [",".join(f"c{j}" for j in range(len(cols))) + ",label"]
    lines += [",".join(c[i] for c in cols) + f",{i % 2}" for i in range(n)]
    p = tmp_path / "w.csv"
    p.write_text("\n".join(lines) + "\n")
    new = _load(str(p), spec)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(columns, "BATCH_CELLS", 0)
        old = _load(str(p), spec)
        old_preview = preview_csv(str(p))
    assert new == old
    assert preview_csv(str(p)) == old_preview


def test_too_large_value_in_a_numeric_block_is_named_like_one_column_at_a_time(tmp_path):
    n = 50
    cols = [[f"{v:.3f}" for v in np.random.default_rng(j).standard_normal(n)] for j in range(5)]
    cols[3][7] = "1e300"  # unscaled, beyond float32
    lines = ["a,b,c,d,e,label"] + [",".join(c[i] for c in cols) + f",{i % 2}" for i in range(n)]
    p = tmp_path / "w.csv"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"w.csv, line 9, column 'd': '1e300' is too large for 32-bit floats"):
        load_dataset(DataSpec(kind="csv", path=str(p), scaling="none"))


@pytest.mark.parametrize("chunk", [1, 4, 10, 4_000_000])
def test_typed_chunks_join_as_one_read(chunk, monkeypatch):
    """Chunk by chunk: numbers meeting text, or integers meeting decimals (``-000`` is the float -0.0),
    are read as text; same frame and values as the reference."""
    monkeypatch.setattr(csvio, "PLAIN_MIN_RECORDS", 1)
    monkeypatch.setattr(csvio, "TYPED_CHUNK_CELLS", chunk)
    rows = [(str(i), f"{i}.5" if i > 5 else str(i), "x" if i == 7 else str(i), str(2**60 + i) if i < 3 else "1.5",
             "a" if i % 2 else "b", str(2**60 + i)) for i in range(12)]
    text = "i,f,t,b,s,g\n" + "".join(",".join(r) + "\n" for r in rows)
    df, _, _ = compare_parse(text, "t.csv", typed=True)
    assert df["i"].dtype.kind == "i" and df["g"].dtype.kind == "i"
    assert (df["f"].dtype.kind == "f") == (chunk >= 6 * 12)  # one chunk: decimals; several: text
    compare_parse("a,b\n0.0,1\n-000,2\n0,3\n", "t.csv", typed=True)  # -0.0, not 0.0
    assert df["t"].tolist()[6:8] == ["6", "x"]
    if chunk < 6 * 12:  # split between its big integers and its decimals: read as text
        assert df["b"].tolist()[0] == str(2**60)
    assert df["s"].tolist()[:2] == ["b", "a"]
