"""ONNX operator -> NN Studio layer, one mapper per operator (the :data:`OPS` table).

A mapper gets a :class:`~engine.onnx_import.convert.NodeCtx` and returns the values of the node's
outputs.  What NN Studio cannot express raises :class:`Unsupported` naming the attribute and its
value (``"ceil_mode=1 is not supported yet"``); the importer prefixes the operator and node name.

Recurrent layers: ``direction="reverse"`` becomes ReverseSequence around a one-way layer;
``"bidirectional"`` the layer's Bidirectional option, whose joined output (L, 2H) is seen through a
Reshape as ONNX's direction axis (:func:`_recurrent`).  Selecting, splitting, summing or rejoining
that axis (:func:`_gather`, :func:`_split`, :func:`_reduce_sum`, :func:`_concat`, :func:`_sum_tensors`)
maps onto the layer itself, its summed form or one direction on its own; the Reshape disappears
when the exporter's own Reshape joins the directions again.  Attention blocks are mapped as a whole
before the walk reaches them (:mod:`.attention`).
"""
from __future__ import annotations

import numpy as np

from engine.export import layouts as L
from engine.onnx_import.convert import (
    BATCH,
    Const,
    Expr,
    Missing,
    NodeCtx,
    Tensor,
    Unsupported,
    Zeros,
    channels_first_axes,
    dtype_name,
    fmt_shape,
    identity_axes,
)


def _close(a: float, b: float) -> bool:
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b)))


def _f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


# ------------------------------------------------------------------ layout-only operators
def _identity(cx: NodeCtx):
    v = cx.value(0)
    if isinstance(v, Tensor):
        return [v.with_(single=v.single and cx.uses(0) == 1)]
    return [v]


def _cast(cx: NodeCtx):
    from onnx import TensorProto

    to = cx.attr("to")
    v = cx.value(0)
    ids = (TensorProto.INT64, TensorProto.INT32)
    if to in ids and isinstance(v, Tensor) and v.node.base == "Input":
        return _identity(cx)      # token ids read as numbers (NN Studio's Embedding rounds them itself)
    if to not in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16):
        raise Unsupported(f"to={dtype_name(to)} is not supported on the data (NN Studio "
                          "computes in float32)")
    return _identity(cx)


def _transpose(cx: NodeCtx):
    t = cx.tensor(0)
    perm = cx.ints("perm") or list(range(t.rank))[::-1]
    if sorted(perm) != list(range(t.rank)):
        raise Unsupported(f"perm={perm} is not a permutation of {t.rank} axes")
    if t.q is not None and perm != list(range(t.rank)):
        raise Unsupported("transposing a flattened channels-first tensor is not supported")
    return [t.with_(axes=tuple(t.axes[p] for p in perm), single=t.single and cx.uses(0) == 1)]


def _squeeze(cx: NodeCtx):
    from engine.onnx_import.convert import _axes_arg

    t = cx.tensor(0)
    axes = _axes_arg(cx, 1, t.rank)
    if axes is None:
        axes = [i for i, s in enumerate(t.onnx_shape) if s == 1]
    if all(t.axes[a] is None for a in axes):
        return [t.with_(axes=tuple(a for i, a in enumerate(t.axes) if i not in axes),
                        single=t.single and cx.uses(0) == 1)]
    shape = t.onnx_shape
    for a in axes:
        if shape[a] != 1:
            raise Unsupported(f"axes={axes}: axis {a} has size {shape[a]}, not 1")
    target = [s for i, s in enumerate(shape) if i not in axes]
    return [_reshape_tensor(cx, t, target)]


def _unsqueeze(cx: NodeCtx):
    t = cx.tensor(0)
    axes = cx.ints("axes")
    if axes is None:
        axes = [int(x) for x in cx.const(1, "axes").ravel()]
    r = t.rank + len(axes)
    new = list(t.axes)
    for a in sorted(x % r for x in axes):
        new.insert(a, None)
    return [t.with_(axes=tuple(new), single=t.single and cx.uses(0) == 1)]


def _in_sample_order(t: Tensor) -> bool:
    """The axes besides the batch axis hold NN Studio's axes in order (wherever the batch axis is)."""
    return t.q is None and [a for a in t.axes if a not in (BATCH, None)] == list(range(len(t.nn_shape)))


def _reshape_tensor(cx: NodeCtx, t: Tensor, target: list) -> Tensor:
    """``t`` reshaped to the ONNX shape ``target``, whose batch axis stays whole: first, or (time-major
    tensors, a recurrent layer's outputs) after axes holding as many values as before it."""
    shape = t.onnx_shape
    po = target.index(BATCH) if target.count(BATCH) == 1 else -1
    pi = t.batch_axis
    if po < 0 or int(np.prod(shape[:pi])) != int(np.prod(target[:po])) or \
            ((pi, po) != (0, 0) and not _in_sample_order(t)):
        raise Unsupported(f"reshapes {fmt_shape(t.onnx_shape)} to {fmt_shape(target)}: the batch axis must "
                          "stay first and whole")
    rest = [int(s) for s in target if s != BATCH]

    def axes_of(inner):
        inner = list(inner)
        return tuple(inner[:po] + [BATCH] + inner[po:])

    if t.ordered() or (pi, po) != (0, 0):
        core_t = [s for s in rest if s != 1]
        core_nn = [s for s in t.nn_shape if s != 1]
        if core_t == core_nn and 1 not in t.nn_shape:
            it = iter(range(len(t.nn_shape)))
            return t.with_(axes=axes_of(None if s == 1 else next(it) for s in rest), single=False)
        if len(rest) == 1 and len(t.nn_shape) == 1:
            return t.with_(axes=axes_of([0]), single=False)
        if len(rest) == 1:
            node = cx.emit("Flatten.v1", {}, [t])
        else:
            node = cx.emit("Reshape.v1", {"shape": rest}, [t])
        return Tensor(node=node, nn_shape=tuple(rest), axes=axes_of(range(len(rest))))
    if len(rest) == 1:
        # a channels-first flatten of a channels-last tensor: NN Studio flattens its own order and
        # the feature permutation q is applied to the next layer's weights
        n = int(np.prod(t.nn_shape))
        idx = np.arange(n).reshape(t.nn_shape)
        real = [a for a in t.axes[1:] if a is not None]
        view = idx.transpose(real).reshape([s for s in t.onnx_shape[1:]])
        q = view.ravel()
        if t.q is not None:
            q = t.q[q]
        src = t
        if len(t.nn_shape) != 1:
            node = cx.emit("Flatten.v1", {}, [t])
            src = Tensor(node=node, nn_shape=(n,), axes=identity_axes(1))
        return src.with_(axes=identity_axes(1), q=None if np.array_equal(q, np.arange(n)) else q, single=False)
    raise Unsupported(f"reshapes {fmt_shape(t.onnx_shape)} to {fmt_shape(target)} after its axes were reordered "
                      "(e.g. channels first); only flattening such a tensor is supported")


def _reshape(cx: NodeCtx):
    from engine.onnx_import.convert import Sym

    t = cx.tensor(0)
    sv = cx.value(1)
    if isinstance(sv, Const):
        target = [int(x) for x in sv.value.ravel()]
    elif isinstance(sv, Sym):
        target = list(sv.value.ravel())
    else:
        raise Unsupported("the target shape must be a constant or computed from the input's shape")
    shape = t.onnx_shape
    allowzero = cx.attr("allowzero", 0)
    out = []
    for i, s in enumerate(target):
        if s is None:
            raise Unsupported(f"target shape entry {i} cannot be worked out before running the model")
        if isinstance(s, (int, np.integer)) and s == 0 and not allowzero:
            if i >= len(shape):
                raise Unsupported(f"shape={target} copies axis {i}, which the input does not have")
            out.append(shape[i])
        else:
            out.append(s if s == BATCH else int(s))
    per_sample = int(np.prod([s for s in shape if s != BATCH]))
    if BATCH not in out:
        if out.count(-1) == 1 and out[0] == -1:
            out[0] = BATCH
        elif out and out[0] in cx.conv.fixed_batch and shape[0] == BATCH:
            out[0] = BATCH       # the file's own (fixed) batch size: exported without a dynamic batch axis
        elif out and out[0] == -1:
            raise Unsupported(f"shape={target} merges the batch axis with others")
        else:
            raise Unsupported(f"shape={target} fixes the batch size; NN Studio models take any batch size")
    if out.count(BATCH) != 1:
        raise Unsupported(f"shape={target}: the batch axis must stay first and whole")
    if -1 in out:
        known = int(np.prod([s for s in out if s not in (-1, BATCH)]))
        if known == 0 or per_sample % known:
            raise Unsupported(f"cannot reshape {fmt_shape(shape)} to {target}")
        out[out.index(-1)] = per_sample // known
    if int(np.prod([s for s in out if s != BATCH])) != per_sample:
        raise Unsupported(f"cannot reshape {fmt_shape(shape)} to {fmt_shape(out)}")
    return [_reshape_tensor(cx, t, out)]


