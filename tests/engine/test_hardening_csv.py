"""Class names written into prediction CSVs never become live spreadsheet formulas (issue 17)."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from engine.evaluate import predict_file, spreadsheet_safe
from engine.io import Project
from tests.engine.test_evaluate import P, softmax_model


@pytest.mark.parametrize("text,want", [
    ('=HYPERLINK("http://x")', "'=HYPERLINK(\"http://x\")"), ("+1+cmd", "'+1+cmd"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("-1", "-1"), ("+2.5e3", "+2.5e3"), ("cat", "cat"), ("a=b", "a=b"), ("", ""),
])
def test_spreadsheet_safe(text, want):
    assert spreadsheet_safe(text) == want


def test_prediction_csv_neutralises_formula_class_names(tmp_path):
    m = softmax_model()
    names = ['=HYPERLINK("http://example.invalid","x")', "@cmd", "-1"]
    proj = Project(graph=m.spec, metadata={"task": "classification", "class_names": names})
    np.savez(tmp_path / "in.npz", x=np.log(P).astype(np.float32))
    predict_file(m, proj, tmp_path / "in.npz", tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    cells = [c for r in rows for c in r]
    assert not any(c.startswith(("=", "@")) for c in cells)
    assert "'" + names[0] in rows[1] and "prob_'@cmd" in rows[0] and "prob_-1" in rows[0]
