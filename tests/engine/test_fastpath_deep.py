"""Deep Dense chains on the fused step: typed lists above TUPLE_MAX_LAYERS (one compiled
kernel for every depth), same results as the generic step; a Numba error falls back."""
from __future__ import annotations

import numpy as np
import pytest

from engine import fastpath
from engine.fastpath import TUPLE_MAX_LAYERS, why_not_fast
from engine.trainer import TrainConfig, Trainer
from tests.engine.fakes import ArrayDataset, blobs
from tests.engine.test_fastpath import assert_same_state, mlp, steps


def deep_pair(depth, opt, dtype, strategy, bias=True):
    ds = ArrayDataset(*blobs(96))
    cfg = TrainConfig(epochs=1, batch_size=16, seed=5, **opt)
    graph = mlp(2, [5] * depth, 3, act="tanh", bias=bias)
    fast, slow = Trainer(graph, ds, cfg, dtype=dtype), Trainer(graph, ds, cfg, dtype=dtype)
    assert fast.fast_step is not None, why_not_fast(fast)
    fast.fast_step.strategy = strategy
    slow.fast_step = None
    return fast, slow


@pytest.mark.parametrize("strategy", ["small", "blas"])
@pytest.mark.parametrize("opt", [dict(optimizer="adam", lr=0.01), dict(optimizer="sgd", lr=0.05, momentum=0.9),
                                 dict(optimizer="rmsprop", lr=0.01)])
def test_a_deep_chain_equals_the_generic_step(strategy, opt):
    depth = TUPLE_MAX_LAYERS + 4
    fast, slow = deep_pair(depth, opt, np.float64, strategy)
    assert fast.fast_step.deep
    np.testing.assert_allclose(steps(fast, 10), steps(slow, 10), rtol=1e-9)
    assert_same_state(fast, slow, rtol=1e-6, atol=1e-10)
    assert fast.fast_step is not None and fast.fast_step.disabled is None  # it stayed on the fused path


def test_deep_float32_without_bias_and_the_lists_follow_new_weights():
    fast, slow = deep_pair(TUPLE_MAX_LAYERS + 1, dict(optimizer="adam", lr=0.01), np.float32, "small", bias=False)
    np.testing.assert_allclose(steps(fast, 6), steps(slow, 6), rtol=1e-4, atol=1e-6)
    state = slow.model.state_dict()
    fast.model.load_state_dict(state)  # new arrays: the packed lists must be rebuilt
    fast.optimizer.load_state_dict(slow.optimizer.state_dict())
    np.testing.assert_allclose(steps(fast, 4), steps(slow, 4), rtol=1e-4, atol=1e-6)
    assert_same_state(fast, slow, rtol=1e-4, atol=1e-5)


def test_shallow_chains_keep_tuples():
    fast, _ = deep_pair(2, dict(optimizer="adam", lr=0.01), np.float64, "small")
    assert not fast.fast_step.deep


def test_a_numba_error_falls_back_to_the_generic_step(monkeypatch):
    from numba.core.errors import UnsupportedError

    fast, slow = deep_pair(3, dict(optimizer="adam", lr=0.01), np.float64, "small")

    def refuse(*a, **k):
        raise UnsupportedError("too many things")

    monkeypatch.setattr(fastpath.K, "mlp_step_small", refuse)
    step = fast.fast_step
    np.testing.assert_allclose(steps(fast, 5), steps(slow, 5), rtol=1e-12)
    assert fast.fast_step is None and step.disabled.startswith("UnsupportedError: too many things")
    assert_same_state(fast, slow, rtol=1e-12, atol=1e-14)
