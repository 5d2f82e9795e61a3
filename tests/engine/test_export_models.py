"""Small graphs that together use every exportable layer type, with randomised weights.

Imported by the export round-trip tests (tests/engine/test_export_*.py and
tests/interop/test_torch_*.py).  The tests here only check the builders themselves.
"""
from __future__ import annotations

import numpy as np
import pytest

from engine.model import compile_graph
from engine.spec import GraphSpec


def _graph(nodes, edges) -> GraphSpec:
    """nodes: list of (id, type, config); edges: list of (src, dst[, port])."""
    spec = GraphSpec()
    for nid, typ, cfg in nodes:
        spec, _ = spec.add_node(typ, cfg, node_id=nid)
    for e in edges:
        spec = spec.connect(e[0], e[1], e[2] if len(e) > 2 else 0)
    return spec


def _chain(ids):
    return [(a, b) for a, b in zip(ids, ids[1:])]


def dense_graph() -> GraphSpec:
    """Dense/activations/BatchNorm/Dropout/Reshape/Flatten/Add/Concatenate, softmax output."""
    nodes = [
        ("n1", "Input.v1", {"shape": [6]}),
        ("n2", "Dense.v1", {"units": 12, "activation": "relu"}),
        ("n3", "BatchNorm.v1", {"epsilon": 1e-3}),
        ("n4", "Dropout.v1", {"rate": 0.3}),
        ("n5", "Dense.v1", {"units": 12, "use_bias": False}),
        ("n6", "LeakyReLU.v1", {}),
        ("n7", "Dense.v1", {"units": 12, "activation": "gelu"}),
        ("n8", "Add.v1", {}),
        ("n9", "Reshape.v1", {"shape": [3, -1]}),
        ("n10", "BatchNorm.v1", {}),
        ("n11", "ELU.v1", {}),
        ("n12", "Dense.v1", {"units": 8, "activation": "elu"}),
        ("n13", "Reshape.v1", {"shape": [-1, 4]}),
        ("n14", "Concatenate.v1", {"axis": 1}),          # (3,4) + (2,4) -> (5,4)
        ("n15", "GELU.v1", {}),
        ("n16", "Flatten.v1", {}),
        ("n17", "Dense.v1", {"units": 7, "activation": "leaky_relu"}),
        ("n18", "Sigmoid.v1", {}),
        ("n19", "Dense.v1", {"units": 5, "activation": "sigmoid"}),
        ("n20", "Tanh.v1", {}),
        ("n21", "Dense.v1", {"units": 6, "activation": "tanh"}),
        ("n22", "ReLU.v1", {}),
        ("n23", "Concatenate.v1", {}),                    # (5,) + (6,) -> (11,)
        ("n24", "Dense.v1", {"units": 4}),
        ("n25", "Softmax.v1", {}),
    ]
    edges = [("n1", "n2"), ("n2", "n3"), ("n3", "n4"), ("n4", "n5"), ("n5", "n6"), ("n4", "n7"),
             ("n6", "n8", 0), ("n7", "n8", 1), ("n8", "n9"), ("n9", "n10"), ("n10", "n11"),
             ("n8", "n12"), ("n12", "n13"), ("n11", "n14", 0), ("n13", "n14", 1), ("n14", "n15"),
             ("n15", "n16"), ("n16", "n17"), ("n17", "n18"), ("n18", "n19"), ("n19", "n20"),
             ("n16", "n21"), ("n21", "n22"), ("n20", "n23", 0), ("n22", "n23", 1), ("n23", "n24"),
             ("n24", "n25")]
    return _graph(nodes, edges)


