"""Reopening a project shows what was there (last run's curves, the data panel's target and features,
the evaluation); File > New resets data, settings, plots, evaluation and status."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.main_window import MainWindow
from engine.io import demo_project, load_project, save_project
from engine.trainer import TrainConfig

RUN = {"name": "Run 1", "reason": "finished", "settings": {}, "data": None,
       "epochs": [{"epoch": 1, "loss": 0.9, "val_loss": 1.0, "accuracy": 0.5, "val_accuracy": 0.4, "seconds": 0.1},
                  {"epoch": 2, "loss": 0.6, "val_loss": 0.7, "accuracy": 0.7, "val_accuracy": 0.6, "seconds": 0.1},
                  {"epoch": 3, "loss": 0.4, "val_loss": 0.5, "accuracy": 0.8, "val_accuracy": 0.7, "seconds": 0.1}]}


def _metrics():
    return {"accuracy": np.float64(0.75), "loss": np.float32(0.5), "class_names": ["a", "b"],
            "macro": {"precision": 0.7, "recall": 0.75, "f1": np.float64(0.72)},
            "per_class": [{"name": "a", "precision": 0.8, "recall": 0.7, "f1": 0.74, "support": np.int64(10)},
                          {"name": "b", "precision": 0.6, "recall": 0.8, "f1": 0.69, "support": 10}],
            "confusion": np.array([[7, 3], [2, 8]])}


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    w = MainWindow(demo_project())
    w.project.show_error = lambda title, text: pytest.fail(f"unexpected error dialog: {text}")
    w.project.maybe_save = lambda *a, **k: True
    qtbot.addWidget(w)
    yield w
    w.project.timer.stop()
    w.close()


@pytest.fixture
def saved(tmp_path):
    csv = tmp_path / "pets.csv"
    csv.write_text("age,weight,colour,kind\n" + "".join(f"{i},{i * 1.5 + 2},{'rgb'[i % 3]},{'cd'[i % 2]}\n"
                                                        for i in range(30)))
    p = demo_project()
    p.train_config = {**TrainConfig().to_dict(), "epochs": 7, "learning_rate": 0.003}
    p.data_spec = {"kind": "csv", "path": str(csv), "target": "colour", "features": ["age", "kind"]}
    p.history = [dict(RUN, name="Run 0", epochs=RUN["epochs"][:1]), RUN]
    path = tmp_path / "pets.nnsp"
    save_project(path, p)
    return path


def test_reopening_shows_the_last_runs_curves_settings_and_data_choice(win, saved, qtbot):
    ui = win.training_ui
    assert win.project.open_project(str(saved))
    curves = ui.curves
    assert len(curves.epochs) == 3                       # the last run, not only under "compare with"
    assert list(curves.logs["val_loss"].view()) == [1.0, 0.7, 0.5]
    assert "seconds" not in curves.logs and curves.metric_name == "accuracy"
    assert "3 epochs" in ui.training_panel.status.text()
    assert ui.training_panel.config().epochs == 7
    dp = ui.data_panel
    assert dp.current_kind() == "csv"
    qtbot.waitUntil(lambda: dp.target.currentText() == "colour", timeout=10000)   # the preview was read again
    checked = [dp.features.item(i).text() for i in range(dp.features.count())
               if dp.features.item(i).checkState() == Qt.Checked]
    assert checked == ["age", "kind"]
    assert dp.spec().target == "colour" and dp.spec().features == ["age", "kind"]
    assert not win.isWindowModified()


def _trained(win):
    doc = win.document
    doc.set_weights({k: np.full(s, 0.1, np.float32) for k, s in doc.param_layout().items()})
    doc.data_spec = {"kind": "sample", "path": "spirals"}


def test_an_evaluation_is_saved_with_the_project_and_shown_when_it_is_reopened(win, tmp_path):
    ev = win.evaluation_ui
    _trained(win)
    value = {"task": "classification", "split": "test", "where": "test split (20 samples)", "n": 20,
             "metrics": _metrics(), "gallery": [{"image": np.zeros((4, 4), np.uint8), "true": "a", "predicted": "b",
                                               "confidence": 0.9, "index": 3}]}
    ev._running.add("evaluate")
    ev._on_result("evaluate", value)
    assert win.isWindowModified()                        # new results: closing asks to save them
    path = tmp_path / "evaluated.nnsp"
    assert win.project.save_as(str(path))
    saved = load_project(path).metadata["evaluation"]
    assert saved["metrics"]["accuracy"] == 0.75 and saved["metrics"]["confusion"] == [[7, 3], [2, 8]]
    assert "gallery" not in saved

    win.project.new_project()
    assert ev.evaluation_panel.metrics is None
    assert win.project.open_project(str(path))
    panel = ev.evaluation_panel
    assert panel.metrics is not None and "75.0%" in panel.summary.text()
    assert "Saved with the project" in panel.status.text()
    assert panel.per_class.rowCount() == 3


def test_a_saved_regression_evaluation_keeps_its_scatter(win, tmp_path):
    ev = win.evaluation_ui
    _trained(win)
    pred, true = np.linspace(0, 1, 800), np.linspace(0, 1, 800) + 0.1
    ev._running.add("evaluate")
    ev._on_result("evaluate", {"task": "regression", "split": "val", "where": "validation split", "n": 800,
                               "metrics": {"mae": 0.1, "rmse": 0.1, "r2": np.float64(0.9), "loss": 0.01},
                               "pred": pred, "true": true})
    path = tmp_path / "reg.nnsp"
    assert win.project.save_as(str(path))
    assert win.project.open_project(str(path))
    panel = ev.evaluation_panel
    assert "MAE" in panel.summary.text() and panel.pages.currentIndex() == 2
    assert "Saved with the project" in panel.status.text()
    assert len(panel.scatter.data) == 500


def test_training_again_forgets_the_saved_evaluation(win):
    ev = win.evaluation_ui
    win.document.metadata = {**win.document.metadata, "evaluation": {"task": "classification", "metrics": {}}}
    ev._after_training()
    assert "evaluation" not in win.document.metadata


def test_file_new_resets_data_settings_plots_evaluation_and_status(win, saved, qtbot):
    ui = win.training_ui
    assert win.project.open_project(str(saved))
    qtbot.waitUntil(lambda: ui.data_panel.target.currentText() == "colour", timeout=10000)
    ui.data_panel.summary.setText("loaded: 30 samples")
    ui.progress_line.setText("epoch 3/3")
    ui.banner.show_message("diverged")
    ev = win.evaluation_ui
    ev._running.add("evaluate")
    ev._on_result("evaluate", {"task": "classification", "split": "test", "where": "test", "n": 20,
                               "metrics": _metrics()})
    win.actions["new"].trigger()
    assert len(win.document.spec.nodes) == 0
    assert len(ui.curves.epochs) == 0 and ui.compare.count() == 1
    assert ui.training_panel.config().to_dict() == TrainConfig().to_dict()
    dp = ui.data_panel
    assert dp.current_kind() == "sample" and dp.summary.text() == "no data loaded" and dp.target.count() == 0
    assert ev.evaluation_panel.metrics is None and "Saved" not in ev.evaluation_panel.status.text()
    assert ui.progress_line.text() == "" and ui.training_panel.status.text() == "" and ui.banner.isHidden()
    qtbot.wait(20)                                       # the settings check runs once the event is over
    assert not win.isWindowModified() and win.document.train_config == {}


def test_an_opened_project_is_fitted_in_view_and_nothing_stays_selected(qtbot, win):
    """The view fits the graph just opened (not the one before it), and a node selected in the old
    graph (items are reused by node id) is not selected in the new one."""
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    win.view.graph_scene.select_nodes(["n2"])
    assert win.view.graph_scene.selected_node_ids() == ["n2"]
    far = demo_project()
    far.graph = far.graph.move_nodes({n.id: (n.pos[0] + 20000, n.pos[1] + 15000) for n in far.graph.nodes})
    win.document.load_project(far)
    qtbot.wait(50)
    centre = win.view.mapToScene(win.view.viewport().rect().center())
    rect = win.view.graph_scene.nodes_rect()
    assert rect.left() > 19000 and rect.contains(centre), (rect, centre)
    assert win.view.graph_scene.selected_node_ids() == []
