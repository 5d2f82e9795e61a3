"""Every layer family trains inside a graph from the command line (issue: conv/recurrent/attention layers)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.registry import all_layers

ROOT = Path(__file__).resolve().parents[2]


def chain(*layers):
    nodes = [{"id": f"n{i + 1}", "type": t, "config": c} for i, (t, c) in enumerate(layers)]
    edges = [{"src": f"n{i}", "dst": f"n{i + 1}"} for i in range(1, len(layers))]
    return {"schema_version": 1, "nodes": nodes, "edges": edges}


def transformer():
    g = chain(("Input.v1", {"shape": [12, 8]}), ("LayerNorm.v1", {}),
              ("MultiHeadAttention.v1", {"num_heads": 2, "causal": True}))
    g["nodes"] += [{"id": "n4", "type": "Add.v1", "config": {}},
                   {"id": "n5", "type": "GlobalAvgPool.v1", "config": {}},
                   {"id": "n6", "type": "Dense.v1", "config": {"units": 2, "activation": "softmax"}}]
    g["edges"] += [{"src": "n3", "dst": "n4", "dst_port": 0}, {"src": "n1", "dst": "n4", "dst_port": 1},
                   {"src": "n4", "dst": "n5"}, {"src": "n5", "dst": "n6"}]
    return g


GRAPHS = {
    "tokens": chain(("Input.v1", {"shape": [12]}), ("Embedding.v1", {"vocab_size": 10, "dim": 8}),
                    ("LSTM.v1", {"units": 8}), ("Dense.v1", {"units": 2, "activation": "softmax"})),
    "gru_rnn": chain(("Input.v1", {"shape": [12, 8]}), ("GRU.v1", {"units": 8, "return_sequences": True}),
                     ("SimpleRNN.v1", {"units": 8}), ("Dense.v1", {"units": 2, "activation": "softmax"})),
    "conv1d": chain(("Input.v1", {"shape": [12, 8]}), ("Conv1D.v1", {"filters": 8, "kernel_size": 3, "padding": "same",
                                                                      "activation": "relu"}),
                    ("MaxPool1D.v1", {}), ("AvgPool1D.v1", {"pool_size": 2}), ("Flatten.v1", {}),
                    ("Dense.v1", {"units": 2, "activation": "softmax"})),
    "conv2d": chain(("Input.v1", {"shape": [12, 8]}), ("Reshape.v1", {"shape": [12, 8, 1]}),
                    ("Conv2D.v1", {"filters": 4, "kernel_size": 3, "activation": "relu"}),
                    ("AvgPool2D.v1", {}), ("UpSampling2D.v1", {}), ("BatchNorm.v1", {}),
                    ("MaxPool2D.v1", {}), ("GlobalAvgPool.v1", {}), ("Dense.v1", {"units": 2, "activation": "softmax"})),
    "transformer": transformer(),
    # the layer options of issue #15: the MNIST-1D paper's Conv1d(padding=1), pooling options
    "conv_options": chain(("Input.v1", {"shape": [12, 8]}),
                          ("Conv1D.v1", {"filters": 8, "kernel_size": 3, "padding": "explicit", "pads": [1],
                                         "activation": "relu"}),
                          ("MaxPool1D.v1", {"pool_size": 3, "strides": 2, "ceil_mode": True}),
                          ("AvgPool1D.v1", {"pool_size": 2, "strides": 1, "padding": "explicit", "pads": [1],
                                            "count_include_pad": True}),
                          ("Reshape.v1", {"shape": [7, 8, 1]}),
                          ("Conv2D.v1", {"filters": 4, "kernel_size": 2, "padding": "explicit",
                                         "pads": [0, 1, 1, 0], "activation": "relu"}),
                          ("MaxPool2D.v1", {"pool_size": 2, "strides": 1, "dilation": 2}),
                          ("GlobalMaxPool.v1", {}), ("Dense.v1", {"units": 2, "activation": "softmax"})),
    # the MNIST-1D paper's bidirectional GRU (flattened sequence into Linear), and the other recurrent options
    "bidirectional": chain(("Input.v1", {"shape": [12, 8]}),
                           ("GRU.v1", {"units": 6, "bidirectional": True, "return_sequences": True}),
                           ("ReverseSequence.v1", {}),
                           ("LSTM.v1", {"units": 4, "bidirectional": True, "merge_mode": "sum",
                                        "return_sequences": True}),
                           ("GRU.v1", {"units": 4, "linear_before_reset": False, "return_sequences": True}),
                           ("SimpleRNN.v1", {"units": 4, "bidirectional": True, "return_sequences": True}),
                           ("Flatten.v1", {}), ("Dense.v1", {"units": 2, "activation": "softmax"})),
    "activation_options": chain(("Input.v1", {"shape": [12, 8]}),
                                ("Dense.v1", {"units": 8, "last_axis": True}),
                                ("LeakyReLU.v1", {"negative_slope": 0.1}), ("ELU.v1", {"alpha": 0.5}),
                                ("GELU.v1", {"approximate": "none"}), ("Softmax.v1", {"axis": 1}),
                                ("Flatten.v1", {}), ("Dense.v1", {"units": 2, "activation": "softmax"})),
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(0)
    d = tmp_path_factory.mktemp("families")
    # sequences: the class is whether the first half has a larger mean than the second
    x = rng.standard_normal((300, 12, 8)).astype(np.float32)
    y = (x[:, :6].mean(axis=(1, 2)) > x[:, 6:].mean(axis=(1, 2))).astype(np.int64)
    np.savez(d / "seq.npz", x=x, y=y)
    tokens = rng.integers(0, 10, (300, 12))
    yt = (tokens[:, 0] >= 5).astype(np.int64)
    np.savez(d / "tokens.npz", x=tokens.astype(np.float32), y=yt)
    return d


def test_every_layer_family_is_covered():
    used = {n["type"] for g in GRAPHS.values() for n in g["nodes"]}
    wanted = {c.type_id for c in all_layers() if c.category in ("Convolution", "Pooling", "Recurrent", "Attention",
                                                                   "Normalisation")}
    assert wanted <= used, sorted(wanted - used)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_trains_from_the_cli(name, data, tmp_path):
    graph = tmp_path / f"{name}.json"
    graph.write_text(json.dumps(GRAPHS[name]))
    npz = data / ("tokens.npz" if name == "tokens" else "seq.npz")
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", str(graph), "--data", str(npz),
                        "--epochs", "4", "--batch-size", "16", "--lr", "0.005", "--out", str(tmp_path / "m.nnsp"),
                        *(["--scaling", "none"] if name == "tokens" else [])],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    epochs = [json.loads(l) for l in r.stdout.splitlines() if '"epoch"' in l]
    assert len(epochs) == 4
    assert all(np.isfinite(e["loss"]) for e in epochs)
    assert epochs[-1]["loss"] < epochs[0]["loss"]  # it learns something
