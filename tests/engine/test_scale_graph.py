"""Graph analysis at scale: the indexed ``GraphSpec`` queries and the cached config fields
give exactly what the previous linear-scan implementation gave (kept here as the reference)."""
from __future__ import annotations

import heapq

import pytest

from engine import registry
from engine.compile import analyse, describe, topo_order
from engine.registry import ConfigError, RegistryError, ShapeError, build_layer
from engine.spec import EdgeSpec, GraphSpec, NodeSpec, sequential
from tests.engine.scale_graphs import big_graph


# ---------------------------------------------------------------- the reference (before issue #18)
def _node(spec, nid):
    for n in spec.nodes:
        if n.id == nid:
            return n
    raise KeyError(nid)


def _inputs_of(spec, nid):
    return sorted((e for e in spec.edges if e.dst == nid), key=lambda e: e.dst_port)


def _outputs_of(spec, nid):
    return [e for e in spec.edges if e.src == nid]


def _ref_topo(spec):
    ids = [n.id for n in spec.nodes]
    rank = {nid: i for i, nid in enumerate(ids)}
    indeg = {nid: 0 for nid in ids}
    succ = {nid: [] for nid in ids}
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
    return order, {n for n in ids if indeg[n] > 0}


def _ref_analyse(spec):
    """``engine.compile.analyse`` as it was, on linear scans (returns plain dicts)."""
    errors, shapes, layers = {}, {}, {}
    order, cyclic = _ref_topo(spec)
    for nid in cyclic:
        errors[nid] = f"{describe(_node(spec, nid))} is part of a cycle; a network must flow one way"
        shapes[nid] = None
    for node in spec.nodes:
        try:
            layers[node.id] = build_layer(node.type, node.config)
        except RegistryError:
            errors[node.id] = f"{describe(node)} has an unknown layer type {node.type!r}"
        except ConfigError as exc:
            errors[node.id] = f"{describe(node)}: {exc}"
    inputs = [n.id for n in spec.nodes if n.type.startswith("Input.")]
    if not inputs:
        errors.setdefault(None, "the graph has no Input layer")
    sinks = [n.id for n in spec.nodes if not _outputs_of(spec, n.id)]
    output = None
    if len(sinks) == 1:
        output = sinks[0]
    elif len(sinks) > 1 and None not in errors:
        names = ", ".join(describe(_node(spec, s)) for s in sinks[:5]) + (", …" if len(sinks) > 5 else "")
        errors[None] = (f"the graph has {len(sinks)} unconnected outputs ({names}); "
                        "connect them so that exactly one layer is the model's output")
        for s in sinks:
            if s not in inputs:
                errors.setdefault(s, f"{describe(_node(spec, s))} is not connected to the output; "
                                     "connect it onward or delete it")
    for nid in order:
        node = _node(spec, nid)
        layer = layers.get(nid)
        in_edges = _inputs_of(spec, nid)
        if layer is None:
            shapes[nid] = None
            continue
        expected = layer.n_inputs
        ports = [e.dst_port for e in in_edges]
        if expected is None:
            if len(in_edges) < 2:
                errors[nid] = f"{describe(node)} needs at least two inputs, has {len(in_edges)}"
                shapes[nid] = None
                continue
        elif len(in_edges) != expected:
            if expected == 0:
                msg = f"{describe(node)} is where data enters and cannot have inputs"
            elif not in_edges:
                msg = f"{describe(node)} has no input; connect a layer into it"
            else:
                msg = f"{describe(node)} takes {expected} input(s), has {len(in_edges)}"
            errors[nid] = msg
            shapes[nid] = None
            continue
        elif expected > 1 and sorted(ports) != list(range(expected)):
            errors[nid] = f"{describe(node)} has its inputs on the wrong ports"
            shapes[nid] = None
            continue
        in_shapes = [shapes.get(e.src) for e in in_edges]
        if any(s is None for s in in_shapes):
            shapes[nid] = None
            continue
        try:
            shapes[nid] = tuple(int(d) for d in layer.output_shape(in_shapes))
        except ShapeError as exc:
            errors[nid] = f"{describe(node)} {exc}"
            shapes[nid] = None
    return {"order": order, "errors": errors, "shapes": shapes, "inputs": inputs, "output": output,
            "layers": {k: (type(v).__name__, v.cfg) for k, v in layers.items()}}


