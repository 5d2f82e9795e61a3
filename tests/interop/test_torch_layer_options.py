"""Layer options (issue #15) against PyTorch's own operators in float64: outputs and gradients.

Each case builds the NN Studio layer, runs forward and backprop in float64 on random
data and compares with the same PyTorch functional op under autograd (channels first
there).  Agreement is to float64 rounding.
"""
from __future__ import annotations

import numpy as np
import pytest

from engine.export import layouts as L
from engine.registry import Ctx, build_layer

torch = pytest.importorskip("torch")
F = torch.nn.functional
pytestmark = pytest.mark.interop

TOL = 1e-12


def engine_run(type_id, config, x, params=None, rng=None):
    """-> (layer, y, dx, grads) for a float64 input and upstream gradient R (returned too)."""
    layer = build_layer(type_id, config)
    rng = rng or np.random.default_rng(0)
    if params is None:
        params = layer.init_params([x.shape[1:]], rng, np.float64)
        params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    y, back = layer.forward(params, {}, [x], Ctx(train=True))
    R = rng.standard_normal(y.shape)
    (dx,), grads = back(R)
    return params, y, dx, grads, R


def torch_grads(fn, x, R, *tensors):
    """Run ``fn(x_t, *tensors)`` with autograd; returns (y, dx, [d tensor])."""
    xt = torch.tensor(x, requires_grad=True)
    ts = [torch.tensor(t, requires_grad=True) for t in tensors]
    y = fn(xt, *ts)
    y.backward(torch.tensor(R))
    return y.detach().numpy(), xt.grad.numpy(), [t.grad.numpy() for t in ts]


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


# ------------------------------------------------------------------ convolution
@pytest.mark.parametrize("nd,config,shape", [
    (1, {"filters": 3, "kernel_size": 3, "padding": "explicit", "pads": [1]}, (9, 2)),       # MNIST-1D CNN
    (1, {"filters": 2, "kernel_size": 5, "strides": 2, "dilation": 2, "padding": "explicit", "pads": [3]}, (11, 3)),
    (2, {"filters": 3, "kernel_size": 3, "padding": "explicit", "pads": [1]}, (6, 5, 2)),
    (2, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "explicit", "pads": [2, 1]}, (7, 6, 3)),
])
def test_conv_explicit_padding_matches_torch(nd, config, shape):
    x = np.random.default_rng(1).standard_normal((2, *shape))
    layer = build_layer(f"Conv{nd}D.v1", config)
    p, y, dx, g, R = engine_run(f"Conv{nd}D.v1", config, x)
    pad = tuple(b for b, _ in layer.pads_per_axis())
    conv = F.conv1d if nd == 1 else F.conv2d

    def fn(xt, w, b):
        z = conv(xt.movedim(-1, 1), w, b, stride=config.get("strides", 1), padding=pad,
                 dilation=config.get("dilation", 1))
        return z.movedim(1, -1)

    yt, dxt, (dw, db) = torch_grads(fn, x, R, L.conv_to_torch(p["W"]), p["b"])
    close(y, yt)
    close(dx, dxt)
    close(g["W"], L.conv_from_torch(dw))
    close(g["b"], db)


def test_conv_per_side_padding_equals_torch_pad_then_conv():
    config = {"filters": 2, "kernel_size": 2, "padding": "explicit", "pads": [0, 2, 1, 1]}
    x = np.random.default_rng(2).standard_normal((2, 4, 5, 2))
    p, y, dx, g, R = engine_run("Conv2D.v1", config, x)

    def fn(xt, w, b):
        z = F.conv2d(F.pad(xt.movedim(-1, 1), (2, 1, 0, 1)), w, b)   # (left, right, top, bottom)
        return z.movedim(1, -1)

    yt, dxt, (dw, db) = torch_grads(fn, x, R, L.conv_to_torch(p["W"]), p["b"])
    close(y, yt)
    close(dx, dxt)
    close(g["W"], L.conv_from_torch(dw))


