"""pytest plugin (``-p tests.engine.csv_dual``): every CSV parse and every numeric column
parse runs both the engine's code and the reference copy in ``csv_reference.py`` and fails
on any difference -- frame, meta, row labels, values, masks, error type and message.

``test_data_csv_fast.py::test_existing_csv_tests_agree_with_the_reference`` runs the existing
CSV test modules under it, so their whole corpus of hand-written files is compared.
"""
from __future__ import annotations

import numpy as np
import pytest

from engine.data import csvio, preprocess, tabular
from engine.data.errors import DataError
from tests.engine import csv_reference as ref

CALLS = {"parse_text": 0, "parse_numeric": 0}


def _outcome(fn, *a, **k):
    try:
        return "ok", fn(*a, **k)
    except DataError as exc:
        return "error", (type(exc).__name__, str(exc))


def same_numeric(a, b) -> bool:
    (v1, m1, b1), (v2, m2, b2) = a, b
    return (np.array_equal(m1, m2) and np.array_equal(b1, b2)
            and np.array_equal(v1.view(np.int64), v2.view(np.int64)))


def compare_parse(text, name, limit=None, typed=False):
    """The new parse (returned) after checking it against the reference; raises AssertionError."""
    kind, got = _outcome(_new_parse_text, text, name, limit=limit, typed=typed)
    rkind, want = _outcome(ref.parse_text, text, name, limit=limit)
    assert kind == rkind, (kind, got if kind == "error" else "", rkind, want if rkind == "error" else "")
    if kind == "error":
        assert got == want
        raise DataError(got[1])
    df, meta, labels = got
    rdf, rmeta, rlabels = want
    assert meta == rmeta and list(df.columns) == list(rdf.columns) and df.shape == rdf.shape
    assert labels.tolist() == rlabels.tolist()
    for c in df.columns:
        col, rcol = df[c], rdf[c]
        if col.dtype.kind in "iuf":
            assert typed
            want_num = ref.parse_numeric(rcol, meta["decimal"])
            assert same_numeric(_new_parse_numeric(col, meta["decimal"]), want_num), c
            assert not want_num[2].any() and not want_num[1].any(), c  # a typed column is all finite numbers
        else:
            assert col.to_numpy(dtype=object).tolist() == rcol.to_numpy(dtype=object).tolist(), c
    return got


def checked_parse_numeric(col, decimal="."):
    CALLS["parse_numeric"] += 1
    got = _new_parse_numeric(col, decimal)
    want = ref.parse_numeric(col, decimal)
    assert same_numeric(got, want), (col.head(5).tolist(), decimal)
    return got


def checked_parse_text(text, name, *, limit=None, typed=False):
    CALLS["parse_text"] += 1
    return compare_parse(text, name, limit, typed)


_new_parse_numeric = tabular.parse_numeric
_new_parse_text = csvio.parse_text


@pytest.fixture(autouse=True)
def _dual(monkeypatch):
    monkeypatch.setattr(csvio, "PLAIN_MIN_RECORDS", 1)  # the small test files take the columnar path
    monkeypatch.setattr(csvio, "parse_text", checked_parse_text)
    monkeypatch.setattr(tabular, "parse_numeric", checked_parse_numeric)
    monkeypatch.setattr(preprocess, "parse_numeric", checked_parse_numeric)
    yield


def pytest_sessionfinish(session, exitstatus):
    # proof that the comparison ran (read by the test that starts this session)
    print(f"\ncsv_dual: {CALLS['parse_text']} parses and {CALLS['parse_numeric']} numeric columns compared")