def _as_dicts(a):
    return {"order": a.order, "errors": a.errors, "shapes": a.shapes, "inputs": a.inputs, "output": a.output,
            "layers": {k: (type(v).__name__, v.cfg) for k, v in a.layers.items()}}


# ---------------------------------------------------------------- tests
def test_analyse_of_a_5000_node_graph_equals_the_reference():
    spec = big_graph(5000, seed=3)
    got = analyse(spec)
    assert got.ok and len(got.order) == 5000  # the generated graph is valid ...
    assert _as_dicts(got) == _ref_analyse(spec)  # ... and every shape and the order agree


def test_analyse_of_a_5000_node_graph_with_faults_equals_the_reference():
    spec = big_graph(5000, seed=4, faults=True)
    got = analyse(spec)
    ref = _ref_analyse(spec)
    # the faults reach every error path analyse has (no layer type takes a fixed number of inputs
    # above one today, so "inputs on the wrong ports" cannot occur)
    msgs = list(ref["errors"].values())
    for part in ("part of a cycle", "unknown layer type", "must be at least 1", "unconnected outputs",
                 "is not connected to the output", "cannot have inputs", "no input", "needs at least two inputs",
                 "Reshape '"):
        assert any(part in m for m in msgs), part
    assert _as_dicts(got) == ref
    assert got.first_error().message == ref["errors"][None]


@pytest.mark.parametrize("seed", range(8))
def test_analyse_of_small_random_graphs_equals_the_reference(seed):
    spec = big_graph(40 + 17 * seed, seed=seed, faults=seed % 2 == 1)
    assert _as_dicts(analyse(spec)) == _ref_analyse(spec)
    assert topo_order(spec) == _ref_topo(spec)


def test_indexed_queries_match_linear_scans():
    spec = big_graph(400, seed=9, faults=True)
    for n in spec.nodes:
        assert spec.node(n.id) is _node(spec, n.id)
        assert spec.has_node(n.id)
        assert spec.inputs_of(n.id) == _inputs_of(spec, n.id)
        assert spec.outputs_of(n.id) == _outputs_of(spec, n.id)
    assert not spec.has_node("nope") and not spec.has_node(["unhashable"])
    with pytest.raises(KeyError):
        spec.node("nope")
    # the returned lists are copies: a caller cannot change the spec's index
    first = spec.nodes[3].id
    spec.inputs_of(first).clear()
    assert spec.inputs_of(first) == _inputs_of(spec, first)


def test_same_port_twice_keeps_edge_order_and_duplicate_ids_resolve_to_the_first():
    a, b, c = NodeSpec("a", "Input.v1"), NodeSpec("b", "Input.v1"), NodeSpec("c", "Add.v1")
    spec = GraphSpec((a, b, c), (EdgeSpec("b", "c", 1), EdgeSpec("a", "c", 0), EdgeSpec("b", "c", 0)))
    assert spec.inputs_of("c") == _inputs_of(spec, "c")
    dup = GraphSpec((NodeSpec("x", "Input.v1"), NodeSpec("x", "Dense.v1")))
    assert dup.node("x").type == "Input.v1"


def test_edits_give_fresh_indexes():
    s = sequential([("Input.v1", {"shape": [4]}), ("Dense.v1", {"units": 3})])
    assert s.outputs_of("n1")[0].dst == "n2"
    s2, d = s.add_node("Dense.v1", {"units": 2})
    s3 = s2.connect("n2", d)
    assert s3.outputs_of("n2")[0].dst == d and s.outputs_of("n2") == [] and s2.inputs_of(d) == []
    s4 = s3.remove_nodes(["n2"])
    assert not s4.has_node("n2") and s4.outputs_of("n1") == [] and s3.has_node("n2")
    assert s3 == GraphSpec.from_dict(s3.to_dict())  # the cached tables are not part of equality


def test_cached_config_fields_equal_freshly_read_ones():
    from engine.trainer import TrainConfig

    for cls in [*registry.all_layers(), None]:
        cfg_cls = TrainConfig if cls is None else cls.Config
        assert registry.config_fields(cfg_cls) == registry._read_fields(cfg_cls)
        assert registry.config_fields(cfg_cls) is not registry.config_fields(cfg_cls)  # a fresh list each time