# ---------------------------------------------------------------------- pooling
POOL_CASES = [
    # (mode, nd, config, sample shape): every option PyTorch's pooling functions have
    ("max", 2, {"pool_size": 3, "strides": 2, "ceil_mode": True}, (6, 7, 2)),
    ("max", 2, {"pool_size": 3, "strides": 2, "padding": "explicit", "pads": [1], "ceil_mode": True}, (6, 6, 2)),
    ("max", 2, {"pool_size": 2, "strides": 1, "dilation": 2, "padding": "explicit", "pads": [1, 0]}, (5, 6, 1)),
    ("max", 1, {"pool_size": 2, "padding": "explicit", "pads": [1], "ceil_mode": True}, (5, 3)),
    ("max", 1, {"pool_size": 3, "strides": 2, "dilation": 3, "ceil_mode": True}, (12, 2)),
    ("avg", 2, {"pool_size": 3, "strides": 2, "padding": "explicit", "pads": [1], "ceil_mode": True,
                "count_include_pad": True}, (6, 5, 2)),
    ("avg", 2, {"pool_size": 3, "strides": 2, "padding": "explicit", "pads": [1], "ceil_mode": True}, (6, 5, 2)),
    ("avg", 2, {"pool_size": 2, "strides": 1, "padding": "explicit", "pads": [1, 0],
                "count_include_pad": True}, (4, 4, 2)),
    ("avg", 1, {"pool_size": 3, "strides": 2, "padding": "explicit", "pads": [1], "count_include_pad": True,
                "ceil_mode": True}, (8, 2)),
    ("avg", 1, {"pool_size": 2, "ceil_mode": True}, (7, 2)),
]


@pytest.mark.parametrize("mode,nd,config,shape", POOL_CASES)
def test_pooling_options_match_torch(mode, nd, config, shape):
    type_id = f"{'Max' if mode == 'max' else 'Avg'}Pool{nd}D.v1"
    layer = build_layer(type_id, config)
    x = np.random.default_rng(3).standard_normal((2, *shape))
    _, y, dx, _, R = engine_run(type_id, config, x)
    pad = tuple(b for b, _ in layer.pads_per_axis())
    k, s, d = layer.cfg.pool_size, layer.stride, layer.cfg.dilation
    ceil = layer.cfg.ceil_mode

    def fn(xt):
        xf = xt.movedim(-1, 1)
        if mode == "max":
            pool = F.max_pool1d if nd == 1 else F.max_pool2d
            z = pool(xf, k, s, pad, d, ceil_mode=ceil)
        else:
            pool = F.avg_pool1d if nd == 1 else F.avg_pool2d
            z = pool(xf, k, s, pad, ceil_mode=ceil, count_include_pad=layer.cfg.count_include_pad)
        return z.movedim(1, -1)

    yt, dxt, _ = torch_grads(fn, x, R)
    assert y.shape == yt.shape
    close(y, yt)
    close(dx, dxt)


@pytest.mark.parametrize("shape", [(5, 4, 3), (7, 2)])
def test_global_max_pool_matches_torch(shape):
    x = np.random.default_rng(4).standard_normal((3, *shape))
    _, y, dx, _, R = engine_run("GlobalMaxPool.v1", {}, x)
    yt, dxt, _ = torch_grads(lambda xt: xt.flatten(1, -2).amax(dim=1), x, R)
    close(y, yt)
    close(dx, dxt)


