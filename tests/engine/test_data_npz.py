"""The npz kind: arrays x and y with optional class_names."""
import json

import numpy as np
import pytest

from engine.data import DataError, DataSpec, Preprocessor, load_dataset


def save(tmp_path, **arrays):
    p = tmp_path / "d.npz"
    np.savez(p, **arrays)
    return str(p)


def test_table_classification_with_class_names(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = np.arange(40) % 2
    p = save(tmp_path, x=x, y=y, class_names=np.array(json.dumps(["zebra", "ant"])))
    ds = load_dataset(DataSpec(kind="npz", path=p, val_split=0.25))
    assert ds.task == "classification" and ds.class_names == ["ant", "zebra"]  # sorted, names kept
    assert ds.input_shape == (3,) and ds.feature_names == ["x1", "x2", "x3"]
    names = np.array(["zebra", "ant"])[y]
    for s in ("train", "val"):
        assert list(np.array(ds.class_names)[ds.y(s)]) == list(names[ds.split_indices[s]])
    pre = Preprocessor.from_dict(ds.preprocessing)
    assert np.allclose(pre.transform_array(x[ds.split_indices["val"]]), ds.x_val, atol=1e-6)
    assert ds.spec.kind == "npz"


def test_regression_single_and_multi_output(tmp_path):
    x = np.linspace(0, 1, 50).reshape(-1, 1)
    ds = load_dataset(DataSpec(kind="npz", path=save(tmp_path, x=x, y=x[:, 0] * 2.5)))
    assert ds.task == "regression" and ds.n_outputs == 1 and ds.y_train.shape == (40, 1)
    y2 = np.c_[x[:, 0], -x[:, 0]]
    ds = load_dataset(DataSpec(kind="npz", path=save(tmp_path, x=x, y=y2), test_split=0.2))
    assert ds.n_outputs == 2 and ds.y_test.shape == (10, 2) and ds.y_test.dtype == np.float32
    assert np.allclose(ds.y_test, y2[ds.split_indices["test"]])
    ds = load_dataset(DataSpec(kind="npz", path=save(tmp_path, x=x, y=np.arange(50) % 3), task="regression"))
    assert ds.task == "regression"


def test_uint8_images(tmp_path):
    x = np.random.default_rng(1).integers(0, 256, (30, 6, 5), dtype=np.uint8)
    ds = load_dataset(DataSpec(kind="npz", path=save(tmp_path, x=x, y=np.arange(30) % 3), scaling="minmax"))
    assert ds.input_shape == (6, 5, 1) and ds.class_names == ["0", "1", "2"]
    assert np.allclose(ds.x_train, x[ds.split_indices["train"], :, :, None] / 255.0)


@pytest.mark.parametrize("arrays, msg", [
    ({"x": np.zeros((4, 2))}, "needs arrays named 'x' and 'y'"),
    ({"x": np.zeros((4, 2)), "y": np.zeros(3)}, "'x' has 4 rows but 'y' has 3"),
    ({"x": np.array(["a", "b"]), "y": np.zeros(2)}, "numeric"),
    ({"x": np.full((6, 2), np.nan), "y": np.zeros(6)}, "NaN"),
    ({"x": np.zeros((6, 2, 2)), "y": np.zeros(6, dtype=int)}, "one class"),
])
def test_npz_errors(tmp_path, arrays, msg):
    with pytest.raises(DataError, match=msg):
        load_dataset(DataSpec(kind="npz", path=save(tmp_path, **arrays)))


def test_not_an_npz_and_pickled_objects(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("hello")
    with pytest.raises(DataError, match="bad.npz"):
        load_dataset(DataSpec(kind="npz", path=str(bad)))
    p = tmp_path / "obj.npz"
    np.savez(p, x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    with pytest.raises(DataError, match="obj.npz"):
        load_dataset(DataSpec(kind="npz", path=str(p)))
    with pytest.raises(DataError, match="not found"):
        load_dataset(DataSpec(kind="npz", path=str(tmp_path / "none.npz")))


def test_float_sequences_keep_their_shape_and_integer_images_get_a_channel(tmp_path):
    import numpy as np

    from engine.data import DataSpec, load_dataset
    rng = np.random.default_rng(0)
    seq = tmp_path / "seq.npz"
    np.savez(seq, x=rng.standard_normal((40, 12, 8)).astype(np.float32), y=np.arange(40) % 2)
    ds = load_dataset(DataSpec(kind="npz", path=str(seq), val_split=0.25))
    assert ds.input_shape == (12, 8) and ds.x_train.shape[1:] == (12, 8)
    img = tmp_path / "img.npz"
    np.savez(img, x=rng.integers(0, 255, (40, 6, 6)).astype(np.uint8), y=np.arange(40) % 2)
    assert load_dataset(DataSpec(kind="npz", path=str(img))).input_shape == (6, 6, 1)
