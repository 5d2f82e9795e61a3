"""ONNX import against PyTorch and onnxruntime.

Models are built in PyTorch here, exported with ``torch.onnx.export`` (the TorchScript exporter:
the dynamo one needs onnxscript, which is not a dependency), imported, and then:

* NN Studio's predictions equal torch's (float32 rounding; image and sequence inputs channels-last);
* NN Studio's own ONNX export of the imported model gives the same answers in onnxruntime;
* the imported model trains for an epoch (the loss is finite and the weights move).
"""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from engine.export import layouts as L
from engine.export.onnx_export import build_onnx
from engine.model import compile_graph
from engine.onnx_import import OnnxImportError, import_onnx, to_nn_layout, to_onnx_layout
from engine.onnx_import.convert import convert_model
from engine.trainer import EpochEnded, TrainConfig, Trainer, TrainFailed, TrainFinished
from tests.engine.fakes import ArrayDataset

pytestmark = pytest.mark.interop
nn = torch.nn
ATOL, RTOL = 2e-5, 1e-4


def to_onnx(module, x, opset: int = 17) -> bytes:
    module.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), buf, dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=opset)
    return buf.getvalue()


def imported(module, x, opset: int = 17):
    data = to_onnx(module, x, opset)
    res = convert_model(onnx.load_from_string(data), "model.onnx", stem="model")
    model = compile_graph(res.project.graph)
    model.load_state_dict(res.project.weights)
    return model, res, data


def nn_input(x: np.ndarray, channels_last: bool) -> np.ndarray:
    return L.to_channels_last(x) if channels_last else x


class Last(nn.Module):
    """A recurrent layer's output sequence, last step (``y[:, -1]``) or its final state (``h[-1]``)."""

    def __init__(self, rnn, head, use_h=False):
        super().__init__()
        self.rnn, self.head, self.use_h = rnn, head, use_h

    def forward(self, x):
        y, h = self.rnn(x)
        if isinstance(h, tuple):
            h = h[0]
        return self.head(h[-1] if self.use_h else y[:, -1])


class SliceLast(nn.Module):
    """``y[:, -1:]`` (a Slice, not a Gather) of an LSTM's sequence, flattened."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 4, batch_first=True)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(torch.flatten(y[:, -1:], 1))


class Seq(nn.Module):
    """Every step of a GRU, flattened, then a linear head."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 4, batch_first=True)
        self.head = nn.Linear(4 * 6, 2)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.head(torch.flatten(y, 1))


class MatMulAdd(nn.Module):
    """``x @ W + b`` written out (MatMul then Add), then tanh-GELU."""

    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(torch.randn(5, 7))
        self.b = nn.Parameter(torch.randn(7))
        self.out = nn.Linear(7, 2)

    def forward(self, x):
        return self.out(nn.functional.gelu(x @ self.W + self.b, approximate="tanh"))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(6, 6), nn.Linear(6, 6), nn.Linear(12, 3)
        self.norm = nn.LayerNorm(6)

    def forward(self, x):
        h = torch.relu(self.a(x))
        r = self.norm(h + self.b(h))
        return torch.softmax(self.c(torch.cat([r, h], dim=1)), dim=-1)


class Branches(nn.Module):
    """Two convolutions joined on the channel axis, global average pooling."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 3, 3, padding=1)
        self.c2 = nn.Conv2d(2, 4, 1)
        self.bn = nn.BatchNorm2d(7)
        self.fc = nn.Linear(7, 3)

    def forward(self, x):
        y = torch.cat([torch.relu(self.c1(x)), torch.sigmoid(self.c2(x))], dim=1)
        y = nn.functional.adaptive_avg_pool2d(self.bn(y), 1)
        return self.fc(torch.flatten(y, 1))


class BiSeq(nn.Module):
    """A bidirectional recurrent layer's whole output sequence (N, L, 2H), a Linear at every step."""

    def __init__(self, rnn, out=2):
        super().__init__()
        self.rnn = rnn
        self.fc = nn.Linear(2 * rnn.hidden_size, out)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.fc(y)


class BiLast(nn.Module):
    """A bidirectional recurrent layer's last hidden states h_n (2, N, H), used the ways code does."""

    def __init__(self, rnn, how):
        super().__init__()
        self.rnn, self.how = rnn, how
        H = rnn.hidden_size
        self.fc = nn.Linear(2 * H if how in ("cat", "transpose") else H, 3)

    def forward(self, x):
        _, h = self.rnn(x)
        if isinstance(h, tuple):
            h = h[0]
        if self.how == "cat":          # the usual torch.cat((h_n[-2], h_n[-1]), dim=1)
            z = torch.cat([h[-2], h[-1]], dim=1)
        elif self.how == "transpose":  # h_n.transpose(0, 1).reshape(N, -1)
            z = h.transpose(0, 1).reshape(x.shape[0], -1)
        elif self.how == "sum":
            z = h[0] + h[1]
        else:                          # h_n[-1]: the reverse direction only
            z = h[-1]
        return self.fc(z)


def _randomise_bn(module):
    g = torch.Generator().manual_seed(3)
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.randn(m.num_features, generator=g))
                m.bias.copy_(torch.randn(m.num_features, generator=g))
    return module


