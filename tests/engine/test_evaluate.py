"""Evaluation metrics against hand-computed values, misclassified, predict_file."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from engine.evaluate import EvaluateError, evaluate_arrays, misclassified, predict_file, regression_pairs
from engine.io import Project
from engine.model import compile_graph
from engine.spec import sequential


def softmax_model(k=3):
    """Input(k) -> Softmax: feeding log-probabilities returns those probabilities."""
    return compile_graph(sequential([("Input.v1", {"shape": [k]}), ("Softmax.v1", {})]))


def identity_model(k=1):
    m = compile_graph(sequential([("Input.v1", {"shape": [k]}), ("Dense.v1", {"units": k})]))
    m.load_state_dict({"n2/W": np.eye(k, dtype=np.float32), "n2/b": np.zeros(k, np.float32)})
    return m


P = np.array([[0.7, 0.2, 0.1],    # true 0, pred 0
              [0.1, 0.6, 0.3],    # true 1, pred 1
              [0.2, 0.5, 0.3],    # true 2, pred 1 (wrong, conf 0.5)
              [0.05, 0.05, 0.9],  # true 0, pred 2 (wrong, conf 0.9)
              [0.3, 0.3, 0.4]])   # true 2, pred 2
Y = np.array([0, 1, 2, 0, 2])


def test_classification_metrics_by_hand():
    m = softmax_model()
    r = evaluate_arrays(m, np.log(P), Y, task="classification", class_names=["a", "b", "c"])
    ce = -(math.log(0.7) + math.log(0.6) + math.log(0.3) + math.log(0.05) + math.log(0.4)) / 5
    assert r["loss"] == pytest.approx(ce, rel=1e-5)
    assert r["accuracy"] == pytest.approx(3 / 5)
    assert r["confusion"] == [[1, 0, 1], [0, 1, 0], [0, 1, 1]]
    pc = {c["name"]: c for c in r["per_class"]}
    # class a: tp 1, predicted 1, support 2
    assert pc["a"]["precision"] == pytest.approx(1.0) and pc["a"]["recall"] == pytest.approx(0.5)
    assert pc["a"]["f1"] == pytest.approx(2 / 3) and pc["a"]["support"] == 2
    # class b: tp 1, predicted 2, support 1
    assert pc["b"]["precision"] == pytest.approx(0.5) and pc["b"]["recall"] == pytest.approx(1.0)
    # class c: tp 1, predicted 2, support 2
    assert pc["c"]["precision"] == pytest.approx(0.5) and pc["c"]["recall"] == pytest.approx(0.5)
    assert r["macro"]["precision"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert r["macro"]["recall"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert r["macro"]["f1"] == pytest.approx((2 / 3 + 2 / 3 + 0.5) / 3)
    assert r["class_names"] == ["a", "b", "c"]
    json.dumps(r)  # JSON-able


def test_classification_matches_sklearn_and_one_hot_targets():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40, 4)).astype(np.float32)
    y = rng.integers(0, 4, 40)
    m = softmax_model(4)
    r = evaluate_arrays(m, logits, np.eye(4)[y], task="classification")
    pred = logits.argmax(1)
    p, rc, f, s = sk.precision_recall_fscore_support(y, pred, labels=range(4), zero_division=0)
    np.testing.assert_allclose([c["precision"] for c in r["per_class"]], p)
    np.testing.assert_allclose([c["f1"] for c in r["per_class"]], f)
    assert r["confusion"] == sk.confusion_matrix(y, pred, labels=range(4)).tolist()
    probs = m.predict(logits).astype(np.float64)
    probs /= probs.sum(axis=1, keepdims=True)
    assert r["loss"] == pytest.approx(sk.log_loss(y, probs, labels=range(4)), rel=1e-5)


def test_binary_sigmoid_and_logit_outputs():
    sig = compile_graph(sequential([("Input.v1", {"shape": [1]}), ("Sigmoid.v1", {})]))
    z = np.array([[2.0], [-1.0], [0.5]], np.float32)
    r = evaluate_arrays(sig, z, np.array([1, 1, 0]), task="classification")
    p1 = 1 / (1 + np.exp(-z[:, 0].astype(np.float64)))
    assert r["confusion"] == [[0, 1], [1, 1]]
    expected = -(np.log(p1[0]) + np.log(p1[1]) + np.log(1 - p1[2])) / 3
    assert r["loss"] == pytest.approx(expected, rel=1e-5)
    # a model without a final activation: outputs are logits, softmax applied
    lin = identity_model(3)
    r2 = evaluate_arrays(lin, np.log(P).astype(np.float32), Y, task="classification")
    assert r2["accuracy"] == pytest.approx(0.6)
    assert r2["loss"] == pytest.approx(evaluate_arrays(softmax_model(), np.log(P), Y,
                                                       task="classification")["loss"], rel=1e-5)


def test_regression_metrics_by_hand():
    m = identity_model(1)
    x = np.array([[1.0], [2.0], [4.0]], np.float32)
    y = np.array([1.5, 2.0, 3.0])
    r = evaluate_arrays(m, x, y, task="regression")
    err = np.array([-0.5, 0.0, 1.0])
    assert r["mae"] == pytest.approx(0.5)
    assert r["rmse"] == pytest.approx(math.sqrt(np.mean(err ** 2)))
    assert r["loss"] == pytest.approx(np.mean(err ** 2))
    ss_tot = np.sum((y - y.mean()) ** 2)
    assert r["r2"] == pytest.approx(1 - np.sum(err ** 2) / ss_tot)
    r_mae = evaluate_arrays(m, x, y, task="regression", loss="mae")
    assert r_mae["loss"] == pytest.approx(0.5)
    pairs = regression_pairs(m, x, y)
    np.testing.assert_allclose(pairs["pred"][:, 0], x[:, 0])
    np.testing.assert_allclose(pairs["true"][:, 0], y)


def test_misclassified_sorted_by_confidence():
    res = misclassified(softmax_model(), np.log(P), Y, k=16, class_names=["a", "b", "c"])
    assert res["indices"] == [3, 2]
    assert res["true"] == [0, 2] and res["predicted"] == [2, 1]
    assert res["confidence"] == pytest.approx([0.9, 0.5], rel=1e-5)
    assert res["predicted_names"] == ["c", "b"]
    assert misclassified(softmax_model(), np.log(P), Y, k=1)["indices"] == [3]


def test_bad_inputs_give_clear_errors():
    m = softmax_model()
    with pytest.raises(EvaluateError, match="5 samples but 4 targets"):
        evaluate_arrays(m, np.log(P), Y[:4], task="classification")
    with pytest.raises(EvaluateError, match="from 0 to 2"):
        evaluate_arrays(m, np.log(P), np.array([0, 1, 5, 0, 1]), task="classification")
    with pytest.raises(EvaluateError, match="class names"):
        evaluate_arrays(m, np.log(P), Y, task="classification", class_names=["a"])
    with pytest.raises(EvaluateError, match="unknown task"):
        evaluate_arrays(m, np.log(P), Y, task="ranking")


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_predict_file_npz_and_csv_without_preprocessing(tmp_path):
    m = softmax_model()
    proj = Project(graph=m.spec, metadata={"task": "classification", "class_names": ["a", "b", "c"]})
    np.savez(tmp_path / "in.npz", x=np.log(P).astype(np.float32))
    n = predict_file(m, proj, tmp_path / "in.npz", tmp_path / "out.csv")
    rows = _read(tmp_path / "out.csv")
    assert n == 5 and len(rows) == 5
    assert [r["prediction"] for r in rows] == ["a", "b", "b", "c", "c"]
    assert float(rows[0]["prob_a"]) == pytest.approx(0.7, rel=1e-5)
    assert list(rows[0]) == ["row", "prediction", "prob_a", "prob_b", "prob_c"]

    (tmp_path / "in.csv").write_text("u,v,w\n" + "\n".join(",".join(repr(float(v)) for v in r)
                                                           for r in np.log(P)) + "\n")
    n = predict_file(m, proj, tmp_path / "in.csv", tmp_path / "out2.csv")
    rows = _read(tmp_path / "out2.csv")
    assert n == 5 and list(rows[0])[:4] == ["u", "v", "w", "prediction"]
    assert rows[3]["prediction"] == "c"


def test_predict_file_regression_and_errors(tmp_path):
    m = identity_model(1)
    np.savez(tmp_path / "r.npz", x=np.array([[1.0], [2.5]], np.float32))
    proj = Project(graph=m.spec, metadata={"task": "regression"})
    assert predict_file(m, proj, tmp_path / "r.npz", tmp_path / "o.csv") == 2
    assert [float(r["prediction"]) for r in _read(tmp_path / "o.csv")] == [1.0, 2.5]
    with pytest.raises(EvaluateError, match="does not exist"):
        predict_file(m, proj, tmp_path / "nope.csv", tmp_path / "o.csv")
    np.savez(tmp_path / "bad.npz", z=np.zeros((2, 1)))
    with pytest.raises(EvaluateError, match="no array named 'x'"):
        predict_file(m, proj, tmp_path / "bad.npz", tmp_path / "o.csv")
    np.savez(tmp_path / "shape.npz", x=np.zeros((2, 3), np.float32))
    with pytest.raises(EvaluateError, match="expects samples of shape"):
        predict_file(m, proj, tmp_path / "shape.npz", tmp_path / "o.csv")
    with pytest.raises(EvaluateError, match="cannot predict from"):
        predict_file(m, proj, _touch(tmp_path / "a.xyz"), tmp_path / "o.csv")


def _touch(p):
    p.write_text("")
    return p


def test_predict_file_uses_saved_tabular_preprocessing(tmp_path):
    m = softmax_model(2)
    pre = {"kind": "tabular", "version": 1, "task": "classification", "class_names": ["no", "yes"],
           "input_shape": [2], "decimal": ".",
           "columns": [{"name": "a", "type": "numeric", "fill": 0.0, "shift": 1.0, "scale": 2.0},
                       {"name": "b", "type": "numeric", "fill": 5.0, "shift": 0.0, "scale": 1.0}]}
    (tmp_path / "t.csv").write_text("b,a,extra\n1,3,x\n,1,y\n")
    proj = Project(graph=m.spec, preprocessing=pre)
    assert predict_file(m, proj, tmp_path / "t.csv", tmp_path / "o.csv") == 2
    rows = _read(tmp_path / "o.csv")
    # row 1: x = [(3-1)/2, 1] = [1, 1] -> equal probabilities; row 2: [0, 5] -> "yes"
    assert float(rows[0]["prob_no"]) == pytest.approx(0.5, rel=1e-5)
    assert rows[1]["prediction"] == "yes" and rows[1]["extra"] == "y"


def test_predict_file_images_folder_and_single_image(tmp_path):
    from PIL import Image

    m = compile_graph(sequential([("Input.v1", {"shape": [4, 4, 1]}), ("Flatten.v1", {}),
                                  ("Dense.v1", {"units": 2, "activation": "softmax"})]))
    W = np.zeros((16, 2), np.float32)
    W[:, 1] = 4.0  # class "bright" wins for bright images
    m.load_state_dict({"n3/W": W, "n3/b": np.array([2.0, 0.0], np.float32)})
    pre = {"kind": "images", "version": 1, "task": "classification", "class_names": ["dark", "bright"],
           "input_shape": [4, 4, 1], "image_size": [4, 4], "mode": "L", "value_max": 255,
           "scaling": "unit"}
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name, v in [("b.png", 255), ("a.png", 0), ("c.png", 128)]:
        Image.fromarray(np.full((4, 4), v, np.uint8), mode="L").save(folder / name)
    (folder / "notes.txt").write_text("ignored")
    proj = Project(graph=m.spec, preprocessing=pre)
    assert predict_file(m, proj, folder, tmp_path / "o.csv") == 3
    rows = _read(tmp_path / "o.csv")
    assert [r["file"] for r in rows] == ["a.png", "b.png", "c.png"]
    assert [r["prediction"] for r in rows] == ["dark", "bright", "bright"]
    # logits for a.png: [2, 0] -> p(dark) = sigmoid(2)
    assert float(rows[0]["prob_dark"]) == pytest.approx(1 / (1 + math.exp(-2)), rel=1e-5)
    assert predict_file(m, proj, folder / "b.png", tmp_path / "one.csv") == 1
    with pytest.raises(EvaluateError, match="no image files"):
        empty = tmp_path / "empty"
        empty.mkdir()
        predict_file(m, proj, empty, tmp_path / "o.csv")
