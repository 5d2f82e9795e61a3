"""Evaluate, predict, export and import inside the assembled main window (offscreen).

Models are trained headless here (engine.trainer.Trainer) and put into the window's
document; every engine call of the GUI runs on a worker, so tests wait on signals.
"""
from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from PySide6.QtWidgets import QComboBox

from app.evaluation_ui import DOCK_TITLE, install_evaluation_ui
from app.main_window import MainWindow
from engine.data import DataSpec, Preprocessor, load_dataset
from engine.data.images import transform_images
from engine.data.samples import samples_dir
from engine.evaluate import class_probabilities, evaluate_arrays
from engine.io import Project
from engine.model import compile_graph
from engine.spec import sequential
from engine.trainer import TrainConfig, Trainer, TrainFinished

TIMEOUT = 30_000


def train_headless(spec: DataSpec, layers, cfg: TrainConfig, name: str) -> Project:
    ds = load_dataset(spec)
    graph = sequential([("Input.v1", {"shape": list(ds.input_shape)}), *layers])
    state = None
    for ev in Trainer(graph, ds, cfg).run():
        if isinstance(ev, TrainFinished):
            state = ev.state
    assert state is not None
    return Project(graph=graph, train_config=cfg.to_dict(), data_spec=spec.to_dict(),
                   preprocessing=ds.preprocessing, weights=state, metadata={"name": name})


@pytest.fixture(scope="module")
def iris_project() -> Project:
    spec = DataSpec(kind="sample", path="iris", test_split=0.2)
    return train_headless(spec, [("Dense.v1", {"units": 8, "activation": "relu"}),
                                 ("Dense.v1", {"units": 3, "activation": "softmax"})],
                          TrainConfig(epochs=30, batch_size=16, lr=0.02), "iris")


@pytest.fixture(scope="module")
def digits_project() -> Project:
    spec = DataSpec(kind="sample", path="digits", test_split=0.2)
    return train_headless(spec, [("Flatten.v1", {}), ("Dense.v1", {"units": 10, "activation": "softmax"})],
                          TrainConfig(epochs=1, batch_size=32, lr=0.01), "digits")


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "appdata"))
    made = []

    def make(project: Project | None = None):
        w = MainWindow()
        qtbot.addWidget(w)
        errors = []
        w.project.show_error = lambda title, text: errors.append((title, text))
        w.project.ask_save_changes = lambda: "discard"
        w.errors = errors
        if project is not None:  # the project's fields go into the document, as after training
            doc = w.document
            w.project.load(Project(graph=project.graph), None)
            doc.set_spec(project.graph)
            doc.train_config = dict(project.train_config)
            doc.data_spec = dict(project.data_spec) if project.data_spec else None
            doc.preprocessing = project.preprocessing
            doc.metadata = dict(project.metadata)
            doc.set_weights(project.weights)
        ui = install_evaluation_ui(w)
        made.append(w)
        return w, ui

    yield make
    for w in made:
        assert w.evaluation_ui.shutdown(10_000)
        if getattr(w, "training", None) is not None:
            assert w.training.shutdown(10_000)
        w.project.timer.stop()
        w.undo_stack.setClean()


def trained_model(project: Project):
    m = compile_graph(project.graph)
    m.load_state_dict(project.weights)
    return m


# ---------------------------------------------------------------------------- layout
def test_menus_actions_and_dock(make_window, iris_project):
    w, ui = make_window(iris_project)
    assert DOCK_TITLE in w.panels and w.panels[DOCK_TITLE].widget() is ui.tabs
    assert [ui.tabs.tabText(i) for i in range(ui.tabs.count())] == ["Evaluate", "Predict"]
    menus = {a.text().replace("&", ""): a.menu() for a in w.menuBar().actions() if a.menu() is not None}
    assert list(menus).count("File") == 1 and list(menus).count("Model") == 1
    file_actions = menus["File"].actions()
    export_menu = next(a.menu() for a in file_actions if a.menu() is not None and "Export" in a.text())
    assert [a.text().replace("&", "") for a in export_menu.actions()] == [
        "Weights (.npz)…", "Weights (.safetensors)…", "ONNX model…", "PyTorch code…"]
    assert w.actions["import_weights"] in file_actions
    # export comes before Quit, Evaluate sits in the Model menu
    assert file_actions.index(w.actions["import_weights"]) < file_actions.index(w.actions["quit"])
    assert w.actions["evaluate"] in menus["Model"].actions()
    for name in ("export_npz", "export_safetensors", "export_onnx", "export_pytorch", "evaluate"):
        assert w.actions[name].isEnabled(), name
    assert ui.predict_panel.kind == "tabular" and len(ui.predict_panel.inputs) == 4