CASES = {
    "mlp": (lambda: nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 8), nn.Tanh(),
                                  nn.BatchNorm1d(8), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 3), nn.Softmax(-1)),
            (6, 4), False),
    "mlp_activations": (lambda: nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.01), nn.Linear(8, 8), nn.ELU(),
                                              nn.Linear(8, 8), nn.GELU(approximate="tanh"), nn.Linear(8, 2)),
                        (6, 4), False),
    "cnn": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(8, 6, 3, stride=2), nn.Tanh(), nn.AvgPool2d(2, stride=1),
                                  nn.Flatten(), nn.Linear(6, 5)),
            (3, 3, 12, 12), True),
    "cnn_padding_ceil_mode": (lambda: nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(),
                                                    nn.MaxPool2d(3, stride=2, ceil_mode=True),
                                                    nn.Conv2d(4, 4, 3, padding=1), nn.AvgPool2d(2, ceil_mode=True),
                                                    nn.Flatten(), nn.Linear(4 * 3 * 3, 3)),
                              (3, 2, 10, 10), True),
    "cnn_dilated_same": (lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding="same", dilation=2), nn.ReLU(),
                                               nn.Conv2d(4, 4, 5, padding=2), nn.Flatten(), nn.Linear(4 * 9 * 9, 3)),
                         (2, 1, 9, 9), True),
    "cnn1d": (lambda: nn.Sequential(nn.Conv1d(2, 5, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
                                    nn.Conv1d(5, 4, 3), nn.ELU(), nn.Flatten(), nn.Linear(4 * 6, 2)),
              (3, 2, 16), True),
    "branches": (Branches, (2, 2, 6, 6), True),
    "residual_layernorm_concat": (Residual, (5, 6), False),
    "matmul_add_gelu": (MatMulAdd, (4, 5), False),
    "lstm_last_step": (lambda: Last(nn.LSTM(3, 5, batch_first=True), nn.Linear(5, 2)), (4, 7, 3), False),
    "gru_hidden": (lambda: Last(nn.GRU(3, 6, batch_first=True), nn.Linear(6, 3), use_h=True), (4, 7, 3), False),
    "rnn_last_step": (lambda: Last(nn.RNN(3, 4, batch_first=True), nn.Linear(4, 2)), (4, 5, 3), False),
    "lstm_hidden_time_major": (lambda: Last(nn.LSTM(3, 4), nn.Linear(4, 2), use_h=True), (5, 4, 3), None),
    "gru_sequence": (Seq, (4, 6, 3), False),
    "lstm_slice_last": (SliceLast, (3, 5, 3), False),
    "gru_bidirectional_sequence": (lambda: BiSeq(nn.GRU(3, 4, batch_first=True, bidirectional=True)),
                                   (3, 6, 3), False),
    "lstm_bidirectional_sequence": (lambda: BiSeq(nn.LSTM(3, 5, batch_first=True, bidirectional=True)),
                                    (3, 6, 3), False),
    "gru_bidirectional_two_layers": (lambda: BiSeq(nn.GRU(3, 4, num_layers=2, batch_first=True,
                                                          bidirectional=True)), (2, 5, 3), False),
    "lstm_bidirectional_three_layers_h_n": (lambda: BiLast(nn.LSTM(3, 4, num_layers=3, batch_first=True,
                                                                   bidirectional=True), "cat"), (3, 6, 3), False),
    "gru_bidirectional_h_n": (lambda: BiLast(nn.GRU(3, 4, batch_first=True, bidirectional=True), "cat"),
                              (4, 7, 3), False),
    "lstm_bidirectional_h_n": (lambda: BiLast(nn.LSTM(3, 4, batch_first=True, bidirectional=True), "cat"),
                               (4, 7, 3), False),
    "rnn_bidirectional_h_n_transposed": (lambda: BiLast(nn.RNN(3, 4, batch_first=True, bidirectional=True),
                                                        "transpose"), (4, 7, 3), False),
    "lstm_bidirectional_h_n_sum": (lambda: BiLast(nn.LSTM(3, 4, batch_first=True, bidirectional=True), "sum"),
                                   (4, 7, 3), False),
    "gru_bidirectional_h_n_reverse_only": (lambda: BiLast(nn.GRU(3, 4, batch_first=True, bidirectional=True),
                                                          "last"), (4, 7, 3), False),
    "upsample": (lambda: nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                       nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(3, 2, 1)),
                 (2, 2, 6, 6), True),
}


def _case(name):
    build, shape, channels_last = CASES[name]
    torch.manual_seed(0)
    module = _randomise_bn(build())
    x = torch.randn(*shape)
    return module, x, channels_last


@pytest.mark.parametrize("name", sorted(CASES))
def test_predictions_equal_torch(name):
    module, x, channels_last = _case(name)
    if channels_last is None:   # time-major recurrent model: no batch axis first, cannot import
        with pytest.raises(OnnxImportError):
            imported(module, x)
        return
    model, res, _ = imported(module, x)
    with torch.no_grad():
        want = module(x).numpy()
    got = to_onnx_layout(model.predict(nn_input(x.numpy(), channels_last)), res.output_axes)
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL)
    # a different batch size: the batch axis stays free
    x2 = torch.randn(1, *x.shape[1:])
    with torch.no_grad():
        got2 = to_onnx_layout(model.predict(nn_input(x2.numpy(), channels_last)), res.output_axes)
        np.testing.assert_allclose(got2, module(x2).numpy(), atol=ATOL, rtol=RTOL)


