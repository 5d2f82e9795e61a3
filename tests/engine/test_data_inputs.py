"""Several inputs (issue 12): CSV column groups per Input name, .npz x_<name> arrays, a two-Input model
(Embedding+LSTM branch concatenated with a Dense branch) trained, evaluated and predicted from raw rows."""
import json

import numpy as np
import pandas as pd
import pytest

from engine.data import DataError, DataSpec, Preprocessor, load_dataset
from engine.data.spec import parse_inputs
from engine.errors import UserError


def table(n=120, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        stars, good = int(rng.integers(1, 6)), bool(rng.random() < 0.5)
        rows.append({"stars": stars, "price": float(rng.normal(10, 3)),
                     "review": ("a great film " if good else "a dull film ") + f"seen on day {i}",
                     "buy": "yes" if (good and stars > 2) else "no"})
    return pd.DataFrame(rows)


@pytest.fixture
def csv_path(tmp_path):
    p = tmp_path / "t.csv"
    table().to_csv(p, index=False)
    return str(p)


def test_column_groups_become_named_inputs(csv_path):
    spec = DataSpec.parse_cli(csv_path, target="buy", inputs="num=stars,price; text=review")
    assert spec.inputs == {"num": ["stars", "price"], "text": ["review"]}
    ds = load_dataset(spec)
    assert set(ds.input_shapes) == {"num", "text"} and ds.input_shapes["num"] == (2,)
    x, y = ds.get_batch("train", np.arange(5))
    assert set(x) == {"num", "text"} and x["num"].shape == (5, 2) and x["text"].dtype == np.float32
    assert ds.preprocessing["columns"][2]["type"] == "text"              # detected in its own group
    pre = Preprocessor.from_dict(json.loads(json.dumps(ds.preprocessing)))
    raw = table().iloc[ds.split_indices["val"]].astype(object)
    got = pre.transform_frame(raw)
    for k in ("num", "text"):
        np.testing.assert_array_equal(got[k], ds.x_val[k])
    assert ds.summary()["input_shapes"] == {"num": [2], "text": list(ds.input_shapes["text"])}
    again = DataSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec


@pytest.mark.parametrize("inputs, message", [
    ({"num": ["stars", "nope"]}, "input 'num': column\\(s\\) not found: nope"),
    ({"num": ["stars", "buy"]}, "column 'buy' is the target"),
])
def test_a_group_naming_a_missing_column_or_the_target(csv_path, inputs, message):
    with pytest.raises(DataError, match=message):
        load_dataset(DataSpec(kind="csv", path=csv_path, target="buy", inputs=inputs))


def test_features_outside_every_group_are_refused(csv_path):
    with pytest.raises(DataError, match="feature column\\(s\\) in no input: price"):
        load_dataset(DataSpec(kind="csv", path=csv_path, target="buy", features=["stars", "price"],
                              inputs={"num": ["stars"]}))


@pytest.mark.parametrize("text, message", [
    ("num", "must be groups such as"), ("=a", "must be groups such as"), ("a=x;a=y", "given twice"), ("a=x;b=x", "in two inputs"),
    ("a=", "one or more columns"),
])
def test_bad_inputs_text(text, message):
    with pytest.raises(DataError, match=message):
        parse_inputs(text)


def two_input_graph(num_shape, text_shape, vocab):
    from engine.templates import text_and_numbers

    g = text_and_numbers()
    ids = {n.label: n.id for n in g.nodes}
    g = g.set_config(ids["num"], shape=list(num_shape)).set_config(ids["text"], shape=list(text_shape))
    emb = next(n.id for n in g.nodes if n.type == "Embedding.v1")
    return g.set_config(emb, vocab_size=vocab)


def test_a_two_input_model_trains_and_predicts_raw_rows(csv_path):
    from engine.evaluate import predict_rows
    from engine.fit import fit_problems, fit_to_data
    from engine.io import Project
    from engine.jobs import evaluate, trained_model
    from engine.templates import text_and_numbers
    from engine.trainer import TrainConfig, Trainer, TrainFinished

    spec = DataSpec(kind="csv", path=csv_path, target="buy", inputs={"num": ["stars", "price"], "text": ["review"]})
    ds = load_dataset(spec)
    fitted = fit_to_data(text_and_numbers(), ds)
    assert not fitted.problems and fit_problems(fitted.spec, ds.summary()) == []
    shapes = {n.label: n.config.get("shape") for n in fitted.spec.nodes if n.type == "Input.v1"}
    assert shapes == {"num": [2], "text": list(ds.input_shapes["text"])}
    state = None
    for ev in Trainer(fitted.spec, ds, TrainConfig(epochs=6, batch_size=16, lr=0.01)).run():
        if isinstance(ev, TrainFinished):
            state = ev.state
    project = Project(graph=fitted.spec, weights=state, preprocessing=ds.preprocessing, data_spec=spec.to_dict())
    res = evaluate(fitted.spec, state, spec, preprocessing=ds.preprocessing, split="val")
    assert res["metrics"]["accuracy"] > 0.8
    model = trained_model(fitted.spec, state)
    out = predict_rows(model, project, [{"stars": "5", "price": "9.5", "review": "a great film seen today"},
                                        {"stars": "1", "price": "12", "review": "a dull film"}])
    assert [o["prediction"] for o in out] == ["yes", "no"]


def test_input_names_must_match_the_graph(csv_path):
    from engine.fit import fit_problems, fit_to_data
    from engine.trainer import TrainConfig, Trainer, TrainError

    ds = load_dataset(DataSpec(kind="csv", path=csv_path, target="buy",
                               inputs={"numbers": ["stars", "price"], "text": ["review"]}))
    g = two_input_graph((2,), ds.input_shapes["text"], 500)
    assert any("name one Input layer after each input" in p for p in fit_problems(g, ds.summary()))
    assert fit_to_data(g, ds).problems
    with pytest.raises(TrainError, match="no data for the Input layer\\(s\\) num"):
        Trainer(g, ds, TrainConfig(epochs=1))
    one = load_dataset(DataSpec(kind="csv", path=csv_path, target="buy", features=["stars", "price"]))
    with pytest.raises(TrainError, match="the data has one input"):
        Trainer(g, one, TrainConfig(epochs=1))


def test_npz_named_arrays_feed_named_inputs(tmp_path):
    from engine.evaluate import EvaluateError, predict_file
    from engine.io import Project
    from engine.trainer import TrainConfig, Trainer, TrainFinished

    rng = np.random.default_rng(0)
    n = 200
    y = rng.integers(0, 2, n)
    x_num = (rng.normal(size=(n, 2)) + y[:, None]).astype(np.float32)
    x_text = np.where(rng.random((n, 6)) < 0.5, 2 + y[:, None], rng.integers(4, 20, (n, 6))).astype(np.int64)
    path = tmp_path / "two.npz"
    np.savez(path, x_num=x_num, x_text=x_text, y=y, class_names=np.array(json.dumps(["no", "yes"])))
    ds = load_dataset(DataSpec.parse_cli(str(path)))
    assert ds.input_shapes == {"num": (2,), "text": (6,)} and ds.class_names == ["no", "yes"]
    assert ds.preprocessing["kind"] == "arrays"
    g = two_input_graph((2,), (6,), 20)
    state = None
    for ev in Trainer(g, ds, TrainConfig(epochs=4, batch_size=16, lr=0.01)).run():
        if isinstance(ev, TrainFinished):
            state = ev.state
    project = Project(graph=g, weights=state, preprocessing=ds.preprocessing)
    from engine.jobs import trained_model

    model = trained_model(g, state)
    out = tmp_path / "pred.csv"
    assert predict_file(model, project, path, out) == n
    lines = out.read_text().splitlines()
    assert lines[0].startswith("row,prediction,prob_no,prob_yes")
    # an npz missing an x_<name> for an Input
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_num=x_num, y=y)
    with pytest.raises(EvaluateError, match="no array 'x_text' for the Input 'text'"):
        predict_file(model, project, bad, tmp_path / "p2.csv")
    with pytest.raises(DataError, match="no array 'x_text' for the Input 'text'"):
        load_dataset(DataSpec.parse_cli(str(bad)), preprocessing=ds.preprocessing)
    one = load_dataset(DataSpec.parse_cli(str(bad)))
    with pytest.raises(UserError, match="no data for the Input layer\\(s\\) text"):
        Trainer(g, one, TrainConfig(epochs=1))


