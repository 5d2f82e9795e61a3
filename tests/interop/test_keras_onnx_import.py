"""ONNX import of Keras 3 models converted by tf2onnx (no TensorFlow needed to run these tests).

The fixtures in ``tests/data/keras/`` were made by ``tests/data/keras/make.py`` (TensorFlow 2.x CPU,
``tf2onnx.convert.from_function``, opset 17): ``{name}.onnx`` and ``{name}.npz`` with ``x`` (the input,
Keras's channels-last layout) and ``y`` (Keras's own predictions).  For each model:

* NN Studio's predictions equal Keras's (float32 rounding);
* NN Studio's ONNX export of the imported model gives the same answers in onnxruntime.

``bigru.onnx`` (Keras 3 ``Bidirectional(GRU)``) is written by tf2onnx as ``Loop`` nodes, which NN Studio
refuses with a message that says what to do.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from engine.export.onnx_export import build_onnx
from engine.model import compile_graph
from engine.onnx_import import OnnxImportError, import_onnx, to_nn_layout, to_onnx_layout

pytestmark = pytest.mark.interop
DATA = Path(__file__).resolve().parents[1] / "data" / "keras"
ATOL, RTOL = 2e-6, 1e-5

#: the NN Studio layers each Keras model must become (exactly: no extra Reshape/Transpose/BatchNorm)
LAYERS = {
    "mlp": ["Input.v1", "Dense.v1", "Dense.v1"],
    "cnn": ["Input.v1", "Conv2D.v1", "MaxPool2D.v1", "Conv2D.v1", "Flatten.v1", "Dense.v1"],
    "lstm": ["Input.v1", "LSTM.v1", "Dense.v1"],
    # one LSTM with Bidirectional on (merge_mode concat), not two layers and a Concatenate
    "bilstm": ["Input.v1", "LSTM.v1", "Dense.v1"],
    "conv1d": ["Input.v1", "Conv1D.v1", "Conv1D.v1", "Conv1D.v1", "GlobalAvgPool.v1", "Dense.v1"],
}


def _imported(name):
    res = import_onnx(DATA / f"{name}.onnx")
    model = compile_graph(res.project.graph)
    model.load_state_dict(res.project.weights)
    d = np.load(DATA / f"{name}.npz")
    (inp, axes), = res.input_axes.items()
    return res, model, to_nn_layout(d["x"], axes), d["y"]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_keras_predictions_equal(name):
    res, model, x, y = _imported(name)
    assert [n.type for n in res.project.graph.nodes] == LAYERS[name]
    got = to_onnx_layout(np.asarray(model.predict(x)), res.output_axes)
    np.testing.assert_allclose(got.reshape(y.shape), y, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_keras_model_reexports_to_onnxruntime(name):
    _, model, x, y = _imported(name)
    mp = build_onnx(model)
    sess = ort.InferenceSession(mp.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x.astype(np.float32)})[0]
    np.testing.assert_allclose(got.reshape(y.shape), y, atol=ATOL, rtol=RTOL)


def test_keras_conv1d_settings():
    """tf2onnx's Conv1D (Unsqueeze/Transpose, a 2-D Conv with a (1, k) kernel, Squeeze) keeps Keras's
    padding, strides, dilation and biases."""
    res, *_ = _imported("conv1d")
    convs = [n.config for n in res.project.graph.nodes if n.type == "Conv1D.v1"]
    assert [(c["filters"], c["kernel_size"], c["strides"], c["padding"], c["dilation"], c["use_bias"])
            for c in convs] == [(4, 3, 1, "same", 1, True), (3, 2, 2, "valid", 1, True),
                                (3, 3, 1, "same", 2, True)]
    assert [c.get("activation") for c in convs] == ["relu", "tanh", None]


def test_keras_bidirectional_lstm_is_one_layer():
    res, *_ = _imported("bilstm")
    lstm = next(n for n in res.project.graph.nodes if n.type == "LSTM.v1")
    assert lstm.config == {"units": 5, "return_sequences": False, "bidirectional": True, "merge_mode": "concat"}


def test_keras_gru_loop_is_refused_with_what_to_do():
    with pytest.raises(OnnxImportError) as exc:
        import_onnx(DATA / "bigru.onnx")
    text = str(exc.value)
    assert "there is no NN Studio layer for Loop" in text
    assert "use an LSTM in Keras" in text
