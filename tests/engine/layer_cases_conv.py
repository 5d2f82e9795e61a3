"""Contract-test cases for convolution and pooling layers (tiny sizes: the float64
gradient check runs on every case)."""
from tests.engine.layer_contract_types import LayerCase

CASES = [
    LayerCase("Conv2D.v1", {"filters": 2, "kernel_size": 3}, [(5, 5, 2)], (3, 3, 2), batch=2),
    LayerCase("Conv2D.v1", {"filters": 3, "kernel_size": 3, "padding": "same", "activation": "tanh"},
              [(4, 5, 1)], (4, 5, 3), batch=2),
    LayerCase("Conv2D.v1", {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same", "use_bias": False},
              [(5, 4, 2)], (3, 2, 2), batch=2),
    LayerCase("Conv2D.v1", {"filters": 2, "kernel_size": 2, "dilation": 2, "strides": 2}, [(6, 5, 1)],
              (2, 2, 2), batch=2),
    LayerCase("Conv2D.v1", {"filters": 3, "kernel_size": 1, "activation": "softmax"}, [(2, 2, 2)], (2, 2, 3),
              batch=2),
    # evaluation mode: the im2col columns are not kept, backprop recomputes them
    LayerCase("Conv2D.v1", {"filters": 2, "kernel_size": 3, "padding": "same", "activation": "relu"},
              [(3, 4, 2)], (3, 4, 2), batch=2, train=False),
    LayerCase("Conv1D.v1", {"filters": 3, "kernel_size": 3}, [(7, 2)], (5, 3)),
    LayerCase("Conv1D.v1", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "dilation": 2,
                            "activation": "relu"}, [(7, 2)], (4, 2)),
    LayerCase("MaxPool2D.v1", {}, [(4, 4, 2)], (2, 2, 2), batch=2),
    LayerCase("MaxPool2D.v1", {"pool_size": 3, "strides": 2, "padding": "same"}, [(5, 4, 2)], (3, 2, 2),
              batch=2),
    LayerCase("AvgPool2D.v1", {}, [(4, 5, 2)], (2, 2, 2), batch=2),
    LayerCase("AvgPool2D.v1", {"pool_size": 3, "strides": 2, "padding": "same"}, [(5, 4, 2)], (3, 2, 2),
              batch=2),
    LayerCase("MaxPool1D.v1", {}, [(6, 2)], (3, 2)),
    LayerCase("MaxPool1D.v1", {"pool_size": 3, "strides": 1, "padding": "same"}, [(5, 2)], (5, 2)),
    LayerCase("AvgPool1D.v1", {}, [(7, 2)], (3, 2)),
    LayerCase("AvgPool1D.v1", {"pool_size": 2, "strides": 2, "padding": "same"}, [(5, 3)], (3, 3)),
    LayerCase("GlobalAvgPool.v1", {}, [(3, 3, 2)], (2,)),
    LayerCase("GlobalAvgPool.v1", {}, [(4, 3)], (3,)),
    LayerCase("UpSampling2D.v1", {}, [(2, 3, 2)], (4, 6, 2), batch=2),
    LayerCase("UpSampling2D.v1", {"size": 3}, [(2, 1, 1)], (6, 3, 1), batch=2),
]

SHAPE_ERRORS = [
    ("Conv2D.v1", {}, [(784,)], r"expects \(height, width, channels\), got \(None, 784\); add Reshape"),
    ("Conv2D.v1", {"kernel_size": 5}, [(3, 3, 1)], "larger than the input"),
    ("Conv1D.v1", {}, [(28, 28, 1)], r"expects \(length, channels\)"),
    ("Conv1D.v1", {"kernel_size": 3, "dilation": 3}, [(6, 1)], "larger than the input"),
    ("MaxPool2D.v1", {}, [(10, 3)], r"expects \(height, width, channels\)"),
    ("MaxPool2D.v1", {"pool_size": 4}, [(3, 3, 1)], "larger than the input"),
    ("AvgPool1D.v1", {}, [(10,)], r"expects \(length, channels\)"),
    ("GlobalAvgPool.v1", {}, [(10,)], "expects"),
    ("UpSampling2D.v1", {}, [(10, 2)], r"expects \(height, width, channels\)"),
]