def _flatten(cx: NodeCtx):
    t = cx.tensor(0)
    axis = cx.attr("axis", 1)
    axis = axis % t.rank if axis < 0 else axis
    if axis != 1 or t.batch_axis != 0:
        raise Unsupported(f"axis={cx.attr('axis', 1)} is not supported (only axis=1: flatten each sample)")
    shape = t.onnx_shape
    return [_reshape_tensor(cx, t, [BATCH, int(np.prod(shape[1:]))])]


# ------------------------------------------------------------------ activations
def _activation(type_id: str, config: dict | None = None):
    def mapper(cx: NodeCtx):
        v = cx.value(0)
        if isinstance(v, Expr):
            fn = _UNARY_FN[cx.op]
            e = _expr(cx, v.base, lambda x, f=v.fn: fn(f(x)), v.ops)
            e.parts = ("unary", v, type_id)
            return [e]
        t = cx.tensor(0)
        if cx.op in _UNARY_FN:
            # kept as an expression until something else reads it: x * sigmoid(x) is then seen whole
            return [_expr(cx, t, _UNARY_FN[cx.op])]
        node = cx.emit(type_id, dict(config or {}), [t])
        return [t.with_(node=node, variant="out", single=True, nn_shape=node.nn_shape)]
    return mapper


def _leaky_relu(cx: NodeCtx):
    return _activation("LeakyReLU.v1", {"negative_slope": float(cx.attr("alpha", 0.01))})(cx)


def _elu(cx: NodeCtx):
    return _activation("ELU.v1", {"alpha": float(cx.attr("alpha", 1.0))})(cx)


def _gelu(cx: NodeCtx):
    approx = cx.attr("approximate", "none")
    if approx not in ("none", "tanh"):
        raise Unsupported(f"approximate={approx!r} is not supported (none or tanh)")
    # set explicitly: NN Studio's default is the tanh form (older graphs), ONNX's the exact one
    return _activation("GELU.v1", {"approximate": approx})(cx)


def _softmax(cx: NodeCtx):
    t = cx.tensor(0)
    default = -1 if cx.opset >= 13 else 1
    axis = cx.attr("axis", default)
    ax = axis % t.rank
    if cx.opset < 13 and ax != t.rank - 1:
        raise Unsupported(f"axis={axis} (opset {cx.opset}: over all axes from {axis} on) is not supported; "
                          "only the last axis")
    nn_axis = t.axes[ax]
    if not isinstance(nn_axis, int) or t.q is not None:
        raise Unsupported(f"axis={axis} is not supported (a softmax over the batch or a folded axis)")
    if nn_axis == len(t.nn_shape) - 1:
        return _activation("Softmax.v1")(cx)
    # another axis of the sample: NN Studio's Softmax axis counts the sample's axes from 1
    return _activation("Softmax.v1", {"axis": nn_axis + 1})(cx)


# ------------------------------------------------------------------ per-channel constants
def _channel_vector(t: Tensor, c: np.ndarray, what: str) -> np.ndarray:
    """A constant broadcast against ``t`` as one value per NN Studio channel (last axis)."""
    c = np.asarray(c, dtype=np.float64)
    shape = [1 if s == BATCH else s for s in t.onnx_shape]
    if c.ndim > len(shape):
        raise Unsupported(f"{what} {fmt_shape(c.shape)} has more axes than the data {fmt_shape(t.onnx_shape)}")
    try:
        full = np.broadcast_to(c, np.broadcast_shapes(tuple(shape), c.shape))
    except ValueError:
        raise Unsupported(f"{what} {fmt_shape(c.shape)} does not broadcast against the data "
                          f"{fmt_shape(t.onnx_shape)}") from None
    if tuple(full.shape) != tuple(shape):
        raise Unsupported(f"{what} {fmt_shape(c.shape)} would change the data's shape {fmt_shape(t.onnx_shape)}")
    last = len(t.nn_shape) - 1
    ch = t.axes.index(last) if last in t.axes else None
    if ch is None:
        if np.all(full == full.ravel()[0]):
            return np.full(1, full.ravel()[0])
        raise Unsupported(f"{what} varies along axes NN Studio has no layer for")
    idx = [0] * len(shape)
    idx[ch] = slice(None)
    vec = full[tuple(idx)]
    bshape = [1] * len(shape)
    bshape[ch] = -1
    if not np.array_equal(np.broadcast_to(vec.reshape(bshape), full.shape), full):
        raise Unsupported(f"{what} {fmt_shape(c.shape)} varies over positions, not only over the channels")
    vec = np.asarray(vec, dtype=np.float64)
    if t.q is not None:
        out = np.empty_like(vec)
        out[t.q] = vec
        vec = out
    return vec


def _foldable(cx: NodeCtx, t: Tensor, i: int = 0) -> bool:
    """Whether ``t`` (input ``i``) comes straight from a layer whose weights can absorb a scale/shift."""
    n = t.node
    return (t.single and cx.uses(i) == 1 and n.uses == 0 and t.variant == "out"
            and (n.base in ("Dense", "Conv1D", "Conv2D") and n.config.get("activation", "linear") == "linear"
                 or n.base == "BatchNorm"))


def _affine(cx: NodeCtx, t: Tensor, scale: np.ndarray | None, shift: np.ndarray | None, i: int = 0) -> list:
    """``t * scale + shift`` per channel: folded into the layer before, else a BatchNorm layer."""
    C = t.nn_shape[-1]
    s = None if scale is None else np.broadcast_to(scale, (C,)).astype(np.float64)
    b = None if shift is None else np.broadcast_to(shift, (C,)).astype(np.float64)
    if _foldable(cx, t, i):
        n = t.node
        if n.base == "BatchNorm":
            g, beta = n.params["gamma"].astype(np.float64), n.params["beta"].astype(np.float64)
            if s is not None:
                g, beta = g * s, beta * s
            if b is not None:
                beta = beta + b
            n.params.update(gamma=_f32(g), beta=_f32(beta))
        else:
            W = n.params["W"].astype(np.float64)
            bias = n.params.get("b", np.zeros(C)).astype(np.float64)
            if s is not None:
                W, bias = W * s, bias * s
            if b is not None:
                bias = bias + b
            n.params["W"] = _f32(W)
            if s is None or b is not None or "b" in n.params:
                n.params["b"] = _f32(bias)
                n.config["use_bias"] = True
        return [t.with_(single=True)]
    # a BatchNorm layer in evaluation form: y = gamma * (x - 0) / sqrt((1 - eps) + eps) + beta
    eps = 1e-5
    gamma = np.ones(C) if s is None else s
    beta = np.zeros(C) if b is None else b
    node = cx.emit("BatchNorm.v1", {"epsilon": eps}, [t],
                   params={"gamma": _f32(gamma), "beta": _f32(beta)},
                   state={"running_mean": np.zeros(C, np.float32),
                          "running_var": np.full(C, 1.0 - eps, np.float32)})
    cx.conv.notes.append(f"{cx.op} '{cx.name}': a per-channel scale/shift became a BatchNorm layer holding it "
                         "(exact for predictions; training updates it as a batch normalisation)")
    return [t.with_(node=node, variant="out", single=True)]


def _binary(cx: NodeCtx):
    op = cx.op
    a, b = cx.value(0), cx.value(1)
    expr = _binary_expr(cx, a, b)
    if expr is not None:
        return [expr]
    if isinstance(a, Expr):
        a = materialize(cx.conv, a)
    if isinstance(b, Expr):
        b = materialize(cx.conv, b)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if op == "Add":
            return _sum_tensors(cx, [a, b])
        raise Unsupported(f"{op} of two computed tensors is not supported (NN Studio has Add only)")
    i = 0
    if isinstance(b, Tensor) and op in ("Add", "Mul"):
        a, b, i = b, a, 1
    if not isinstance(a, Tensor):
        raise Unsupported(f"{op} of a constant by computed data is not supported")
    if not isinstance(b, Const):
        raise Unsupported(f"{op} with {type(b).__name__.lower()} values is not supported")
    vec = _channel_vector(a, b.value, "the constant")
    if op == "Add":
        return _affine(cx, a, None, vec, i)
    if op == "Sub":
        return _affine(cx, a, None, -vec, i)
    if op == "Mul":
        return _affine(cx, a, vec, None, i)
    if op == "Div":
        if np.any(vec == 0):
            raise Unsupported("divides by zero")
        return _affine(cx, a, 1.0 / vec, None, i)
    raise Unsupported(f"there is no NN Studio layer for {op}")


# ------------------------------------------------------------------ written-out activations
_UNARY_FN = {"Relu": lambda x: np.maximum(x, 0), "Sigmoid": lambda x: 1 / (1 + np.exp(-x)), "Tanh": np.tanh,
             "Exp": np.exp, "Neg": np.negative, "Abs": np.abs, "Sqrt": np.sqrt, "Reciprocal": np.reciprocal,
             "Softplus": lambda x: np.logaddexp(0, x), "Log": np.log}
_BIN_FN = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Pow": np.power}
#: operators that may extend an element-wise expression instead of using it
EXPR_OPS = {*_UNARY_FN, *_BIN_FN, "Erf", "Identity"}


def _erf(x):
    from math import erf
    return np.vectorize(erf)(x)


_UNARY_FN["Erf"] = _erf


