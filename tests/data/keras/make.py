import sys

import numpy as np
import tensorflow as tf
import tf2onnx

tf.random.set_seed(0)
rng = np.random.default_rng(0)
out = sys.argv[1]
K = tf.keras
models = {
  "mlp": (K.Sequential([K.Input((8,)), K.layers.Dense(16, activation="relu"), K.layers.Dense(3, activation="softmax")]), (5, 8)),
  "cnn": (K.Sequential([K.Input((12, 12, 1)), K.layers.Conv2D(4, 3, padding="same", activation="relu"), K.layers.MaxPooling2D(2),
                        K.layers.Conv2D(6, 3, activation="relu"), K.layers.Flatten(), K.layers.Dense(5, activation="softmax")]), (4, 12, 12, 1)),
  "lstm": (K.Sequential([K.Input((7, 3)), K.layers.LSTM(6), K.layers.Dense(2, activation="softmax")]), (4, 7, 3)),
  "bigru": (K.Sequential([K.Input((7, 3)), K.layers.Bidirectional(K.layers.GRU(5)), K.layers.Dense(2)]), (4, 7, 3)),
  # non-zero biases (tf2onnx drops an Add of zeros, so the default zero biases would test nothing)
  "conv1d": (K.Sequential([K.Input((20, 2)), K.layers.Conv1D(4, 3, padding="same", activation="relu", bias_initializer="random_normal"),
                           K.layers.Conv1D(3, 2, strides=2, padding="valid", activation="tanh", bias_initializer="random_normal"),
                           K.layers.Conv1D(3, 3, dilation_rate=2, padding="same", bias_initializer="random_normal"),
                           K.layers.GlobalAveragePooling1D(), K.layers.Dense(1, bias_initializer="random_normal")]), (3, 20, 2)),
  "bilstm": (K.Sequential([K.Input((7, 3)), K.layers.Bidirectional(K.layers.LSTM(5)), K.layers.Dense(2)]), (4, 7, 3)),
}
only = sys.argv[2:]  # optional: the models to make (all by default; made alone, a model draws other weights and x than in a full run -- the .npz holds what was used)
for name, (m, shape) in models.items():
    if only and name not in only:
        continue
    x = rng.standard_normal(shape).astype(np.float32)
    y = m.predict(x, verbose=0)
    spec = (tf.TensorSpec((None,) + shape[1:], tf.float32, name="x"),)
    try:
        fn = tf.function(lambda t, m=m: m(t, training=False))
        tf2onnx.convert.from_function(fn, input_signature=spec, opset=17, output_path=f"{out}/{name}.onnx")
        np.savez(f"{out}/{name}.npz", x=x, y=y)
        print(name, "ok")
    except Exception as e:
        print(name, "FAILED", type(e).__name__, str(e)[:200])
