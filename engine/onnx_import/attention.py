"""Self-attention written out by exporters -> NN Studio's MultiHeadAttention.

``torch.onnx.export`` (the TorchScript exporter, ``dynamo=False``) writes ``nn.MultiheadAttention`` and
hand-written attention modules as some 30-120 ONNX nodes: projections (``MatMul``/``Gemm`` + ``Add``),
head splitting (``Reshape``/``Transpose``/``Gather``, shape arithmetic), ``MatMul`` of the queries and the
transposed keys, a scale (``Mul``/``Div``) and perhaps a mask (``Add``/``Where``), ``Softmax``, ``MatMul``
with the values, head merging and the output projection.  The exact nodes differ between torch versions,
``need_weights``, ``batch_first`` and hand-written code, so the block is found by its shape and read by
evaluating it:

1. *Find* (on the ONNX graph, before the walk): a ``Softmax`` whose input is (through element-wise
   nodes with constants) a ``MatMul`` of two computed tensors and whose output is the first operand of a
   second such ``MatMul``.  From the three operands (queries, transposed keys, values) the chains of
   single-input nodes lead back to one tensor, the block's input (self-attention), passing one
   projection; from the second ``MatMul`` a chain of layout nodes and the output projection leads on
   to the block's output.
2. *Read* the weights by running the block's own nodes (``onnx.reference``, float64) on chosen inputs: the
   operands at zero input are the biases, at one-hot inputs the weight rows; the scores' scale and
   mask come from the element-wise nodes between the first ``MatMul`` and ``Softmax``; the output
   projection from one-hot head outputs.
3. *Check* the result: the block on random inputs (several batch sizes) must give what NN Studio's
   MultiHeadAttention gives with the weights read; otherwise the block is refused with the reason.

Everything that does not fit (cross-attention, a mask other than the causal one, heads of another
size than features / heads, attention weights used elsewhere) is named in one message at the first
``MatMul`` of the block.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: nodes with one computed input that may sit between the block's input and the attention's operands
_CHAIN = {"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Cast", "Gather", "Split", "Slice",
          "Flatten", "Mul", "Div", "Add", "Sub", "MatMul", "Gemm", "Dropout"}
#: layout nodes after the output projection
_LAYOUT = {"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Cast", "Flatten"}
#: element-wise nodes between the scores' MatMul and Softmax (scale, mask)
_SCORE = {"Mul", "Div", "Add", "Sub", "Where", "Cast", "Identity"}
#: an additive mask value at or below this hides a position (exp underflows to exactly 0)
MASKED = -1e4


class BlockError(Exception):
    """The block looks like attention but NN Studio's MultiHeadAttention cannot hold it (the reason)."""


@dataclass
class Block:
    m1: int                      # node index of the scores' MatMul (messages name it)
    start: int = 0               # the first node of the block in the graph's order (read there)
    region: dict = field(default_factory=dict)
    name: str = ""               # what the nodes' names share ("/attn" for PyTorch's module attn)
    skip: set = field(default_factory=set)       # node indices the walk leaves out
    exit_node: int = -1          # node index producing the block's output
    entry: str = ""              # ONNX value the block reads
    exit: str = ""               # ONNX value the block gives
    entry_axes: tuple = ()       # per ONNX axis of the input: "N", 0 (positions), 1 (features) or None
    exit_axes: tuple = ()
    num_heads: int = 0
    causal: bool = False
    params: dict = field(default_factory=dict)
    error: str = ""
    #: a chain to the queries, keys or values passes two projections, which become one weight matrix
    merged: bool = False


