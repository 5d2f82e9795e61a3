"""Strings from a project are data in every export: they never run as code (issue 17).

A shared project can carry any text in its name, its layers' display names, its class
names and its settings.  Every exporter must keep that text intact as data, and the
generated PyTorch code (model and train_ddp.py) must import and run without executing
any of it.  Node ids, which do reach code as identifiers, are refused on load unless
they match :data:`engine.spec.NODE_ID_PATTERN`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from engine.export import ExportError, export_model, export_project, import_weights
from engine.export.torch_codegen import generate_module, generate_train_script
from engine.io import Project, ProjectError, load_project, save_project
from engine.spec import GraphSpec, NodeSpec, SpecError
from tests.engine.test_export_models import build, sample_input


def payloads(marker) -> list[str]:
    """Text that would run code (creating ``marker``) if spliced into Python source."""
    m = str(marker)
    return [
        f'"""\nimport os; os.system("touch {m}")\n"""',
        f"'''\nopen({m!r}, 'w').close()\n'''",
        f"x\\\n__import__('os').system('touch {m}')",
        f"x\u2028open({m!r}, 'w').close()",
        f"x\rimport os; os.system('touch {m}')  #",
        f"x\x0c\nimport os; os.system('touch {m}')",
        f"\"); open({m!r}, 'w').close(); (\"",
        f"'); open({m!r}, 'w').close(); ('",
        "{cls} {0} {{}} %s \x00 \t end",
        f"# -*- coding: rot13 -*-\nbcra({m!r}, 'j')",
        "=HYPERLINK(\"http://example.invalid\")",
        "\u00e9\u4e2d\U0001f600 \\N{BULLET} \\u2028",
    ]


BAD_IDS = ['n1"""', "n1\nimport os", "1abc", "", "a/b", "a b", "n\u00e9", "a" * 65, "x\u2028y", "a.b"]


def _evil_project(marker) -> Project:
    texts = payloads(marker)
    model = build("dense")
    spec = model.spec
    for i, nid in enumerate(spec.node_ids):
        spec = spec.rename(nid, texts[i % len(texts)])
    n_out = int(model.output_shape[-1])
    classes = (texts * 2)[:n_out]
    pre = {"task": "classification", "class_names": classes, "note": texts[0]}
    return Project(graph=spec, train_config={"seed": 0, "optimizer": "adam", "note": texts[1]},
                   preprocessing=pre, weights=model.state_dict(),
                   history=[{"name": texts[2], "settings": {}, "epochs": [{"epoch": 1, "loss": 0.5}]}],
                   metadata={"name": texts[0] + texts[3]})


# ------------------------------------------------------------------ node ids
@pytest.mark.parametrize("bad", BAD_IDS)
def test_bad_node_ids_are_refused_everywhere(tmp_path, bad):
    good = build("dense").spec.to_dict()
    old = good["nodes"][0]["id"]
    data = json.loads(json.dumps(good))
    data["nodes"][0]["id"] = bad
    for e in data["edges"]:
        e["src"] = bad if e["src"] == old else e["src"]
    with pytest.raises(SpecError, match="node id .* is not allowed"):
        GraphSpec.from_dict(data)
    with pytest.raises(SpecError, match="is not allowed"):
        GraphSpec.from_json(json.dumps(data))
    with pytest.raises(SpecError, match="is not allowed"):
        NodeSpec(bad, "Dense.v1")
    with pytest.raises(SpecError, match="is not allowed"):
        GraphSpec().add_node("Dense.v1", {}, node_id=bad)
    # a project carrying it
    path = tmp_path / "p.nnsp"
    save_project(path, Project(graph=build("dense").spec))
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["graph.json"] = json.dumps(data).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    with pytest.raises(ProjectError, match="is not allowed"):
        load_project(path)


