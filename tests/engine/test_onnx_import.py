"""ONNX import without torch: reading within bounds, folding, names, messages (engine.onnx_import)."""
from __future__ import annotations

import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper

from engine.model import compile_graph
from engine.onnx_import import OnnxImportError, import_onnx, to_nn_layout
from engine.onnx_import.convert import convert_model
from engine.spec import NODE_ID_PATTERN


def _model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def _dense_model(rng, name="fc"):
    W = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    return _model([helper.make_node("Gemm", ["x", "W", "b"], ["y"], name=name)],
                  [_vi("x", ["N", 4])], [_vi("y", ["N", 3])], [_init("W", W), _init("b", b)]), W, b


def _run(m, x):
    res = convert_model(m, "m.onnx")
    model = compile_graph(res.project.graph)
    model.load_state_dict(res.project.weights)
    return model.predict(x), res


# ------------------------------------------------------------------ reading
def test_missing_empty_folder_and_damaged_files(tmp_path):
    with pytest.raises(OnnxImportError, match="does not exist"):
        import_onnx(tmp_path / "nope.onnx")
    with pytest.raises(OnnxImportError, match="is a folder"):
        import_onnx(tmp_path)
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(OnnxImportError, match="empty.onnx is empty"):
        import_onnx(tmp_path / "empty.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\xff\xfe not a protobuf \x00" * 10)
    with pytest.raises(OnnxImportError, match="junk.onnx is not an ONNX model"):
        import_onnx(tmp_path / "junk.onnx")
    (tmp_path / "text.onnx").write_text("hello", encoding="ascii")
    with pytest.raises(OnnxImportError, match="text.onnx is not an ONNX model"):
        import_onnx(tmp_path / "text.onnx")


def test_size_limit(tmp_path):
    m, _, _ = _dense_model(np.random.default_rng(0))
    p = tmp_path / "m.onnx"
    onnx.save(m, str(p))
    size = p.stat().st_size
    with pytest.raises(OnnxImportError, match="at most"):
        import_onnx(p, max_bytes=size - 1)
    assert import_onnx(p, max_bytes=size).project.graph.nodes


def _external_model(tmp_path, rng):
    m, W, b = _dense_model(rng)
    folder = tmp_path / "model"
    folder.mkdir()
    p = folder / "m.onnx"
    onnx.save_model(m, str(p), save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin",
                    size_threshold=0)
    return p, W, b


def _set_location(p, loc, length=None):
    m = onnx.load(str(p), load_external_data=False)
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = loc
            if e.key == "length" and length is not None:
                e.value = str(length)
    onnx.save(m, str(p))


def test_external_data_beside_the_model(tmp_path):
    rng = np.random.default_rng(1)
    p, W, b = _external_model(tmp_path, rng)
    res = import_onnx(p)
    weights = res.project.weights
    np.testing.assert_array_equal(weights["fc/W"], W)
    np.testing.assert_array_equal(weights["fc/b"], b)


def test_external_data_outside_the_folder_is_refused(tmp_path):
    rng = np.random.default_rng(2)
    p, _, _ = _external_model(tmp_path, rng)
    outside = tmp_path / "secret.bin"
    outside.write_bytes((p.parent / "weights.bin").read_bytes())
    for loc in ("../secret.bin", str(outside)):
        _set_location(p, loc)
        with pytest.raises(OnnxImportError, match="only files in the model's own folder are read"):
            import_onnx(p)
    (p.parent / "link.bin").symlink_to(outside)
    _set_location(p, "link.bin")
    with pytest.raises(OnnxImportError, match="outside the model's folder"):
        import_onnx(p)
    _set_location(p, "missing.bin")
    with pytest.raises(OnnxImportError, match="does not exist beside the model"):
        import_onnx(p)
    _set_location(p, "weights.bin", length=10 ** 9)
    with pytest.raises(OnnxImportError, match="asks for bytes"):
        import_onnx(p)