#: what each bidirectional case becomes: one layer with the Bidirectional option (the exporters'
#: Transpose/Reshape around the direction axis and Gather/Concat of h_n disappear), with the summed
#: form, or (h_n[-1] alone) the reverse direction as ReverseSequence + a one-way layer
BIDIRECTIONAL_GRAPHS = {
    "gru_bidirectional_sequence": (["Input", "GRU", "Dense"], "concat"),
    "lstm_bidirectional_sequence": (["Input", "LSTM", "Dense"], "concat"),
    "gru_bidirectional_two_layers": (["Input", "GRU", "GRU", "Dense"], "concat"),
    "gru_bidirectional_h_n": (["Input", "GRU", "Dense"], "concat"),
    # h_n[-2], h_n[-1] of stacked layers: the last layer's two directions (the Concat of every layer's h_n)
    "lstm_bidirectional_three_layers_h_n": (["Input", "LSTM", "LSTM", "LSTM", "Dense"], "concat"),
    "lstm_bidirectional_h_n": (["Input", "LSTM", "Dense"], "concat"),
    "rnn_bidirectional_h_n_transposed": (["Input", "SimpleRNN", "Dense"], "concat"),
    "lstm_bidirectional_h_n_sum": (["Input", "LSTM", "Dense"], "sum"),
    "gru_bidirectional_h_n_reverse_only": (["Input", "ReverseSequence", "GRU", "Dense"], None),
}


@pytest.mark.parametrize("name", sorted(BIDIRECTIONAL_GRAPHS))
def test_bidirectional_graphs(name):
    module, x, _ = _case(name)
    _, res, _ = imported(module, x)
    types, merge = BIDIRECTIONAL_GRAPHS[name]
    nodes = res.project.graph.nodes
    assert [n.type.split(".")[0] for n in nodes] == types
    rec = [n for n in nodes if n.type.split(".")[0] in ("GRU", "LSTM", "SimpleRNN")]
    for n in rec:
        assert n.config.get("bidirectional", False) == (merge is not None)
        if merge is not None:
            assert n.config["merge_mode"] == merge


def test_time_major_bidirectional_lstm():
    """``nn.LSTM(bidirectional=True)`` without batch_first: (L, N, C) in, (L, N, 2H) through a Linear out."""
    torch.manual_seed(0)
    module = BiSeq(nn.LSTM(3, 4, bidirectional=True)).eval()
    x = torch.randn(6, 2, 3)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), buf, dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {1: "batch"}, "y": {1: "batch"}}, opset_version=17)
    res = convert_model(onnx.load_from_string(buf.getvalue()), "tm.onnx")
    assert [n.type.split(".")[0] for n in res.project.graph.nodes] == ["Input", "LSTM", "Dense"]
    model = compile_graph(res.project.graph)
    model.load_state_dict(res.project.weights)
    for xb in (x, torch.randn(6, 5, 3)):
        got = to_onnx_layout(model.predict(to_nn_layout(xb.numpy(), res.input_axes["x"])), res.output_axes)
        with torch.no_grad():
            np.testing.assert_allclose(got, module(xb).numpy(), atol=ATOL, rtol=RTOL)
    # NN Studio's export (batch first) in onnxruntime equals the original file in onnxruntime (time-major)
    want = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
    sess = ort.InferenceSession(build_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": to_nn_layout(x.numpy(), res.input_axes["x"]).astype(np.float32)})[0]
    np.testing.assert_allclose(to_onnx_layout(got, res.output_axes), want, atol=ATOL, rtol=RTOL)


def test_reverse_direction_maps_onto_reverse_sequence():
    """ONNX direction="reverse" (no PyTorch module writes it): ReverseSequence -> GRU -> ReverseSequence for
    Y, ReverseSequence -> GRU for Y_h; compared with onnxruntime on the file itself."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    L_, C, H = 5, 3, 4
    W = rng.standard_normal((1, 3 * H, C)).astype(np.float32)
    R = rng.standard_normal((1, 3 * H, H)).astype(np.float32)
    B = rng.standard_normal((1, 6 * H)).astype(np.float32)
    x = rng.standard_normal((2, L_, C)).astype(np.float32)
    for out, want_types in (("Y", ["Input", "ReverseSequence", "GRU", "ReverseSequence"]),
                            ("Y_h", ["Input", "ReverseSequence", "GRU"])):
        nodes = [helper.make_node("Transpose", ["X"], ["Xt"], perm=[1, 0, 2]),
                 helper.make_node("GRU", ["Xt", "W", "R", "B"], ["Y", "Y_h"], hidden_size=H, direction="reverse",
                                  linear_before_reset=1, name="gru")]
        shape = [L_, 1, "N", H] if out == "Y" else [1, "N", H]
        g = helper.make_graph(nodes, "rev", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", L_, C])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, shape)],
                              [numpy_helper.from_array(a, n) for a, n in ((W, "W"), (R, "R"), (B, "B"))])
        mp = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
        res = convert_model(mp, "rev.onnx")
        assert [n.type.split(".")[0] for n in res.project.graph.nodes] == want_types
        model = compile_graph(res.project.graph)
        model.load_state_dict(res.project.weights)
        want = ort.InferenceSession(mp.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"X": x})[0]
        got = to_onnx_layout(model.predict(x), res.output_axes)
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL)


def test_split_directions_join_again():
    """Y (L, 2, N, H) split on the direction axis, squeezed and concatenated (as tf2onnx writes a Keras
    Bidirectional) -> one bidirectional layer; concatenated the other way round -> two layers."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    L_, C, H = 4, 3, 2
    inits = {"W": rng.standard_normal((2, 4 * H, C)), "R": rng.standard_normal((2, 4 * H, H)),
             "split": np.array([1, 1]), "ax": np.array([1]), "perm_ax": np.array([1])}
    x = rng.standard_normal((3, L_, C)).astype(np.float32)
    for order, n_rec in (((0, 1), 1), ((1, 0), 2)):
        nodes = [helper.make_node("Transpose", ["X"], ["Xt"], perm=[1, 0, 2]),
                 helper.make_node("LSTM", ["Xt", "W", "R"], ["Y"], hidden_size=H, direction="bidirectional",
                                  name="lstm"),
                 helper.make_node("Split", ["Y", "split"], ["Yf", "Yb"], axis=1),
                 helper.make_node("Squeeze", ["Yf", "ax"], ["f"]), helper.make_node("Squeeze", ["Yb", "ax"], ["b"]),
                 helper.make_node("Concat", [["f", "b"][order[0]], ["f", "b"][order[1]]], ["c"], axis=-1),
                 helper.make_node("Transpose", ["c"], ["out"], perm=[1, 0, 2])]
        g = helper.make_graph(nodes, "split", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", L_, C])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", L_, 2 * H])],
                              [numpy_helper.from_array(v.astype(np.float32 if v.dtype.kind == "f" else np.int64), k)
                               for k, v in inits.items()])
        mp = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
        res = convert_model(mp, "split.onnx")
        rec = [n for n in res.project.graph.nodes if n.type == "LSTM.v1"]
        assert len(rec) == n_rec
        model = compile_graph(res.project.graph)
        model.load_state_dict(res.project.weights)
        want = ort.InferenceSession(mp.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"X": x})[0]
        np.testing.assert_allclose(model.predict(x), want, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", ["mlp", "cnn", "cnn_padding_ceil_mode", "cnn1d", "branches",
                                  "residual_layernorm_concat", "lstm_last_step", "gru_hidden", "gru_sequence", "matmul_add_gelu",
                                  "gru_bidirectional_sequence", "lstm_bidirectional_sequence",
                                  "gru_bidirectional_h_n", "lstm_bidirectional_h_n_sum",
                                  "gru_bidirectional_h_n_reverse_only"])
