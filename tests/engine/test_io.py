import json
import zipfile

import numpy as np
import pytest

from engine.io import ProjectError, atomic_write_text, demo_project, load_project, save_project
from engine.model import compile_graph


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


def _project_zip(path, members: dict, flag_bits: dict | None = None):
    """A saved demo project with some members replaced and some general-purpose flag bits set."""
    import struct
    import zipfile
    save_project(path, demo_project())
    with zipfile.ZipFile(path) as zf:
        have = {n: zf.read(n) for n in zf.namelist()}
    have.update(members)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in have.items():
            zf.writestr(name, data)
    if flag_bits:
        raw = bytearray(path.read_bytes())
        with zipfile.ZipFile(path) as zf:
            start, infos = zf.start_dir, zf.infolist()
        for info in infos:                                    # local header: flags at +6
            bits = flag_bits.get(info.filename, 0)
            off = info.header_offset + 6
            raw[off:off + 2] = struct.pack("<H", struct.unpack("<H", raw[off:off + 2])[0] | bits)
        pos = start
        while raw[pos:pos + 4] == b"PK\x01\x02":             # central directory: flags at +8
            n, m, k = struct.unpack("<HHH", raw[pos + 28:pos + 34])
            name = bytes(raw[pos + 46:pos + 46 + n]).decode()
            bits = flag_bits.get(name, 0)
            raw[pos + 8:pos + 10] = struct.pack("<H", struct.unpack("<H", raw[pos + 8:pos + 10])[0] | bits)
            pos += 46 + n + m + k
        path.write_bytes(bytes(raw))


@pytest.mark.parametrize("members, flags, match", [
    ({"train.json": b"[" * 5000 + b"]" * 5000}, None, "nested 5000 levels"),
    ({"history.json": b"[1" + b"0" * 5000 + b"]"}, None, "digits"),
    ({"graph.json": b"{not json"}, None, "not valid JSON"),
    ({}, {"train.json": 0x1}, "encrypted"),
])
def test_damaged_project_members_are_plain_errors(tmp_path, members, flags, match):
    p = tmp_path / "bad.nnsp"
    _project_zip(p, members, flags)
    with pytest.raises(ProjectError, match=match):
        load_project(p)


def test_weights_that_are_not_numeric_npz_are_refused(tmp_path):
    import io as _io

    import numpy as np
    buf = _io.BytesIO()
    np.save(buf, np.zeros(3))
    p = tmp_path / "npy.nnsp"
    _project_zip(p, {"weights.npz": buf.getvalue()})           # an .npy renamed .npz
    with pytest.raises(ProjectError, match="single .npy array"):
        load_project(p)
    buf = _io.BytesIO()
    np.savez(buf, **{"n2/W": np.array(["a", "b"])})
    p2 = tmp_path / "str.nnsp"
    _project_zip(p2, {"weights.npz": buf.getvalue()})
    with pytest.raises(ProjectError, match="not numbers"):
        load_project(p2)


def test_saved_version_is_the_package_version(tmp_path):
    """One source for the version: the package metadata (pyproject.toml), not a constant in the engine."""
    import zipfile

    from engine.io import demo_project, save_project
    from engine.userdirs import app_version
    save_project(tmp_path / "p.nnsp", demo_project())
    with zipfile.ZipFile(tmp_path / "p.nnsp") as zf:
        meta = json.loads(zf.read("metadata.json"))
    assert meta["app_version"] == app_version() != "0+unknown"


def _project_with_weights_member(path, member: bytes, method=None):
    import zipfile

    from engine.io import demo_project, save_project
    save_project(path, demo_project())
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["weights.npz"] = member
    with zipfile.ZipFile(path, "w", compression=method or zipfile.ZIP_DEFLATED) as zf:
        for n, b in members.items():
            zf.writestr(n, b)


def _npz(arrays, compressed: bool) -> bytes:
    import io as _io
    buf = _io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize("compressed_inner", [False, True])
