"""Text columns in the Data and Predict panels (issue 12): detection shown, tokenizer settings in the
DataSpec, the loaded tokenizer's summary, and a sentence field in the Predict form."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from engine.data import DataSpec, load_dataset, preview_csv
from widgets.data_panel import DataPanel
from widgets.predict_panel import PredictPanel


def _reviews(tmp_path):
    f = tmp_path / "r.csv"
    lines = ["id,review,stars,label"] + [f"{i},this film was {'great' if i % 2 else 'dull'} number {i},{i % 5},"
                                         f"{'pos' if i % 2 else 'neg'}" for i in range(30)]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f


def test_data_panel_text_columns_settings_and_summary(qtbot, tmp_path):
    f = _reviews(tmp_path)
    p = DataPanel()
    qtbot.addWidget(p)
    p.kind.setCurrentIndex(p.kind.findData("csv"))
    p.path.setText(str(f))
    info = preview_csv(str(f))
    assert info["text_columns"] == ["review"]
    p.show_csv_preview(info)
    assert "(free text)" in p.table.horizontalHeaderItem(1).text()
    assert "(text)" not in p.table.horizontalHeaderItem(1).text()
    assert p.option_visible("text_columns") and p.option_visible("text_vocab")
    ticked = [p.text_columns.item(i).text() for i in range(p.text_columns.count())
              if p.text_columns.item(i).checkState() == Qt.Checked]
    assert ticked == ["review"]
    spec = p.spec()
    assert spec.text_columns is None and spec.text_mode == "auto" and spec.text_max_len is None  # as detected
    p.text_mode.setCurrentIndex(p.text_mode.findData("char"))
    p.text_vocab.setValue(50)
    p.text_max_len.setValue(12)
    p.text_columns.item(0).setCheckState(Qt.Checked)          # "id" chosen as text too
    spec = p.spec()
    assert (spec.text_columns, spec.text_mode, spec.text_vocab, spec.text_max_len) == (["id", "review"], "char", 50, 12)
    # the settings survive a project round trip
    q = DataPanel()
    qtbot.addWidget(q)
    q.set_spec(DataSpec.from_dict(spec.to_dict()))
    q.show_csv_preview(info)
    again = q.spec()
    assert (again.text_columns, again.text_mode, again.text_vocab, again.text_max_len) == \
        (["id", "review"], "char", 50, 12)
    # the loaded data's tokenizer summary
    ds = load_dataset(DataSpec(kind="csv", path=str(f), target="label", features=["review"]))
    p.set_loaded(ds.summary(), ds.report)
    assert p.text_summary.isVisibleTo(p)
    text = p.text_summary.text()
    assert "text 'review': word tokens" in text and f"vocabulary {ds.summary()['vocab_size']} ids" in text
    assert "unknown tokens in validation" in text
    p.reset()
    assert not p.text_summary.isVisibleTo(p)


def test_text_sample_shows_only_the_tokenizer_settings(qtbot):
    p = DataPanel()
    qtbot.addWidget(p)
    p.sample.setCurrentIndex(p.sample.findData("sentiment_zh"))
    assert "generated" in p.sample.currentText()
    assert p.option_visible("text_mode") and not p.option_visible("text_columns")
    p.sample.setCurrentIndex(p.sample.findData("iris"))
    assert not p.option_visible("text_mode")


def test_predict_panel_has_a_sentence_field_for_a_text_column(qtbot):
    pre = {"version": 2, "kind": "tabular", "task": "classification", "class_names": ["neg", "pos"],
           "columns": [{"name": "review", "type": "text",
                        "tokenizer": {"mode": "word", "max_len": 8, "tokens": ["good", "bad"], "lowercase": True}},
                       {"name": "stars", "type": "numeric", "fill": 2.0, "shift": 2.0, "scale": 1.0}],
           "input_shape": [9]}
    p = PredictPanel()
    qtbot.addWidget(p)
    p.set_preprocessing(pre)
    p.set_blocked(None)
    w = p.inputs["review"]
    assert isinstance(w, QLineEdit) and w.text() == "" and "free text" in w.toolTip() and "8 tokens" in w.toolTip()
    w.setText("  A good film ")
    with qtbot.waitSignal(p.predict_requested, timeout=1000) as blocker:
        w.returnPressed.emit()
    assert blocker.args[0] == {"review": "A good film", "stars": "2"}
    p.reset_values()
    assert w.text() == ""


def test_data_panel_inputs_groups(qtbot, tmp_path):
    import pytest

    from engine.data import DataError

    f = _reviews(tmp_path)
    p = DataPanel()
    qtbot.addWidget(p)
    assert not p.option_visible("inputs")                  # a sample: one input
    p.kind.setCurrentIndex(p.kind.findData("csv"))
    p.path.setText(str(f))
    p.show_csv_preview(preview_csv(str(f)))
    assert p.option_visible("inputs") and p.spec().inputs is None
    p.inputs.setText("num=id, stars; text=review")
    spec = p.spec()
    assert spec.inputs == {"num": ["id", "stars"], "text": ["review"]}
    q = DataPanel()
    qtbot.addWidget(q)
    q.set_spec(spec)
    assert q.inputs.text() == "num=id,stars; text=review"
    p.inputs.setText("num")
    with pytest.raises(DataError, match="groups such as"):
        p.spec()
    p.load_btn.click()
    assert "groups such as" in p.message.text()


def test_loaded_summary_names_each_input(qtbot, tmp_path):
    f = _reviews(tmp_path)
    ds = load_dataset(DataSpec(kind="csv", path=str(f), target="label", inputs={"num": ["stars"], "text": ["review"]}))
    p = DataPanel()
    qtbot.addWidget(p)
    p.set_loaded(ds.summary(), ds.report)
    assert f"input num 1, text {ds.input_shapes['text'][0]}" in p.summary.text()


def test_the_target_cannot_be_a_text_column(qtbot, tmp_path):
    f = _reviews(tmp_path)
    p = DataPanel()
    qtbot.addWidget(p)
    p.kind.setCurrentIndex(p.kind.findData("csv"))
    p.path.setText(str(f))
    p.show_csv_preview(preview_csv(str(f)))
    label = p.text_columns.item(3)
    assert label.text() == "label" and not (label.flags() & Qt.ItemIsEnabled)
    p.target.setCurrentText("review")
    review = p.text_columns.item(1)
    assert review.checkState() == Qt.Unchecked and not (review.flags() & Qt.ItemIsEnabled)
    assert p.text_columns.item(3).flags() & Qt.ItemIsEnabled
    assert p.spec().text_columns == []
