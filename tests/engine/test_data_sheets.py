""".xlsx workbooks load like a CSV: sheet choice, typed cells, clear messages for merged cells and
formulas without a saved value, --sheet on the CLI, predictions from a sheet."""
from __future__ import annotations

import datetime as dt
import json
import zipfile

import numpy as np
import openpyxl
import pytest

from engine.data import DataError, DataSpec, load_dataset, preview_csv
from engine.data.sheets import read_sheet_frame, sheet_names

LABELS = ["山鸢尾", "变色鸢尾", "维吉尼亚鸢尾"]


def _book(path, *, extra_sheet=True, n=30):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "说明"
    ws.append(["这个工作表只有说明文字"])
    data = wb.create_sheet("数据")
    data.append(["花萼长度", "花萼宽度", "有刺", "采集日期", "编号", "品种"])
    rng = np.random.default_rng(0)
    for i in range(n):
        k = i % 3
        data.append([float(5 + k + rng.normal(0, 0.1)), 3 + k, i % 2 == 0, dt.date(2024, 1, 1 + i % 28),
                     f"00{i}", LABELS[k]])
    if extra_sheet:
        other = wb.create_sheet("other")
        other.append(["x", "y"])
        for i in range(12):
            other.append([i, i % 2])
    wb.save(path)
    return path


def test_sheets_typed_cells_and_preview(tmp_path):
    p = _book(tmp_path / "iris.xlsx")
    assert sheet_names(p) == ["说明", "数据", "other"]
    df, meta, labels = read_sheet_frame(p, "数据")
    assert list(df.columns) == ["花萼长度", "花萼宽度", "有刺", "采集日期", "编号", "品种"]
    assert df["花萼长度"].dtype == np.float64 and df["花萼宽度"].dtype == np.float64  # numbers as typed
    assert df["有刺"].tolist()[:2] == ["TRUE", "FALSE"] and df["采集日期"][0] == "2024-01-01"
    assert df["编号"][0] == "000"  # a text cell that looks like a number stays text
    assert labels[0] == "sheet '数据', row 2" and meta["sheet"] == "数据"
    info = preview_csv(str(p), sheet="数据")
    assert info["sheets"] == ["说明", "数据", "other"] and info["sheet"] == "数据"
    assert info["dtypes"]["花萼长度"] == "number" and info["dtypes"]["品种"] == "text"
    with pytest.raises(DataError) as e:  # default: the first sheet, which holds only a note here
        preview_csv(str(p))
    assert str(e.value) == ("iris.xlsx, sheet '说明': no data rows (only a header) (other sheets: 数据, other; "
                            "choose one with --sheet or the Sheet box of the data panel)")


def test_xlsx_trains_like_a_csv(tmp_path):
    p = _book(tmp_path / "iris.xlsx")
    ds = load_dataset(DataSpec(kind="csv", path=str(p), sheet="数据", target="品种",
                               features=["花萼长度", "花萼宽度", "有刺"]))
    assert ds.class_names == sorted(LABELS) and ds.preprocessing["csv"]["sheet"] == "数据"
    assert ds.input_shape == (4,)  # two numbers + TRUE/FALSE one-hot
    ds2 = load_dataset(DataSpec.parse_cli(str(p), sheet="other", target="y"))
    assert ds2.class_names == ["0", "1"] and ds2.feature_names == ["x"]
    spec = DataSpec.from_dict(DataSpec(kind="csv", path=str(p), sheet="other").to_dict())
    assert spec.sheet == "other"


