"""CSV import: sniffing, typing, preprocessing fitted on train, errors, round trip."""
import os

import numpy as np
import pandas as pd
import pytest

from engine.data import DataError, DataSpec, Preprocessor, load_dataset, preview_csv
from engine.data.csvio import transform_csv


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(p)


def load(path, **kw):
    return load_dataset(DataSpec(kind="csv", path=path, **kw))


def all_x(ds):
    """Rows of every split put back in file order (by split_indices)."""
    n = sum(len(v) for v in ds.split_indices.values())
    out = np.zeros((n, ds.input_shape[0]), dtype=np.float32)
    for s in ("train", "val", "test"):
        out[np.searchsorted(np.sort(np.concatenate(list(ds.split_indices.values()))), ds.split_indices[s])] = ds.x(s)
    return out


# ---------------------------------------------------------------- sniffing
def test_semicolon_and_decimal_comma(tmp_path):
    p = write(tmp_path, "d.csv", "a;b;label\n1,5;2;x\n2,25;3;y\n-3,75;4;x\n4;5;y\n1.234,5;6;x\n")
    info = preview_csv(p)
    assert (info["delimiter"], info["decimal"], info["header"]) == (";", ",", True)
    assert info["dtypes"] == {"a": "number", "b": "number", "label": "text"}
    ds = load(p, scaling="none", val_split=0.0)
    assert np.allclose(np.sort(ds.x_train[:, 0]), [-3.75, 1.5, 2.25, 4.0, 1234.5])


def test_tab_with_utf8_bom(tmp_path):
    p = write(tmp_path, "t.tsv", "\ufeffheight\tweight\tkind\n1.5\t10\tcat\n2.5\t20\tdog\n3.5\t30\tcat\n4.5\t40\tdog\n",
              "utf-8")
    info = preview_csv(p)
    assert info["delimiter"] == "\t" and info["encoding"] == "utf-8-sig"
    assert info["columns"] == ["height", "weight", "kind"]  # no BOM glued to the first name
    ds = load(p, val_split=0.25)
    assert ds.class_names == ["cat", "dog"] and ds.feature_names == ["height", "weight"]


def test_latin1(tmp_path):
    p = write(tmp_path, "l.csv", "ville,température,classe\nZürich,1.5,été\nMünchen,2.5,hiver\nCaen,3,été\nLyon,4,hiver\n",
              "latin-1")
    info = preview_csv(p)
    # detected; cp1252 and Latin-1 decode this text alike, and cp1252 (Windows "ANSI") can write more
    assert info["encoding"] == "cp1252" and info["encoding_detected"]
    assert info["columns"] == ["ville", "température", "classe"]
    ds = load(p, features=["température"], val_split=0.25)
    assert ds.class_names == ["été", "hiver"]


def test_utf16_with_bom(tmp_path):
    p = write(tmp_path, "u.csv", "\ufeffx,y\n1,2.5\n2,3.5\n3,4.5\n4,5.5\n5,6.5\n", "utf-16-le")
    info = preview_csv(p)
    assert info["encoding"] == "utf-16" and info["columns"] == ["x", "y"]
    ds = load(p)
    assert ds.task == "regression" and ds.y_train.shape == (4, 1) and ds.y_train.dtype == np.float32


def test_headerless_numeric_file(tmp_path):
    p = write(tmp_path, "n.csv", "1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,10,0\n")
    info = preview_csv(p)
    assert info["header"] is False and info["columns"] == ["column1", "column2", "column3"]
    ds = load(p)
    assert ds.n("train") + ds.n("val") == 5 and ds.class_names == ["0", "1"]


def test_quoted_fields_and_blank_lines(tmp_path):
    p = write(tmp_path, "q.csv", 'name,v,y\n"Smith, J",1,a\n\n"O""Neil",2,b\n"x",3,a\n"z",4,b\n')
    ds = load(p, features=["v"], val_split=0.25)
    assert ds.n("train") + ds.n("val") == 4


# ---------------------------------------------------------------- tasks and labels
def test_task_proposal_and_override(tmp_path):
    ints = write(tmp_path, "i.csv", "x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    floats = write(tmp_path, "f.csv", "x,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(30)))
    many = write(tmp_path, "m.csv", "x,y\n" + "".join(f"{i},{i}\n" for i in range(30)))
    assert load(ints).task == "classification"
    assert load(floats).task == "regression"
    assert load(many).task == "regression"  # 30 distinct integers > 20
    assert load(ints, task="regression").task == "regression"
    ds = load(floats, task="classification")
    assert ds.n_outputs == 30
    text = write(tmp_path, "t.csv", "x,y\n1,a\n2,b\n3,a\n4,b\n")
    with pytest.raises(DataError, match="cannot be a regression target"):
        load(text, task="regression")


def test_labels_natural_sort_casefold(tmp_path):
    labels = ["item10", "Item2", "item1", "beta", "Alpha"]
    p = write(tmp_path, "s.csv", "x,y\n" + "".join(f"{i},{labels[i % 5]}\n" for i in range(25)))
    ds = load(p)
    assert ds.class_names == ["Alpha", "beta", "item1", "Item2", "item10"]
    pre = Preprocessor.from_dict(ds.preprocessing)
    assert pre.decode([4, 0]) == ["item10", "Alpha"]


