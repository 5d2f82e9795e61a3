"""``python main.py import MODEL.onnx --out PROJECT.nnsp`` (app/import_cli.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from engine.io import load_project

onnx = pytest.importorskip("onnx")
from tests.app.onnx_files import write_model as _write_model


def test_import_writes_a_project(tmp_path, capsys):
    src = tmp_path / "net.onnx"
    _write_model(src)
    assert main(["import", str(src), "--out", str(tmp_path / "net")]) == 0
    out, err = capsys.readouterr()
    info = json.loads(out)
    assert info["project"].endswith("net.nnsp") and info["layers"] == 4
    assert "note: input 'x'" in err and "channels last" in err
    project = load_project(tmp_path / "net.nnsp")
    assert [n.type for n in project.graph.nodes] == ["Input.v1", "Conv2D.v1", "Flatten.v1", "Dense.v1"]
    assert project.graph.node("x").config["shape"] == [6, 6, 1]
    assert set(project.weights) == {"conv1/W", "fc/W"}
    assert np.isfinite(project.weights["fc/W"]).all()


def test_existing_project_needs_force(tmp_path, capsys):
    src = tmp_path / "net.onnx"
    _write_model(src)
    out = tmp_path / "net.nnsp"
    out.write_bytes(b"keep me")
    assert main(["import", str(src), "--out", str(out)]) == 1
    assert "already exists; use --force" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main(["import", str(src), "--out", str(out), "--force"]) == 0
    assert load_project(out).graph.nodes


def test_unmappable_model_prints_every_problem(tmp_path, capsys):
    src = tmp_path / "bad.onnx"
    _write_model(src, bad=True)
    assert main(["import", str(src), "--out", str(tmp_path / "bad.nnsp")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot import bad.onnx: 2 part(s)")
    assert "  Conv 'conv1': dilations=[1, 2] is not supported yet" in err
    assert "  LogSoftmax 'probs': there is no NN Studio layer for LogSoftmax" in err
    assert not (tmp_path / "bad.nnsp").exists()


def test_launcher_routes_import_to_the_cli(tmp_path, capsys):
    from app.launcher import COMMANDS
    from app.launcher import main as launch

    assert "import" in COMMANDS
    assert launch(["import", str(tmp_path / "missing.onnx"), "--out", str(tmp_path / "x.nnsp")]) == 1
    assert "missing.onnx does not exist" in capsys.readouterr().err