def _expr(cx: NodeCtx, base: Tensor, fn, ops=()) -> Expr:
    return Expr(base=base, fn=fn, op=cx.op, name=cx.name, ops=(*ops, cx.op))


def _as_fn(cx: NodeCtx, v, base: Tensor | None):
    """``v`` as a function of ``base`` (``None`` if it is not an element-wise function of it)."""
    if isinstance(v, Const):
        if v.value.size != 1:
            return None
        c = float(np.asarray(v.value, dtype=np.float64).ravel()[0])
        return lambda x, c=c: np.full_like(x, c)
    if isinstance(v, Expr) and v.base is base:
        return v.fn
    if isinstance(v, Tensor) and base is not None and v is base:
        return lambda x: x
    return None


def _binary_expr(cx: NodeCtx, a, b):
    """Extend an element-wise expression (or start one, when the data meets itself or a scalar
    constant that cannot be folded into the layer before); ``None`` when this is not one."""
    op = cx.op
    bases = [v.base if isinstance(v, Expr) else v for v in (a, b) if isinstance(v, (Expr, Tensor))]
    if not bases or any(x is not bases[0] for x in bases) or op not in _BIN_FN:
        return None
    base = bases[0]
    has_expr = any(isinstance(v, Expr) for v in (a, b))
    if not has_expr:
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            if op == "Add":
                return None                  # x + x: an Add layer
        else:
            (t, i), c = ((a, 0), b) if isinstance(a, Tensor) else ((b, 1), a)
            if not isinstance(c, Const) or c.value.size != 1:
                return None                  # a bias or per-channel scale: folded or a BatchNorm
            if op != "Pow" and _foldable(cx, t, i) and (i == 0 or op in ("Add", "Mul")):
                return None
    fa, fb = _as_fn(cx, a, base), _as_fn(cx, b, base)
    if fa is None or fb is None:
        return None
    fn = _BIN_FN[op]
    ops = tuple(o for v in (a, b) if isinstance(v, Expr) for o in v.ops)
    e = _expr(cx, base, lambda x: fn(fa(x), fb(x)), ops)
    if op == "Add" and all(isinstance(v, (Expr, Tensor)) for v in (a, b)):
        e.parts = ("add", a, b)
    return e


_PROBE = np.concatenate([np.linspace(-6.0, 6.0, 481), [-0.3333, 0.1234, 2.71828]])


def materialize(conv, e: Expr) -> Tensor:
    """The NN Studio layer an element-wise expression is, found by evaluating it on probe values."""
    from engine.layers.activations import ACTIVATIONS

    if e.made is not None:
        return e.made
    with np.errstate(all="ignore"):
        y = np.asarray(e.fn(_PROBE.copy()), dtype=np.float64)
    if y.shape != _PROBE.shape or not np.all(np.isfinite(y)):
        raise Unsupported(_expr_text(e, "is not finite on ordinary inputs"))
    tol = 1e-6 * np.maximum(1.0, np.abs(y))
    names = {"relu": "ReLU.v1", "leaky_relu": "LeakyReLU.v1", "elu": "ELU.v1", "gelu": "GELU.v1",
             "sigmoid": "Sigmoid.v1", "tanh": "Tanh.v1"}
    cx = NodeCtx.synthetic(conv, e.op, e.name)
    for fn_name, type_id in names.items():
        ref, _ = ACTIVATIONS[fn_name][0](_PROBE.copy())
        if np.all(np.abs(np.asarray(ref, dtype=np.float64) - y) <= tol):
            node = cx.emit(type_id, {"approximate": "tanh"} if type_id == "GELU.v1" else {}, [e.base])
            e.made = e.base.with_(node=node, variant="out", single=True, nn_shape=node.nn_shape)
            return e.made
    # a * x + b: a per-channel affine with one value for every channel
    a = (y[-1] - y[0]) / (_PROBE[-1] - _PROBE[0])
    b = y[0] - a * _PROBE[0]
    if np.all(np.abs(a * _PROBE + b - y) <= tol):
        if abs(a - 1) <= 1e-12 and abs(b) <= 1e-12:
            e.made = e.base
        else:
            e.made = _affine(cx, e.base, np.array([a]), np.array([b]))[0]
        return e.made
    if e.parts is not None:
        # no single layer: the parts it was built from, each a layer (tanh(relu(x)), relu(x) + tanh(x))
        kind, p1, p2 = e.parts
        try:
            if kind == "unary":
                inner = materialize(conv, p1)
                node = cx.emit(p2, {}, [inner])
                e.made = inner.with_(node=node, variant="out", single=True, nn_shape=node.nn_shape)
                return e.made
            left, right = (materialize(conv, p) if isinstance(p, Expr) else p for p in (p1, p2))
            if left.axes == right.axes and left.q is None and right.q is None:
                node = cx.emit("Add.v1", {}, [left, right])
                e.made = left.with_(node=node, variant="out", single=True)
                return e.made
        except Unsupported:
            pass
    exact_gelu = 0.5 * _PROBE * (1 + _erf(_PROBE / np.sqrt(2)))
    if np.all(np.abs(exact_gelu - y) <= tol):
        node = cx.emit("GELU.v1", {"approximate": "none"}, [e.base])
        e.made = e.base.with_(node=node, variant="out", single=True, nn_shape=node.nn_shape)
        return e.made
    silu = _PROBE / (1 + np.exp(-_PROBE))
    if np.all(np.abs(silu - y) <= tol):
        raise Unsupported(_expr_text(e, "is SiLU (x·sigmoid(x)), which has no NN Studio layer yet"))
    raise Unsupported(_expr_text(e, "matches no NN Studio activation layer"))


def _expr_text(e: Expr, what: str) -> str:
    ops = " → ".join(e.ops[-8:])
    return f"the element-wise function written as {ops} {what}"


def _sum_tensors(cx: NodeCtx, ts: list) -> list:
    first = ts[0]
    for t in ts[1:]:
        if t.onnx_shape != first.onnx_shape:
            raise Unsupported(f"adds {' and '.join(fmt_shape(x.onnx_shape) for x in ts)}; broadcasting is not "
                              "supported (NN Studio's Add needs equal shapes)")
        if t.axes != first.axes or (t.q is None) != (first.q is None) or \
                (t.q is not None and not np.array_equal(t.q, first.q)):
            raise Unsupported("adds tensors held in different layouts (one was transposed)")
    joined = _joined_directions(cx, ts, "sum")
    if joined is not None:
        return [joined]
    node = cx.emit("Add.v1", {}, ts)
    return [first.with_(node=node, variant="out", single=True)]


def _sum(cx: NodeCtx):
    ts = [cx.tensor(i) for i in range(len(cx.inputs))]
    if len(ts) == 1:
        return [ts[0]]
    return _sum_tensors(cx, ts)


# ------------------------------------------------------------------ dense
def _dense(cx: NodeCtx, t: Tensor, W: np.ndarray, bias: np.ndarray | None):
    """NN Studio Dense: ``y = x @ W + b`` over the last axis, W (in, out)."""
    if t.axes[-1] != len(t.nn_shape) - 1 or t.q is not None and t.rank > 2:
        raise Unsupported(f"multiplies over an axis of {fmt_shape(t.onnx_shape)} that is not NN Studio's last "
                          "axis")
    k, m = W.shape
    if t.onnx_shape[-1] != k:
        raise Unsupported(f"weight {fmt_shape(W.shape)} does not fit the input {fmt_shape(t.onnx_shape)}")
    if t.q is not None:
        Wn = np.empty_like(W)
        Wn[t.q] = W
        W = Wn
    params = {"W": _f32(W)}
    if bias is not None:
        params["b"] = _f32(bias)
    try:
        config = {"units": int(m), "use_bias": bias is not None}
        if len(t.nn_shape) > 1:
            config["last_axis"] = True      # the same weights at every position (ONNX MatMul on a 3-D tensor)
        node = cx.emit("Dense.v1", config, [t], params=params)
    except Unsupported:
        if t.rank > 2:
            raise Unsupported(f"multiplies a {t.rank}-D input {fmt_shape(t.onnx_shape)}; NN Studio's Dense "
                              "takes flat inputs (batch, features) only") from None
        raise
    return [t.with_(node=node, nn_shape=node.nn_shape, variant="out", single=True, q=None,
                    axes=t.axes[:-1] + (len(node.nn_shape) - 1,))]


def _gemm(cx: NodeCtx):
    t = cx.tensor(0, "A")
    if cx.attr("transA", 0):
        raise Unsupported("transA=1 is not supported (the data must be the left operand, untransposed)")
    if t.rank != 2:
        raise Unsupported(f"expects a 2-D input, got {fmt_shape(t.onnx_shape)}")
    B = cx.const(1, "B (the weights)").astype(np.float64)
    W = B.T if cx.attr("transB", 0) else B
    W = W * float(cx.attr("alpha", 1.0))
    bias = None
    if cx.has(2):
        C = cx.const(2, "C (the bias)").astype(np.float64) * float(cx.attr("beta", 1.0))
        m = W.shape[1]
        if C.size == 1:
            C = np.full(m, C.ravel()[0])
        elif C.shape in ((m,), (1, m)):
            C = C.reshape(m)
        else:
            raise Unsupported(f"C (the bias) of shape {fmt_shape(C.shape)} is not supported (one value per "
                              "output unit, or one for all)")
        bias = C
    return _dense(cx, t, W, bias)