def test_reexport_runs_in_onnxruntime(name):
    module, x, channels_last = _case(name)
    model, _, original = imported(module, x)
    xs = nn_input(x.numpy(), channels_last).astype(np.float32)
    sess_orig = ort.InferenceSession(original, providers=["CPUExecutionProvider"])
    want = sess_orig.run(None, {"x": x.numpy()})[0]
    mp = build_onnx(model)
    sess = ort.InferenceSession(mp.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": xs})[0]
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL)
    # and NN Studio's export imports again to the same graph
    res2 = convert_model(onnx.load_from_string(mp.SerializeToString()), "again.onnx")
    m2 = compile_graph(res2.project.graph)
    m2.load_state_dict(res2.project.weights)
    np.testing.assert_allclose(m2.predict(xs), want, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm_last_step", "gru_sequence", "gru_bidirectional_h_n",
                                  "lstm_bidirectional_h_n_sum", "gru_bidirectional_h_n_reverse_only"])
def test_imported_model_trains(name):
    module, x, channels_last = _case(name)
    model, res, _ = imported(module, x)
    rng = np.random.default_rng(0)
    n = 48
    xs = rng.standard_normal((n, *x.shape[1:])).astype(np.float32)
    xs = nn_input(xs, channels_last)
    k = model.output_shape[-1]
    y = rng.integers(0, k, n)
    ds = ArrayDataset(xs, y, n_outputs=k)
    before = {key: v.copy() for key, v in res.project.weights.items()}
    tr = Trainer(res.project.graph, ds, TrainConfig(epochs=1, batch_size=16, optimizer="adam", lr=0.01, seed=0),
                 weights=res.project.weights)
    events = list(tr.run())
    assert not any(isinstance(e, TrainFailed) for e in events), [e for e in events if isinstance(e, TrainFailed)]
    ends = [e for e in events if isinstance(e, EpochEnded)]
    assert len(ends) == 1 and np.isfinite(ends[0].logs["loss"])
    final = [e for e in events if isinstance(e, TrainFinished)][0].state
    moved = [key for key in before if key in final and not np.allclose(before[key], final[key])]
    assert moved, "no weight changed in an epoch of training"