# ------------------------------------------------------------------ the graph
class _Graph:
    def __init__(self, graph):
        self.g = graph
        self.nodes = list(graph.node)
        self.inits = {t.name for t in graph.initializer}
        self.inputs = [vi for vi in graph.input if vi.name not in self.inits]
        self.outputs = {o.name for o in graph.output}
        self.producer, self.consumers = {}, {}
        for i, n in enumerate(self.nodes):
            for o in n.output:
                if o:
                    self.producer[o] = i
            for x in n.input:
                if x:
                    self.consumers.setdefault(x, []).append(i)
        # values computed from the model's inputs (shape arithmetic is not: Shape ends it)
        self.data = {vi.name for vi in self.inputs}
        for n in self.nodes:
            if n.op_type not in ("Shape", "Size", "Constant") and any(x in self.data for x in n.input if x):
                self.data.update(o for o in n.output if o)

    def users(self, name: str) -> list[int]:
        """The nodes that read the values of ``name`` (not only its shape)."""
        return [c for c in self.consumers.get(name, []) if self.nodes[c].op_type not in ("Shape", "Size")]

    def data_inputs(self, i: int) -> list[str]:
        return [x for x in self.nodes[i].input if x and x in self.data]

    def is_projection(self, i: int) -> bool:
        n = self.nodes[i]
        return n.op_type in ("MatMul", "Gemm") and len(self.data_inputs(i)) == 1 and n.input[0] in self.data

    def chain_back(self, name: str) -> list[str]:
        """``name`` and the values it is computed from through single-input nodes (nearest first)."""
        path = [name]
        while name in self.producer:
            i = self.producer[name]
            ins = self.data_inputs(i)
            if self.nodes[i].op_type not in _CHAIN or len(ins) != 1:
                break
            name = ins[0]
            path.append(name)
        return path


def find_blocks(model) -> tuple[_Graph, list[Block]]:
    """Every attention block of ``model``, found by its shape (:func:`read_block` reads and checks one
    when the walk reaches it); ``error`` says why a block is refused already."""
    g = _Graph(model.graph)
    blocks = []
    for si, s in enumerate(g.nodes):
        if s.op_type != "Softmax" or not s.input or s.input[0] not in g.data or not s.output or not s.output[0]:
            continue
        found = _find(g, si)
        if found is None:
            continue
        block, region = found
        block.region = region
        block.start = min(region["nodes"])
        if block.error:
            _refuse(g, block, block.error)
        blocks.append(block)
    return g, blocks


def _refuse(g: _Graph, block: Block, reason: str) -> None:
    """The block is named once; its nodes (and the shape arithmetic only they read) are left out."""
    block.error = reason
    block.skip = {i for i in block.region["nodes"] if i >= block.start}
    _add_shape_nodes(g, block.skip, max(block.skip), block.start)
    block.exit_node = -1


def read_block(g: _Graph, model, opset: int, block: Block, entry_axes: tuple, entry_shape: tuple) -> None:
    """Read the weights of ``block`` whose input has the layout ``entry_axes`` ("N", 0 for the positions,
    1 for the features, None) over NN Studio's ``entry_shape`` (length, features); on success the block
    knows its layer and the nodes to leave out, else its ``error``."""
    try:
        _read(g, model, opset, block, block.region, entry_axes, tuple(entry_shape))
    except BlockError as exc:
        _refuse(g, block, str(exc))


