import json
import zipfile

import numpy as np
import pytest

from engine.compile import compile_graph
from engine.io import Project, ProjectError, atomic_write_text, demo_project, load_project, save_project


def test_project_round_trip(tmp_path):
    p = demo_project()
    p.weights = compile_graph(p.graph, seed=1).state_dict()
    p.history = [{"name": "run 1", "settings": {}, "epochs": [{"epoch": 1, "loss": 0.5}]}]
    p.preprocessing = {"kind": "sample"}
    f = tmp_path / "a.nnsp"
    save_project(f, p)
    q = load_project(f)
    assert q.graph == p.graph and q.train_config == p.train_config and q.data_spec == p.data_spec
    assert q.history == p.history and q.preprocessing == p.preprocessing
    assert set(q.weights) == set(p.weights)
    assert all(np.array_equal(q.weights[k], p.weights[k]) for k in p.weights)
    assert q.metadata["schema_version"] == 1
    with zipfile.ZipFile(f) as zf:
        assert {"metadata.json", "graph.json", "train.json", "weights.npz"} <= set(zf.namelist())


def test_atomic_save_leaves_old_file_on_failure(tmp_path):
    f = tmp_path / "a.nnsp"
    save_project(f, demo_project())
    before = f.read_bytes()
    bad = demo_project()
    bad.weights = {"x": np.array([object()], dtype=object)}
    with pytest.raises(ProjectError):
        save_project(f, bad)
    assert f.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.nnsp"]  # no temp file left behind


@pytest.mark.parametrize("content,message", [
    (b"hello", "not an NN Studio project"),
    (b"", "not an NN Studio project"),
])
def test_damaged_files_give_clear_errors(tmp_path, content, message):
    f = tmp_path / "x.nnsp"
    f.write_bytes(content)
    with pytest.raises(ProjectError, match=message):
        load_project(f)


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for k, v in members.items():
            zf.writestr(k, v)


def test_hand_edited_members(tmp_path):
    good = demo_project()
    f = tmp_path / "p.nnsp"
    _zip(f, {"graph.json": good.graph.to_json()})
    with pytest.raises(ProjectError, match="no metadata.json"):
        load_project(f)
    _zip(f, {"metadata.json": '{"format": "nn-studio-project", "schema_version": 1}', "graph.json": "{oops"})
    with pytest.raises(ProjectError, match="graph.json in the project is damaged"):
        load_project(f)
    _zip(f, {"metadata.json": '{"schema_version": 7}', "graph.json": good.graph.to_json()})
    with pytest.raises(ProjectError, match="newer NN Studio"):
        load_project(f)
    _zip(f, {"metadata.json": "{}", "graph.json": good.graph.to_json(), "weights.npz": b"garbage"})
    with pytest.raises(ProjectError, match="weights"):
        load_project(f)
    # a pickled object array inside weights.npz is refused, never executed
    import io
    buf = io.BytesIO()
    np.savez(buf, w=np.array([{"a": 1}], dtype=object))
    _zip(f, {"metadata.json": "{}", "graph.json": good.graph.to_json(), "weights.npz": buf.getvalue()})
    with pytest.raises(ProjectError):
        load_project(f)


def test_schema_0_project_is_migrated(tmp_path):
    f = tmp_path / "old.nnsp"
    _zip(f, {"metadata.json": "{}", "graph.json": json.dumps(
        {"nodes": [{"id": "n1", "type": "Input.v1", "config": {"shape": [2]}}], "links": []})})
    p = load_project(f)
    assert p.metadata["schema_version"] == 1 and p.graph.node_ids == ["n1"]


def test_atomic_write_text(tmp_path):
    f = tmp_path / "t.txt"
    atomic_write_text(f, "one")
    atomic_write_text(f, "two")
    assert f.read_text() == "two"
    with pytest.raises(ProjectError):
        atomic_write_text(tmp_path / "missing" / "t.txt", "x")


def test_atomic_save_keeps_normal_permissions_links_and_cleans_leftovers(tmp_path):
    import os
    import stat
    import time

    from engine import io as eio
    new = tmp_path / "new.nnsp"
    save_project(new, demo_project())
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~eio._UMASK      # not the temp file's 0o600
    shared = tmp_path / "shared.txt"
    shared.write_text("x")
    shared.chmod(0o640)
    atomic_write_text(shared, "y")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o640 and shared.read_text() == "y"
    link = tmp_path / "link.txt"
    link.symlink_to(shared)
    atomic_write_text(link, "z")
    assert link.is_symlink() and shared.read_text() == "z"
    old = tmp_path / ".shared.txt.abc123.tmp"              # left by a save that was killed
    fresh = tmp_path / ".shared.txt.def456.tmp"            # perhaps another save right now
    other = tmp_path / ".other.txt.abc123.tmp"
    for p in (old, fresh, other):
        p.write_text("partial")
    past = time.time() - 2 * eio.STALE_TEMP_AGE
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    atomic_write_text(shared, "w")
    assert not old.exists() and fresh.exists() and other.exists()
