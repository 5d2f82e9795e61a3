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


def topo_order(spec: GraphSpec) -> tuple[list[str], set[str]]:
    """Kahn's algorithm with ties broken by node order; returns (order, nodes on cycles)."""
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
    return order, cyclic


def analyse(spec: GraphSpec) -> Analysis:
    a = Analysis()
    if not spec.nodes:
        a.errors[None] = "the graph is empty: add an Input layer and at least one layer after it"
        return a
    order, cyclic = topo_order(spec)
    a.order = order
    for nid in cyclic:
        a.errors[nid] = f"{describe(spec.node(nid))} is part of a cycle; a network must flow one way"
        a.shapes[nid] = None

    for node in spec.nodes:
        try:
            a.layers[node.id] = build_layer(node.type, node.config)
        except RegistryError:
            a.errors[node.id] = f"{describe(node)} has an unknown layer type {node.type!r}"
        except ConfigError as exc:
            a.errors[node.id] = f"{describe(node)}: {exc}"

    a.inputs = [n.id for n in spec.nodes if n.type.startswith("Input.")]
    if not a.inputs:
        a.errors.setdefault(None, "the graph has no Input layer")
    sinks = [n.id for n in spec.nodes if not spec.outputs_of(n.id)]
    if len(sinks) == 1:
        a.output = sinks[0]
    elif len(sinks) > 1 and None not in a.errors:
        names = ", ".join(describe(spec.node(s)) for s in sinks)
        a.errors[None] = (f"the graph has {len(sinks)} unconnected outputs ({names}); "
                          "connect them so that exactly one layer is the model's output")
        for s in sinks:
            if s not in a.inputs:
                a.errors.setdefault(s, f"{describe(spec.node(s))} is not connected to the output; "
                                       "connect it onward or delete it")

    for nid in order:
        node = spec.node(nid)
        layer = a.layers.get(nid)
        in_edges = spec.inputs_of(nid)
        if layer is None:
            a.shapes[nid] = None
            continue
        expected = layer.n_inputs
        ports = [e.dst_port for e in in_edges]
        if expected is None:
            if len(in_edges) < 2:
                a.errors[nid] = f"{describe(node)} needs at least two inputs, has {len(in_edges)}"
                a.shapes[nid] = None
                continue
        elif len(in_edges) != expected:
            if expected == 0:
                msg = f"{describe(node)} is where data enters and cannot have inputs"
            elif not in_edges:
                msg = f"{describe(node)} has no input; connect a layer into it"
            else:
                msg = f"{describe(node)} takes {expected} input(s), has {len(in_edges)}"
            a.errors[nid] = msg
            a.shapes[nid] = None
            continue
        elif expected > 1 and sorted(ports) != list(range(expected)):
            a.errors[nid] = f"{describe(node)} has its inputs on the wrong ports"
            a.shapes[nid] = None
            continue
        in_shapes = [a.shapes.get(e.src) for e in in_edges]
        if any(s is None for s in in_shapes):
            a.shapes[nid] = None  # an upstream node already carries the error
            continue
        try:
            a.shapes[nid] = tuple(int(d) for d in layer.output_shape(in_shapes))
        except ShapeError as exc:
            a.errors[nid] = f"{describe(node)} {exc}"
            a.shapes[nid] = None
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
