"""The ONNX graph walk: values, layouts, constant folding, the NN Studio nodes being built.

Values (what an ONNX tensor name stands for while walking the graph):

* :class:`Const` -- known numbers (initializers, ``Constant``, anything folded from them);
* :class:`Sym` -- an int64 shape vector (or scalar) whose entries may be the batch size ``"N"``
  (or unknown, ``None``): ``Shape(x)`` and what exporters compute from it;
* :class:`Zeros` -- a zero tensor whose shape depends on the batch size (``ConstantOfShape``):
  the initial state exporters give recurrent layers;
* :class:`Tensor` -- the output of an NN Studio node seen through a layout: ``axes[i]`` says what
  ONNX axis ``i`` is: ``"N"`` the batch axis, ``k`` axis ``k`` of NN Studio's per-sample tensor,
  ``None`` an axis of size 1 that NN Studio does not have.  ``q`` (flat tensors only) is a
  permutation of the features: ONNX feature ``j`` is NN Studio feature ``q[j]`` (a channels-first
  ``Flatten`` of a channels-last tensor);
* :class:`Missing` -- an output NN Studio cannot produce (an LSTM's cell state, a pool's indices):
  an error only when something uses it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.onnx_import import MAX_FOLDED_VALUES, MAX_LISTED_PROBLEMS, ImportResult, OnnxImportError

BATCH = "N"
_ID_BAD = re.compile(r"[^A-Za-z0-9_-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Unsupported(Exception):
    """Raised by a mapper: the part of the node NN Studio cannot express (no operator or node name)."""


class _Poisoned(Exception):
    """An input comes from a node that already failed: skip this node without a second message."""


# ------------------------------------------------------------------------ values
@dataclass
class Const:
    value: np.ndarray


@dataclass
class Sym:
    value: np.ndarray          # dtype object: ints, "N" (the batch size) or None (unknown)


@dataclass
class Zeros:
    dims: tuple


@dataclass
class Missing:
    reason: str


@dataclass
class Poison:
    pass


@dataclass(eq=False)
class Expr:
    """An element-wise function of one tensor built from several ONNX nodes (an activation written
    out, e.g. the tanh GELU as Mul/Add/Tanh); identified by probing when something else uses it."""

    base: Tensor
    fn: Any                      # float64 array -> float64 array
    op: str                      # the last ONNX node of the expression (messages)
    name: str
    ops: tuple = ()
    made: Tensor | None = None
    #: how to build it from parts when the whole matches no layer: ("unary", inner Expr, layer type)
    #: or ("add", left, right) with Expr/Tensor parts
    parts: tuple | None = None


@dataclass(eq=False)
class BNode:
    """An NN Studio node being built."""

    type: str
    config: dict
    inputs: list            # of Tensor
    op: str                 # the ONNX operator and node name it came from (messages, display name)
    onnx_name: str
    params: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    nn_shape: tuple = ()
    uses: int = 0
    variants: set = field(default_factory=set)
    fused_name: str = ""     # the ONNX name of an activation merged into this layer
    #: a Reshape that shows a bidirectional recurrent layer's joined output as (..., 2, units), ONNX's
    #: direction axis: the recurrent node (so that selecting one direction can be mapped)
    split_of: BNode | None = None
    #: one direction of a bidirectional layer, built on its own: (the split Reshape, 0 forward / 1 reverse)
    part: tuple | None = None
    #: nodes made from this one on demand (one direction, or the summed form), keyed by what they are
    derived: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.type.split(".")[0]


@dataclass
class Tensor:
    node: BNode
    nn_shape: tuple
    axes: tuple
    q: np.ndarray | None = None
    variant: str = "out"     # recurrent layers: "seq" (every step) or "last" (the last state)
    single: bool = True      # every ONNX value from the node to here had one consumer

    @property
    def rank(self) -> int:
        return len(self.axes)

    @property
    def onnx_shape(self) -> tuple:
        return tuple(BATCH if a == BATCH else 1 if a is None else self.nn_shape[a] for a in self.axes)

    @property
    def batch_axis(self) -> int:
        return self.axes.index(BATCH)

    def ordered(self) -> bool:
        """ONNX holds the values in NN Studio's order (batch first, real axes in order, no q)."""
        real = [a for a in self.axes[1:] if a is not None]
        return self.axes[0] == BATCH and self.q is None and real == list(range(len(self.nn_shape)))

    def with_(self, **kw) -> Tensor:
        d = dict(node=self.node, nn_shape=self.nn_shape, axes=self.axes, q=self.q, variant=self.variant,
                 single=self.single)
        d.update(kw)
        return Tensor(**d)


def identity_axes(n: int) -> tuple:
    return (BATCH, *range(n))


def channels_first_axes(nd: int) -> tuple:
    """(N, C, spatial...) over NN Studio's (spatial..., C)."""
    return (BATCH, nd, *range(nd))


def fmt_shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