def test_numeric_class_labels_sorted_by_value(tmp_path):
    p = write(tmp_path, "s.csv", "x,y\n" + "".join(f"{i},{[-1, 10, 2][i % 3]}\n" for i in range(15)))
    assert load(p).class_names == ["-1", "2", "10"]


# ---------------------------------------------------------------- features
def test_one_hot_and_unseen_category(tmp_path):
    rows = [("red", 1.0, "a"), ("blue", 2.0, "b"), ("red", 3.0, "a"), ("green", 4.0, "b")] * 5
    p = write(tmp_path, "c.csv", "colour,size,y\n" + "".join(f"{c},{s},{y}\n" for c, s, y in rows))
    ds = load(p)
    assert ds.feature_names == ["colour=blue", "colour=green", "colour=red", "size"]
    onehot = ds.x_train[:, :3]
    assert np.all(onehot.sum(1) == 1) and set(np.unique(onehot)) == {0.0, 1.0}
    pre = Preprocessor.from_dict(ds.preprocessing)
    x = pre.transform_frame(pd.DataFrame({"colour": ["purple", "red", None], "size": [2.5, 2.5, 2.5], "extra": 1}))
    assert np.array_equal(x[0, :3], [0, 0, 0])  # unseen -> all zeros
    assert np.array_equal(x[1, :3], [0, 0, 1])
    assert np.array_equal(x[2, :3], [0, 0, 0])  # missing -> all zeros


def test_identifier_like_text_column_not_a_default_feature(tmp_path):
    p = write(tmp_path, "id.csv", "id,x,y\n" + "".join(f"user{i},{i},{i % 2}\n" for i in range(80)))
    ds = load(p)
    assert ds.feature_names == ["x"]
    assert any(r.get("column") == "id" for r in ds.report)
    assert load(p, features=["id", "x"]).input_shape[0] > 50  # explicit choice is honoured


def test_missing_values_mean_median_drop(tmp_path):
    p = write(tmp_path, "m.csv", "a,b,y\n1,10,0\n,20,1\n3,NA,0\n100,40,1\n5,50,0\n6,,1\n")
    ds = load(p, val_split=0.0, scaling="none")
    fill = ds.preprocessing["columns"][0]["fill"]
    assert fill == pytest.approx(np.mean([1, 3, 100, 5, 6]))
    assert np.allclose(np.sort(ds.x_train[:, 0]), np.sort([1, fill, 3, 100, 5, 6]))
    ds = load(p, val_split=0.0, scaling="none", missing="median")
    assert ds.preprocessing["columns"][0]["fill"] == 5.0
    assert ds.preprocessing["columns"][1]["fill"] == 30.0  # median of 10, 20, 40, 50
    ds = load(p, val_split=0.0, scaling="none", missing="drop")
    assert ds.n("train") == 3 and not np.isnan(ds.x_train).any()
    assert any("dropped" in r["reason"] for r in ds.report)


def test_rows_without_target_are_dropped_and_reported(tmp_path):
    p = write(tmp_path, "t.csv", "x,y\n1,a\n2,\n3,b\n4,a\n5,b\n6,?\n")
    ds = load(p, val_split=0.0)
    assert ds.n("train") == 4
    r = [r for r in ds.report if r.get("column") == "y"][0]
    assert r["count"] == 2 and r["rows"] == ["line 3", "line 7"]


def test_scaling_fitted_on_train_only(tmp_path):
    p = write(tmp_path, "s.csv", "x,y\n" + "".join(f"{i * i},{i % 2}\n" for i in range(40)))
    ds = load(p, val_split=0.25, test_split=0.25, seed=1)
    assert np.allclose(ds.x_train.mean(), 0, atol=1e-5) and np.allclose(ds.x_train.std(), 1, atol=1e-5)
    assert not np.allclose(ds.x_test.mean(), 0, atol=1e-3)
    ds = load(p, val_split=0.25, test_split=0.25, seed=1, scaling="minmax")
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    col = ds.preprocessing["columns"][0]
    train_vals = np.array([i * i for i in range(40)])[ds.split_indices["train"]]
    assert col["shift"] == train_vals.min() and col["scale"] == train_vals.max() - train_vals.min()


# ---------------------------------------------------------------- splits
def test_stratified_split_counts(tmp_path):
    # 60 of class a, 30 of b, 10 of c
    labels = ["a"] * 60 + ["b"] * 30 + ["c"] * 10
    p = write(tmp_path, "s.csv", "x,y\n" + "".join(f"{i},{c}\n" for i, c in enumerate(labels)))
    ds = load(p, val_split=0.2, test_split=0.1, seed=5)
    assert (ds.n("train"), ds.n("val"), ds.n("test")) == (70, 20, 10)
    counts = ds.summary()["class_counts"]
    for split, frac in (("val", 0.2), ("test", 0.1)):
        for name, total in (("a", 60), ("b", 30), ("c", 10)):
            assert abs(counts[split][name] - total * frac) <= 1, (split, name, counts)
    idx = np.concatenate([ds.split_indices[s] for s in ("train", "val", "test")])
    assert np.array_equal(np.sort(idx), np.arange(100))  # a partition
    again = load(p, val_split=0.2, test_split=0.1, seed=5)
    other = load(p, val_split=0.2, test_split=0.1, seed=6)
    assert np.array_equal(again.split_indices["val"], ds.split_indices["val"])
    assert not np.array_equal(other.split_indices["val"], ds.split_indices["val"])