def _matmul(cx: NodeCtx):
    a, b = cx.value(0), cx.value(1)
    if not isinstance(a, Tensor):
        raise Unsupported("the data must be the left operand (x @ W with a constant W)")
    if isinstance(b, Tensor):
        raise Unsupported("multiplying two computed tensors is not supported (no NN Studio layer for it)")
    W = cx.const(1, "the weights").astype(np.float64)
    if W.ndim != 2:
        raise Unsupported(f"weights of shape {fmt_shape(W.shape)} are not supported (2-D only)")
    return _dense(cx, a, W, None)


# ------------------------------------------------------------------ convolution and pooling
def _padding(cx: NodeCtx, spatial, k: int, s: int, d: int, pads_name: str = "pads") -> dict:
    """The layer settings for the node's auto_pad/pads: ``{"padding": "valid"|"same"}`` or
    ``{"padding": "explicit", "pads": [every start, then every end]}`` (ONNX's own order)."""
    from engine.layers.conv import MAX_PAD

    nd = len(spatial)
    auto = cx.attr("auto_pad", "NOTSET")
    if auto == "VALID":
        return {"padding": "valid"}
    if auto == "SAME_UPPER":
        return {"padding": "same"}
    if auto == "SAME_LOWER":
        lower = [L.same_pads(n, k, s, d, lower=True) for n in spatial]
        if all(b == a for b, a in lower):
            return {"padding": "same"}
        pads = [b for b, _ in lower] + [a for _, a in lower]
    else:
        pads = [int(v) for v in (cx.ints(pads_name) or [0] * (2 * nd))]
    if len(pads) != 2 * nd:
        raise Unsupported(f"pads={pads} has {len(pads)} numbers; {2 * nd} expected")
    if all(p == 0 for p in pads):
        return {"padding": "valid"}
    same = [L.same_pads(n, k, s, d) for n in spatial]
    if pads == [b for b, _ in same] + [a for _, a in same]:
        return {"padding": "same"}
    if min(pads) < 0 or max(pads) > MAX_PAD:
        raise Unsupported(f"pads={pads} is not supported (0 to {MAX_PAD} per side)")
    return {"padding": "explicit", "pads": pads}


def _square(cx: NodeCtx, name: str, values, default: int) -> int:
    vals = values if values else [default]
    if len(set(vals)) != 1:
        raise Unsupported(f"{name}={list(vals)} is not supported yet (NN Studio uses the same value on every axis)")
    return int(vals[0])


def _height_one_conv1d(cx: NodeCtx, W: np.ndarray):
    """A 1-D convolution written as a 2-D one over an added height-1 axis (tf2onnx's form of Keras
    ``Conv1D``: Unsqueeze/Transpose to (N, C, 1, L), Conv with a (1, k) kernel, Squeeze) -> (the input
    seen as (N, C, L), the (F, C, k) filters); None when the node is not of that form."""
    if W.ndim != 4 or W.shape[2] != 1 or not cx.has(0) or not isinstance(cx.value(0), Tensor):
        return None
    t = cx.value(0)
    if t.rank != 4 or t.q is not None or t.axes[2] is not None or \
            (t.axes[0], t.axes[1], t.axes[3]) != channels_first_axes(1):
        return None
    pads = cx.ints("pads")
    if cx.attr("auto_pad", "NOTSET") == "NOTSET" and pads is not None and len(pads) == 4 \
            and (pads[0] or pads[2]):
        raise Unsupported(f"pads={pads} pad the added height-1 axis (a 1-D convolution written as 2-D)")
    attrs = dict(cx.attrs)
    for name in ("kernel_shape", "strides", "dilations"):
        v = cx.ints(name)
        if v is not None:
            if len(v) != 2:
                raise Unsupported(f"{name}={v} has {len(v)} numbers; 2 expected")
            attrs[name] = [v[1]]
    if pads is not None and len(pads) == 4:
        attrs["pads"] = [pads[1], pads[3]]
    cx.attrs = attrs
    return t.with_(axes=channels_first_axes(1)), W[:, :, 0, :]


def _conv(cx: NodeCtx):
    W = cx.const(1, "W (the filters)").astype(np.float64)
    h1 = _height_one_conv1d(cx, W)
    if h1 is not None:
        W = h1[1]
    nd = W.ndim - 2
    if nd not in (1, 2):
        raise Unsupported(f"{nd}-D convolution is not supported (1-D and 2-D only)")
    group = cx.attr("group", 1)
    if group != 1:
        raise Unsupported(f"group={group} is not supported yet (grouped or depthwise convolution)")
    t = cx.channels_first(0, nd) if h1 is None else h1[0]
    spatial = t.onnx_shape[2:]
    k = _square(cx, "kernel_shape", cx.ints("kernel_shape") or list(W.shape[2:]), 1)
    if list(W.shape[2:]) != [k] * nd:
        raise Unsupported(f"kernel_shape={list(W.shape[2:])} is not supported yet (square kernels only)")
    s = _square(cx, "strides", cx.ints("strides"), 1)
    d = _square(cx, "dilations", cx.ints("dilations"), 1)
    padding = _padding(cx, spatial, k, s, d)
    if W.shape[1] != t.onnx_shape[1]:
        raise Unsupported(f"W {fmt_shape(W.shape)} expects {W.shape[1]} channels, the input has {t.onnx_shape[1]}")
    params = {"W": _f32(L.conv_from_torch(W))}
    if cx.has(2):
        params["b"] = _f32(cx.const(2, "B (the bias)").reshape(-1))
    node = cx.emit(f"Conv{nd}D.v1", {"filters": int(W.shape[0]), "kernel_size": k, "strides": s,
                                     **padding, "dilation": d, "use_bias": cx.has(2)}, [t], params=params)
    if h1 is not None:
        return [cx.out(node, (BATCH, 1, None, 0))]      # (N, F, 1, L') as the ONNX graph has it
    return [cx.out(node, channels_first_axes(nd))]


def _pool(mode: str):
    def mapper(cx: NodeCtx):
        t = cx.tensor(0)
        nd = t.rank - 2
        if nd not in (1, 2):
            raise Unsupported(f"{nd}-D pooling is not supported (1-D and 2-D only)")
        t = cx.channels_first(0, nd)
        spatial = t.onnx_shape[2:]
        k = _square(cx, "kernel_shape", cx.ints("kernel_shape"), 1)
        s = _square(cx, "strides", cx.ints("strides"), 1)
        d = _square(cx, "dilations", cx.ints("dilations"), 1)
        padding = _padding(cx, spatial, k, s, d)
        options = {"dilation": d, "ceil_mode": bool(cx.attr("ceil_mode", 0))}
        if mode == "avg":
            # set explicitly: NN Studio's default leaves the padding out of the average, ONNX's too
            # (count_include_pad=0), PyTorch exports 1 where its default was used
            options["count_include_pad"] = bool(cx.attr("count_include_pad", 0))
        if s > 32 or k > 32:
            raise Unsupported(f"kernel_shape={[k] * nd}, strides={[s] * nd}: at most 32 is supported")
        base = "MaxPool" if mode == "max" else "AvgPool"
        node = cx.emit(f"{base}{nd}D.v1", {"pool_size": k, "strides": s, **padding, **options}, [t])
        outs = [cx.out(node, channels_first_axes(nd))]
        if len(cx.node.output) > 1:
            outs.append(Missing("the indices output of MaxPool is not available in NN Studio"))
        return outs
    return mapper


def _resize(cx: NodeCtx):
    """Nearest-neighbour up-sampling by a whole factor on height and width (``nn.Upsample``) -> UpSampling2D."""
    from engine.onnx_import.convert import Sym

    t = cx.tensor(0)
    if t.rank != 4:
        raise Unsupported(f"resizing a {t.rank}-D tensor is not supported (images (N, C, H, W) only)")
    mode = cx.attr("mode", "nearest")
    if mode != "nearest":
        raise Unsupported(f"mode={mode!r} is not supported yet (NN Studio's UpSampling2D repeats pixels)")
    shape = t.onnx_shape
    if cx.op == "Upsample" or cx.opset < 11:
        scales = cx.attr("scales")
        if scales is None:
            scales = [float(v) for v in cx.const(1, "scales").ravel()]
    elif cx.has(2) and cx.const(2, "scales").size:
        scales = [float(v) for v in cx.const(2, "scales").ravel()]
    elif cx.has(3):
        v = cx.value(3)
        sizes = list(v.value.ravel()) if isinstance(v, Sym) else [int(x) for x in cx.const(3, "sizes").ravel()]
        if len(sizes) != 4 or sizes[1] != shape[1]:
            raise Unsupported(f"sizes={sizes} is not supported (height and width only)")
        scales = [1.0, 1.0, sizes[2] / shape[2], sizes[3] / shape[3]]
    else:
        raise Unsupported("neither scales nor sizes are given")
    if len(scales) != 4 or scales[0] != 1 or scales[1] != 1 or scales[2] != scales[3] \
            or scales[2] < 1 or not float(scales[2]).is_integer():
        raise Unsupported(f"scales={[float(x) for x in scales]} is not supported yet (the same whole factor on "
                          "height and width)")
    k = int(scales[2])
    if k > 1:
        ctm = cx.attr("coordinate_transformation_mode", "half_pixel")
        nearest = cx.attr("nearest_mode", "round_prefer_floor")
        repeats = (ctm == "asymmetric" and nearest == "floor") or (
            ctm in ("half_pixel", "pytorch_half_pixel") and nearest in ("round_prefer_floor", "round_prefer_ceil"))
        if cx.op != "Upsample" and cx.opset >= 11 and not repeats:
            raise Unsupported(f"coordinate_transformation_mode={ctm!r} with nearest_mode={nearest!r} is not "
                              "supported (it does not repeat every pixel)")
    t = cx.channels_first(0, 2)
    if k == 1:
        return [t]
    node = cx.emit("UpSampling2D.v1", {"size": k}, [t])
    return [cx.out(node, channels_first_axes(2))]


