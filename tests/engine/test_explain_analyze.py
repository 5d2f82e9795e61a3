"""The analysis table: parameter and multiply-add counts against hand-computed values, and the warnings."""
import math

import numpy as np
import pytest

from engine.explain import analyze
from engine.model import compile_graph
from engine.spec import sequential
from engine.templates import get_template
from tests.engine.fakes import ArrayDataset


def _col(result, key):
    return [r[key] for r in result["layers"]]


def test_mlp_template_counts_by_hand():
    r = analyze(get_template("mlp").build())
    # Input(2) -> Dense 32 -> Dense 32 -> Dense 3: weights in*out (+ out biases), MACs in*out
    assert _col(r, "params") == [0, 2 * 32 + 32, 32 * 32 + 32, 32 * 3 + 3]
    assert _col(r, "macs") == [0, 2 * 32, 32 * 32, 32 * 3]
    assert r["totals"]["params"] == 1251 and r["totals"]["macs"] == 1184
    assert r["totals"]["trainable"] == 1251 and r["totals"]["non_trainable"] == 0
    assert _col(r, "output_shape") == [[2], [32], [32], [3]]
    # float32 outputs of a batch of 32
    assert _col(r, "activation_bytes") == [4 * 32 * n for n in (2, 32, 32, 3)]


def test_cnn_template_counts_by_hand():
    r = analyze(get_template("cnn").build(), batch_size=64)
    # 28x28x1 -conv3x3x32-> 26x26x32 -pool-> 13x13x32 -conv3x3x64-> 11x11x64 -pool-> 5x5x64 -> 1600 -> 128 -> 10
    assert _col(r, "output_shape") == [[28, 28, 1], [26, 26, 32], [13, 13, 32], [11, 11, 64], [5, 5, 64],
                                       [1600], [128], [10]]
    assert _col(r, "params") == [0, 3 * 3 * 1 * 32 + 32, 0, 3 * 3 * 32 * 64 + 64, 0, 0, 1600 * 128 + 128,
                                 128 * 10 + 10]
    assert _col(r, "macs") == [0, 26 * 26 * 32 * 9 * 1, 0, 11 * 11 * 64 * 9 * 32, 0, 0, 1600 * 128, 128 * 10]
    assert r["totals"]["params"] == 225034
    assert r["totals"]["macs"] == 194688 + 2230272 + 204800 + 1280
    assert r["layers"][1]["activation_bytes"] == 26 * 26 * 32 * 4 * 64


def test_lstm_template_counts_by_hand():
    r = analyze(get_template("lstm").build())
    u, d, L = 64, 64, 50
    assert _col(r, "params") == [0, 10000 * 64, 4 * u * (d + u) + 2 * 4 * u, 64 * 2 + 2]
    # an embedding is a look-up; the LSTM does 4 gate matmuls of (d + u) x u per step
    assert _col(r, "macs") == [0, 0, L * 4 * u * (d + u), 64 * 2]


def test_residual_template_counts_by_hand():
    r = analyze(get_template("residual").build())
    assert r["totals"]["params"] == (16 * 32 + 32) + 2 * (32 * 32 + 32) + (32 * 2 + 2)
    assert r["totals"]["macs"] == 16 * 32 + 2 * 32 * 32 + 32 * 2
    assert [x["type"] for x in r["layers"]].count("Add.v1") == 1


def test_other_layer_families_by_hand():
    spec = sequential([
        ("Input.v1", {"shape": [20, 8]}),
        ("Conv1D.v1", {"filters": 6, "kernel_size": 5, "padding": "same"}),
        ("BatchNorm.v1", {}),
        ("GRU.v1", {"units": 4, "return_sequences": True}),
        ("MultiHeadAttention.v1", {"num_heads": 2}),
        ("LayerNorm.v1", {}),
        ("GlobalAvgPool.v1", {}),
        ("Dense.v1", {"units": 3, "use_bias": False}),
    ])
    r = analyze(spec)
    assert _col(r, "params") == [0, 5 * 8 * 6 + 6, 2 * 6 + 2 * 6, 3 * 4 * (6 + 4) + 2 * 3 * 4,
                                 4 * (4 * 4 + 4), 2 * 4, 0, 4 * 3]
    assert _col(r, "non_trainable") == [0, 0, 2 * 6, 0, 0, 0, 0, 0]
    assert _col(r, "trainable")[2] == 2 * 6
    assert _col(r, "macs") == [0, 20 * 6 * 5 * 8, 20 * 6, 20 * 3 * 4 * (6 + 4),
                               4 * 20 * 4 * 4 + 2 * 20 * 20 * 4, 20 * 4, 0, 4 * 3]


def test_no_data_no_checks_and_the_rows_are_json():
    import json
    r = analyze(get_template("mlp").build())
    assert r["checked"] is None
    assert all(x["warnings"] == [] and x["stats"] == {} for x in r["layers"])
    json.dumps(r)


def _mlp(act="relu", n_in=2, out="softmax"):
    return sequential([("Input.v1", {"shape": [n_in]}), ("Dense.v1", {"units": 8, "activation": act}),
                       ("Dense.v1", {"units": 8, "activation": act}),
                       ("Dense.v1", {"units": 3, "activation": out})])


