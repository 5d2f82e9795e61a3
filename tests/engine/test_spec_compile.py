
import numpy as np
import pytest

from engine.compile import GraphError, analyse
from engine.model import compile_graph
from engine.spec import GraphSpec, SpecError, sequential


def mlp():
    return sequential([("Input.v1", {"shape": [4]}), ("Dense.v1", {"units": 8, "activation": "relu"}),
                       ("Dense.v1", {"units": 3, "activation": "softmax"})])


def test_spec_json_round_trip_and_ids_are_stable():
    s = mlp()
    s2 = GraphSpec.from_json(s.to_json())
    assert s2 == s
    assert s2.to_dict() == s.to_dict()
    s3, nid = s2.add_node("Dense.v1", {"units": 2})
    assert nid == "n4" and s3.next_id == 5


def test_pure_edits_do_not_mutate():
    s = mlp()
    before = s.to_dict()
    s.set_config("n2", units=16)
    s.move_nodes({"n1": (5, 5)})
    s.remove_nodes(["n3"])
    assert s.to_dict() == before
    assert s.set_config("n2", units=16).node("n2").config["units"] == 16
    assert s.remove_nodes(["n2"]).edges == ()


def test_connect_replaces_the_port_and_refuses_self_loops():
    s = mlp()
    s, extra = s.add_node("Input.v1", {"shape": [4]})
    s2 = s.connect(extra, "n2")
    assert [e.src for e in s2.inputs_of("n2")] == [extra]
    with pytest.raises(SpecError):
        s.connect("n2", "n2")


def test_migration_from_schema_0():
    old = {"nodes": [{"id": "n1", "type": "Input.v1", "config": {"shape": [2]}},
                     {"id": "n2", "type": "Dense.v1", "config": {"units": 1}}],
           "links": [{"from": "n1", "to": "n2"}]}
    s = GraphSpec.from_dict(old)
    assert s.inputs_of("n2")[0].src == "n1" and s.next_id == 3


@pytest.mark.parametrize("bad", [
    "[]", '{"nodes": [{"id": "a"}]}', '{"nodes": [], "edges": [{"src": "x", "dst": "y"}]}',
    '{"schema_version": 99}', '{"nodes": [{"id": "a", "type": "Dense.v1"}, {"id": "a", "type": "Dense.v1"}]}',
    "not json"])
def test_malformed_graphs_raise_spec_error(bad):
    with pytest.raises(SpecError):
        GraphSpec.from_json(bad)


def test_shape_inference_and_plain_errors():
    a = analyse(mlp())
    assert a.ok and a.shapes == {"n1": (4,), "n2": (8,), "n3": (3,)}
    bad = sequential([("Input.v1", {"shape": [32, 14, 14]}), ("Dense.v1", {"units": 8})])
    with pytest.raises(GraphError) as ei:
        compile_graph(bad)
    assert ei.value.node_id == "n2"
    assert "Dense 'n2' expects a flat input" in str(ei.value) and "add Flatten" in str(ei.value)


def test_cycles_missing_inputs_and_multiple_outputs_name_nodes():
    s = mlp()
    cyc = s.connect("n3", "n2", 0)  # replaces n1 -> n2 with n3 -> n2: a cycle n2 <-> n3
    a = analyse(cyc)
    assert "cycle" in a.errors["n2"] and "cycle" in a.errors["n3"]
    s2, d = s.add_node("Dense.v1", {"units": 2})
    a2 = analyse(s2)
    assert "no input" in a2.errors[d]
    s3 = s2.connect("n2", d)
    a3 = analyse(s3)
    assert None in a3.errors and "unconnected outputs" in a3.errors[None]
    s4, add = s.add_node("Add.v1")
    s4 = s4.connect("n3", add, 0)
    assert "at least two inputs" in analyse(s4).errors[add]
    s5 = s.set_config("n2", units=0)
    assert "at least 1" in analyse(s5).errors["n2"]
    s6, _ = GraphSpec().add_node("Mystery.v9")
    assert "unknown layer type" in next(iter(analyse(s6).errors.values()))
    assert "empty" in analyse(GraphSpec()).errors[None]


