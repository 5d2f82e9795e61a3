"""One design for every data source (issue 12): the sources are declarations in ``engine.data.sources``.

* No code outside the sources compares a kind string (``spec.kind == "csv"``, ``pre.get("kind") ==
  "images"``): app/, widgets/, engine/evaluate.py and engine/jobs ask the source or saved form.
* Every option a source names is a DataSpec option with a command-line flag.
* A source registered here, and nowhere else, is read by ``--data``, loaded by ``load_dataset`` and
  gets its CLI flags (the data panel part is in tests/widgets/test_data_panel_sources.py).
"""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from engine.data import DataSpec, load_dataset
from engine.data.sources import (
    FORMS,
    SOURCES,
    DataSource,
    register,
    saved_form,
    source_for,
    source_for_path,
    unregister,
)
from engine.data.spec import data_options

ROOT = Path(__file__).resolve().parents[2]
#: the source kinds and the saved preprocessing kinds, as string literals
KIND_STRINGS = {"csv", "images", "sample", "npz", "tabular", "timeseries", "arrays"}
SCANNED = ("app", "widgets", "engine/evaluate.py", "engine/jobs")


def _files():
    for name in SCANNED:
        p = ROOT / name
        yield from ([p] if p.is_file() else sorted(p.rglob("*.py")))


def _literals(node) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(_literals(e) for e in node.elts)) if node.elts else set()
    return set()


def _mentions_kind(node) -> bool:
    """``x.kind``, ``kind``, ``x.get("kind")``, ``x["kind"]``, ``current_kind()`` anywhere in ``node``."""
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and "kind" in n.attr or isinstance(n, ast.Name) and ("kind" in n.id
                                                                                          or n.id == "k"):
            return True
        if isinstance(n, ast.Constant) and n.value == "kind":
            return True
    return False


def kind_comparisons(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        found = set().union(*(_literals(s) for s in sides)) & KIND_STRINGS
        if found and any(_mentions_kind(s) for s in sides if not _literals(s)):
            out.append(f"{path.relative_to(ROOT)}:{node.lineno}: compares a kind with {sorted(found)}")
    return out


def test_no_kind_string_comparisons_outside_the_sources():
    bad = [hit for p in _files() for hit in kind_comparisons(p)]
    assert not bad, "ask engine.data.sources (source_for / saved_form) instead:\n" + "\n".join(bad)


def test_the_scan_finds_a_comparison(tmp_path):
    p = tmp_path / "x.py"
    p.write_text("if spec.kind == 'csv' or pre.get('kind') in ('images', 'x') or k != 'npz':\n    pass\n"
                 "if name == 'csv' or mode in ('L', 'RGB'):\n    pass\n")
    old = ROOT
    try:
        globals()["ROOT"] = tmp_path
        assert len(kind_comparisons(p)) == 3   # kind == 'csv', get('kind') in (...), k != 'npz'; not name/mode
    finally:
        globals()["ROOT"] = old


def test_every_source_option_is_a_dataspec_option_with_a_flag():
    flags = {o.name for o in data_options()}
    fields = {f.name for f in dataclasses.fields(DataSpec)}
    for src in SOURCES.values():
        assert set(src.options) <= flags, (src.kind, set(src.options) - flags)
        assert set(src.when) <= set(src.options), src.kind
        assert set(src.forced_fields(DataSpec(kind=src.kind, path=""))) <= fields


def test_lookups():
    assert [s.kind for s in SOURCES.values()] == ["sample", "csv", "images", "npz"]
    assert source_for(DataSpec.parse_cli("sample:iris")).kind == "sample"
    assert saved_form({"kind": "timeseries"}).prediction_columns is not None
    assert saved_form({"kind": "tabular"}).rows and saved_form({"kind": "images"}).images
    assert saved_form(None) is None and saved_form({"kind": "?"}) is None
    assert set(FORMS) == {"tabular", "images", "timeseries", "arrays"}
    assert source_for_path("a.XLSX").kind == "csv" and source_for_path("a.npz").kind == "npz"
    assert source_for_path(str(ROOT)).kind == "images" and source_for_path("a.png") is None
    spec = DataSpec(kind="csv", path="a.xlsx")
    assert source_for(spec).applies("sheet", spec) and not source_for(spec).applies("encoding", spec)
    assert not source_for(spec).applies("window", spec)
    spec.time_series = True
    assert source_for(spec).applies("window", spec)
    s = DataSpec(kind="sample", path="seasonal")
    assert source_for(s).forced_fields(s) == {"time_series": True} and source_for(s).applies("window", s)
    assert not source_for(s).applies("noise", s)


@pytest.fixture
def toy_source():
    """A source declared in a test only: ``ramp:N`` points on a line, classified by their sign."""
    def load(spec, *, progress=None, cancel=None, memory_budget=None, fixed=None):
        import pandas as pd

        from engine.data.arrays import _tabular_from_frame
        n = int(spec.path)
        x = np.linspace(-1, 1, n)
        df = pd.DataFrame({"x": x, "class": np.where(x > 0, "pos", "neg")})
        return _tabular_from_frame(spec, df, f"ramp:{n}", "class", fixed=fixed)

    src = register(DataSource(kind="ramp", label="Ramp", load=load, path="name", names=lambda: ("10", "40"),
                              options=("val_split", "test_split", "seed", "scaling"),
                              claim=lambda d: d[5:] if d.startswith("ramp:") else None))
    yield src
    unregister("ramp")


def test_a_registered_source_is_read_by_data_and_loaded(toy_source):
    spec = DataSpec.parse_cli("ramp:40", val_split=0.25)
    assert (spec.kind, spec.path) == ("ramp", "40")
    ds = load_dataset(spec)
    assert ds.class_names == ["neg", "pos"] and sum(ds.summary()["counts"].values()) == 40
    # the command line: --data ramp:40 and the generated flags of the options the source names
    from app.cli import _data_spec, build_parser
    args = build_parser().parse_args(["train", "g.json", "--data", "ramp:40", "--val-split", "0.3", "--scaling",
                                      "minmax", "--data-seed", "4", "--out", "o.nnsp"])
    spec = _data_spec(args, None)
    assert (spec.kind, spec.path, spec.val_split, spec.scaling, spec.seed) == ("ramp", "40", 0.3, "minmax", 4)


def test_an_unknown_kind_names_the_known_ones():
    from engine.data import DataError
    with pytest.raises(DataError, match="unknown data kind 'tape'.*sample, csv, images, npz"):
        DataSpec(kind="tape", path="x").validate()
