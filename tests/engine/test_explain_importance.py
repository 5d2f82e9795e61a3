"""Permutation importance: an informative feature ranks above noise; one-hot columns move together."""
import numpy as np
import pytest

from engine.explain import ExplainError, feature_groups, permutation_importance
from engine.model import compile_graph
from engine.spec import sequential
from engine.trainer import TrainConfig, Trainer
from tests.engine.fakes import ArrayDataset


def _trained_classifier(seed=0):
    rng = np.random.default_rng(seed)
    n = 600
    x = rng.standard_normal((n, 5))
    y = (x[:, 2] > 0).astype(np.int64)          # only feature 2 matters; 0, 1, 3, 4 are pure noise
    ds = ArrayDataset(x, y, val_fraction=0.3, seed=seed)
    spec = sequential([("Input.v1", {"shape": [5]}), ("Dense.v1", {"units": 16, "activation": "relu"}),
                       ("Dense.v1", {"units": 2, "activation": "softmax"})])
    t = Trainer(spec, ds, TrainConfig(epochs=15, batch_size=32, lr=0.01, seed=seed))
    for _ in t.run():
        pass
    return t.model, ds


@pytest.mark.parametrize("metric", ["loss", "accuracy"])
def test_informative_feature_ranks_above_noise(metric):
    model, ds = _trained_classifier()
    x, y = ds.x["val"], ds.y["val"]
    r = permutation_importance(model, x, y, task="classification", metric=metric, repeats=5, seed=1)
    names = [f["name"] for f in r["features"]]
    assert names[0] == "feature 2"
    top, rest = r["features"][0], r["features"][1:]
    assert all(top["importance"] - 3 * top["std"] > f["importance"] + 3 * f["std"] for f in rest)
    assert all(len(f["values"]) == 5 for f in r["features"])
    assert r["rows"] == len(x) and r["repeats"] == 5
    if metric == "accuracy":
        assert 0.5 < r["baseline"] <= 1.0
    # seeded: the same call gives the same numbers
    again = permutation_importance(model, x, y, task="classification", metric=metric, repeats=5, seed=1)
    assert again == r


def test_regression_and_a_feature_the_model_ignores_has_zero_importance():
    spec = sequential([("Input.v1", {"shape": [3]}), ("Dense.v1", {"units": 1})])
    model = compile_graph(spec, dtype=np.float64)
    nid = model.order[1]
    model.params[nid]["W"][:] = [[2.0], [0.0], [-0.5]]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    y = x @ model.params[nid]["W"]
    for metric in ("loss", "mae", "rmse", "r2"):
        r = permutation_importance(model, x, y, task="regression", metric=metric, repeats=3)
        by = {f["name"]: f for f in r["features"]}
        assert [f["name"] for f in r["features"]][0] == "feature 0"
        assert by["feature 1"]["importance"] == 0.0 and by["feature 1"]["std"] == 0.0
        assert by["feature 2"]["importance"] > 0
    with pytest.raises(ExplainError, match="does not fit"):
        permutation_importance(model, x, y, task="regression", metric="accuracy")


def test_groups_follow_the_original_columns_of_one_hot_preprocessing():
    prep = {"kind": "tabular", "columns": [
        {"name": "age", "type": "numeric"},
        {"name": "colour", "type": "categorical", "categories": ["blue", "green", "red"]},
        {"name": "size", "type": "numeric"}]}
    names = ["age", "colour=blue", "colour=green", "colour=red", "size"]
    g = feature_groups(5, prep, names)
    assert g == [{"name": "age", "features": [0]}, {"name": "colour", "features": [1, 2, 3]},
                 {"name": "size", "features": [4]}]
    assert [x["name"] for x in feature_groups(5, prep, names, per="feature")] == names
    assert len(feature_groups(4, prep, None)) == 4          # does not match the model: one per feature


def test_one_hot_column_is_shuffled_as_a_whole():
    """A model that reads a one-hot column through a product of two of its features: shuffling the
    group keeps every row one-hot, so the product stays 0 and the column has no importance; shuffling
    the features one by one would break rows (two ones) and show a spurious effect."""
    spec = sequential([("Input.v1", {"shape": [3]}), ("Dense.v1", {"units": 1, "activation": "relu"})])
    model = compile_graph(spec, dtype=np.float64)
    nid = model.order[1]
    model.params[nid]["W"][:] = [[1.0], [1.0], [0.0]]
    model.params[nid]["b"][:] = [-1.0]                       # relu(a + b - 1) > 0 only if both are 1
    rng = np.random.default_rng(0)
    x = np.eye(3)[rng.integers(0, 3, 200)]
    y = np.zeros((200, 1))
    groups = [{"name": "colour", "features": [0, 1, 2]}]
    r = permutation_importance(model, x, y, task="regression", groups=groups, repeats=4)
    assert r["features"][0]["importance"] == 0.0
    per_feature = permutation_importance(model, x, y, task="regression", repeats=4)
    assert max(f["importance"] for f in per_feature["features"]) > 0


def test_bad_inputs_are_clear():
    model = compile_graph(sequential([("Input.v1", {"shape": [4, 4, 1]}), ("Flatten.v1", {}),
                                      ("Dense.v1", {"units": 2})]))
    with pytest.raises(ExplainError, match="table rows"):
        permutation_importance(model, np.zeros((5, 4, 4, 1)), np.zeros(5), task="classification")
    m2 = compile_graph(sequential([("Input.v1", {"shape": [2]}), ("Dense.v1", {"units": 2})]))
    with pytest.raises(ExplainError, match="at least two rows"):
        permutation_importance(m2, np.zeros((1, 2)), np.zeros(1), task="classification")


def test_the_explain_run_on_a_regression_table():
    from engine.explain.report import Options, explain, to_json
    spec = sequential([("Input.v1", {"shape": [3]}), ("Dense.v1", {"units": 2})])
    model = compile_graph(spec, dtype=np.float64)
    nid = model.order[1]
    model.params[nid]["W"][:] = [[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((80, 3))
    ds = ArrayDataset(x, x @ model.params[nid]["W"], task="regression")
    ds.feature_names = ["a", "b", "c"]
    r = explain(model, ds, spec, options=Options(sample=1, target=1, repeats=3))
    sal = r["saliency"]
    x1 = ds.x["val"][1]
    np.testing.assert_allclose(sal["attributions"], [0.0, 2.0 * x1[1], 0.0], atol=1e-6)   # output 1 = 2·b
    assert [g["name"] for g in sal["groups"]] == ["a", "b", "c"]
    imp = {f["name"]: f["importance"] for f in r["importance"]["features"]}
    assert imp["c"] == 0.0 and imp["b"] > imp["a"] > 0
    assert "unit_maps" not in r                                      # three features: no plane maps
    doc = to_json(r)
    assert doc["sample"]["index"] == 1 and doc["task"] == "regression"
