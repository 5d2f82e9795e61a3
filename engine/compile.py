"""Validation and shape inference of a :class:`GraphSpec`.

``analyse(spec)`` never raises: it returns every node's output shape (or
``None``) and a plain-words message for every node that has a problem, which
is what the canvas shows live.  :func:`engine.model.compile_graph` raises the
first problem as a :class:`GraphError` naming the node, or returns a runnable
:class:`engine.model.CompiledModel` (it lives beside the model, so that this
module imports neither the model nor the memory check).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from engine.errors import UserError
from engine.registry import ConfigError, Layer, RegistryError, ShapeError, build_layer, get_layer_class
from engine.spec import GraphSpec, NodeSpec, SpecError


class GraphError(UserError):
    """A problem with one node (``node_id``) or the graph as a whole (``node_id=None``)."""

    def __init__(self, node_id: str | None, message: str):
        super().__init__(message)
        self.node_id = node_id
        self.message = message


def describe(node: NodeSpec) -> str:
    """``Dense 'n3'`` or ``Dense 'classifier'`` — how messages name a node."""
    base = node.type.split(".")[0]
    return f"{base} '{node.label}'"


@dataclass
class Analysis:
    order: list[str] = field(default_factory=list)
    layers: dict[str, Layer] = field(default_factory=dict)
    shapes: dict[str, tuple | None] = field(default_factory=dict)
    errors: dict[str | None, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    output: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def first_error(self) -> GraphError | None:
        if not self.errors:
            return None
        # graph-level problems first, then in topological order
        if None in self.errors:
            return GraphError(None, self.errors[None])
        for nid in self.order + list(self.errors):
            if nid in self.errors:
                return GraphError(nid, self.errors[nid])
        return None  # pragma: no cover


def _topo(spec: GraphSpec) -> tuple[list[str], set[str], dict[str, list[str]]]:
    ids = spec.node_ids
    rank = {nid: i for i, nid in enumerate(ids)}
    indeg = {nid: 0 for nid in ids}
    succ: dict[str, list[str]] = {nid: [] for nid in ids}
    for e in spec.edges:
        indeg[e.dst] += 1
        succ[e.src].append(e.dst)
    heap = [(rank[n], n) for n in ids if indeg[n] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        _, n = heapq.heappop(heap)
        order.append(n)
        for m in succ[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                heapq.heappush(heap, (rank[m], m))
    cyclic = {n for n in ids if indeg[n] > 0}
    return order, cyclic, succ


def topo_order(spec: GraphSpec) -> tuple[list[str], set[str]]:
    """Kahn's algorithm with ties broken by node order; returns (order, nodes on cycles)."""
    order, cyclic, _ = _topo(spec)
    return order, cyclic


def _cycle_message(node: NodeSpec) -> str:
    return f"{describe(node)} is part of a cycle; a network must flow one way"


def _build(node: NodeSpec, layers: dict, build_errors: dict) -> None:
    """The node's layer into ``layers``, or its problem into ``build_errors``."""
    try:
        layers[node.id] = build_layer(node.type, node.config)
    except RegistryError:
        build_errors[node.id] = f"{describe(node)} has an unknown layer type {node.type!r}"
    except ConfigError as exc:
        build_errors[node.id] = f"{describe(node)}: {exc}"


def _graph_problems(spec: GraphSpec, inputs: list, sinks: list) -> tuple[dict, str | None]:
    """The graph-level problems (no Input, several outputs; they do not replace a node's own
    problem) and the output node."""
    graph_errors: dict = {}
    if not inputs:
        graph_errors[None] = "the graph has no Input layer"
    if len(sinks) == 1:
        return graph_errors, sinks[0]
    if len(sinks) > 1 and inputs:
        names = ", ".join(describe(spec.node(s)) for s in sinks[:5]) + (", …" if len(sinks) > 5 else "")
        graph_errors[None] = (f"the graph has {len(sinks)} unconnected outputs ({names}); "
                              "connect them so that exactly one layer is the model's output")
        for s in sinks:
            if s not in inputs:
                graph_errors[s] = (f"{describe(spec.node(s))} is not connected to the output; "
                                   "connect it onward or delete it")
    return graph_errors, None


def _flow(spec: GraphSpec, nid: str, layer: Layer | None, shapes: dict, errors: dict) -> tuple | None:
    """One node's output shape from its inputs' shapes; its problem, if any, into ``errors``."""
    if layer is None:
        return None
    node = spec.node(nid)
    in_edges = spec.inputs_of(nid)
    expected = layer.n_inputs
    if expected is None:
        if len(in_edges) < 2:
            errors[nid] = f"{describe(node)} needs at least two inputs, has {len(in_edges)}"
            return None
    elif len(in_edges) != expected:
        if expected == 0:
            msg = f"{describe(node)} is where data enters and cannot have inputs"
        elif not in_edges:
            msg = f"{describe(node)} has no input; connect a layer into it"
        else:
            msg = f"{describe(node)} takes {expected} input(s), has {len(in_edges)}"
        errors[nid] = msg
        return None
    elif expected > 1 and sorted(e.dst_port for e in in_edges) != list(range(expected)):
        errors[nid] = f"{describe(node)} has its inputs on the wrong ports"
        return None
    in_shapes = [shapes.get(e.src) for e in in_edges]
    if any(s is None for s in in_shapes):
        return None  # an upstream node already carries the error
    try:
        return tuple(int(d) for d in layer.output_shape(in_shapes))
    except ShapeError as exc:
        errors[nid] = f"{describe(node)} {exc}"
        return None


