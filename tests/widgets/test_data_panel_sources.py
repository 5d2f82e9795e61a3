"""The data panel's form is generated from the sources and the DataSpec option metadata (issue 12).

Every DataSpec option a source names has a widget and round-trips (``set_spec`` -> ``spec``); a
source registered here, and nowhere else, is listed and shows the rows of its options only.
"""
from __future__ import annotations

import dataclasses

import pytest

from engine.data import DataSpec
from engine.data.sources import SOURCES, DataSource, register, source_for, unregister
from engine.data.spec import data_options
from widgets.data_panel import DataPanel

pytestmark = pytest.mark.usefixtures("qapp")


def value_for(o):
    """A value other than the default for option ``o`` (valid together with the others)."""
    special = {"val_split": 0.25, "test_split": 0.1, "noise": 0.35, "sheet": "Sheet 2", "target": "y",
               "time_column": "date", "inputs": {"num": ["a", "b"], "text": ["t"]}, "encoding": "big5"}
    if o.name in special:
        return special[o.name]
    if o.kind == "bool":
        return True if o.default in (None, False) else False
    if o.kind == "choice":
        return o.choices[-1]
    if o.kind == "int":
        return int(o.min or 0) + 7
    if o.kind == "float":
        return 0.5
    if o.kind == "list":
        return ["a", "t"]
    if o.kind == "size":
        return (12, 10)
    return "x"


#: one spec per source and variant: every option that applies gets a non-default value
VARIANTS = [("sample", "circles", {}), ("sample", "sentiment", {}), ("sample", "seasonal", {}),
            ("csv", "data.csv", {}), ("csv", "data.csv", {"time_series": True}), ("csv", "book.xlsx", {}),
            ("images", "pictures", {}), ("npz", "arrays.npz", {})]


def full_spec(kind, path, extra) -> DataSpec:
    spec = DataSpec(kind=kind, path=path, **extra)
    src = source_for(spec)
    for k, v in src.forced_fields(spec).items():
        setattr(spec, k, v)
    for o in data_options():
        if src.applies(o.name, spec) and o.name not in extra and o.name not in src.forced_fields(spec):
            setattr(spec, o.name, value_for(o))
    return spec.validate()


@pytest.mark.parametrize(("kind", "path", "extra"), VARIANTS, ids=[f"{k}:{p}{'+series' if e else ''}"
                                                                  for k, p, e in VARIANTS])
def test_every_option_round_trips_through_the_panel(qtbot, kind, path, extra):
    want = full_spec(kind, path, extra)
    changed = {f.name for f in dataclasses.fields(DataSpec)
               if getattr(want, f.name) != getattr(DataSpec(kind=kind, path=path), f.name)}
    assert len(changed) >= 4, changed   # the variant sets something
    p = DataPanel()
    qtbot.addWidget(p)
    p.set_spec(want)
    assert p.spec().to_dict() == want.to_dict()
    src = source_for(want)
    for o in data_options():   # exactly the options that apply are shown
        assert p.option_visible(o.name) == src.applies(o.name, want), o.name


def test_every_dataspec_option_has_a_widget(qtbot):
    p = DataPanel()
    qtbot.addWidget(p)
    assert set(p.options) == {o.name for o in data_options()}
    for name in p.options:
        assert getattr(p, name) is not None and name in p._rows or name in p._toggles.values()


def test_a_registered_source_appears_in_the_panel(qtbot):
    register(DataSource(kind="ramp", label="Ramp", load=lambda spec, **kw: None, path="name",
                        names=lambda: ("10", "40"), name_labels={"40": "forty points"},
                        options=("val_split", "seed", "noise")))
    try:
        p = DataPanel()
        qtbot.addWidget(p)
        p.kind.setCurrentIndex(p.kind.findData("ramp"))
        assert p.kind.currentText() == "Ramp" and [p.sample.itemText(i) for i in range(p.sample.count())] == \
            ["10", "forty points"]
        shown = {name for name in p.options if p.option_visible(name)}
        assert shown == {"val_split", "seed", "noise"}
        p.sample.setCurrentIndex(1)
        p.noise.setValue(0.4)
        s = p.spec()
        assert (s.kind, s.path, s.noise) == ("ramp", "40", 0.4)
    finally:
        unregister("ramp")
    assert "ramp" not in SOURCES