# ------------------------------------------------------------------ activations
@pytest.mark.parametrize("type_id,config,fn,shape", [
    ("LeakyReLU.v1", {"negative_slope": 0.2}, lambda x: F.leaky_relu(x, 0.2), (4, 5)),
    ("LeakyReLU.v1", {}, lambda x: F.leaky_relu(x), (4, 5)),
    ("ELU.v1", {"alpha": 0.7}, lambda x: F.elu(x, alpha=0.7), (4, 5)),
    ("ELU.v1", {}, lambda x: F.elu(x), (4, 5)),
    ("GELU.v1", {"approximate": "none"}, lambda x: F.gelu(x), (4, 3, 5)),
    ("GELU.v1", {}, lambda x: F.gelu(x, approximate="tanh"), (4, 5)),
    ("Softmax.v1", {"axis": 1}, lambda x: torch.softmax(x, dim=1), (2, 3, 4)),
    ("Softmax.v1", {"axis": -2}, lambda x: torch.softmax(x, dim=-2), (2, 3, 4)),
    ("Softmax.v1", {}, lambda x: torch.softmax(x, dim=-1), (2, 3, 4)),
])
def test_activation_settings_match_torch(type_id, config, fn, shape):
    x = np.random.default_rng(5).standard_normal(shape) * 2
    _, y, dx, _, R = engine_run(type_id, config, x)
    yt, dxt, _ = torch_grads(fn, x, R)
    close(y, yt)
    close(dx, dxt)


def test_dense_over_last_axis_matches_torch_linear():
    x = np.random.default_rng(6).standard_normal((3, 4, 5))
    p, y, dx, g, R = engine_run("Dense.v1", {"units": 2, "last_axis": True, "activation": "tanh"}, x)
    yt, dxt, (dw, db) = torch_grads(lambda xt, w, b: torch.tanh(F.linear(xt, w, b)), x, R,
                                    L.dense_to_torch(p["W"]), p["b"])
    close(y, yt)
    close(dx, dxt)
    close(g["W"], L.dense_from_torch(dw))
    close(g["b"], db)


# -------------------------------------------------------------------- recurrent
def _torch_rnn(kind, c, u, bi):
    cls = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    return cls(c, u, batch_first=True, bidirectional=bi).double()


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("seq", [False, True])
@pytest.mark.parametrize("merge", ["concat", "sum"])
def test_bidirectional_matches_torch(kind, seq, merge):
    n, L, c, u = 3, 5, 2, 3
    config = {"units": u, "bidirectional": True, "merge_mode": merge, "return_sequences": seq}
    x = np.random.default_rng(7).standard_normal((n, L, c))
    p, y, dx, g, R = engine_run(f"{kind}.v1", config, x)
    net = _torch_rnn(kind, c, u, True)
    names = {"W_ih": "weight_ih_l0", "W_hh": "weight_hh_l0", "b_ih": "bias_ih_l0", "b_hh": "bias_hh_l0"}
    with torch.no_grad():
        for k, v in p.items():
            base, _, rev = k.partition("_reverse")
            getattr(net, names[base] + ("_reverse" if k.endswith("_reverse") else "")).copy_(torch.tensor(v))
    xt = torch.tensor(x, requires_grad=True)
    out, h = net(xt)
    h_n = h[0] if kind == "LSTM" else h
    if seq:
        yt = out if merge == "concat" else out[..., :u] + out[..., u:]
    else:
        yt = torch.cat([h_n[0], h_n[1]], -1) if merge == "concat" else h_n[0] + h_n[1]
    yt.backward(torch.tensor(R))
    close(y, yt.detach().numpy())
    close(dx, xt.grad.numpy())
    for k in p:
        t = getattr(net, names[k.replace("_reverse", "")] + ("_reverse" if k.endswith("_reverse") else ""))
        close(g[k], t.grad.numpy())


def test_reverse_sequence_matches_torch_flip():
    x = np.random.default_rng(8).standard_normal((2, 5, 3))
    _, y, dx, _, R = engine_run("ReverseSequence.v1", {}, x)
    yt, dxt, _ = torch_grads(lambda xt: torch.flip(xt, dims=[1]), x, R)
    close(y, yt)
    close(dx, dxt)


