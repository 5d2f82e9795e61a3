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
    # issue #15: bidirectional (concat / sum), GRU linear_before_reset=0, ReverseSequence
    LayerCase("SimpleRNN.v1", {"units": 2, "bidirectional": True}, [(4, 2)], (4,)),
    LayerCase("SimpleRNN.v1", {"units": 2, "bidirectional": True, "merge_mode": "sum", "return_sequences": True},
              [(3, 2)], (3, 2)),
    LayerCase("LSTM.v1", {"units": 2, "bidirectional": True, "return_sequences": True}, [(3, 3)], (3, 4)),
    LayerCase("LSTM.v1", {"units": 3, "bidirectional": True, "merge_mode": "sum"}, [(4, 2)], (3,)),
    LayerCase("GRU.v1", {"units": 2, "bidirectional": True}, [(4, 2)], (4,)),
    LayerCase("GRU.v1", {"units": 2, "bidirectional": True, "return_sequences": True, "merge_mode": "sum"},
              [(3, 3)], (3, 2)),
    LayerCase("GRU.v1", {"units": 3, "linear_before_reset": False}, [(4, 2)], (3,)),
    LayerCase("GRU.v1", {"units": 2, "linear_before_reset": False, "return_sequences": True,
                         "bidirectional": True}, [(3, 3)], (3, 4)),
    LayerCase("ReverseSequence.v1", {}, [(4, 3)], (4, 3)),
    LayerCase("ReverseSequence.v1", {}, [(5,)], (5,)),
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