def _find(g: _Graph, si: int):
    """The nodes of the block around Softmax ``si`` (``None`` when this Softmax is no attention)."""
    s = g.nodes[si]
    # Softmax <- element-wise with constants <- MatMul(computed, computed)
    score_nodes, name = [], s.input[0]
    while True:
        i = g.producer.get(name)
        if i is None:
            return None
        n = g.nodes[i]
        ins = g.data_inputs(i)
        if n.op_type == "MatMul" and len(ins) == 2 and n.input[0] in g.data and n.input[1] in g.data:
            m1 = i
            break
        if n.op_type not in _SCORE or len(ins) != 1:
            return None
        score_nodes.append(i)
        name = ins[0]
    # Softmax -> (Dropout, Identity) -> MatMul(weights, computed)
    post, v = [], s.output[0]
    while True:
        cons = g.users(v)
        if len(cons) == 1 and g.nodes[cons[0]].op_type in ("Dropout", "Identity", "Cast") and g.nodes[cons[0]].output:
            post.append(cons[0])
            v = g.nodes[cons[0]].output[0]
            continue
        break
    m2s = [c for c in cons if g.nodes[c].op_type == "MatMul" and len(g.nodes[c].input) == 2
           and g.nodes[c].input[0] == v and g.nodes[c].input[1] in g.data and g.nodes[c].output]
    if not m2s:
        return None
    m2 = m2s[0]
    block = Block(m1=m1)
    core = [m1, *score_nodes, si, *post, m2]
    region = {"nodes": list(core), "score_in": g.nodes[m1].output[0], "softmax_in": s.input[0],
              "softmax": si, "q": g.nodes[m1].input[0], "k": g.nodes[m1].input[1], "v": g.nodes[m2].input[1],
              "o": g.nodes[m2].output[0], "tail": []}
    axis = next((a.i for a in s.attribute if a.name == "axis"), -1)
    if len(cons) > 1 or v in g.outputs or s.output[0] in g.outputs:
        block.error = ("its attention weights (the Softmax output) are used elsewhere as well; NN Studio's "
                       "MultiHeadAttention gives only the attended values")
    paths = {k: g.chain_back(region[k]) for k in ("q", "k", "v")}

    def refused(reason: str):
        # left out up to where the chains end: no follow-up messages about the block's inner nodes
        block.error = reason
        for path in paths.values():
            region["nodes"] += [g.producer[x] for x in path[:-1]]
        return block, region

    if block.error:
        return refused(block.error)
    common = [x for x in paths["q"] if x in paths["k"] and x in paths["v"]]
    if not common:
        return refused("its queries, keys and values are computed from different tensors (cross-attention); NN "
                       "Studio's MultiHeadAttention attends over its own input (self-attention)")
    meet = common[0]

    def projections(path, upto):
        return sum(g.is_projection(g.producer[x]) for x in path[:path.index(upto)])

    entry = meet
    if any(projections(p, meet) == 0 for p in paths.values()):
        # the projection is shared (PyTorch's packed in_proj): go back past it
        rest = paths["q"][paths["q"].index(meet):]
        entry = None
        for a, b in zip(rest, rest[1:]):
            if g.is_projection(g.producer[a]):
                entry = b
                break
        if entry is None:
            return refused("its queries, keys and values have no projection (a MatMul with weights)")
    for p in paths.values():
        for x in p[:p.index(entry)]:
            region["nodes"].append(g.producer[x])
    block.entry = entry
    # e.g. keys and values from a Linear layer of their own, then the attention's projection
    block.merged = any(projections(p, entry) > 1 for p in paths.values())
    # MatMul(weights, values) -> layout -> output projection (+ bias) -> layout
    v, seen = region["o"], False
    while True:
        cons = g.users(v)
        if len(cons) != 1 or v in g.outputs:
            break
        c = cons[0]
        n = g.nodes[c]
        if len(g.data_inputs(c)) != 1:
            break
        if not seen and g.is_projection(c):
            seen = True
            region["nodes"].append(c)
            v = n.output[0]
            nxt = g.users(v)
            if (n.op_type == "MatMul" and len(nxt) == 1 and v not in g.outputs and g.nodes[nxt[0]].op_type == "Add"
                    and len(g.data_inputs(nxt[0])) == 1):
                region["nodes"].append(nxt[0])
                v = g.nodes[nxt[0]].output[0]
            region["tail"].append((g.producer[v], v))
            continue
        if n.op_type not in _LAYOUT:
            break
        if seen:
            region["tail"].append((c, n.output[0]))
        else:
            region["nodes"].append(c)
        v = n.output[0]
    if not seen:
        return refused("its attended values reach no output projection (a MatMul or Gemm with weights)")
    region["axis"] = axis      # checked on the evaluated shapes
    return block, region


