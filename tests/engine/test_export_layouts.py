"""engine.export.layouts: every layout change, checked against the engine's own maths."""
from __future__ import annotations

import ast

import numpy as np
import pytest

from engine.export import build_metadata
from engine.export import layouts as L
from engine.export.torch_codegen import generate_module
from engine.layers.conv import out_size
from engine.registry import Ctx, build_layer
from tests.engine.test_export_models import build

rng = np.random.default_rng(0)


def test_dense_and_conv_round_trip():
    W = rng.normal(size=(5, 3))
    assert L.dense_to_torch(W).shape == (3, 5)
    np.testing.assert_array_equal(L.dense_from_torch(L.dense_to_torch(W)), W)
    for shape in [(3, 4, 5), (2, 3, 4, 5)]:
        Wc = rng.normal(size=shape)
        t = L.conv_to_torch(Wc)
        assert t.shape == (shape[-1], shape[-2], *shape[:-2]) and t.flags.c_contiguous
        np.testing.assert_array_equal(L.conv_from_torch(t), Wc)
    # one tap by hand: W[kh, kw, c, f] == torch_w[f, c, kh, kw]
    Wc = rng.normal(size=(2, 3, 4, 5))
    assert L.conv_to_torch(Wc)[4, 1, 0, 2] == Wc[0, 2, 1, 4]


def test_channel_permutations():
    x = rng.normal(size=(2, 3, 4, 5))
    assert L.to_channels_first(x).shape == (2, 5, 3, 4)
    np.testing.assert_array_equal(L.to_channels_last(L.to_channels_first(x)), x)
    y = rng.normal(size=(2, 7, 3))
    np.testing.assert_array_equal(L.to_channels_first(y), y.transpose(0, 2, 1))


def test_gate_reordering():
    h = 2
    lstm = np.repeat(np.array(["i", "f", "g", "o"]), h)
    assert "".join(L.lstm_to_onnx(lstm)[::h]) == "iofg"
    gru = np.repeat(np.array(["r", "z", "n"]), h)
    assert "".join(L.gru_to_onnx(gru)[::h]) == "zrn"
    W = rng.normal(size=(4 * 3, 5))
    np.testing.assert_array_equal(L.lstm_from_onnx(L.lstm_to_onnx(W)), W)
    G = rng.normal(size=(3 * 3, 5))
    np.testing.assert_array_equal(L.gru_from_onnx(L.gru_to_onnx(G)), G)


@pytest.mark.parametrize("n,k,s,d", [(9, 3, 1, 1), (8, 2, 2, 1), (7, 3, 2, 2), (5, 4, 3, 1), (4, 1, 1, 1)])
def test_same_pads_match_engine(n, k, s, d):
    out, before = out_size(n, k, s, d, "same")
    a, b = L.same_pads(n, k, s, d)
    assert a == before
    assert (n + a + b - ((k - 1) * d + 1)) // s + 1 == out
    lo_a, lo_b = L.same_pads(n, k, s, d, lower=True)
    assert (lo_a, lo_b) == (b, a) and lo_a >= lo_b


def test_batchnorm_scale_shift_equals_eval_forward():
    layer = build_layer("BatchNorm.v1", {"epsilon": 1e-3})
    c = 4
    p = {"gamma": rng.uniform(0.5, 1.5, c).astype(np.float32), "beta": rng.normal(size=c).astype(np.float32)}
    st = {"running_mean": rng.normal(size=c).astype(np.float32),
          "running_var": rng.uniform(0.5, 2, c).astype(np.float32)}
    x = rng.normal(size=(3, 5, c)).astype(np.float32)
    y, _ = layer.forward(p, st, [x], Ctx(train=False))
    scale, shift = L.batchnorm_scale_shift(p["gamma"], p["beta"], st["running_mean"], st["running_var"], 1e-3)
    np.testing.assert_allclose(x * scale + shift, y, rtol=1e-5, atol=1e-6)


def test_generated_code_uses_the_same_transforms():
    """The layout helpers pasted into the generated PyTorch file agree with this module."""
    model = build("dense")
    tree = ast.parse(generate_module(model, build_metadata(model)))
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in ("_to_torch", "_from_torch")]
    ns: dict = {}
    exec(compile(ast.Module(body=funcs, type_ignores=[]), "<generated>", "exec"), ns)
    for how, shape in [("T", (5, 3)), ("conv", (3, 4, 5)), ("conv", (2, 3, 4, 5)), ("id", (4,))]:
        a = rng.normal(size=shape)
        np.testing.assert_array_equal(ns["_to_torch"](a, how), L.TO_TORCH[how](a))
        np.testing.assert_array_equal(ns["_from_torch"](L.TO_TORCH[how](a), how), a)
