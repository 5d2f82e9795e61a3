"""File ▸ Import ONNX model… in the assembled main window (offscreen)."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMenu

from app.main_window import MainWindow

onnx = pytest.importorskip("onnx")
from tests.app.onnx_files import write_model as _write_model

TIMEOUT = 30_000


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "appdata"))
    w = MainWindow()
    qtbot.addWidget(w)
    w.project.ask_save_changes = lambda: "discard"
    w.dialogs = []
    w.onnx_import.show_dialog = lambda kind, title, text: w.dialogs.append((kind, title, text))
    yield w
    w.project.maybe_save = lambda *a, **k: True
    w.close()


def test_menu_entry_follows_import_weights(window):
    menu = window.menuBar().findChild(QMenu, "menu_file")
    acts = menu.actions()
    assert window.actions["import_onnx"] in acts
    assert acts.index(window.actions["import_onnx"]) == acts.index(window.actions["import_weights"]) + 1


def test_import_puts_the_model_on_the_canvas(window, qtbot, tmp_path):
    path = tmp_path / "net.onnx"
    _write_model(path)
    window.onnx_import.ask_path = lambda: str(path)
    with qtbot.waitSignal(window.onnx_import.imported, timeout=TIMEOUT):
        window.actions["import_onnx"].trigger()
    spec = window.document.spec
    assert [n.type for n in spec.nodes] == ["Input.v1", "Conv2D.v1", "Flatten.v1", "Dense.v1"]
    assert spec.node("conv1").config["activation"] == "relu"
    assert window.document.weights is not None and "conv1/W" in window.document.weights
    assert window.project.is_modified()
    assert window.actions["train"].isEnabled() or window.document.train_blocker() is None
    kind, _title, text = window.dialogs[-1]
    assert kind == "info" and "channels last" in text
    assert window.actions["import_onnx"].isEnabled()


def test_unmappable_model_shows_every_problem(window, qtbot, tmp_path):
    path = tmp_path / "bad.onnx"
    _write_model(path, bad=True)
    before = window.document.spec
    with qtbot.waitSignal(window.onnx_import.failed, timeout=TIMEOUT):
        assert window.onnx_import.import_onnx(str(path))
    kind, _title, text = window.dialogs[-1]
    assert kind == "error"
    assert "Conv 'conv1': dilations=[1, 2] is not supported yet" in text
    assert "LogSoftmax 'probs': there is no NN Studio layer for LogSoftmax" in text
    assert window.document.spec == before
    assert window.actions["import_onnx"].isEnabled()


def test_damaged_file_is_one_message(window, qtbot, tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x00\xff junk" * 20)
    with qtbot.waitSignal(window.onnx_import.failed, timeout=TIMEOUT):
        window.onnx_import.import_onnx(str(path))
    assert "junk.onnx is not an ONNX model" in window.onnx_import.last_error


def test_locked_while_training(window, tmp_path):
    path = tmp_path / "net.onnx"
    _write_model(path)
    training = window.training
    training.running_changed.emit(True)
    assert not window.actions["import_onnx"].isEnabled()
    assert not window.onnx_import.import_onnx(str(path))
    training.running_changed.emit(False)
    assert window.actions["import_onnx"].isEnabled()
