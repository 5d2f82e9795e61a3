"""ONNX export: onnx.checker, onnxruntime outputs equal NN Studio's, clear errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.export import ExportError, export_model, onnx_export
from engine.export.onnx_export import build_onnx
from engine.model import compile_graph
from engine.spec import sequential
from tests.engine.test_export_models import GRAPHS, build, randomise, rel_err, sample_input

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run_ort(mp, x):
    sess = ort.InferenceSession(mp.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(["output"], {"input": x})[0]


@pytest.mark.parametrize("name", list(GRAPHS))
def test_onnx_matches_engine(tmp_path, name):
    model = build(name)
    x = sample_input(model, n=6)
    files = export_model(model, "onnx", tmp_path / "m", {"class_names": ["a", "b"]})
    assert [f.name for f in files] == ["m.onnx", "m.onnx.json"]
    mp = onnx.load(str(files[0]))
    onnx.checker.check_model(mp)
    assert mp.opset_import[0].version == 17
    inp = mp.graph.input[0]
    assert inp.name == "input" and inp.type.tensor_type.shape.dim[0].dim_param == "batch"
    props = {p.key: p.value for p in mp.metadata_props}
    assert json.loads(props["nnstudio"])["layer_order"] == model.order
    y = run_ort(mp, x)
    assert y.shape == (6, *model.output_shape)
    assert rel_err(y, model.predict(x)) <= 1e-5
    # a different batch size works (dynamic batch axis)
    assert rel_err(run_ort(mp, x[:1]), model.predict(x[:1])) <= 1e-5


@pytest.mark.parametrize("opset", [13, 18])
def test_other_opsets(opset):
    for name in list(GRAPHS):
        model = build(name, seed=3)
        x = sample_input(model, n=3)
        mp = build_onnx(model, None, opset=opset)
        assert mp.opset_import[0].version == opset
        assert rel_err(run_ort(mp, x), model.predict(x)) <= 1e-5


def _seq_model(layers, seed=0):
    model = compile_graph(sequential(layers), seed=seed)
    randomise(model, seed)
    return model


SEQUENCE_CASES = {
    "lstm_seq": [("Input.v1", {"shape": [5, 3]}), ("LSTM.v1", {"units": 4, "return_sequences": True}),
                 ("LayerNorm.v1", {"epsilon": 1e-3}), ("GRU.v1", {"units": 3}), ("Dense.v1", {"units": 2})],
    "gru_seq_rnn": [("Input.v1", {"shape": [6, 2]}), ("GRU.v1", {"units": 5, "return_sequences": True}),
                    ("SimpleRNN.v1", {"units": 3, "return_sequences": True}), ("SimpleRNN.v1", {"units": 4}),
                    ("Dense.v1", {"units": 3, "activation": "softmax"})],
    "lstm_last": [("Input.v1", {"shape": [4, 3]}), ("LSTM.v1", {"units": 5}), ("Dense.v1", {"units": 1})],
    # issue #15: bidirectional (concat and sum), GRU linear_before_reset=0, ReverseSequence
    "bi_gru": [("Input.v1", {"shape": [6, 3]}),
               ("GRU.v1", {"units": 4, "bidirectional": True, "return_sequences": True}),
               ("GRU.v1", {"units": 3, "bidirectional": True, "merge_mode": "sum"}), ("Dense.v1", {"units": 2})],
    "bi_lstm_rnn": [("Input.v1", {"shape": [5, 3]}),
                    ("LSTM.v1", {"units": 3, "bidirectional": True, "return_sequences": True, "merge_mode": "sum"}),
                    ("ReverseSequence.v1", {}),
                    ("LSTM.v1", {"units": 2, "bidirectional": True}),
                    ("Dense.v1", {"units": 2})],
    "bi_rnn": [("Input.v1", {"shape": [5, 2]}),
               ("SimpleRNN.v1", {"units": 3, "bidirectional": True, "return_sequences": True}),
               ("SimpleRNN.v1", {"units": 2, "bidirectional": True, "merge_mode": "sum", "return_sequences": True}),
               ("Flatten.v1", {}), ("Dense.v1", {"units": 2})],
    "gru_reset_first": [("Input.v1", {"shape": [5, 2]}),
                        ("GRU.v1", {"units": 4, "linear_before_reset": False, "return_sequences": True}),
                        ("GRU.v1", {"units": 3, "linear_before_reset": False, "bidirectional": True}),
                        ("Dense.v1", {"units": 2})],
    # the MNIST-1D paper's GRU model: nn.GRU(1, 6, bidirectional=True) over 40 steps, flatten, Linear
    "mnist1d_gru": [("Input.v1", {"shape": [40, 1]}),
                    ("GRU.v1", {"units": 6, "bidirectional": True, "return_sequences": True}),
                    ("Flatten.v1", {}), ("Dense.v1", {"units": 10})],
    "attention": [("Input.v1", {"shape": [5, 8]}), ("MultiHeadAttention.v1", {"num_heads": 2}),
                  ("LayerNorm.v1", {}), ("MultiHeadAttention.v1", {"num_heads": 4, "causal": True}),
                  ("GlobalAvgPool.v1", {}), ("Dense.v1", {"units": 2})],
}


@pytest.mark.parametrize("case", list(SEQUENCE_CASES))
def test_sequence_layers_match(case):
    layers = SEQUENCE_CASES[case]
    model = _seq_model(layers)
    x = sample_input(model, n=4)
    for opset in (17, 13):
        assert rel_err(run_ort(build_onnx(model, None, opset=opset), x), model.predict(x)) <= 1e-5


def test_embedding_token_ids():
    layers = [("Input.v1", {"shape": [6]}), ("Embedding.v1", {"vocab_size": 11, "dim": 4}),
              ("LSTM.v1", {"units": 3}), ("Dense.v1", {"units": 2})]
    model = _seq_model(layers)
    x = np.random.default_rng(0).integers(0, 11, (5, 6)).astype(np.float32)
    assert rel_err(run_ort(build_onnx(model), x), model.predict(x)) <= 1e-5


def test_bad_opset():
    with pytest.raises(ExportError, match="opset"):
        build_onnx(build("dense"), opset=5)
    with pytest.raises(ExportError, match="opset"):
        export_model(build("dense"), "onnx", "unused.onnx", opset=onnx_export.max_opset() + 1)


def test_two_input_graph():
    from tests.engine.test_export_models import _graph

    spec = _graph([("n1", "Input.v1", {"shape": [3]}), ("n2", "Input.v1", {"shape": [2]}),
                   ("n3", "Dense.v1", {"units": 4, "activation": "tanh"}), ("n4", "Concatenate.v1", {}),
                   ("n5", "Dense.v1", {"units": 2, "activation": "softmax"})],
                  [("n1", "n3"), ("n3", "n4", 0), ("n2", "n4", 1), ("n4", "n5")])
    model = compile_graph(spec)
    randomise(model)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(4, 2)).astype(np.float32)
    mp = build_onnx(model)
    assert [i.name for i in mp.graph.input] == ["input_n1", "input_n2"]
    sess = ort.InferenceSession(mp.SerializeToString(), providers=["CPUExecutionProvider"])
    y = sess.run(["output"], {"input_n1": a, "input_n2": b})[0]
    assert rel_err(y, model.predict([a, b])) <= 1e-5


# ------------------------------------------------------------ layer options (issue #15)
def test_average_pooling_dilation_needs_opset_19():
    layers = [("Input.v1", {"shape": [7, 6, 2]}),
              ("AvgPool2D.v1", {"pool_size": 2, "strides": 1, "dilation": 2, "padding": "explicit",
                                "pads": [1, 0, 0, 1], "ceil_mode": True, "count_include_pad": True}),
              ("AvgPool2D.v1", {"pool_size": 3, "strides": 2, "dilation": 2, "ceil_mode": True}),
              ("Flatten.v1", {}), ("Dense.v1", {"units": 2})]
    model = _seq_model(layers)
    with pytest.raises(ExportError, match=r"AvgPool2D 'n2' to ONNX: average pooling with dilation needs "
                                          r"ONNX opset 19 or newer \(asked for 17\)"):
        build_onnx(model)
    x = sample_input(model, n=3)
    assert rel_err(run_ort(build_onnx(model, None, opset=19), x), model.predict(x)) <= 1e-5


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_gelu_forms_at_every_opset(opset):
    layers = [("Input.v1", {"shape": [6]}), ("GELU.v1", {"approximate": "none"}), ("Dense.v1", {"units": 5}),
              ("GELU.v1", {"approximate": "tanh"}), ("Dense.v1", {"units": 3, "activation": "gelu"})]
    model = _seq_model(layers)
    x = sample_input(model, n=4) * 3
    mp = build_onnx(model, None, opset=opset)
    assert ("Gelu" in {n.op_type for n in mp.graph.node}) == (opset >= 20)
    assert rel_err(run_ort(mp, x), model.predict(x)) <= 1e-5


def test_layer_options_against_the_onnx_reference_evaluator():
    """A second oracle besides onnxruntime: the onnx package's reference implementation."""
    from onnx.reference import ReferenceEvaluator

    from tests.engine.test_export_models import build

    for name in ("conv2d_options", "conv1d_options", "activation_options"):
        model = build(name)
        x = sample_input(model, n=3)
        y = ReferenceEvaluator(build_onnx(model)).run(["output"], {"input": x})[0]
        assert rel_err(y, model.predict(x)) <= 1e-5, name
    for case in ("bi_gru", "gru_reset_first", "bi_rnn", "bi_lstm_rnn"):
        model = _seq_model(SEQUENCE_CASES[case])
        x = sample_input(model, n=3)
        y = ReferenceEvaluator(build_onnx(model)).run(["output"], {"input": x})[0]
        assert rel_err(y, model.predict(x)) <= 1e-5, case
