"""Fuzzing the readers of everything a user can hand to NN Studio (issue 17).

Arbitrary bytes and structurally mutated valid files must load or raise the reader's own
error type (whose message is written for the user) -- never a RecursionError, KeyError,
TypeError, a hang or a huge allocation.  Each example is small, so time and memory stay
bounded; pytest-timeout catches a hang.
"""
from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compile import analyse
from engine.export import ExportError
from engine.export.importer import check_metadata, read_export
from engine.io import Project, ProjectError, demo_project, load_project, save_project
from engine.spec import GraphSpec, SpecError

pytestmark = pytest.mark.timeout(300)
FUZZ = settings(max_examples=120, deadline=None, derandomize=True,  # the same examples every run (CI)
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                      st.text(max_size=12), st.sampled_from(["Dense.v1", "Input.v1", "n1", "", "../x", "é"]))
json_value = st.recursive(json_leaf, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), kids, max_size=4)),
                          max_leaves=12)


def _paths(obj, prefix=()):
    """Every (path, value) in a JSON tree, containers included."""
    yield prefix, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _replace(obj, path, value):
    if not path:
        return value
    obj = json.loads(json.dumps(obj))
    cur = obj
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return obj


@st.composite
def mutated(draw, tree):
    """``tree`` with one node replaced by arbitrary JSON, or one key deleted."""
    paths = list(_paths(tree))
    path, _ = draw(st.sampled_from(paths))
    if path and draw(st.booleans()) and isinstance(path[-1], str):
        parent = tree
        for p in path[:-1]:
            parent = parent[p]
        out = json.loads(json.dumps(tree))
        cur = out
        for p in path[:-1]:
            cur = cur[p]
        cur.pop(path[-1], None)
        return out
    return _replace(tree, path, draw(json_value))


GRAPH = json.loads(demo_project().graph.to_json())


# ------------------------------------------------------------------------- graphs
@FUZZ
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                 mutated(GRAPH).map(lambda g: json.dumps(g).encode())))
def test_graph_reader_loads_or_raises_spec_error(data):
    try:
        spec = GraphSpec.from_json(data)
    except SpecError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    a = analyse(spec)            # never raises: problems become messages on the nodes
    for msg in a.errors.values():
        assert isinstance(msg, str) and msg


# ------------------------------------------------------------------------- projects
@pytest.fixture(scope="module")
def project_bytes(tmp_path_factory):
    p = demo_project()
    from engine.model import compile_graph
    p.weights = compile_graph(p.graph).state_dict()
    p.history = [{"name": "run 1", "epochs": [{"epoch": 1, "loss": 0.5}]}]
    path = tmp_path_factory.mktemp("fuzz") / "p.nnsp"
    save_project(path, p)
    return path.read_bytes()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _zip(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return buf.getvalue()


def _check_project(tmp_path, data: bytes):
    path = tmp_path / "fuzz.nnsp"
    path.write_bytes(data)
    try:
        p = load_project(path)
    except ProjectError as exc:
        assert str(exc)
    else:
        assert isinstance(p, Project)


@FUZZ
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_as_a_project(tmp_path, data):
    _check_project(tmp_path, data)


@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_damaged_bytes_of_a_real_project(tmp_path, project_bytes, flips, cut):
    b = bytearray(project_bytes)
    for where, value in flips:
        b[int(where * (len(b) - 1))] = value
    if cut is not None:
        b = b[:int(cut * len(b))]
    _check_project(tmp_path, bytes(b))


MEMBER_NAMES = ["metadata.json", "graph.json", "train.json", "data.json", "preprocessing.json", "history.json"]


@FUZZ
@given(name=st.sampled_from(MEMBER_NAMES), value=json_value, drop=st.booleans())
def test_members_with_other_json(tmp_path, project_bytes, name, value, drop):
    m = _members(project_bytes)
    if drop:
        m.pop(name)
    else:
        m[name] = json.dumps(value).encode()
    _check_project(tmp_path, _zip(m))


@FUZZ
@given(data=st.data())
def test_graph_member_mutated(tmp_path, project_bytes, data):
    m = _members(project_bytes)
    m["graph.json"] = json.dumps(data.draw(mutated(json.loads(m["graph.json"])))).encode()
    _check_project(tmp_path, _zip(m))


weights_member = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda a: _npz_bytes({"n2/W": a}), st.sampled_from([
        np.array(["a", "b"]), np.zeros((0,)), np.array([np.nan, np.inf]), np.zeros((2, 3), np.complex64),
        np.array([True, False]), np.zeros((3, 3), np.float16), np.array(2**62)])),
    st.just(b"\x93NUMPY" + b"\0" * 50),
)