# ------------------------------------------------------------------ evaluation
class _Runner:
    """Runs parts of the model with onnx.reference: the block's input fed directly, the model's inputs
    as zeros (only their shapes matter to the shape arithmetic)."""

    def __init__(self, g: _Graph, model, opset: int):
        self.g, self.model, self.opset = g, model, opset
        self.cache = {}
        from onnx import numpy_helper

        self.init_arrays = {}
        for t in model.graph.initializer:
            a = numpy_helper.to_array(t)
            self.init_arrays[t.name] = a.astype(np.float64) if a.dtype == np.float32 else a

    def _input_zeros(self, vi, n: int):
        from onnx import helper

        tt = vi.type.tensor_type
        dims = [int(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0 else n for d in tt.shape.dim]
        dt = helper.tensor_dtype_to_np_dtype(tt.elem_type)
        return np.zeros(dims, dtype=np.float64 if dt == np.float32 else dt)

    def run(self, outputs: list[str], feeds: dict, n: int) -> list[np.ndarray]:
        from onnx import TensorProto, helper, numpy_helper
        from onnx.reference import ReferenceEvaluator

        cut = tuple(sorted(feeds))
        key = (tuple(outputs), cut)
        if key not in self.cache:
            g = self.g
            need, todo, used = set(), list(outputs), set()
            while todo:
                x = todo.pop()
                if x in used or x in feeds:
                    continue
                used.add(x)
                if x in g.producer:
                    i = g.producer[x]
                    if i not in need:
                        need.add(i)
                        todo.extend(y for y in g.nodes[i].input if y)
            nodes = [_in_float64(g.nodes[i]) for i in sorted(need)]
            inits = [numpy_helper.from_array(self.init_arrays[x], x) for x in sorted(used) if x in self.init_arrays]
            ins = [helper.make_tensor_value_info(x, TensorProto.DOUBLE, None) for x in cut]
            model_inputs = [vi for vi in g.inputs if vi.name in used and vi.name not in feeds]
            ins += [helper.make_tensor_value_info(vi.name, vi.type.tensor_type.elem_type, None)
                    for vi in model_inputs]
            outs = [helper.make_tensor_value_info(x, TensorProto.DOUBLE, None) for x in outputs]
            graph = helper.make_graph(nodes, "block", ins, outs, inits)
            m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
            self.cache[key] = (ReferenceEvaluator(m), model_inputs)
        ev, model_inputs = self.cache[key]
        all_feeds = dict(feeds)
        for vi in model_inputs:
            all_feeds[vi.name] = self._input_zeros(vi, n)
        try:
            with np.errstate(all="ignore"):
                return [np.asarray(v) for v in ev.run(None, all_feeds)]
        except Exception as exc:  # noqa: BLE001 - the reference runtime refusing the user's file
            raise BlockError(f"it cannot be evaluated to read its weights ({type(exc).__name__}: "
                             f"{str(exc)[:200]})") from None


def _in_float64(node):
    """A copy of ``node`` that computes in float64 where it named float32 (Constant values, Cast targets):
    the weights are read without float32 rounding, and the reference runtime wants matching types."""
    from onnx import AttributeProto, NodeProto, TensorProto, numpy_helper

    out = NodeProto()
    out.CopyFrom(node)
    for a in out.attribute:
        if a.type == AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT:
            a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float64), a.t.name))
        elif a.type == AttributeProto.FLOAT and node.op_type == "Constant":
            pass
        elif node.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT:
            a.i = TensorProto.DOUBLE
    if node.op_type == "Constant" and any(a.name in ("value_float", "value_floats") for a in out.attribute):
        vals = [np.asarray(a.f if a.name == "value_float" else list(a.floats), dtype=np.float64)
                for a in out.attribute if a.name in ("value_float", "value_floats")]
        del out.attribute[:]
        out.attribute.extend([_tensor_attr("value", vals[0])])
    return out


def _tensor_attr(name, arr):
    from onnx import helper, numpy_helper

    return helper.make_attribute(name, numpy_helper.from_array(arr))


def _layout_of(shapes: dict, L_: int, D: int) -> list[tuple]:
    """The possible (batch, position, feature) axes of the output from its shapes at batch sizes 2 and 3."""
    s2, s3 = shapes[2], shapes[3]
    if len(s2) != len(s3):
        raise BlockError("its output changes rank with the batch size")
    batch = [i for i, (a, b) in enumerate(zip(s2, s3)) if a != b]
    if len(batch) != 1 or (s2[batch[0]], s3[batch[0]]) != (2, 3):
        raise BlockError(f"its output {tuple(s2)} does not keep the batch axis whole")
    b = batch[0]
    rest = [i for i in range(len(s2)) if i != b and s2[i] != 1]
    options = []
    for li in rest:
        for di in rest:
            if li != di and s2[li] == L_ and s2[di] == D and len(rest) == 2:
                options.append((b, li, di))
    if not options:
        raise BlockError(f"its output {tuple(s2)} is not a sequence (batch, {L_}, {D}) in some order of axes")
    return options


