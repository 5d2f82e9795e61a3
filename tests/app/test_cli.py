"""The headless command line, run as a user would: ``python main.py ...`` in a subprocess."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

IRIS_GRAPH = {
    "schema_version": 1,
    "nodes": [
        {"id": "n1", "type": "Input.v1", "config": {"shape": [4]}},
        {"id": "n2", "type": "Dense.v1", "config": {"units": 16, "activation": "relu"}},
        {"id": "n3", "type": "Dense.v1", "config": {"units": 3, "activation": "softmax"}},
    ],
    "edges": [{"src": "n1", "dst": "n2"}, {"src": "n2", "dst": "n3"}],
}


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def iris_project(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    g = d / "iris.json"
    g.write_text(json.dumps(IRIS_GRAPH))
    out = d / "iris.nnsp"
    r = run("train", g, "--data", "sample:iris", "--epochs", "60", "--lr", "0.01", "--batch-size", "16",
            "--test-split", "0.2", "--seed", "1", "--out", out)
    assert r.returncode == 0, r.stderr
    return d, out, r.stdout


def test_train_prints_one_json_object_per_epoch_and_writes_project(iris_project):
    d, out, stdout = iris_project
    lines = [json.loads(l) for l in stdout.splitlines()]
    epochs = [l for l in lines if "epoch" in l]
    assert [l["epoch"] for l in epochs] == list(range(1, 61))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "samples_per_s", "seconds"):
        assert key in epochs[0]
    # the time left, as the app estimates it (engine.jobs.progress): falls to 0 at the last epoch
    assert all("eta_s" in l and l["eta_s"] >= 0 for l in epochs[1:]) and epochs[-1]["eta_s"] == 0
    final = lines[-1]
    assert final["done"] and final["test_accuracy"] >= 0.9
    from engine.io import load_project
    p = load_project(out)
    assert p.weights and p.preprocessing and p.history[-1]["epochs"][-1]["epoch"] == 60
    assert p.data_spec["kind"] == "sample"


def test_train_on_numeric_csv_and_npz(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,c,label\n" + "\n".join(f"{a:.4f},{b:.4f},{c:.4f},{t}" for (a, b, c), t in zip(x, y)))
    g = tmp_path / "g.json"
    g.write_text(json.dumps({"nodes": [
        {"id": "n1", "type": "Input.v1", "config": {"shape": [3]}},
        {"id": "n2", "type": "Dense.v1", "config": {"units": 2, "activation": "softmax"}}],
        "edges": [{"src": "n1", "dst": "n2"}], "schema_version": 1}))
    r = run("train", g, "--data", csv, "--target", "label", "--epochs", "30", "--lr", "0.05", "--out", tmp_path / "c.nnsp")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-2])["val_accuracy"] > 0.85
    # predict applies the saved preprocessing to a new file with the same columns (target not needed)
    new = tmp_path / "new.csv"
    new.write_text("a,b,c\n" + "\n".join(f"{a:.4f},{b:.4f},{c:.4f}" for a, b, c in x[:50]))
    r = run("predict", tmp_path / "c.nnsp", "--data", new, "--out", tmp_path / "pred.csv")
    assert r.returncode == 0, r.stderr
    import pandas as pd
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert len(pred) == 50 and "prediction" in pred.columns
    assert (pred["prediction"].astype(int).to_numpy() == y[:50]).mean() > 0.85
    # evaluate on a whole new labelled file
    r = run("evaluate", tmp_path / "c.nnsp", "--data", csv, "--target", "label")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["n"] == 200 and m["accuracy"] > 0.85
    npz = tmp_path / "d.npz"
    np.savez(npz, x=x.astype(np.float32), y=y)
    r = run("train", g, "--data", npz, "--epochs", "5", "--out", tmp_path / "n.nnsp", "--quiet")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1


def test_evaluate_and_export(iris_project, tmp_path):
    d, out, _ = iris_project
    r = run("evaluate", out)
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["split"] == "test" and m["n"] == 30
    assert m["accuracy"] >= 0.9 and len(m["confusion"]) == 3 and m["class_names"][0] == "setosa"
    r = run("export", out, "--format", "onnx", "--out", tmp_path / "iris.onnx")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "iris.onnx").exists()


@pytest.mark.parametrize("args,message", [
    (["train", "missing.json", "--data", "sample:iris", "--out", "x.nnsp"], "not found"),
    (["train", "{graph}", "--data", "sample:nope", "--out", "x.nnsp"], "sample"),
    (["train", "{graph}", "--data", "sample:iris", "--lr", "-1", "--out", "x.nnsp"], "learning rate"),
    (["train", "{graph}", "--data", "sample:iris", "--optimizer", "adamx", "--out", "x.nnsp"], "optimizer"),
    (["train", "{bad_graph}", "--data", "sample:iris", "--out", "x.nnsp"], "add Flatten"),
    (["train", "{graph}", "--data", "sample:digits", "--out", "x.nnsp"], "Input layer expects"),
    (["train", "{graph}", "--data", "sample:iris", "--epochz", "3", "--out", "x.nnsp"], "unrecognized"),
    (["evaluate", "{graph}"], "not an NN Studio project"),
])
def test_errors_are_one_clear_line(tmp_path, args, message):
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps(IRIS_GRAPH))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**IRIS_GRAPH, "nodes": [
        {"id": "n1", "type": "Input.v1", "config": {"shape": [4, 2]}}, *IRIS_GRAPH["nodes"][1:]]}))
    args = [a.format(graph=graph, bad_graph=bad) for a in args]
    r = run(*args, cwd=tmp_path)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2  # argparse prints usage + one error line


def test_help_documents_every_flag():
    r = run("--help")
    assert r.returncode == 0 and "train" in r.stdout and "--screenshot" in r.stdout
    r = run("train", "--help")
    for flag in ("--data", "--target", "--epochs", "--batch-size", "--optimizer", "--lr", "--loss", "--seed",
                 "--val-split", "--out", "--features", "--image-size", "--grayscale", "--test-split"):
        assert flag in r.stdout
