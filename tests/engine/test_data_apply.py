"""load_dataset(spec, preprocessing=saved): new data through a saved transform, nothing refitted."""
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from engine.data import DataError, DataSpec, Preprocessor, load_dataset
from engine.data.images import transform_images
from engine.data.samples import load_shipped


def test_csv_evaluated_with_training_transform(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("size,colour,label\n" + "".join(f"{i},{'rg'[i % 2]},{'ab'[i % 2]}\n" for i in range(20)))
    ds = load_dataset(DataSpec(kind="csv", path=str(train)))
    new = tmp_path / "new.csv"  # other delimiter and decimal, unseen colour, an unknown class, a missing size
    new.write_text("label;colour;size\nb;g;100,5\na;blue;2\nc;r;3\nb;r;\na;g;7\n")
    ev = load_dataset(DataSpec(kind="csv", path=str(new), val_split=0.0), preprocessing=ds.preprocessing)
    assert ev.preprocessing == ds.preprocessing and ev.class_names == ["a", "b"]
    assert ev.n("train") == 4  # the row of class 'c' is dropped ...
    assert any("not in the training data" in r["reason"] and r["count"] == 1 for r in ev.report)  # ... and reported
    assert list(ev.y_train) == [1, 0, 1, 0]
    pre = Preprocessor.from_dict(ds.preprocessing)
    frame = pd.DataFrame({"size": ["100.5", "2", None, "7"], "colour": ["g", "blue", "r", "g"]})
    assert np.allclose(ev.x_train, pre.transform_frame(frame))
    assert ds.feature_names == ["size", "colour=g", "colour=r"]
    assert np.array_equal(ev.x_train[1, 1:], [0, 0])  # unseen category -> zeros


def test_csv_missing_feature_column_is_dataerror(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("a,b,y\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(10)))
    ds = load_dataset(DataSpec(kind="csv", path=str(train)))
    new = tmp_path / "new.csv"
    new.write_text("a,y\n1,0\n2,1\n")
    with pytest.raises(DataError, match="missing column"):
        load_dataset(DataSpec(kind="csv", path=str(new), val_split=0.0), preprocessing=ds.preprocessing)
    with pytest.raises(DataError, match="images"):
        load_dataset(DataSpec(kind="sample", path="digits"), preprocessing=ds.preprocessing)


def test_sample_with_its_own_preprocessing_is_identical():
    spec = DataSpec(kind="sample", path="wine", test_split=0.2)
    ds = load_dataset(spec)
    again = load_dataset(spec, preprocessing=ds.preprocessing)
    for s in ("train", "val", "test"):
        assert np.allclose(again.x(s), ds.x(s)) and np.array_equal(again.y(s), ds.y(s))


def test_image_folder_with_digits_sample_preprocessing(tmp_path):
    ds = load_dataset(DataSpec(kind="sample", path="digits"))
    d = load_shipped("digits")
    root = tmp_path / "new"
    for i in range(40):
        cls = d["class_names"][d["y"][i]] if i < 39 else "unknown"
        (root / cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray((d["x"][i, :, :, 0] * 255 // 16).astype(np.uint8)).resize((16, 16)).save(root / cls / f"{i}.png")
    ev = load_dataset(DataSpec(kind="images", path=str(root), val_split=0.0), preprocessing=ds.preprocessing)
    assert ev.input_shape == (8, 8, 1) and ev.class_names == ds.class_names
    assert ev.n("train") == 39 and any("unknown" in r["reason"] for r in ev.report)
    pre = Preprocessor.from_dict(ds.preprocessing)
    files = [str(root / d["class_names"][d["y"][i]] / f"{i}.png") for i in range(39)]
    order = ev.split_indices["train"]
    expected = transform_images(pre, files)
    assert np.allclose(np.sort(ev.x_train.reshape(39, -1), 0), np.sort(expected.reshape(39, -1), 0), atol=1e-5)
    assert sorted(ev.y_train.tolist()) == sorted(int(v) for v in d["y"][:39])
    assert len(order) == 39
