"""ONNX export of a whole graph, one converter per layer type.

Tensors stay channels-last as in NN Studio; layers whose ONNX operator wants
channels-first (Conv, pooling) are wrapped in ``Transpose`` nodes.  The model
input is ``"input"`` (``"input_<node id>"`` for each input of a multi-input
graph) with a dynamic batch axis; the output is ``"output"``.  The metadata JSON
is stored in ``metadata_props["nnstudio"]``.

Adding a layer type: write ``_convert_<name>(g, c) -> output name`` and put it in
:data:`CONVERTERS` under its versioned type (``"Dense.v1"``).  A layer type with no
converter raises :class:`ExportError` naming the layer.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.export import layouts as L
from engine.export.common import ExportError, describe_node, write_export_file

DEFAULT_OPSET = 17
MIN_OPSET = 13


def max_opset() -> int:
    """Newest opset the installed onnx knows (onnxruntime may support fewer)."""
    import onnx.defs

    return int(onnx.defs.onnx_opset_version())


# ------------------------------------------------------------------ graph builder
class _Graph:
    def __init__(self, opset: int):
        from onnx import helper

        self.h = helper
        self.opset = opset
        self.nodes = []
        self.inits = []
        self._names: set[str] = set()

    def name(self, base: str) -> str:
        base = base.replace("/", "_")
        n, i = base, 1
        while n in self._names:
            i += 1
            n = f"{base}_{i}"
        self._names.add(n)
        return n

    def const(self, arr, base: str) -> str:
        from onnx import numpy_helper

        arr = np.asarray(arr)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def ints(self, values, base: str) -> str:
        return self.const(np.asarray(values, dtype=np.int64), base)

    def scalar(self, v: float, base: str) -> str:
        return self.const(np.asarray(v, dtype=np.float32), base)

    def op(self, op_type: str, inputs: list[str], base: str, n_out: int = 1, **attrs):
        outs = [self.name(f"{base}_{op_type}" + (f"_{i}" if n_out > 1 else "")) for i in range(n_out)]
        self.nodes.append(self.h.make_node(op_type, inputs, outs, name=self.name(f"{base}/{op_type}"), **attrs))
        return outs[0] if n_out == 1 else outs

    # helpers whose form depends on the opset
    def squeeze(self, x: str, axes: list[int], base: str) -> str:
        return self.op("Squeeze", [x, self.ints(axes, f"{base}_axes")], base)

    def reduce_mean(self, x: str, axes: list[int], keepdims: int, base: str) -> str:
        return self.reduce("ReduceMean", x, axes, keepdims, base)

    def reduce(self, op: str, x: str, axes: list[int], keepdims: int, base: str) -> str:
        """ReduceMean/ReduceMax/ReduceSum: axes are an input from opset 18 (ReduceSum: 13)."""
        if self.opset >= (13 if op == "ReduceSum" else 18):
            return self.op(op, [x, self.ints(axes, f"{base}_axes")], base, keepdims=keepdims)
        return self.op(op, [x], base, axes=list(axes), keepdims=keepdims)


@dataclass
class _Ctx:
    """What a converter gets for one node."""

    nid: str
    what: str            # "Dense 'n3'" for messages
    layer: object
    cfg: object
    p: dict              # parameters and buffers (float32)
    xs: list             # ONNX names of the inputs
    in_shapes: list      # per-sample input shapes (no batch axis)
    out_shape: tuple

    @property
    def base(self) -> str:
        return self.nid


# ------------------------------------------------------------------ activations
def activation(g: _Graph, name: str, x: str, base: str, *, slope: float | None = None,
               alpha: float | None = None, exact_gelu: bool = False, axis: int = -1) -> str:
    """The ONNX form of an activation; the keyword settings are those of the activation layers."""
    if name == "linear":
        return x
    if name == "relu":
        return g.op("Relu", [x], base)
    if name == "leaky_relu":
        from engine.layers.activations import LEAKY_SLOPE

        return g.op("LeakyRelu", [x], base, alpha=float(LEAKY_SLOPE if slope is None else slope))
    if name == "elu":
        from engine.layers.activations import ELU_ALPHA

        return g.op("Elu", [x], base, alpha=float(ELU_ALPHA if alpha is None else alpha))
    if name == "sigmoid":
        return g.op("Sigmoid", [x], base)
    if name == "tanh":
        return g.op("Tanh", [x], base)
    if name == "softmax":
        return g.op("Softmax", [x], base, axis=axis)
    if name == "gelu" and exact_gelu:
        if g.opset >= 20:
            return g.op("Gelu", [x], base, approximate="none")
        # 0.5 x (1 + erf(x / sqrt(2)))
        e = g.op("Erf", [g.op("Mul", [x, g.scalar(math.sqrt(0.5), base + "_rsqrt2")], base + "_gelu")],
                 base + "_gelu")
        one_p = g.op("Add", [e, g.scalar(1.0, base + "_one")], base + "_gelu")
        half_x = g.op("Mul", [x, g.scalar(0.5, base + "_half")], base + "_gelu")
        return g.op("Mul", [half_x, one_p], base + "_gelu")
    if name == "gelu":
        if g.opset >= 20:
            return g.op("Gelu", [x], base, approximate="tanh")
        # tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        x3 = g.op("Mul", [g.op("Mul", [x, x], base + "_gelu"), x], base + "_gelu")
        inner = g.op("Add", [x, g.op("Mul", [x3, g.scalar(0.044715, base + "_c3")], base + "_gelu")],
                     base + "_gelu")
        t = g.op("Tanh", [g.op("Mul", [inner, g.scalar(math.sqrt(2.0 / math.pi), base + "_k")],
                               base + "_gelu")], base + "_gelu")
        one_p = g.op("Add", [t, g.scalar(1.0, base + "_one")], base + "_gelu")
        half_x = g.op("Mul", [x, g.scalar(0.5, base + "_half")], base + "_gelu")
        return g.op("Mul", [half_x, one_p], base + "_gelu")
    raise ExportError(f"activation {name!r} has no ONNX form")


# -------------------------------------------------------------------- converters
def _identity(g, c):
    return g.op("Identity", [c.xs[0]], c.base)


def _dense(g, c):
    y = g.op("MatMul", [c.xs[0], g.const(c.p["W"], f"{c.nid}/W")], c.base)
    if "b" in c.p:
        y = g.op("Add", [y, g.const(c.p["b"], f"{c.nid}/b")], c.base)
    return activation(g, c.cfg.activation, y, c.base)


def _activation_layer(g, c):
    cfg = c.cfg
    kw = {}
    if c.layer.fn == "leaky_relu":
        kw["slope"] = cfg.negative_slope
    elif c.layer.fn == "elu":
        kw["alpha"] = cfg.alpha
    elif c.layer.fn == "gelu":
        kw["exact_gelu"] = cfg.approximate == "none"
    elif c.layer.fn == "softmax":
        kw["axis"] = c.layer.axis_index(len(c.in_shapes[0])) + 1
    return activation(g, c.layer.fn, c.xs[0], c.base, **kw)


def _flatten(g, c):
    return g.op("Flatten", [c.xs[0]], c.base, axis=1)


def _reshape(g, c):
    return g.op("Reshape", [c.xs[0], g.ints([-1, *c.out_shape], f"{c.nid}_shape")], c.base)


def _batchnorm(g, c):
    scale, shift = L.batchnorm_scale_shift(c.p["gamma"], c.p["beta"], c.p["running_mean"],
                                           c.p["running_var"], c.cfg.epsilon)
    y = g.op("Mul", [c.xs[0], g.const(scale, f"{c.nid}/scale")], c.base)
    return g.op("Add", [y, g.const(shift, f"{c.nid}/shift")], c.base)


def _layernorm(g, c):
    gamma, beta = g.const(c.p["gamma"], f"{c.nid}/gamma"), g.const(c.p["beta"], f"{c.nid}/beta")
    eps = float(c.cfg.epsilon)
    if g.opset >= 17:
        return g.op("LayerNormalization", [c.xs[0], gamma, beta], c.base, axis=-1, epsilon=eps)
    x = c.xs[0]
    mean = g.reduce_mean(x, [-1], 1, c.base)
    xc = g.op("Sub", [x, mean], c.base)
    var = g.reduce_mean(g.op("Mul", [xc, xc], c.base), [-1], 1, c.base)
    std = g.op("Sqrt", [g.op("Add", [var, g.scalar(eps, f"{c.nid}_eps")], c.base)], c.base)
    y = g.op("Div", [xc, std], c.base)
    return g.op("Add", [g.op("Mul", [y, gamma], c.base), beta], c.base)


def _add(g, c):
    return g.op("Sum", list(c.xs), c.base)


def _concatenate(g, c):
    rank = len(c.in_shapes[0])
    return g.op("Concat", list(c.xs), c.base, axis=int(c.layer._axis(rank)) + 1)


def _to_first(g, x, rank, base):
    return g.op("Transpose", [x], base, perm=L.channels_last_to_first_perm(rank))


def _to_last(g, x, rank, base):
    return g.op("Transpose", [x], base, perm=L.channels_first_to_last_perm(rank))


def _pads(spatial, k, stride, dilation, padding, explicit=None):
    """ONNX ``pads`` (every start, then every end); ``explicit``: (before, after) per axis."""
    if padding == "explicit":
        return [b for b, _ in explicit] + [a for _, a in explicit]
    if padding != "same":
        return [0] * (2 * len(spatial))
    before, after = zip(*(L.same_pads(n, k, stride, dilation) for n in spatial))
    return [*before, *after]


def _conv(g, c):
    spatial = c.in_shapes[0][:-1]
    nd = len(spatial)
    cfg = c.cfg
    x = _to_first(g, c.xs[0], nd + 2, c.base)
    ins = [x, g.const(L.conv_to_onnx(c.p["W"]), f"{c.nid}/W")]
    if "b" in c.p:
        ins.append(g.const(c.p["b"], f"{c.nid}/b"))
    pads = _pads(spatial, cfg.kernel_size, cfg.strides, cfg.dilation, cfg.padding, c.layer.pads_per_axis(nd))
    y = g.op("Conv", ins, c.base, kernel_shape=[cfg.kernel_size] * nd, strides=[cfg.strides] * nd,
             dilations=[cfg.dilation] * nd, pads=pads, group=1)
    y = _to_last(g, y, nd + 2, c.base)
    return activation(g, cfg.activation, y, c.base)


def _pool(g, c):
    spatial = c.in_shapes[0][:-1]
    nd = len(spatial)
    cfg = c.layer.cfg
    k, s, d = cfg.pool_size, c.layer.stride, cfg.dilation
    x = _to_first(g, c.xs[0], nd + 2, c.base)
    geo = c.layer.geometry(spatial)
    pads = [b for _, b, _ in geo] + [a for _, _, a in geo]
    attrs = {"kernel_shape": [k] * nd, "strides": [s] * nd, "pads": pads}
    if cfg.ceil_mode and cfg.padding != "same":
        attrs["ceil_mode"] = 1
    if d != 1:
        if c.layer.mode != "max" and g.opset < 19:
            raise ExportError(f"average pooling with dilation needs ONNX opset 19 or newer (asked for {g.opset})")
        attrs["dilations"] = [d] * nd
    if c.layer.mode == "max":
        y = g.op("MaxPool", [x], c.base, **attrs)
    else:
        y = g.op("AveragePool", [x], c.base, count_include_pad=int(cfg.count_include_pad), **attrs)
    return _to_last(g, y, nd + 2, c.base)


def _global_avg_pool(g, c):
    rank = len(c.in_shapes[0]) + 1
    return g.reduce_mean(c.xs[0], list(range(1, rank - 1)), 0, c.base)


def _global_max_pool(g, c):
    rank = len(c.in_shapes[0]) + 1
    return g.reduce("ReduceMax", c.xs[0], list(range(1, rank - 1)), 0, c.base)


def _upsampling(g, c):
    h, w, ch = c.in_shapes[0]
    k = c.cfg.size
    x = g.op("Reshape", [c.xs[0], g.ints([-1, h, 1, w, 1, ch], f"{c.nid}_s1")], c.base)
    x = g.op("Expand", [x, g.ints([1, 1, k, 1, k, 1], f"{c.nid}_rep")], c.base)
    return g.op("Reshape", [x, g.ints([-1, h * k, w * k, ch], f"{c.nid}_s2")], c.base)


def _embedding(g, c):
    from onnx import TensorProto

    ids = g.op("Cast", [c.xs[0]], c.base, to=TensorProto.INT64)
    return g.op("Gather", [g.const(c.p["W"], f"{c.nid}/W"), ids], c.base, axis=0)


def _recurrent(kind: str, reorder: Callable | None):
    def convert(g, c):
        u = c.cfg.units
        dirs = c.layer.directions
        Ws, Rs, Bs = [], [], []
        for sfx in dirs:
            W, R = c.p["W_ih" + sfx], c.p["W_hh" + sfx]
            b = [c.p["b_ih" + sfx], c.p["b_hh" + sfx]]
            if reorder is not None:
                W, R = reorder(W), reorder(R)
                b = [reorder(v) for v in b]
            Ws.append(W)
            Rs.append(R)
            Bs.append(np.concatenate(b))
        xt = g.op("Transpose", [c.xs[0]], c.base, perm=[1, 0, 2])          # (L, N, C)
        ins = [xt, g.const(np.stack(Ws), f"{c.nid}/W"), g.const(np.stack(Rs), f"{c.nid}/R"),
               g.const(np.stack(Bs), f"{c.nid}/B")]
        attrs = {"hidden_size": u}
        if len(dirs) == 2:
            attrs["direction"] = "bidirectional"
        if kind == "GRU":
            attrs["linear_before_reset"] = int(c.cfg.linear_before_reset)
        if kind == "RNN":
            attrs["activations"] = ["Tanh"] * len(dirs)
        y, y_h = g.op(kind, ins, c.base, n_out=2, **attrs)               # (L, D, N, u), (D, N, u)
        if len(dirs) == 1:
            if c.cfg.return_sequences:
                seq = g.squeeze(y, [1], c.base)                               # (L, N, u)
                return g.op("Transpose", [seq], c.base, perm=[1, 0, 2])
            return g.squeeze(y_h, [0], c.base)
        if c.cfg.merge_mode == "sum":
            if c.cfg.return_sequences:
                seq = g.reduce("ReduceSum", y, [1], 0, c.base)                # (L, N, u)
                return g.op("Transpose", [seq], c.base, perm=[1, 0, 2])
            return g.reduce("ReduceSum", y_h, [0], 0, c.base)
        if c.cfg.return_sequences:                                            # forward, then reverse
            seq = g.op("Transpose", [y], c.base, perm=[2, 0, 1, 3])           # (N, L, 2, u)
            return g.op("Reshape", [seq, g.ints([0, 0, 2 * u], f"{c.nid}_merge")], c.base)
        last = g.op("Transpose", [y_h], c.base, perm=[1, 0, 2])               # (N, 2, u)
        return g.op("Reshape", [last, g.ints([0, 2 * u], f"{c.nid}_merge")], c.base)
    return convert


def _reverse_sequence(g, c):
    """Slice backwards along the time axis (ReverseSequence itself needs per-sample lengths)."""
    return g.op("Slice", [c.xs[0], g.ints([-1], f"{c.nid}_start"), g.ints([-(2 ** 63)], f"{c.nid}_end"),
                          g.ints([1], f"{c.nid}_axis"), g.ints([-1], f"{c.nid}_step")], c.base)


def _attention(g, c):
    seq_len, d = c.in_shapes[0]
    h = c.cfg.num_heads
    dh = d // h
    x = c.xs[0]

    def proj(name):
        t = g.op("MatMul", [x, g.const(c.p[f"W_{name}"], f"{c.nid}/W_{name}")], c.base)
        t = g.op("Add", [t, g.const(c.p[f"b_{name}"], f"{c.nid}/b_{name}")], c.base)
        return g.op("Reshape", [t, g.ints([0, 0, h, dh], f"{c.nid}_heads")], c.base)

    q = g.op("Transpose", [proj("q")], c.base, perm=[0, 2, 1, 3])       # (N, h, L, dh)
    kT = g.op("Transpose", [proj("k")], c.base, perm=[0, 2, 3, 1])      # (N, h, dh, L)
    v = g.op("Transpose", [proj("v")], c.base, perm=[0, 2, 1, 3])
    s = g.op("Mul", [g.op("MatMul", [q, kT], c.base), g.scalar(1.0 / math.sqrt(dh), f"{c.nid}_scale")],
             c.base)
    if c.cfg.causal:
        mask = np.where(np.triu(np.ones((seq_len, seq_len), dtype=bool), k=1), -np.inf, 0.0)
        s = g.op("Add", [s, g.const(mask.astype(np.float32), f"{c.nid}_mask")], c.base)
    a = g.op("Softmax", [s], c.base, axis=-1)
    o = g.op("Transpose", [g.op("MatMul", [a, v], c.base)], c.base, perm=[0, 2, 1, 3])  # (N, L, h, dh)
    o = g.op("Reshape", [o, g.ints([0, 0, d], f"{c.nid}_merge")], c.base)
    y = g.op("MatMul", [o, g.const(c.p["W_o"], f"{c.nid}/W_o")], c.base)
    return g.op("Add", [y, g.const(c.p["b_o"], f"{c.nid}/b_o")], c.base)


#: versioned layer type -> converter: a new version of a layer (``Dense.v2``) exports only once it has its own entry
CONVERTERS: dict[str, Callable] = {
    "Dense.v1": _dense, "Flatten.v1": _flatten, "Reshape.v1": _reshape, "Dropout.v1": _identity,
    "BatchNorm.v1": _batchnorm, "LayerNorm.v1": _layernorm, "Add.v1": _add, "Concatenate.v1": _concatenate,
    "ReLU.v1": _activation_layer, "LeakyReLU.v1": _activation_layer, "ELU.v1": _activation_layer,
    "GELU.v1": _activation_layer, "Sigmoid.v1": _activation_layer, "Tanh.v1": _activation_layer,
    "Softmax.v1": _activation_layer,
    "Conv1D.v1": _conv, "Conv2D.v1": _conv,
    "MaxPool1D.v1": _pool, "MaxPool2D.v1": _pool, "AvgPool1D.v1": _pool, "AvgPool2D.v1": _pool,
    "GlobalAvgPool.v1": _global_avg_pool, "GlobalMaxPool.v1": _global_max_pool, "UpSampling2D.v1": _upsampling,
    "Embedding.v1": _embedding,
    "SimpleRNN.v1": _recurrent("RNN", None),
    "LSTM.v1": _recurrent("LSTM", L.lstm_to_onnx),
    "GRU.v1": _recurrent("GRU", L.gru_to_onnx),
    "ReverseSequence.v1": _reverse_sequence,
    "MultiHeadAttention.v1": _attention,
}


def input_names(model) -> list[str]:
    if len(model.input_ids) == 1:
        return ["input"]
    return [f"input_{nid}" for nid in model.input_ids]


def build_onnx(model, meta: dict | None = None, opset: int = DEFAULT_OPSET):
    """-> ``onnx.ModelProto`` (checked with ``onnx.checker``)."""
    import onnx
    from onnx import TensorProto, helper

    top = max_opset()
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= top:
        raise ExportError(f"ONNX opset must be a whole number from {MIN_OPSET} to {top}, got {opset!r}")
    for nid in model.order:
        layer_type = model.spec.node(nid).type
        if nid not in model.input_ids and layer_type not in CONVERTERS:
            raise ExportError(f"cannot export {describe_node(model, nid)} to ONNX: there is no ONNX "
                              f"converter for {layer_type} layers yet")
    g = _Graph(opset)
    names: dict[str, str] = {}
    inputs = []
    for nid, iname in zip(model.input_ids, input_names(model)):
        g._names.add(iname)
        names[nid] = iname
        inputs.append(helper.make_tensor_value_info(iname, TensorProto.FLOAT,
                                                    ["batch", *model.shapes[nid]]))
    state = model.state_dict()
    for nid in model.order:
        if nid in model.input_ids:
            continue
        node = model.spec.node(nid)
        layer = model.layers[nid]
        srcs = model.sources[nid]
        p = {k.split("/", 1)[1]: v.astype(np.float32) for k, v in state.items() if k.split("/", 1)[0] == nid}
        ctx = _Ctx(nid=nid, what=describe_node(model, nid), layer=layer, cfg=layer.cfg, p=p,
                   xs=[names[s] for s in srcs], in_shapes=[tuple(model.shapes[s]) for s in srcs],
                   out_shape=tuple(model.shapes[nid]))
        try:
            names[nid] = CONVERTERS[node.type](g, ctx)
        except ExportError as exc:
            raise ExportError(f"cannot export {ctx.what} to ONNX: {exc}") from None
    g.nodes.append(helper.make_node("Identity", [names[model.output_id]], ["output"], name=g.name("output")))
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", *model.output_shape])]
    graph = helper.make_graph(g.nodes, "nn_studio_model", inputs, outputs, initializer=g.inits)
    opsets = [helper.make_opsetid("", opset)]
    mp = helper.make_model(graph, opset_imports=opsets, producer_name="NN Studio",
                           producer_version=str((meta or {}).get("app_version", "")))
    mp.ir_version = helper.find_min_ir_version_for(opsets)
    if meta is not None:
        helper.set_model_props(mp, {"nnstudio": json.dumps(meta)})
    try:
        onnx.checker.check_model(mp, full_check=True)
    except onnx.checker.ValidationError as exc:  # pragma: no cover - a converter bug
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"the generated ONNX model failed validation: {first}") from None
    return mp


def write_onnx(model, path, meta: dict | None = None, opset: int = DEFAULT_OPSET) -> Path:
    return write_export_file(path, build_onnx(model, meta, opset).SerializeToString())
