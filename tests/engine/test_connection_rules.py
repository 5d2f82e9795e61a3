"""engine.compile.connection_problem: the canvas's connection rules are analyse()'s, in its words (issue 14)."""
import pytest

from engine import i18n
from engine.compile import analyse, connection_problem, input_port
from engine.spec import GraphSpec, sequential


def chain():
    """Input -> Dense -> Dense (n1, n2, n3)."""
    return sequential([("Input.v1", {"shape": [4]}), ("Dense.v1", {"units": 3}), ("Dense.v1", {"units": 2})])


def test_a_valid_connection_has_no_problem_and_takes_the_first_port():
    g = GraphSpec()
    g, a = g.add_node("Input.v1", {"shape": [4]})
    g, b = g.add_node("Dense.v1", {"units": 2})
    assert connection_problem(g, a, b) is None
    assert input_port(g, b) == 0


def test_into_an_input_says_what_the_graph_error_says():
    g = GraphSpec()
    g, a = g.add_node("Input.v1", {"shape": [4]})
    g, d = g.add_node("Dense.v1", {"units": 4})
    why = connection_problem(g, d, a)
    assert why == "Input 'n1' is where data enters and cannot have inputs"
    # the same connection forced into the graph: analyse names the same rule in the same words
    assert analyse(g.connect(d, a)).errors[a] == why
    assert connection_problem(chain(), "n2", "n1") == why


def test_into_an_unknown_layer_type_says_what_the_graph_error_says():
    g = GraphSpec()
    g, a = g.add_node("Input.v1", {"shape": [4]})
    g, b = g.add_node("Nope.v1", {})
    why = connection_problem(g, a, b)
    assert why == "Nope 'n2' has an unknown layer type 'Nope.v1'"
    assert analyse(g.connect(a, b)).errors[b] == why


def test_cycles_self_loops_repeats_and_missing_ports_are_refused():
    g = chain()
    n1, n2, n3 = g.node_ids
    assert connection_problem(g, n3, n2) == "Dense 'n2' would be part of a cycle; a network must flow one way"
    assert connection_problem(g, n2, n2) == "Dense 'n2' cannot feed itself; a network must flow one way"
    assert connection_problem(g, n1, n2) == "Input 'n1' is already connected to Dense 'n2'"
    assert connection_problem(g, n1, n3, port=1) == "Dense 'n3' takes only 1 input(s)"
    assert connection_problem(g, n1, "n99") == "that layer no longer exists"


def test_a_layer_of_any_number_of_inputs_gets_the_next_free_port():
    g = GraphSpec()
    g, a = g.add_node("Input.v1", {"shape": [4]})
    g, b = g.add_node("Dense.v1", {"units": 4})
    g, c = g.add_node("Concatenate.v1", {})
    g = g.connect(a, c, 0)
    assert input_port(g, c) == 1
    assert connection_problem(g, b, c) is None
    assert connection_problem(g, a, b) is None   # fixed inputs: connecting replaces port 0


@pytest.mark.parametrize("src,dst,port", [("n2", "n1", -1), ("n3", "n2", -1), ("n2", "n2", -1), ("n1", "n2", -1),
                                          ("n1", "n3", 1), ("n1", "n99", -1)])
def test_every_refusal_reads_chinese(src, dst, port):
    why = connection_problem(chain(), src, dst, port)
    zh = i18n.translate(why, "zh_CN")
    assert zh != why and any("\u4e00" <= ch <= "\u9fff" for ch in zh), zh
