"""The data panel tells the truth: skipped rows are rows, a summary belongs to its file, the task follows the target."""
from __future__ import annotations

from engine.data import DataSpec, load_dataset, preview_csv
from widgets.data_panel import DataPanel, report_counts


def _panel(qtbot):
    p = DataPanel()
    qtbot.addWidget(p)
    p.kind.setCurrentIndex(p.kind.findData("csv"))
    return p


def _preview(p, path):
    p.path.setText(str(path))
    p._request_preview()
    p.show_csv_preview(preview_csv(str(path)))


def test_mean_filled_cells_are_not_counted_as_skipped_rows(qtbot, tmp_path):
    f = tmp_path / "holes.csv"
    rows = ["a,b,y"] + [f"{'' if i in (1, 4, 7) else i},{i * 2},{i % 2}" for i in range(20)] + ["3,4,"]
    f.write_text("\n".join(rows) + "\n")
    ds = load_dataset(DataSpec(kind="csv", path=str(f), target="y").validate())
    counts = report_counts(ds.report)
    assert counts == {"rows": 1, "files": 0, "filled": 3, "columns": 0}   # 1 row without a target, 3 cells filled
    p = _panel(qtbot)
    _preview(p, f)
    p.set_loaded(ds.summary(), ds.report)
    text = p.summary.text()
    assert "1 rows skipped" in text and "3 missing values filled" in text
    assert "4 rows" not in text and "rows/files" not in text
    assert "filled" in p.summary.toolTip()


def test_a_file_without_problems_reports_nothing_skipped(qtbot, tmp_path):
    f = tmp_path / "ok.csv"
    f.write_text("a,b,y\n" + "".join(f"{i},{i + 1},{i % 2}\n" for i in range(10)))
    ds = load_dataset(DataSpec(kind="csv", path=str(f), target="y").validate())
    p = _panel(qtbot)
    p.set_loaded(ds.summary(), ds.report)
    assert "skipped" not in p.summary.text() and "filled" not in p.summary.text()


def test_a_previous_data_sets_summary_does_not_stay_under_a_new_file(qtbot, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for f in (a, b):
        f.write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(10)))
    ds = load_dataset(DataSpec(kind="csv", path=str(a), target="y").validate())
    p = _panel(qtbot)
    _preview(p, a)
    p.set_loaded(ds.summary(), ds.report)
    assert p.summary.text().startswith("loaded: 10 samples")
    _preview(p, a)                                 # the same file again: still true
    assert p.summary.text().startswith("loaded: 10 samples")
    _preview(p, b)                                 # another file: not loaded yet
    assert p.summary.text() == "no data loaded"
    p.set_loaded(ds.summary(), ds.report)
    p.kind.setCurrentIndex(p.kind.findData("sample"))   # another kind of source
    assert p.summary.text() == "no data loaded"


def test_the_proposed_task_follows_the_chosen_target(qtbot, tmp_path):
    f = tmp_path / "houses.csv"
    f.write_text("price,rooms,kind\n" + "".join(f"{100.5 + 7.25 * i},{i % 4},{'ab'[i % 2]}\n" for i in range(30)))
    p = _panel(qtbot)
    _preview(p, f)
    assert p.target.currentText() == "kind"
    assert "proposed task: classification" in p.preview_info.text()
    p.target.setCurrentText("price")              # a real-valued column: regression
    assert p.proposed_task() == "regression"
    assert "proposed task: regression" in p.preview_info.text()
    assert "classification" not in p.preview_info.text() and "classification" not in p.message.text()
    p.task.setCurrentIndex(p.task.findData("classification"))   # the user's choice wins, and says so
    assert "task: classification (chosen)" in p.preview_info.text()
    p.task.setCurrentIndex(p.task.findData(None))
    p.target.setCurrentText("rooms")              # few integer values: classification
    assert "proposed task: classification" in p.preview_info.text()
