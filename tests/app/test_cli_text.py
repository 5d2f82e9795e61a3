"""Text classification from the command line (issue 12): the LSTM template fitted to a text sample or
a CSV of sentences, trained, evaluated and asked about a raw sentence."""
import csv
import json

import pytest

from tests.app.test_cli import run


@pytest.fixture(scope="module")
def sentiment_project(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_text")
    g = d / "g.json"
    r = run("template", "lstm", "--data", "sample:sentiment", "--out", g)
    assert r.returncode == 0, r.stderr
    assert "vocab_size 10000 →" in r.stderr
    out = d / "p.nnsp"
    t = run("train", g, "--data", "sample:sentiment", "--epochs", "4", "--lr", "0.01", "--batch-size", "32",
            "--out", out)
    assert t.returncode == 0, t.stderr
    return d, out, [json.loads(line) for line in t.stdout.splitlines()]


def test_the_lstm_template_learns_the_text_sample(sentiment_project):
    _d, _out, lines = sentiment_project
    epochs = [e for e in lines if "epoch" in e]
    assert len(epochs) == 4 and epochs[-1]["val_accuracy"] > 0.8
    assert epochs[-1]["loss"] < epochs[0]["loss"]


def test_predict_a_raw_sentence(sentiment_project):
    _d, out, _ = sentiment_project
    for row in (["the acting was absolutely brilliant, highly recommended."],
                ["text=the acting was absolutely brilliant, highly recommended."]):
        r = run("predict", out, "--row", *row)
        assert r.returncode == 0, r.stderr
        res = json.loads(r.stdout)
        assert res["prediction"] == "positive" and set(res["probabilities"]) == {"negative", "positive"}
    bad = run("predict", out, "--row", "review=hello", "--row", "x=1")
    assert bad.returncode == 1 and "unknown column(s): review, x" in bad.stderr
    both = run("predict", out, "--row", "hi", "--data", "x.csv")
    assert both.returncode == 1 and "not both" in both.stderr
    neither = run("predict", out)
    assert neither.returncode == 1 and "--row" in neither.stderr


def test_predict_and_evaluate_a_csv_of_sentences(sentiment_project, tmp_path):
    _d, out, _ = sentiment_project
    src = tmp_path / "new.csv"
    src.write_text("text,class\nthe story was superb!,positive\nthe ending was very dull, a waste of time.,negative\n"
                   ",negative\n", encoding="utf-8")
    # a cell with a comma needs quotes: rewrite it properly
    with open(src, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["text", "class"], ["the story was superb!", "positive"],
                                 ["the ending was very dull, a waste of time.", "negative"], ["", "negative"]])
    pred = tmp_path / "pred.csv"
    r = run("predict", out, "--data", src, "--out", pred)
    assert r.returncode == 0, r.stderr
    with open(pred, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["prediction"] for r in rows[:2]] == ["positive", "negative"] and len(rows) == 3
    e = run("evaluate", out, "--data", src)
    assert e.returncode == 0, e.stderr
    assert json.loads(e.stdout)["n"] == 3


def test_text_flags(tmp_path):
    src = tmp_path / "reviews.csv"
    rows = [["id", "review", "label"]] + [[str(i), f"review number {i} was {'good' if i % 2 else 'bad'}",
                                           "pos" if i % 2 else "neg"] for i in range(40)]
    with open(src, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    g = tmp_path / "g.json"
    r = run("template", "lstm", "--data", src, "--text-columns", "review", "--features", "review",
            "--text-mode", "char", "--text-max-len", "12", "--text-vocab", "10", "--out", g)
    assert r.returncode == 0, r.stderr
    graph = json.loads(g.read_text())
    assert graph["nodes"][0]["config"]["shape"] == [12] and graph["nodes"][1]["config"]["vocab_size"] == 10
    left = run("template", "lstm", "--data", src, "--out", g)
    assert left.returncode == 0 and "name it in --text-columns" in left.stderr      # beside the id column
    missing = run("template", "lstm", "--data", src, "--text-columns", "nope", "--out", g)
    assert missing.returncode == 1 and "text column(s) not found: nope" in missing.stderr
    bad = run("template", "lstm", "--data", src, "--text-columns", "review", "--text-mode", "bpe")
    assert bad.returncode == 2


def test_predict_row_needs_a_table_model(tmp_path):
    from engine.io import Project, save_project
    from engine.model import compile_graph
    from engine.spec import sequential

    graph = sequential([("Input.v1", {"shape": [8, 8, 1]}), ("Flatten.v1", {}),
                        ("Dense.v1", {"units": 2, "activation": "softmax"})])
    pre = {"version": 1, "kind": "images", "task": "classification", "class_names": ["a", "b"],
           "image_size": [8, 8], "mode": "L", "input_shape": [8, 8, 1], "value_max": 255.0, "scaling": "none"}
    p = tmp_path / "img.nnsp"
    save_project(p, Project(graph=graph, weights=compile_graph(graph).state_dict(), preprocessing=pre))
    r = run("predict", p, "--row", "hello")
    assert r.returncode == 1 and "not trained on a table" in r.stderr