def _expand(cx: NodeCtx):
    """Broadcasting the data: only nearest up-sampling written as Reshape (N, H, 1, W, 1, C) -> Expand ->
    Reshape (N, H*k, W*k, C), as NN Studio's own exporter writes UpSampling2D."""
    t = cx.tensor(0)
    target = [int(v) for v in cx.const(1, "shape").ravel()]
    shape = t.onnx_shape
    if len(target) != t.rank or len(t.nn_shape) != 3 or not t.ordered() or t.rank != 6 \
            or t.axes[2] is not None or t.axes[4] is not None:
        raise Unsupported(f"expanding {fmt_shape(shape)} to {target} is not supported (only nearest up-sampling)")
    k = target[2]
    rest_ok = all(tv in (1, sv) for i, (tv, sv) in enumerate(zip(target, shape)) if i not in (2, 4) and sv != BATCH)
    if target[4] != k or k < 1 or not rest_ok:
        raise Unsupported(f"expanding {fmt_shape(shape)} to {target} is not supported (only nearest up-sampling by "
                          "the same factor on height and width)")
    node = cx.emit("UpSampling2D.v1", {"size": k}, [t])
    h, w, c = t.nn_shape
    up = Tensor(node=node, nn_shape=node.nn_shape, axes=identity_axes(3))
    return [cx.conv.reshape_node(cx, up, (h, k, w, k, c), identity_axes(5))]


def _global_avg(cx: NodeCtx):
    t = cx.tensor(0)
    nd = t.rank - 2
    if nd not in (1, 2):
        raise Unsupported(f"expects (N, C, L) or (N, C, H, W), got {fmt_shape(t.onnx_shape)}")
    t = cx.channels_first(0, nd)
    node = cx.emit("GlobalAvgPool.v1", {}, [t])
    return [cx.out(node, (BATCH, 0, *([None] * nd)))]


def _global_max(cx: NodeCtx):
    """GlobalMaxPool -> the GlobalMaxPool layer."""
    t = cx.tensor(0)
    nd = t.rank - 2
    if nd not in (1, 2):
        raise Unsupported(f"expects (N, C, L) or (N, C, H, W), got {fmt_shape(t.onnx_shape)}")
    t = cx.channels_first(0, nd)
    node = cx.emit("GlobalMaxPool.v1", {}, [t])
    return [cx.out(node, (BATCH, 0, *([None] * nd)))]


def _reduce_mean(cx: NodeCtx):
    from engine.onnx_import.convert import _axes_arg

    t = cx.tensor(0)
    axes = _axes_arg(cx, 1, t.rank) or None
    if axes is None:
        if cx.attr("noop_with_empty_axes", 0):
            return [t]
        axes = list(range(t.rank))
    keep = cx.attr("keepdims", 1)
    nn_axes = {t.axes[a] for a in axes}
    r = len(t.nn_shape)
    if BATCH in nn_axes or t.q is not None or r not in (2, 3) or \
            {a for a in nn_axes if a is not None} != set(range(r - 1)):
        raise Unsupported(f"axes={axes} is not supported (only the mean over every position of an image or "
                          "sequence: a global average pooling)")
    node = cx.emit("GlobalAvgPool.v1", {}, [t])
    new = []
    for i, a in enumerate(t.axes):
        if i in axes:
            if keep:
                new.append(None)
        elif a == BATCH or a is None:
            new.append(a)
        else:
            new.append(0)
    return [cx.out(node, tuple(new))]


# ------------------------------------------------------------------ normalisation
def _batchnorm(cx: NodeCtx):
    t = cx.tensor(0)
    if cx.attr("training_mode", 0):
        raise Unsupported("training_mode=1 is not supported (export the model in evaluation mode)")
    if t.rank >= 3:
        t = cx.channels_first(0, t.rank - 2)
    elif t.axes != identity_axes(1):
        raise Unsupported(f"expects (N, C) or (N, C, ...), got {fmt_shape(t.onnx_shape)} in another layout")
    gamma, beta, mean, var = (cx.const(i, w).astype(np.float64).reshape(-1)
                              for i, w in ((1, "scale"), (2, "B"), (3, "mean"), (4, "var")))
    if t.q is not None:
        perm = np.empty_like(t.q)
        perm[t.q] = np.arange(len(t.q))
        gamma, beta, mean, var = (a[perm] for a in (gamma, beta, mean, var))
    eps = float(cx.attr("epsilon", 1e-5))
    momentum = 1.0 - float(cx.attr("momentum", 0.9))
    node = cx.emit("BatchNorm.v1", {"epsilon": eps, "momentum": min(max(momentum, 0.0), 1.0)}, [t],
                   params={"gamma": _f32(gamma), "beta": _f32(beta)},
                   state={"running_mean": _f32(mean), "running_var": _f32(var)})
    outs = [t.with_(node=node, variant="out", single=True)]
    if len(cx.node.output) > 1:
        outs += [Missing("BatchNormalization's running statistics outputs are not available")] * 2
    return outs


def _layernorm(cx: NodeCtx):
    t = cx.tensor(0)
    axis = cx.attr("axis", -1) % t.rank
    if axis != t.rank - 1 or t.axes[-1] != len(t.nn_shape) - 1 or t.q is not None:
        raise Unsupported(f"axis={cx.attr('axis', -1)} is not supported yet (NN Studio normalises over the "
                          "last axis only)")
    D = t.onnx_shape[-1]
    gamma = cx.const(1, "scale").astype(np.float64)
    beta = cx.opt_const(2, "B")
    beta = np.zeros(D) if beta is None else beta.astype(np.float64)
    try:
        gamma, beta = np.broadcast_to(gamma.reshape(-1) if gamma.size == D else gamma, (D,)), \
            np.broadcast_to(beta.reshape(-1) if beta.size == D else beta, (D,))
    except ValueError:
        raise Unsupported("scale and B must hold one value per feature") from None
    node = cx.emit("LayerNorm.v1", {"epsilon": float(cx.attr("epsilon", 1e-5))}, [t],
                   params={"gamma": _f32(gamma), "beta": _f32(beta)})
    outs = [t.with_(node=node, variant="out", single=True)]
    outs += [Missing("LayerNormalization's mean and inverse deviation outputs are not available")] * \
        (len(cx.node.output) - 1)
    return outs


# ------------------------------------------------------------------ merge
def _concat_zeros(cx: NodeCtx) -> Zeros | None:
    """Zero states joined (tf2onnx's bidirectional initial state: Concat of two (1, N, units) zeros) ->
    zeros again; None unless every input is zeros."""
    vals = [cx.value(i) for i in range(len(cx.inputs)) if cx.has(i)]
    if not vals or not any(isinstance(v, Zeros) for v in vals) or \
            not all(isinstance(v, Zeros) or (isinstance(v, Const) and not np.any(v.value)) for v in vals):
        return None
    dims = [v.dims if isinstance(v, Zeros) else v.value.shape for v in vals]
    if len({len(d) for d in dims}) != 1:
        raise Unsupported("joins zero tensors of different ranks")
    axis = cx.attr("axis", 0) % len(dims[0])
    along = [d[axis] for d in dims]
    out = list(dims[0])
    out[axis] = sum(int(a) for a in along) if all(isinstance(a, (int, np.integer)) for a in along) else None
    return Zeros(tuple(out))


def _concat(cx: NodeCtx):
    z = _concat_zeros(cx)
    if z is not None:
        return [z]
    ts = [cx.tensor(i) for i in range(len(cx.inputs))]
    if len(ts) == 1:
        return [ts[0]]
    first = ts[0]
    axis = cx.attr("axis", 0) % first.rank
    for t in ts[1:]:
        if t.axes != first.axes or t.q is not None or first.q is not None:
            raise Unsupported("joins tensors held in different layouts (one was transposed or flattened "
                              "channels-first)")
    a = first.axes[axis]
    if a == BATCH or a is None:
        raise Unsupported(f"axis={cx.attr('axis')} joins along the batch axis or an axis NN Studio does not have")
    r = len(first.nn_shape)
    if a == r - 1:
        joined = _joined_directions(cx, ts, "concat")
        if joined is not None:
            return [joined]
    node = cx.emit("Concatenate.v1", {"axis": -1 if a == r - 1 else a + 1}, ts)
    return [first.with_(node=node, nn_shape=node.nn_shape, variant="out", single=True)]


