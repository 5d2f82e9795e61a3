"""The data flags of train/evaluate are generated from DataSpec's field metadata: every option has
one, and each flag round-trips into the DataSpec the command uses."""
from __future__ import annotations

import dataclasses

import pytest

from app.cli import _data_spec, build_parser
from engine.data.spec import DataSpec, data_options

NO_FLAG = {"kind", "path"}   # they come from --data


def sample_value(o):
    """A flag text for option ``o`` and the field value it must give."""
    if o.kind == "bool":
        return None, True
    if o.kind == "choice":
        return o.choices[-1], o.choices[-1]
    if o.kind == "int":
        v = int(o.min or 0) + 3 if o.min is not None else 7
        return str(v), v
    if o.kind == "float":
        return "0.25", 0.25
    if o.kind == "list":
        return "a, b", ["a", "b"]
    if o.kind == "size":
        return "12x10", (12, 10)
    if o.kind == "groups":
        return "num=a,b;text=c", {"num": ["a", "b"], "text": ["c"]}
    if o.name == "encoding":
        return "GBK", "gb18030"
    return "col", "col"


def test_every_data_option_has_a_flag():
    names = {f.name for f in dataclasses.fields(DataSpec)}
    assert {o.name for o in data_options()} == names - NO_FLAG
    assert {o.name for o in data_options(include_internal=True)} == names
    flags = {a.option_strings[0] for a in build_parser()._subparsers._group_actions[0].choices["train"]._actions
             if a.option_strings}
    assert {o.flag for o in data_options()} <= flags


@pytest.mark.parametrize("opt", data_options(), ids=lambda o: o.name)
def test_each_data_flag_round_trips(opt, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,c\n1,2,x\n", encoding="utf-8")
    text, want = sample_value(opt)
    argv = ["train", "g.json", "--out", "x.nnsp", "--data", str(csv), opt.flag] + ([] if text is None else [text])
    args = build_parser().parse_args(argv)
    spec = _data_spec(args, None)
    assert getattr(spec, opt.name) == want
    if opt.name == "seed":   # the data seed and the training seed are two settings
        assert args.data_seed == want and args.seed is None
    for k, v in opt.implies.items():
        assert getattr(spec, k) == v
    # the flags that were not given keep DataSpec's defaults
    for other in data_options():
        if other.name != opt.name and other.name not in opt.implies and other.name != "time_series":
            assert getattr(spec, other.name) == other.default, other.name
