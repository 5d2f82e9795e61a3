"""End-to-end checks of the convolution / sequence layers through compile + model.

* A small CNN on scikit-learn's 8x8 digits learns (>= 0.95 test accuracy) with a
  hand-written softmax cross-entropy and Adam (independent of the project's
  trainer, losses and optimizers).
* An Embedding -> LSTM -> Dense graph and a tiny transformer block compile and
  pass a whole-model float64 finite-difference check.
"""
import numpy as np
import pytest

from engine.model import compile_graph
from engine.spec import GraphSpec, sequential


def softmax_xent(logits, y):
    """Mean cross-entropy of integer labels and its gradient w.r.t. the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.log(p[np.arange(n), y] + 1e-12).mean()
    g = p
    g[np.arange(n), y] -= 1.0
    return float(loss), (g / n).astype(logits.dtype)


class Adam:
    def __init__(self, params, lr=3e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads):
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        for k, p in self.params.items():
            g = grads[k]
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            p -= (self.lr * (self.m[k] / c1) / (np.sqrt(self.v[k] / c2) + self.eps)).astype(p.dtype)


@pytest.mark.slow
def test_small_cnn_learns_sklearn_digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]      # (N, 8, 8, 1) channels last
    y = digits.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)

    model = compile_graph(sequential([
        ("Input.v1", {"shape": [8, 8, 1]}),
        ("Conv2D.v1", {"filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"}),
        ("MaxPool2D.v1", {"pool_size": 2}),
        ("Conv2D.v1", {"filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"}),
        ("MaxPool2D.v1", {"pool_size": 2}),
        ("Flatten.v1", {}),
        ("Dense.v1", {"units": 10, "activation": "softmax"}),
    ]), seed=0)
    flat = model.trainable()
    opt = Adam(flat, lr=3e-3)
    rng = np.random.default_rng(0)
    losses = []
    for _epoch in range(8):
        order = rng.permutation(len(xtr))
        for s in range(0, len(order), 32):
            idx = order[s:s + 32]
            logits, back = model.forward_train(xtr[idx], logits=True, rng=rng)
            assert logits.dtype == np.float32
            loss, g = softmax_xent(logits, ytr[idx])
            losses.append(loss)
            grads, _ = back(g)
            opt.step({f"{nid}/{k}": v for nid, d in grads.items() for k, v in d.items()})
    probs = model.predict(xte)
    acc = float((probs.argmax(axis=1) == yte).mean())
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    print(f"digits CNN test accuracy {acc:.3f}")
    assert acc >= 0.95, f"test accuracy {acc:.3f}"


# ----------------------------------------------------- whole-model gradient checks
def _model_gradcheck(model, x, n_coords=4, eps=1e-6, rtol=1e-5, seed=0):
    """Finite differences of sum(forward(x) * R) on a few coordinates of every parameter."""
    rng = np.random.default_rng(seed)
    y, back = model.forward_train(x, train=False)
    R = rng.standard_normal(y.shape)
    grads, _ = back(R)
    checked = 0
    for nid, ps in model.params.items():
        for name, p in ps.items():
            flat = p.reshape(-1)
            coords = rng.choice(flat.size, size=min(n_coords, flat.size), replace=False)
            for c in coords:
                old = flat[c]
                flat[c] = old + eps
                lp = float(np.sum(model.forward(x) * R))
                flat[c] = old - eps
                lm = float(np.sum(model.forward(x) * R))
                flat[c] = old
                num = (lp - lm) / (2 * eps)
                ana = grads[nid][name].reshape(-1)[c]
                assert abs(ana - num) <= 1e-7 + rtol * max(abs(ana), abs(num)), (
                    f"{nid}/{name}[{c}]: analytic {ana:.10g} vs numeric {num:.10g}")
                checked += 1
    return checked


def test_embedding_lstm_classifier_compiles_and_gradchecks():
    spec = sequential([
        ("Input.v1", {"shape": [50]}),
        ("Embedding.v1", {"vocab_size": 20, "dim": 4}),
        ("LSTM.v1", {"units": 5}),
        ("Dense.v1", {"units": 3, "activation": "softmax"}),
    ])
    model = compile_graph(spec, dtype=np.float64, seed=1)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 20, size=(2, 50)).astype(np.float64)  # ids arrive as float arrays too
    y = model.forward(ids)
    assert y.shape == (2, 3)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-12)
    assert _model_gradcheck(model, ids) > 0
    # float32 model: output stays float32
    m32 = compile_graph(spec, seed=1)
    assert m32.forward(ids.astype(np.float32)).dtype == np.float32


def test_tiny_transformer_block_compiles_and_gradchecks():
    g = GraphSpec()
    g, inp = g.add_node("Input.v1", {"shape": [5, 8]})
    g, ln = g.add_node("LayerNorm.v1", {})
    g, att = g.add_node("MultiHeadAttention.v1", {"num_heads": 2, "causal": True})
    g, add = g.add_node("Add.v1", {})
    g, pool = g.add_node("GlobalAvgPool.v1", {})
    g, out = g.add_node("Dense.v1", {"units": 3})
    g = g.connect(inp, ln).connect(ln, att).connect(inp, add, 0).connect(att, add, 1)
    g = g.connect(add, pool).connect(pool, out)
    model = compile_graph(g, dtype=np.float64, seed=2)
    # LayerNorm's gamma/beta start at 1/0; perturb so that their gradients are generic
    rng = np.random.default_rng(1)
    for ps in model.params.values():
        for p in ps.values():
            p += 0.1 * rng.standard_normal(p.shape)
    x = rng.standard_normal((3, 5, 8))
    assert model.forward(x).shape == (3, 3)
    assert _model_gradcheck(model, x) > 0


def test_cnn_template_runs_forward_and_backward():
    from engine.templates import get_template
    model = compile_graph(get_template("cnn").build(), seed=0)
    x = np.random.default_rng(0).standard_normal((2, 28, 28, 1)).astype(np.float32)
    y, back = model.forward_train(x, logits=True)
    assert y.shape == (2, 10) and y.dtype == np.float32
    grads, _ = back(np.ones_like(y))
    for nid, ps in model.params.items():
        for k, p in ps.items():
            assert grads[nid][k].shape == p.shape and grads[nid][k].dtype == np.float32
