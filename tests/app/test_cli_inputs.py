"""A table with a text field feeding two Inputs, from the command line (issue 12): the text_table
template fitted with --inputs, trained, then predicted from raw rows and a CSV."""
import csv
import json

from tests.app.test_cli import run
from tests.engine.test_data_inputs import table

INPUTS = "num=stars,price;text=review"


def test_two_inputs_train_and_predict_from_raw_rows(tmp_path):
    src = tmp_path / "t.csv"
    table(160).to_csv(src, index=False)
    g, p = tmp_path / "g.json", tmp_path / "p.nnsp"
    r = run("template", "text_table", "--data", src, "--target", "buy", "--inputs", INPUTS, "--out", g)
    assert r.returncode == 0, r.stderr
    assert "Input 'num' shape 4 → 2" in r.stderr and "vocab_size 10000 →" in r.stderr
    t = run("train", g, "--data", src, "--target", "buy", "--inputs", INPUTS, "--epochs", "6", "--lr", "0.01",
            "--batch-size", "16", "--out", p)
    assert t.returncode == 0, t.stderr
    last = [json.loads(line) for line in t.stdout.splitlines() if '"epoch"' in line][-1]
    assert last["val_accuracy"] > 0.8
    yes = run("predict", p, "--row", "stars=5", "--row", "price=9.5", "--row", "review=a great film seen today")
    no = run("predict", p, "--row", "stars=1", "--row", "price=11", "--row", "review=a dull film")
    assert yes.returncode == 0 and no.returncode == 0, yes.stderr + no.stderr
    assert json.loads(yes.stdout)["prediction"] == "yes" and json.loads(no.stdout)["prediction"] == "no"
    out = tmp_path / "pred.csv"
    f = run("predict", p, "--data", src, "--out", out)
    assert f.returncode == 0, f.stderr
    with open(out, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 160 and sum(r["prediction"] == r["buy"] for r in rows) > 140
    e = run("evaluate", p)
    assert e.returncode == 0, e.stderr


def test_bad_groups_are_one_line(tmp_path):
    src = tmp_path / "t.csv"
    table(40).to_csv(src, index=False)
    g = tmp_path / "g.json"
    r = run("template", "text_table", "--data", src, "--target", "buy", "--inputs", "num=stars,nope;text=review",
            "--out", g)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "input 'num': column(s) not found: nope" in r.stderr
    r = run("template", "text_table", "--data", src, "--target", "buy", "--inputs", "num", "--out", g)
    assert r.returncode == 1 and "must be groups such as" in r.stderr
    # the graph's Input names must be the groups' names
    r = run("template", "text_table", "--data", src, "--target", "buy", "--inputs", "a=stars,price;text=review")
    assert r.returncode == 1 and "name one Input layer after each input" in r.stderr