# ------------------------------------------------------------------ recurrent
_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
_DEFAULT_ACTS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}
_TYPES = {"RNN": "SimpleRNN.v1", "GRU": "GRU.v1", "LSTM": "LSTM.v1"}


def _zero_or_absent(cx: NodeCtx, i: int, what: str) -> None:
    v = cx.value(i)
    if v is None or isinstance(v, Zeros):
        return
    if isinstance(v, Tensor):
        raise Unsupported(f"{what} is computed from the data; NN Studio starts from a zero state")
    arr = cx.const(i, what)
    if np.any(arr != 0):
        raise Unsupported(f"a non-zero {what} is not supported (NN Studio starts from a zero state)")


def _recurrent(cx: NodeCtx):
    """LSTM/GRU/RNN -> the NN Studio layer; ``direction="reverse"`` -> ReverseSequence, the layer, and (for
    the output sequence) ReverseSequence again; ``"bidirectional"`` -> the layer's Bidirectional option,
    its joined output seen through a Reshape as ONNX's (..., num_directions, ...) axis."""
    op = cx.op
    G = _GATES[op]
    direction = cx.attr("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise Unsupported(f"direction={direction!r} is not supported (forward, reverse or bidirectional)")
    nd = 2 if direction == "bidirectional" else 1
    acts = cx.attr("activations")
    if acts is not None and [a.lower() for a in acts] != [a.lower() for a in _DEFAULT_ACTS[op]] * nd:
        raise Unsupported(f"activations={list(acts)} is not supported (only {_DEFAULT_ACTS[op] * nd})")
    if cx.attr("clip") is not None:
        raise Unsupported(f"clip={cx.attr('clip')} is not supported")
    if op == "LSTM" and cx.attr("input_forget", 0):
        raise Unsupported("input_forget=1 is not supported")
    layout = cx.attr("layout", 0)
    t = cx.tensor(0, "X")
    want = (0, BATCH, 1) if layout == 0 else (BATCH, 0, 1)
    if t.rank == 3 and t.q is None and t.axes == (*want[:2], None) and len(t.nn_shape) == 1:
        # one feature per step (x.view(N, L, 1)): NN Studio's sequence is (L, 1)
        t = cx.conv.reshape_node(cx, t, (t.nn_shape[0], 1), want)
    if t.rank != 3 or t.axes != want or t.q is not None:
        raise Unsupported(f"its input {fmt_shape(t.onnx_shape)} is not a sequence NN Studio holds as "
                          "(batch, length, features)")
    H = int(cx.attr("hidden_size") or 0)
    W = cx.const(1, "W").astype(np.float64)
    R = cx.const(2, "R").astype(np.float64)
    if W.ndim != 3 or W.shape[0] != nd or R.ndim != 3 or R.shape[0] != nd:
        raise Unsupported(f"W {fmt_shape(W.shape)} / R {fmt_shape(R.shape)}: {nd} direction(s) expected for "
                          f"direction={direction!r}")
    if H == 0:
        H = R.shape[-1]
    if W.shape[1] != G * H or R.shape[1:] != (G * H, H):
        raise Unsupported(f"W {fmt_shape(W.shape)} / R {fmt_shape(R.shape)} do not fit hidden_size={H}")
    B = cx.opt_const(3, "B")
    B = np.zeros((nd, 2 * G * H)) if B is None else B.astype(np.float64)
    if B.shape != (nd, 2 * G * H):
        raise Unsupported(f"B {fmt_shape(B.shape)} does not fit hidden_size={H}")
    L_ = t.onnx_shape[t.axes.index(0)]
    if cx.has(4):
        v = cx.value(4)
        if isinstance(v, Tensor) or np.any(cx.const(4, "sequence_lens") != L_):
            raise Unsupported("sequence_lens shorter than the sequence are not supported")
    _zero_or_absent(cx, 5, "initial_h")
    if op == "LSTM":
        _zero_or_absent(cx, 6, "initial_c")
        if cx.has(7) and np.any(cx.const(7, "P (peepholes)") != 0):
            raise Unsupported("peephole weights (P) are not supported")
    reorder = {"RNN": lambda a: a, "GRU": L.gru_from_onnx, "LSTM": L.lstm_from_onnx}[op]
    params = {}
    for d, sfx in enumerate(("", "_reverse")[:nd]):
        params.update({"W_ih" + sfx: _f32(reorder(W[d])), "W_hh" + sfx: _f32(reorder(R[d])),
                       "b_ih" + sfx: _f32(reorder(B[d, :G * H])), "b_hh" + sfx: _f32(reorder(B[d, G * H:]))})
    config = {"units": H, "return_sequences": True}
    if op == "GRU":
        # ONNX's default is 0 (reset gate before the recurrent product); PyTorch exports 1
        config["linear_before_reset"] = bool(cx.attr("linear_before_reset", 0))
    if layout == 0:
        y_axes, h_axes = (0, None, BATCH, 1), (None, BATCH, 0)
    else:
        y_axes, h_axes = (BATCH, 0, None, 1), (BATCH, None, 0)
    if direction == "reverse":
        seq_t, last_t = _reversed_layer(cx, _TYPES[op], config, t, params, (L_, H))
        y, yh = seq_t.with_(axes=y_axes), last_t.with_(axes=h_axes)
    elif direction == "bidirectional":
        node = cx.emit(_TYPES[op], {**config, "bidirectional": True, "merge_mode": "concat"}, [t], params=params)
        seq = Tensor(node=node, nn_shape=(L_, 2 * H), axes=identity_axes(2), variant="seq")
        last = Tensor(node=node, nn_shape=(2 * H,), axes=identity_axes(1), variant="last")
        # the joined (forward, reverse) features seen as ONNX's direction axis; these Reshapes vanish when
        # the exporter's own Transpose/Reshape joins the directions again (the usual case)
        r_seq = cx.emit("Reshape.v1", {"shape": [L_, 2, H]}, [seq])
        r_last = cx.emit("Reshape.v1", {"shape": [2, H]}, [last])
        r_seq.split_of = r_last.split_of = node
        if layout == 0:
            y_axes, h_axes = (0, 1, BATCH, 2), (0, BATCH, 1)
        else:
            y_axes, h_axes = (BATCH, 0, 1, 2), (BATCH, 0, 1)
        y = Tensor(node=r_seq, nn_shape=(L_, 2, H), axes=y_axes)
        yh = Tensor(node=r_last, nn_shape=(2, H), axes=h_axes)
    else:
        node = cx.emit(_TYPES[op], config, [t], params=params)
        y = Tensor(node=node, nn_shape=(L_, H), axes=y_axes, variant="seq")
        yh = Tensor(node=node, nn_shape=(H,), axes=h_axes, variant="last")
    outs = [y, yh]
    if op == "LSTM":
        outs.append(Missing("the LSTM cell state output Y_c is not available in NN Studio"))
    return outs


def _reversed_layer(cx: NodeCtx, type_id: str, config: dict, t: Tensor, params: dict, seq_shape: tuple):
    """A recurrent layer reading ``t`` backwards: ReverseSequence -> the layer (-> ReverseSequence for the
    sequence, back in the original time order).  Returns the (sequence, last state) tensors, batch first."""
    L_, H = seq_shape
    name = cx.name
    rin = NodeCtx.synthetic(cx.conv, cx.op, f"{name}/reverse_input").emit(
        "ReverseSequence.v1", {}, [t])
    node = NodeCtx.synthetic(cx.conv, cx.op, name).emit(
        type_id, config, [Tensor(node=rin, nn_shape=rin.nn_shape, axes=identity_axes(2))], params=params)
    seq = Tensor(node=node, nn_shape=(L_, H), axes=identity_axes(2), variant="seq")
    rout = NodeCtx.synthetic(cx.conv, cx.op, f"{name}/reverse_output").emit("ReverseSequence.v1", {}, [seq])
    return (Tensor(node=rout, nn_shape=(L_, H), axes=identity_axes(2)),
            Tensor(node=node, nn_shape=(H,), axes=identity_axes(1), variant="last"))


def _direction_axis(t: Tensor) -> int | None:
    """The ONNX axis of ``t`` that is a bidirectional layer's direction axis (``None`` if there is none)."""
    if t.node.split_of is None or t.q is not None:
        return None
    d = len(t.node.nn_shape) - 2
    return t.axes.index(d) if d in t.axes else None


def _direction_part(cx: NodeCtx, t: Tensor, axis: int, p: int, keep_axis: bool) -> Tensor:
    """One direction (0 forward, 1 reverse) of a bidirectional layer, selected on ONNX ``axis`` of ``t``:
    a layer of its own with that direction's weights (exact; it shares nothing with the other direction)."""
    r = t.node
    bi = r.split_of
    src = r.inputs[0]
    variant = src.variant
    L_ = bi.inputs[0].nn_shape[0]
    H = bi.config["units"]
    key = ("part", p, variant)
    if key not in r.derived:
        sfx = ("", "_reverse")[p]
        params = {k: bi.params[k + sfx] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
        config = {k: v for k, v in bi.config.items() if k not in ("bidirectional", "merge_mode")}
        config["return_sequences"] = True
        x = bi.inputs[0]
        if p == 0:
            node = NodeCtx.synthetic(cx.conv, bi.op, f"{bi.onnx_name}/forward").emit(bi.type, config, [x],
                                                                                  params=params)
            seq = Tensor(node=node, nn_shape=(L_, H), axes=identity_axes(2), variant="seq")
            last = Tensor(node=node, nn_shape=(H,), axes=identity_axes(1), variant="last")
        else:
            seq, last = _reversed_layer(NodeCtx.synthetic(cx.conv, bi.op, f"{bi.onnx_name}/reverse"), bi.type,
                                        config, x, params, (L_, H))
        out = seq if variant == "seq" else last
        out.node.part = (r, p)
        r.derived[key] = out
    out = r.derived[key]
    d = t.axes[axis]
    if keep_axis:
        axes = tuple(None if i == axis else a for i, a in enumerate(t.axes))
    else:
        axes = tuple(a for i, a in enumerate(t.axes) if i != axis)
    axes = tuple(a - 1 if isinstance(a, int) and a > d else a for a in axes)
    return out.with_(axes=axes, single=True)


def _joined_directions(cx: NodeCtx, ts: list, how: str) -> Tensor | None:
    """``concat``/``sum`` of the forward and reverse part of one bidirectional layer -> that layer
    (its summed form for ``sum``); ``None`` when ``ts`` are not those two parts."""
    if len(ts) != 2 or any(t.node.part is None for t in ts):
        return None
    (r0, p0), (r1, p1) = ts[0].node.part, ts[1].node.part
    if r0 is not r1 or {p0, p1} != {0, 1} or ts[0].axes != ts[1].axes:
        return None
    if how == "concat" and p0 != 0:
        return None          # reverse first: two layers and a Concatenate (exact as well)
    bi = r0.split_of
    variant = r0.inputs[0].variant
    if all(t.variant == "last" for t in ts):
        variant = "last"           # the final states, also when taken from the split sequence
    elif variant != "seq" or any(t.variant == "last" for t in ts):
        return None
    if how == "sum" and variant != r0.inputs[0].variant:
        return None                # (the summed form is made for the split output only)
    H = bi.config["units"]
    L_ = bi.inputs[0].nn_shape[0]
    if how == "concat":
        shape = (L_, 2 * H) if variant == "seq" else (2 * H,)
        return ts[0].with_(node=bi, nn_shape=shape, variant=variant, single=True)
    return _summed_directions(cx, r0, ts[0].axes)


def _summed_directions(cx: NodeCtx, r, axes: tuple) -> Tensor:
    """The forward plus the reverse output of the bidirectional layer behind the split Reshape ``r``:
    the layer with merge_mode "sum" (made once)."""
    bi = r.split_of
    variant = r.inputs[0].variant
    H = bi.config["units"]
    L_ = bi.inputs[0].nn_shape[0]
    if "sum" not in r.derived:
        r.derived["sum"] = NodeCtx.synthetic(cx.conv, bi.op, bi.onnx_name).emit(
            bi.type, {**bi.config, "merge_mode": "sum"}, list(bi.inputs), params=dict(bi.params))
    shape = (L_, H) if variant == "seq" else (H,)
    return Tensor(node=r.derived["sum"], nn_shape=shape, axes=axes, variant=variant)


def _reduce_sum(cx: NodeCtx):
    """ReduceSum: only over the direction axis of a bidirectional recurrent layer (its summed form; NN
    Studio's own exporter writes merge_mode "sum" so)."""
    from engine.onnx_import.convert import _axes_arg

    t = cx.tensor(0)
    axes = _axes_arg(cx, 1, t.rank) or []
    ax = _direction_axis(t)
    if ax is None or [a % t.rank for a in axes] != [ax]:
        raise Unsupported(f"axes={axes} is not supported (only the direction axis of a bidirectional recurrent "
                          "layer)")
    d = t.axes[ax]
    if cx.attr("keepdims", 1):
        new = tuple(None if i == ax else a for i, a in enumerate(t.axes))
    else:
        new = tuple(a for i, a in enumerate(t.axes) if i != ax)
    new = tuple(a - 1 if isinstance(a, int) and a > d else a for a in new)
    return [_summed_directions(cx, t.node, new)]


def _split(cx: NodeCtx):
    """Split: only the direction axis of a bidirectional recurrent layer into its two directions."""
    t = cx.tensor(0)
    axis = cx.attr("axis", 0) % t.rank
    n_out = len(cx.node.output)
    if cx.has(1):
        sizes = [int(v) for v in cx.const(1, "split").ravel()]
    else:
        sizes = cx.ints("split") or [t.onnx_shape[axis] // max(n_out, 1)] * n_out
    if _direction_axis(t) == axis and sizes == [1, 1]:
        return [_direction_part(cx, t, axis, p, keep_axis=True) for p in (0, 1)]
    raise Unsupported(f"splitting {fmt_shape(t.onnx_shape)} on axis {axis} into {sizes} is not supported (only the "
                      "two directions of a bidirectional recurrent layer)")


def _bidirectional_step_error(t: Tensor) -> None:
    n = t.node
    while n.base == "Reshape" and n.split_of is None and n.inputs:
        n = n.inputs[0].node
    if n.split_of is not None:
        raise Unsupported("selecting one step of a bidirectional layer's output sequence is not supported: at the "
                          "last step its reverse direction has read one element only, which no NN Studio layer "
                          "gives (use the last hidden state, e.g. PyTorch's h_n, instead)")


def _gather(cx: NodeCtx):
    data, idx = cx.value(0), cx.value(1)
    if isinstance(data, Const) and isinstance(idx, Tensor):
        return _embedding(cx, data.value, idx)
    t = cx.tensor(0)
    axis = cx.attr("axis", 0) % t.rank
    ind = cx.const(1, "indices")
    if ind.ndim != 0:
        raise Unsupported("selecting several elements is not supported (only one step of a recurrent output)")
    return [_gather_one(cx, t, axis, int(ind))]


def _gather_one(cx: NodeCtx, t: Tensor, axis: int, i: int) -> Tensor:
    """Element ``i`` of ONNX ``axis`` of ``t``, the axis dropped."""
    a = t.axes[axis]
    size = t.onnx_shape[axis]
    n = t.node
    if n.base == "Concatenate" and isinstance(a, int) and t.q is None and -size <= i < size:
        # h_n of stacked bidirectional layers is the Concat of each layer's (2, N, H): pick from the right one
        cat = n.config.get("axis", -1)
        if (len(t.nn_shape) - 1 if cat == -1 else cat - 1) == a:
            off, i = 0, i % size
            for src in n.inputs:
                if off <= i < off + src.nn_shape[a]:
                    return _gather_one(cx, src.with_(axes=t.axes), axis, i - off)
                off += src.nn_shape[a]
    if _direction_axis(t) == axis and -2 <= i <= 1:
        return _direction_part(cx, t, axis, i % 2, keep_axis=False)
    if a is None and i in (0, -1):
        return t.with_(axes=t.axes[:axis] + t.axes[axis + 1:])
    if (t.variant == "seq" and a == 0 and i in (-1, size - 1)):
        axes = tuple(x - 1 if isinstance(x, int) and x > 0 else x
                     for j, x in enumerate(t.axes) if j != axis)
        return t.with_(variant="last", nn_shape=t.nn_shape[1:], axes=axes)
    _bidirectional_step_error(t)
    raise Unsupported(f"selecting index {i} on axis {axis} of {fmt_shape(t.onnx_shape)} is not supported (only "
                      "the last step of a recurrent layer's output sequence)")


def _slice_args(cx: NodeCtx):
    """``(starts, ends, axes, steps)`` of a Slice node (attributes before opset 10, inputs since);
    ``axes``/``steps`` are ``None`` when not given."""
    if cx.opset < 10:
        return cx.ints("starts"), cx.ints("ends"), cx.ints("axes"), None
    starts = [int(x) for x in cx.const(1, "starts").ravel()]
    ends = [int(x) for x in cx.const(2, "ends").ravel()]
    axes = [int(x) for x in cx.const(3, "axes").ravel()] if cx.has(3) else None
    steps = [int(x) for x in cx.const(4, "steps").ravel()] if cx.has(4) else None
    return starts, ends, axes, steps


def _slice(cx: NodeCtx):
    """Slicing the data: a no-op, or the last step of a recurrent layer's output sequence (``y[:, -1:]``)."""
    if isinstance(cx.value(0), Zeros):
        return [_slice_zeros(cx, cx.value(0))]
    t = cx.tensor(0)
    starts, ends, axes, steps = _slice_args(cx)
    axes = [a % t.rank for a in (axes if axes is not None else range(len(starts)))]
    steps = steps or [1] * len(starts)
    shape = t.onnx_shape
    out = t
    for s0, e0, ax, st in zip(starts, ends, axes, steps):
        a = t.axes[ax]
        if a == BATCH:
            if (s0, st) == (0, 1) and e0 >= 2 ** 31 - 1:
                continue
            raise Unsupported("slicing the batch axis is not supported")
        n = shape[ax]
        kept = range(n)[slice(s0, e0, st)]
        if list(kept) == list(range(n)):
            continue
        if a == 0 and n > 1 and list(kept) == list(range(n))[::-1]:
            # x[:, ::-1]: the steps of a sequence in reverse order (NN Studio's exporter writes ReverseSequence so)
            node = cx.emit("ReverseSequence.v1", {}, [out])
            out = out.with_(node=node, variant="out", single=True)
            continue
        if t.variant == "seq" and a == 0 and list(kept) == [n - 1] and out is t:
            axes_new = tuple(None if j == ax else (x - 1 if isinstance(x, int) and x > 0 else x)
                             for j, x in enumerate(t.axes))
            out = t.with_(variant="last", nn_shape=t.nn_shape[1:], axes=axes_new)
            continue
        if out is t and _direction_axis(t) == ax and len(kept) == 1:
            # y[:, 1:2] of ONNX's (L, 2, N, H): one direction (tf2onnx's Keras Bidirectional)
            out = _direction_part(cx, t, ax, kept[0], keep_axis=True)
            continue
        last = _reversed_layer_last(t)
        if last is not None and out is t and a == 0 and list(kept) == [0]:
            # step 0 of a reverse direction's sequence (back in time order): its final state
            axes_new = tuple(None if j == ax else (x - 1 if isinstance(x, int) and x > 0 else x)
                             for j, x in enumerate(t.axes))
            out = last.with_(axes=axes_new, single=True)
            continue
        _bidirectional_step_error(t)
        raise Unsupported(f"selecting {len(kept)} of {n} positions on axis {ax} of {fmt_shape(shape)} is not "
                          "supported (only the last step of a recurrent layer's output sequence)")
    return [out]


def _reversed_layer_last(t: Tensor) -> Tensor | None:
    """The final state of the reverse direction whose sequence (ReverseSequence back to time order,
    :func:`_reversed_layer`) ``t`` is; None if ``t`` is not such a sequence."""
    n = t.node
    if n.base != "ReverseSequence" or n.part is None or not n.inputs or n.inputs[0].variant != "seq":
        return None
    layer = n.inputs[0].node
    layer.part = n.part
    return n.derived.setdefault("last", Tensor(node=layer, nn_shape=(layer.config["units"],),
                                               axes=identity_axes(1), variant="last"))


def _slice_zeros(cx: NodeCtx, z: Zeros) -> Zeros:
    """A slice of a zero state (a stacked recurrent layer's share of ``initial_h``): zeros again."""
    dims = list(z.dims)
    starts, ends, axes, steps = _slice_args(cx)
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps or [1] * len(starts)
    for s0, e0, ax, st in zip(starts, ends, axes, steps):
        ax %= len(dims)
        if isinstance(dims[ax], (int, np.integer)):
            dims[ax] = len(range(int(dims[ax]))[slice(s0, e0, st)])
        else:
            dims[ax] = None
    return Zeros(tuple(dims))


def _reverse_sequence(cx: NodeCtx):
    """ReverseSequence with every sequence at its full length -> the ReverseSequence layer."""
    t = cx.tensor(0)
    time_axis, batch_axis = cx.attr("time_axis", 0) % t.rank, cx.attr("batch_axis", 1) % t.rank
    if t.axes[batch_axis] != BATCH or t.axes[time_axis] != 0 or t.q is not None:
        raise Unsupported(f"time_axis={cx.attr('time_axis', 0)} is not the sequence axis NN Studio reverses "
                          f"(the first axis of each sample) in {fmt_shape(t.onnx_shape)}")
    v = cx.value(1)
    if isinstance(v, Tensor) or np.any(cx.const(1, "sequence_lens") != t.onnx_shape[time_axis]):
        raise Unsupported("sequence_lens shorter than the sequence are not supported")
    node = cx.emit("ReverseSequence.v1", {}, [t])
    return [t.with_(node=node, variant="out", single=True)]


def _pad(cx: NodeCtx):
    t = cx.tensor(0)
    pads = cx.ints("pads") if cx.opset < 11 else (
        [int(x) for x in cx.const(1, "pads").ravel()] if cx.has(1) else None)
    if not pads or all(p == 0 for p in pads):
        return [t]
    raise Unsupported(f"pads={pads} is not supported yet (padding as a separate operator)")


def _embedding(cx: NodeCtx, table: np.ndarray, ids: Tensor):
    if table.ndim != 2 or cx.attr("axis", 0) != 0:
        raise Unsupported("only a lookup in a 2-D table along axis 0 (an embedding) is supported")
    if not ids.ordered() or len(ids.nn_shape) != 1:
        raise Unsupported(f"token ids of shape {fmt_shape(ids.onnx_shape)} are not supported (batch, length)")
    V, D = table.shape
    node = cx.emit("Embedding.v1", {"vocab_size": int(V), "dim": int(D)}, [ids], params={"W": _f32(table)})
    return [Tensor(node=node, nn_shape=node.nn_shape, axes=identity_axes(2))]


def _dropout(cx: NodeCtx):
    t = cx.tensor(0)
    if cx.has(2):
        v = cx.value(2)
        if isinstance(v, Tensor) or bool(np.asarray(cx.const(2, "training_mode")).ravel()[0]):
            raise Unsupported("training_mode=true is not supported (export the model in evaluation mode)")
    ratio = cx.attr("ratio", 0.5)
    if cx.has(1):
        ratio = float(np.asarray(cx.const(1, "ratio")).ravel()[0])
    outs = []
    if ratio > 0:
        node = cx.emit("Dropout.v1", {"rate": float(ratio)}, [t])
        outs.append(t.with_(node=node, variant="out", single=True))
    else:
        outs.append(t)
    if len(cx.node.output) > 1:
        outs.append(Missing("the dropout mask output is not available in NN Studio"))
    return outs


def _zeros_view(fn):
    """A layout operator on a batch-dependent zero tensor (tf2onnx's LSTM initial state: Expand of a
    zero to (N, units), then Unsqueeze to (1, N, units)) -> zeros of the new shape; else ``fn``."""
    def mapper(cx: NodeCtx):
        z = cx.value(0)
        if not isinstance(z, Zeros):
            return fn(cx)
        from engine.onnx_import.convert import _axes_arg

        dims = list(z.dims)
        if cx.op == "Unsqueeze":
            axes = cx.ints("axes")
            if axes is None:
                axes = [int(x) for x in cx.const(1, "axes").ravel()]
            r = len(dims) + len(axes)
            for a in sorted(x % r for x in axes):
                dims.insert(a, 1)
        elif cx.op == "Squeeze":
            axes = _axes_arg(cx, 1, len(dims))
            if axes is None:
                axes = [i for i, d in enumerate(dims) if d == 1]
            dims = [d for i, d in enumerate(dims) if i not in axes]
        elif cx.op == "Transpose":
            perm = cx.ints("perm") or list(range(len(dims)))[::-1]
            if sorted(perm) != list(range(len(dims))):
                raise Unsupported(f"perm={perm} is not a permutation of {len(dims)} axes")
            dims = [dims[p] for p in perm]
        return [Zeros(tuple(dims))]
    return mapper


#: operators that only change how a value is seen (no NN Studio node of their own)
LAYOUT_OPS = {
    "Identity": _zeros_view(_identity), "Cast": _zeros_view(_cast), "Transpose": _zeros_view(_transpose),
    "Squeeze": _zeros_view(_squeeze), "Unsqueeze": _zeros_view(_unsqueeze), "Reshape": _reshape,
    "Flatten": _flatten,
}

#: ONNX operator -> mapper
OPS = {
    "Relu": _activation("ReLU.v1"), "Sigmoid": _activation("Sigmoid.v1"), "Tanh": _activation("Tanh.v1"),
    "LeakyRelu": _leaky_relu, "Elu": _elu, "Gelu": _gelu, "Softmax": _softmax,
    "Add": _binary, "Sub": _binary, "Mul": _binary, "Div": _binary, "Sum": _sum,
    "Gemm": _gemm, "MatMul": _matmul,
    "Conv": _conv, "MaxPool": _pool("max"), "AveragePool": _pool("avg"),
    "GlobalAveragePool": _global_avg, "GlobalMaxPool": _global_max, "ReduceMean": _reduce_mean, "Resize": _resize, "Upsample": _resize,
    "Expand": _expand,
    "BatchNormalization": _batchnorm, "LayerNormalization": _layernorm,
    "Concat": _concat,
    "LSTM": _recurrent, "GRU": _recurrent, "RNN": _recurrent,
    "ReduceSum": _reduce_sum, "ReverseSequence": _reverse_sequence, "Gather": _gather, "Slice": _slice, "Split": _split, "Pad": _pad, "Dropout": _dropout,
    "Erf": lambda cx: _unary_expr(cx), "Exp": lambda cx: _unary_expr(cx), "Neg": lambda cx: _unary_expr(cx),
    "Pow": _binary,
}


def _unary_expr(cx: NodeCtx):
    v = cx.value(0)
    fn = _UNARY_FN[cx.op]
    if isinstance(v, Expr):
        return [_expr(cx, v.base, lambda x, f=v.fn: fn(f(x)), v.ops)]
    t = cx.tensor(0)
    return [_expr(cx, t, fn)]
