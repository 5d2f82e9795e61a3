"""A minimal in-memory dataset for engine tests (duck-types engine.data.Dataset)."""
import numpy as np


class ArrayDataset:
    def __init__(self, x, y, task="classification", n_outputs=None, val_fraction=0.25, seed=0):
        x = np.asarray(x, dtype=np.float32)
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(x))
        n_val = int(len(x) * val_fraction)
        self.x = {"val": x[idx[:n_val]], "train": x[idx[n_val:]], "test": x[:0]}
        self.y = {"val": y[idx[:n_val]], "train": y[idx[n_val:]], "test": y[:0]}
        self.task = task
        self.input_shape = x.shape[1:]
        self.n_outputs = n_outputs if n_outputs is not None else (int(y.max()) + 1 if task == "classification" else y.shape[1])
        self.class_names = None

    def n(self, split):
        return len(self.x[split])

    def get_batch(self, split, idx):
        return self.x[split][idx], self.y[split][idx]


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[2.0, 2.0], [-2.0, -2.0], [2.0, -2.0]])
    y = rng.integers(0, 3, n)
    x = centers[y] + 0.6 * rng.standard_normal((n, 2))
    return x, y.astype(np.int64)


def xor(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
    return x, y