class _State:
    """What :func:`analyse` keeps so that an edit of the same graph can be re-analysed: the topology,
    and the problems by kind (merged, they give ``errors`` in the order a full analysis inserts them)."""

    __slots__ = ("unique", "cyclic", "succ", "rank", "sinks", "cycle", "build", "graph", "flow")

    def errors(self) -> dict:
        errors = dict(self.cycle)      # cycles first,
        errors.update(self.build)      # a layer that cannot be built says so instead,
        for k, msg in self.graph.items():   # graph-level problems do not replace a node's own,
            errors.setdefault(k, msg)
        errors.update(self.flow)       # the shape inference's problems, in topological order
        return errors


def analyse(spec: GraphSpec, previous: tuple[GraphSpec, Analysis] | None = None) -> Analysis:
    """Every node's output shape and problem (see the module docstring).

    ``previous`` -- the spec before an edit and its analysis -- makes it incremental: when the
    edit kept every node and edge (settings, names or positions changed), only the changed nodes'
    layers are rebuilt and only the nodes whose input shapes changed are inferred again.  The
    result is the same as without it, to the order of its dicts.
    """
    if previous is not None:
        a = _reanalyse(spec, *previous)
        if a is not None:
            return a
    a = Analysis()
    if not spec.nodes:
        a.errors[None] = "the graph is empty: add an Input layer and at least one layer after it"
        return a
    st = _State()
    order, st.cyclic, st.succ = _topo(spec)
    st.unique = len(st.succ) == len(spec.nodes)
    st.rank = None
    a.order = order
    st.cycle = {}
    for nid in st.cyclic:
        st.cycle[nid] = _cycle_message(spec.node(nid))
        a.shapes[nid] = None
    st.build = {}
    for node in spec.nodes:
        _build(node, a.layers, st.build)
    a.inputs = [n.id for n in spec.nodes if n.type.startswith("Input.")]
    st.sinks = [n.id for n in spec.nodes if not spec.outputs_of(n.id)]
    st.graph, a.output = _graph_problems(spec, a.inputs, st.sinks)
    st.flow = {}
    layers, shapes = a.layers, a.shapes
    for nid in order:
        shapes[nid] = _flow(spec, nid, layers.get(nid), shapes, st.flow)
    a.errors = st.errors()
    a._state = st
    return a


def _reanalyse(spec: GraphSpec, before: GraphSpec, prev: Analysis) -> Analysis | None:
    """:func:`analyse` of ``spec`` from the analysis of ``before``; None when the edit changed the
    graph's nodes or edges (or a node's type), which needs the full analysis."""
    st0: _State | None = getattr(prev, "_state", None)
    if st0 is None or not st0.unique or not spec.nodes:
        return None
    if spec.edges is not before.edges and spec.edges != before.edges:
        return None
    if len(spec.nodes) != len(before.nodes):
        return _added_or_removed(spec, before, prev, st0)
    changed = []
    for n, o in zip(spec.nodes, before.nodes):
        if n is not o:
            if n.id != o.id or n.type != o.type:
                return None
            changed.append(n)
    st = _State()
    st.unique, st.cyclic, st.succ, st.sinks = True, st0.cyclic, st0.succ, st0.sinks
    if st0.rank is None:
        st0.rank = {nid: i for i, nid in enumerate(prev.order)}
    st.rank = rank = st0.rank
    a = Analysis(order=list(prev.order), inputs=list(prev.inputs))
    st.cycle, st.build, layers = dict(st0.cycle), dict(st0.build), dict(prev.layers)
    reorder_build = reorder_layers = False
    for node in changed:
        nid = node.id
        if nid in st.cyclic:
            st.cycle[nid] = _cycle_message(node)   # names the node: a rename changes it
        built: dict = {}
        problem: dict = {}
        _build(node, built, problem)
        # a value replaced in place keeps its place in the dict; a new key must be put back in node order
        if nid in built:
            reorder_layers |= nid not in layers
            layers[nid] = built[nid]
        else:
            layers.pop(nid, None)
        if nid in problem:
            reorder_build |= nid not in st.build
            st.build[nid] = problem[nid]
        else:
            st.build.pop(nid, None)
    if reorder_layers:
        layers = {n.id: layers[n.id] for n in spec.nodes if n.id in layers}
    if reorder_build:
        st.build = {n.id: st.build[n.id] for n in spec.nodes if n.id in st.build}
    a.layers = layers
    st.graph, a.output = _graph_problems(spec, a.inputs, st.sinks)
    # infer the changed nodes again, then whatever downstream saw an input shape change, in topological order
    shapes, flow = dict(prev.shapes), dict(st0.flow)
    heap = [(rank[n.id], n.id) for n in changed if n.id in rank]
    heapq.heapify(heap)
    queued = {nid for _, nid in heap}
    new_problem = False
    while heap:
        _, nid = heapq.heappop(heap)
        found: dict = {}
        shape = _flow(spec, nid, layers.get(nid), shapes, found)
        if found:
            new_problem |= nid not in flow
            flow[nid] = found[nid]
        else:
            flow.pop(nid, None)
        if shape != shapes[nid]:
            shapes[nid] = shape
            for m in st.succ[nid]:
                if m not in queued and m in rank:
                    queued.add(m)
                    heapq.heappush(heap, (rank[m], m))
    if new_problem:
        flow = dict(sorted(flow.items(), key=lambda kv: rank[kv[0]]))
    st.flow = flow
    a.shapes = shapes
    a.errors = st.errors()
    a._state = st
    return a


