"""PyTorch code generation without torch: valid Python, complete weight map, clear errors.

The numerical round trip (torch) is in tests/interop/test_torch_export.py.
"""
from __future__ import annotations

import ast

import pytest

from engine.export import ExportError, build_metadata, export_model
from engine.export.torch_codegen import generate_module, generate_train_script
from tests.engine.test_export_models import GRAPHS, build


@pytest.mark.parametrize("name", list(GRAPHS))
def test_generated_source_is_valid_python_and_maps_every_weight(name):
    model = build(name)
    src = generate_module(model, build_metadata(model))
    tree = ast.parse(src)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    assert cls.name == "NNStudioModel"
    wmap = next(n for n in cls.body if isinstance(n, ast.Assign) and n.targets[0].id == "WEIGHT_MAP")
    keys = set(ast.literal_eval(wmap.value))
    assert keys == set(model.state_dict())
    assert "import torch" in src and "from engine" not in src and "import engine" not in src
    ast.parse(generate_train_script(model))


def test_export_writes_the_bundle(tmp_path):
    files = export_model(build("dense"), "pytorch", tmp_path / "bundle")
    assert sorted(f.name for f in files) == ["model.py", "model.safetensors", "model.safetensors.json",
                                             "train_ddp.py"]
    files = export_model(build("dense"), "pytorch", tmp_path / "my-net.py")
    assert (tmp_path / "my_net.py").is_file() and (tmp_path / "my_net.safetensors").is_file()
    assert "from my_net import" in (tmp_path / "train_ddp.py").read_text()


def test_export_errors(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        export_model(build("dense"), "pytorch", tmp_path / "no" / "such" / "folder")
    (tmp_path / "file").write_text("")
    with pytest.raises(ExportError, match="not a folder"):
        export_model(build("dense"), "pytorch", tmp_path / "file")


def test_engine_export_never_imports_torch():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\n"
            "import engine.export, engine.export.npz, engine.export.safetensors_io, engine.export.onnx_export\n"
            "import engine.export.torch_codegen, engine.export.layouts, engine.export.importer, engine.evaluate\n"
            "sys.exit(1 if 'torch' in sys.modules else 0)\n")
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def _optimizer_of(src: str) -> dict:
    import json
    tree = ast.parse(src)
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "OPTIMIZER")
    return json.loads(ast.literal_eval(node.value.args[0]))


@pytest.mark.parametrize("cfg, want", [
    ({}, {"name": "adam", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    ({"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True},
     {"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ({"optimizer": "rmsprop", "lr": 0.01, "rho": 0.8}, {"name": "rmsprop", "lr": 0.01, "rho": 0.8, "eps": 1e-7,
                                                         "momentum": 0.0}),
    ({"optimizer": "adamw", "weight_decay": 0.1, "beta2": 0.99},
     {"name": "adamw", "lr": 1e-3, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.1}),
    ({"optimizer": "no-such", "lr": "x"}, {"name": "adam", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
])
def test_train_ddp_uses_the_projects_optimizer(cfg, want):
    """The generated torchrun script trains with the optimizer the project trained with (issue 14)."""
    src = generate_train_script(build("dense"), train_config=cfg)
    got = _optimizer_of(src)
    assert got == pytest.approx(want) and got["name"] == want["name"]
    assert "make_optimizer(net.parameters(), args.lr)" in src
