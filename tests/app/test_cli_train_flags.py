"""The ``train`` flags are generated from TrainConfig's field metadata: every user-facing setting has
a flag with help text (and choices), its value reaches the TrainConfig, bounds are refused naming
the flag, and the internal settings have none."""
import argparse
import json
import math

import pytest

from app.cli import _train_config, build_parser, main
from engine.io import load_project
from engine.trainer import TrainConfig, train_fields
from tests.app.test_cli import IRIS_GRAPH


def flag(name):
    return "--" + name.replace("_", "-")


def non_default(fi):
    """A valid value of the field that differs from its default."""
    d = fi.default
    if fi.kind == "bool":
        return not d
    if fi.kind == "choice":
        return next(c for c in fi.choices if c != d)
    if fi.kind == "str":
        return next(s for s in (fi.suggestions or ()) + ("val_accuracy",) if s != d)
    if fi.kind == "int":
        return d + 1 if fi.max is None or d + 1 <= fi.max else d - 1
    lo = fi.min if fi.min is not None else -math.inf
    hi = fi.max if fi.max is not None else math.inf
    return next(v for v in (d * 2, d + 0.25, d / 2) if v != d and lo <= v <= hi)


def argv_for(fi, value):
    if fi.kind == "bool":
        return [flag(fi.name) if value else "--no-" + fi.name.replace("_", "-")]
    return [flag(fi.name), repr(value) if isinstance(value, float) else str(value)]


def train_args(*extra):
    return build_parser().parse_args(["train", "g.json", "--out", "x.nnsp", *extra])


def train_parser():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


@pytest.mark.parametrize("fi", train_fields(), ids=lambda fi: fi.name)
def test_every_user_facing_field_has_a_flag_whose_value_reaches_the_config(fi):
    value = non_default(fi)
    assert value != fi.default
    args = train_args(*argv_for(fi, value))
    assert getattr(args, fi.name) == value
    cfg = _train_config(args, None)
    assert getattr(cfg, fi.name) == value
    # a flag overrides the project's setting; without the flag the project's setting stays
    saved = {fi.name: value}
    assert getattr(_train_config(train_args(), saved), fi.name) == value


def test_all_flags_at_once_give_exactly_that_config():
    argv, want = [], TrainConfig().to_dict()
    for fi in train_fields():
        want[fi.name] = non_default(fi)
        argv += argv_for(fi, want[fi.name])
    assert _train_config(train_args(*argv), None).to_dict() == want


def test_flags_have_help_choices_and_no_internal_setting_has_one():
    actions = {a.dest: a for a in train_parser()._actions}
    for fi in train_fields():
        a = actions[fi.name]
        assert flag(fi.name) in a.option_strings
        assert fi.help and fi.help in a.help, fi.name
        if fi.kind == "choice":
            assert tuple(a.choices) == fi.choices
    internal = [fi for fi in train_fields(include_internal=True) if fi.internal]
    assert {fi.name for fi in internal} == {"histograms", "report_interval", "pause_on_divergence"}
    for fi in internal:
        assert fi.name not in actions
        with pytest.raises(SystemExit):
            train_args(flag(fi.name), "1")


@pytest.fixture()
def graph(tmp_path):
    g = tmp_path / "g.json"
    g.write_text(json.dumps(IRIS_GRAPH))
    return g


bounded = [fi for fi in train_fields() if fi.kind in ("int", "float") and fi.max is not None]


@pytest.mark.parametrize("fi", bounded, ids=lambda fi: fi.name)
def test_out_of_bounds_values_are_refused_naming_the_flag(fi, graph, tmp_path, capsys):
    out = tmp_path / "x.nnsp"
    too_big = fi.max + 1 if fi.kind == "int" else fi.max * 2 + 1
    assert main(["train", str(graph), "--data", "sample:iris", flag(fi.name), str(too_big), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    named = flag(fi.name) + ("" if fi.label.lower() == fi.name.replace("_", " ") else f" ({fi.label})")
    assert f"error: {named} must be between " in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_bad_choices_and_types_are_usage_errors(capsys):
    for argv in (["--optimizer", "adagrad"], ["--epochs", "ten"], ["--lr", "fast"]):
        with pytest.raises(SystemExit) as e:
            train_args(*argv)
        assert e.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'adagrad'" in err and "invalid int value: 'ten'" in err


def test_a_run_saves_the_flags_and_says_which_ones_had_no_effect(graph, tmp_path, capsys):
    out = tmp_path / "run.nnsp"
    code = main(["train", str(graph), "--data", "sample:iris", "--epochs", "2", "--optimizer", "sgd",
                 "--lr", "0.05", "--momentum", "0.9", "--nesterov", "--schedule", "step", "--step-size", "5",
                 "--gamma", "0.7", "--no-shuffle", "--weight-decay", "0.2", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    saved = load_project(out).train_config
    for k, v in {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True, "schedule": "step", "step_size": 5,
                     "gamma": 0.7, "shuffle": False, "epochs": 2, "weight_decay": 0.2}.items():
        assert saved[k] == v, k
    assert "note: --weight-decay has no effect here; it applies only with --optimizer adamw" in err
    assert "--momentum" not in err
    # training again from the project keeps its settings unless a flag overrides one
    out2 = tmp_path / "again.nnsp"
    assert main(["train", str(out), "--epochs", "1", "--quiet", "--out", str(out2)]) == 0
    again = load_project(out2).train_config
    assert again["momentum"] == 0.9 and again["step_size"] == 5 and again["epochs"] == 1