def test_cli_and_file_round_trip(tmp_path):
    from app.cli import main
    from engine.io import load_project

    module, x, _ = _case("cnn")
    path = tmp_path / "net.onnx"
    path.write_bytes(to_onnx(module, x))
    out = tmp_path / "net.nnsp"
    assert main(["import", str(path), "--out", str(out)]) == 0
    project = load_project(out)
    model = compile_graph(project.graph)
    model.load_state_dict(project.weights)
    with torch.no_grad():
        np.testing.assert_allclose(model.predict(L.to_channels_last(x.numpy())), module(x).numpy(),
                                   atol=ATOL, rtol=RTOL)
    assert project.metadata["imported_from"] == "net.onnx"
    assert any("channels last" in n for n in project.metadata["import_notes"])
    # the same through the file API
    res = import_onnx(path)
    assert [n.type for n in res.project.graph.nodes] == [n.type for n in project.graph.nodes]


def test_unmappable_model_names_every_problem(tmp_path):
    module = nn.Sequential(nn.Conv2d(1, 4, 3, dilation=(1, 2)), nn.ReLU(), nn.MaxPool2d(2),
                           nn.Flatten(), nn.Linear(4 * 3 * 2, 3), nn.LogSoftmax(-1))
    path = tmp_path / "bad.onnx"
    path.write_bytes(to_onnx(module, torch.randn(1, 1, 8, 8)))
    with pytest.raises(OnnxImportError) as info:
        import_onnx(path)
    msg = str(info.value)
    assert msg.startswith("cannot import bad.onnx: 2 part(s)"), msg
    assert "Conv '/0/Conv': dilations=[1, 2] is not supported yet" in msg
    assert "LogSoftmax '/5/LogSoftmax': there is no NN Studio layer for LogSoftmax" in msg


def test_unsupported_options_are_named():
    cases = [
        (nn.Sequential(nn.Linear(3, 3), nn.SiLU(), nn.Linear(3, 2)), (2, 3), "is SiLU"),
        (nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.Flatten()), (1, 2, 5, 5), "group=2 is not supported yet"),
        (Last(nn.GRU(3, 4, batch_first=True, bidirectional=True), nn.Linear(8, 2)), (2, 5, 3),
         "Gather '/Gather': selecting one step of a bidirectional layer's output sequence is not supported"),
    ]
    for module, shape, needle in cases:
        torch.manual_seed(0)
        with pytest.raises(OnnxImportError) as info:
            convert_model(onnx.load_from_string(to_onnx(module, torch.randn(*shape))), "m.onnx")
        assert needle in str(info.value), str(info.value)


@pytest.mark.parametrize("case", ["padding", "ceil_mode", "avg_pool_options", "leaky_elu", "exact_gelu", "tanh_gelu"])
def test_layer_options_import_and_predict_like_torch(case):
    """The layer options of issue #15 come in from PyTorch's ONNX export (opset 17, default folding)."""
    torch.manual_seed(0)
    head = [nn.Flatten(), nn.LazyLinear(3)]
    module, shape = {
        "padding": (nn.Sequential(nn.Conv2d(1, 3, 3, padding=(2, 1)), nn.ReLU(),
                                  nn.Conv2d(3, 2, 3, padding=1, stride=2), *head), (2, 1, 9, 9)),
        "ceil_mode": (nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(3, stride=2, ceil_mode=True),
                                    *head), (2, 1, 8, 8)),
        "avg_pool_options": (nn.Sequential(nn.Conv2d(1, 2, 3), nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                                                             count_include_pad=True), *head),
                             (2, 1, 9, 9)),
        "leaky_elu": (nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 4), nn.ELU(0.5)), (5, 3)),
        "exact_gelu": (nn.Sequential(nn.Linear(3, 4), nn.GELU()), (5, 3)),
        "tanh_gelu": (nn.Sequential(nn.Linear(3, 4), nn.GELU(approximate="tanh")), (5, 3)),
    }[case]
    x = torch.randn(*shape)
    with torch.no_grad():
        want = module(x).numpy()          # (also materialises LazyLinear)
    model, _, _ = imported(module, x, opset=17)
    got = model.predict(x.numpy() if x.ndim == 2 else L.to_channels_last(x.numpy()))
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("opset", [9, 11, 13, 18, 20])
@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm_last_step", "residual_layernorm_concat", "matmul_add_gelu"])
def test_other_opsets_import(name, opset):
    module, x, channels_last = _case(name)
    if name in ("residual_layernorm_concat",) and opset < 17:
        opset = 17      # LayerNormalization is an operator from opset 17 on (torch writes it out before)
    model, _, _ = imported(module, x, opset=opset)
    with torch.no_grad():
        np.testing.assert_allclose(model.predict(nn_input(x.numpy(), channels_last)), module(x).numpy(),
                                   atol=ATOL, rtol=RTOL)


class Tokens(nn.Module):
    """Token ids -> Embedding -> GRU -> its final state -> Linear."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 6)
        self.gru = nn.GRU(6, 5, batch_first=True)
        self.fc = nn.Linear(5, 2)

    def forward(self, x):
        _, h = self.gru(self.emb(x))
        return self.fc(h[-1])


def test_embedding_model():
    torch.manual_seed(0)
    module = Tokens().eval()
    x = torch.randint(0, 20, (4, 7))
    model, res, _ = imported(module, x)
    assert [n.type for n in res.project.graph.nodes] == ["Input.v1", "Embedding.v1", "GRU.v1", "Dense.v1"]
    with torch.no_grad():
        want = module(x).numpy()
    ids = x.numpy().astype(np.float32)       # NN Studio reads token ids as numbers
    np.testing.assert_allclose(model.predict(ids), want, atol=ATOL, rtol=RTOL)
    sess = ort.InferenceSession(build_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"input": ids})[0], want, atol=ATOL, rtol=RTOL)


class ViewFlatten(nn.Module):
    """``x.view(x.size(0), -1)``: with a fixed batch size torch folds it into a constant shape."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).view(x.size(0), -1))


