"""Built-in samples, DataSpec and the Dataset object."""
import json

import numpy as np
import pytest

from engine.data import SAMPLE_NAMES, DataError, DataSpec, Preprocessor, load_dataset, make_toy
from engine.data.samples import samples_dir

TOYS = ("xor", "circles", "moons", "spirals", "blobs")
EXPECTED = {  # name: (input_shape, n_classes, n_rows)
    "digits": ((8, 8, 1), 10, 1797),
    "iris": ((4,), 3, 150),
    "wine": ((13,), 3, 178),
    "breast_cancer": ((30,), 2, 569),
}


@pytest.mark.parametrize("name", TOYS)
def test_toy_deterministic_per_seed(name):
    a = make_toy(name, 200, 0.1, seed=3)
    b = make_toy(name, 200, 0.1, seed=3)
    c = make_toy(name, 200, 0.1, seed=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    x, y = a
    assert x.shape == (200, 2) and y.shape == (200,)
    k = 3 if name == "blobs" else 2
    assert np.array_equal(np.bincount(y), np.full(k, 200 // k) + (np.arange(k) < (200 % k)))


@pytest.mark.parametrize("name", TOYS)
def test_toy_noise_setting(name):
    x0, y0 = make_toy(name, 300, 0.0, seed=1)
    x1, y1 = make_toy(name, 300, 0.5, seed=1)
    assert not np.allclose(x0, x1)


def test_toy_noise_free_geometry():
    x, y = make_toy("circles", 100, 0.0, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.allclose(r[y == 0], 1.0) and np.allclose(r[y == 1], 0.5)
    x, y = make_toy("xor", 100, 0.0, seed=0)
    assert np.array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(int))


def test_toy_dataset_via_load_dataset_deterministic():
    spec = DataSpec(kind="sample", path="xor", seed=7, n_samples=120)
    a, b = load_dataset(spec), load_dataset(DataSpec.from_dict(spec.to_dict()))
    assert a.task == "classification" and a.input_shape == (2,) and a.n_outputs == 2
    assert a.class_names == ["0", "1"]
    assert (a.n("train"), a.n("val"), a.n("test")) == (96, 24, 0)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_val, b.y_val)
    assert a.x_train.dtype == np.float32 and a.y_train.dtype == np.int64
    c = load_dataset(DataSpec(kind="sample", path="xor", seed=8, n_samples=120))
    assert not np.array_equal(a.x_train, c.x_train)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_shipped_sample_shapes_and_classes(name):
    shape, k, n = EXPECTED[name]
    ds = load_dataset(DataSpec(kind="sample", path=name, val_split=0.2, test_split=0.1))
    assert ds.input_shape == shape
    assert ds.n_outputs == k == len(ds.class_names)
    assert ds.n("train") + ds.n("val") + ds.n("test") == n
    assert ds.x_train.shape == (ds.n("train"), *shape) and ds.x_train.dtype == np.float32
    assert set(np.unique(ds.y_train)) == set(range(k))
    s = ds.summary()
    assert sum(s["class_counts"]["train"].values()) == ds.n("train")
    json.dumps(ds.preprocessing)
    json.dumps(s)
    # standard scaling fitted on train: train mean ~0, std ~1 per feature / channel
    flat = ds.x_train.reshape(len(ds.x_train), -1) if len(shape) == 1 else ds.x_train.reshape(-1, shape[-1])
    assert np.allclose(flat.mean(0), 0, atol=1e-4)


def test_sample_npz_files_load_without_pickle():
    for name in EXPECTED:
        with np.load(samples_dir() / f"{name}.npz", allow_pickle=False) as z:
            assert z["y"].dtype == np.int64
            names = json.loads(str(z["class_names"][()]))
            assert len(names) == EXPECTED[name][1]
            if name == "digits":
                assert z["x"].dtype == np.uint8 and z["x"].max() == 16
            else:
                assert len(json.loads(str(z["feature_names"][()]))) == EXPECTED[name][0][0]


def test_iris_feature_names_and_predict_frame():
    import pandas as pd

    ds = load_dataset(DataSpec(kind="sample", path="iris"))
    assert ds.feature_names[0] == "sepal length (cm)"
    assert ds.class_names == ["setosa", "versicolor", "virginica"]
    pre = Preprocessor.from_dict(ds.preprocessing)
    # the training arrays are reproduced from raw values by the saved transform
    from engine.data.samples import sample_frame

    df = sample_frame("iris", ds.spec)
    x = pre.transform_frame(df.iloc[ds.split_indices["val"]])
    assert np.allclose(x, ds.x_val)
    assert pre.decode(np.array([2, 0])) == ["virginica", "setosa"]
    with pytest.raises(DataError, match="missing column"):
        pre.transform_frame(pd.DataFrame({"sepal length (cm)": [1.0]}))


def test_digits_minmax_is_unit_range_and_transform_array():
    ds = load_dataset(DataSpec(kind="sample", path="digits", scaling="minmax"))
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    pre = Preprocessor.from_dict(ds.preprocessing)
    raw = np.full((1, 8, 8, 1), 16, dtype=np.uint8)
    assert np.allclose(pre.transform_array(raw), 1.0)


def test_unknown_sample():
    with pytest.raises(DataError, match="unknown sample"):
        load_dataset(DataSpec(kind="sample", path="mnist"))


def test_sample_names_complete():
    assert SAMPLE_NAMES == ("xor", "circles", "moons", "spirals", "blobs", "digits", "iris", "wine", "breast_cancer",
                            "sentiment", "sentiment_zh", "seasonal")


# ---------------------------------------------------------------- DataSpec
def test_dataspec_round_trip_json():
    s = DataSpec(kind="images", path="/x", image_size=(28, 32), features=["a"], grayscale=True)
    d = json.loads(json.dumps(s.to_dict()))
    assert d["image_size"] == [28, 32]
    assert DataSpec.from_dict(d) == s
    assert DataSpec.from_dict({**d, "future_field": 1}) == s


def test_parse_cli(tmp_path):
    assert DataSpec.parse_cli("sample:XOR").kind == "sample"
    assert DataSpec.parse_cli("sample:xor").path == "xor"
    assert DataSpec.parse_cli(str(tmp_path)).kind == "images"
    assert DataSpec.parse_cli("a/b.npz").kind == "npz"
    s = DataSpec.parse_cli("data.csv", target="y", features="a, b", image_size="28x28", task=None, seed=3)
    assert (s.kind, s.target, s.features, s.image_size, s.task, s.seed) == ("csv", "y", ["a", "b"], (28, 28), None, 3)
    with pytest.raises(DataError, match="unknown data option"):
        DataSpec.parse_cli("data.csv", colour="red")
    with pytest.raises(DataError, match="image size"):
        DataSpec.parse_cli("data.csv", image_size="big")


@pytest.mark.parametrize("kw, msg", [
    ({"val_split": 0.6, "test_split": 0.5}, "below 1"),
    ({"val_split": -0.1}, "val_split"),
    ({"scaling": "log"}, "scaling"),
    ({"missing": "zero"}, "missing"),
    ({"task": "clustering"}, "task"),
])
def test_dataspec_validation(kw, msg):
    with pytest.raises(DataError, match=msg):
        DataSpec(kind="sample", path="xor", **kw).validate()
    with pytest.raises(DataError):
        load_dataset(DataSpec(kind="sample", path="xor", **kw))


def test_get_batch_and_bad_split():
    ds = load_dataset(DataSpec(kind="sample", path="blobs", n_samples=60))
    xb, yb = ds.get_batch("train", np.array([3, 0, 5]))
    assert np.array_equal(xb, ds.x_train[[3, 0, 5]]) and np.array_equal(yb, ds.y_train[[3, 0, 5]])
    with pytest.raises(DataError, match="unknown split"):
        ds.n("training")