def test_bad_sheets_are_named(tmp_path):
    p = _book(tmp_path / "b.xlsx")
    with pytest.raises(DataError, match=r"b.xlsx: no sheet named 'nope' \(sheets: 说明, 数据, other\); choose one "
                                        r"with --sheet"):
        load_dataset(DataSpec(kind="csv", path=str(p), sheet="nope"))
    # merged cells
    wb = openpyxl.load_workbook(p)
    wb["数据"].merge_cells("A3:B3")
    wb.save(tmp_path / "m.xlsx")
    with pytest.raises(DataError) as e:
        load_dataset(DataSpec(kind="csv", path=str(tmp_path / "m.xlsx"), sheet="数据"))
    assert str(e.value).startswith("m.xlsx, sheet '数据', cells A3:B3: merged cells cannot be read as a table")
    # a formula without a saved value (openpyxl writes none) and with one (as Excel saves it)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws.append(["a", "b", "c"])
    for i in range(6):
        ws.append([i, i % 2, f"=A{i + 2}+B{i + 2}"])
    wb.save(tmp_path / "f.xlsx")
    with pytest.raises(DataError) as e:
        load_dataset(DataSpec(kind="csv", path=str(tmp_path / "f.xlsx")))
    assert str(e.value).startswith("f.xlsx, sheet 'S', cell C2: a formula without a saved value")
    with zipfile.ZipFile(tmp_path / "f.xlsx") as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for i in range(6):
        xml = xml.replace(f"<f>A{i + 2}+B{i + 2}</f><v />", f"<f>A{i + 2}+B{i + 2}</f><v>{i + i % 2}</v>")
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(tmp_path / "g.xlsx", "w") as z:
        for n, b in parts.items():
            z.writestr(n, b)
    df, _, _ = read_sheet_frame(tmp_path / "g.xlsx")
    assert df["c"].tolist() == [0.0, 2.0, 2.0, 4.0, 4.0, 6.0]  # the saved values, not the formulas
    # not a workbook / old format / empty
    (tmp_path / "x.xlsx").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="x.xlsx: not a readable .xlsx workbook"):
        preview_csv(str(tmp_path / "x.xlsx"))
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataError, match=r"old.xls: .xls \(Excel 97-2003\) files are not supported; save the sheet"):
        load_dataset(DataSpec(kind="csv", path=str(tmp_path / "old.xls")))
    wb = openpyxl.Workbook()
    wb.save(tmp_path / "e.xlsx")
    with pytest.raises(DataError, match="e.xlsx, sheet 'Sheet': the sheet is empty"):
        load_dataset(DataSpec(kind="csv", path=str(tmp_path / "e.xlsx")))


def test_cli_sheet_train_and_predict(tmp_path, capsys):
    from app.cli import main

    p = _book(tmp_path / "iris.xlsx")
    g = tmp_path / "g.json"
    assert main(["template", "mlp", "--data", str(p), "--sheet", "数据", "--target", "品种",
                 "--features", "花萼长度,花萼宽度", "--out", str(g)]) == 0, capsys.readouterr().err
    out = tmp_path / "m.nnsp"
    assert main(["train", str(g), "--data", str(p), "--sheet", "数据", "--target", "品种",
                 "--features", "花萼长度,花萼宽度", "--epochs", "2", "--quiet", "--out", str(out)]) == 0, \
        capsys.readouterr().err
    from engine.io import load_project
    proj = load_project(out)
    assert proj.data_spec["sheet"] == "数据" and proj.metadata["class_names"] == sorted(LABELS)
    capsys.readouterr()
    assert main(["evaluate", str(out), "--split", "val"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] > 0
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(out), "--data", str(p), "--sheet", "数据", "--out", str(pred)]) == 0
    raw = pred.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, so Excel opens it
    assert raw.decode("utf-8-sig").splitlines()[0].startswith("花萼长度,花萼宽度,有刺,采集日期,编号,品种,prediction")
    # the project's own workbook again: its saved sheet is used without --sheet
    pred2 = tmp_path / "pred2.csv"
    assert main(["predict", str(out), "--data", str(p), "--out", str(pred2)]) == 0, capsys.readouterr().err
    assert pred2.read_bytes() == raw
    capsys.readouterr()
    assert main(["train", str(g), "--data", str(p), "--sheet", "x", "--epochs", "1", "--out",
                 str(tmp_path / "y.nnsp")]) == 1
    assert "no sheet named 'x'" in capsys.readouterr().err