def _to_onnx(x_nn: np.ndarray, shape1: tuple, layout: tuple) -> np.ndarray:
    """(n, L, D) -> the value's ONNX layout (``layout`` = its batch, position and feature axes)."""
    b, li, di = layout
    order = sorted((b, li, di))
    src = {b: 0, li: 1, di: 2}
    arr = np.transpose(x_nn, [src[a] for a in order])
    shape = list(shape1)
    shape[b] = x_nn.shape[0]
    return arr.reshape(shape)


def _to_nn(y: np.ndarray, layout: tuple) -> np.ndarray:
    b, li, di = layout
    order = sorted((b, li, di))
    arr = y.reshape([y.shape[a] for a in order])
    pos = {a: k for k, a in enumerate(order)}
    return np.transpose(arr, [pos[b], pos[li], pos[di]])


def _axes_tuple(rank: int, layout: tuple) -> tuple:
    b, li, di = layout
    return tuple("N" if i == b else 0 if i == li else 1 if i == di else None for i in range(rank))


def _read(g: _Graph, model, opset: int, block: Block, region: dict, entry_axes: tuple, entry_shape: tuple) -> None:
    run = _Runner(g, model, opset)
    tail = region["tail"]
    if len(entry_shape) != 2 or sorted(a for a in entry_axes if isinstance(a, int)) != [0, 1]:
        shape = tuple("N" if a == "N" else 1 if a is None else entry_shape[a] for a in entry_axes)
        raise BlockError(f"its input {shape} is not a sequence (batch, length, features)")
    L_, D = (int(v) for v in entry_shape)
    entry_layout = (entry_axes.index("N"), entry_axes.index(0), entry_axes.index(1))

    def entry_shape_at(n):
        return tuple(n if a == "N" else 1 if a is None else entry_shape[a] for a in entry_axes)

    e1 = entry_shape_at(1)
    names = [region["score_in"], *[v for _, v in tail]]
    shapes = {}
    for n in (2, 3):
        vals = run.run(names, {block.entry: np.zeros(entry_shape_at(n))}, n)
        shapes[n] = {k: v.shape for k, v in zip(names, vals)}

    def entry_value(x_nn):
        return _to_onnx(x_nn, tuple(e1), entry_layout)

    # --- queries, keys, values at batch size 1
    qkv = [region["q"], region["k"], region["v"]]
    zero = run.run(qkv, {block.entry: entry_value(np.zeros((1, L_, D)))}, 1)
    Q0, K0, V0 = zero
    if Q0.ndim < 2 or K0.ndim != Q0.ndim or V0.ndim != Q0.ndim or not (
            Q0.shape[:-2] == K0.shape[:-2] == V0.shape[:-2]):
        raise BlockError(f"its queries {Q0.shape}, keys {K0.shape} and values {V0.shape} do not have the same "
                         "heads")
    h = int(np.prod(Q0.shape[:-2])) if Q0.ndim > 2 else 1
    Lq, dk = Q0.shape[-2:]
    dk2, Lk = K0.shape[-2:]
    Lv, dv = V0.shape[-2:]
    if not (Lq == Lk == Lv == L_) or dk != dk2 or dk != dv or h * dk != D:
        raise BlockError(f"its queries {Q0.shape}, keys {K0.shape} and values {V0.shape} are not {D} features split "
                         f"into equal heads over {L_} positions (NN Studio's MultiHeadAttention: heads of "
                         "features / heads values each, as many as positions)")
    dh = dk
    Q0, K0, V0 = Q0.reshape(h, L_, dh), K0.reshape(h, dh, L_), V0.reshape(h, L_, dh)
    Aq, Ak, Av = (np.zeros((h, D, dh)) for _ in range(3))
    for k0 in range(0, D, L_):
        x = np.zeros((1, L_, D))
        fs = list(range(k0, min(D, k0 + L_)))
        for i, f in enumerate(fs):
            x[0, i, f] = 1.0
        Q, K, V = run.run(qkv, {block.entry: entry_value(x)}, 1)
        Q, K, V = Q.reshape(h, L_, dh), K.reshape(h, dh, L_), V.reshape(h, L_, dh)
        for i, f in enumerate(fs):
            Aq[:, f] = Q[:, i] - Q0[:, i]
            Ak[:, f] = K[:, :, i] - K0[:, :, i]
            Av[:, f] = V[:, i] - V0[:, i]
    cq, ck, cv = Q0[:, 0], K0[:, :, 0], V0[:, 0]
    # --- the scores: scale (and mask) between the first MatMul and Softmax
    s_shape = (h, L_, L_)
    sm_shape = shapes[2][region["score_in"]]
    ones = np.ones(tuple(run.run([region["score_in"]], {block.entry: entry_value(np.zeros((1, L_, D)))}, 1)[0].shape))
    F = [run.run([region["softmax_in"]], {region["score_in"]: c * ones}, 1)[0] for c in (0.0, 1.0, 2.0)]
    if F[0].shape != ones.shape:
        raise BlockError(f"its scores change shape {ones.shape} -> {F[0].shape} before Softmax")
    if ones.size != h * L_ * L_:
        raise BlockError(f"its scores {ones.shape} are not one (positions × positions) table per head")
    m = F[0].reshape(s_shape)
    masked = ~np.isfinite(m) | (m <= MASKED)
    with np.errstate(all="ignore"):
        a1, a2 = (F[1] - F[0]).reshape(s_shape), (F[2] - F[0]).reshape(s_shape)
    ok = ~masked
    a = float(a1[ok].ravel()[0]) if ok.any() else 1.0
    if not (a > 0 and np.allclose(a1[ok], a, rtol=1e-9, atol=0) and np.allclose(a2[ok], 2 * a, rtol=1e-9, atol=0)):
        raise BlockError("its scores are not scaled by one positive number before Softmax")
    if np.any(np.abs(m[ok]) > 1e-12 * max(1.0, a)):
        raise BlockError("it adds a bias or mask with values other than 0 and -inf to the scores; NN Studio's "
                         "MultiHeadAttention has only the causal mask")
    upper = np.triu(np.ones((L_, L_), dtype=bool), k=1)
    if masked.any() and not np.array_equal(masked, np.broadcast_to(upper, s_shape)):
        raise BlockError("its mask is not the causal one (each position attends to itself and earlier "
                         "positions); NN Studio's MultiHeadAttention has only the causal mask")
    causal = bool(masked.any())
    axis = region["axis"]
    rank = len(sm_shape)
    if axis % rank != rank - 1:
        raise BlockError(f"its Softmax is over axis {axis}, not over the keys (the last axis)")
    # --- the output: layout of each candidate, then the output projection from one-hot head outputs
    O0 = np.zeros(run.run([region["o"]], {block.entry: entry_value(np.zeros((1, L_, D)))}, 1)[0].shape)
    if O0.size != h * L_ * dh:
        raise BlockError(f"its attended values {O0.shape} do not have the heads of its queries")
    chosen, last_err = None, BlockError("its output is not a sequence")
    for idx, vname in reversed(tail):
        try:
            options = _layout_of({n: shapes[n][vname] for n in (2, 3)}, L_, D)
        except BlockError as exc:
            last_err = exc
            continue
        chosen = (idx, vname, options)
        break
    if chosen is None:
        raise last_err
    exit_node, exit_name, options = chosen
    y1 = list(shapes[2][exit_name])
    y1[options[0][0]] = 1
    dh_sc = a * math.sqrt(dh)
    rng = np.random.default_rng(0)
    x_check = rng.standard_normal((3, L_, D))
    y_check = run.run([exit_name], {block.entry: entry_value(x_check)}, 3)[0]
    problems = []
    for layout in options:
        Y0 = _to_nn(run.run([exit_name], {region["o"]: O0}, 1)[0], layout)[0]
        Bo = np.zeros((h, dh, D))
        combos = [(j, k) for j in range(h) for k in range(dh)]
        for c0 in range(0, len(combos), L_):     # one head value per position: L_ rows of W_o per run
            O = O0.reshape(h, L_, dh).copy()
            chunk = combos[c0:c0 + L_]
            for i, (j, k) in enumerate(chunk):
                O[j, i, k] = 1.0
            Y = _to_nn(run.run([exit_name], {region["o"]: O.reshape(O0.shape)}, 1)[0], layout)[0]
            for i, (j, k) in enumerate(chunk):
                Bo[j, k] = Y[i] - Y0[i]
        params = {
            "W_q": np.concatenate(list(Aq), axis=1) * dh_sc, "b_q": np.concatenate(list(cq)) * dh_sc,
            "W_k": np.concatenate(list(Ak), axis=1), "b_k": np.concatenate(list(ck)),
            "W_v": np.concatenate(list(Av), axis=1), "b_v": np.concatenate(list(cv)),
            "W_o": Bo.reshape(h * dh, D), "b_o": Y0[0].copy(),
        }
        want = _to_nn(y_check, layout)
        got = _mha(params, h, causal, x_check)
        err = float(np.max(np.abs(got - want)))
        scale = max(1.0, float(np.max(np.abs(want))))
        if err <= 1e-5 * scale:
            block.params = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in params.items()}
            block.num_heads, block.causal = h, causal
            block.exit, block.exit_node = exit_name, exit_node
            block.entry_axes = tuple(entry_axes)
            block.exit_axes = _axes_tuple(len(y1), layout)
            break
        problems.append(err)
    else:
        raise BlockError(f"it computes something other than NN Studio's MultiHeadAttention with the weights read "
                         f"from it (checked on random inputs: largest difference {min(problems):.3g})")
    # --- the nodes the walk leaves out: the block up to its output, and shape arithmetic only it reads
    nodes = set(region["nodes"])
    for i, v in tail:
        nodes.add(i)
        if v == exit_name:
            break
    _add_shape_nodes(g, nodes, exit_node, block.start)
    inner = {o for i in nodes for o in g.nodes[i].output if o} - {exit_name}
    for x in inner:
        for c in g.consumers.get(x, []):
            if c not in nodes:
                raise BlockError(f"a value inside it ({x!r}) is used outside the block as well")
        if x in g.outputs:
            raise BlockError(f"a value inside it ({x!r}) is an output of the model")
    block.skip = nodes - {exit_node}
    names = [g.nodes[i].name for i in sorted(set(region["nodes"])) if g.nodes[i].name]
    prefix = "/".join(_common_prefix([n.split("/") for n in names])) if names else ""
    block.name = prefix if prefix.strip("/") else "attention"


