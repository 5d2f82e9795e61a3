"""A top-to-bottom layered layout of a graph (the canvas's Auto-layout and imported models)."""
from __future__ import annotations

from engine.compile import topo_order

#: row height and column width of the layout, in canvas units
ROW, COL = 110.0, 230.0


def _mean_parent_x(spec, pos: dict, nid: str) -> float:
    """The mean x of a node's placed parents (its own x when none is placed yet)."""
    xs = [pos[e.src][0] for e in spec.inputs_of(nid) if e.src in pos]
    return (sum(xs) / len(xs)) if xs else spec.node(nid).pos[0]


def layered_layout(spec) -> dict[str, tuple[float, float]]:
    """Row = longest path from an input; within a row, nodes ordered by their parents' mean x."""
    order, cyclic = topo_order(spec)
    order = order + [n for n in spec.node_ids if n in cyclic]
    depth: dict[str, int] = {}
    for nid in order:
        parents = [e.src for e in spec.inputs_of(nid) if e.src in depth]
        depth[nid] = 1 + max((depth[p] for p in parents), default=-1)
    rows: dict[int, list[str]] = {}
    for nid in order:
        rows.setdefault(depth[nid], []).append(nid)
    pos: dict[str, tuple[float, float]] = {}
    for d in sorted(rows):
        ids = rows[d]
        ids.sort(key=lambda nid: _mean_parent_x(spec, pos, nid))
        k = len(ids)
        for i, nid in enumerate(ids):
            pos[nid] = ((i - (k - 1) / 2) * COL, d * ROW)
    return pos
