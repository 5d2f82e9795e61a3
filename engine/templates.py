"""Ready-made example graphs for the Templates menu and ``python main.py template`` (pure Python, no Qt).

Every template builds a graph of registered layers that compiles (``tests/engine/test_templates.py``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.spec import GraphSpec, sequential

SPACING = 110.0


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    description: str
    build: Callable[[], GraphSpec]


def mlp() -> GraphSpec:
    """Two hidden layers for small tabular problems (2 features -> 3 classes)."""
    return sequential([
        ("Input.v1", {"shape": [2]}),
        ("Dense.v1", {"units": 32, "activation": "relu"}),
        ("Dense.v1", {"units": 32, "activation": "relu"}),
        ("Dense.v1", {"units": 3, "activation": "softmax"}),
    ], spacing=SPACING)


def small_cnn() -> GraphSpec:
    """The classic MNIST-sized CNN ("W4")."""
    return sequential([
        ("Input.v1", {"shape": [28, 28, 1]}),
        ("Conv2D.v1", {"filters": 32, "kernel_size": 3, "activation": "relu"}),
        ("MaxPool2D.v1", {"pool_size": 2}),
        ("Conv2D.v1", {"filters": 64, "kernel_size": 3, "activation": "relu"}),
        ("MaxPool2D.v1", {"pool_size": 2}),
        ("Flatten.v1", {}),
        ("Dense.v1", {"units": 128, "activation": "relu"}),
        ("Dense.v1", {"units": 10, "activation": "softmax"}),
    ], spacing=SPACING)


def lstm_text() -> GraphSpec:
    """Token ids (50 per sample) -> embedding -> LSTM -> class probabilities."""
    return sequential([
        ("Input.v1", {"shape": [50]}),
        ("Embedding.v1", {"vocab_size": 10000, "dim": 64}),
        ("LSTM.v1", {"units": 64, "return_sequences": False}),
        ("Dense.v1", {"units": 2, "activation": "softmax"}),
    ], spacing=SPACING)


def lstm_forecast() -> GraphSpec:
    """Windows of 24 time steps x 2 columns -> LSTM -> the next value (the ``seasonal`` sample)."""
    return sequential([
        ("Input.v1", {"shape": [24, 2]}),
        ("LSTM.v1", {"units": 32, "return_sequences": False}),
        ("Dense.v1", {"units": 1}),
    ], spacing=SPACING)


def text_and_numbers() -> GraphSpec:
    """Two inputs: table columns ("num") -> Dense, and a text ("text") -> Embedding -> LSTM, joined."""
    g = GraphSpec()
    g, num = g.add_node("Input.v1", {"shape": [4]}, pos=(0.0, 0.0), name="num")
    g, dense = g.add_node("Dense.v1", {"units": 16, "activation": "relu"}, pos=(0.0, SPACING))
    g, text = g.add_node("Input.v1", {"shape": [50]}, pos=(180.0, 0.0), name="text")
    g, emb = g.add_node("Embedding.v1", {"vocab_size": 10000, "dim": 32}, pos=(180.0, SPACING))
    g, lstm = g.add_node("LSTM.v1", {"units": 32, "return_sequences": False}, pos=(180.0, 2 * SPACING))
    g, cat = g.add_node("Concatenate.v1", {}, pos=(90.0, 3 * SPACING))
    g, out = g.add_node("Dense.v1", {"units": 2, "activation": "softmax"}, pos=(90.0, 4 * SPACING))
    g = g.connect(num, dense).connect(text, emb).connect(emb, lstm)
    g = g.connect(dense, cat, 0).connect(lstm, cat, 1).connect(cat, out)
    return g


def residual_block() -> GraphSpec:
    """Dense -> Dense with a skip connection added back (x + f(x))."""
    g = GraphSpec()
    g, inp = g.add_node("Input.v1", {"shape": [16]}, pos=(0.0, 0.0))
    g, d0 = g.add_node("Dense.v1", {"units": 32, "activation": "relu"}, pos=(0.0, SPACING))
    g, d1 = g.add_node("Dense.v1", {"units": 32, "activation": "relu"}, pos=(140.0, 2 * SPACING))
    g, d2 = g.add_node("Dense.v1", {"units": 32}, pos=(140.0, 3 * SPACING))
    g, add = g.add_node("Add.v1", {}, pos=(0.0, 4 * SPACING))
    g, out = g.add_node("Dense.v1", {"units": 2, "activation": "softmax"}, pos=(0.0, 5 * SPACING))
    g = g.connect(inp, d0).connect(d0, d1).connect(d1, d2)
    g = g.connect(d0, add, 0).connect(d2, add, 1).connect(add, out)
    return g


TEMPLATES: list[Template] = [
    Template("mlp", "MLP", "Multi-layer perceptron for tabular data (2 features, 3 classes).", mlp),
    Template("cnn", "Small CNN", "Convolutional network for 28×28 grey images (10 classes).", small_cnn),
    Template("lstm", "LSTM text classifier", "Sequences of 50 token ids -> embedding -> LSTM -> 2 classes.", lstm_text),
    Template("forecast", "LSTM forecaster", "Time-series windows (24 steps × 2 columns) -> LSTM -> the next value.",
             lstm_forecast),
    Template("text_table", "Table with a text field",
             "Two inputs: numeric columns ('num') -> Dense and a text column ('text') -> embedding -> LSTM, "
             "concatenated -> 2 classes.", text_and_numbers),
    Template("residual", "Residual block", "Two Dense layers with a skip connection joined by Add.", residual_block),
]


def all_templates() -> list[Template]:
    return list(TEMPLATES)


def get_template(key: str) -> Template:
    for t in TEMPLATES:
        if t.key == key:
            return t
    raise KeyError(f"unknown template {key!r}")
