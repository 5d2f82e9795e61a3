"""npz / safetensors export: reload (allow_pickle=False), metadata, import back into a project."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.export import METADATA_KEY, ExportError, export_model, export_project, import_weights
from engine.export.importer import read_export
from engine.io import Project
from engine.model import compile_graph
from engine.spec import GraphSpec
from tests.engine.test_export_models import GRAPHS, build, rel_err, sample_input

PRE = {"kind": "tabular", "version": 1, "task": "classification", "class_names": ["a", "b", "c", "d"],
       "input_shape": [6], "decimal": ".",
       "columns": [{"name": f"f{i}", "type": "numeric", "fill": 0.0, "shift": 0.0, "scale": 1.0}
                   for i in range(6)]}


def _norm(spec):
    return GraphSpec.from_dict(spec.to_dict()).to_dict()


def _project(model):
    return Project(graph=model.spec, train_config={"seed": 7, "epochs": 3}, preprocessing=PRE,
                   weights=model.state_dict(),
                   history=[{"name": "run 1", "settings": {}, "epochs": [
                       {"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5, "val_accuracy": 0.75}]}],
                   metadata={"name": "demo"})


@pytest.mark.parametrize("fmt", ["npz", "safetensors"])
@pytest.mark.parametrize("name", list(GRAPHS))
def test_weights_round_trip_reproduces_outputs(tmp_path, fmt, name):
    model = build(name)
    x = sample_input(model)
    files = export_model(model, fmt, tmp_path / "model", {"class_names": None})
    assert files[0].name == f"model.{fmt}" and files[1].name == f"model.{fmt}.json"
    weights, meta = read_export(files[0])
    for _k, v in weights.items():
        assert v.dtype == np.float32 and v.flags.c_contiguous
    assert set(weights) == set(model.state_dict())
    fresh = compile_graph(model.spec, seed=123)
    fresh.load_state_dict(weights)
    assert rel_err(fresh.predict(x), model.predict(x)) <= 1e-6
    assert meta["layer_order"] == model.order
    assert json.loads(files[1].read_text()) == meta


def test_npz_is_plain_numeric_and_metadata_embedded(tmp_path):
    model = build("dense")
    export_project(_project(model), "npz", tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        assert z[METADATA_KEY].dtype == np.uint8
        meta = json.loads(z[METADATA_KEY].tobytes().decode())
        assert all(z[k].dtype != object for k in z.files)
        assert z["n2/W"].shape == (6, 12)
        assert "n3/running_var" in z.files
    assert meta["format"] == "nn-studio-export" and meta["schema_version"] == 1
    assert meta["app_version"]
    assert meta["graph"] == model.spec.to_dict()
    assert meta["parameters"]["n2/W"] == {"shape": [6, 12], "dtype": "float32", "kind": "param"}
    assert meta["parameters"]["n3/running_mean"]["kind"] == "buffer"
    assert meta["preprocessing"] == PRE and meta["class_names"] == ["a", "b", "c", "d"]
    assert meta["task"] == "classification" and meta["seed"] == 7
    assert meta["metrics"] == {"epoch": 2, "loss": 0.5, "val_accuracy": 0.75}


def test_safetensors_header_metadata(tmp_path):
    from safetensors import safe_open

    model = build("dense")
    export_project(_project(model), "safetensors", tmp_path / "m.safetensors")
    with safe_open(str(tmp_path / "m.safetensors"), framework="np") as f:
        meta = json.loads(f.metadata()["nnstudio"])
        assert np.array_equal(f.get_tensor("n2/W"), model.state_dict()["n2/W"])
    assert meta["class_names"] == ["a", "b", "c", "d"]


@pytest.mark.parametrize("fmt", ["npz", "safetensors"])
def test_import_weights_restores_project(tmp_path, fmt):
    model = build("dense")
    files = export_project(_project(model), fmt, tmp_path / "m")
    proj = import_weights(files[0])
    assert proj.graph.to_dict() == _norm(model.spec)
    assert proj.preprocessing == PRE
    assert proj.train_config["seed"] == 7
    assert proj.metadata["class_names"] == ["a", "b", "c", "d"]
    m2 = compile_graph(proj.graph)
    m2.load_state_dict(proj.weights)
    x = sample_input(model)
    assert rel_err(m2.predict(x), model.predict(x)) <= 1e-6
    # embedded metadata is enough: the sidecar may be deleted
    files[1].unlink()
    assert import_weights(files[0]).graph.to_dict() == _norm(model.spec)


def test_import_errors_are_clear(tmp_path):
    model = build("dense")
    np.savez(tmp_path / "bare.npz", **model.state_dict())
    with pytest.raises(ExportError, match="no NN Studio metadata"):
        import_weights(tmp_path / "bare.npz")
    # a sidecar beside bare weights is used
    files = export_model(model, "npz", tmp_path / "full.npz")
    (tmp_path / "bare.npz.json").write_text(files[1].read_text())
    assert import_weights(tmp_path / "bare.npz").weights.keys() == model.state_dict().keys()
    # weights that do not match the metadata
    sd = model.state_dict()
    sd["n2/W"] = np.zeros((3, 3), np.float32)
    np.savez(tmp_path / "bad.npz", **sd)
    (tmp_path / "bad.npz.json").write_text(files[1].read_text())
    with pytest.raises(ExportError, match="n2/W .*shape"):
        import_weights(tmp_path / "bad.npz")
    del sd["n2/W"]
    np.savez(tmp_path / "miss.npz", **sd)
    (tmp_path / "miss.npz.json").write_text(files[1].read_text())
    with pytest.raises(ExportError, match="missing n2/W"):
        import_weights(tmp_path / "miss.npz")
    (tmp_path / "x.npz.json").write_text("{not json")
    np.savez(tmp_path / "x.npz", a=np.zeros(1))
    with pytest.raises(ExportError, match="damaged"):
        import_weights(tmp_path / "x.npz")
    with pytest.raises(ExportError, match="does not exist"):
        import_weights(tmp_path / "none.npz")
    (tmp_path / "m.onnx").write_bytes(b"")
    with pytest.raises(ExportError, match="expected an exported"):
        import_weights(tmp_path / "m.onnx")


def test_export_errors_are_clear(tmp_path):
    model = build("dense")
    with pytest.raises(ExportError, match="unknown export format"):
        export_model(model, "h5", tmp_path / "m")
    with pytest.raises(ExportError, match="does not exist"):
        export_model(model, "npz", tmp_path / "nofolder" / "m.npz")
    with pytest.raises(ExportError, match="no trained weights"):
        export_project(Project(graph=model.spec), "npz", tmp_path / "m.npz")
