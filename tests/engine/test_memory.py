"""Memory: weights drawn straight into float32 with the same values as before, parameter
shapes known without allocating, and the pre-check that refuses a model or run that cannot fit."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from engine import initializers, memory
from engine.compile import GraphError, analyse
from engine.layers.recurrent import _orthogonal
from engine.model import compile_graph
from engine.registry import build_layer
from engine.spec import sequential
from engine.trainer import TrainConfig, Trainer
from tests.engine.test_layer_contract import CASES


def _old_init(kind, shape, fan_in, fan_out, rng, dtype):
    """``init_weight`` before issue #18: the whole array in float64, then converted."""
    if kind == "he":
        w = rng.standard_normal(shape) * np.sqrt(2.0 / max(fan_in, 1))
    else:
        limit = np.sqrt(6.0 / max(fan_in + fan_out, 1))
        w = rng.uniform(-limit, limit, size=shape)
    return np.ascontiguousarray(w, dtype=dtype)


@pytest.mark.parametrize("block", [7, 1 << 20])
@pytest.mark.parametrize("kind", ["he", "glorot"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3,), (50, 13), (3, 3, 4, 8), (1, 0)])
def test_weights_are_the_values_drawn_before(monkeypatch, block, kind, dtype, shape):
    monkeypatch.setattr(initializers, "BLOCK", block)
    fan_in, fan_out = shape[0], shape[-1]
    got = initializers.init_weight(kind, shape, fan_in, fan_out, np.random.default_rng(3), dtype)
    want = _old_init(kind, shape, fan_in, fan_out, np.random.default_rng(3), dtype)
    assert got.dtype == np.dtype(dtype) and got.flags.c_contiguous and got.shape == want.shape
    assert np.array_equal(got, want)
    # the stream goes on where it would have
    r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
    initializers.init_weight(kind, shape, fan_in, fan_out, r1, dtype)
    _old_init(kind, shape, fan_in, fan_out, r2, dtype)
    assert r1.random() == r2.random()


def test_a_float32_draw_holds_no_float64_copy(monkeypatch):
    tracemalloc.start()
    try:
        w = initializers.init_weight("he", (2000, 1500), 2000, 1500, np.random.default_rng(0), np.float32)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert w.nbytes == 12_000_000
    assert peak < w.nbytes + 3 * 8 * initializers.BLOCK  # the array, plus a block or so of float64


def test_embedding_and_recurrent_weights_are_unchanged():
    emb = build_layer("Embedding.v1", {"vocab_size": 30, "dim": 7})
    got = emb.init_params([(5,)], np.random.default_rng(1), np.float32)["W"]
    want = np.ascontiguousarray(np.random.default_rng(1).standard_normal((30, 7)), dtype=np.float32)
    assert np.array_equal(got, want)
    lstm = build_layer("LSTM.v1", {"units": 6})
    got = lstm.init_params([(4, 3)], np.random.default_rng(2), np.float32)
    rng = np.random.default_rng(2)
    _old_init("glorot", (24, 3), 3, 24, rng, np.float32)
    want = np.ascontiguousarray(np.concatenate([_orthogonal(6, 6, rng) for _ in range(4)], axis=0), dtype=np.float32)
    assert np.array_equal(got["W_hh"], want)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.type_id)
def test_param_shapes_are_the_shapes_init_gives(case):
    layer = build_layer(case.type_id, case.config)
    ins = [tuple(s) for s in case.in_shapes]
    params = layer.init_params(ins, np.random.default_rng(0), np.float32)
    state = layer.init_state(ins, np.float32)
    assert layer.param_shapes(ins) == {k: v.shape for k, v in params.items()}
    assert layer.state_shapes(ins) == {k: v.shape for k, v in state.items()}
    if params:  # every built-in layer knows its shapes without building them
        assert type(layer).param_shapes is not type(layer).__mro__[-2].param_shapes


def _mlp(n_in, hidden):
    return sequential([("Input.v1", {"shape": [n_in]}), ("Dense.v1", {"units": hidden, "activation": "relu"}),
                       ("Dense.v1", {"units": 3, "activation": "softmax"})])


def test_estimate_counts_what_the_model_holds():
    spec = sequential([("Input.v1", {"shape": [8, 8, 1]}), ("Conv2D.v1", {"filters": 4, "kernel_size": 3}),
                       ("BatchNorm.v1", {}), ("Flatten.v1", {}), ("Dense.v1", {"units": 5})])
    a = analyse(spec)
    model = compile_graph(spec)
    est = memory.estimate(spec, a)
    held = sum(v.nbytes for d in (*model.params.values(), *model.state.values()) for v in d.values())
    assert est.total == held
    train = memory.estimate(spec, a, batch_size=16, optimizer="adam")
    n_w = model.n_params()
    acts = sum(int(np.prod(s)) for s in a.shapes.values())
    assert train.total == held + 3 * 4 * n_w + 2 * 4 * 16 * acts  # + gradients + Adam m, v + activations
    assert memory.estimate(spec, a, batch_size=16, optimizer="sgd").total == held + 4 * n_w + 2 * 4 * 16 * acts


