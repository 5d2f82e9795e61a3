"""DataPanel with a GBK CSV: the detected encoding is shown, headers read Chinese, the Encoding box re-reads."""
from __future__ import annotations

from engine.data import DataSpec, preview_csv
from widgets.data_panel import DataPanel

HEAD = ["花萼长度", "花萼宽度", "品种"]
ROWS = [("5.1", "3.5", "山鸢尾"), ("7.0", "3.2", "变色鸢尾"), ("6.3", "3.3", "维吉尼亚鸢尾")] * 10


def _gbk_file(tmp_path):
    f = tmp_path / "鸢尾.csv"
    f.write_bytes(("\n".join(",".join(r) for r in [HEAD, *ROWS]) + "\n").encode("gbk"))
    return f


def test_gbk_file_shows_detected_encoding_and_chinese_headers(qtbot, tmp_path):
    f = _gbk_file(tmp_path)
    p = DataPanel()
    qtbot.addWidget(p)
    p.kind.setCurrentIndex(p.kind.findData("csv"))
    requested = []
    p.preview_requested.connect(requested.append)
    p.path.setText(str(f))
    p._request_preview()
    spec = requested[-1]
    assert spec.encoding == "auto"
    p.show_csv_preview(preview_csv(spec.path, encoding=spec.encoding))  # what the app's worker does
    assert "encoding: GB18030 (GBK) (detected)" in p.message.text()
    headers = [p.table.horizontalHeaderItem(j).text().split("\n")[0] for j in range(p.table.columnCount())]
    assert headers == HEAD
    assert p.table.item(0, 2).text() == "山鸢尾"
    assert p.target.currentText() == "品种"
    p.target.setCurrentText("品种")

    # choosing an encoding asks for a new preview with it, and the spec carries it (saved in the project)
    n = len(requested)
    p.encoding.setCurrentIndex(p.encoding.findData("big5"))
    assert len(requested) == n + 1 and requested[-1].encoding == "big5"
    p.encoding.setCurrentIndex(p.encoding.findData("gb18030"))
    spec = requested[-1]
    assert spec.encoding == "gb18030"
    p.show_csv_preview(preview_csv(spec.path, encoding=spec.encoding))
    assert "encoding: GB18030 (GBK) (chosen)" in p.message.text()
    assert p.spec().encoding == "gb18030" and p.spec().target == "品种"
    d = p.spec().to_dict()
    assert d["encoding"] == "gb18030"

    # a saved spec puts the encoding back into the box, without a preview storm
    q = DataPanel()
    qtbot.addWidget(q)
    q.set_spec(DataSpec(kind="csv", path=str(f), encoding="shift_jis"))
    assert q.current_encoding() == "shift_jis"
    seen = []
    q.preview_requested.connect(seen.append)
    q._request_preview()  # the project's own file: the saved encoding is kept
    assert seen[-1].encoding == "shift_jis"

    # another file: an encoding chosen for the first one is not applied to it
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,x\n", encoding="utf-8")
    p.path.setText(str(other))
    p.path.editingFinished.emit()
    assert requested[-1].encoding == "auto" and p.current_encoding() == "auto"
    p.encoding.setCurrentIndex(p.encoding.findData("cp1252"))
    assert requested[-1].encoding == "cp1252" and requested[-1].path == str(other)


def test_a_wrong_chosen_encoding_shows_the_clear_message(qtbot, tmp_path):
    from engine.data import DataError

    f = _gbk_file(tmp_path)
    p = DataPanel()
    qtbot.addWidget(p)
    p.kind.setCurrentIndex(p.kind.findData("csv"))
    p.path.setText(str(f))
    try:
        preview_csv(str(f), encoding="utf-8")
    except DataError as exc:
        p.show_error(str(exc))
    assert "鸢尾.csv, line 1 (byte 0): cannot be decoded as UTF-8" in p.message.text()
    assert "Encoding box" in p.message.text()


def test_workbook_shows_the_sheet_box_and_rereads_on_a_new_sheet(qtbot, tmp_path):
    import openpyxl

    f = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "一"
    wb.active.append(["a", "label"])
    for i in range(8):
        wb.active.append([i, "是" if i % 2 else "否"])
    ws = wb.create_sheet("二")
    ws.append(["品种", "x"])
    for i in range(8):
        ws.append(["甲" if i % 2 else "乙", i])
    wb.save(f)
    p = DataPanel()
    qtbot.addWidget(p)
    p.kind.setCurrentIndex(p.kind.findData("csv"))
    requested = []
    p.preview_requested.connect(requested.append)
    p.path.setText(str(f))
    p._request_preview()
    spec = requested[-1]
    assert spec.sheet is None
    p.show_csv_preview(preview_csv(spec.path, sheet=spec.sheet))
    assert [p.sheet.itemText(i) for i in range(p.sheet.count())] == ["一", "二"]
    assert not p.sheet.isHidden() and p.encoding.isHidden()
    assert "sheet '一' (2 sheets)" in p.message.text()
    p.sheet.setCurrentText("二")
    spec = requested[-1]
    assert spec.sheet == "二"
    p.show_csv_preview(preview_csv(spec.path, sheet=spec.sheet))
    headers = [p.table.horizontalHeaderItem(j).text().split("\n")[0] for j in range(p.table.columnCount())]
    assert headers == ["品种", "x"] and p.spec().sheet == "二"
    q = DataPanel()
    qtbot.addWidget(q)
    q.set_spec(p.spec())
    assert q.spec().sheet == "二"