def conv2d_graph() -> GraphSpec:
    nodes = [
        ("n1", "Input.v1", {"shape": [9, 8, 2]}),
        ("n2", "Conv2D.v1", {"filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}),
        ("n3", "BatchNorm.v1", {}),
        ("n4", "MaxPool2D.v1", {"pool_size": 2, "padding": "same"}),              # 5x4
        ("n5", "Conv2D.v1", {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same",
                             "use_bias": False}),                                    # 3x2
        ("n6", "UpSampling2D.v1", {"size": 2}),                                     # 6x4
        ("n7", "Conv2D.v1", {"filters": 5, "kernel_size": 3, "dilation": 2, "padding": "same",
                             "activation": "gelu"}),
        ("n8", "AvgPool2D.v1", {"pool_size": 3, "strides": 2, "padding": "same"}),  # 3x2
        ("n9", "Conv2D.v1", {"filters": 4, "kernel_size": 2, "padding": "valid", "activation": "tanh"}),
        ("n10", "MaxPool2D.v1", {"pool_size": 2, "strides": 1, "padding": "same"}),
        ("n11", "Flatten.v1", {}),
        ("n12", "AvgPool2D.v1", {"pool_size": 2}),
        ("n13", "GlobalAvgPool.v1", {}),
        ("n14", "Concatenate.v1", {}),
        ("n15", "Dense.v1", {"units": 3, "activation": "softmax"}),
    ]
    edges = _chain(["n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10", "n11"]) + [
        ("n7", "n12"), ("n12", "n13"), ("n11", "n14", 0), ("n13", "n14", 1), ("n14", "n15")]
    return _graph(nodes, edges)


def conv1d_graph() -> GraphSpec:
    nodes = [
        ("n1", "Input.v1", {"shape": [13, 3]}),
        ("n2", "Conv1D.v1", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                             "activation": "elu"}),                                 # 7
        ("n3", "MaxPool1D.v1", {"pool_size": 2, "padding": "same"}),                # 4
        ("n4", "Conv1D.v1", {"filters": 5, "kernel_size": 2, "dilation": 2, "padding": "same"}),
        ("n5", "BatchNorm.v1", {}),
        ("n6", "AvgPool1D.v1", {"pool_size": 3, "strides": 1, "padding": "same"}),
        ("n7", "Conv1D.v1", {"filters": 2, "kernel_size": 2, "activation": "sigmoid"}),  # 3
        ("n8", "GlobalAvgPool.v1", {}),
        ("n9", "Dense.v1", {"units": 2}),
    ]
    return _graph(nodes, _chain([n[0] for n in nodes]))


def conv2d_options_graph() -> GraphSpec:
    """Explicit padding (symmetric, per axis, per side), ceil_mode, count_include_pad, pooling dilation."""
    nodes = [
        ("n1", "Input.v1", {"shape": [9, 8, 2]}),
        ("n2", "Conv2D.v1", {"filters": 4, "kernel_size": 3, "padding": "explicit", "pads": [1],
                             "activation": "relu"}),                                          # 9x8
        ("n3", "BatchNorm.v1", {}),
        ("n4", "MaxPool2D.v1", {"pool_size": 3, "strides": 2, "ceil_mode": True}),             # 4x4
        ("n5", "Conv2D.v1", {"filters": 3, "kernel_size": 2, "padding": "explicit", "pads": [0, 1, 1, 0]}),
        ("n6", "AvgPool2D.v1", {"pool_size": 3, "strides": 2, "padding": "explicit", "pads": [1],
                                "ceil_mode": True, "count_include_pad": True}),               # 3x3
        ("n7", "MaxPool2D.v1", {"pool_size": 2, "strides": 1, "dilation": 2, "padding": "explicit",
                                "pads": [1]}),                                                 # 3x3
        ("n8", "AvgPool2D.v1", {"pool_size": 2, "strides": 1, "padding": "explicit", "pads": [0, 1]}),  # 2x4
        ("n9", "GlobalMaxPool.v1", {}),
        ("n10", "GlobalAvgPool.v1", {}),
        ("n11", "Concatenate.v1", {}),
        ("n12", "Dense.v1", {"units": 3, "activation": "softmax"}),
    ]
    edges = _chain(["n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"]) + [
        ("n7", "n10"), ("n9", "n11", 0), ("n10", "n11", 1), ("n11", "n12")]
    return _graph(nodes, edges)


def conv1d_options_graph() -> GraphSpec:
    """The MNIST-1D CNN's Conv1d(padding=1) and the 1-D pooling options."""
    nodes = [
        ("n1", "Input.v1", {"shape": [13, 3]}),
        ("n2", "Conv1D.v1", {"filters": 4, "kernel_size": 3, "padding": "explicit", "pads": [1],
                             "activation": "relu"}),                                          # 13
        ("n3", "BatchNorm.v1", {}),
        ("n4", "MaxPool1D.v1", {"pool_size": 2, "ceil_mode": True}),                          # 7
        ("n5", "Conv1D.v1", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "explicit",
                             "pads": [2, 0]}),                                                # 4
        ("n6", "AvgPool1D.v1", {"pool_size": 2, "strides": 1, "padding": "explicit", "pads": [1],
                                "count_include_pad": True}),                                  # 5
        ("n7", "MaxPool1D.v1", {"pool_size": 2, "strides": 1, "dilation": 2, "padding": "explicit",
                                "pads": [0, 1]}),                                             # 4
        ("n8", "GlobalMaxPool.v1", {}),
        ("n9", "Dense.v1", {"units": 2}),
    ]
    return _graph(nodes, _chain([n[0] for n in nodes]))