class _Rows:
    task = "classification"
    input_shape = (65536,)
    n_outputs = 3
    class_names = None

    def n(self, split):
        return 100 if split == "train" else 0


def test_a_model_above_the_limit_is_refused_without_allocating(monkeypatch):
    monkeypatch.setenv(memory.LIMIT_ENV, "6G")
    spec = _mlp(65536, 10000)  # 655 M weights: 2.6 GB, 10.5 GB to train with Adam
    tracemalloc.start()
    try:
        with pytest.raises(memory.MemoryCheckError) as ei:
            Trainer(spec, _Rows(), TrainConfig(optimizer="adam", batch_size=32))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000  # nothing of the model's size was allocated
    msg = str(ei.value)
    assert ei.value.node_id == "n2" and isinstance(ei.value, GraphError)
    assert msg.startswith("Dense 'n2' has 655 M weights (2.6 GB + 2.6 GB gradients + 5.2 GB Adam state)")
    assert "the memory limit (NNSTUDIO_MEMORY_LIMIT) is 6.0 GB" in msg and "\n" not in msg
    # building alone (2.6 GB) fits in 6 GB; under 2 GB it is refused too
    monkeypatch.setenv(memory.LIMIT_ENV, "2G")
    with pytest.raises(memory.MemoryCheckError, match=r"^Dense 'n2' has 655 M weights \(2.6 GB\)"):
        compile_graph(spec)


def test_big_batches_are_named_as_the_cause(monkeypatch):
    monkeypatch.setenv(memory.LIMIT_ENV, "1G")
    spec = sequential([("Input.v1", {"shape": [256, 256, 3]}), ("Conv2D.v1", {"filters": 64, "kernel_size": 3}),
                       ("Flatten.v1", {}), ("Dense.v1", {"units": 2})])
    est = memory.estimate(spec, analyse(spec), batch_size=512, optimizer="adam")
    with pytest.raises(memory.MemoryCheckError) as ei:
        memory.check(est)
    assert str(ei.value).startswith("the activations of one batch of 512 need ") and "smaller batch size" in str(ei.value)
    memory.check(memory.estimate(spec, analyse(spec), batch_size=512, optimizer="adam"), available=10**12)


def test_small_models_pass_and_the_limit_is_read(monkeypatch):
    monkeypatch.delenv(memory.LIMIT_ENV, raising=False)
    avail = memory.available_bytes()
    assert avail is None or avail > 0
    compile_graph(_mlp(4, 8))
    assert memory.parse_size("6G") == 6 * 10**9 and memory.parse_size("512M") == 512 * 10**6
    assert memory.parse_size("1.5GB") == 1_500_000_000 and memory.parse_size("1000") == 1000
    monkeypatch.setenv(memory.LIMIT_ENV, "lots")
    with pytest.raises(memory.MemoryCheckError, match="is not a size"):
        compile_graph(_mlp(4, 8))


def test_the_messages_are_translated(monkeypatch):
    from engine.i18n import translate

    monkeypatch.setenv(memory.LIMIT_ENV, "6G")
    spec = _mlp(65536, 10000)
    a = analyse(spec)
    texts = []
    for kw in (dict(batch_size=32, optimizer="adam"), dict(batch_size=32, optimizer="sgd"), dict()):
        with pytest.raises(memory.MemoryCheckError) as ei:
            memory.check(memory.estimate(spec, a, **kw), available=10**9)
        texts.append(str(ei.value))
    with pytest.raises(memory.MemoryCheckError) as ei:
        memory.check(memory.estimate(spec, a, batch_size=32, optimizer="adam", weights_allocated=True), available=10**9)
    texts.append(str(ei.value))
    monkeypatch.delenv(memory.LIMIT_ENV)
    big = sequential([("Input.v1", {"shape": [256, 256, 3]}), ("Conv2D.v1", {"filters": 64, "kernel_size": 3}),
                      ("Flatten.v1", {}), ("Dense.v1", {"units": 2})])
    with pytest.raises(memory.MemoryCheckError) as ei:
        memory.check(memory.estimate(big, analyse(big), batch_size=512, optimizer="adam"), available=10**9)
    texts.append(str(ei.value))
    for t in texts:
        zh = translate(t, "zh_CN")
        assert zh != t, t
        words = [w for w in ("gradients", "state", "weights", "free", "machine", "batch", "need", "limit") if w in zh]
        assert not words, (t, zh)