def _npz_bytes(arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@FUZZ
@given(w=weights_member)
def test_weights_member_replaced(tmp_path, project_bytes, w):
    m = _members(project_bytes)
    m["weights.npz"] = w
    _check_project(tmp_path, _zip(m))


# ------------------------------------------------------------------------- exports
@pytest.fixture(scope="module")
def export_files(tmp_path_factory):
    from engine.export import export_project
    from engine.model import compile_graph
    p = demo_project()
    p.weights = compile_graph(p.graph).state_dict()
    d = tmp_path_factory.mktemp("exp")
    out = {}
    for fmt, name in (("npz", "m.npz"), ("safetensors", "m.safetensors")):
        export_project(p, fmt, d / name)
        out[fmt] = (d / name).read_bytes()
    return out


def _check_export(tmp_path, suffix, data: bytes):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        weights, meta = read_export(path)
        check_metadata(meta, weights, path.name)
    except ExportError as exc:
        assert str(exc)


@FUZZ
@given(suffix=st.sampled_from([".npz", ".safetensors"]), data=st.binary(max_size=300))
def test_arbitrary_bytes_as_an_export(tmp_path, suffix, data):
    _check_export(tmp_path, suffix, data)


@FUZZ
@given(fmt=st.sampled_from(["npz", "safetensors"]),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=6))
def test_damaged_exports(tmp_path, export_files, fmt, flips):
    b = bytearray(export_files[fmt])
    for where, value in flips:
        b[int(where * (len(b) - 1))] = value
    _check_export(tmp_path, "." + fmt, bytes(b))


@FUZZ
@given(data=st.data())
def test_export_metadata_mutated(tmp_path, export_files, data):
    from safetensors.numpy import load
    raw = export_files["safetensors"]
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = json.loads(header["__metadata__"]["nnstudio"])
    meta = data.draw(mutated(meta))
    arrays = load(raw)
    from engine.export.safetensors_io import safetensors_bytes
    try:
        blob = safetensors_bytes(arrays, meta)
    except (TypeError, ValueError):
        return                    # not even writable as metadata
    _check_export(tmp_path, ".safetensors", blob)


# ------------------------------------------------------------------------- command line
FLAGS = ["--epochs", "--batch-size", "--lr", "--seed", "--patience", "--val-split", "--test-split", "--image-size",
         "--optimizer", "--monitor", "--momentum", "--weight-decay", "--scaling", "--encoding", "--task", "--target"]
flag_value = st.one_of(st.integers(-10**40, 10**40).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                       st.text(max_size=8), st.sampled_from(["adam", "0", "-1", "1e999", "nan", "28x", "x", ""]))


@FUZZ
@given(pairs=st.lists(st.tuples(st.sampled_from(FLAGS), flag_value), max_size=5))
def test_train_flags_are_refused_with_a_message_or_accepted(pairs):
    from app import cli
    argv = ["train", "g.json", "--data", "sample:iris", "--out", "x.nnsp"]
    for flag, value in pairs:
        argv += [flag, value]
    try:
        args = cli.build_parser().parse_args(argv)
    except SystemExit as exc:          # argparse: usage error, exit 2
        assert exc.code == 2
        return
    try:
        cfg = cli._train_config(args, None)
        cli._data_spec(args, None)
    except cli._user_errors() as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert 1 <= cfg.epochs <= 1_000_000


@FUZZ
@given(data=st.data())
def test_importing_an_export_with_mutated_metadata(tmp_path, export_files, data):
    """The whole import (graph rebuilt, weights loaded) ends in a Project or an ExportError.
    One mutation per example keeps every graph small (sizes are bounded per layer)."""
    from safetensors.numpy import load

    from engine.export.importer import import_weights
    from engine.export.safetensors_io import safetensors_bytes
    raw = export_files["safetensors"]
    n = struct.unpack("<Q", raw[:8])[0]
    meta = json.loads(json.loads(raw[8:8 + n])["__metadata__"]["nnstudio"])
    try:
        blob = safetensors_bytes(load(raw), data.draw(mutated(meta)))
    except (TypeError, ValueError):
        return
    path = tmp_path / "m.safetensors"
    path.write_bytes(blob)
    try:
        p = import_weights(path)
    except ExportError as exc:
        assert str(exc)
    else:
        assert isinstance(p, Project) and p.weights
