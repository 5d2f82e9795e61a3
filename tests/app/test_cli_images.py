"""Issue 'data import' acceptance: a small CNN trained from the CLI on the digits images
written to a folder of PNGs (one subfolder per class) reaches >= 0.95 test accuracy."""
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
    {"id": "n2", "type": "Conv2D.v1", "config": {"filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"}},
    {"id": "n3", "type": "MaxPool2D.v1", "config": {"pool_size": 2}},
    {"id": "n4", "type": "Flatten.v1", "config": {}},
    {"id": "n5", "type": "Dense.v1", "config": {"units": 64, "activation": "relu"}},
    {"id": "n6", "type": "Dense.v1", "config": {"units": 10, "activation": "softmax"}}],
    "edges": [{"src": f"n{i}", "dst": f"n{i + 1}"} for i in range(1, 6)]}


@pytest.mark.slow
def test_cnn_on_digits_png_folder(tmp_path):
    z = np.load(ROOT / "resources" / "samples" / "digits.npz", allow_pickle=False)
    x, y = z["x"], z["y"]
    folder = tmp_path / "digits"
    for i, (img, label) in enumerate(zip(x, y)):
        d = folder / f"digit_{label}"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray((img[..., 0].astype(np.uint16) * 255 // 16).astype(np.uint8), mode="L").save(d / f"{i}.png")
    (folder / "digit_3" / "broken.png").write_bytes(b"\x89PNG not really")  # skipped, never blocks training
    graph = tmp_path / "cnn.json"
    graph.write_text(json.dumps(CNN))
    before = sorted(p.name for p in folder.rglob("*"))
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", str(graph), "--data", str(folder),
                        "--image-size", "8x8", "--grayscale", "--test-split", "0.2", "--val-split", "0.1",
                        "--epochs", "12", "--batch-size", "32", "--lr", "0.002", "--seed", "0",
                        "--out", str(tmp_path / "digits.nnsp"), "--quiet"],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    final = json.loads(r.stdout.splitlines()[-1])
    assert final["test_accuracy"] >= 0.95, final
    assert sorted(p.name for p in folder.rglob("*")) == before  # nothing written into the user's folder
    from engine.io import load_project
    p = load_project(tmp_path / "digits.nnsp")
    assert p.metadata["class_names"] == [f"digit_{i}" for i in range(10)]