@pytest.mark.parametrize("batch", [1, 3])
def test_export_without_dynamic_batch(batch):
    torch.manual_seed(0)
    module = ViewFlatten().eval()
    x = torch.randn(batch, 1, 6, 6)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), buf, dynamo=False, input_names=["x"], opset_version=17)
    res = convert_model(onnx.load_from_string(buf.getvalue()), "fixed.onnx")
    assert any("fixes the batch size" in n for n in res.notes)
    model = compile_graph(res.project.graph)
    model.load_state_dict(res.project.weights)
    x5 = torch.randn(5, 1, 6, 6)     # another batch size than the file's
    with torch.no_grad():
        np.testing.assert_allclose(model.predict(L.to_channels_last(x5.numpy())), module(x5).numpy(),
                                   atol=ATOL, rtol=RTOL)


def _random_cnn(rnd):
    """A random stack of convolutions, pooling, BatchNorm and activations (1-D or 2-D) with a head."""
    nd = rnd.choice([1, 2])
    C, S = rnd.randint(1, 3), rnd.randint(8, 14)
    conv = nn.Conv1d if nd == 1 else nn.Conv2d
    layers, c, s = [], C, S
    for _ in range(rnd.randint(1, 4)):
        kind = rnd.choice(["conv", "conv", "pool", "bn", "act"])
        if kind == "conv":
            k, st = rnd.choice([1, 3]), rnd.choice([1, 1, 2])
            pad = rnd.choice([0, k // 2]) if st == 1 else 0
            f = rnd.randint(1, 5)
            layers.append(conv(c, f, k, stride=st, padding=pad))
            c, s = f, (s + 2 * pad - k) // st + 1
        elif kind == "pool" and s >= 2:
            layers.append(rnd.choice([nn.MaxPool1d, nn.AvgPool1d] if nd == 1 else [nn.MaxPool2d, nn.AvgPool2d])(2))
            s //= 2
        elif kind == "bn":
            layers.append((nn.BatchNorm1d if nd == 1 else nn.BatchNorm2d)(c))
        else:
            layers.append(rnd.choice([nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.ELU(), nn.LeakyReLU(0.01)]))
    head = rnd.choice(["flat", "gap", "none"])
    if head == "flat":
        layers += [nn.Flatten(), nn.Linear(c * s ** nd, 3)]
    elif head == "gap":
        layers += [(nn.AdaptiveAvgPool1d if nd == 1 else nn.AdaptiveAvgPool2d)(1), nn.Flatten(), nn.Linear(c, 2)]
    return _randomise_bn(nn.Sequential(*layers)), torch.randn(2, C, *([S] * nd))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_cnns(seed):
    """Seeded random CNNs, exported with several opsets and with or without torch's constant folding."""
    import random

    rnd = random.Random(seed)
    torch.manual_seed(seed)
    for _ in range(10):
        module, x = _random_cnn(rnd)
        module.eval()
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (x,), buf, dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "N"}},
                              opset_version=rnd.choice([11, 13, 17]), do_constant_folding=rnd.random() < 0.5)
        res = convert_model(onnx.load_from_string(buf.getvalue()), "random.onnx")
        model = compile_graph(res.project.graph)
        model.load_state_dict(res.project.weights)
        got = to_onnx_layout(model.predict(to_nn_layout(x.numpy(), res.input_axes["x"])), res.output_axes)
        with torch.no_grad():
            np.testing.assert_allclose(got, module(x).numpy(), atol=ATOL, rtol=RTOL, err_msg=str(module))


# ------------------------------------------------------------------ attention
class TorchBlock(nn.Module):
    """A transformer block as code writes it: nn.MultiheadAttention, residual Adds, LayerNorms, a ReLU MLP."""

    def __init__(self, D=8, heads=2, need_weights=False, norm_first=False):
        super().__init__()
        self.attn = nn.MultiheadAttention(D, heads, batch_first=True)
        self.n1, self.n2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.ff1, self.ff2 = nn.Linear(D, 2 * D), nn.Linear(2 * D, D)
        self.need_weights, self.norm_first = need_weights, norm_first

    def forward(self, x):
        h = self.n1(x) if self.norm_first else x
        a, _ = self.attn(h, h, h, need_weights=self.need_weights)
        x = x + a if self.norm_first else self.n1(x + a)
        y = self.ff2(torch.relu(self.ff1(self.n2(x) if self.norm_first else x)))
        return x + y if self.norm_first else self.n2(x + y)


