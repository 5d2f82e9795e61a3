"""Free-text CSV columns as features (issue 12): detection, the tokenizer fitted on the training
rows and saved in the preprocessing, predict/evaluate applying it, bad input, the text samples."""
import json

import numpy as np
import pandas as pd
import pytest

from engine.data import DataError, DataSpec, Preprocessor, load_dataset
from engine.data.dataset import text_summary
from engine.data.text import OOV, PAD, TextVocab, looks_like_text, may_be_text

REVIEWS = ["a great and moving film", "the plot was dull and slow", "what a wonderful cast this is",
           "boring from start to end", "i loved every minute of it", "the worst script in years"]


def _csv(tmp_path, df, name="reviews.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return str(path)


def _reviews(n=60, extra=None):
    rows = [{"review": f"{REVIEWS[i % len(REVIEWS)]} number {i}", "label": "pos" if i % 2 == 0 else "neg"}
            for i in range(n)]
    df = pd.DataFrame(rows)
    if extra:
        for k, v in extra.items():
            df.insert(0, k, v)
    return df


def test_detection_free_text_categorical_and_identifiers():
    assert looks_like_text([f"this is sentence {i}" for i in range(20)])
    assert looks_like_text([f"这部电影很好看{i}" for i in range(20)])             # CJK: a character is a word
    assert not looks_like_text(["New York City", "Los Angeles area", "New York City"] * 10)   # few values
    assert not looks_like_text([f"user_{i}" for i in range(100)])                # identifiers: one word each
    assert not looks_like_text([f"a{i}.b@example.com" for i in range(100)])
    assert not looks_like_text(["one two three", None])
    assert may_be_text(5, 10) and not may_be_text(4, 4) and not may_be_text(20, 100) and may_be_text(1001, 10**6)


def test_a_text_column_becomes_token_ids_fitted_on_training_rows(tmp_path):
    df = _reviews()
    df.loc[df.index[-1], "review"] = "zebra zebra"        # a word only some split may have
    ds = load_dataset(DataSpec(kind="csv", path=_csv(tmp_path, df), target="label", seed=3))
    col, = ds.preprocessing["columns"]
    assert col["type"] == "text" and ds.preprocessing["version"] == 2
    vocab = TextVocab.from_dict(col["tokenizer"])
    assert ds.input_shape == (vocab.max_len,) and ds.feature_names[0] == "review[1]"
    train_rows = ds.split_indices["train"]
    train_tokens = {t for i in train_rows for t in df["review"].iloc[i].split()}
    assert set(vocab.tokens) == train_tokens                  # fitted on the training rows only
    np.testing.assert_array_equal(ds.x_train, vocab.encode(list(df["review"].iloc[train_rows])))
    assert ds.x_train.dtype == np.float32
    # saved as JSON, applied by predict exactly
    pre = Preprocessor.from_dict(json.loads(json.dumps(ds.preprocessing)))
    raw = df.iloc[ds.split_indices["val"]][["review"]].astype(object)
    np.testing.assert_array_equal(pre.transform_frame(raw), ds.x_val)
    # the summary the data panel shows
    (t,) = ds.summary()["text_columns"]
    assert t["name"] == "review" and t["vocab_size"] == vocab.vocab_size and t["oov_rate_train"] == 0.0
    assert t["mode"] == "word" and t["mean_length"] > 0 and ds.summary()["vocab_size"] == vocab.vocab_size


def test_evaluating_new_data_applies_the_saved_tokenizer(tmp_path):
    ds = load_dataset(DataSpec(kind="csv", path=_csv(tmp_path, _reviews()), target="label"))
    new = pd.DataFrame({"review": ["a great unseenword film", ""], "label": ["pos", "neg"]})
    ds2 = load_dataset(DataSpec(kind="csv", path=_csv(tmp_path, new, "new.csv"), target="label", val_split=0.0),
                       preprocessing=ds.preprocessing)
    vocab = TextVocab.from_dict(ds.preprocessing["columns"][0]["tokenizer"])
    x = np.concatenate([ds2.x_train, ds2.x_val])[np.argsort(np.concatenate(
        [ds2.split_indices["train"], ds2.split_indices["val"]]))]
    np.testing.assert_array_equal(x, vocab.encode(["a great unseenword film", ""]))
    assert x[0, 2] == OOV and (x[1] == PAD).all()


def test_settings_mode_cap_and_length(tmp_path):
    path = _csv(tmp_path, _reviews())
    ds = load_dataset(DataSpec(kind="csv", path=path, target="label", text_mode="char", text_vocab=10,
                               text_max_len=7))
    tok = ds.preprocessing["columns"][0]["tokenizer"]
    assert tok["mode"] == "char" and len(tok["tokens"]) == 8 and ds.input_shape == (7,)
    reasons = " | ".join(r["reason"] for r in ds.report)
    assert "most frequent are kept" in reasons and "cut after 7 tokens" in reasons


def test_a_million_distinct_tokens_are_capped_with_a_note(tmp_path):
    rng = np.random.default_rng(0)
    words = rng.integers(0, 10**9, size=(2000, 60))
    df = pd.DataFrame({"t": [" ".join(f"w{v}" for v in row) for row in words], "y": ["a", "b"] * 1000})
    ds = load_dataset(DataSpec(kind="csv", path=_csv(tmp_path, df), target="y", text_vocab=5000))
    note = next(r for r in ds.report if "distinct tokens" in r["reason"])
    assert note["count"] > 90_000 and note["column"] == "t"
    assert ds.preprocessing["columns"][0]["tokenizer"]["report"]["oov_rate_val"] > 0.9
    assert int(ds.x_train.max()) == 4999


def test_empty_text_cells_are_padding_with_a_note(tmp_path):
    df = _reviews()
    df.loc[[3, 7], "review"] = ""
    ds = load_dataset(DataSpec(kind="csv", path=_csv(tmp_path, df), target="label", missing="drop"))
    assert sum(len(v) for v in ds.split_indices.values()) == len(df)     # not dropped as missing
    note = next(r for r in ds.report if "empty text cells" in r["reason"])
    assert note["count"] == 2


def test_choosing_text_columns(tmp_path):
    df = _reviews(extra={"age": np.arange(60.0), "city": ["x", "y", "z"] * 20})
    path = _csv(tmp_path, df)
    auto = load_dataset(DataSpec(kind="csv", path=path, target="label"))
    assert [c["name"] for c in auto.preprocessing["columns"]] == ["city", "age"]   # text beside others: left out
    assert any(r.get("column") == "review" and "free-text" in r["reason"] for r in auto.report)
    chosen = load_dataset(DataSpec(kind="csv", path=path, target="label", text_columns=["review"]))
    types = {c["name"]: c["type"] for c in chosen.preprocessing["columns"]}
    assert types == {"city": "categorical", "age": "numeric", "review": "text"}
    assert chosen.input_shape == (3 + 1 + chosen.preprocessing["columns"][2]["tokenizer"]["max_len"],)
    none = load_dataset(DataSpec(kind="csv", path=path, target="label", text_columns=[], features=["review"]))
    assert none.preprocessing["columns"][0]["type"] == "categorical"           # [] : no text columns


@pytest.mark.parametrize("kw, message", [
    (dict(text_columns=["nope"]), "text column\\(s\\) not found: nope"),
    (dict(text_columns=["label"]), "both the target and a text column"),
    (dict(text_columns=["review"], features=["age"]), "not among the feature columns"),
])
def test_bad_text_column_choices(tmp_path, kw, message):
    path = _csv(tmp_path, _reviews(extra={"age": np.arange(60.0)}))
    with pytest.raises(DataError, match=message):
        load_dataset(DataSpec(kind="csv", path=path, target="label", **kw))


def test_an_empty_chosen_text_column_is_refused(tmp_path):
    df = _reviews(extra={"note": [""] * 60})
    with pytest.raises(DataError, match="column 'note': the training texts are all empty"):
        load_dataset(DataSpec(kind="csv", path=_csv(tmp_path, df), target="label", text_columns=["note"],
                              features=["note"]))


@pytest.mark.parametrize("kw, message", [
    (dict(text_mode="bpe"), "unknown text tokenization"), (dict(text_vocab=2), "vocabulary size"),
    (dict(text_max_len=0), "sequence length"), (dict(text_max_len=10_000), "sequence length"),
    (dict(text_columns="review"), "list of column names"),
])
def test_dataspec_text_settings_are_checked(kw, message):
    with pytest.raises(DataError, match=message):
        DataSpec(kind="csv", path="x.csv", **kw).validate()


def test_dataspec_text_settings_round_trip_and_cli():
    s = DataSpec.parse_cli("x.csv", text_columns="review, title", text_mode="word", text_vocab=500, text_max_len=40)
    assert s.text_columns == ["review", "title"]
    again = DataSpec.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again == s


def test_a_damaged_saved_tokenizer_is_refused_on_load():
    pre = {"kind": "tabular", "version": 2, "task": "classification", "class_names": ["a", "b"],
           "columns": [{"name": "t", "type": "text", "tokenizer": {"mode": "word", "tokens": "ab", "max_len": 3}}],
           "input_shape": [3]}
    with pytest.raises(DataError, match="damaged"):
        Preprocessor.from_dict(pre)
    with pytest.raises(DataError, match="newer version"):
        Preprocessor.from_dict({**pre, "version": 3})


@pytest.mark.parametrize("name, mode, classes", [("sentiment", "word", ["negative", "positive"]),
                                                 ("sentiment_zh", "char", ["正面", "负面"])])
def test_text_samples(name, mode, classes):
    ds = load_dataset(DataSpec(kind="sample", path=name))
    assert ds.class_names == classes and ds.task == "classification"
    assert ds.preprocessing["columns"][0]["tokenizer"]["mode"] == mode
    assert sum(ds.n(s) for s in ("train", "val", "test")) == 800


def test_the_text_samples_are_what_the_script_generates():
    import importlib.util

    from engine.data.samples import samples_dir, text_sample_frame

    spec = importlib.util.spec_from_file_location("make_text_samples", samples_dir() / "make_text_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, lang, seed in (("sentiment", mod.EN, 12), ("sentiment_zh", mod.ZH, 13)):
        rows = mod.make(lang, seed)
        assert rows == mod.make(lang, seed)                                   # deterministic
        df = text_sample_frame(name)
        assert list(df.columns) == ["text", "class"]
        assert list(zip(df["text"], df["class"])) == rows


def test_fit_to_data_sizes_the_embedding_and_permutation_groups(tmp_path):
    from engine.explain.importance import feature_groups
    from engine.fit import fit_problems, fit_to_data
    from engine.templates import get_template

    ds = load_dataset(DataSpec(kind="sample", path="sentiment"))
    vocab = ds.summary()["vocab_size"]
    spec = get_template("lstm").build()
    res = fit_to_data(spec, ds)
    emb = next(n for n in res.spec.nodes if n.type == "Embedding.v1")
    assert emb.config["vocab_size"] == vocab and not res.problems
    assert any("vocab_size 10000 →" in c for c in res.changes)
    small = res.spec.set_config(emb.id, vocab_size=5)
    assert any("set its vocab_size to" in p for p in fit_problems(small, ds.summary()))
    assert fit_problems(res.spec, ds.summary()) == []
    groups = feature_groups(ds.input_shape[0], ds.preprocessing)
    assert groups == [{"name": "text", "features": list(range(ds.input_shape[0]))}]
    assert text_summary(ds.preprocessing)[0]["name"] == "text"


def test_predict_rows_tokenises_a_raw_sentence():
    from engine.evaluate import EvaluateError, predict_rows
    from engine.fit import fit_to_data
    from engine.io import Project
    from engine.jobs import trained_model
    from engine.templates import get_template
    from engine.trainer import TrainConfig, Trainer

    ds = load_dataset(DataSpec(kind="sample", path="sentiment"))
    spec = fit_to_data(get_template("lstm").build(), ds).spec
    tr = Trainer(spec, ds, TrainConfig(epochs=1, batch_size=64))
    for _ in tr.run():
        pass
    project = Project(graph=spec, weights=tr.model.state_dict(), preprocessing=ds.preprocessing)
    model = trained_model(spec, project.weights)
    out = predict_rows(model, project, [{"text": "the plot was not boring at all"}, {"text": ""}])
    assert [sorted(o["probabilities"]) for o in out] == [["negative", "positive"]] * 2
    assert abs(sum(out[0]["probabilities"].values()) - 1) < 1e-6
    x = Preprocessor.from_dict(ds.preprocessing).transform_frame(pd.DataFrame({"text": ["the plot was not boring at all"]}))
    p = model.predict(x)[0]
    assert out[0]["probabilities"]["positive"] == pytest.approx(float(p[1]), rel=1e-6)
    with pytest.raises(EvaluateError, match="unknown column"):
        predict_rows(model, project, [{"review": "x"}])


def test_detected_text_beside_other_features_is_read_as_before(tmp_path):
    # few rows: not identifier-like, so one-hot as before text columns existed, with a note
    df = _reviews(n=30, extra={"age": np.arange(30.0)})
    ds = load_dataset(DataSpec(kind="csv", path=_csv(tmp_path, df), target="label"))
    types = {c["name"]: c["type"] for c in ds.preprocessing["columns"]}
    assert types == {"age": "numeric", "review": "categorical"}
    assert any("one-hot encoded by value" in r["reason"] for r in ds.report)


def test_the_export_metadata_carries_the_tokenizer(tmp_path):
    from engine.export import export_project
    from engine.fit import fit_to_data
    from engine.io import Project
    from engine.model import compile_graph
    from engine.templates import get_template

    ds = load_dataset(DataSpec(kind="sample", path="sentiment_zh"))
    spec = fit_to_data(get_template("lstm").build(), ds).spec
    project = Project(graph=spec, weights=compile_graph(spec).state_dict(), preprocessing=ds.preprocessing)
    export_project(project, "npz", tmp_path / "m.npz")
    meta = json.loads((tmp_path / "m.npz.json").read_text(encoding="utf-8"))
    vocab = TextVocab.from_dict(meta["preprocessing"]["columns"][0]["tokenizer"])
    x = Preprocessor.from_dict(ds.preprocessing).transform_frame(pd.DataFrame({"text": ["这部电影非常精彩！"]}))
    np.testing.assert_array_equal(vocab.encode(["这部电影非常精彩！"]), x)
