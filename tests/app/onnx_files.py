"""A small ONNX file for the import tests of the app and the CLI (written with onnx.helper, no torch)."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def write_model(path, bad: bool = False):
    """Conv(1->2, 3x3) -> Relu -> Flatten -> MatMul -> Softmax on (N, 1, 6, 6); ``bad``: a dilation that differs
    per axis and a LogSoftmax, two things NN Studio cannot map."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)
    D = rng.standard_normal((2 * 4 * 4, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], kernel_shape=[3, 3], name="conv1",
                              **({"dilations": [1, 2]} if bad else {"pads": [0, 0, 0, 0]})),
             helper.make_node("Relu", ["c"], ["r"], name="relu1"),
             helper.make_node("Flatten", ["r"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "D"], ["m"], name="fc"),
             helper.make_node("LogSoftmax" if bad else "Softmax", ["m"], ["y"], name="probs")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
                          initializer=[numpy_helper.from_array(W, "W"), numpy_helper.from_array(D, "D")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
