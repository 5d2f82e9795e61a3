"""Document, undo commands, graph controller and project controller (no main window)."""
import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QUndoStack

from app.controllers.graph_controller import GraphController, layered_layout
from app.controllers.project_controller import ProjectController
from app.document import GraphDocument
from engine.io import demo_project
from engine.spec import GraphSpec, sequential


@pytest.fixture
def env(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    doc = GraphDocument()
    stack = QUndoStack()
    ctrl = GraphController(doc, stack)
    proj = ProjectController(doc, stack)
    proj.show_error = lambda title, text: errors.append(text)
    errors = []
    proj.errors = errors
    proj.load(demo_project(), None)
    yield doc, stack, ctrl, proj
    proj.timer.stop()


def mlp():
    return sequential([("Input.v1", {"shape": [4]}), ("Dense.v1", {"units": 8, "activation": "relu"}),
                       ("Dense.v1", {"units": 3, "activation": "softmax"})])


def test_add_node_undo_redo_exact(env):
    doc, stack, ctrl, _ = env
    before = doc.spec
    nid = ctrl.add_node("Dense.v1", QPointF(10, 20))
    after = doc.spec
    assert after.node(nid).pos == (10.0, 20.0) and after.node(nid).type == "Dense.v1"
    stack.undo()
    assert doc.spec == before
    stack.redo()
    assert doc.spec == after


def test_connect_creates_edge_and_undo(env):
    doc, stack, ctrl, _ = env
    a = ctrl.add_node("Dense.v1", (0, 500))
    before = doc.spec
    assert ctrl.connect("n4", a, 0)
    assert any(e.src == "n4" and e.dst == a for e in doc.spec.edges)
    assert doc.analysis.shapes[a] == (32,)
    stack.undo()
    assert doc.spec == before


@pytest.mark.parametrize("src,dst,port,needle", [
    ("n4", "n1", 0, "Input"),        # into an Input node
    ("n4", "n2", 0, "cycle"),        # n2 -> n3 -> n4 -> n2
    ("n1", "n3", 1, "only 1"),       # too many inputs
    ("n2", "n2", 0, "itself"),
])
def test_invalid_connection_refused_with_message(env, qtbot, src, dst, port, needle):
    doc, stack, ctrl, _ = env
    before = doc.spec
    with qtbot.waitSignal(ctrl.message, timeout=2000) as sig:
        assert not ctrl.connect(src, dst, port)
    assert needle in sig.args[0]
    assert doc.spec == before and stack.count() == 0


def test_merge_port_appends(env):
    doc, stack, ctrl, _ = env
    add = ctrl.add_node("Add.v1", (300, 300))
    ctrl.connect("n2", add, -1)
    ctrl.connect("n3", add, -1)
    ports = sorted(e.dst_port for e in doc.spec.inputs_of(add))
    assert ports == [0, 1]
    assert doc.analysis.shapes[add] == (16,)
    assert not any('input' in m for m in [doc.analysis.errors.get(add, '')])


def test_moves_merge_into_one_step(env):
    doc, stack, ctrl, _ = env
    before = doc.spec
    ctrl.move_nodes({"n2": (5.0, 5.0)})
    ctrl.move_nodes({"n2": (50.0, 60.0)})
    assert stack.count() == 1
    assert doc.spec.node("n2").pos == (50.0, 60.0)
    ctrl.move_nodes({"n3": (1.0, 1.0)})
    assert stack.count() == 2
    stack.undo()
    stack.undo()
    assert doc.spec == before


def test_set_config_merges_same_field_and_validates(env, qtbot):
    doc, stack, ctrl, _ = env
    before = doc.spec
    assert ctrl.set_config("n2", "units", 64)
    assert ctrl.set_config("n2", "units", 65)
    assert stack.count() == 1
    assert doc.spec.node("n2").config["units"] == 65
    assert doc.analysis.shapes["n2"] == (65,)
    ctrl.set_config("n2", "activation", "relu")
    assert stack.count() == 2
    with qtbot.waitSignal(ctrl.message, timeout=2000) as sig:
        assert not ctrl.set_config("n2", "units", 0)
    assert "at least" in sig.args[0]
    assert stack.count() == 2
    stack.undo()
    stack.undo()
    assert doc.spec == before


def test_delete_node_and_edges_undo(env):
    doc, stack, ctrl, _ = env
    before = doc.spec
    ctrl.delete(["n2"], [("n3", "n4", 0)])
    assert not doc.spec.has_node("n2")
    assert not any(e.dst == "n4" for e in doc.spec.edges)
    assert doc.analysis.errors  # now broken
    stack.undo()
    assert doc.spec == before


def trained(doc, fill=0.0):
    """A full weight set for the document's current graph (as training would produce)."""
    return {k: np.full(shape, fill, np.float32) for k, shape in doc.param_layout().items()}


def test_weights_hidden_only_when_layout_changes_and_back_on_undo(env):
    doc, stack, ctrl, _ = env
    doc.set_weights(trained(doc, 1.0))
    ctrl.move_nodes({"n2": (3.0, 3.0)})
    ctrl.rename("n2", "hidden")
    ctrl.set_config("n2", "activation", "relu")
    assert doc.weights is not None
    ctrl.set_config("n2", "units", 20)
    assert doc.weights is None
    stack.undo()
    assert doc.weights is not None and float(doc.weights["n2/W"][0, 0]) == 1.0


def test_add_layer_and_undo_keeps_the_trained_weights(env):
    doc, stack, ctrl, proj = env
    w = trained(doc, 2.0)
    doc.set_weights(w)
    proj._mark_clean()
    ctrl.add_node("Dense.v1", (0, 900))          # an unconnected layer: the graph is not trainable
    assert doc.weights is None
    ctrl.connect("n4", doc.spec.node_ids[-1], 0)  # a new trainable layer has no weights yet
    assert doc.weights is None
    stack.undo()
    stack.undo()
    assert doc.weights is not None and set(doc.weights) == set(w)
    assert all(doc.weights[k] is w[k] for k in w)
    assert not proj.is_modified()  # back at the saved state: nothing to save


def test_deleting_the_output_layer_keeps_the_other_layers_weights(env):
    doc, stack, ctrl, _ = env
    doc.set_weights(trained(doc, 3.0))
    ctrl.delete(["n4"], [])
    assert doc.weights is not None and not any(k.startswith("n4/") for k in doc.weights)
    stack.undo()
    assert any(k.startswith("n4/") for k in doc.weights)


def test_retrained_weights_win_but_older_ones_come_back_for_their_graph(env):
    doc, stack, ctrl, _ = env
    doc.set_weights(trained(doc, 1.0))
    ctrl.set_config("n2", "units", 20)
    doc.set_weights(trained(doc, 5.0))     # trained the edited graph
    assert float(doc.weights["n2/W"][0, 0]) == 5.0
    stack.undo()
    assert float(doc.weights["n2/W"][0, 0]) == 1.0
    stack.redo()
    assert float(doc.weights["n2/W"][0, 0]) == 5.0
    doc.set_weights(None)
    stack.undo()
    assert doc.weights is None


def test_copy_paste_and_duplicate(env):
    doc, stack, ctrl, _ = env
    new = ctrl.duplicate(["n2", "n3"])
    assert len(new) == 2 and all(doc.spec.has_node(n) for n in new)
    assert any(e.src == new[0] and e.dst == new[1] for e in doc.spec.edges)
    assert doc.spec.node(new[0]).config == doc.spec.node("n2").config
    assert ctrl.copy(["n4"])
    pasted = ctrl.paste()
    assert len(pasted) == 1 and doc.spec.node(pasted[0]).type == "Dense.v1"
    assert stack.count() == 2
    assert ctrl.paste("not json") == []


def test_template_and_auto_layout_are_undoable(env):
    doc, stack, ctrl, _ = env
    before = doc.spec
    ctrl.apply_template("residual")
    assert any(n.type == "Add.v1" for n in doc.spec.nodes) and doc.analysis.ok
    ctrl.auto_layout()
    pos = {n.id: n.pos for n in doc.spec.nodes}
    add = [n.id for n in doc.spec.nodes if n.type == "Add.v1"][0]
    # rows follow topological depth: every edge goes strictly downwards
    assert all(pos[e.dst][1] > pos[e.src][1] for e in doc.spec.edges)
    assert pos[add][1] == max(p[1] for nid, p in pos.items() if nid != doc.analysis.output)
    stack.undo()
    stack.undo()
    assert doc.spec == before


def test_layered_layout_separates_siblings():
    g = GraphSpec()
    g, i = g.add_node("Input.v1", {"shape": [4]})
    g, a = g.add_node("Dense.v1", {})
    g, b = g.add_node("Dense.v1", {})
    g = g.connect(i, a).connect(i, b)
    pos = layered_layout(g)
    assert pos[a][1] == pos[b][1] > pos[i][1]
    assert pos[a][0] != pos[b][0]


# ---------------------------------------------------------------------- projects
def test_save_open_round_trip_exact(env, tmp_path):
    doc, stack, ctrl, proj = env
    ctrl.set_config("n2", "units", 24)
    doc.set_weights({**trained(doc), "n2/W": np.arange(48, dtype=np.float32).reshape(2, 24)})
    doc.history = [{"name": "run 1", "settings": {"lr": 0.1}, "epochs": [{"epoch": 1, "loss": 0.5}]}]
    assert proj.is_modified()
    path = tmp_path / "p.nnsp"
    assert proj.save_as(str(path))
    assert not proj.is_modified() and doc.path == str(path)
    spec, weights = doc.spec, doc.weights
    proj.new_project()
    assert not doc.spec.nodes
    assert proj.open_project(str(path))
    assert doc.spec == spec
    assert set(doc.weights) == set(weights)
    np.testing.assert_array_equal(doc.weights["n2/W"], weights["n2/W"])
    assert doc.history == [{"name": "run 1", "settings": {"lr": 0.1}, "epochs": [{"epoch": 1, "loss": 0.5}]}]
    assert proj.recent_files()[0] == str(path.resolve())
    assert stack.count() == 0


def test_damaged_file_gives_plain_message(env, tmp_path):
    doc, stack, ctrl, proj = env
    bad = tmp_path / "bad.nnsp"
    bad.write_bytes(b"this is not a zip")
    before = doc.spec
    assert not proj.open_project(str(bad))
    assert len(proj.errors) == 1
    msg = proj.errors[0]
    assert "bad.nnsp" in msg and "Traceback" not in msg and "\n" not in msg
    assert doc.spec == before


def test_unsaved_changes_cancel_keeps_document(env):
    doc, stack, ctrl, proj = env
    ctrl.add_node("Dense.v1", (0, 0))
    proj.ask_save_changes = lambda: "cancel"
    assert not proj.new_project()
    assert len(doc.spec.nodes) == 5
    proj.ask_save_changes = lambda: "discard"
    assert proj.new_project()
    assert not doc.spec.nodes


def test_autosave_and_recovery(env, tmp_path):
    doc, stack, ctrl, proj = env
    assert not proj.autosave_now()  # nothing to save when clean
    ctrl.set_config("n2", "units", 7)
    assert proj.autosave_now()
    assert proj.autosave_path.is_file()
    assert str(proj.autosave_path).startswith(str(tmp_path))
    expected = doc.spec
    # "crash": a new controller starts while the autosave exists
    doc2, stack2 = GraphDocument(), QUndoStack()
    proj2 = ProjectController(doc2, stack2)
    proj2.ask_recover = lambda when: True
    assert proj2.offer_recovery()
    assert doc2.spec == expected and proj2.is_modified()
    # a clean exit removes it and no recovery is offered again
    proj2.clean_exit()
    assert not proj2.autosave_path.exists()
    assert not proj2.recovery_available()
    proj2.timer.stop()


def _broken_projects(tmp_path):
    """Eight kinds of broken project file (issue 17), each -> (path, expected words in the message)."""
    import io
    import json
    import os
    import zipfile

    from engine.io import demo_project, save_project
    good = tmp_path / "good.nnsp"
    save_project(good, demo_project())
    with zipfile.ZipFile(good) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}

    def rezip(name, **changes):
        p = tmp_path / name
        with zipfile.ZipFile(p, "w") as zf:
            for n, b in {**members, **changes}.items():
                zf.writestr(n, b)
        return p

    out = []
    p = tmp_path / "text.nnsp"
    p.write_bytes(b"this is not a zip")
    out.append((p, "not an NN Studio project"))
    p = tmp_path / "folder.nnsp"
    p.mkdir()
    out.append((p, "is a folder"))
    if hasattr(os, "mkfifo"):
        p = tmp_path / "pipe.nnsp"
        os.mkfifo(p)
        out.append((p, "named pipe"))
    out.append((rezip("deep.nnsp", **{"graph.json": b"[" * 100_000 + b"]" * 100_000}), "nested"))
    g = json.loads(members["graph.json"])
    g["nodes"][0]["id"] = 'n1"""\nimport os'
    out.append((rezip("badid.nnsp", **{"graph.json": json.dumps(g).encode()}), "not allowed"))
    buf = io.BytesIO()
    np.savez_compressed(buf, **{"n2/W": np.zeros(25_000_000, np.float32)})
    out.append((rezip("bomb.nnsp", **{"weights.npz": buf.getvalue()}), "declares"))
    out.append((rezip("npy.nnsp", **{"weights.npz": b"\x93NUMPY" + b"\0" * 64}), "single .npy"))
    out.append((rezip("nometa.nnsp", **{"metadata.json": b"{}", "graph.json": b"[]"}), "damaged"))
    return out


def test_every_kind_of_broken_project_gives_one_plain_message(env, tmp_path):
    doc, stack, ctrl, proj = env
    before = doc.spec
    for path, words in _broken_projects(tmp_path):
        proj.errors.clear()
        assert not proj.open_project(str(path)), path
        assert len(proj.errors) == 1, (path, proj.errors)
        msg = proj.errors[0]
        assert words in msg and "Traceback" not in msg and "internal error" not in msg, (path.name, msg)
        assert doc.spec == before
