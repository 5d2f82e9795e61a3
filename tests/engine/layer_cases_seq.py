"""Contract-test cases for sequence layers: Embedding, recurrent, attention, LayerNorm."""
from tests.engine.layer_contract_types import LayerCase

CASES = [
    LayerCase("Embedding.v1", {"vocab_size": 6, "dim": 3}, [(4,)], (4, 3), int_inputs=True, int_high=6),
    LayerCase("SimpleRNN.v1", {"units": 3}, [(4, 2)], (3,)),
    LayerCase("SimpleRNN.v1", {"units": 2, "return_sequences": True}, [(3, 3)], (3, 2)),
    LayerCase("LSTM.v1", {"units": 3}, [(4, 2)], (3,)),
    LayerCase("LSTM.v1", {"units": 2, "return_sequences": True}, [(3, 3)], (3, 2)),
    LayerCase("GRU.v1", {"units": 3}, [(4, 2)], (3,)),
    LayerCase("GRU.v1", {"units": 2, "return_sequences": True}, [(3, 3)], (3, 2)),
    LayerCase("LayerNorm.v1", {}, [(5,)], (5,)),
    LayerCase("LayerNorm.v1", {"epsilon": 1e-3}, [(3, 4)], (3, 4)),
    LayerCase("MultiHeadAttention.v1", {}, [(3, 4)], (3, 4), batch=2),
    LayerCase("MultiHeadAttention.v1", {"num_heads": 3, "causal": True}, [(4, 6)], (4, 6), batch=2),
    LayerCase("MultiHeadAttention.v1", {"num_heads": 1}, [(2, 3)], (2, 3), batch=2),
]

SHAPE_ERRORS = [
    ("Embedding.v1", {}, [(4, 2)], r"expects token ids \(None, length\)"),
    ("LSTM.v1", {}, [(784,)], r"expects a sequence \(length, features\), got \(None, 784\)"),
    ("GRU.v1", {}, [(28, 28, 1)], "Reshape"),
    ("SimpleRNN.v1", {}, [(5,)], "Embedding"),
    ("MultiHeadAttention.v1", {"num_heads": 3}, [(5, 10)], "cannot split 10 features evenly into 3 heads"),
    ("MultiHeadAttention.v1", {}, [(10,)], r"expects a sequence \(length, features\)"),
]
