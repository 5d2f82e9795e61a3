"""``python main.py analyze`` and ``python main.py explain``, run as a user would (subprocesses)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]

CNN = {"schema_version": 1, "nodes": [
    {"id": "n1", "type": "Input.v1", "config": {"shape": [8, 8, 1]}},
    {"id": "n2", "type": "Conv2D.v1", "config": {"filters": 4, "kernel_size": 3, "activation": "relu",
                                                 "padding": "same"}},
    {"id": "n3", "type": "MaxPool2D.v1", "config": {"pool_size": 2}},
    {"id": "n4", "type": "Flatten.v1", "config": {}},
    {"id": "n5", "type": "Dense.v1", "config": {"units": 10, "activation": "softmax"}}],
    "edges": [{"src": "n1", "dst": "n2"}, {"src": "n2", "dst": "n3"}, {"src": "n3", "dst": "n4"},
              {"src": "n4", "dst": "n5"}]}

TABLE = {"schema_version": 1, "nodes": [
    {"id": "n1", "type": "Input.v1", "config": {"shape": [6]}},
    {"id": "n2", "type": "Dense.v1", "config": {"units": 16, "activation": "relu"}},
    {"id": "n3", "type": "Dense.v1", "config": {"units": 2, "activation": "softmax"}}],
    "edges": [{"src": "n1", "dst": "n2"}, {"src": "n2", "dst": "n3"}]}


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def table_project(tmp_path_factory):
    """A CSV where only 'signal' decides the class; 'colour' (3 categories, one-hot) and 'noise' are noise."""
    d = tmp_path_factory.mktemp("explain_cli")
    rng = np.random.default_rng(0)
    n = 400
    signal = rng.standard_normal(n)
    noise = rng.standard_normal(n)
    other = rng.standard_normal(n)
    colour = rng.choice(["red", "green", "blue"], n)
    label = np.where(signal > 0, "yes", "no")
    csv = d / "t.csv"
    csv.write_text("signal,noise,colour,other,label\n" + "\n".join(
        f"{a:.4f},{b:.4f},{c},{o:.4f},{t}" for a, b, c, o, t in zip(signal, noise, colour, other, label)))
    g = d / "t.json"
    g.write_text(json.dumps(TABLE))
    out = d / "t.nnsp"
    r = run("train", g, "--data", csv, "--epochs", "25", "--lr", "0.01", "--seed", "1", "--quiet", "--out", out)
    assert r.returncode == 0, r.stderr
    return d, out, csv


def test_explain_table_writes_json_and_pngs(table_project):
    d, proj, csv = table_project
    out = d / "ex"
    r = run("explain", proj, "--data", csv, "--out", out, "--repeats", "4", "--sample", "2")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["most_important"][0] == "signal"
    doc = json.loads((out / "explain.json").read_text())
    imp = doc["importance"]
    # one-hot colour columns are one group, named by the original column
    assert sorted(f["name"] for f in imp["features"]) == ["colour", "noise", "other", "signal"]
    assert next(f for f in imp["features"] if f["name"] == "colour")["features"] == [2, 3, 4]
    assert imp["split"] == "val" and imp["repeats"] == 4 and all(len(f["values"]) == 4 for f in imp["features"])
    sal = doc["saliency"]
    assert sal["method"] == "integrated_gradients" and len(sal["attributions"]) == 6
    assert abs(sal["delta"]) < 0.05 * max(1.0, abs(sal["f_x"]))
    assert [g["name"] for g in sal["groups"]] == ["signal", "noise", "colour", "other"]
    assert doc["sample"]["index"] == 2 and doc["sample"]["split"] == "val"
    assert [a["id"] for a in doc["activations"]] == ["n1", "n2", "n3"]
    assert doc["analysis"]["checked"]["gradients"] is True
    for f in summary["files"][1:]:
        with Image.open(f) as im:
            assert im.format == "PNG" and im.width > 10 and im.height > 10
    assert (out / "importance.png").exists() and (out / "saliency.png").exists()


def test_explain_without_out_prints_json_and_by_feature(table_project):
    d, proj, csv = table_project
    r = run("explain", proj, "--data", csv, "--per", "feature", "--method", "gxi", "--class", "yes",
            "--repeats", "2", "--metric", "accuracy")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["importance"]["features"]) == 6
    assert doc["saliency"]["method"] == "gradient_x_input" and doc["saliency"]["target"] == 1
    assert doc["importance"]["metric"] == "accuracy"


def test_analyze_trained_project_with_and_without_data(table_project):
    d, proj, csv = table_project
    r = run("analyze", proj)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["trained"] and doc["checked"] is None
    assert doc["totals"]["params"] == 6 * 16 + 16 + 16 * 2 + 2
    assert doc["totals"]["macs"] == 6 * 16 + 16 * 2
    r = run("analyze", proj, "--data", csv, "--batch-size", "8")
    doc = json.loads(r.stdout)
    assert doc["checked"]["gradients"] and doc["checked"]["loss_name"] == "sparse_cce"
    assert doc["totals"]["batch_size"] == 8 and doc["layers"][1]["activation_bytes"] == 16 * 4 * 8
    assert "dead_units" in doc["layers"][1]["stats"]


def test_analyze_a_graph_file(tmp_path):
    g = tmp_path / "cnn.json"
    g.write_text(json.dumps(CNN))
    r = run("analyze", g)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert not doc["trained"]
    assert [l["macs"] for l in doc["layers"]] == [0, 8 * 8 * 4 * 9, 0, 0, 64 * 10]
    r = run("analyze", g, "--data", "sample:digits")
    assert r.returncode == 1 and "no trained weights" in r.stderr


@pytest.fixture(scope="module")
def image_project(tmp_path_factory):
    from engine.io import Project, save_project
    from engine.model import compile_graph
    from engine.spec import GraphSpec

    d = tmp_path_factory.mktemp("explain_img")
    spec = GraphSpec.from_dict(CNN)
    model = compile_graph(spec, seed=3)
    p = d / "cnn.nnsp"
    save_project(p, Project(graph=spec, weights=model.state_dict()))
    return d, p


def test_explain_images_with_blurred_baseline(image_project):
    d, proj = image_project
    out = d / "ex"
    r = run("explain", proj, "--data", "sample:digits", "--out", out, "--baseline", "blur", "--class", "3",
            "--steps", "64")
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "explain.json").read_text())
    assert "importance" not in doc
    sal = doc["saliency"]
    assert np.asarray(sal["attributions"]).shape == (8, 8, 1) and sal["target"] == 3 and sal["baseline"] == "blur"
    assert abs(sal["sum"] - (sal["f_x"] - sal["f_baseline"])) < 0.02 * max(1, abs(sal["f_x"]))
    maps = doc["activations"][1]
    assert maps["kind"] == "maps" and maps["shape"] == [8, 8, 4]
    with Image.open(out / "saliency.png") as im:
        assert im.width > 2 * im.height * 0.9      # the image beside its heat map
    assert (out / "activations" / "01_n2.png").exists()


def test_explain_errors_are_one_line(image_project, tmp_path):
    d, proj = image_project
    cases = [
        (["--sample", "100000"], "does not exist"),
        (["--class", "cat"], "no such class"),
        (["--metric", "r2"], "is for regression"),
        (["--baseline", "mean", "--steps", "0"], "--steps must be at least 1"),
        (["--out", proj], "is a file"),
    ]
    for extra, words in cases:
        r = run("explain", proj, "--data", "sample:digits", *extra)
        assert r.returncode == 1, (extra, r.stdout, r.stderr)
        assert words in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    g = tmp_path / "g.json"
    g.write_text(json.dumps(CNN))
    from engine.io import Project, save_project
    from engine.model import compile_graph
    from engine.spec import GraphSpec
    untrained = tmp_path / "u.nnsp"
    save_project(untrained, Project(graph=GraphSpec.from_dict(CNN)))
    r = run("explain", untrained, "--data", "sample:digits")
    assert r.returncode == 1 and "no trained weights" in r.stderr
    del compile_graph


TEXT = {"schema_version": 1, "nodes": [
    {"id": "n1", "type": "Input.v1", "config": {"shape": [10]}},
    {"id": "n2", "type": "Embedding.v1", "config": {"vocab_size": 20, "dim": 8}},
    {"id": "n3", "type": "MultiHeadAttention.v1", "config": {"num_heads": 2}},
    {"id": "n4", "type": "LSTM.v1", "config": {"units": 8}},
    {"id": "n5", "type": "Dense.v1", "config": {"units": 2, "activation": "softmax"}}],
    "edges": [{"src": "n1", "dst": "n2"}, {"src": "n2", "dst": "n3"}, {"src": "n3", "dst": "n4"},
              {"src": "n4", "dst": "n5"}]}


def token_project(folder):
    from engine.io import Project, save_project
    from engine.model import compile_graph
    from engine.spec import GraphSpec

    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, (120, 10))
    np.savez(folder / "tok.npz", x=x, y=(x[:, :3] == 5).any(axis=1).astype(np.int64))
    spec = GraphSpec.from_dict(TEXT)
    p = folder / "tok.nnsp"
    save_project(p, Project(graph=spec, weights=compile_graph(spec, seed=2).state_dict()))
    return p, folder / "tok.npz"


def test_explain_token_ids_per_token(tmp_path):
    proj, data = token_project(tmp_path)
    out = tmp_path / "ex"
    r = run("explain", proj, "--data", data, "--scaling", "none", "--out", out, "--steps", "128")
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "explain.json").read_text())
    sal = doc["saliency"]
    assert sal["where"] == "n2" and len(sal["attributions"]) == 10          # one value per token
    assert abs(sal["sum"] - (sal["f_x"] - sal["f_baseline"])) < 0.01 * max(1.0, abs(sal["f_x"]))
    assert "importance" not in doc                                          # not a table model
    att = next(a for a in doc["activations"] if a["id"] == "n3")
    assert np.asarray(att["attention"]).shape == (2, 10, 10)
    assert (out / "activations" / "02_n3_attention.png").exists()
    with Image.open(out / "saliency.png") as im:
        assert im.width > 10 * 30                                           # ten labelled token boxes
    bad = run("explain", proj, "--data", data, "--scaling", "none", "--baseline", "blur")
    assert bad.returncode == 1 and "zeros baseline" in bad.stderr
