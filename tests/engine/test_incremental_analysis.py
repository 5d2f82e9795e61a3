"""``analyse(spec, previous=(before, analysis))`` re-analyses only what an edit changed, and gives
exactly what a full ``analyse(spec)`` gives: every field, the order of its dicts, every error path."""
from __future__ import annotations

import random

import pytest

from engine import compile as compile_mod
from engine.compile import analyse
from tests.engine.scale_graphs import big_graph


def _exact(a):
    """An analysis as plain data, with the dicts' order (``==`` on dicts ignores it)."""
    return {"order": a.order, "errors": list(a.errors.items()), "shapes": list(a.shapes.items()),
            "inputs": a.inputs, "output": a.output,
            "layers": [(k, type(v).__name__, v.cfg) for k, v in a.layers.items()]}


def _record(monkeypatch, name: str) -> list:
    """The node ids ``compile._build`` (a layer made) or ``compile._flow`` (a shape inferred) is called for."""
    calls: list = []
    real = getattr(compile_mod, name)

    def spy(*args):
        calls.append(args[0].id if name == "_build" else args[1])
        return real(*args)
    monkeypatch.setattr(compile_mod, name, spy)
    return calls


def _random_edit(spec, rnd):
    node = rnd.choice(spec.nodes)
    kind = rnd.random()
    if kind < 0.08:   # a layer dropped on the canvas (unconnected), or that undone
        last = spec.nodes[-1]
        if rnd.random() < 0.5 and not spec.inputs_of(last.id) and not spec.outputs_of(last.id):
            return spec.remove_nodes([last.id])
        return spec.add_node(rnd.choice(["Dense.v1", "Input.v1", "ReLU.v1", "Nonsense.v1"]),
                             {"units": 3} if rnd.random() < 0.5 else {})[0]
    if kind < 0.15:
        return spec.rename(node.id, rnd.choice(["", "head", f"x{rnd.randrange(9)}"]))
    if kind < 0.25:
        return spec.move_nodes({node.id: (rnd.uniform(-500, 500), rnd.uniform(-500, 500))})
    if node.type == "Dense.v1":
        units = rnd.choice([-3, 0, 1, 8, 8, 16, 4, node.config.get("units", 8)])  # <= 0: a settings error
        if rnd.random() < 0.3:
            return spec.set_config(node.id, activation=rnd.choice(["relu", "tanh", "linear", "softmax"]))
        return spec.set_config(node.id, units=units)
    if node.type == "Dropout.v1":
        return spec.set_config(node.id, rate=rnd.choice([0.1, 0.5, 2.0]))  # 2.0: out of range
    if node.type == "Input.v1":
        return spec.set_config(node.id, shape=rnd.choice([[8], [4], [8], [2, 4]]))
    if node.type == "Reshape.v1":
        return spec.set_config(node.id, shape=rnd.choice([[7, 5], [2, 4], [8]]))
    return spec.rename(node.id, f"r{rnd.randrange(99)}")


@pytest.mark.parametrize("seed,faults", [(0, False), (1, True), (2, True), (3, False), (4, True)])
def test_a_chain_of_edits_analysed_incrementally_equals_full_analyses(seed, faults):
    rnd = random.Random(seed)
    spec = big_graph(300 + 40 * seed, seed=seed, faults=faults)
    an = analyse(spec)
    for _ in range(80):
        after = _random_edit(spec, rnd)
        inc = analyse(after, previous=(spec, an))
        assert _exact(inc) == _exact(analyse(after))
        assert (inc.first_error() and inc.first_error().message) == (analyse(after).first_error()
                                                                    and analyse(after).first_error().message)
        spec, an = after, inc   # the next edit starts from the incremental result


def test_an_edit_rebuilds_only_the_changed_layer_and_infers_only_downstream(monkeypatch):
    spec = big_graph(1000, seed=1)
    an = analyse(spec)
    built, flowed = _record(monkeypatch, "_build"), _record(monkeypatch, "_flow")
    # a setting that keeps the output shape: one layer built, one node inferred
    node = next(n for n in spec.nodes if n.type == "Dense.v1" and n.config.get("activation") != "tanh")
    after = spec.set_config(node.id, activation="tanh")
    analyse(after, previous=(spec, an))
    assert built == [node.id] and flowed == [node.id]
    # a rename: messages name the node, so it is rebuilt, but nothing downstream
    built.clear(), flowed.clear()
    analyse(spec.rename(node.id, "hidden"), previous=(spec, an))
    assert built == [node.id] and flowed == [node.id]
    # a new width: the node and the nodes its shape reaches, in topological order, not the whole graph
    # (a layer near the end: a new width early on breaks the shapes of everything after it)
    node = next(spec.node(n) for n in an.order[-100:] if spec.node(n).type == "Dense.v1")
    after = spec.set_config(node.id, units=int(node.config["units"]) + 3)
    full = analyse(after)
    changed = {n for n in full.order if full.shapes[n] != an.shapes[n] or full.errors.get(n) != an.errors.get(n)}
    built.clear(), flowed.clear()
    analyse(after, previous=(spec, an))
    assert built == [node.id] and changed <= set(flowed) and len(flowed) < len(spec.nodes) // 2
    rank = {n: i for i, n in enumerate(full.order)}
    assert flowed == sorted(flowed, key=rank.get)


def test_edits_that_change_nodes_or_edges_are_analysed_in_full(monkeypatch):
    spec = big_graph(200, seed=2)
    an = analyse(spec)
    calls = _record(monkeypatch, "_build")
    e = spec.edges[3]
    added, nid = spec.add_node("Dense.v1", {"units": 2})
    for after in (spec.disconnect(e.src, e.dst, e.dst_port), spec.remove_nodes([spec.nodes[-1].id]),
                  added.connect(spec.nodes[-1].id, nid)):
        calls.clear()
        got = analyse(after, previous=(spec, an))
        assert len(calls) == len(after.nodes)
        assert _exact(got) == _exact(analyse(after))


def test_an_unconnected_layer_added_or_removed_is_analysed_alone(monkeypatch):
    spec = big_graph(1000, seed=5)
    an = analyse(spec)
    built = _record(monkeypatch, "_build")
    after, nid = spec.add_node("Dense.v1", {"units": 4}, pos=(10, 10))
    got = analyse(after, previous=(spec, an))
    assert built == [nid] and "has no input" in got.errors[nid]
    assert "unconnected outputs" in got.errors[None] and _exact(got) == _exact(analyse(after))
    built.clear()
    back = analyse(spec, previous=(after, got))   # its undo
    assert built == [] and _exact(back) == _exact(an)
    # connected to something: a real change of the graph, analysed in full
    built.clear()
    joined = after.connect(spec.nodes[-1].id, nid)
    analyse(joined, previous=(after, got))
    assert len(built) == len(joined.nodes)