# ------------------------------------------------------------------ node context
class NodeCtx:
    """What a mapper sees of one ONNX node."""

    def __init__(self, conv: Converter, node, inputs: list, attrs: dict):
        self.conv = conv
        self.node = node
        self.op = node.op_type
        self.name = node.name or (node.output[0] if node.output else node.op_type)
        self.inputs = inputs
        self.input_names = list(node.input)
        self.attrs = attrs
        self.opset = conv.opset

    # --- attributes
    def attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def ints(self, name: str, default=None):
        v = self.attrs.get(name, default)
        return None if v is None else [int(x) for x in v]

    # --- inputs
    def has(self, i: int) -> bool:
        return i < len(self.inputs) and self.inputs[i] is not None

    def value(self, i: int):
        return self.inputs[i] if self.has(i) else None

    def tensor(self, i: int, what: str = "") -> Tensor:
        v = self.value(i)
        if isinstance(v, Tensor):
            return v
        if isinstance(v, (Const, Sym, Zeros)):
            raise Unsupported(f"{what or 'input ' + str(i + 1)} is a constant; NN Studio layers work on "
                              "the data flowing from the model's input")
        raise Unsupported(f"input {i + 1} is missing")

    def const(self, i: int, what: str) -> np.ndarray:
        v = self.value(i)
        if isinstance(v, Const):
            return v.value
        if isinstance(v, Zeros):
            raise Unsupported(f"{what} depends on the batch size")
        if v is None:
            raise Unsupported(f"{what} is missing")
        raise Unsupported(f"{what} must be a constant (an initializer), not computed from the input")

    @classmethod
    def synthetic(cls, conv: Converter, op: str, name: str) -> NodeCtx:
        """A context for nodes the importer adds on its own behalf (named after ``op`` ``name``)."""
        cx = cls.__new__(cls)
        cx.conv, cx.node, cx.op, cx.name = conv, None, op, name
        cx.inputs, cx.input_names, cx.attrs, cx.opset = [], [], {}, conv.opset
        return cx

    def opt_const(self, i: int, what: str):
        return self.const(i, what) if self.has(i) else None

    def uses(self, i: int) -> int:
        """How many nodes (and graph outputs) read input ``i`` (2 when the importer made the value)."""
        if i >= len(self.input_names):
            return 2
        return self.conv.n_uses.get(self.input_names[i], 0)

    # --- building
    def emit(self, type_id: str, config: dict, inputs: list, params=None, state=None,
             nn_shape: tuple | None = None) -> BNode:
        return self.conv.emit(self, type_id, config, inputs, params or {}, state or {}, nn_shape)

    def out(self, node: BNode, axes: tuple, nn_shape: tuple | None = None, **kw) -> Tensor:
        return Tensor(node=node, nn_shape=node.nn_shape if nn_shape is None else nn_shape, axes=axes, **kw)

    def channels_first(self, i: int, nd: int) -> Tensor:
        """Input ``i`` as (N, C, spatial...) over a channels-last NN Studio tensor."""
        t = self.tensor(i)
        if t.rank != nd + 2:
            raise Unsupported(f"expects a {nd + 2}-D input (N, C, {'L' if nd == 1 else 'H, W'}), got "
                              f"{fmt_shape(t.onnx_shape)}")
        want = channels_first_axes(nd)
        if t.axes == want and t.q is None:
            return t
        shape = t.onnx_shape
        if t.ordered() and shape[1] == 1:
            # one channel: (N, 1, H, W) and (N, H, W, 1) hold the values in the same order
            return self.conv.reshape_node(self, t, (*shape[2:], 1), want)
        raise Unsupported(f"its input {fmt_shape(shape)} is not a channels-first image or sequence that "
                          "NN Studio can hold channels-last (it was transposed or reshaped in a way "
                          "NN Studio has no layer for)")


# -------------------------------------------------------------------- folding
def _is_sym(a: np.ndarray) -> bool:
    return a.dtype == object


def _as_value(a):
    if not isinstance(a, np.ndarray):
        a = np.array(a, dtype=object) if a is None or isinstance(a, str) else np.asarray(a)
    if _is_sym(a):
        if all(isinstance(x, (int, np.integer)) for x in a.ravel()):
            return Const(np.asarray(a.tolist(), dtype=np.int64).reshape(a.shape))
        return Sym(a)
    if a.size > MAX_FOLDED_VALUES:
        raise Unsupported(f"computes a constant of {a.size} values; at most {MAX_FOLDED_VALUES} are folded")
    return Const(a)


def _sym_binary(fn):
    def op(x, y):
        if isinstance(x, (int, np.integer)) and isinstance(y, (int, np.integer)):
            return int(fn(int(x), int(y)))
        return None
    return np.frompyfunc(op, 2, 1)


def _trunc_div(a, b):
    if b == 0:
        raise Unsupported("divides by zero while computing a shape")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


_SYM_OPS = {"Add": _sym_binary(lambda a, b: a + b), "Sub": _sym_binary(lambda a, b: a - b),
            "Mul": _sym_binary(lambda a, b: a * b), "Div": _sym_binary(_trunc_div),
            "Max": _sym_binary(max), "Min": _sym_binary(min)}


def _np_binary(op, a, b):
    if a.dtype.kind in "iu" and b.dtype.kind in "iu" and op == "Div":
        return np.trunc(a / np.where(b == 0, 1, b)).astype(np.result_type(a, b))
    fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Pow": np.power,
          "Max": np.maximum, "Min": np.minimum, "Equal": np.equal, "Less": np.less, "Greater": np.greater,
          "LessOrEqual": np.less_equal, "GreaterOrEqual": np.greater_equal, "And": np.logical_and,
          "Or": np.logical_or, "Mod": np.fmod}[op]
    with np.errstate(all="ignore"):
        out = fn(a, b)
    if op == "Pow":
        out = out.astype(a.dtype)
    return np.asarray(out)


_UNARY = {"Neg": np.negative, "Sqrt": np.sqrt, "Abs": np.abs, "Floor": np.floor, "Ceil": np.ceil,
          "Not": np.logical_not, "Exp": np.exp, "Log": np.log, "Reciprocal": np.reciprocal,
          "Relu": lambda x: np.maximum(x, 0), "Tanh": np.tanh, "Sigmoid": lambda x: 1 / (1 + np.exp(-x))}
FOLDABLE = {"Identity", "Cast", "Shape", "Size", "Gather", "Unsqueeze", "Squeeze", "Concat", "Reshape",
            "Flatten", "Transpose", "Slice", "ConstantOfShape", "Expand", "Range", "Where",
            *_SYM_OPS, "Pow", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Mod",
            *_UNARY}