def test_a_small_project_cannot_expand_into_gigabytes(tmp_path, compressed_inner):
    """A 100 MB array of zeros deflates to ~100 KB; the demo graph needs 354 numbers, so the
    declared size is refused before anything is decompressed (issue 17)."""
    from engine.io import ProjectError, load_project
    bomb = _npz({"n2/W": np.zeros(25_000_000, np.float32)}, compressed_inner)
    p = tmp_path / "bomb.nnsp"
    _project_with_weights_member(p, bomb)
    assert p.stat().st_size < 1_000_000 or not compressed_inner
    with pytest.raises(ProjectError, match="declares .* bytes, but its graph needs at most"):
        load_project(p)


def test_weights_within_what_the_graph_needs_still_load(tmp_path):
    from engine.io import demo_project, load_project, save_project, weights_limit
    from engine.model import compile_graph
    proj = demo_project()
    proj.weights = compile_graph(proj.graph).state_dict()
    save_project(tmp_path / "ok.nnsp", proj)
    loaded = load_project(tmp_path / "ok.nnsp")
    assert set(loaded.weights) == set(proj.weights)
    # float64 weights written by another tool are within the limit too
    w64 = {k: v.astype(np.float64) for k, v in proj.weights.items()}
    _project_with_weights_member(tmp_path / "f64.nnsp", _npz(w64, compressed=True))
    assert load_project(tmp_path / "f64.nnsp").weights["n2/W"].dtype == np.float64
    assert weights_limit(proj.graph) < 200_000


def test_whatever_a_large_graph_saves_it_can_open():
    """The weights' size limit comes from the graph, not a fixed 2 GiB: a 600 M-parameter model
    (2.4 GB of float32) must reopen (issue 17).  Counted without building the model."""
    from engine.io import _MAX_MEMBER, weights_limit
    from engine.spec import sequential
    big = sequential([("Input.v1", {"shape": [20000]}), ("Dense.v1", {"units": 30000})])
    assert weights_limit(big) > 4 * 20000 * 30000 > _MAX_MEMBER


def test_saving_streams_the_weights_instead_of_copying_them(tmp_path):
    """A large model's save holds no second (compressed) copy of its weights in memory: the arrays are
    streamed in 1 MiB slices (before: the whole compressed .npz in a buffer, then a copy of it; 63 MB
    peak for these 48 MB of weights with NumPy's own writer)."""
    import tracemalloc

    from engine.io import Project
    from engine.spec import sequential

    g = sequential([("Input.v1", {"shape": [3000]}), ("Dense.v1", {"units": 4000, "activation": "linear"})])
    rng = np.random.default_rng(0)
    weights = {"n1/W": rng.random((3000, 4000), dtype=np.float32), "n1/b": np.zeros(4000, np.float32)}
    project = Project(graph=g, train_config={}, data_spec=None, preprocessing=None, weights=weights,
                      history=[], metadata={})
    size = sum(a.nbytes for a in weights.values())
    tracemalloc.start()
    try:
        save_project(tmp_path / "big.nnsp", project)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.2 * size, (peak, size)
    back = load_project(tmp_path / "big.nnsp")
    np.testing.assert_array_equal(back.weights["n1/W"], weights["n1/W"])


@pytest.mark.parametrize("a", [np.arange(7, dtype=np.float32), np.float64(2.5) * np.ones((2, 3, 4)),
                               np.array(3, dtype=np.int64), np.zeros((0, 5), np.float32),
                               np.array([True, False]), np.arange(300_000, dtype=np.uint8).reshape(3, -1),
                               np.asfortranarray(np.arange(12.0).reshape(3, 4))])
def test_streamed_npz_is_what_numpy_reads(a):
    from engine.io import load_npz_bytes, npz_bytes

    back = load_npz_bytes(npz_bytes({"n1/W": a, "b": a}))
    for k in ("n1/W", "b"):
        assert back[k].dtype == a.dtype and back[k].shape == a.shape and np.array_equal(back[k], a)