@pytest.mark.parametrize("arrays, message", [
    (dict(x_a=np.zeros((4, 2)), x_b=np.zeros((3, 2)), y=np.arange(4) % 2), "'x_b' has 3 rows but 'y' has 4"),
    (dict(x_a=np.zeros(4), y=np.arange(4) % 2), "'x_a' must be a numeric array of shape"),
    (dict(x_a=np.full((4, 2), np.nan), y=np.arange(4) % 2), "NaN or infinite"),
    (dict(x_=np.zeros((4, 2)), y=np.arange(4) % 2), "needs an input name"),
])
def test_bad_named_npz(tmp_path, arrays, message):
    path = tmp_path / "b.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message):
        load_dataset(DataSpec.parse_cli(str(path)))


def test_the_training_process_hand_over_keeps_named_inputs(tmp_path, csv_path):
    from engine.train_process import ArrayDataset, export_dataset

    ds = load_dataset(DataSpec(kind="csv", path=csv_path, target="buy",
                               inputs={"num": ["stars", "price"], "text": ["review"]}))
    desc = export_dataset(ds, tmp_path)
    child = ArrayDataset(tmp_path, json.loads(json.dumps(desc)))
    assert child.input_shapes == ds.input_shapes
    x, y = child.get_batch("train", np.arange(4))
    want, wy = ds.get_batch("train", np.arange(4))
    for k in want:
        np.testing.assert_array_equal(x[k], want[k])
    np.testing.assert_array_equal(y, wy)


def test_analyze_takes_named_inputs_and_explain_says_it_cannot(csv_path):
    from engine.explain import ExplainError
    from engine.explain.analyze import analyze
    from engine.explain.report import explain
    from engine.jobs import trained_model

    ds = load_dataset(DataSpec(kind="csv", path=csv_path, target="buy",
                               inputs={"num": ["stars", "price"], "text": ["review"]}))
    g = two_input_graph((2,), ds.input_shapes["text"], 500)
    from engine.model import compile_graph

    model = compile_graph(g)
    model = trained_model(g, model.state_dict())
    rows = analyze(g, model, ds, task="classification")
    assert len(rows["layers"]) == 7 and rows["checked"] is not None   # the data checks ran on named inputs
    with pytest.raises(ExplainError, match="one Input layer; this one has 2 \\(num, text\\)"):
        explain(model, ds, g)
