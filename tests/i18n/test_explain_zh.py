"""Messages and warnings of engine.explain come out in Chinese with their values untouched."""
import numpy as np
import pytest

from engine import i18n
from engine.explain import ExplainError, analyze, make_baseline, permutation_importance, saliency, unit_maps
from engine.model import compile_graph
from engine.spec import sequential


def _han(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_analysis_warnings_are_translated():
    spec = sequential([("Input.v1", {"shape": [3]}), ("Dense.v1", {"units": 8, "activation": "relu"}),
                       ("Dense.v1", {"units": 6, "activation": "tanh"}),
                       ("Dense.v1", {"units": 2, "activation": "softmax"})])
    model = compile_graph(spec, dtype=np.float64)
    model.params[model.order[1]]["b"][:3] = -100.0
    model.params[model.order[2]]["W"] *= 1e5
    rng = np.random.default_rng(0)
    r = analyze(spec, model, (rng.standard_normal((50, 3)), rng.integers(0, 2, 50)), task="classification")
    warnings = [w for row in r["layers"] for w in row["warnings"]]
    assert any("saturated" in w for w in warnings) and any("dead" in w for w in warnings)
    for w in warnings:
        zh = i18n.translate(w, "zh_CN")
        assert _han(zh) and zh != w, w
    dead = next(w for w in warnings if "dead" in w)
    assert "8" in i18n.translate(dead, "zh_CN") and "3" in i18n.translate(dead, "zh_CN")
    assert i18n.translate("exploding gradient: the gradient is much larger than the weights; lower the learning "
                          "rate or set gradient clipping", "zh_CN").startswith("梯度爆炸")


def _error(fn):
    with pytest.raises(ExplainError) as e:
        fn()
    return str(e.value)


def test_error_messages_are_translated():
    m = compile_graph(sequential([("Input.v1", {"shape": [3]}), ("Dense.v1", {"units": 2})]))
    img = compile_graph(sequential([("Input.v1", {"shape": [4, 4, 1]}), ("Flatten.v1", {}),
                                    ("Dense.v1", {"units": 2})]))
    msgs = [
        _error(lambda: saliency(m, np.zeros(3), target=5)),
        _error(lambda: saliency(m, np.zeros(3), method="lime")),
        _error(lambda: saliency(m, np.zeros(4))),
        _error(lambda: make_baseline(m, np.zeros(3, np.float32), "blur")),
        _error(lambda: make_baseline(m, np.zeros(3, np.float32), "mean")),
        _error(lambda: make_baseline(m, np.zeros(3, np.float32), "noise")),
        _error(lambda: unit_maps(m)),
        _error(lambda: permutation_importance(img, np.zeros((3, 4, 4, 1)), np.zeros(3), task="classification")),
        _error(lambda: permutation_importance(m, np.zeros((3, 3)), np.zeros(3), task="classification", metric="r2")),
        _error(lambda: permutation_importance(m, np.zeros((1, 3)), np.zeros(1), task="classification")),
    ]
    for text in msgs:
        zh = i18n.translate(text, "zh_CN")
        assert _han(zh), text
    assert "(3,)" in i18n.translate(msgs[6], "zh_CN")