class HandAttention(nn.Module):
    """Multi-head self-attention written out with MatMul/Softmax/Transpose/Reshape (optionally causal)."""

    def __init__(self, D=8, heads=2, causal=False):
        super().__init__()
        self.h, self.causal = heads, causal
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.norm = nn.LayerNorm(D)

    def forward(self, x):
        N, L, D = x.shape
        dh = D // self.h
        q = self.q(x).view(N, L, self.h, dh).transpose(1, 2)
        k = self.k(x).view(N, L, self.h, dh).transpose(1, 2)
        v = self.v(x).view(N, L, self.h, dh).transpose(1, 2)
        s = q @ k.transpose(-2, -1) / dh ** 0.5
        if self.causal:
            s = s.masked_fill(torch.triu(torch.ones(L, L, dtype=torch.bool), 1), float("-inf"))
        a = torch.softmax(s, dim=-1) @ v
        return self.norm(x + self.o(a.transpose(1, 2).reshape(N, L, D)))


class Encoder(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True, **kw)

    def forward(self, x):
        return self.layer(x)


class Classifier(nn.Module):
    """Token ids -> Embedding -> TransformerEncoderLayer -> mean over positions -> Linear."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(12, 8)
        self.enc = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(self.enc(self.emb(x)).mean(dim=1))


ATTENTION = {
    "torch_block": (lambda: TorchBlock(), (3, 5, 8)),
    "torch_block_need_weights": (lambda: TorchBlock(need_weights=True), (3, 5, 8)),
    "torch_block_4_heads_norm_first": (lambda: TorchBlock(16, 4, norm_first=True), (2, 6, 16)),
    "hand_written": (lambda: HandAttention(), (3, 5, 8)),
    "hand_written_causal": (lambda: HandAttention(causal=True), (3, 5, 8)),
    "encoder_layer_gelu": (lambda: Encoder(activation="gelu"), (2, 4, 8)),
}


def _attention_case(name, opset=17):
    build, shape = ATTENTION[name]
    torch.manual_seed(0)
    module = build().eval()
    x = torch.randn(*shape)
    return module, x


@pytest.mark.parametrize("opset", [17, 18])
@pytest.mark.parametrize("name", sorted(ATTENTION))
def test_attention_imports_as_multi_head_attention(name, opset):
    module, x = _attention_case(name)
    model, res, original = imported(module, x, opset=opset)
    types = [n.type for n in res.project.graph.nodes]
    assert types.count("MultiHeadAttention.v1") == 1, types
    assert not {"Reshape.v1", "Flatten.v1", "Softmax.v1"} & set(types), types
    mha = next(n for n in res.project.graph.nodes if n.type == "MultiHeadAttention.v1")
    assert mha.config["causal"] == name.endswith("causal")
    with torch.no_grad():
        for xb in (x, torch.randn(1, *x.shape[1:])):
            np.testing.assert_allclose(model.predict(xb.numpy()), module(xb).numpy(), atol=ATOL, rtol=RTOL)
    # NN Studio's own export of the imported block runs in onnxruntime like the original file, and imports again
    want = ort.InferenceSession(original, providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
    mp = build_onnx(model)
    sess = ort.InferenceSession(mp.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], want, atol=ATOL, rtol=RTOL)
    again = convert_model(onnx.load_from_string(mp.SerializeToString()), "again.onnx")
    assert [n.type for n in again.project.graph.nodes] == types
    m2 = compile_graph(again.project.graph)
    m2.load_state_dict(again.project.weights)
    np.testing.assert_allclose(m2.predict(x.numpy()), want, atol=ATOL, rtol=RTOL)


def test_transformer_classifier_round_trip_and_training():
    torch.manual_seed(0)
    module = Classifier().eval()
    x = torch.randint(0, 12, (4, 6))
    model, res, _ = imported(module, x)
    assert [n.type.split(".")[0] for n in res.project.graph.nodes] == [
        "Input", "Embedding", "MultiHeadAttention", "Add", "LayerNorm", "Dense", "Dense", "Add", "LayerNorm",
        "GlobalAvgPool", "Dense"]
    ids = x.numpy().astype(np.float32)
    with torch.no_grad():
        want = module(x).numpy()
    np.testing.assert_allclose(model.predict(ids), want, atol=ATOL, rtol=RTOL)
    sess = ort.InferenceSession(build_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"input": ids})[0], want, atol=ATOL, rtol=RTOL)
    rng = np.random.default_rng(0)
    xs = rng.integers(0, 12, (32, 6)).astype(np.float32)
    ds = ArrayDataset(xs, rng.integers(0, 3, 32), n_outputs=3)
    tr = Trainer(res.project.graph, ds, TrainConfig(epochs=1, batch_size=8, optimizer="adam", lr=0.01, seed=0),
                 weights=res.project.weights)
    events = list(tr.run())
    assert not any(isinstance(e, TrainFailed) for e in events)
    final = [e for e in events if isinstance(e, TrainFinished)][0].state
    key = next(k for k in final if k.endswith("/W_q"))
    assert not np.allclose(final[key], res.project.weights[key])


class CrossAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        a, _ = self.attn(x, x[:, :1].expand(-1, x.shape[1], -1) * 2, x, need_weights=False)
        return a


class BufferMask(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.register_buffer("mask", torch.randn(5, 5))

    def forward(self, x):
        return self.attn(x, x, x, attn_mask=self.mask, need_weights=False)[0]


class QueryPositions(HandAttention):
    """A learned position term added to the queries only: no MultiHeadAttention computes that."""

    def __init__(self):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(5, 8))
        self.q = _Shifted(self.q, self.pos)


class _Shifted(nn.Module):
    def __init__(self, inner, shift):
        super().__init__()
        self.inner, self.shift = inner, shift

    def forward(self, x):
        return self.inner(x + self.shift)


class UsesWeights(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        a, w = self.attn(x, x, x)
        return a + w.sum(-1, keepdim=True)


@pytest.mark.parametrize("module, needle", [
    (BufferMask, "adds a bias or mask with values other than 0 and -inf to the scores"),
    (UsesWeights, "its attention weights (the Softmax output) are used elsewhere as well"),
    (CrossAttention, "its queries, keys and values are computed from different tensors (cross-attention)"),
    (QueryPositions, "it computes something other than NN Studio's MultiHeadAttention with the weights read from "
                     "it (checked on random inputs"),
])
def test_attention_that_does_not_fit_is_named_once(module, needle):
    torch.manual_seed(0)
    with pytest.raises(OnnxImportError) as info:
        imported(module(), torch.randn(2, 5, 8))
    msg = str(info.value)
    lines = [ln for ln in msg.splitlines() if "attention" in ln]
    assert len(lines) == 1, msg
    assert lines[0].startswith("  MatMul '/") and "MatMul" in lines[0].split("'")[1] and needle in lines[0], msg
    assert "an attention block (MatMul → Softmax → MatMul) that NN Studio's MultiHeadAttention cannot hold" in msg


# ------------------------------------------------------------------ the MNIST-1D paper's models
@pytest.mark.parametrize("which", ["cnn", "gru"])
def test_mnist1d_models_import_onto_the_exact_layers(which):
    """Greydanus (2020)'s ConvBase (three Conv1d(padding=1)) and bidirectional GRU, from torch.onnx.export:
    the same layers as built by hand in tests/interop/test_torch_layer_options.py, and the same predictions."""
    from tests.interop.test_torch_layer_options import _MNIST1DGRU, _MNIST1DConv

    torch.manual_seed(0)
    module = (_MNIST1DConv() if which == "cnn" else _MNIST1DGRU()).eval()
    x = torch.randn(4, 40)
    model, res, original = imported(module, x)
    nodes = res.project.graph.nodes
    if which == "cnn":
        convs = [n for n in nodes if n.type == "Conv1D.v1"]
        assert len(convs) == 3 and all(c.config["activation"] == "relu" for c in convs)
        # padding=1 is "explicit" [1, 1], or "same" where that gives the same 1 + 1 (19 steps, kernel 3, stride 2)
        assert [c.config["padding"] for c in convs] == ["explicit", "same", "explicit"]
        assert convs[0].config["pads"] == convs[2].config["pads"] == [1, 1]
    else:
        gru = [n for n in nodes if n.type == "GRU.v1"]
        assert len(gru) == 1 and gru[0].config["bidirectional"] and gru[0].config["return_sequences"]
        assert gru[0].config["units"] == 6 and gru[0].config["merge_mode"] == "concat"
    with torch.no_grad():
        want = module(x).numpy()
    np.testing.assert_allclose(model.predict(x.numpy()), want, atol=ATOL, rtol=RTOL)
    sess = ort.InferenceSession(build_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], want, atol=ATOL, rtol=RTOL)


class TimeMajorAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2)       # batch_first=False: (L, N, D)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


def test_time_major_attention():
    torch.manual_seed(0)
    module = TimeMajorAttention().eval()
    x = torch.randn(5, 2, 8)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), buf, dynamo=False, input_names=["x"], dynamic_axes={"x": {1: "batch"}},
                          opset_version=17)
    res = convert_model(onnx.load_from_string(buf.getvalue()), "tm.onnx")
    assert [n.type for n in res.project.graph.nodes] == ["Input.v1", "MultiHeadAttention.v1"]
    model = compile_graph(res.project.graph)
    model.load_state_dict(res.project.weights)
    for xb in (x, torch.randn(5, 3, 8)):
        got = to_onnx_layout(model.predict(to_nn_layout(xb.numpy(), res.input_axes["x"])), res.output_axes)
        with torch.no_grad():
            np.testing.assert_allclose(got, module(xb).numpy(), atol=ATOL, rtol=RTOL)


class KeysFromLinear(nn.Module):
    """Keys and values from a Linear layer of their own, queries from the input: still self-attention over
    x; the Linear becomes part of the attention's key and value weights (a note says so)."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.p = nn.Linear(8, 8)

    def forward(self, x):
        y = self.p(x)
        return self.attn(x, y, y, need_weights=False)[0]


def test_linear_before_the_attention_projections_is_merged_with_a_note():
    torch.manual_seed(0)
    module = KeysFromLinear().eval()
    x = torch.randn(3, 5, 8)
    model, res, _ = imported(module, x)
    assert [n.type for n in res.project.graph.nodes] == ["Input.v1", "MultiHeadAttention.v1"]
    assert any("became part of the MultiHeadAttention layer's weights" in n for n in res.notes)
    with torch.no_grad():
        np.testing.assert_allclose(model.predict(x.numpy()), module(x).numpy(), atol=ATOL, rtol=RTOL)