# ------------------------------------------------------------------ names
def test_node_names_become_valid_ids_and_stay_display_names():
    rng = np.random.default_rng(3)
    evil = "../../etc/passwd; rm -rf / \n\x00 全连接"
    m, W, b = _dense_model(rng, name=evil)
    m.graph.input[0].name = "输入 x"
    m.graph.node[0].input[0] = "输入 x"
    res = convert_model(m, "m.onnx")
    for n in res.project.graph.nodes:
        assert NODE_ID_PATTERN.fullmatch(n.id), n.id
    dense = [n for n in res.project.graph.nodes if n.type == "Dense.v1"][0]
    assert "全连接" in dense.name and "\x00" not in dense.name and "\n" not in dense.name
    x = rng.standard_normal((5, 4)).astype(np.float32)
    model = compile_graph(res.project.graph)
    model.load_state_dict(res.project.weights)
    np.testing.assert_allclose(model.predict(x), x @ W + b, rtol=1e-5, atol=1e-6)


def test_duplicate_and_empty_names_get_distinct_ids():
    rng = np.random.default_rng(4)
    W1, W2 = rng.standard_normal((3, 3)).astype(np.float32), rng.standard_normal((3, 2)).astype(np.float32)
    m = _model([helper.make_node("MatMul", ["x", "W1"], ["h"], name="same"),
                helper.make_node("Relu", ["h"], ["r"], name=""),
                helper.make_node("MatMul", ["r", "W2"], ["y"], name="same")],
               [_vi("x", ["N", 3])], [_vi("y", ["N", 2])], [_init("W1", W1), _init("W2", W2)])
    x = rng.standard_normal((4, 3)).astype(np.float32)
    y, res = _run(m, x)
    ids = [n.id for n in res.project.graph.nodes]
    assert len(set(ids)) == len(ids) == 3   # Input, Dense (+ReLU fused), Dense
    np.testing.assert_allclose(y, np.maximum(x @ W1, 0) @ W2, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ folding
def test_shape_plumbing_is_folded():
    """``x.view(x.size(0), -1)`` as exporters write it, plus Identity and Cast of constants."""
    rng = np.random.default_rng(5)
    W = rng.standard_normal((2 * 3 * 4, 5)).astype(np.float64)       # float64: Cast folds it to float32
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.asarray(0, np.int64))),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
        helper.make_node("Constant", [], ["m1"], value_ints=[-1]),
        helper.make_node("Concat", ["n1", "m1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["flat"]),
        helper.make_node("Identity", ["W64"], ["W64b"]),
        helper.make_node("Cast", ["W64b"], ["W32"], to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["flat", "W32"], ["y"], name="fc"),
    ]
    m = _model(nodes, [_vi("x", ["N", 2, 3, 4])], [_vi("y", ["N", 5])],
               [_init("ax0", np.asarray([0], np.int64)), _init("W64", W)])
    x = rng.standard_normal((3, 2, 3, 4)).astype(np.float32)
    y, res = _run(m, x)
    assert [n.type for n in res.project.graph.nodes] == ["Input.v1", "Flatten.v1", "Dense.v1"]
    np.testing.assert_allclose(y, x.reshape(3, -1) @ W.astype(np.float32), rtol=1e-5, atol=1e-5)


def test_channels_first_flatten_permutes_the_next_weights():
    """Conv -> Flatten (channels first) -> Gemm: the Dense rows follow NN Studio's channels-last order."""
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(6)
    Wc = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    Wd = rng.standard_normal((4, 3 * 4 * 4)).astype(np.float32)
    m = _model([helper.make_node("Conv", ["x", "Wc"], ["c"], kernel_shape=[3, 3], name="conv"),
                helper.make_node("Flatten", ["c"], ["f"], axis=1),
                helper.make_node("Gemm", ["f", "Wd"], ["y"], transB=1, name="fc")],
               [_vi("x", ["N", 2, 6, 6])], [_vi("y", ["N", 4])], [_init("Wc", Wc), _init("Wd", Wd)])
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    res = convert_model(m, "m.onnx")
    model = compile_graph(res.project.graph)
    model.load_state_dict(res.project.weights)
    got = model.predict(to_nn_layout(x, res.input_axes["x"]))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert res.input_axes["x"] == (0, 3, 1, 2)


def test_folding_is_bounded():
    m = _model([helper.make_node("ConstantOfShape", ["big"], ["z"]),
                helper.make_node("Add", ["x", "z"], ["y"])],
               [_vi("x", ["N", 2])], [_vi("y", ["N", 2])], [_init("big", np.asarray([10 ** 5, 10 ** 5], np.int64))])
    with pytest.raises(OnnxImportError, match="at most 10000000 are folded"):
        convert_model(m, "m.onnx")
    # two small constants whose broadcast would be huge are refused before anything is computed
    m = _model([helper.make_node("Add", ["a", "b"], ["c"]), helper.make_node("Add", ["x", "c"], ["y"])],
               [_vi("x", ["N", 2])], [_vi("y", ["N", 2])],
               [_init("a", np.zeros((10 ** 4, 1), np.float32)), _init("b", np.zeros((1, 10 ** 4), np.float32))])
    with pytest.raises(OnnxImportError, match=r"computes a constant of shape \(10000, 10000\)"):
        convert_model(m, "m.onnx")


# ------------------------------------------------------------------ messages
def test_every_problem_in_one_message():
    rng = np.random.default_rng(7)
    m = _model([helper.make_node("Conv", ["x", "W"], ["c"], dilations=[1, 2], kernel_shape=[3, 3], name="conv1"),
                helper.make_node("Relu", ["c"], ["r"], name="relu"),
                helper.make_node("Foo", ["r"], ["f"], name="mystery", domain="com.example"),
                helper.make_node("LogSoftmax", ["f"], ["y"], name="logits")],
               [_vi("x", ["N", 1, 5, 5])], [_vi("y", ["N", 2, 5, 3])],
               [_init("W", rng.standard_normal((2, 1, 3, 3)).astype(np.float32))])
    with pytest.raises(OnnxImportError) as info:
        convert_model(m, "bad.onnx")
    lines = str(info.value).splitlines()
    assert lines == [
        "cannot import bad.onnx: 3 part(s) of the model cannot be mapped onto NN Studio layers:",
        "  Conv 'conv1': dilations=[1, 2] is not supported yet (NN Studio uses the same value on every axis)",
        "  Foo 'mystery': operators of the domain 'com.example' are not supported",
        "  LogSoftmax 'logits': there is no NN Studio layer for LogSoftmax",
    ]


@pytest.mark.parametrize("make, needle", [
    (lambda: _model([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Relu", ["x"], ["b"])],
                    [_vi("x", ["N", 3])], [_vi("a", ["N", 3]), _vi("b", ["N", 3])]),
     "the model has 2 outputs ('a', 'b'); an NN Studio model has exactly one"),
    (lambda: _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", ["N", "L", 3])], [_vi("y", ["N", "L", 3])]),
     "input 'x': axis 1 has no fixed size ('L')"),
    (lambda: _model([helper.make_node("Relu", ["x"], ["y"], domain="com.microsoft")],
                    [_vi("x", ["N", 3])], [_vi("y", ["N", 3])]),
     "operators of the domain 'com.microsoft' are not supported"),
    (lambda: _model([helper.make_node("Constant", [], ["y"], value_floats=[1.0, 2.0])],
                    [_vi("x", ["N", 3])], [_vi("y", [2])]),
     "output 'y' is a constant"),
    (lambda: _model([helper.make_node("Mul", ["x", "x"], ["y"], name="sq")], [_vi("x", ["N", 3])],
                    [_vi("y", ["N", 3])]),
     "matches no NN Studio activation layer"),
    (lambda: _model([helper.make_node("Reshape", ["x", "s"], ["y"], name="r")], [_vi("x", ["N", 6])],
                    [_vi("y", [3, 2])], [_init("s", np.asarray([3, 2], np.int64))]),
     "Reshape 'r': shape=[3, 2] fixes the batch size"),
])
def test_named_problems(make, needle):
    with pytest.raises(OnnxImportError) as info:
        convert_model(make(), "m.onnx")
    assert needle in str(info.value)


def test_lstm_cell_state_output_is_named():
    rng = np.random.default_rng(8)
    H, C = 3, 2
    nodes = [helper.make_node("LSTM", ["x", "W", "R"], ["Y", "Y_h", "Y_c"], hidden_size=H, layout=1, name="lstm"),
             helper.make_node("Squeeze", ["Y_c", "ax"], ["y"], name="sq")]
    m = _model(nodes, [_vi("x", ["N", 4, C])], [_vi("y", ["N", H])],
               [_init("W", rng.standard_normal((1, 4 * H, C)).astype(np.float32)),
                _init("R", rng.standard_normal((1, 4 * H, H)).astype(np.float32)),
                _init("ax", np.asarray([1], np.int64))])
    with pytest.raises(OnnxImportError, match="Squeeze 'sq': uses 'Y_c': the LSTM cell state output Y_c is "
                                              "not available"):
        convert_model(m, "m.onnx")


def test_per_channel_scale_and_shift_become_a_batchnorm_or_fold():
    rng = np.random.default_rng(9)
    W = rng.standard_normal((3, 4)).astype(np.float32)
    s = rng.standard_normal(4).astype(np.float32)
    t = rng.standard_normal(4).astype(np.float32)
    # after a MatMul: folded into the Dense weights and bias
    m = _model([helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Mul", ["h", "s"], ["hs"]),
                helper.make_node("Add", ["hs", "t"], ["y"])],
               [_vi("x", ["N", 3])], [_vi("y", ["N", 4])], [_init("W", W), _init("s", s), _init("t", t)])
    x = rng.standard_normal((5, 3)).astype(np.float32)
    y, res = _run(m, x)
    assert [n.type for n in res.project.graph.nodes] == ["Input.v1", "Dense.v1"]
    np.testing.assert_allclose(y, (x @ W) * s + t, rtol=1e-5, atol=1e-5)
    # on the input itself: a BatchNorm layer holding the affine map (and a note saying so)
    m = _model([helper.make_node("Sub", ["x", "t3"], ["c"]), helper.make_node("Div", ["c", "s3"], ["y0"]),
                helper.make_node("MatMul", ["y0", "W"], ["y"])],
               [_vi("x", ["N", 3])], [_vi("y", ["N", 4])], [_init("t3", t[:3]), _init("s3", s[:3]), _init("W", W)])
    y, res = _run(m, x)
    assert [n.type for n in res.project.graph.nodes] == ["Input.v1", "BatchNorm.v1", "Dense.v1"]
    assert any("BatchNorm" in n for n in res.notes)
    np.testing.assert_allclose(y, ((x - t[:3]) / s[:3]) @ W, rtol=1e-4, atol=1e-5)


def test_layout_positions_rows_follow_depth():
    rng = np.random.default_rng(10)
    m, _, _ = _dense_model(rng)
    res = convert_model(m, "m.onnx")
    ys = [n.pos[1] for n in res.project.graph.nodes]
    assert ys == sorted(ys) and ys[0] < ys[-1]


def test_project_saves_and_loads(tmp_path):
    from engine.io import load_project, save_project

    m, _, _ = _dense_model(np.random.default_rng(11))
    p = tmp_path / "m.onnx"
    onnx.save(m, str(p))
    res = import_onnx(p)
    save_project(tmp_path / "m.nnsp", res.project)
    back = load_project(tmp_path / "m.nnsp")
    assert back.graph == res.project.graph
    assert os.fspath(back.metadata["imported_from"]) == "m.onnx"


def test_messages_read_in_chinese():
    """Every line of an import message has a zh_CN template; the values are copied unchanged."""
    from engine.i18n import translate

    rng = np.random.default_rng(12)
    m = _model([helper.make_node("Conv", ["x", "W"], ["c"], dilations=[1, 2], kernel_shape=[3, 3], name="conv1"),
                helper.make_node("LogSoftmax", ["c"], ["y"], name="logits")],
               [_vi("x", ["N", 1, 5, 5])], [_vi("y", ["N", 2, 5, 3])],
               [_init("W", rng.standard_normal((2, 1, 3, 3)).astype(np.float32))])
    with pytest.raises(OnnxImportError) as info:
        convert_model(m, "bad.onnx")
    zh = translate(str(info.value), "zh_CN").splitlines()
    assert zh[0] == "无法导入 bad.onnx：模型中有 2 处无法映射为 NN Studio 的层："
    assert zh[1] == "  Conv 'conv1'：尚不支持 dilations=[1, 2]（NN Studio 在每个轴上使用相同的值）"
    assert zh[2] == "  LogSoftmax 'logits'：NN Studio 没有与 LogSoftmax 对应的层"
    res = convert_model(_model([helper.make_node("Conv", ["x", "W"], ["y"], kernel_shape=[3, 3])],
                               [_vi("x", ["N", 1, 5, 5])], [_vi("y", ["N", 2, 3, 3])],
                               [_init("W", rng.standard_normal((2, 1, 3, 3)).astype(np.float32))]), "ok.onnx")
    for note in res.notes:
        assert translate(note, "zh_CN") != note, note


def test_keras_style_channels_last_model():
    """What tf2onnx writes for a Keras CNN: NHWC input, Transposes around Conv/MaxPool, Reshape(-1, K),
    MatMul + Add: the input stays channels-last and the Transposes cancel out."""
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(13)
    Wc = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    bc = rng.standard_normal(4).astype(np.float32)
    Wd = rng.standard_normal((3 * 3 * 4, 5)).astype(np.float32)
    bd = rng.standard_normal(5).astype(np.float32)
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["xt", "Wc", "bc"], ["c"], kernel_shape=[3, 3], auto_pad="SAME_UPPER",
                              name="conv2d/BiasAdd"),
             helper.make_node("Relu", ["c"], ["r"], name="conv2d/Relu"),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="max_pooling2d"),
             helper.make_node("Transpose", ["p"], ["pt"], perm=[0, 2, 3, 1]),
             helper.make_node("Reshape", ["pt", "shape"], ["f"], name="flatten/Reshape"),
             helper.make_node("MatMul", ["f", "Wd"], ["m"], name="dense/MatMul"),
             helper.make_node("Add", ["m", "bd"], ["a"], name="dense/BiasAdd"),
             helper.make_node("Softmax", ["a"], ["y"], name="dense/Softmax")]
    m = _model(nodes, [_vi("x", ["unk__1", 6, 6, 3])], [_vi("y", ["unk__1", 5])],
               [_init("Wc", Wc), _init("bc", bc), _init("Wd", Wd), _init("bd", bd),
                _init("shape", np.asarray([-1, 36], np.int64))], opset=13)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    got, res = _run(m, x)
    assert [n.type for n in res.project.graph.nodes] == ["Input.v1", "Conv2D.v1", "MaxPool2D.v1", "Flatten.v1",
                                                         "Dense.v1"]
    dense = res.project.graph.node("dense_MatMul")
    assert dense.config["activation"] == "softmax" and dense.config["use_bias"] is True
    assert res.input_axes["x"] == (0, 1, 2, 3) and not res.notes
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_damaged_bytes_give_import_errors_only(tmp_path):
    """Seeded byte flips and truncations of a small model: each one imports or fails with OnnxImportError."""
    import random

    from tests.app.onnx_files import write_model

    good = tmp_path / "good.onnx"
    write_model(good)
    data = good.read_bytes()
    rnd = random.Random(0)
    p = tmp_path / "fz.onnx"
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(150):
        b = bytearray(data)
        for _ in range(rnd.randint(1, 6)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        if rnd.random() < 0.3:
            b = b[:rnd.randrange(1, len(b))]
        p.write_bytes(bytes(b))
        try:
            import_onnx(p)
            outcomes["ok"] += 1
        except OnnxImportError as exc:
            assert str(exc).strip()
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0


# ------------------------------------------------------------------ NN Studio's own ONNX export, back in
def _own_graphs():
    from engine.spec import sequential

    def seq(shape, *layers):
        return sequential([("Input.v1", {"shape": list(shape)}), *layers])

    def residual():
        from engine.templates import residual_block
        return residual_block()

    def concat():
        from engine.spec import GraphSpec
        g = GraphSpec()
        g, i = g.add_node("Input.v1", {"shape": [5]})
        g, a = g.add_node("Dense.v1", {"units": 3, "activation": "tanh"})
        g, b = g.add_node("Dense.v1", {"units": 2})
        g, c = g.add_node("Concatenate.v1", {})
        g, o = g.add_node("Dense.v1", {"units": 2, "activation": "softmax"})
        return g.connect(i, a).connect(i, b).connect(a, c, 0).connect(b, c, 1).connect(c, o)

    return {
        "dense_activations": (seq((4,), ("Dense.v1", {"units": 6, "activation": "relu"}),
                                  ("Dense.v1", {"units": 6, "activation": "gelu"}), ("ELU.v1", {}),
                                  ("Dense.v1", {"units": 6}), ("LeakyReLU.v1", {}), ("Dropout.v1", {}),
                                  ("Dense.v1", {"units": 3}), ("Sigmoid.v1", {})), (4,)),
        "batchnorm_layernorm": (seq((4,), ("Dense.v1", {"units": 6}), ("BatchNorm.v1", {}), ("Tanh.v1", {}),
                                    ("Reshape.v1", {"shape": [2, 3]}), ("LayerNorm.v1", {}), ("Flatten.v1", {}),
                                    ("Dense.v1", {"units": 2, "activation": "softmax"})), (4,)),
        "residual": (residual(), (16,)),
        "concatenate": (concat(), (5,)),
        "cnn2d": (seq((8, 8, 2), ("Conv2D.v1", {"filters": 3, "padding": "same", "activation": "relu"}),
                      ("MaxPool2D.v1", {}), ("Conv2D.v1", {"filters": 4, "kernel_size": 2, "strides": 2}),
                      ("AvgPool2D.v1", {"pool_size": 2, "padding": "same"}), ("Flatten.v1", {}),
                      ("Dense.v1", {"units": 3})), (8, 8, 2)),
        "cnn1d_gap": (seq((10, 3), ("Conv1D.v1", {"filters": 4, "dilation": 2}), ("BatchNorm.v1", {}),
                          ("MaxPool1D.v1", {"padding": "same"}), ("AvgPool1D.v1", {"pool_size": 1}),
                          ("GlobalAvgPool.v1", {}), ("Softmax.v1", {})), (10, 3)),
        "recurrent": (seq((6, 3), ("GRU.v1", {"units": 4, "return_sequences": True}),
                          ("SimpleRNN.v1", {"units": 3, "return_sequences": True}), ("LSTM.v1", {"units": 5}),
                          ("Dense.v1", {"units": 2})), (6, 3)),
        "embedding": (seq((7,), ("Embedding.v1", {"vocab_size": 12, "dim": 4}), ("LSTM.v1", {"units": 3})), "ids"),
        "upsampling": (seq((3, 4, 2), ("UpSampling2D.v1", {"size": 2}), ("Conv2D.v1", {"filters": 2}),
                           ("UpSampling2D.v1", {"size": 3})), (3, 4, 2)),
    }


@pytest.mark.parametrize("name", sorted(_own_graphs()))
def test_own_onnx_export_imports_back(name):
    from engine.export.onnx_export import build_onnx

    spec, shape = _own_graphs()[name]
    model = compile_graph(spec, seed=3)
    rng = np.random.default_rng(14)
    state = model.state_dict()
    for k in state:   # non-trivial statistics and biases, so that folding them is checked
        if k.endswith(("running_mean", "/b", "beta")):
            state[k] = rng.standard_normal(state[k].shape).astype(np.float32)
        elif k.endswith(("running_var", "gamma")):
            state[k] = rng.uniform(0.5, 1.5, state[k].shape).astype(np.float32)
    model.load_state_dict(state)
    x = (rng.integers(0, 12, (5, 7)).astype(np.float32) if shape == "ids"
         else rng.standard_normal((5, *shape)).astype(np.float32))
    res = convert_model(onnx.load_from_string(build_onnx(model).SerializeToString()), f"{name}.onnx")
    back = compile_graph(res.project.graph)
    back.load_state_dict(res.project.weights)
    np.testing.assert_allclose(back.predict(x), model.predict(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("config, shape", [({"num_heads": 2}, [5, 4]), ({"num_heads": 3, "causal": True}, [4, 6]),
                                           ({"num_heads": 1}, [3, 5])])
def test_own_attention_export_imports_back(config, shape):
    """NN Studio writes MultiHeadAttention out of MatMul/Softmax/Transpose/Reshape; it comes back as the one
    layer with the same weights (no torch needed)."""
    from engine.export.onnx_export import build_onnx
    from engine.spec import sequential

    model = compile_graph(sequential([("Input.v1", {"shape": shape}), ("MultiHeadAttention.v1", config)]), seed=0)
    state = model.state_dict()
    rng = np.random.default_rng(16)
    for k in state:
        state[k] = rng.standard_normal(state[k].shape).astype(np.float32) * 0.5
    model.load_state_dict(state)
    res = convert_model(onnx.load_from_string(build_onnx(model).SerializeToString()), "m.onnx")
    nodes = res.project.graph.nodes
    assert [n.type for n in nodes] == ["Input.v1", "MultiHeadAttention.v1"]
    assert nodes[1].config["num_heads"] == config["num_heads"]
    assert nodes[1].config["causal"] == config.get("causal", False)
    back = compile_graph(res.project.graph)
    back.load_state_dict(res.project.weights)
    x = rng.standard_normal((4, *shape)).astype(np.float32)
    np.testing.assert_allclose(back.predict(x), model.predict(x), rtol=1e-4, atol=1e-5)


def test_global_max_pool_maps():
    rng = np.random.default_rng(15)
    m = _model([helper.make_node("GlobalMaxPool", ["x"], ["p"], name="gmp"),
                helper.make_node("Flatten", ["p"], ["y"])],
               [_vi("x", ["N", 3, 4, 5])], [_vi("y", ["N", 3])])
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    res = convert_model(m, "m.onnx")
    model = compile_graph(res.project.graph)
    model.load_state_dict(res.project.weights)
    np.testing.assert_allclose(model.predict(to_nn_layout(x, res.input_axes["x"])), x.max(axis=(2, 3)), rtol=1e-6)


@pytest.mark.parametrize("nodes, types", [
    ([helper.make_node("Relu", ["h"], ["a"]), helper.make_node("Sigmoid", ["a"], ["y"])],
     ["Input.v1", "Dense.v1", "Sigmoid.v1"]),
    ([helper.make_node("Relu", ["h"], ["a"]), helper.make_node("Tanh", ["h"], ["b"]),
      helper.make_node("Add", ["a", "b"], ["y"])],
     ["Input.v1", "Dense.v1", "ReLU.v1", "Tanh.v1", "Add.v1"]),
    ([helper.make_node("Neg", ["h"], ["a"]), helper.make_node("Exp", ["a"], ["b"]),
      helper.make_node("Add", ["b", "one"], ["c"]), helper.make_node("Div", ["one", "c"], ["y"])],
     ["Input.v1", "Dense.v1"]),                       # 1 / (1 + exp(-x)) is the sigmoid, fused into Dense
])
def test_element_wise_compositions(nodes, types):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(16)
    W = rng.standard_normal((3, 4)).astype(np.float32)
    m = _model([helper.make_node("MatMul", ["x", "W"], ["h"]), *nodes], [_vi("x", ["N", 3])], [_vi("y", ["N", 4])],
               [_init("W", W), _init("one", np.asarray(1.0, np.float32))])
    x = rng.standard_normal((6, 3)).astype(np.float32)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    got, res = _run(m, x)
    assert sorted(n.type for n in res.project.graph.nodes) == sorted(types)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _attention_graph(rng, *, project=True, softmax_axis=-1, heads_dim=None):
    """x (N, 5, 4) -> [x @ Wq, x @ Wk, x @ Wv] -> softmax(q k^T / 2) v -> @ Wo: one head, written out."""
    D = 4
    inits = [_init("half", np.array(0.5, np.float32))]
    nodes, names = [], {}
    inner = heads_dim or D
    for p in "qkvo":
        shape = (inner, D) if p == "o" else (D, inner)
        inits.append(_init(f"W{p}", rng.standard_normal(shape).astype(np.float32)))
    for p in "qkv":
        if project:
            nodes.append(helper.make_node("MatMul", ["x", f"W{p}"], [p], name=f"{p}_proj"))
            names[p] = p
        else:
            names[p] = "x"
    nodes += [helper.make_node("Transpose", [names["k"]], ["kT"], perm=[0, 2, 1], name="kT"),
              helper.make_node("MatMul", [names["q"], "kT"], ["s"], name="scores"),
              helper.make_node("Mul", ["s", "half"], ["s2"], name="scale"),
              helper.make_node("Softmax", ["s2"], ["a"], axis=softmax_axis, name="softmax"),
              helper.make_node("MatMul", ["a", names["v"]], ["o"], name="attend"),
              helper.make_node("MatMul", ["o", "Wo"], ["y"], name="out_proj")]
    return _model(nodes, [_vi("x", ["N", 5, D])], [_vi("y", ["N", 5, D])], inits)


def test_written_out_attention_imports_and_refusals_are_one_line():
    rng = np.random.default_rng(17)
    m = _attention_graph(rng)
    res = convert_model(m, "att.onnx")
    assert [n.type for n in res.project.graph.nodes] == ["Input.v1", "MultiHeadAttention.v1"]
    mha = compile_graph(res.project.graph)
    mha.load_state_dict(res.project.weights)
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    init = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    q, k, v = (x @ init[f"W{p}"] for p in "qkv")
    s = q @ k.transpose(0, 2, 1) * 0.5
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    np.testing.assert_allclose(mha.predict(x), (a @ v) @ init["Wo"], rtol=1e-4, atol=1e-5)
    for kw, needle in (({"project": False}, "its queries, keys and values have no projection"),
                       ({"softmax_axis": 1}, "its Softmax is over axis 1, not over the keys"),
                       ({"heads_dim": 3}, "are not 4 features split into equal heads")):
        with pytest.raises(OnnxImportError) as info:
            convert_model(_attention_graph(np.random.default_rng(18), **kw), "att.onnx")
        msg = str(info.value)
        assert msg.startswith("cannot import att.onnx:\n  MatMul 'scores': an attention block (MatMul → Softmax → "
                              "MatMul) that NN Studio's MultiHeadAttention cannot hold: "), msg
        assert needle in msg and len(msg.splitlines()) == 2, msg


# ------------------------------------------------------------------ tf2onnx's Conv1D (a height-1 2-D Conv)
def _height_one_conv(rng, pads, strides, dilations, kernel=3):
    W = rng.standard_normal((4, 2, 1, kernel)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    nodes = [helper.make_node("Unsqueeze", ["x", "ax1"], ["u"], name="expand_dims"),
             helper.make_node("Transpose", ["u"], ["t"], perm=[0, 3, 1, 2], name="to_nchw"),
             helper.make_node("Conv", ["t", "W", "b"], ["c"], pads=pads, strides=strides, dilations=dilations,
                              kernel_shape=[1, kernel], name="conv"),
             helper.make_node("Squeeze", ["c", "ax2"], ["y"], name="squeeze")]
    return _model(nodes, [_vi("x", ["N", 20, 2])], [_vi("y", None)],
                  [_init("W", W), _init("b", b), _init("ax1", np.array([1], np.int64)),
                   _init("ax2", np.array([2], np.int64))])


@pytest.mark.parametrize("pads, strides, dilations, padding", [
    ([0, 1, 0, 1], [1, 1], [1, 1], "same"), ([0, 0, 0, 0], [1, 2], [1, 1], "valid"),
    ([0, 2, 0, 2], [1, 1], [1, 2], "same"), ([0, 0, 0, 1], [1, 2], [1, 1], "same"), ([0, 2, 0, 0], [1, 1], [1, 1], "explicit")])
def test_height_one_conv2d_is_conv1d(pads, strides, dilations, padding):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(3)
    m = _height_one_conv(rng, pads, strides, dilations)
    x = rng.standard_normal((3, 20, 2)).astype(np.float32)
    got, res = _run(m, x)
    conv, = [n for n in res.project.graph.nodes if n.type.startswith("Conv")]
    assert conv.type == "Conv1D.v1" and conv.config["padding"] == padding
    assert (conv.config["strides"], conv.config["dilation"]) == (strides[1], dilations[1])
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    # ONNX's (N, F, L') is NN Studio's channels-last (L', F)
    np.testing.assert_allclose(got, want.transpose(0, 2, 1), atol=1e-5, rtol=1e-5)


def test_height_one_conv2d_padding_the_height_is_refused():
    m = _height_one_conv(np.random.default_rng(0), [1, 1, 1, 1], [1, 1], [1, 1])
    with pytest.raises(OnnxImportError, match="pad the added height-1 axis"):
        convert_model(m, "m.onnx")
