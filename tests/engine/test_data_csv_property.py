"""Property: any CSV text either loads into finite arrays or raises DataError -- nothing else."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data import DataError, DataSpec, load_dataset, preview_csv

cell = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
    st.floats(-1e3, 1e3).map(lambda v: f"{v:.2f}".replace(".", ",")),
    st.sampled_from(["", "NA", "?", "nan", "inf", "-", " ", '"', '""', '"a,b"', "a;b", "x\ty", "1e999", "9" * 400,
                     "TRUE", "é", "\r", "\n", "1,5", "1.234,5", "0x10", "１２"]),
    st.text(max_size=6),
)
structured = st.builds(
    lambda rows, delim, eol, header: eol.join(([delim.join(f"c{j}" for j in range(len(rows[0])))] if header else [])
                                             + [delim.join(r) for r in rows]),
    st.integers(1, 4).flatmap(lambda w: st.lists(st.lists(cell, min_size=w, max_size=w + (1 if w > 2 else 0)),
                                                 min_size=1, max_size=12)),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
)
raw_bytes = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode("utf-8")),
                      structured.map(lambda t: t.encode("utf-16")), structured.map(lambda t: t.encode("latin-1", "replace")))

SPECS = [dict(), dict(task="regression"), dict(task="classification", missing="drop", scaling="minmax"),
         dict(val_split=0.0, missing="median"), dict(target="c0"), dict(test_split=0.3, scaling="none")]


def check(path, kw):
    try:
        ds = load_dataset(DataSpec(kind="csv", path=path, **kw))
    except DataError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        for s in ("train", "val", "test"):
            x, y = ds.x(s), ds.y(s)
            assert x.dtype == np.float32 and x.shape == (len(y), *ds.input_shape)
            assert np.isfinite(x).all()
            if ds.task == "classification":
                assert y.dtype == np.int64 and (len(y) == 0 or 0 <= y.min() <= y.max() < ds.n_outputs)
            else:
                assert y.dtype == np.float32 and np.isfinite(y).all()
        ds.summary()
    try:
        info = preview_csv(path)
    except DataError:
        pass
    else:
        assert info["columns"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=structured, which=st.integers(0, len(SPECS) - 1))
def test_structured_csv_loads_or_dataerror(tmp_path, text, which):
    p = tmp_path / "h.csv"
    p.write_bytes(text.encode("utf-8"))
    check(str(p), SPECS[which])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=raw_bytes, which=st.integers(0, len(SPECS) - 1))
def test_arbitrary_bytes_load_or_dataerror(tmp_path, data, which):
    p = tmp_path / "h.csv"
    p.write_bytes(data)
    check(str(p), SPECS[which])


def test_property_checker_accepts_good_files(tmp_path):
    p = tmp_path / "ok.csv"
    p.write_text("c0,c1\n" + "".join(f"{i},{i % 2}\n" for i in range(10)))
    check(str(p), {})
    assert load_dataset(DataSpec(kind="csv", path=str(p))).n("train") == 8
