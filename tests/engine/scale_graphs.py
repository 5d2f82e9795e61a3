"""Generated large graphs for the scale tests and ``benchmarks/bench_scale.py``.

``big_graph(n, seed)`` builds an ``n``-node graph directly as a :class:`GraphSpec` (not
through ``add_node``/``connect``, which copy the node tuple on every edit): chains of
Dense/activation/Dropout layers with residual ``Add`` joins and ``Concatenate`` merges.
With ``faults=True`` it also plants the problems ``analyse`` reports (unknown types, bad
settings, shape mismatches, too few inputs, a cycle, dangling outputs, an input on an Input),
so that comparing two implementations covers every error path, not only the happy one.
"""
from __future__ import annotations

import random

from engine.spec import EdgeSpec, GraphSpec, NodeSpec


def big_graph(n: int, seed: int = 0, *, faults: bool = False, width: int = 8) -> GraphSpec:
    rnd = random.Random(seed)
    nodes: list[NodeSpec] = []
    edges: list[EdgeSpec] = []
    shape_of: dict[str, int] = {}  # the width each node is meant to produce

    def add(type_id, cfg, units=None, name=""):
        nid = f"n{len(nodes) + 1}"
        nodes.append(NodeSpec(nid, type_id, cfg, (float(len(nodes) % 50) * 10, float(len(nodes) // 50) * 10), name))
        if units is not None:
            shape_of[nid] = units
        return nid

    inputs = [add("Input.v1", {"shape": [width]}, width) for _ in range(2)]
    tail = inputs[0]
    recent = list(inputs)
    while len(nodes) < n - 1:
        r = rnd.random()
        if r < 0.45:
            u = rnd.choice([width, width, 4, 16])
            nid = add("Dense.v1", {"units": u, "activation": rnd.choice(["relu", "tanh", "linear"])}, u)
            edges.append(EdgeSpec(tail, nid, 0))
        elif r < 0.6:
            nid = add(rnd.choice(["ReLU.v1", "Tanh.v1", "Sigmoid.v1"]), {}, shape_of[tail])
            edges.append(EdgeSpec(tail, nid, 0))
        elif r < 0.68:
            nid = add("Dropout.v1", {"rate": 0.1}, shape_of[tail])
            edges.append(EdgeSpec(tail, nid, 0))
        elif r < 0.82:
            # residual join with an earlier node of the same width (or a projection of it)
            same = [m for m in recent if shape_of.get(m) == shape_of[tail] and m != tail]
            if same:
                other = rnd.choice(same)
            else:
                other = add("Dense.v1", {"units": shape_of[tail]}, shape_of[tail])
                edges.append(EdgeSpec(rnd.choice(recent), other, 0))
            nid = add("Add.v1", {}, shape_of[tail])
            edges.append(EdgeSpec(tail, nid, 0))
            edges.append(EdgeSpec(other, nid, 1))
        else:
            other = rnd.choice(recent)
            nid = add("Concatenate.v1", {}, shape_of[tail] + shape_of[other])
            edges.append(EdgeSpec(other, nid, 1))
            edges.append(EdgeSpec(tail, nid, 0))
            # keep the widths small: project back down
            if len(nodes) < n - 1:
                proj = add("Dense.v1", {"units": width}, width)
                edges.append(EdgeSpec(nid, proj, 0))
                nid = proj
        tail = nid
        recent.append(nid)
        if len(recent) > 12:
            recent.pop(0)
    out = add("Dense.v1", {"units": 3, "activation": "softmax"}, 3, name="classifier")
    edges.append(EdgeSpec(tail, out, 0))
    # the second Input feeds a merge somewhere so that it is not a dangling output
    mids = [nd.id for nd in nodes if nd.type == "Add.v1" and shape_of[nd.id] == width]
    if mids:
        # Add takes any number of inputs: a third port
        edges.append(EdgeSpec(inputs[1], rnd.choice(mids), 2))

    if faults:
        # each fault hangs off the main graph as a side branch, so that the rest keeps its
        # shapes (a fault on the chain itself would leave everything after it without a shape)
        good = [nd.id for nd in nodes if nd.type != "Input.v1" and shape_of.get(nd.id) == width]
        k = max(1, n // 200)

        def branch(type_id, cfg, src):
            nid = f"n{len(nodes) + 1}"
            nodes.append(NodeSpec(nid, type_id, cfg))
            if src is not None:
                edges.append(EdgeSpec(src, nid, 0))
            return nid

        for _ in range(k):
            branch("Nonsense.v1", {}, rnd.choice(good))
            branch("Dense.v1", {"units": -3}, rnd.choice(good))
            branch("Reshape.v1", {"shape": [7, 5]}, rnd.choice(good))  # 35 values from 8
            branch("Add.v1", {}, rnd.choice(good))  # one input where two are needed
            branch("Dense.v1", {"units": 2}, rnd.choice(good))  # fine, but dangling
        branch("Dense.v1", {"units": 2}, None)  # no input
        branch("Input.v1", {"shape": [width]}, rnd.choice(good))  # an Input fed by a layer
        c1 = branch("Dense.v1", {"units": 2}, None)
        c2 = branch("Dense.v1", {"units": 2}, c1)
        edges.append(EdgeSpec(c2, c1, 0))  # a cycle of two
        branch("Dense.v1", {"units": 2}, c2)  # downstream of the cycle
    return GraphSpec(tuple(nodes), tuple(edges), len(nodes) + 1)