def _common_prefix(parts: list[list[str]]) -> list[str]:
    out = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        out.append(level[0])
    if len(out) == min(len(p) for p in parts):
        out = out[:-1]          # a single node's full name is not a scope
    return out


def _add_shape_nodes(g: _Graph, nodes: set, exit_node: int, start: int) -> None:
    """Add the nodes from ``start`` on whose every output is read only by the block (shape arithmetic,
    constants; the walk has computed the ones before ``start`` already)."""
    changed = True
    while changed:
        changed = False
        for i in range(exit_node, start - 1, -1):
            if i in nodes:
                continue
            outs = [o for o in g.nodes[i].output if o]
            if not outs or any(o in g.outputs for o in outs):
                continue
            cons = [c for o in outs for c in g.consumers.get(o, [])]
            if cons and all(c in nodes for c in cons) and not any(o in g.data for o in outs):
                nodes.add(i)
                changed = True


def _mha(params: dict, h: int, causal: bool, x: np.ndarray) -> np.ndarray:
    """NN Studio's MultiHeadAttention in float64 (the layer itself)."""
    from engine.registry import Ctx, build_layer

    layer = build_layer("MultiHeadAttention.v1", {"num_heads": h, "causal": causal})
    y, _ = layer.forward(params, {}, [x], Ctx(train=False))
    return y
