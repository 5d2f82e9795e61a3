"""``python main.py template``: list the templates, write one fitted to a data set."""
import json

from tests.app.test_cli import run


def test_template_list_names_every_template():
    r = run("template", "--list")
    assert r.returncode == 0, r.stderr
    keys = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    assert {"mlp", "cnn", "lstm", "residual"} <= set(keys)


def test_template_fitted_to_a_csv_trains(tmp_path):
    csv = tmp_path / "d.csv"
    rows = ["a,b,c,d,e,label"] + [f"{i},{i * 2 % 7},{i % 3},{i % 5},{(i * 7) % 11},{i % 2}" for i in range(60)]
    csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "g.json"
    r = run("template", "mlp", "--data", csv, "--target", "label", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "2 → 5" in r.stderr  # says what it changed
    graph = json.loads(out.read_text())
    by_type = [n for n in graph["nodes"]]
    assert by_type[0]["config"]["shape"] == [5]
    assert by_type[-1]["config"]["units"] == 2 and by_type[-1]["config"]["activation"] == "softmax"
    t = run("train", out, "--data", csv, "--target", "label", "--epochs", "2", "--out", tmp_path / "p.nnsp")
    assert t.returncode == 0, t.stderr


def test_template_without_data_prints_json_and_errors_are_one_line():
    r = run("template", "residual")
    assert r.returncode == 0 and json.loads(r.stdout)["nodes"]
    bad = run("template", "nope")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "mlp" in bad.stderr
    none = run("template")
    assert none.returncode == 1 and "--list" in none.stderr