def _check_broadcast(*arrays) -> None:
    """Refuse element-wise folding whose broadcast result would exceed the folding bound."""
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise Unsupported("its constant inputs do not broadcast against each other") from None
    if math.prod(shape) > MAX_FOLDED_VALUES:
        raise Unsupported(f"computes a constant of shape {tuple(shape)}; at most {MAX_FOLDED_VALUES} values "
                          "are folded")


def _axes_arg(cx: NodeCtx, i: int, rank: int):
    """Axes from input ``i`` (opset >= 13) or the ``axes`` attribute, normalised for ``rank``."""
    axes = cx.ints("axes")
    if axes is None and cx.has(i):
        axes = [int(x) for x in cx.const(i, "axes").ravel()]
    if axes is None:
        return None
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise Unsupported(f"axes={axes} is out of range for a {rank}-D input")
        out.append(a % rank)
    return out


def _np_dtype(to: int):
    from onnx import helper

    return helper.tensor_dtype_to_np_dtype(int(to))


def _reshape_target(shape_in, target, allowzero: int):
    """ONNX Reshape semantics: 0 copies the input's size (unless allowzero), one -1 is inferred."""
    out = []
    for i, t in enumerate(target):
        if t == 0 and not allowzero:
            if i >= len(shape_in):
                raise Unsupported(f"shape={list(target)} copies axis {i}, which the input does not have")
            out.append(shape_in[i])
        else:
            out.append(t)
    return out


def fold(cx: NodeCtx, vals: list):
    """Compute a node whose inputs are all constants (or shape vectors); -> list of values."""
    op = cx.op
    arr = [None if v is None else v.value if isinstance(v, (Const, Sym)) else v for v in vals]
    a0 = arr[0] if arr else None
    if op == "Identity":
        return [vals[0]]
    if op == "Cast":
        if _is_sym(a0):
            return [Sym(a0)]
        return [_as_value(np.asarray(a0).astype(_np_dtype(cx.attr("to"))))]
    if op == "Shape":
        shape = np.asarray(a0).shape
        start, end = cx.attr("start", 0), cx.attr("end", None)
        return [Const(np.asarray(shape[slice(start, end)], dtype=np.int64))]
    if op == "Size":
        return [Const(np.asarray(np.asarray(a0).size, dtype=np.int64))]
    if op == "Gather":
        axis = cx.attr("axis", 0)
        idx = np.asarray(arr[1]).astype(np.int64)
        n = a0.shape[axis]
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise Unsupported(f"indices {idx.ravel().tolist()[:8]} are out of range for an axis of size {n}")
        return [_as_value(np.take(a0, np.where(idx < 0, idx + n, idx), axis=axis))]
    if op == "Unsqueeze":
        axes = cx.ints("axes")
        if axes is None:
            axes = [int(x) for x in np.asarray(arr[1]).ravel()]
        r = a0.ndim + len(axes)
        out = a0
        for a in sorted(x % r for x in axes):
            out = np.expand_dims(out, a)
        return [_as_value(out)]
    if op == "Squeeze":
        axes = _axes_arg(cx, 1, a0.ndim)
        return [_as_value(np.squeeze(a0, axis=None if axes is None else tuple(axes)))]
    if op == "Concat":
        parts = [np.asarray(a) for a in arr if a is not None]
        if any(_is_sym(p) for p in parts):
            parts = [p.astype(object) for p in parts]
        return [_as_value(np.concatenate(parts, axis=cx.attr("axis", 0)))]
    if op == "Reshape":
        target = _reshape_target(a0.shape, [int(x) for x in np.asarray(arr[1]).ravel()], cx.attr("allowzero", 0))
        return [_as_value(np.reshape(a0, target))]
    if op == "Flatten":
        axis = cx.attr("axis", 1) % max(a0.ndim, 1) if a0.ndim else 0
        return [_as_value(a0.reshape(int(np.prod(a0.shape[:axis])), -1))]
    if op == "Transpose":
        perm = cx.ints("perm")
        return [_as_value(np.transpose(a0, perm))]
    if op == "Slice":
        if cx.opset < 10:
            starts, ends, axes, steps = cx.ints("starts"), cx.ints("ends"), cx.ints("axes"), None
        else:
            starts = [int(x) for x in np.asarray(arr[1]).ravel()]
            ends = [int(x) for x in np.asarray(arr[2]).ravel()]
            axes = [int(x) for x in np.asarray(arr[3]).ravel()] if len(arr) > 3 and arr[3] is not None else None
            steps = [int(x) for x in np.asarray(arr[4]).ravel()] if len(arr) > 4 and arr[4] is not None else None
        axes = axes if axes is not None else list(range(len(starts)))
        steps = steps or [1] * len(starts)
        sl = [slice(None)] * a0.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps):
            sl[ax % a0.ndim] = slice(s, e, st)
        return [_as_value(a0[tuple(sl)])]
    if op == "ConstantOfShape":
        value = cx.attr("value")
        fill = np.zeros(1, dtype=np.float32) if value is None else np.asarray(value).ravel()
        dims = list(np.asarray(a0).ravel())
        if any(not isinstance(d, (int, np.integer)) for d in dims):
            if np.all(fill == 0):
                return [Zeros(tuple(dims))]
            raise Unsupported("fills a tensor whose shape depends on the batch size with a non-zero value")
        n = int(np.prod(dims)) if dims else 1
        if n > MAX_FOLDED_VALUES:
            raise Unsupported(f"makes a constant of {n} values; at most {MAX_FOLDED_VALUES} are folded")
        return [Const(np.full([int(d) for d in dims], fill[0], dtype=fill.dtype))]
    if op == "Expand":
        dims = list(np.asarray(arr[1]).ravel())
        if any(not isinstance(d, (int, np.integer)) for d in dims):
            if not _is_sym(a0) and np.all(np.asarray(a0) == 0):
                return [Zeros(tuple(dims))]
            raise Unsupported("expands a constant to a shape that depends on the batch size")
        shape = np.broadcast_shapes(a0.shape, tuple(int(d) for d in dims))
        if int(np.prod(shape)) > MAX_FOLDED_VALUES:
            raise Unsupported(f"makes a constant of shape {shape}; at most {MAX_FOLDED_VALUES} values are folded")
        return [_as_value(np.array(np.broadcast_to(a0, shape)))]
    if op == "Range":
        start, limit, delta = (np.asarray(a).item() for a in arr[:3])
        if delta == 0:
            raise Unsupported("delta=0 never ends")
        n = max(int(math.ceil((limit - start) / delta)), 0)
        if n > MAX_FOLDED_VALUES:
            raise Unsupported(f"makes a range of {n} values; at most {MAX_FOLDED_VALUES} are folded")
        return [Const(np.arange(start, limit, delta, dtype=np.asarray(arr[0]).dtype))]
    if op == "Where" or op not in _UNARY and len(arr) >= 2:
        _check_broadcast(*(np.asarray(a) for a in arr if a is not None))
    if op == "Where":
        c, x, y = (np.asarray(a) for a in arr[:3])
        if _is_sym(x) or _is_sym(y):
            return [_as_value(np.where(c.astype(bool), x.astype(object), y.astype(object)))]
        return [_as_value(np.where(c.astype(bool), x, y))]
    if op in _UNARY:
        if _is_sym(a0):
            raise Unsupported("computes with the batch size")
        with np.errstate(all="ignore"):
            return [_as_value(np.asarray(_UNARY[op](a0)).astype(a0.dtype))]
    # binary elementwise
    a, b = np.asarray(arr[0]), np.asarray(arr[1])
    if _is_sym(a) or _is_sym(b):
        if op not in _SYM_OPS:
            raise Unsupported("computes with the batch size")
        return [_as_value(np.asarray(_SYM_OPS[op](a.astype(object), b.astype(object)), dtype=object))]
    out = _np_binary(op, a, b)
    if op in ("Add", "Sub", "Mul", "Div", "Max", "Min", "Mod") and out.dtype != np.result_type(a, b):
        out = out.astype(np.result_type(a, b))
    return [_as_value(out)]