def test_everything_disabled_without_weights(make_window, iris_project):
    w, ui = make_window(iris_project)
    w.document.set_weights(None)
    for name in ("export_npz", "export_safetensors", "export_onnx", "export_pytorch", "evaluate"):
        a = w.actions[name]
        assert not a.isEnabled(), name
        assert "no trained weights" in a.toolTip()
    assert w.actions["import_weights"].isEnabled()
    ep, pp = ui.evaluation_panel, ui.predict_panel
    assert not ep.evaluate_btn.isEnabled() and "no trained weights" in ep.status.text()
    assert not pp.predict_btn.isEnabled() and not pp.file_btn.isEnabled()
    assert "no trained weights" in pp.info.text()
    assert not ui.export.export("npz", "/nonexistent/never.npz")   # refused, nothing started
    assert "no trained weights" in ui.export.last_error
    assert not ui.evaluate() and not ui.predict_row({})
    # weights back: enabled again
    w.document.set_weights(iris_project.weights)
    assert w.actions["export_onnx"].isEnabled() and ep.evaluate_btn.isEnabled() and pp.predict_btn.isEnabled()


def test_invalid_graph_blocks_with_the_reason(make_window, iris_project):
    w, ui = make_window(iris_project)
    w.document.set_spec(w.document.spec.remove_nodes(["n1"]))  # no Input layer any more
    assert not w.actions["export_npz"].isEnabled()
    assert "graph" in w.actions["export_npz"].toolTip()
    assert not ui.evaluation_panel.evaluate_btn.isEnabled()


# ---------------------------------------------------------------------------- export / import
def _export(qtbot, ui, w, fmt, path):
    ui.export.ask_export_path = lambda f: str(path)
    with qtbot.waitSignal(ui.export.export_finished, timeout=TIMEOUT) as blocker:
        w.actions[f"export_{fmt}"].trigger()
    got_fmt, files = blocker.args
    assert got_fmt == fmt
    return files


def test_export_npz_reloads_without_pickle_and_imports_back(qtbot, make_window, iris_project, tmp_path):
    w, ui = make_window(iris_project)
    files = _export(qtbot, ui, w, "npz", tmp_path / "iris_model")
    assert sorted(p.split("/")[-1] for p in files) == ["iris_model.npz", "iris_model.npz.json"]
    with np.load(tmp_path / "iris_model.npz", allow_pickle=False) as z:
        for k, v in iris_project.weights.items():
            np.testing.assert_array_equal(z[k], v)
        meta = json.loads(z["__metadata__.json"].tobytes())
    assert meta["class_names"] == ["setosa", "versicolor", "virginica"]
    assert "iris_model.npz" in w.statusBar().currentMessage()
    # import it back into a fresh document
    w.document.set_weights(None)
    with qtbot.waitSignal(ui.export.imported, timeout=TIMEOUT):
        ui.export.ask_import_path = lambda: str(tmp_path / "iris_model.npz")
        w.actions["import_weights"].trigger()
    doc = w.document
    assert doc.weights is not None and set(doc.weights) == set(iris_project.weights)
    for k, v in iris_project.weights.items():
        np.testing.assert_array_equal(doc.weights[k], v)
    assert doc.preprocessing == iris_project.preprocessing
    assert doc.metadata["class_names"] == ["setosa", "versicolor", "virginica"]
    assert w.project.is_modified()  # an import is not saved yet
    # no data set recorded with an import: evaluation says so, prediction works
    assert not ui.evaluation_panel.evaluate_btn.isEnabled()
    assert "no data set" in ui.evaluation_panel.status.text()
    assert ui.predict_panel.predict_btn.isEnabled()
    assert w.errors == []