def test_branches_add_concatenate_and_fan_out():
    s, i = GraphSpec().add_node("Input.v1", {"shape": [4]})
    s, a = s.add_node("Dense.v1", {"units": 6, "activation": "relu"})
    s, b = s.add_node("Dense.v1", {"units": 6, "activation": "tanh"})
    s, add = s.add_node("Add.v1")
    s, cat = s.add_node("Concatenate.v1")
    s, out = s.add_node("Dense.v1", {"units": 1})
    for src, dst, port in [(i, a, 0), (i, b, 0), (a, add, 0), (b, add, 1), (add, cat, 0), (i, cat, 1), (cat, out, 0)]:
        s = s.connect(src, dst, port)
    m = compile_graph(s, seed=0, dtype=np.float64)
    assert m.shapes[cat] == (10,)
    x = np.random.default_rng(0).standard_normal((5, 4))
    y, back = m.forward_train(x, input_grads=True)
    assert y.shape == (5, 1)
    grads, in_grads = back(np.ones_like(y))
    # whole-model finite-difference check on the input gradient
    eps = 1e-6
    num = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num[idx] = (m.forward(xp).sum() - m.forward(xm).sum()) / (2 * eps)
    np.testing.assert_allclose(in_grads[i], num, rtol=1e-5, atol=1e-7)
    # fan-out of the input: gradient flows along all three paths
    assert set(grads) == {i, a, b, add, cat, out}


def test_state_dict_round_trip_and_mismatch_message():
    from engine.model import StateError
    m = compile_graph(mlp(), seed=3)
    sd = m.state_dict()
    assert set(sd) == {"n2/W", "n2/b", "n3/W", "n3/b"}
    m2 = compile_graph(mlp(), seed=4)
    assert not np.array_equal(m2.params["n2"]["W"], sd["n2/W"])
    m2.load_state_dict(sd)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(m.forward(x), m2.forward(x))
    with pytest.raises(StateError, match="missing n3/b"):
        m2.load_state_dict({k: v for k, v in sd.items() if k != "n3/b"})
    with pytest.raises(StateError, match="shape"):
        m2.load_state_dict({**sd, "n2/W": np.zeros((3, 3))})


def test_same_seed_same_weights():
    a = compile_graph(mlp(), seed=7).state_dict()
    b = compile_graph(mlp(), seed=7).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_fused_output_activation_is_stripped_for_logits():
    m = compile_graph(mlp(), seed=0)
    x = np.random.default_rng(1).standard_normal((4, 4)).astype(np.float32)
    logits = m.forward(x, logits=True)
    probs = m.forward(x)
    e = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(probs, e / e.sum(1, keepdims=True), rtol=1e-5)
    assert m.output_activation == "softmax"


def test_skipping_unused_input_gradients_changes_nothing_else():
    s = sequential([("Input.v1", {"shape": [6, 6, 2]}), ("Conv2D.v1", {"filters": 3, "activation": "relu"}),
                    ("Flatten.v1", {}), ("Dense.v1", {"units": 2})])
    m = compile_graph(s, seed=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((3, 6, 6, 2))
    y1, b1 = m.forward_train(x, input_grads=True)
    y2, b2 = m.forward_train(x)
    g1, i1 = b1(np.ones_like(y1))
    g2, i2 = b2(np.ones_like(y2))
    assert i1["n1"].shape == x.shape and i2 == {}
    for nid in g1:
        for k in g1[nid]:
            np.testing.assert_array_equal(g1[nid][k], g2[nid][k])


def test_many_unconnected_outputs_name_the_first_five():
    s = mlp()
    for _ in range(12):
        s, d = s.add_node("Dense.v1", {"units": 2})
        s = s.connect("n2", d)
    msg = analyse(s).errors[None]
    assert msg.startswith("the graph has 13 unconnected outputs (") and msg.count("Dense '") == 5 and ", …)" in msg