def _added_or_removed(spec: GraphSpec, before: GraphSpec, prev: Analysis, st0: _State) -> Analysis | None:
    """One unconnected node appended (a layer dropped on the canvas) or removed (its undo), every
    other node and edge the same; None for any other change.

    Such a node is its own sink and feeds nothing: Kahn's order is the old one with it at the end
    (ready from the start, it has the largest rank) or without it, and no other shape changes.
    """
    n, m = len(spec.nodes), len(before.nodes)
    if n == m + 1 and all(x is y for x, y in zip(spec.nodes, before.nodes)):
        node, added = spec.nodes[-1], True
    elif n == m - 1 and all(x is y for x, y in zip(spec.nodes, before.nodes)):
        node, added = before.nodes[-1], False
    else:
        return None
    nid = node.id
    if added and before.has_node(nid) or before.inputs_of(nid) or before.outputs_of(nid) \
            or spec.inputs_of(nid) or spec.outputs_of(nid):
        return None
    st = _State()
    st.unique, st.cyclic, st.rank = True, st0.cyclic, None
    st.succ = dict(st0.succ)
    st.cycle, st.build, st.flow = dict(st0.cycle), dict(st0.build), dict(st0.flow)
    a = Analysis(order=list(prev.order), inputs=list(prev.inputs), layers=dict(prev.layers),
                 shapes=dict(prev.shapes))
    if added:
        st.succ[nid] = []
        st.sinks = st0.sinks + [nid]
        a.order.append(nid)
        if node.type.startswith("Input."):
            a.inputs.append(nid)
        _build(node, a.layers, st.build)
        a.shapes[nid] = _flow(spec, nid, a.layers.get(nid), a.shapes, st.flow)
    else:
        del st.succ[nid]
        st.sinks = [s for s in st0.sinks if s != nid]
        a.order.remove(nid)
        if nid in a.inputs:
            a.inputs.remove(nid)
        for d in (a.layers, a.shapes, st.build, st.flow):
            d.pop(nid, None)
    st.graph, a.output = _graph_problems(spec, a.inputs, st.sinks)
    a.errors = st.errors()
    a._state = st
    return a


def input_port(spec: GraphSpec, dst: str, port: int = -1) -> int:
    """The input port of ``dst`` a new connection goes to: ``port``, or for ``-1`` the first
    (a layer with a fixed number of inputs: connecting replaces what is there) or the next
    free one (a layer that takes any number of inputs)."""
    if port >= 0:
        return port
    if get_layer_class(spec.node(dst).type).n_inputs is None:
        return max((e.dst_port for e in spec.inputs_of(dst)), default=-1) + 1
    return 0


def connection_problem(spec: GraphSpec, src: str, dst: str, port: int = -1) -> str | None:
    """Why ``src`` cannot feed ``dst`` on ``port`` (see :func:`input_port`), or ``None``.

    What the canvas asks before it connects: :func:`analyse`'s rules (an Input takes no
    input, a layer's number of inputs, known layer types, no cycles) in its words, checked for
    the one new connection, so that a refused connection and a graph error say the same.
    """
    if not (spec.has_node(src) and spec.has_node(dst)):
        return "that layer no longer exists"
    s_node, d_node = spec.node(src), spec.node(dst)
    if src == dst:
        return f"{describe(d_node)} cannot feed itself; a network must flow one way"
    try:
        n_in = get_layer_class(d_node.type).n_inputs
    except RegistryError:
        return f"{describe(d_node)} has an unknown layer type {d_node.type!r}"
    if n_in == 0:
        return f"{describe(d_node)} is where data enters and cannot have inputs"
    port = input_port(spec, dst, port)
    if n_in is not None:
        if port >= n_in:
            return f"{describe(d_node)} takes only {n_in} input(s)"
        if any(e.src == src and e.dst == dst for e in spec.edges):
            return f"{describe(s_node)} is already connected to {describe(d_node)}"
    try:
        after = spec.connect(src, dst, port)
    except SpecError as exc:
        return str(exc)
    if topo_order(after)[1]:
        return f"{describe(d_node)} would be part of a cycle; a network must flow one way"
    return None