def test_gru_reset_first_generated_module_matches_engine_float64(tmp_path):
    """linear_before_reset=0 has no PyTorch module: the generated _GRUResetFirst against the engine."""
    from engine.export import export_model
    from engine.model import compile_graph
    from engine.spec import sequential
    from tests.interop.test_torch_export import load_generated

    spec = sequential([("Input.v1", {"shape": [5, 2]}),
                       ("GRU.v1", {"units": 3, "linear_before_reset": False, "bidirectional": True,
                                   "return_sequences": True})])
    model = compile_graph(spec, dtype=np.float64)
    files = export_model(model, "pytorch", tmp_path / "out")
    mod = load_generated(next(f for f in files if f.name == "model.py"))
    x = np.random.default_rng(9).standard_normal((3, 5, 2))
    p, y, dx, g, R = engine_run("GRU.v1", dict(spec.node("n2").config), x,
                                params={k.split("/", 1)[1]: v for k, v in model.state_dict().items()})
    net = mod.NNStudioModel().double()
    sd = model.state_dict()
    with torch.no_grad():
        for key, (target, _how) in net.WEIGHT_MAP.items():
            net._target(target).copy_(torch.tensor(sd[key]))
    xt = torch.tensor(x, requires_grad=True)
    yt = net(xt)
    yt.backward(torch.tensor(R))
    close(y, yt.detach().numpy())
    close(dx, xt.grad.numpy())
    close(g["W_hh_reverse"], net.n2.weight_hh_l0_reverse.grad.numpy())
    close(g["b_hh"], net.n2.bias_hh_l0.grad.numpy())


# --------------------------------------------------- the MNIST-1D paper's models, built exactly
class _MNIST1DConv(torch.nn.Module):
    """ConvBase of Greydanus (2020), mnist1d/models.py: three Conv1d(padding=1) + ReLU, flatten, Linear."""

    def __init__(self, channels=25, linear_in=125):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = torch.nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = torch.nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.linear = torch.nn.Linear(linear_in, 10)

    def forward(self, x):
        x = x.view(-1, 1, x.shape[-1])
        h3 = self.conv3(self.conv2(self.conv1(x).relu()).relu()).relu()
        return self.linear(h3.view(h3.shape[0], -1))


class _MNIST1DGRU(torch.nn.Module):
    """The paper's GRU: nn.GRU(1, 6, bidirectional=True, batch_first=True), flatten all steps, Linear."""

    def __init__(self, hidden=6, steps=40):
        super().__init__()
        self.gru = torch.nn.GRU(1, hidden, bidirectional=True, batch_first=True)
        self.linear = torch.nn.Linear(2 * hidden * steps, 10)

    def forward(self, x):
        out, _ = self.gru(x.view(*x.shape[:2], 1))
        return self.linear(out.reshape(out.shape[0], -1))


def _compile(layers):
    from engine.model import compile_graph
    from engine.spec import sequential

    return compile_graph(sequential(layers), dtype=np.float64)


def test_mnist1d_cnn_is_built_exactly():
    torch.manual_seed(0)
    net = _MNIST1DConv().double().eval()
    model = _compile([("Input.v1", {"shape": [40, 1]}),
                      ("Conv1D.v1", {"filters": 25, "kernel_size": 5, "strides": 2, "padding": "explicit",
                                     "pads": [1], "activation": "relu"}),
                      ("Conv1D.v1", {"filters": 25, "kernel_size": 3, "strides": 2, "padding": "explicit",
                                     "pads": [1], "activation": "relu"}),
                      ("Conv1D.v1", {"filters": 25, "kernel_size": 3, "strides": 2, "padding": "explicit",
                                     "pads": [1], "activation": "relu"}),
                      ("Flatten.v1", {}), ("Dense.v1", {"units": 10})])
    assert model.shapes["n4"] == (5, 25)
    sd = {}
    for nid, conv in (("n2", net.conv1), ("n3", net.conv2), ("n4", net.conv3)):
        sd[f"{nid}/W"] = L.conv_from_torch(conv.weight.detach().numpy())
        sd[f"{nid}/b"] = conv.bias.detach().numpy()
    # PyTorch flattens (channels, length), NN Studio (length, channels): the Linear's columns permute
    w = net.linear.weight.detach().numpy().reshape(10, 25, 5).transpose(0, 2, 1).reshape(10, 125)
    sd["n6/W"] = L.dense_from_torch(w)
    sd["n6/b"] = net.linear.bias.detach().numpy()
    model.load_state_dict(sd)
    x = np.random.default_rng(10).standard_normal((6, 40))
    with torch.no_grad():
        want = net(torch.tensor(x)).numpy()
    close(model.predict(x[..., None]), want)


