"""Issue 12's "done when", in the app: a GBK CSV with Chinese headers and labels, and an .xlsx workbook,
each load in the data panel, train (fitted template, a short run) and predict one raw row typed into the
Predict panel, with the same answer as the engine's predict_rows (what the CLI's predict --row calls)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.spec import DataSpec
from engine.io import Project
from tests.engine.test_data_encoding import HEAD_ZH, IRIS_ZH, iris_text

TIMEOUT = 120_000


def _gbk(tmp_path):
    p = tmp_path / "鸢尾 gbk.csv"
    p.write_bytes(iris_text(HEAD_ZH, IRIS_ZH, n=60).encode("gbk"))
    return DataSpec(kind="csv", path=str(p), target="品种"), HEAD_ZH[:3], sorted(IRIS_ZH)


def _xlsx(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "notes"
    notes.append(["this sheet is not the data"])
    ws = wb.create_sheet("measurements")
    ws.append(["width", "height", "ok"])
    rng = np.random.default_rng(1)
    for _ in range(60):
        a, b = float(rng.random()), float(rng.random())
        ws.append([a, b, a + b > 1.0])     # typed cells: numbers and booleans
    p = tmp_path / "book.xlsx"
    wb.save(p)
    return DataSpec(kind="csv", path=str(p), sheet="measurements", target="ok"), ["width", "height"], None


@pytest.mark.parametrize("make", [_gbk, _xlsx], ids=["gbk-csv", "xlsx"])
def test_a_file_trains_and_predicts_a_raw_row_in_the_app(qtbot, tmp_path, studio, make):
    from engine.evaluate import predict_rows
    from engine.jobs import trained_model

    spec, features, classes = make(tmp_path)
    w, ctl, ui = studio.win, studio.ctl, studio.ui
    dp = w.training_ui.data_panel
    dp.set_spec(spec)
    qtbot.waitUntil(lambda: dp.spec().target == spec.target and dp.load_btn.isEnabled(), timeout=TIMEOUT)
    dp.load_btn.click()
    qtbot.waitUntil(lambda: ctl.dataset is not None and w.document.data_info is not None, timeout=TIMEOUT)
    assert ctl.dataset.input_shape == (len(features),)
    if classes:
        assert ctl.dataset.class_names == classes       # decoded from GBK, not mojibake
    w.actions["fit_to_data"].trigger()
    studio.train(3)
    doc = w.document
    pp = ui.predict_panel
    assert list(pp.inputs) == features and pp.predict_btn.isEnabled()
    row = {name: "0.7" for name in features}
    for name, value in row.items():
        pp.inputs[name].setText(value)
    with qtbot.waitSignal(ui.predicted, timeout=TIMEOUT) as blocker:
        pp.predict_btn.click()
    res = blocker.args[0]
    model = trained_model(doc.spec, doc.weights)
    (want,) = predict_rows(model, Project(graph=doc.spec, weights=doc.weights,
                                          preprocessing=doc.preprocessing), [row])
    assert set(res["names"]) == set(want["probabilities"])
    if classes:
        assert res["names"] == classes
    np.testing.assert_allclose(res["probs"], [want["probabilities"][n] for n in res["names"]], rtol=1e-6)
    assert pp.value.text().startswith(str(want["prediction"]))