# ---------------------------------------------------------------- round trip
def test_preprocessing_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    n = 50
    df = pd.DataFrame({"num": rng.normal(size=n).round(3), "cat": rng.choice(["p", "q", "r"], n),
                       "int": rng.integers(0, 100, n), "label": rng.choice(["yes", "no"], n)})
    df.loc[3, "num"] = np.nan
    p = str(tmp_path / "r.csv")
    df.to_csv(p, index=False)
    ds = load(p, val_split=0.2, test_split=0.2)
    import json

    pre = Preprocessor.from_dict(json.loads(json.dumps(ds.preprocessing)))
    fresh = pd.read_csv(p)  # typed by pandas, not by us
    for s in ("train", "val", "test"):
        x = pre.transform_frame(fresh.iloc[ds.split_indices[s]])
        assert np.allclose(x, ds.x(s), atol=1e-6)
    x2, frame = transform_csv(pre, p)
    assert np.allclose(x2[ds.split_indices["val"]], ds.x_val, atol=1e-6) and len(frame) == n


def test_transform_frame_rejects_text_in_numeric_column(tmp_path):
    p = write(tmp_path, "x.csv", "a,y\n1,0\n2,1\n3,0\n4,1\n")
    pre = Preprocessor.from_dict(load(p).preprocessing)
    with pytest.raises(DataError, match=r"row 2, column 'a': 'abc' is not a number"):
        pre.transform_frame(pd.DataFrame({"a": ["1", "abc"]}))


# ---------------------------------------------------------------- errors
ERRORS = [
    ("ragged", "a,b,y\n1,2,0\n3,4,1,9\n5,6,0\n", {}, r"r\.csv, line 3: 4 fields"),
    ("short", "a,b,y\n1,2,0\n3,4\n5,6,0\n", {}, r"r\.csv, line 3: 2 fields"),
    ("text in numbers", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,ten,0\n11,12,1\n", {},
     r"r\.csv, line 6, column 'b': 'ten' is not a number"),
    ("empty", "", {}, r"r\.csv: the file is empty"),
    ("blank", "\n\n  \n", {}, r"r\.csv: the file is empty"),
    ("header only", "a,b,y\n", {}, r"no data rows"),
    ("one class", "a,y\n1,x\n2,x\n3,x\n4,x\n", {}, r"target column 'y' has only one class \('x'\)"),
    ("no target", "a,y\n1,0\n2,1\n3,0\n", {"target": "label"}, r"target column 'label' not found; columns are: a, y"),
    ("no features", "y\n1\n2\n3\n", {}, r"no feature columns"),
    ("missing feature", "a,y\n1,0\n2,1\n", {"features": ["b"]}, r"feature column\(s\) not found: b"),
    ("too few rows", "a,y\n1,0\n2,1\n", {}, r"too few rows \(2\)"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", {}, r"not a text"),
]


@pytest.mark.parametrize("case, text, kw, msg", ERRORS, ids=[e[0] for e in ERRORS])
def test_data_errors(tmp_path, case, text, kw, msg):
    p = write(tmp_path, "r.csv", text)
    with pytest.raises(DataError, match=msg) as ei:
        load(p, **kw)
    assert "\n" not in str(ei.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load(str(tmp_path / "nope.csv"))
    with pytest.raises(DataError, match="folder"):
        load_dataset(DataSpec(kind="csv", path=str(tmp_path)))


def test_preview_reads_only_first_rows(tmp_path):
    body = "".join(f"{i},{i % 2}\n" for i in range(2000))
    p = write(tmp_path, "big.csv", "x,y\n" + body + "1,2,3,4\n")
    info = preview_csv(p, n_rows=10)
    assert len(info["rows"]) == 10 and info["proposed_task"] == "classification"
    with pytest.raises(DataError, match="line 2002"):
        load(p)


def test_never_writes_into_data_folder(tmp_path):
    p = write(tmp_path, "d.csv", "x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    before = sorted(os.listdir(tmp_path))
    load(p)
    preview_csv(p)
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be", "latin-1"])
def test_preview_cut_keeps_whole_lines(tmp_path, encoding):
    from engine.data.csvio import _read_text

    text = "x,ü\n" + "".join(f"{i},{i % 2}\n" for i in range(100))
    bom = {"utf-16-le": "\ufeff", "utf-16-be": "\ufeff"}.get(encoding, "")
    p = write(tmp_path, "c.csv", bom + text, encoding)
    got, _, _ = _read_text(p, max_bytes=151)
    assert got.lstrip("\ufeff").startswith("x,ü\n") and got.endswith("\n") and text.startswith(got.lstrip("\ufeff"))