def test_mnist1d_bidirectional_gru_is_built_exactly():
    torch.manual_seed(0)
    net = _MNIST1DGRU().double().eval()
    model = _compile([("Input.v1", {"shape": [40, 1]}),
                      ("GRU.v1", {"units": 6, "bidirectional": True, "return_sequences": True}),
                      ("Flatten.v1", {}), ("Dense.v1", {"units": 10})])
    sd = {}
    for ours, theirs in (("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"),
                         ("b_hh", "bias_hh_l0")):
        for sfx in ("", "_reverse"):
            sd[f"n2/{ours}{sfx}"] = getattr(net.gru, theirs + sfx).detach().numpy()
    sd["n4/W"] = L.dense_from_torch(net.linear.weight.detach().numpy())   # same (step, feature) order
    sd["n4/b"] = net.linear.bias.detach().numpy()
    model.load_state_dict(sd)
    x = np.random.default_rng(11).standard_normal((5, 40))
    with torch.no_grad():
        want = net(torch.tensor(x)).numpy()
    close(model.predict(x[..., None]), want)


@pytest.mark.parametrize("layers", [
    [("Input.v1", {"shape": [12, 11, 2]}),
     ("AvgPool2D.v1", {"pool_size": 2, "strides": 1, "dilation": 2, "padding": "explicit", "pads": [1, 0, 0, 1],
                       "ceil_mode": True, "count_include_pad": True}),
     ("AvgPool2D.v1", {"pool_size": 3, "strides": 2, "dilation": 2, "ceil_mode": True}),
     ("MaxPool2D.v1", {"pool_size": 2, "strides": 1, "padding": "same", "dilation": 2}),
     ("Flatten.v1", {}), ("Dense.v1", {"units": 2})],
    [("Input.v1", {"shape": [11, 3]}),
     ("AvgPool1D.v1", {"pool_size": 3, "strides": 2, "dilation": 2, "padding": "explicit", "pads": [2, 1],
                       "ceil_mode": True}),
     ("AvgPool1D.v1", {"pool_size": 2, "strides": 1, "padding": "same", "count_include_pad": True}),
     ("MaxPool1D.v1", {"pool_size": 3, "strides": 2, "padding": "explicit", "pads": [0, 2]}),
     ("Flatten.v1", {}), ("Dense.v1", {"units": 2})],
])
def test_generated_pool_helper_covers_what_torch_pooling_lacks(tmp_path, layers):
    """Average-pooling dilation, per-side pads and count_include_pad with 'same': the generated _pool_nd."""
    from engine.export import export_model
    from engine.model import compile_graph
    from engine.spec import sequential
    from tests.engine.test_export_models import randomise, rel_err, sample_input
    from tests.interop.test_torch_export import load_generated

    model = compile_graph(sequential(layers))
    randomise(model)
    files = export_model(model, "pytorch", tmp_path / "out")
    src = next(f for f in files if f.name == "model.py")
    assert "_pool_nd(" in src.read_text().split("class NNStudioModel")[1]
    net = load_generated(src).NNStudioModel()
    net.load_weights(tmp_path / "out" / "model.safetensors")
    net.eval()
    x = sample_input(model, n=4)
    with torch.no_grad():
        y = net(torch.from_numpy(x)).numpy()
    assert rel_err(y, model.predict(x)) <= 1e-5
