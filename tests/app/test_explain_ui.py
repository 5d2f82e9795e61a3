"""The Analyze dock inside the assembled main window (offscreen): table, activations, saliency, importance."""
from __future__ import annotations

import numpy as np
import pytest

from app.main_window import MainWindow
from engine.data import DataSpec, load_dataset
from engine.io import Project
from engine.model import compile_graph
from engine.spec import sequential
from engine.trainer import TrainConfig, Trainer, TrainFinished

TIMEOUT = 60_000


def train_headless(spec: DataSpec, layers, cfg: TrainConfig) -> Project:
    ds = load_dataset(spec)
    graph = sequential([("Input.v1", {"shape": list(ds.input_shape)}), *layers])
    state = None
    for ev in Trainer(graph, ds, cfg).run():
        if isinstance(ev, TrainFinished):
            state = ev.state
    return Project(graph=graph, train_config=cfg.to_dict(), data_spec=spec.to_dict(),
                   preprocessing=ds.preprocessing, weights=state,
                   metadata={"task": ds.task, "class_names": ds.class_names})


@pytest.fixture(scope="module")
def iris_project():
    return train_headless(DataSpec(kind="sample", path="iris"),
                          [("Dense.v1", {"units": 8, "activation": "relu"}),
                           ("Dense.v1", {"units": 3, "activation": "softmax"})], TrainConfig(epochs=20, lr=0.02))


@pytest.fixture(scope="module")
def digits_project():
    return train_headless(DataSpec(kind="sample", path="digits"),
                          [("Conv2D.v1", {"filters": 4, "kernel_size": 3, "activation": "relu"}),
                           ("Flatten.v1", {}), ("Dense.v1", {"units": 10, "activation": "softmax"})],
                          TrainConfig(epochs=1, batch_size=32, lr=0.01))


@pytest.fixture(scope="module")
def moons_project():
    return train_headless(DataSpec(kind="sample", path="moons", n_samples=200),
                          [("Dense.v1", {"units": 6, "activation": "tanh"}),
                           ("Dense.v1", {"units": 2, "activation": "softmax"})], TrainConfig(epochs=5, lr=0.05))


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "appdata"))

    def make(project: Project | None = None):
        w = MainWindow()
        qtbot.addWidget(w)
        w.project.maybe_save = lambda *a, **k: True
        w.project.ask_save_changes = lambda: "discard"
        if project is not None:
            doc = w.document
            w.project.load(Project(graph=project.graph), None)
            doc.set_spec(project.graph)
            doc.train_config = dict(project.train_config)
            doc.data_spec = dict(project.data_spec)
            doc.preprocessing = project.preprocessing
            doc.metadata = dict(project.metadata)
            doc.set_weights(project.weights)
        return w, w.explain_ui
    return make


def wait(qtbot, ui):
    qtbot.waitUntil(lambda: ui._running is None, timeout=TIMEOUT)


def _untrained():
    from engine.io import demo_project
    return Project(graph=demo_project().graph)


def test_dock_is_installed_and_blocks_explain_until_trained(make_window):
    w, ui = make_window()
    assert not ui.panel.analyze_btn.isEnabled()          # an empty graph
    w.project.load(_untrained(), None)
    assert "Analyze" in w.panels and w.panels["Analyze"].widget() is ui.panel
    assert ui.panel.analyze_btn.isEnabled()
    assert not ui.panel.explain_btn.isEnabled()
    assert "train" in ui.panel.explain_btn.toolTip()


def test_analyze_untrained_graph_shows_the_table(make_window, qtbot):
    w, ui = make_window()
    w.project.load(_untrained(), None)
    assert ui.analyze()
    wait(qtbot, ui)
    p = ui.panel
    n = len(w.document.spec.nodes)
    assert p.table.rowCount() == n
    want = compile_graph(w.document.spec).n_params()
    assert f"{want:,}" in p.totals.text()
    assert p.table.item(1, 3).data(0x0100) == 2 * 16 + 16     # Qt.UserRole: the demo's first Dense
    assert "Train the model" in p.totals.text()


def _truncated_output(project, nid, x):
    spec = project.graph
    keep, stack = set(), [nid]
    while stack:
        n = stack.pop()
        if n not in keep:
            keep.add(n)
            stack.extend(e.src for e in spec.inputs_of(n))
    sub = spec.remove_nodes([n for n in spec.node_ids if n not in keep])
    m = compile_graph(sub)
    m.load_state_dict({k: v for k, v in project.weights.items() if k.split("/")[0] in keep})
    return m.forward(x[None])[0]