def test_bad_node_id_in_export_metadata_is_refused(tmp_path):
    out = tmp_path / "w.npz"
    export_model(build("dense"), "npz", out)
    with np.load(out, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("__metadata__.json").tobytes())
    meta["graph"]["nodes"][0]["id"] = 'n1"""\nimport os'
    arrays["__metadata__.json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(out, **arrays)
    with pytest.raises(ExportError, match="is not allowed"):
        import_weights(out)


def test_ids_the_app_and_samples_use_stay_valid():
    for nid in ("n1", "n123456", "a", "input", "Dense_2", "_x", "enc-1", "a" * 64):
        assert NodeSpec(nid, "Dense.v1").id == nid


def test_generator_refuses_an_id_that_bypassed_validation():
    model = build("dense")
    nid = model.order[1]
    object.__setattr__(model.spec.node(nid), "id", 'x"""\nimport os')  # frozen dataclass, forced
    model.order[1] = 'x"""\nimport os'
    with pytest.raises(ExportError, match="is not allowed"):
        generate_module(model, {})
    with pytest.raises(ExportError, match="is not allowed"):
        generate_train_script(model)


@pytest.mark.parametrize("module,weights", [("os; import sys", "m.safetensors"), ("class", "m.safetensors"),
                                            ("m", '"); import os; ("'), ("m", "a\nb")])
def test_generator_refuses_unsafe_module_and_file_names(module, weights):
    with pytest.raises(ExportError, match="cannot be"):
        generate_module(build("dense"), {}, module=module, weights=weights)


def test_unusual_output_file_names_become_plain_identifiers(tmp_path):
    for stem in ('a"""b', "class", "\u00e9t\u00e9", "x\u2028y", "1st"):
        folder = tmp_path / f"f{abs(hash(stem))}"
        folder.mkdir()
        files = export_model(build("dense"), "pytorch", folder / f"{stem}.py")
        py = next(f for f in files if f.suffix == ".py" and f.name != "train_ddp.py")
        assert py.stem.isascii() and py.stem.isidentifier()
        compile(py.read_text(), str(py), "exec")


# ----------------------------------------------------- strings survive as data
def _files_now(root):
    return {p for p in root.rglob("*")}


@pytest.mark.parametrize("fmt", ["npz", "safetensors"])
def test_weight_exports_keep_the_strings_as_data(tmp_path, fmt):
    marker = tmp_path / "PWNED"
    proj = _evil_project(marker)
    files = export_project(proj, fmt, tmp_path / "w")
    back = import_weights(files[0])
    assert back.metadata["name"] == proj.metadata["name"]
    assert back.metadata["class_names"] == proj.preprocessing["class_names"]
    assert back.preprocessing == proj.preprocessing
    assert back.train_config["note"] == proj.train_config["note"]
    assert [n.name for n in back.graph.nodes] == [n.name for n in proj.graph.nodes]
    assert not marker.exists()


def test_project_round_trip_keeps_the_strings(tmp_path):
    marker = tmp_path / "PWNED"
    proj = _evil_project(marker)
    save_project(tmp_path / "p.nnsp", proj)
    back = load_project(tmp_path / "p.nnsp")
    assert back.metadata["name"] == proj.metadata["name"]
    assert [n.name for n in back.graph.nodes] == [n.name for n in proj.graph.nodes]
    assert back.preprocessing == proj.preprocessing and back.history == proj.history
    assert not marker.exists()


def test_onnx_export_keeps_the_strings_in_metadata_only(tmp_path):
    onnx = pytest.importorskip("onnx")
    marker = tmp_path / "PWNED"
    proj = _evil_project(marker)
    files = export_project(proj, "onnx", tmp_path / "m")
    mp = onnx.load(str(files[0]))
    props = {p.key: p.value for p in mp.metadata_props}
    meta = json.loads(props["nnstudio"])
    assert meta["name"] == proj.metadata["name"]
    assert meta["class_names"] == proj.preprocessing["class_names"]
    assert [n["name"] for n in meta["graph"]["nodes"] if "name" in n] == [n.name for n in proj.graph.nodes]
    # every name in the ONNX graph itself is derived from validated ids and fixed words
    names = [mp.graph.name, *(n.name for n in mp.graph.node), *(i.name for i in mp.graph.initializer),
             *(v.name for v in mp.graph.input), *(v.name for v in mp.graph.output),
             *(o for n in mp.graph.node for o in n.output), mp.doc_string, mp.graph.doc_string,
             *(n.doc_string for n in mp.graph.node)]
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-/")
    assert all(set(n) <= allowed for n in names), [n for n in names if not set(n) <= allowed]
    assert not marker.exists()


def test_generated_pytorch_code_has_no_payload_outside_string_literals(tmp_path):
    import ast

    marker = tmp_path / "PWNED"
    proj = _evil_project(marker)
    files = export_project(proj, "pytorch", tmp_path / "torch")
    for f in files:
        if f.suffix != ".py":
            continue
        src = f.read_text(encoding="utf-8")
        assert src.isascii()
        tree = ast.parse(src)
        called = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", None)
                  for n in ast.walk(tree) if isinstance(n, ast.Call)}
        assert not called & {"system", "open", "__import__", "exec", "eval", "popen"}, called
        for line in src.splitlines():
            assert str(marker) not in line or line.lstrip().startswith(("#", "MODEL_NAME", "CLASS_NAMES")), line