# ------------------------------------------------------------------ attributes
def _no_layer_text(op: str) -> str:
    """The problem text for an operator no mapper handles (with what to do, where that is known)."""
    if op == "Loop":
        return ("there is no NN Studio layer for Loop: a loop in the graph is usually a recurrent layer "
                "the exporter did not fuse into one ONNX LSTM/GRU/RNN operator (tf2onnx writes Keras "
                "3's GRU this way, with reset_after true or false); use an LSTM in Keras (tf2onnx writes "
                "it as one LSTM operator), or export the GRU from PyTorch")
    return f"there is no NN Studio layer for {op}"


def parse_attrs(node) -> dict:
    from onnx import AttributeProto, helper, numpy_helper

    out = {}
    for a in node.attribute:
        if a.type == AttributeProto.TENSOR:
            out[a.name] = numpy_helper.to_array(a.t)
        elif a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS, AttributeProto.SPARSE_TENSOR,
                        AttributeProto.TENSORS, AttributeProto.SPARSE_TENSORS, AttributeProto.TYPE_PROTO,
                        AttributeProto.TYPE_PROTOS):
            out[a.name] = a   # only unsupported operators use these
        else:
            v = helper.get_attribute_value(a)
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            elif isinstance(v, list):
                v = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in v]
            out[a.name] = v
    return out


def _constant_node_value(node, attrs: dict) -> np.ndarray:
    if "value" in attrs and isinstance(attrs["value"], np.ndarray):
        return attrs["value"]
    if "value_float" in attrs:
        return np.asarray(attrs["value_float"], dtype=np.float32)
    if "value_floats" in attrs:
        return np.asarray(attrs["value_floats"], dtype=np.float32)
    if "value_int" in attrs:
        return np.asarray(attrs["value_int"], dtype=np.int64)
    if "value_ints" in attrs:
        return np.asarray(attrs["value_ints"], dtype=np.int64)
    raise Unsupported("only numeric constants (value, value_float(s), value_int(s)) are supported")


# ------------------------------------------------------------------ converter
def dtype_name(code: int) -> str:
    """``FLOAT``, ``UINT8``… for an ONNX element type (``type 98`` for one this onnx does not know)."""
    from onnx import TensorProto

    try:
        return TensorProto.DataType.Name(int(code))
    except (ValueError, TypeError):
        return f"type {code}"