def test_explain_a_table_row(make_window, qtbot, iris_project):
    w, ui = make_window(iris_project)
    p = ui.panel
    assert p.explain_btn.isEnabled()
    assert p.target.count() == 4              # predicted + three classes
    p.sample.setValue(3)
    p.steps.setValue(64)
    p.explain_btn.click()
    assert p.cancel_btn.isVisibleTo(p)
    wait(qtbot, ui)
    r = p.result
    assert r is not None and r["sample"]["index"] == 3
    assert p.table.rowCount() == 3 and "Checked on" in p.totals.text()
    # clicking a layer on the canvas shows its output: the model's intermediate output for that sample
    ds = load_dataset(DataSpec(kind="sample", path="iris"), preprocessing=iris_project.preprocessing)
    x, _ = ds.get_batch("val", np.array([3]))
    for nid in w.document.spec.node_ids:
        w.view.graph_scene.select_nodes([nid])
        qtbot.waitUntil(lambda nid=nid: p.node.currentData() == nid, timeout=2000)
        np.testing.assert_allclose(p.shown_activation(), _truncated_output(iris_project, nid, x[0]),
                                   rtol=1e-5, atol=1e-6)
    # table data: saliency per column, importance per column with error bars
    assert p.sal_stack.currentIndex() == 1 and len(p.sal_bars.names) == 4
    assert len(p.imp_bars.names) == 4 and p.imp_bars.errors is not None
    assert "petal" in p.imp_bars.names[0]
    assert "Integrated gradients" in p.sal_info.text()


def test_explain_an_image_and_pick_a_class(make_window, qtbot, digits_project):
    w, ui = make_window(digits_project)
    p = ui.panel
    p.target.setCurrentIndex(p.target.findData(7))
    p.baseline.setCurrentIndex(p.baseline.findData("blur"))
    assert ui.explain()
    wait(qtbot, ui)
    r = p.result
    assert r["saliency"]["target"] == 7 and r["saliency"]["baseline"] == "blur"
    assert p.sal_stack.currentIndex() == 0 and p.sal_image.image() is not None
    conv = w.document.spec.node_ids[1]
    p.select_node(conv)
    assert p.act_stack.currentIndex() == 0 and p.act_image.image() is not None
    assert "feature maps" in p.act_info.text()
    assert "computed for table data" in p.imp_info.text()   # no permutation importance for images


def test_unit_maps_for_two_feature_data(make_window, qtbot, moons_project):
    w, ui = make_window(moons_project)
    ui.explain()
    wait(qtbot, ui)
    p = ui.panel
    hidden = w.document.spec.node_ids[1]
    p.select_node(hidden)
    assert p.act_side.isVisibleTo(p) and p.act_extra.image() is not None
    assert "input plane" in p.act_extra_info.text()


def test_cancel_and_stale_results(make_window, qtbot, iris_project):
    w, ui = make_window(iris_project)
    p = ui.panel
    p.steps.setValue(4096)
    ui.explain()
    ui.cancel()
    assert ui._running is None and not p.cancel_btn.isVisibleTo(p)
    assert p.status.text() == "cancelled"
    assert p.explain_btn.isEnabled()
    ui.explain({"split": "val", "sample": 0, "target": None, "method": "gradient_x_input", "baseline": "zeros",
                "steps": 1, "importance": False})
    wait(qtbot, ui)
    assert p.result["saliency"]["method"] == "gradient_x_input" and "importance" not in p.result
    w.document.set_weights(compile_graph(iris_project.graph, seed=9).state_dict())
    assert "changed" in p.status.text()


def test_a_bad_sample_is_reported(make_window, qtbot, iris_project):
    w, ui = make_window(iris_project)
    ui.panel.sample.setValue(10_000)
    ui.explain()
    wait(qtbot, ui)
    assert "does not exist" in ui.panel.status.text()


def test_tokens_are_coloured_by_their_attribution(make_window, qtbot, tmp_path):
    from engine.io import load_project
    from tests.app.test_explain_cli import token_project
    proj, data = token_project(tmp_path)
    p = load_project(proj)
    p.data_spec = {"kind": "npz", "path": str(data), "scaling": "none"}
    p.metadata = {"task": "classification"}
    w, ui = make_window(p)
    ui.panel.importance.setChecked(False)
    assert ui.explain()
    wait(qtbot, ui)
    panel = ui.panel
    assert panel.sal_stack.currentIndex() == 2
    toks = panel.sal_tokens
    assert len(toks.tokens) == 10 and toks.values.shape == (10,)
    np.testing.assert_allclose(toks.values, panel.result["saliency"]["attributions"])
    # the strongest token is the most saturated colour
    rgb = toks.colours().astype(int)
    k = int(np.argmax(np.abs(toks.values)))
    assert (255 * 3 - rgb[k].sum()) == max(255 * 3 - c.sum() for c in rgb)
    panel.select_node("n3")
    assert panel.act_side.isVisibleTo(panel) and "Attention weights of 2 heads" in panel.act_extra_info.text()


def test_analyze_without_its_data_file_still_shows_the_table(make_window, qtbot, iris_project, tmp_path):
    p = Project(graph=iris_project.graph, train_config=iris_project.train_config, weights=iris_project.weights,
                data_spec={"kind": "csv", "path": str(tmp_path / "moved.csv")}, metadata=iris_project.metadata)
    w, ui = make_window(p)
    assert ui.analyze()
    wait(qtbot, ui)
    assert ui.panel.table.rowCount() == 3
    assert "could not be loaded" in ui.panel.status.text()
    assert ui.panel.analysis["checked"] is None
