"""Text classification in the app (issue 12): the film-review sample, the LSTM template fitted to it,
a short run through the TrainingController, and a raw sentence typed into the Predict panel."""
from __future__ import annotations

import numpy as np
import pytest

from engine.io import Project
from tests.app import test_evaluation_ui as evaluation_tests

TIMEOUT = 120_000


def test_sentiment_sample_lstm_template_trains_and_predicts_a_sentence(qtbot, studio):
    from engine.evaluate import predict_rows
    from engine.model import compile_graph

    w, ctl, ui = studio.win, studio.ctl, studio.ui
    dp = w.training_ui.data_panel
    dp.sample.setCurrentIndex(dp.sample.findData("sentiment"))
    assert not dp.option_visible("text_columns") and dp.option_visible("text_mode")
    dp.text_max_len.setValue(16)
    dp.load_btn.click()
    qtbot.waitUntil(lambda: ctl.dataset is not None and w.document.data_info is not None, timeout=TIMEOUT)
    assert ctl.dataset.input_shape == (16,)
    vocab = ctl.dataset.summary()["vocab_size"]
    assert dp.text_summary.isVisibleTo(dp) and "text 'text'" in dp.text_summary.text()
    assert f"vocabulary {vocab:,} ids" in dp.text_summary.text()
    w.actions["template_lstm"].trigger()
    w.actions["fit_to_data"].trigger()
    nodes = {n.type: n for n in w.document.spec.nodes}
    assert nodes["Input.v1"].config["shape"] == [16]
    assert nodes["Embedding.v1"].config["vocab_size"] == vocab
    studio.train(2)
    doc = w.document
    assert doc.preprocessing["columns"][0]["type"] == "text"
    pp = ui.predict_panel
    assert pp.kind == "tabular" and list(pp.inputs) == ["text"] and pp.predict_btn.isEnabled()
    assert "free text" in pp.inputs["text"].toolTip()
    sentence = "the soundtrack was truly wonderful, highly recommended."
    pp.inputs["text"].setText(sentence)
    with qtbot.waitSignal(ui.predicted, timeout=TIMEOUT) as blocker:
        pp.predict_btn.click()
    res = blocker.args[0]
    assert res["names"] == ["negative", "positive"] and sum(res["probs"]) == pytest.approx(1.0)
    # the same answer as the engine (and the CLI's predict --row) gives for that raw sentence
    model = compile_graph(doc.spec)
    model.load_state_dict(doc.weights)
    (want,) = predict_rows(model, Project(graph=doc.spec, weights=doc.weights,
                                          preprocessing=doc.preprocessing), [{"text": sentence}])
    np.testing.assert_allclose(res["probs"], [want["probabilities"][n] for n in res["names"]], rtol=1e-6)
    assert pp.value.text().startswith(want["prediction"])


make_window = evaluation_tests.make_window   # the fixture: a window with a trained project in its document


def test_predict_panel_feeds_a_two_input_model(qtbot, make_window, tmp_path):
    from engine.data import DataSpec, load_dataset
    from engine.evaluate import predict_rows
    from engine.fit import fit_to_data
    from engine.jobs import trained_model
    from engine.templates import text_and_numbers
    from engine.trainer import TrainConfig, Trainer, TrainFinished
    from tests.engine.test_data_inputs import table

    src = tmp_path / "t.csv"
    table(120).to_csv(src, index=False)
    spec = DataSpec(kind="csv", path=str(src), target="buy", inputs={"num": ["stars", "price"], "text": ["review"]})
    ds = load_dataset(spec)
    graph = fit_to_data(text_and_numbers(), ds).spec
    cfg = TrainConfig(epochs=3, batch_size=16, lr=0.01)
    state = next(ev.state for ev in Trainer(graph, ds, cfg).run() if isinstance(ev, TrainFinished))
    project = Project(graph=graph, train_config=cfg.to_dict(), data_spec=spec.to_dict(),
                      preprocessing=ds.preprocessing, weights=state, metadata={"name": "two"})
    w, ui = make_window(project)
    pp = ui.predict_panel
    assert list(pp.inputs) == ["stars", "price", "review"] and pp.predict_btn.isEnabled()
    row = {"stars": "4", "price": "9", "review": "a great film seen today"}
    pp.set_values(row)
    with qtbot.waitSignal(ui.predicted, timeout=TIMEOUT) as blocker:
        pp.predict_btn.click()
    (want,) = predict_rows(trained_model(graph, state), project, [row])
    np.testing.assert_allclose(blocker.args[0]["probs"], [want["probabilities"][n] for n in ("no", "yes")], rtol=1e-6)
    with qtbot.waitSignal(ui.evaluated, timeout=TIMEOUT) as blocker:
        w.actions["evaluate"].trigger()
    assert blocker.args[0]["n"] == ds.n("val") and blocker.args[0]["metrics"]["accuracy"] >= 0.5


def test_a_table_with_a_text_field_trains_two_inputs_in_the_app(qtbot, tmp_path, studio):
    from tests.engine.test_data_inputs import table

    src = tmp_path / "t.csv"
    table(120).to_csv(src, index=False)
    w, ctl, ui = studio.win, studio.ctl, studio.ui
    dp = w.training_ui.data_panel
    dp.kind.setCurrentIndex(dp.kind.findData("csv"))
    dp.path.setText(str(src))
    dp.inputs.setText("num=stars,price; text=review")
    dp.load_btn.click()
    qtbot.waitUntil(lambda: ctl.dataset is not None and w.document.data_info is not None, timeout=TIMEOUT)
    assert set(ctl.dataset.input_shapes) == {"num", "text"}
    w.actions["template_text_table"].trigger()
    assert not w.actions["train"].isEnabled()          # Input shapes differ: the fit is offered
    w.actions["fit_to_data"].trigger()
    studio.train(2)
    pp = ui.predict_panel
    pp.set_values({"stars": "5", "price": "9", "review": "a great film"})
    with qtbot.waitSignal(ui.predicted, timeout=TIMEOUT) as blocker:
        pp.predict_btn.click()
    assert sum(blocker.args[0]["probs"]) == pytest.approx(1.0)