def test_export_safetensors(qtbot, make_window, iris_project, tmp_path):
    from safetensors.numpy import load_file

    w, ui = make_window(iris_project)
    files = _export(qtbot, ui, w, "safetensors", tmp_path / "m.safetensors")
    assert (tmp_path / "m.safetensors").is_file() and (tmp_path / "m.safetensors.json").is_file()
    assert len(files) == 2
    loaded = load_file(str(tmp_path / "m.safetensors"))
    for k, v in iris_project.weights.items():
        np.testing.assert_array_equal(loaded[k], v)


def test_export_onnx_runs_in_onnxruntime_like_the_model(qtbot, make_window, iris_project, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    w, ui = make_window(iris_project)
    _export(qtbot, ui, w, "onnx", tmp_path / "m.onnx")
    x = np.random.default_rng(0).normal(size=(17, 4)).astype(np.float32)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(["output"], {"input": x})[0]
    np.testing.assert_allclose(got, trained_model(iris_project).predict(x), atol=1e-5)


def test_export_pytorch_writes_a_folder(qtbot, make_window, iris_project, tmp_path):
    w, ui = make_window(iris_project)
    files = _export(qtbot, ui, w, "pytorch", tmp_path / "iris_torch")
    names = {p.split("/")[-1] for p in files}
    assert "train_ddp.py" in names and any(n.endswith(".safetensors") for n in names)
    assert any(n.endswith(".py") and n != "train_ddp.py" for n in names)
    for p in files:
        assert (tmp_path / "iris_torch" / p.split("/")[-1]).is_file()


def test_export_failure_is_one_line_and_keeps_the_model(qtbot, make_window, iris_project, tmp_path):
    w, ui = make_window(iris_project)
    before = w.document.weights
    ui.export.ask_export_path = lambda f: str(tmp_path / "missing_folder" / "m.onnx")
    with qtbot.waitSignal(ui.export.export_failed, timeout=TIMEOUT) as blocker:
        w.actions["export_onnx"].trigger()
    msg = blocker.args[0]
    assert "missing_folder" in msg and "\n" not in msg and "Traceback" not in msg
    assert w.errors and w.errors[0][0] == "Export failed" and "unchanged" in w.errors[0][1]
    assert w.document.weights is before
    assert not (tmp_path / "missing_folder").exists()


def test_cancelled_export_dialog_does_nothing(make_window, iris_project):
    w, ui = make_window(iris_project)
    ui.export.ask_export_path = lambda f: None
    assert not ui.export.export("npz")
    assert not ui.export.busy


# ---------------------------------------------------------------------------- evaluation
def test_evaluate_shows_the_test_metrics(qtbot, make_window, iris_project):
    w, ui = make_window(iris_project)
    ep = ui.evaluation_panel
    with qtbot.waitSignal(ui.evaluated, timeout=TIMEOUT) as blocker:
        ep.evaluate_btn.click()
    res = blocker.args[0]
    ds = load_dataset(DataSpec.from_dict(iris_project.data_spec), preprocessing=iris_project.preprocessing)
    want = evaluate_arrays(trained_model(iris_project), ds.x_test, ds.y_test, task="classification",
                           class_names=ds.class_names)
    assert res["split"] == "test" and res["n"] == ds.n("test") == 30
    assert res["metrics"]["accuracy"] == pytest.approx(want["accuracy"])
    assert res["metrics"]["confusion"] == want["confusion"]
    assert f"{100 * want['accuracy']:.1f}%" in ep.summary.text()
    assert "test split" in ep.summary.text()
    assert ep.per_class.rowCount() == 4  # three classes + macro average
    assert ep.per_class.item(1, 0).text() == "versicolor"
    assert ep.per_class.item(1, 2).data(256) == pytest.approx(want["per_class"][1]["recall"])
    assert ep.confusion.matrix.sum() == 30
    assert ep.pages.currentWidget() is ep.class_page and not ep.gallery_box.isVisible()
    assert ep.evaluate_btn.isEnabled()
    # new weights mark the results stale
    w.document.set_weights(iris_project.weights)
    assert "evaluate again" in ep.status.text()


def test_evaluate_falls_back_to_validation_split(qtbot, make_window, iris_project):
    w, ui = make_window(iris_project)
    w.document.data_spec = {**iris_project.data_spec, "test_split": 0.0}
    with qtbot.waitSignal(ui.evaluated, timeout=TIMEOUT) as blocker:
        w.actions["evaluate"].trigger()
    res = blocker.args[0]
    assert res["split"] == "val" and res["where"].startswith("validation split")
    assert "no test split" in ui.evaluation_panel.summary.text()


def test_evaluate_failure_is_shown(qtbot, make_window, iris_project, tmp_path):
    w, ui = make_window(iris_project)
    w.document.data_spec = {"kind": "csv", "path": str(tmp_path / "gone.csv"), "target": "class"}
    with qtbot.waitSignal(ui.failed, timeout=TIMEOUT) as blocker:
        assert ui.evaluate()
    tag, msg = blocker.args
    assert tag == "evaluate" and "gone.csv" in msg and "Traceback" not in msg
    assert "gone.csv" in ui.evaluation_panel.status.text()
    assert ui.evaluation_panel.evaluate_btn.isEnabled()


def test_cancel_evaluation_drops_the_result(qtbot, make_window, iris_project):
    w, ui = make_window(iris_project)
    ep = ui.evaluation_panel
    got = []
    ui.evaluated.connect(got.append)
    assert ui.evaluate()
    assert ep.cancel_btn.isVisibleTo(ep) and not ep.evaluate_btn.isEnabled()
    ep.cancel_btn.click()
    assert not ep.cancel_btn.isVisibleTo(ep) and ep.evaluate_btn.isEnabled()
    assert ep.status.text() == "evaluation cancelled"
    qtbot.waitUntil(lambda: not ui.loader._retired, timeout=TIMEOUT)  # the worker thread has ended
    qtbot.wait(0)
    assert got == [] and ep.metrics is None
    with qtbot.waitSignal(ui.evaluated, timeout=TIMEOUT):  # and a new evaluation works
        ep.evaluate_btn.click()


# ---------------------------------------------------------------------------- prediction
def test_predict_form_matches_the_model(qtbot, make_window, iris_project):
    w, ui = make_window(iris_project)
    pp = ui.predict_panel
    row = {"sepal length (cm)": "6.3", "sepal width (cm)": "2.8", "petal length (cm)": "5.1",
           "petal width (cm)": "1.5"}
    pp.set_values(row)
    with qtbot.waitSignal(ui.predicted, timeout=TIMEOUT) as blocker:
        pp.predict_btn.click()
    res = blocker.args[0]
    pre = Preprocessor.from_dict(iris_project.preprocessing)
    x = pre.transform_frame(pd.DataFrame([row]))
    model = trained_model(iris_project)
    want = class_probabilities(model, model.predict(x))[0]
    np.testing.assert_allclose(res["probs"], want, rtol=1e-6, atol=1e-7)
    assert res["names"] == ["setosa", "versicolor", "virginica"]
    assert pp.bars.probabilities == pytest.approx(dict(zip(res["names"], want)))
    best = res["names"][int(np.argmax(want))]
    assert pp.value.text().startswith(best) and pp.bars.rows[0][0].text() == best
    # an empty field uses the training mean
    pp.inputs["sepal width (cm)"].setText("")
    with qtbot.waitSignal(ui.predicted, timeout=TIMEOUT) as blocker:
        pp.predict_btn.click()
    fill = iris_project.preprocessing["columns"][1]["fill"]
    x2 = pre.transform_frame(pd.DataFrame([{**row, "sepal width (cm)": fill}]))
    np.testing.assert_allclose(blocker.args[0]["x"], x2, atol=1e-6)


def test_predict_form_bad_number_is_a_message(qtbot, make_window, iris_project):
    w, ui = make_window(iris_project)
    ui.predict_panel.inputs["petal length (cm)"].setText("long")
    with qtbot.waitSignal(ui.failed, timeout=TIMEOUT) as blocker:
        ui.predict_panel.predict_btn.click()
    tag, msg = blocker.args
    assert tag == "predict" and "long" in msg and "petal length" in msg
    assert "long" in ui.predict_panel.message.text()
    assert ui.predict_panel.predict_btn.isEnabled()


def test_predict_a_csv_file(qtbot, make_window, iris_project, tmp_path):
    w, ui = make_window(iris_project)
    src = tmp_path / "new_flowers.csv"
    src.write_text("sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n"
                   "5.1,3.5,1.4,0.2\n6.3,2.8,5.1,1.5\n7.7,3.0,6.1,2.3\n")
    ui.ask_predict_input = lambda: str(src)
    ui.ask_predict_output = lambda s: str(tmp_path / "out")
    with qtbot.waitSignal(ui.file_predicted, timeout=TIMEOUT) as blocker:
        ui.predict_panel.file_btn.click()
    out, n = blocker.args
    assert n == 3 and out.endswith("out.csv")
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and rows[0]["prediction"] == "setosa"
    assert {"prob_setosa", "prob_versicolor", "prob_virginica"} <= set(rows[0])
    assert "Wrote 3 predictions" in ui.predict_panel.message.text()


# ---------------------------------------------------------------------------- images
def _digit_png(path, img8: np.ndarray) -> None:
    from PIL import Image
    Image.fromarray(img8.astype(np.uint8)).save(path)


def test_digits_image_predict_and_mistakes_gallery(qtbot, make_window, digits_project, tmp_path):
    w, ui = make_window(digits_project)
    pp, ep = ui.predict_panel, ui.evaluation_panel
    assert pp.kind == "images" and pp.file_btn.text().startswith("Predict a folder")
    with np.load(samples_dir() / "digits.npz", allow_pickle=False) as raw:
        img = (raw["x"][5, :, :, 0].astype(np.float64) * 255.0 / 16.0).round()
    png = tmp_path / "five.png"
    _digit_png(png, img)
    ui.ask_image_path = lambda: str(png)
    with qtbot.waitSignal(ui.predicted, timeout=TIMEOUT) as blocker:
        pp.open_btn.click()
    res = blocker.args[0]
    pre = Preprocessor.from_dict(digits_project.preprocessing)
    model = trained_model(digits_project)
    want = class_probabilities(model, model.predict(transform_images(pre, [str(png)])))[0]
    np.testing.assert_allclose(res["probs"], want, rtol=1e-6, atol=1e-7)
    assert len(pp.bars.rows) == 10 and not pp.preview.pixmap().isNull()
    assert not pp.model_view.pixmap().isNull() and pp.image_name.text() == "five.png"
    # the gallery of confident mistakes after evaluation
    with qtbot.waitSignal(ui.evaluated, timeout=TIMEOUT) as blocker:
        ep.evaluate_btn.click()
    res = blocker.args[0]
    wrong = res["total_wrong"]
    assert wrong > 0  # one epoch of a linear model: some mistakes
    assert ep.gallery.count() == min(wrong, 24) == len(res["gallery"])
    conf = [g["confidence"] for g in res["gallery"]]
    assert conf == sorted(conf, reverse=True)
    first = res["gallery"][0]
    assert first["image"].dtype == np.uint8 and first["image"].shape == (8, 8, 1)
    assert first["true"] != first["predicted"]
    assert f"{first['true']} → {first['predicted']}" in ep.gallery.item(0).text()
    assert ep.gallery_box.isVisibleTo(ep)


def test_regression_metrics_scatter_and_value(qtbot, make_window, tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200), rng.normal(size=200)
    colour = rng.choice(["red", "blue"], size=200)
    y = 2 * a - b + (colour == "red") + 0.05 * rng.normal(size=200)
    f = tmp_path / "reg.csv"
    pd.DataFrame({"a": a, "b": b, "colour": colour, "y": y}).to_csv(f, index=False)
    spec = DataSpec(kind="csv", path=str(f), target="y", task="regression", test_split=0.2)
    project = train_headless(spec, [("Dense.v1", {"units": 1})], TrainConfig(epochs=20, batch_size=16, lr=0.05),
                             "reg")
    w, ui = make_window(project)
    ep, pp = ui.evaluation_panel, ui.predict_panel
    assert isinstance(pp.inputs["colour"], QComboBox)
    assert [pp.inputs["colour"].itemText(i) for i in range(3)] == ["blue", "red", "(missing)"]
    with qtbot.waitSignal(ui.evaluated, timeout=TIMEOUT) as blocker:
        ep.evaluate_btn.click()
    res = blocker.args[0]
    ds = load_dataset(spec, preprocessing=project.preprocessing)
    want = evaluate_arrays(trained_model(project), ds.x_test, ds.y_test, task="regression")
    assert res["metrics"]["r2"] == pytest.approx(want["r2"]) and res["metrics"]["mae"] == pytest.approx(want["mae"])
    assert ep.pages.currentWidget() is ep.reg_page
    xs, ys = ep.scatter.getData()
    assert len(xs) == ds.n("test") == 40
    assert "R²" in ep.summary.text()
    pp.set_values({"a": "1.0", "b": "0.5", "colour": "red"})
    with qtbot.waitSignal(ui.predicted, timeout=TIMEOUT) as blocker:
        pp.predict_btn.click()
    model = trained_model(project)
    x = Preprocessor.from_dict(project.preprocessing).transform_frame(
        pd.DataFrame([{"a": "1.0", "b": "0.5", "colour": "red"}]))
    assert blocker.args[0]["values"][0] == pytest.approx(float(model.predict(x)[0, 0]), rel=1e-6)
    assert pp.value.text() == f"{float(model.predict(x)[0, 0]):.6g}"


# ---------------------------------------------------------------------------- with the training UI
def test_after_a_gui_training_run_predict_and_export_work(qtbot, tmp_path, monkeypatch):
    from app.training_controller import IDLE
    from app.training_ui import install_training_ui
    from engine.io import demo_project

    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "appdata"))
    w = MainWindow(demo_project())
    qtbot.addWidget(w)
    w.project.show_error = lambda title, text: pytest.fail(f"unexpected error dialog: {text}")
    ctl = install_training_ui(w) if getattr(w, "training_ui", None) is None else w.training
    ui = getattr(w, "evaluation_ui", None) or install_evaluation_ui(w)
    try:
        w.show()  # the bottom docks are tabified after the first show
        assert w.panels[DOCK_TITLE] in w.tabifiedDockWidgets(w.panels["Training plots"])
        assert not w.actions["export_npz"].isEnabled() and not ui.predict_panel.predict_btn.isEnabled()
        w.training_ui.training_panel.epochs.setValue(2)
        w.training_ui.data_panel.n_samples.setValue(200)
        with qtbot.waitSignal(ctl.run_finished, timeout=TIMEOUT):
            w.actions["train"].trigger()
        qtbot.waitUntil(lambda: ctl.state == IDLE, timeout=TIMEOUT)
        doc = w.document
        assert doc.weights is not None and doc.preprocessing is not None
        assert doc.preprocessing == ctl.dataset.preprocessing
        pp = ui.predict_panel
        assert pp.kind == "tabular" and len(pp.inputs) == 2 and pp.predict_btn.isEnabled()
        with qtbot.waitSignal(ui.predicted, timeout=TIMEOUT) as blocker:
            pp.predict_btn.click()
        assert sum(blocker.args[0]["probs"]) == pytest.approx(1.0)
        with qtbot.waitSignal(ui.evaluated, timeout=TIMEOUT) as blocker:
            w.actions["evaluate"].trigger()
        assert blocker.args[0]["split"] == "val" and blocker.args[0]["n"] == 40
        files = _export(qtbot, ui, w, "npz", tmp_path / "spirals")
        meta = json.loads((tmp_path / "spirals.npz.json").read_text())
        assert meta["preprocessing"] == doc.preprocessing and len(files) == 2
    finally:
        assert ctl.shutdown(10_000)   # runs our shutdown hook too
        assert not ui.loader.busy and not ui.export.busy
        w.project.timer.stop()
        w.undo_stack.setClean()
        w.hide()  # closing a shown, modified window would ask to save
