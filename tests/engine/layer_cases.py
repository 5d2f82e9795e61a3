"""Contract-test cases for the core layers.  Every registered layer needs at
least one case in a ``tests/engine/layer_cases*.py`` module (see test_layer_contract.py)."""
from tests.engine.layer_contract_types import LayerCase

CASES = [
    LayerCase("Input.v1", {"shape": [4]}, [], (4,), input_free=True),
    LayerCase("Dense.v1", {"units": 3}, [(4,)], (3,)),
    LayerCase("Dense.v1", {"units": 5, "activation": "tanh", "use_bias": False}, [(2,)], (5,)),
    LayerCase("Dense.v1", {"units": 3, "activation": "softmax"}, [(4,)], (3,)),
    LayerCase("Flatten.v1", {}, [(2, 3, 2)], (12,)),
    LayerCase("Reshape.v1", {"shape": [3, -1]}, [(12,)], (3, 4)),
    LayerCase("Dropout.v1", {"rate": 0.3}, [(6,)], (6,)),
    LayerCase("BatchNorm.v1", {}, [(4,)], (4,), batch=6),
    LayerCase("BatchNorm.v1", {}, [(3, 3, 2)], (3, 3, 2), batch=4),
    LayerCase("BatchNorm.v1", {}, [(4,)], (4,), train=False),
    LayerCase("Add.v1", {}, [(3,), (3,), (3,)], (3,)),
    LayerCase("Concatenate.v1", {}, [(3,), (2,)], (5,)),
    LayerCase("Concatenate.v1", {"axis": 1}, [(2, 3), (4, 3)], (6, 3)),
    LayerCase("ReLU.v1", {}, [(5,)], (5,)),
    LayerCase("LeakyReLU.v1", {}, [(5,)], (5,)),
    LayerCase("ELU.v1", {}, [(5,)], (5,)),
    LayerCase("GELU.v1", {}, [(5,)], (5,)),
    LayerCase("Sigmoid.v1", {}, [(5,)], (5,)),
    LayerCase("Tanh.v1", {}, [(5,)], (5,)),
    LayerCase("Softmax.v1", {}, [(5,)], (5,)),
    LayerCase("Softmax.v1", {}, [(2, 4)], (2, 4)),
    # settings of issue #15
    LayerCase("LeakyReLU.v1", {"negative_slope": 0.2}, [(5,)], (5,)),
    LayerCase("ELU.v1", {"alpha": 0.5}, [(2, 3)], (2, 3)),
    LayerCase("GELU.v1", {"approximate": "none"}, [(6,)], (6,)),
    LayerCase("GELU.v1", {"approximate": "tanh"}, [(2, 3)], (2, 3)),
    LayerCase("Softmax.v1", {"axis": 1}, [(3, 4)], (3, 4)),
    LayerCase("Softmax.v1", {"axis": -2}, [(3, 2, 2)], (3, 2, 2)),
    LayerCase("Dense.v1", {"units": 3, "last_axis": True}, [(4, 2)], (4, 3)),
    LayerCase("Dense.v1", {"units": 2, "last_axis": True, "activation": "softmax"}, [(2, 3, 3)], (2, 3, 2)),
    LayerCase("Dense.v1", {"units": 2, "last_axis": True, "activation": "tanh", "use_bias": False}, [(3,)], (2,)),
]

# (type_id, config, in_shapes, expected substring of the ShapeError message)
SHAPE_ERRORS = [
    ("Dense.v1", {"units": 3}, [(4, 4)], "add Flatten"),
    ("Softmax.v1", {"axis": 0}, [(4, 4)], "axis 0 is the batch axis"),
    ("Softmax.v1", {"axis": 3}, [(4, 4)], "axis 3 is out of range for inputs of rank 2"),
    ("Reshape.v1", {"shape": [5]}, [(12,)], "cannot reshape"),
    ("Add.v1", {}, [(3,), (4,)], "same shape"),
    ("Concatenate.v1", {}, [(3, 2), (4, 3)], "must match"),
]
