"""The ONNX specification's own node tests that the layer options of issue #15 make expressible.

The test cases (a one-node model, its inputs and the expected outputs, computed by the
reference implementations in the onnx package) are generated in memory by
``onnx.backend.test.case.node.collect_testcases`` — the installed wheel ships the
generators, not the data files.  Each case here is mapped by hand onto NN Studio layers
(the mapping an importer makes: NCHW -> channels-last, ONNX gate order -> PyTorch's, ONNX
``pads`` -> ``padding: explicit``), run in float64 and compared with the expected outputs
(float32 data: rtol 1e-5).  ``NEW`` lists the cases that could not be expressed before
these options; ``BEFORE`` a few that could (they check that the mapping is right).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from engine.export import layouts as L
from engine.registry import Ctx, build_layer

onnx = pytest.importorskip("onnx")
pytestmark = pytest.mark.interop

#: node tests that need the new options (padding explicit / per side, ceil_mode,
#: count_include_pad, pooling dilation, GlobalMaxPool, activation settings, Softmax axis,
#: GRU linear_before_reset=0, bidirectional, direction=reverse via ReverseSequence)
NEW = [
    "test_maxpool_2d_pads", "test_maxpool_2d_same_lower", "test_maxpool_2d_ceil",
    "test_maxpool_2d_ceil_output_size_reduce_by_one", "test_maxpool_2d_dilations",
    "test_averagepool_2d_pads", "test_averagepool_2d_pads_count_include_pad",
    "test_averagepool_2d_precomputed_pads_count_include_pad", "test_averagepool_2d_same_lower",
    "test_averagepool_2d_ceil", "test_averagepool_2d_ceil_last_window_starts_on_pad",
    "test_averagepool_2d_dilations",
    "test_conv_with_strides_and_asymmetric_padding",
    "test_globalmaxpool", "test_globalmaxpool_precomputed",
    "test_leakyrelu", "test_leakyrelu_example", "test_elu", "test_elu_example",
    "test_gelu_default_1", "test_gelu_default_2", "test_softmax_axis_1",
    "test_gru_defaults", "test_gru_with_initial_bias", "test_gru_seq_length", "test_gru_batchwise",
    "test_gru_reverse", "test_gru_bidirectional",
    "test_simple_rnn_reverse", "test_simple_rnn_bidirectional",
]
#: expressible before: the same mapping must pass them too
BEFORE = [
    "test_maxpool_2d_default", "test_maxpool_1d_default", "test_maxpool_2d_precomputed_same_upper",
    "test_maxpool_2d_precomputed_pads", "test_averagepool_2d_precomputed_pads", "test_averagepool_2d_strides",
    "test_basic_conv_with_padding", "test_conv_with_strides_padding", "test_conv_with_autopad_same",
    "test_leakyrelu_default", "test_elu_default", "test_gelu_tanh_2", "test_softmax_axis_2",
    "test_globalaveragepool", "test_simple_rnn_defaults", "test_lstm_defaults", "test_lstm_batchwise",
]
#: cases whose expected outputs are written out to 4 digits in the onnx sources (their rtol is 1e-3)
ROUNDED = {"test_averagepool_2d_ceil_last_window_starts_on_pad": 1e-3}
#: only partly expressible: the hidden state Y_h is, the LSTM cell state output Y_c is not
HIDDEN_ONLY = ["test_lstm_reverse", "test_lstm_bidirectional"]


@pytest.fixture(scope="module")
def cases():
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some unrelated generators warn about casts
        return {c.name: c for c in collect_testcases()}


def _attrs(node):
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def _square(values, what):
    assert len(set(values)) == 1, f"{what} {values} is not the same on every axis"
    return int(values[0])


def _padding(attrs, spatial, k, s, d):
    """ONNX auto_pad / pads -> NN Studio padding settings."""
    auto = attrs.get("auto_pad", "NOTSET")
    nd = len(spatial)
    if auto == "SAME_UPPER":
        return {"padding": "same"}
    if auto == "SAME_LOWER":  # the odd extra padding goes first: explicit amounts for this size
        before, after = zip(*(L.same_pads(n, k, s, d, lower=True) for n in spatial))
        return {"padding": "explicit", "pads": [*before, *after]}
    if auto == "VALID":
        return {"padding": "valid"}
    pads = list(attrs.get("pads", [0] * 2 * nd))
    return {"padding": "explicit", "pads": pads} if any(pads) else {"padding": "valid"}


def _run(type_id, config, x, params=None):
    layer = build_layer(type_id, config)
    y, _ = layer.forward(params or {}, {}, [np.asarray(x, np.float64)], Ctx())
    return y


def _last(x):
    return L.to_channels_last(np.asarray(x, np.float64))


def _first(y):
    return L.to_channels_first(y)


def run_pool(node, attrs, ins):
    x = ins[0]
    spatial = x.shape[2:]
    nd = len(spatial)
    k = _square(attrs["kernel_shape"], "kernel_shape")
    s = _square(attrs.get("strides", [1] * nd), "strides")
    d = _square(attrs.get("dilations", [1] * nd), "dilations")
    cfg = {"pool_size": k, "strides": s, "dilation": d, "ceil_mode": bool(attrs.get("ceil_mode", 0)),
           **_padding(attrs, spatial, k, s, d)}
    kind = "Max" if node.op_type == "MaxPool" else "Avg"
    if kind == "Avg":
        cfg["count_include_pad"] = bool(attrs.get("count_include_pad", 0))
    return [_first(_run(f"{kind}Pool{nd}D.v1", cfg, _last(x)))]


def run_conv(node, attrs, ins):
    x, w = ins[0], ins[1]
    spatial = x.shape[2:]
    nd = len(spatial)
    assert attrs.get("group", 1) == 1
    k = _square(attrs.get("kernel_shape", w.shape[2:]), "kernel_shape")
    s = _square(attrs.get("strides", [1] * nd), "strides")
    d = _square(attrs.get("dilations", [1] * nd), "dilations")
    cfg = {"filters": int(w.shape[0]), "kernel_size": k, "strides": s, "dilation": d, "use_bias": len(ins) > 2,
           **_padding(attrs, spatial, k, s, d)}
    p = {"W": L.conv_from_torch(np.asarray(w, np.float64))}
    if len(ins) > 2:
        p["b"] = np.asarray(ins[2], np.float64)
    return [_first(_run(f"Conv{nd}D.v1", cfg, _last(x), p))]


def run_global_pool(node, attrs, ins):
    x = ins[0]
    kind = "Max" if node.op_type == "GlobalMaxPool" else "Avg"
    y = _run(f"Global{kind}Pool.v1", {}, _last(x))
    return [y.reshape(*y.shape, *([1] * (x.ndim - 2)))]


def run_activation(node, attrs, ins):
    x = np.asarray(ins[0], np.float64)
    one = x.reshape(1, *x.shape)  # ONNX has no batch axis here: NN Studio's batch of one sample
    op = node.op_type
    if op == "LeakyRelu":
        y = _run("LeakyReLU.v1", {"negative_slope": float(attrs.get("alpha", 0.01))}, one)
    elif op == "Elu":
        y = _run("ELU.v1", {"alpha": float(attrs.get("alpha", 1.0))}, one)
    elif op == "Gelu":
        y = _run("GELU.v1", {"approximate": attrs.get("approximate", "none")}, x.reshape(1, -1))
    else:  # Softmax: the ONNX axis counts the leading axis, which NN Studio sees as axis 1 of a sample
        axis = attrs.get("axis", -1)
        assert axis != 0 or x.ndim == 1
        y = _run("Softmax.v1", {"axis": axis + 1 if axis >= 0 else axis}, one)
    return [y.reshape(x.shape)]


_RNN = {"RNN": ("SimpleRNN.v1", None), "GRU": ("GRU.v1", L.gru_from_onnx), "LSTM": ("LSTM.v1", L.lstm_from_onnx)}


def run_recurrent(node, attrs, ins):
    type_id, reorder = _RNN[node.op_type]
    X, W, R = (np.asarray(a, np.float64) for a in ins[:3])
    u = int(attrs["hidden_size"])
    direction = attrs.get("direction", "forward")
    assert node.op_type != "RNN" or set(attrs.get("activations", ["Tanh"])) == {"Tanh"}
    D = W.shape[0]
    G = W.shape[1] // u
    B = np.asarray(ins[3], np.float64) if len(ins) > 3 and ins[3].size else np.zeros((D, 2 * G * u))
    layout = attrs.get("layout", 0)
    x = X if layout == 1 else X.transpose(1, 0, 2)                       # (N, L, C)
    params = {}
    sfxs = ["", "_reverse"][:D]
    for i, sfx in enumerate(sfxs):
        Wi, Ri, bi, bh = W[i], R[i], B[i, :G * u], B[i, G * u:]
        if reorder is not None:
            Wi, Ri, bi, bh = reorder(Wi), reorder(Ri), reorder(bi), reorder(bh)
        params.update({"W_ih" + sfx: Wi, "W_hh" + sfx: Ri, "b_ih" + sfx: bi, "b_hh" + sfx: bh})
    cfg = {"units": u, "bidirectional": direction == "bidirectional"}
    if node.op_type == "GRU":
        cfg["linear_before_reset"] = bool(attrs.get("linear_before_reset", 0))
    if direction == "reverse":  # ReverseSequence -> layer -> ReverseSequence
        x = _run("ReverseSequence.v1", {}, x)
    seq = _run(type_id, {**cfg, "return_sequences": True}, x, params)   # (N, L, D*u)
    last = _run(type_id, cfg, x, params)                                # (N, D*u)
    if direction == "reverse":
        seq = _run("ReverseSequence.v1", {}, seq)
    n, steps = x.shape[:2]
    Y = seq.reshape(n, steps, D, u)                                      # (N, L, D, u)
    Y_h = last.reshape(n, D, u)
    if layout == 0:
        Y, Y_h = Y.transpose(1, 2, 0, 3), Y_h.transpose(1, 0, 2)          # (L, D, N, u), (D, N, u)
    outs = {"Y": Y, "Y_h": Y_h}
    return [outs[name] for name in ("Y", "Y_h") if name in node.output and name]


RUNNERS = {"MaxPool": run_pool, "AveragePool": run_pool, "Conv": run_conv, "GlobalMaxPool": run_global_pool,
           "GlobalAveragePool": run_global_pool, "LeakyRelu": run_activation, "Elu": run_activation,
           "Gelu": run_activation, "Softmax": run_activation, "GRU": run_recurrent, "RNN": run_recurrent,
           "LSTM": run_recurrent}


def check(case, outputs=None):
    (node,) = case.model.graph.node
    ins, expected = case.data_sets[0]
    got = RUNNERS[node.op_type](node, _attrs(node), list(ins))
    named = [n for n in node.output if n]
    pairs = list(zip(named, expected))
    if outputs is not None:
        pairs = [(n, e) for n, e in pairs if n in outputs]
    got_by_name = dict(zip([n for n in named if n in ("Y", "Y_h")] if node.op_type in _RNN else named, got))
    assert pairs
    for name, want in pairs:
        have = got_by_name[name]
        assert have.shape == want.shape, f"{case.name} {name}: shape {have.shape} != {want.shape}"
        np.testing.assert_allclose(have, want, rtol=ROUNDED.get(case.name, 1e-5), atol=1e-6,
                                   err_msg=f"{case.name} {name}")


@pytest.mark.parametrize("name", NEW + BEFORE)
def test_node_case(cases, name):
    if name not in cases:
        pytest.skip(f"{name} is not in the installed onnx {onnx.__version__}")
    check(cases[name])


@pytest.mark.parametrize("name", HIDDEN_ONLY)
def test_node_case_hidden_state(cases, name):
    check(cases[name], outputs={"Y_h"})


#: recurrent node tests with direction="reverse" or "bidirectional": the importer itself maps them
#: (ReverseSequence around the layer; the Bidirectional option seen through ONNX's direction axis)
DIRECTION_CASES = ["test_gru_reverse", "test_gru_bidirectional", "test_simple_rnn_reverse",
                   "test_simple_rnn_bidirectional", "test_lstm_reverse", "test_lstm_bidirectional"]


@pytest.mark.parametrize("name", DIRECTION_CASES)
def test_importer_maps_recurrent_directions(cases, name):
    from onnx import numpy_helper

    from engine.model import compile_graph
    from engine.onnx_import import to_nn_layout, to_onnx_layout
    from engine.onnx_import.convert import convert_model

    if name not in cases:
        pytest.skip(f"{name} is not in the installed onnx {onnx.__version__}")
    case = cases[name]
    ins, outs = case.data_sets[0]
    checked = 0
    for out_name, want in zip([o.name for o in case.model.graph.output], outs):
        if out_name == "Y_c":
            continue                     # the LSTM cell state: no NN Studio output
        model = onnx.ModelProto()
        model.CopyFrom(case.model)
        g = model.graph
        for vi, arr in list(zip(g.input, ins))[1:]:
            g.initializer.append(numpy_helper.from_array(arr, vi.name))
        dim = g.input[0].type.tensor_type.shape.dim[1]     # time-major X: the batch axis is open
        dim.ClearField("dim_value")
        dim.dim_param = "batch"
        keep = [o for o in g.output if o.name == out_name]
        del g.output[:]
        g.output.extend(keep)
        res = convert_model(model, f"{name}.onnx")
        m = compile_graph(res.project.graph)
        m.load_state_dict(res.project.weights)
        got = to_onnx_layout(m.predict(to_nn_layout(ins[0], res.input_axes["X"]).astype(np.float32)),
                             res.output_axes)
        assert got.shape == want.shape, (name, out_name)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{name} {out_name}")
        types = [n.type for n in res.project.graph.nodes]
        if "reverse" in name:
            assert "ReverseSequence.v1" in types, types
        else:
            rec = [n for n in res.project.graph.nodes if n.type.split(".")[0] in ("GRU", "LSTM", "SimpleRNN")]
            assert len(rec) == 1 and rec[0].config["bidirectional"], types
        checked += 1
    assert checked


#: cases whose data input has no axis besides the one an importer must take as the batch axis
ONE_AXIS = {"test_leakyrelu_example", "test_elu_example", "test_gelu_default_1"}


@pytest.mark.parametrize("name", [n for n in NEW + BEFORE if n not in ONE_AXIS])
def test_node_case_through_the_importer(cases, name):
    """The same cases, this time mapped by the importer itself (engine/onnx_import), not by hand."""
    from onnx import numpy_helper

    from engine.model import compile_graph
    from engine.onnx_import import to_nn_layout, to_onnx_layout
    from engine.onnx_import.convert import convert_model

    if name not in cases:
        pytest.skip(f"{name} is not in the installed onnx {onnx.__version__}")
    case = cases[name]
    ins, outs = case.data_sets[0]
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    g = model.graph
    for vi, arr in list(zip(g.input, ins))[1:]:      # weights, biases: initializers, as exporters write them
        g.initializer.append(numpy_helper.from_array(arr, vi.name))
    if g.node[0].op_type in ("LSTM", "GRU", "RNN"):
        layout = next((a.i for a in g.node[0].attribute if a.name == "layout"), 0)
        dim = g.input[0].type.tensor_type.shape.dim[1 if layout == 0 else 0]
        dim.ClearField("dim_value")
        dim.dim_param = "batch"
    names = [o.name for o in g.output]
    keep = [o for o in g.output if o.name != "Y_c"][:1]
    want = outs[names.index(keep[0].name)]
    del g.output[:]
    g.output.extend(keep)
    res = convert_model(model, f"{name}.onnx")
    m = compile_graph(res.project.graph)
    m.load_state_dict(res.project.weights)
    x = to_nn_layout(ins[0], res.input_axes[g.input[0].name]).astype(np.float32)
    got = to_onnx_layout(m.predict(x), res.output_axes)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=ROUNDED.get(name, 1e-4), atol=1e-5)