def activation_options_graph() -> GraphSpec:
    """Activation settings (slope, alpha, exact GELU, softmax axis) and Dense over the last axis."""
    nodes = [
        ("n1", "Input.v1", {"shape": [4, 6]}),
        ("n2", "Dense.v1", {"units": 8, "activation": "relu", "last_axis": True}),        # (4, 8)
        ("n3", "LeakyReLU.v1", {"negative_slope": 0.2}),
        ("n4", "BatchNorm.v1", {}),
        ("n5", "ELU.v1", {"alpha": 0.5}),
        ("n6", "GELU.v1", {"approximate": "none"}),
        ("n7", "Softmax.v1", {"axis": 1}),                                                # over the 4 positions
        ("n8", "Dense.v1", {"units": 3, "last_axis": True, "use_bias": False}),           # (4, 3)
        ("n9", "GELU.v1", {}),
        ("n10", "Flatten.v1", {}),
        ("n11", "Dense.v1", {"units": 3, "activation": "softmax"}),
    ]
    return _graph(nodes, _chain([n[0] for n in nodes]))


#: name -> graph builder
GRAPHS = {
    "dense": dense_graph,
    "conv2d": conv2d_graph,
    "conv1d": conv1d_graph,
    "conv2d_options": conv2d_options_graph,
    "conv1d_options": conv1d_options_graph,
    "activation_options": activation_options_graph,
}


def randomise(model, seed: int = 0) -> None:
    """Non-trivial weights and BatchNorm statistics (float32)."""
    rng = np.random.default_rng(seed)
    sd = model.state_dict()
    new = {}
    for k, v in sd.items():
        name = k.split("/", 1)[1]
        if name == "running_var":
            new[k] = rng.uniform(0.5, 2.0, v.shape)
        elif name == "gamma":
            new[k] = rng.uniform(0.5, 1.5, v.shape)
        elif name in ("running_mean", "beta") or name.startswith("b"):
            new[k] = rng.normal(0, 0.3, v.shape)
        else:
            new[k] = rng.normal(0, 1.0 / np.sqrt(max(v.shape[0] if v.ndim == 2 else np.prod(v.shape[:-1]), 1)),
                                v.shape)
    model.load_state_dict({k: v.astype(np.float32) for k, v in new.items()})


def build(name: str, seed: int = 0):
    spec = GRAPHS[name]()
    model = compile_graph(spec, seed=seed)
    randomise(model, seed)
    return model


def sample_input(model, n: int = 5, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *model.input_shape)).astype(np.float32)


def rel_err(a, b) -> float:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


@pytest.mark.parametrize("name", list(GRAPHS))
def test_builders_compile_and_weights_are_random(name):
    model = build(name)
    sd = model.state_dict()
    assert any(k.endswith("running_mean") for k in sd)
    assert all(np.any(v != 0) for v in sd.values())
    y = model.predict(sample_input(model))
    assert np.all(np.isfinite(y)) and y.shape[0] == 5


def test_dense_graph_uses_every_core_layer():
    used = {n.type for n in dense_graph().nodes}
    core = {"Input.v1", "Dense.v1", "Flatten.v1", "Reshape.v1", "Dropout.v1", "BatchNorm.v1", "Add.v1",
            "Concatenate.v1", "ReLU.v1", "LeakyReLU.v1", "ELU.v1", "GELU.v1", "Sigmoid.v1", "Tanh.v1",
            "Softmax.v1"}
    assert core <= used
