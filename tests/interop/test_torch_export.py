"""The generated PyTorch module reproduces NN Studio's outputs (needs torch: interop marker)."""
from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest

from engine.export import export_model
from engine.export import layouts as L
from engine.model import compile_graph
from engine.spec import sequential
from tests.engine.test_export_models import GRAPHS, build, randomise, rel_err, sample_input
from tests.engine.test_export_onnx import SEQUENCE_CASES

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.interop

_counter = itertools.count()


def load_generated(path):
    name = f"nnstudio_generated_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def export_and_load(model, tmp_path, weights_from=None):
    files = export_model(model, "pytorch", tmp_path / "out")
    py = next(f for f in files if f.name == "model.py")
    mod = load_generated(py)
    net = mod.NNStudioModel()
    net.load_weights(weights_from or (tmp_path / "out" / "model.safetensors"))
    net.eval()
    return mod, net, files


def torch_out(net, x):
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("name", list(GRAPHS))
def test_generated_module_matches_engine(tmp_path, name):
    model = build(name)
    x = sample_input(model, n=6)
    mod, net, files = export_and_load(model, tmp_path)
    assert sorted(f.name for f in files) == ["model.py", "model.safetensors", "model.safetensors.json",
                                             "train_ddp.py"]
    assert rel_err(torch_out(net, x), model.predict(x)) <= 1e-5
    # logits=True skips the final softmax
    if model.output_activation:
        with torch.no_grad():
            z = net(torch.from_numpy(x), logits=True).numpy()
        assert rel_err(z, model.forward(x, logits=True)) <= 1e-5
    # nnstudio_state is the exact inverse of load_weights
    back = net.nnstudio_state()
    sd = model.state_dict()
    assert set(back) == set(sd)
    for k in sd:
        np.testing.assert_array_equal(back[k], sd[k])


def test_npz_weights_load_too(tmp_path):
    model = build("dense")
    files = export_model(model, "npz", tmp_path / "w.npz")
    _, net, _ = export_and_load(model, tmp_path, weights_from=files[0])
    x = sample_input(model)
    assert rel_err(torch_out(net, x), model.predict(x)) <= 1e-5


def test_batchnorm_training_matches(tmp_path):
    """Training-mode BatchNorm (batch statistics, running-stat update) agrees with PyTorch."""
    model = compile_graph(sequential([("Input.v1", {"shape": [4, 3]}), ("BatchNorm.v1", {"momentum": 0.2}),
                                      ("Flatten.v1", {}), ("Dense.v1", {"units": 2})]))
    randomise(model)
    x = sample_input(model, n=8)
    _, net, _ = export_and_load(model, tmp_path)
    net.train()
    with torch.no_grad():
        yt = net(torch.from_numpy(x)).numpy()
    ye = model.forward(x, train=True)
    assert rel_err(yt, ye) <= 1e-5
    back = net.nnstudio_state()
    sd = model.state_dict()
    np.testing.assert_allclose(back["n2/running_var"], sd["n2/running_var"], rtol=1e-5)
    np.testing.assert_allclose(back["n2/running_mean"], sd["n2/running_mean"], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", list(SEQUENCE_CASES))
def test_sequence_layers_match(tmp_path, case):
    layers = SEQUENCE_CASES[case]
    model = compile_graph(sequential(layers))
    randomise(model)
    x = sample_input(model, n=4)
    _, net, _ = export_and_load(model, tmp_path)
    assert rel_err(torch_out(net, x), model.predict(x)) <= 1e-5


def test_embedding(tmp_path):
    layers = [("Input.v1", {"shape": [6]}), ("Embedding.v1", {"vocab_size": 11, "dim": 4}),
              ("GRU.v1", {"units": 3}), ("Dense.v1", {"units": 2})]
    model = compile_graph(sequential(layers))
    randomise(model)
    x = np.random.default_rng(0).integers(0, 11, (5, 6)).astype(np.float32)
    _, net, _ = export_and_load(model, tmp_path)
    assert rel_err(torch_out(net, x), model.predict(x)) <= 1e-5


def test_layout_transforms_match_torch_semantics():
    rng = np.random.default_rng(0)
    # Dense: x @ W == Linear(x) with weight W.T
    W = rng.normal(size=(5, 3)).astype(np.float32)
    x = rng.normal(size=(4, 5)).astype(np.float32)
    lin = torch.nn.Linear(5, 3, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(L.dense_to_torch(W)))
        np.testing.assert_allclose(lin(torch.from_numpy(x)).numpy(), x @ W, rtol=1e-5)
    # Conv2D: NN Studio (kh, kw, Cin, F) NHWC vs Conv2d on NCHW
    from engine.layers.conv import Conv2D
    from engine.registry import Ctx, make_config

    layer = Conv2D(make_config(Conv2D.Config, {"filters": 3, "kernel_size": 2}))
    Wc = rng.normal(size=(2, 2, 4, 3)).astype(np.float32)
    xi = rng.normal(size=(2, 5, 6, 4)).astype(np.float32)
    ye, _ = layer.forward({"W": Wc}, {}, [xi], Ctx())
    conv = torch.nn.Conv2d(4, 3, 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(L.conv_to_torch(Wc)))
        yt = conv(torch.from_numpy(L.to_channels_first(xi))).numpy()
    np.testing.assert_allclose(L.to_channels_last(yt), ye, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(L.conv_from_torch(L.conv_to_torch(Wc)), Wc)



def test_two_input_graph(tmp_path):
    from tests.engine.test_export_models import _graph

    spec = _graph([("n1", "Input.v1", {"shape": [3]}), ("n2", "Input.v1", {"shape": [2]}),
                   ("n3", "Dense.v1", {"units": 4, "activation": "tanh"}), ("n4", "Add.v1", {}),
                   ("n5", "Dense.v1", {"units": 4}), ("n6", "Dense.v1", {"units": 1, "activation": "sigmoid"})],
                  [("n1", "n3"), ("n3", "n4", 0), ("n5", "n4", 1), ("n2", "n5"), ("n4", "n6")])
    model = compile_graph(spec)
    randomise(model)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(4, 2)).astype(np.float32)
    _, net, _ = export_and_load(model, tmp_path)
    with torch.no_grad():
        y = net(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    assert rel_err(y, model.predict([a, b])) <= 1e-5
