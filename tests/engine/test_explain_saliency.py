"""Activations equal the model's intermediate outputs; saliency is right on linear models and
integrated gradients are complete on random MLPs, CNNs and a text model."""
import numpy as np
import pytest

from engine.explain import ExplainError, attention_weights, make_baseline, saliency, sample_activations, unit_maps
from engine.explain.saliency import gaussian_blur
from engine.model import compile_graph
from engine.spec import GraphSpec, sequential


def _ancestors(spec, nid):
    seen, stack = set(), [nid]
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(e.src for e in spec.inputs_of(n))
    return seen


def _truncated(spec, model, nid):
    """The graph cut after ``nid`` (its output is the model's output) with the same weights."""
    keep = _ancestors(spec, nid)
    sub = spec.remove_nodes([n for n in spec.node_ids if n not in keep])
    m = compile_graph(sub, dtype=model.dtype)
    w = model.state_dict()
    m.load_state_dict({k: v for k, v in w.items() if k.split("/")[0] in keep})
    return m


def _randomise(model, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    for nid in model.order:
        for v in model.params[nid].values():
            v[...] = rng.standard_normal(v.shape) * scale
        for k, v in model.state[nid].items():
            v[...] = np.abs(rng.standard_normal(v.shape)) + 0.5 if "var" in k else rng.standard_normal(v.shape)


def _cnn():
    return sequential([
        ("Input.v1", {"shape": [10, 10, 2]}),
        ("Conv2D.v1", {"filters": 4, "kernel_size": 3, "activation": "relu", "padding": "same"}),
        ("BatchNorm.v1", {}),
        ("MaxPool2D.v1", {"pool_size": 2}),
        ("Conv2D.v1", {"filters": 3, "kernel_size": 3, "activation": "tanh"}),
        ("Flatten.v1", {}),
        ("Dropout.v1", {"rate": 0.5}),
        ("Dense.v1", {"units": 4, "activation": "softmax"}),
    ])


def _residual():
    g = GraphSpec()
    g, inp = g.add_node("Input.v1", {"shape": [5]})
    g, a = g.add_node("Dense.v1", {"units": 6, "activation": "gelu"})
    g, b = g.add_node("Dense.v1", {"units": 6, "activation": "tanh"})
    g, add = g.add_node("Add.v1", {})
    g, out = g.add_node("Dense.v1", {"units": 3, "activation": "softmax"})
    return g.connect(inp, a).connect(a, b).connect(a, add, 0).connect(b, add, 1).connect(add, out)


def _text():
    return sequential([
        ("Input.v1", {"shape": [7]}),
        ("Embedding.v1", {"vocab_size": 20, "dim": 6}),
        ("MultiHeadAttention.v1", {"num_heads": 2, "causal": True}),
        ("LSTM.v1", {"units": 5}),
        ("Dense.v1", {"units": 2, "activation": "softmax"}),
    ])


@pytest.mark.parametrize("build", [_cnn, _residual, _text], ids=["cnn", "residual", "text"])
def test_activations_equal_the_models_intermediate_outputs(build):
    spec = build()
    model = compile_graph(spec, dtype=np.float64)
    _randomise(model)
    rng = np.random.default_rng(3)
    shape = model.input_shape
    x = rng.integers(0, 20, shape).astype(np.float64) if build is _text else rng.standard_normal(shape)
    acts = sample_activations(model, x)
    assert [a["id"] for a in acts] == model.order
    for a in acts:
        want = _truncated(spec, model, a["id"]).forward(x[None])[0]
        np.testing.assert_allclose(a["values"], want, rtol=1e-12, atol=1e-12)
        assert a["shape"] == list(want.shape)
    kinds = {a["id"]: a["kind"] for a in acts}
    assert kinds[model.output_id] == "vector"
    if build is _cnn:
        assert kinds[model.order[1]] == "maps"
    np.testing.assert_allclose(acts[-1]["values"], model.forward(x[None])[0], rtol=1e-12)


def test_attention_weights_reproduce_the_layer_output():
    spec = _text()
    model = compile_graph(spec, dtype=np.float64)
    _randomise(model, 2)
    x = np.arange(7, dtype=np.float64) % 20
    nid = model.order[2]
    a = attention_weights(model, nid, x)
    assert a.shape == (2, 7, 7)
    np.testing.assert_allclose(a.sum(axis=-1), 1.0)
    assert np.all(np.triu(a[0], k=1) == 0)  # causal
    acts = {r["id"]: r["values"] for r in sample_activations(model, x)}
    src = acts[model.order[1]]
    p = model.params[nid]
    v = (src @ p["W_v"] + p["b_v"]).reshape(7, 2, 3).transpose(1, 0, 2)
    o = (a @ v).transpose(1, 0, 2).reshape(7, 6) @ p["W_o"] + p["b_o"]
    np.testing.assert_allclose(o, acts[nid], rtol=1e-10, atol=1e-12)
    with pytest.raises(ExplainError):
        attention_weights(model, model.order[3], x)


def test_unit_maps_are_each_units_output_over_the_plane():
    spec = sequential([("Input.v1", {"shape": [2]}), ("Dense.v1", {"units": 5, "activation": "tanh"}),
                       ("Dense.v1", {"units": 2, "activation": "softmax"})])
    model = compile_graph(spec, dtype=np.float64)
    pts = np.array([[-1.0, 0.0], [3.0, 2.0]])
    m = unit_maps(model, pts, res=9)
    assert [l["id"] for l in m["layers"]] == model.order[1:]
    hidden = m["layers"][0]["maps"]
    assert hidden.shape == (5, 9, 9)
    xs = np.linspace(*m["x_range"], 9)
    ys = np.linspace(*m["y_range"], 9)
    assert m["x_range"][0] < -1.0 and m["x_range"][1] > 3.0
    sub = _truncated(spec, model, model.order[1])
    i, j = 2, 7   # row i is y, column j is x
    want = sub.forward(np.array([[xs[j], ys[i]]]))[0]
    np.testing.assert_allclose(hidden[:, i, j], want, rtol=1e-6)
    with pytest.raises(ExplainError, match="two input features"):
        unit_maps(compile_graph(_residual()))


def _linear(n_in=4, k=3, act="linear"):
    return sequential([("Input.v1", {"shape": [n_in]}), ("Dense.v1", {"units": k, "activation": act})])


@pytest.mark.parametrize("act", ["linear", "softmax"])
def test_saliency_of_a_linear_model_is_weight_times_input(act):
    model = compile_graph(_linear(act=act), dtype=np.float64)
    _randomise(model, 5)
    W = model.params[model.order[1]]["W"]
    x = np.array([0.5, -2.0, 1.5, 3.0])
    for c in range(3):
        r = saliency(model, x, target=c, method="gradient_x_input")
        np.testing.assert_allclose(r["attributions"], W[:, c] * x, rtol=1e-12)
        ig = saliency(model, x, target=c, baseline="zeros", steps=3)
        np.testing.assert_allclose(ig["attributions"], W[:, c] * x, rtol=1e-12)
        assert abs(ig["delta"]) < 1e-12
    assert r["score"] == ("logit" if act == "softmax" else "output")  # no activation: the output is the score


def test_single_sigmoid_unit_classes_are_value_and_complement():
    model = compile_graph(_linear(n_in=3, k=1, act="sigmoid"), dtype=np.float64)
    _randomise(model, 1)
    x = np.array([0.3, -0.2, 0.9])
    w = model.params[model.order[1]]["W"][:, 0]
    one = saliency(model, x, target=1, method="gradient_x_input")
    zero = saliency(model, x, target=0, method="gradient_x_input")
    np.testing.assert_allclose(one["attributions"], w * x)
    np.testing.assert_allclose(zero["attributions"], -w * x)
    p = saliency(model, x, target=0, score="output", steps=200)
    z = float(x @ w + model.params[model.order[1]]["b"][0])
    sig = 1 / (1 + np.exp(-z))
    assert p["f_x"] == pytest.approx(1 - sig)
    assert p["f_baseline"] == pytest.approx(1 - 1 / (1 + np.exp(-model.params[model.order[1]]["b"][0])))
    with pytest.raises(ExplainError):
        saliency(model, x, target=2)


def _mlp(act, seed):
    return sequential([("Input.v1", {"shape": [6]}), ("Dense.v1", {"units": 16, "activation": act}),
                       ("Dense.v1", {"units": 8, "activation": act}),
                       ("Dense.v1", {"units": 3, "activation": "softmax"})])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("act", ["relu", "tanh", "gelu"])
@pytest.mark.parametrize("score", ["logit", "output"])
def test_integrated_gradients_completeness_on_random_mlps(seed, act, score):
    model = compile_graph(_mlp(act, seed), seed=seed, dtype=np.float64)
    _randomise(model, seed, scale=0.7)
    rng = np.random.default_rng(seed + 10)
    x = rng.standard_normal(6)
    mean = rng.standard_normal(6) * 0.3
    # smooth activations: the trapezoid rule's error falls as 1/steps^2; ReLU kinks make it 1/steps
    steps, tol = (1024, 5e-3) if act == "relu" else (256, 1e-4)
    for baseline in ("zeros", "mean"):
        r = saliency(model, x, target=int(seed % 3), baseline=baseline, mean=mean, steps=steps, score=score)
        gap = r["f_x"] - r["f_baseline"]
        scale = max(1.0, abs(r["f_x"]), abs(r["f_baseline"]))
        assert abs(r["sum"] - gap) < tol * scale
        assert r["delta"] == pytest.approx(r["sum"] - gap)
        np.testing.assert_allclose(r["f_x"], _f(model, x, r["target"], score))
    if act != "relu":
        coarse = saliency(model, x, target=int(seed % 3), steps=16, score=score)["delta"]
        fine = saliency(model, x, target=int(seed % 3), steps=64, score=score)["delta"]
        assert abs(fine) < abs(coarse) / 8 or abs(coarse) < 1e-12


def _f(model, x, c, score):
    out = model.forward(x[None], logits=score == "logit")[0]
    return out[c]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("baseline", ["zeros", "blur"])
def test_integrated_gradients_completeness_on_random_cnns(seed, baseline):
    model = compile_graph(_cnn(), seed=seed, dtype=np.float64)
    _randomise(model, seed, scale=0.4)
    x = np.random.default_rng(seed).standard_normal(model.input_shape)
    r = saliency(model, x, baseline=baseline, steps=1024, memory_bytes=256 * 1024)  # many small chunks
    assert r["attributions"].shape == (10, 10, 2)
    gap = r["f_x"] - r["f_baseline"]
    assert abs(r["sum"] - gap) < 5e-3 * max(1.0, abs(r["f_x"]), abs(r["f_baseline"]))
    # the chunking does not change the result
    r2 = saliency(model, x, target=r["target"], baseline=baseline, steps=1024)
    np.testing.assert_allclose(r["attributions"], r2["attributions"], rtol=1e-10, atol=1e-12)


def test_integrated_gradients_on_tokens_work_on_the_embedding_vectors():
    spec = _text()
    model = compile_graph(spec, dtype=np.float64)
    _randomise(model, 4)
    x = np.array([3, 1, 4, 1, 5, 9, 2], dtype=np.float64)
    r = saliency(model, x, target=1, steps=256)
    assert r["where"] == model.order[1] and r["attributions"].shape == (7,) and r["raw"].shape == (7, 6)
    assert r["sum"] == pytest.approx(r["f_x"] - r["f_baseline"], rel=5e-3, abs=1e-4)
    np.testing.assert_allclose(r["attributions"].sum(), r["sum"])
    # f(baseline) is the model on zero embedding vectors
    zero = np.zeros((1, 7, 6))
    sub_in = model.forward(x[None], logits=True)[0][1]
    assert r["f_x"] == pytest.approx(sub_in)
    from engine.explain.trace import run
    v, _ = run(model, x[None], logits=True, override={model.order[1]: zero})
    assert r["f_baseline"] == pytest.approx(v[model.output_id][0, 1])
    with pytest.raises(ExplainError, match="zeros baseline"):
        saliency(model, x, baseline="blur")


def test_gradient_matches_finite_differences():
    model = compile_graph(_cnn(), dtype=np.float64)
    _randomise(model, 7, scale=0.4)
    x = np.random.default_rng(7).standard_normal(model.input_shape)
    r = saliency(model, x, target=2, method="gradient_x_input")
    grad = r["raw"] / x
    e = 1e-6
    for idx in [(0, 0, 0), (4, 5, 1), (9, 9, 0), (3, 7, 1)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += e
        xm[idx] -= e
        fd = (_f(model, xp, 2, "logit") - _f(model, xm, 2, "logit")) / (2 * e)
        assert grad[idx] == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_baselines():
    img = np.zeros((9, 9, 1))
    img[4, 4, 0] = 1.0
    b = gaussian_blur(img, 1.0)
    assert b.sum() == pytest.approx(1.0, rel=1e-6) and b[4, 4, 0] < 0.2 and b[4, 5, 0] == pytest.approx(b[5, 4, 0])
    model = compile_graph(_cnn())
    x = np.ones((10, 10, 2), dtype=np.float32)
    np.testing.assert_allclose(make_baseline(model, x, "blur"), 1.0, rtol=1e-5)   # a flat image stays flat
    with pytest.raises(ExplainError, match="training data"):
        make_baseline(model, x, "mean")
    with pytest.raises(ExplainError, match="images"):
        make_baseline(model, np.ones(3), "blur")
    with pytest.raises(ExplainError, match="unknown baseline"):
        make_baseline(model, x, "noise")


def test_cancel_stops_saliency():
    import threading
    model = compile_graph(_cnn())
    ev = threading.Event()
    ev.set()
    from engine.explain import ExplainCancelled
    with pytest.raises(ExplainCancelled):
        saliency(model, np.zeros(model.input_shape, np.float32), cancel=ev)
