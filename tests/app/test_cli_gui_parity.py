"""The command line and the app give the same results on the same project (issue 14).

One graph, one data set, one set of settings: trained by ``python main.py train`` and by the
app's training controller, the weights are bit-identical and the run records agree; the
trained project then evaluates, predicts and exports to the same numbers and bytes whether
the CLI or the app's jobs do it.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from tests.app.test_cli import IRIS_GRAPH, run

SETTINGS = {"epochs": 4, "batch_size": 16, "lr": 0.01, "seed": 3, "optimizer": "adam"}


@pytest.fixture(scope="module")
def cli_project(tmp_path_factory):
    d = tmp_path_factory.mktemp("parity")
    g = d / "g.json"
    g.write_text(json.dumps(IRIS_GRAPH))
    out = d / "cli.nnsp"
    r = run("train", g, "--data", "sample:iris", "--epochs", 4, "--batch-size", 16, "--lr", 0.01, "--seed", 3,
            "--optimizer", "adam", "--quiet", "--out", out)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture()
def window(qtbot, tmp_path):
    from app.main_window import MainWindow
    from engine.io import demo_project
    w = MainWindow(demo_project())
    w.project.maybe_save = lambda *a, **k: True
    qtbot.addWidget(w)
    yield w
    w.training.shutdown(10_000)
    w.project.timer.stop()


def _gui_train(qtbot, w):
    from app.training_controller import FAILED, IDLE
    from engine.data import DataSpec
    from engine.spec import GraphSpec
    from engine.trainer import TrainConfig
    ctl = w.training
    ctl.use_process = False
    w.document.set_spec(GraphSpec.from_dict(IRIS_GRAPH))
    assert ctl.start(TrainConfig.from_dict(SETTINGS), DataSpec.parse_cli("sample:iris"))
    qtbot.waitUntil(lambda: ctl.state in (IDLE, FAILED), timeout=120_000)
    assert ctl.state == IDLE, ctl.last_error
    return w.document.to_project()


def test_training_gives_the_same_weights_and_run_record(qtbot, window, cli_project):
    from engine.io import load_project
    cli = load_project(cli_project)
    gui = _gui_train(qtbot, window)
    assert set(cli.weights) == set(gui.weights)
    for k in cli.weights:
        np.testing.assert_array_equal(cli.weights[k], gui.weights[k], err_msg=k)
    c_run, g_run = cli.history[-1], gui.history[-1]
    assert c_run["name"] == g_run["name"] == "Run 1"
    assert c_run["reason"] == g_run["reason"] == "completed"
    assert [e["loss"] for e in c_run["epochs"]] == [e["loss"] for e in g_run["epochs"]]
    for key in ("task", "class_names", "loss", "input_shape"):
        assert cli.metadata[key] == gui.metadata[key], key
    assert cli.preprocessing == gui.preprocessing


def test_evaluation_is_the_same(cli_project):
    from app.evaluation_ui import evaluate_job
    from engine.io import load_project
    p = load_project(cli_project)
    r = run("evaluate", cli_project)               # out of the box: no test split -> validation, as the app
    assert r.returncode == 0, r.stderr
    cli = json.loads(r.stdout)
    import threading
    gui = evaluate_job(p.graph, p.weights, p.data_spec, p.preprocessing, p.metadata.get("loss"))(
        lambda *a: None, threading.Event())
    assert cli["split"] == gui["split"] == "val" and cli["n"] == gui["n"] == 30
    for k in ("loss", "accuracy"):
        assert cli[k] == pytest.approx(gui["metrics"][k], rel=0, abs=0), k
    assert cli["confusion"] == np.asarray(gui["metrics"]["confusion"]).tolist()


def test_predictions_and_exports_are_the_same_bytes(cli_project, tmp_path):
    import threading

    from app.evaluation_ui import predict_file_job
    from app.export_controller import _export_job
    from engine.data import DataSpec
    from engine.data.samples import sample_frame
    from engine.io import load_project
    p = load_project(cli_project)
    src = tmp_path / "iris.csv"
    sample_frame("iris", DataSpec(kind="sample", path="iris")).to_csv(src, index=False)
    r = run("predict", cli_project, "--data", src, "--out", tmp_path / "cli.csv")
    assert r.returncode == 0, r.stderr
    predict_file_job(p.graph, p.weights, p, str(src), str(tmp_path / "gui.csv"))(lambda *a: None, threading.Event())
    assert (tmp_path / "cli.csv").read_bytes() == (tmp_path / "gui.csv").read_bytes()
    for fmt, name in (("npz", "m.npz"), ("onnx", "m.onnx")):
        r = run("export", cli_project, "--format", fmt, "--out", tmp_path / f"cli-{name}")
        assert r.returncode == 0, r.stderr
        _export_job(p, fmt, str(tmp_path / f"gui-{name}"))(lambda *a: None, threading.Event())
        assert Path(tmp_path / f"cli-{name}").read_bytes() == Path(tmp_path / f"gui-{name}").read_bytes(), fmt