def _clean_name(text) -> str:
    """A name from the file as display text: UTF-8 (a damaged one decoded with replacements), no control
    characters, at most 200 characters."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _CONTROL.sub(" ", str(text)).strip()[:200]


class Converter:
    def __init__(self, model, filename: str):
        self.model = model
        self.filename = filename
        self.graph = model.graph
        self.opset = 1
        for o in model.opset_import:
            if o.domain in ("", "ai.onnx"):
                self.opset = int(o.version)
        self.values: dict[str, Any] = {}
        self.nodes: list[BNode] = []
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.n_uses: dict[str, int] = {}
        self.out_axes: tuple = ()
        #: batch sizes written into the file (inputs exported without a dynamic batch axis)
        self.fixed_batch: set[int] = set()

    def problem(self, op: str, name: str, text: str) -> None:
        self.problems.append(f"{op} '{_clean_name(name)}': {text}")

    # --- NN Studio nodes
    def emit(self, cx: NodeCtx | None, type_id: str, config: dict, inputs: list, params: dict, state: dict,
             nn_shape: tuple | None = None) -> BNode:
        from engine.registry import ConfigError, RegistryError, ShapeError, build_layer

        try:
            layer = build_layer(type_id, config)
        except (ConfigError, RegistryError) as exc:
            raise Unsupported(f"{exc} (as an NN Studio {type_id.split('.')[0]} layer)") from None
        if nn_shape is None:
            try:
                nn_shape = tuple(layer.output_shape([t.nn_shape for t in inputs]))
            except ShapeError as exc:
                raise Unsupported(f"as an NN Studio {type_id.split('.')[0]} layer: {exc}") from None
        node = BNode(type=type_id, config=dict(config), inputs=list(inputs),
                     op=cx.op if cx else "Input", onnx_name=cx.name if cx else "", params=params, state=state,
                     nn_shape=tuple(nn_shape))
        for t in inputs:
            t.node.uses += 1
            t.node.variants.add(t.variant)
        self.nodes.append(node)
        return node

    def reshape_node(self, cx: NodeCtx, t: Tensor, nn_shape: tuple, axes: tuple) -> Tensor:
        node = self.emit(cx, "Reshape.v1", {"shape": [int(s) for s in nn_shape]}, [t], {}, {})
        return Tensor(node=node, nn_shape=tuple(nn_shape), axes=axes)

    # --- inputs
    def _input_layouts(self) -> dict[str, bool]:
        """Graph inputs that feed channel-axis-1 layers (Conv, pooling, BatchNorm) become channels-last."""
        consumers: dict[str, list] = {}
        for node in self.graph.node:
            for name in node.input:
                consumers.setdefault(name, []).append(node)
        passthrough = {"Relu", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Gelu", "Dropout", "Identity", "Cast",
                       "Add", "Sub", "Mul", "Div"}
        spatial = {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                   "BatchNormalization", "InstanceNormalization", "LpPool"}
        out = {}
        for vi in self.graph.input:
            seen, todo, hit = set(), [vi.name], False
            while todo and not hit:
                name = todo.pop()
                for node in consumers.get(name, []):
                    if node.op_type in spatial:
                        hit = True
                        break
                    if node.op_type in passthrough and id(node) not in seen:
                        seen.add(id(node))
                        todo.extend(node.output[:1])
            out[vi.name] = hit
        return out

    def _make_inputs(self) -> None:
        from onnx import TensorProto, numpy_helper

        inits = {t.name for t in self.graph.initializer}
        for t in self.graph.initializer:
            try:
                self.values[t.name] = Const(numpy_helper.to_array(t))
            except (ValueError, TypeError, RuntimeError) as exc:
                raise OnnxImportError(f"{self.filename}: the initializer {_clean_name(t.name)!r} is damaged "
                                      f"({exc})") from None
        if len(self.graph.sparse_initializer):
            raise OnnxImportError(f"{self.filename} uses sparse initializers, which NN Studio does not read")
        layouts = self._input_layouts()
        for vi in self.graph.input:
            if vi.name in inits:
                continue
            tt = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
            label = _clean_name(vi.name)
            if tt is None or not tt.HasField("shape"):
                self.problems.append(f"input '{label}': its type or shape is not given; NN Studio needs a "
                                     "tensor of known shape")
                self.values[vi.name] = Poison()
                continue
            if tt.elem_type not in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16,
                                    TensorProto.INT64, TensorProto.INT32):
                self.problems.append(f"input '{label}': element type {dtype_name(tt.elem_type)} "
                                     "is not supported (NN Studio reads numbers)")
                self.values[vi.name] = Poison()
                continue
            dims = []
            for d in tt.shape.dim:
                dims.append(int(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0
                            else (d.dim_param or "?"))
            sym = [i for i, d in enumerate(dims) if not isinstance(d, int)]
            if len(dims) == 3 and isinstance(dims[0], int) and sym == [1]:
                # (length, batch, features) with only the batch size left open: a time-major sequence
                nn_shape, axes = (dims[0], dims[2]), (0, BATCH, 1)
                self.notes.append(f"input '{label}': the file's time-major (length, batch, features) "
                                  f"{fmt_shape(dims)} is NN Studio's (N, {dims[0]}, {dims[2]}) (batch first)")
                self._add_input(vi.name, nn_shape, axes)
                continue
            rest = dims[1:]
            if len(dims) < 2:
                self.problems.append(f"input '{label}': shape {fmt_shape(dims)} has no axis besides the batch "
                                     "axis; NN Studio needs (batch, features...)")
                self.values[vi.name] = Poison()
                continue
            bad = [i for i, d in enumerate(rest, start=1) if not isinstance(d, int)]
            if bad:
                self.problems.append(f"input '{label}': axis {bad[0]} has no fixed size ({rest[bad[0] - 1]!r}); "
                                     "NN Studio needs fixed sizes except on the batch axis (axis 0)")
                self.values[vi.name] = Poison()
                continue
            if isinstance(dims[0], int):
                self.fixed_batch.add(dims[0])
                self.notes.append(f"input '{label}': the file fixes the batch size at {dims[0]}; the NN Studio "
                                  "model takes any batch size")
            nd = len(rest) - 1
            if layouts.get(vi.name) and nd in (1, 2):
                nn_shape = (*rest[1:], rest[0])
                axes = channels_first_axes(nd)
                self.notes.append(f"input '{label}': the file's {fmt_shape(['N', *rest])} (channels first) is "
                                  f"NN Studio's {fmt_shape(['N', *nn_shape])} (channels last); give the data "
                                  "channels-last")
            else:
                nn_shape, axes = tuple(rest), identity_axes(len(rest))
            self._add_input(vi.name, nn_shape, axes)

    def _add_input(self, name: str, nn_shape: tuple, axes: tuple) -> None:
        node = BNode(type="Input.v1", config={"shape": list(nn_shape)}, inputs=[], op="Input",
                     onnx_name=name, nn_shape=tuple(nn_shape))
        self.nodes.append(node)
        self.values[name] = Tensor(node=node, nn_shape=tuple(nn_shape), axes=axes)

    # --- the walk
    def run(self) -> None:
        from engine.onnx_import.ops import LAYOUT_OPS, OPS

        self._make_inputs()
        for node in self.graph.node:
            for name in node.input:
                if name:
                    self.n_uses[name] = self.n_uses.get(name, 0) + 1
        for o in self.graph.output:
            self.n_uses[o.name] = self.n_uses.get(o.name, 0) + 1
        skip, exits, starts = self._attention_blocks()
        for idx, node in enumerate(self.graph.node):
            op = node.op_type
            name = node.name or (node.output[0] if node.output else op)
            if idx in starts:
                self._read_attention(starts[idx], skip, exits)
            if idx in skip:
                block = skip[idx]
                what = (Poison() if block.error else
                        Missing("it is inside an attention block that became one MultiHeadAttention layer"))
                for oname in node.output:
                    if oname:
                        self.values[oname] = what
                if idx == block.m1 and block.error:
                    self.problem(op, name, f"an attention block (MatMul → Softmax → MatMul) that NN Studio's "
                                 f"MultiHeadAttention cannot hold: {block.error}")
                continue
            try:
                if idx in exits:
                    outs = self._attention(exits[idx], node)
                else:
                    outs = self._node(node, OPS, LAYOUT_OPS)
            except Unsupported as exc:
                self.problem(op, name, str(exc))
                outs = [Poison()] * len(node.output)
            except _Poisoned:
                # an input failed already; an operator no NN Studio layer maps is still worth naming
                if op not in OPS and op not in LAYOUT_OPS and op not in FOLDABLE and op != "Constant":
                    self.problem(op, name, _no_layer_text(op))
                outs = [Poison()] * len(node.output)
            outs = list(outs) + [Missing(f"{op} has no output {i + 1} in NN Studio")
                                 for i in range(len(outs), len(node.output))]
            for oname, v in zip(node.output, outs):
                if oname:
                    self.values[oname] = v

    def _attention_blocks(self):
        """Attention blocks of the file (:mod:`.attention`): the nodes to leave out, the node where each
        becomes a MultiHeadAttention layer."""
        if not any(n.op_type == "Softmax" for n in self.graph.node):
            return {}, {}, {}
        from engine.onnx_import.attention import find_blocks

        skip, starts = {}, {}
        self._attention_graph, blocks = find_blocks(self.model)
        for b in blocks:
            if b.error:
                for i in b.skip | {b.m1}:
                    skip.setdefault(i, b)
            else:
                starts.setdefault(b.start, b)
        return skip, {}, starts

    def _read_attention(self, block, skip: dict, exits: dict) -> None:
        """At the first node of an attention block (its input is known now): read it, then leave its nodes
        out and put a MultiHeadAttention layer at its output, or name why not (and leave them out too)."""
        from engine.onnx_import.attention import read_block

        t = self.values.get(block.entry)
        if not isinstance(t, Tensor):
            return      # the input failed already (or is a constant): the nodes report on their own
        axes = tuple("N" if a == BATCH else a for a in t.axes)
        if t.q is not None:
            axes = ()
        read_block(self._attention_graph, self.model, self.opset, block, axes, t.nn_shape)
        for i in block.skip | ({block.m1} if block.error else set()):
            skip.setdefault(i, block)
        if not block.error:
            exits[block.exit_node] = block
            if block.merged:
                self.notes.append(f"attention '{_clean_name(block.name)}': a Linear layer before its query, key or "
                                  "value projection became part of the MultiHeadAttention layer's weights (the "
                                  "same predictions; trained further, they are one weight matrix)")

    def _attention(self, block, node) -> list:
        """The node that gives an attention block's output: a MultiHeadAttention layer on the block's input."""
        t = self.values.get(block.entry)
        if not isinstance(t, Tensor):
            raise _Poisoned() if isinstance(t, Poison) else Unsupported("the attention block's input is not computed "
                                                                         "from the model's input")
        want = tuple(BATCH if a == "N" else a for a in block.entry_axes)
        if t.q is not None or len(t.nn_shape) != 2 or t.axes != want:
            raise Unsupported(f"the attention block's input {fmt_shape(t.onnx_shape)} is not a sequence NN Studio "
                              "holds as (batch, length, features)")
        cx = NodeCtx(self, node, [t], {})
        cx.name = block.name or cx.name
        cx.op = "MultiHeadAttention"
        mha = cx.emit("MultiHeadAttention.v1", {"num_heads": block.num_heads, "causal": block.causal}, [t],
                      params=dict(block.params))
        axes = tuple(BATCH if a == "N" else a for a in block.exit_axes)
        out = Tensor(node=mha, nn_shape=mha.nn_shape, axes=axes)
        return [out if o == block.exit else Missing("it is inside an attention block") for o in node.output]

    def _node(self, node, OPS, LAYOUT_OPS):
        from engine.onnx_import.ops import EXPR_OPS, materialize

        op = node.op_type
        if node.domain not in ("", "ai.onnx"):
            raise Unsupported(f"operators of the domain {node.domain!r} are not supported")
        try:
            attrs = parse_attrs(node)
        except (ValueError, TypeError) as exc:
            raise Unsupported(f"an attribute is damaged ({exc})") from None
        if op == "Constant":
            return [Const(_constant_node_value(node, attrs))]
        inputs = []
        for name in node.input:
            if not name:
                inputs.append(None)
                continue
            if name not in self.values:
                raise Unsupported(f"input {_clean_name(name)!r} is not produced by any node (the graph is "
                                  "not in topological order, or it is damaged)")
            v = self.values[name]
            if isinstance(v, Expr) and op not in EXPR_OPS:
                v = materialize(self, v)
            if isinstance(v, Poison):
                raise _Poisoned()
            if isinstance(v, Missing):
                raise Unsupported(f"uses {_clean_name(name)!r}: {v.reason}")
            inputs.append(v)
        cx = NodeCtx(self, node, inputs, attrs)
        present = [v for v in inputs if v is not None]
        if op == "Shape" and present and isinstance(present[0], Tensor):
            t = present[0]
            shape = np.asarray(list(t.onnx_shape), dtype=object)
            start, end = attrs.get("start", 0), attrs.get("end", None)
            return [_as_value(shape[slice(start, end)])]
        if op in FOLDABLE and present and all(isinstance(v, (Const, Sym)) for v in present):
            try:
                return fold(cx, inputs)
            except (ValueError, IndexError, TypeError, np.exceptions.AxisError) as exc:
                raise Unsupported(f"cannot be computed on its constant inputs ({exc})") from None
        fn = LAYOUT_OPS.get(op) or OPS.get(op)
        if fn is None:
            if op in FOLDABLE:
                raise Unsupported(f"{op} is only supported on constants (shape computations), not on the "
                                  "data flowing through the model")
            raise Unsupported(_no_layer_text(op))
        return fn(cx)

    # --- the result
    def finish(self, stem: str) -> ImportResult:

        outs = list(self.graph.output)
        if len(outs) != 1:
            names = ", ".join(repr(_clean_name(o.name)) for o in outs[:5])
            self.problems.append(f"the model has {len(outs)} outputs ({names}); an NN Studio model has exactly one")
        out_t = None
        if outs:
            v = self.values.get(outs[0].name)
            if isinstance(v, Expr):
                from engine.onnx_import.ops import materialize
                try:
                    v = materialize(self, v)
                except Unsupported as exc:
                    self.problem(v.op, v.name, str(exc))
                    v = Poison()
            if isinstance(v, Tensor):
                out_t = v
            elif isinstance(v, Missing):
                self.problems.append(f"output '{_clean_name(outs[0].name)}': {v.reason}")
            elif isinstance(v, (Const, Sym, Zeros)):
                self.problems.append(f"output '{_clean_name(outs[0].name)}' is a constant: it does not depend on "
                                     "the model's input")
            elif v is None:
                self.problems.append(f"output '{_clean_name(outs[0].name)}' is not produced by any node")
        if out_t is not None:
            if out_t.q is not None:
                self.problems.append(f"output '{_clean_name(outs[0].name)}' is a channels-first tensor flattened; "
                                     "NN Studio would give its values in another order")
            elif not out_t.ordered():
                self.notes.append(f"output: the file's {fmt_shape(out_t.onnx_shape)} is NN Studio's "
                                  f"{fmt_shape(['N', *out_t.nn_shape])} (channels last)")
            self.out_axes = out_t.axes
        keep = self._reachable(out_t.node) if out_t is not None else []
        self._count_uses(keep, out_t)
        self._resolve_recurrent(keep)
        if self.problems or out_t is None:
            if not self.problems:
                self.problems.append("the model has no output NN Studio can compute")
            self._raise()
        keep = self._fuse_activations(keep, out_t.node)
        keep = self._collapse_reshapes(keep)
        return self._build(keep, stem)

    def _raise(self):
        lines = self.problems[:MAX_LISTED_PROBLEMS]
        more = len(self.problems) - len(lines)
        head = (f"cannot import {self.filename}: {len(self.problems)} part(s) of the model cannot be mapped "
                "onto NN Studio layers:" if len(self.problems) > 1 else f"cannot import {self.filename}:")
        body = "\n".join("  " + ln for ln in lines)
        if more > 0:
            body += f"\n  … and {more} more"
        raise OnnxImportError(f"{head}\n{body}")

    @staticmethod
    def _reachable(sink: BNode) -> list[BNode]:
        seen, order = set(), []

        def visit(n: BNode):
            stack = [(n, False)]
            while stack:
                cur, done = stack.pop()
                if done:
                    order.append(cur)
                    continue
                if id(cur) in seen:
                    continue
                seen.add(id(cur))
                stack.append((cur, True))
                for t in reversed(cur.inputs):
                    stack.append((t.node, False))
        visit(sink)
        return order   # inputs before their consumers

    @staticmethod
    def _count_uses(keep: list[BNode], out_t: Tensor | None) -> None:
        """How often each kept node is read and which of its outputs (a recurrent layer's sequence or last
        state): counted over the nodes that reach the output only (the importer builds some nodes on
        the chance that they are used, e.g. the direction axis of a bidirectional layer)."""
        for n in keep:
            n.uses, n.variants = 0, set()
        for n in keep:
            for t in n.inputs:
                t.node.uses += 1
                t.node.variants.add(t.variant)
        if out_t is not None:
            out_t.node.uses += 1
            out_t.node.variants.add(out_t.variant)

    def _resolve_recurrent(self, keep: list[BNode]) -> None:
        for n in keep:
            if n.base not in ("LSTM", "GRU", "SimpleRNN"):
                continue
            if n.variants == {"seq", "last"}:
                self.problem(n.op, n.onnx_name, "both the output sequence and the last state are used; an NN "
                             "Studio recurrent layer gives one of them")
            n.config["return_sequences"] = "seq" in n.variants
            units = n.config["units"]
            if n.config.get("bidirectional") and n.config.get("merge_mode", "concat") == "concat":
                units *= 2
            n.nn_shape = (n.nn_shape[0], units) if "seq" in n.variants else (units,)

    def _collapse_reshapes(self, keep: list[BNode]) -> list[BNode]:
        """Reshape/Flatten of a Reshape/Flatten that nothing else reads -> one node; a Reshape to the shape it
        already has -> nothing (exporters reshape back and forth around operations NN Studio does in one layer)."""
        drop = set()
        consumed = {id(t.node) for m in keep for t in m.inputs}
        sinks = [n for n in keep if id(n) not in consumed]

        def reroute(old: BNode, new: BNode) -> None:
            for m in keep:
                m.inputs = [t.with_(node=new) if t.node is old else t for t in m.inputs]
            new.uses = new.uses - 1 + old.uses

        for n in keep:
            if n.base not in ("Reshape", "Flatten") or not n.inputs:
                continue
            src = n.inputs[0].node
            if src.base in ("Reshape", "Flatten") and src.uses == 1 and id(src) not in drop:
                n.inputs = [n.inputs[0].with_(node=src.inputs[0].node)]
                drop.add(id(src))
            if n.inputs[0].node.nn_shape == n.nn_shape and n not in sinks:
                reroute(n, n.inputs[0].node)
                drop.add(id(n))
        return [n for n in keep if id(n) not in drop]

    def _fuse_activations(self, keep: list[BNode], sink: BNode) -> list[BNode]:
        """Dense/Conv followed only by an activation layer -> the activation option of that layer."""
        from engine.layers.activations import ACTIVATION_NAMES
        from engine.registry import get_layer_class

        drop = set()
        for n in keep:
            if n.base == "Input" or len(n.inputs) != 1:
                continue
            cls = get_layer_class(n.type)
            fn = getattr(cls, "fn", None)
            src = n.inputs[0].node
            if fn is None or fn not in ACTIVATION_NAMES or fn == "linear":
                continue
            if _non_default_settings(n.type, n.config):
                continue    # e.g. LeakyReLU slope 0.2: a Dense's built-in activation has the defaults only
            if src.base not in ("Dense", "Conv1D", "Conv2D") or src.uses != 1 or id(src) in drop:
                continue
            if src.config.get("activation", "linear") != "linear":
                continue
            src.config["activation"] = fn
            # n becomes an alias of src: its consumers read src
            drop.add(id(n))
            for m in keep:
                m.inputs = [t.with_(node=src) if t.node is n else t for t in m.inputs]
            src.uses = n.uses
            src.fused_name = n.onnx_name
        return [n for n in keep if id(n) not in drop]

    def _build(self, keep: list[BNode], stem: str) -> ImportResult:
        from engine.compile import GraphError
        from engine.io import Project
        from engine.model import StateError, compile_graph
        from engine.spec import GraphSpec, SpecError

        ids: dict[int, str] = {}
        used: set[str] = set()
        for n in keep:
            base = _ID_BAD.sub("_", _clean_name(n.onnx_name)).strip("_-")[:56] or n.base.lower()
            if not re.match(r"[A-Za-z_]", base):
                base = "n_" + base
            nid, k = base, 1
            while nid in used:
                k += 1
                nid = f"{base}_{k}"
            used.add(nid)
            ids[id(n)] = nid
        nodes, edges, weights = [], [], {}
        for n in keep:
            nid = ids[id(n)]
            name = _clean_name(n.onnx_name)
            fused = n.fused_name
            if fused and fused != n.onnx_name:
                name = f"{name} + {_clean_name(fused)}"
            nodes.append({"id": nid, "type": n.type, "config": n.config, "pos": [0.0, 0.0],
                          **({"name": name[:500]} if name and name != nid else {})})
            for port, t in enumerate(n.inputs):
                edges.append({"src": ids[id(t.node)], "dst": nid, "dst_port": port})
            for k, v in {**n.params, **n.state}.items():
                weights[f"{nid}/{k}"] = np.ascontiguousarray(v, dtype=np.float32)
        try:
            spec = GraphSpec.from_dict({"schema_version": 1, "next_id": 1, "nodes": nodes, "edges": edges})
        except SpecError as exc:  # pragma: no cover - ids and names are sanitised above
            raise OnnxImportError(f"cannot import {self.filename}: {exc}") from None
        from engine.graph_layout import layered_layout

        spec = spec.move_nodes(layered_layout(spec))
        try:
            model = compile_graph(spec)
            model.load_state_dict(weights)
        except (GraphError, StateError) as exc:
            raise OnnxImportError(f"cannot import {self.filename}: the imported graph does not check out "
                                  f"({exc})") from None
        project = Project(graph=spec, weights=model.state_dict(),
                          metadata={"name": _clean_name(stem) or "imported model",
                                    "imported_from": _clean_name(self.filename),
                                    "import_notes": list(self.notes)})
        def full(axes):
            return tuple(0 if a == BATCH else None if a is None else a + 1 for a in axes)
        inputs = {name: full(v.axes) for name, v in self.values.items()
                  if isinstance(v, Tensor) and v.node.base == "Input" and v.node.onnx_name == name}
        return ImportResult(project=project, notes=list(self.notes), input_axes=inputs,
                            output_axes=full(self.out_axes))


def convert_model(model, filename: str, stem: str = "") -> ImportResult:
    conv = Converter(model, filename)
    conv.run()
    return conv.finish(stem or filename)


def _non_default_settings(type_id: str, config: dict) -> bool:
    """True when ``config`` sets a layer option to something other than its default."""
    from engine.registry import config_to_dict, get_layer_class, make_config

    try:
        cls = get_layer_class(type_id).Config
        defaults = config_to_dict(make_config(cls, {}))
        given = config_to_dict(make_config(cls, dict(config)))
    except Exception:  # noqa: BLE001 - an invalid config is reported when the graph is built
        return True
    return given != defaults
