"""The ONNX specification's own node tests, imported into NN Studio and run by its engine.

Data: ``tests/interop/data/onnx_node`` (see its README).  The harness follows the conventions of
the ONNX backend test runner with two adaptations an importer needs: graph inputs after the data
(weights, biases, statistics) become initializers, since NN Studio layers own their weights, and
auxiliary outputs (LayerNormalization's mean, an LSTM's last state) are dropped, since an NN Studio
model has one output.  Recurrent tests declare their batch axis (axis 1 of a time-major input) open.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import numpy_helper

from engine.model import compile_graph
from engine.onnx_import import to_nn_layout, to_onnx_layout
from engine.onnx_import.convert import convert_model

DATA = Path(__file__).parent / "data" / "onnx_node"
#: operators whose node-test inputs are all data (several NN Studio Input nodes)
DATA_OPS = {"Add", "Sum", "Concat"}

#: every kept node test imports: the ones once refused (ceil_mode, explicit pads, GRU
#: linear_before_reset=0, the LeakyReLU slope, Softmax over axis 1) map onto the layer options of
#: issue #15; refusals with the option named are tested in tests/engine/test_onnx_import.py
CASES = sorted(p.name for p in DATA.iterdir() if p.is_dir())


def _load(name: str):
    folder = DATA / name
    model = onnx.load(str(folder / "model.onnx"))
    sets = folder / "test_data_set_0"
    ins = [numpy_helper.to_array(onnx.load_tensor(str(p))) for p in sorted(sets.glob("input_*.pb"))]
    outs = [numpy_helper.to_array(onnx.load_tensor(str(p))) for p in sorted(sets.glob("output_*.pb"))]
    g = model.graph
    op = g.node[0].op_type
    n_data = len(ins) if op in DATA_OPS else 1
    for vi, arr in list(zip(g.input, ins))[n_data:]:
        g.initializer.append(numpy_helper.from_array(arr, vi.name))
    if op in ("LSTM", "GRU", "RNN"):
        layout = next((a.i for a in g.node[0].attribute if a.name == "layout"), 0)
        dim = g.input[0].type.tensor_type.shape.dim[1 if layout == 0 else 0]
        dim.ClearField("dim_value")
        dim.dim_param = "batch"
    while len(g.output) > 1:
        g.output.pop()
    return model, ins[:n_data], outs[0]


def test_the_data_is_there():
    assert len(CASES) >= 60, CASES


@pytest.mark.parametrize("name", CASES)
def test_node(name):
    model, ins, want = _load(name)
    input_names = [vi.name for vi in model.graph.input][:len(ins)]
    res = convert_model(model, f"{name}.onnx")
    m = compile_graph(res.project.graph)
    m.load_state_dict(res.project.weights)
    xs = [to_nn_layout(x, res.input_axes[n]).astype(np.float32) for x, n in zip(ins, input_names)]
    got = to_onnx_layout(m.predict(xs if len(xs) > 1 else xs[0]), res.output_axes)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