def _data(n=200, n_in=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_in))
    y = rng.integers(0, 3, n)
    return ArrayDataset(x, y)


def test_dead_relus_are_found_after_training():
    spec = _mlp()
    model = compile_graph(spec)
    nid = model.order[1]
    model.params[nid]["b"][:5] = -100.0   # five of eight units can never fire on N(0, 1) inputs
    r = analyze(spec, model, _data())
    row = r["layers"][1]
    assert row["stats"]["dead_units"] == 5 and row["stats"]["units"] == 8
    assert any("5 of 8 ReLU units are dead" in w for w in row["warnings"])
    assert r["layers"][2]["warnings"] == []
    assert r["checked"]["split"] == "val" and r["checked"]["gradients"]


def test_saturated_tanh_and_the_vanishing_gradient_behind_it():
    spec = _mlp("tanh")
    model = compile_graph(spec, dtype=np.float64)
    first, second = model.order[1], model.order[2]
    model.params[first]["W"] *= 1e4      # |pre-activation| >> 1: tanh saturates, its gradient vanishes
    r = analyze(spec, model, _data())
    row = r["layers"][1]
    assert row["stats"]["saturated_fraction"] > 0.9
    assert any("saturated" in w for w in row["warnings"])
    assert any("vanishing gradient" in w for w in row["warnings"])
    assert not any("vanishing" in w for w in r["layers"][3]["warnings"])
    # the output layer is never flagged as saturated
    assert "saturated_fraction" not in r["layers"][3]["stats"]
    del second


def test_gradient_norms_are_the_models_own_and_explosions_are_flagged():
    spec = sequential([("Input.v1", {"shape": [3]}), ("Dense.v1", {"units": 1})])
    model = compile_graph(spec, dtype=np.float64)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 3)) * 1e4
    y = rng.standard_normal((64, 1))
    r = analyze(spec, model, (x, y), task="regression", batch_size=16)
    assert r["checked"]["gradient_rows"] == 16 and r["checked"]["rows"] == 64
    x, y = x[:16], y[:16]          # one batch: the first batch_size rows
    nid = model.order[1]
    # the same number from the model's own backward pass with the MSE gradient
    pred, back = model.forward_train(x, train=False)
    grads, _ = back(2 * (pred - y) / pred.size)
    want = math.sqrt(sum(float(np.sum(g ** 2)) for g in grads[nid].values()))
    assert r["layers"][1]["stats"]["grad_norm"] == pytest.approx(want, rel=1e-9)
    assert any("exploding gradient" in w for w in r["layers"][1]["warnings"])
    assert r["checked"]["loss_name"] == "mse"
    # the same model with sane inputs: no warning
    r2 = analyze(spec, model, (x * 1e-4, y), task="regression")
    assert r2["layers"][1]["warnings"] == []


def test_x_alone_checks_activations_but_not_gradients():
    spec = _mlp()
    r = analyze(spec, compile_graph(spec), np.zeros((10, 2)))
    assert r["checked"]["gradients"] is False
    assert "dead_units" in r["layers"][1]["stats"]


def test_the_checks_stay_within_the_memory_budget(monkeypatch):
    import sys
    A = sys.modules["engine.explain.analyze"]   # the package exports the function under the same name
    from engine.explain.saliency import per_sample_bytes
    spec = sequential([("Input.v1", {"shape": [16, 16, 3]}),
                       ("Conv2D.v1", {"filters": 32, "kernel_size": 3, "activation": "relu", "padding": "same"}),
                       ("Flatten.v1", {}), ("Dense.v1", {"units": 2, "activation": "softmax"})])
    model = compile_graph(spec)
    per = per_sample_bytes(model)
    # forward values, backprop inputs and gradients of every node, float32
    assert per == 3 * 4 * (16 * 16 * 3 + 16 * 16 * 32 * 2 + 2)
    monkeypatch.setattr(A, "MEMORY_BUDGET", 10 * per + 1)
    assert A.probe_rows(model) == 10
    rng = np.random.default_rng(0)
    r = analyze(spec, model, (rng.standard_normal((100, 16, 16, 3)), rng.integers(0, 2, 100)),
                task="classification")
    assert r["checked"]["rows"] == 10
    monkeypatch.setattr(A, "MEMORY_BUDGET", 1)
    assert A.probe_rows(model) == 1


def test_json_of_an_explanation_has_no_nan():
    import json

    from engine.explain.report import Options, explain, to_json
    from tests.engine.fakes import ArrayDataset
    spec = _mlp("tanh")
    model = compile_graph(spec)
    nid = model.order[1]
    model.params[nid]["W"][0, 0] = np.nan          # a broken model: its numbers are NaN
    rng = np.random.default_rng(0)
    ds = ArrayDataset(rng.standard_normal((40, 2)), rng.integers(0, 3, 40))
    ds.feature_names = ["a", "b"]
    doc = to_json(explain(model, ds, spec, options=Options(repeats=2, steps=4)))
    text = json.dumps(doc, allow_nan=False)
    assert "null" in text
    assert {f["name"] for f in doc["importance"]["features"]} == {"a", "b"}