def test_generated_pytorch_code_imports_and_trains_without_running_the_payloads(tmp_path):
    pytest.importorskip("torch")
    marker = tmp_path / "PWNED"
    proj = _evil_project(marker)
    out = tmp_path / "torch"
    export_project(proj, "pytorch", out)
    model = build("dense")
    x = sample_input(model, n=8)
    np.savez(tmp_path / "tiny.npz", x=x, y=np.arange(8) % int(model.output_shape[-1]))
    expect = {"name": proj.metadata["name"], "classes": proj.preprocessing["class_names"]}
    (tmp_path / "expect.json").write_text(json.dumps(expect), encoding="utf-8")
    script = f"""
import json, runpy, sys
import numpy as np, torch
sys.path.insert(0, {str(out)!r})
import model
exp = json.load(open({str(tmp_path / 'expect.json')!r}, encoding='utf-8'))
assert model.MODEL_NAME == exp["name"], model.MODEL_NAME
assert model.CLASS_NAMES == exp["classes"], model.CLASS_NAMES
net = model.NNStudioModel().load_weights({str(out / 'model.safetensors')!r})
net.eval()
with torch.no_grad():
    y = net(torch.from_numpy(np.load({str(tmp_path / 'tiny.npz')!r})["x"])).numpy()
assert y.shape[0] == 8
sys.argv = ["train_ddp.py", "--data", {str(tmp_path / 'tiny.npz')!r}, "--epochs", "1",
            "--out", {str(tmp_path / 'trained.npz')!r}]
runpy.run_path({str(out / 'train_ddp.py')!r}, run_name="__main__")
print("OK")
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MASTER_", "WORLD_SIZE", "RANK", "LOCAL_RANK"))}
    env["OMP_NUM_THREADS"] = "1"
    res = subprocess.run([sys.executable, "-c", script], cwd=out, env=env, capture_output=True, text=True,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "OK" in res.stdout
    assert not marker.exists()
    assert not (out / "PWNED").exists()
    back = import_weights(tmp_path / "trained.npz")
    assert back.metadata["name"] == proj.metadata["name"]


def test_display_name_appears_in_code_only_as_an_escaped_comment(tmp_path):
    proj = _evil_project(tmp_path / "PWNED")
    spec = proj.graph
    nid = spec.node_ids[1]
    proj = replace(proj, graph=spec.rename(nid, 'hidden """ layer\nprint(1)'))
    files = export_project(proj, "pytorch", tmp_path / "t")
    src = next(f for f in files if f.name == "model.py").read_text()
    assert "# Dense n2 'hidden \"\"\" layer\\nprint(1)'" in src
