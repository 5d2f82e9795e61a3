import pytest

from engine.compile import analyse
from engine.model import compile_graph
from engine.registry import all_layers
from engine.templates import all_templates, get_template


def test_template_keys():
    assert [t.key for t in all_templates()] == ["mlp", "cnn", "lstm", "forecast", "text_table", "residual"]


def test_residual_has_an_add_with_two_inputs():
    g = get_template("residual").build()
    add = [n for n in g.nodes if n.type == "Add.v1"][0]
    assert len(g.inputs_of(add.id)) == 2


@pytest.mark.parametrize("tpl", all_templates(), ids=lambda t: t.key)
def test_every_template_uses_registered_layers_and_compiles(tpl):
    registered = {c.type_id for c in all_layers()}
    g = tpl.build()
    assert {n.type for n in g.nodes} <= registered
    a = analyse(g)
    assert a.ok, a.errors
    assert compile_graph(g).n_params() > 0


def test_small_cnn_shapes():
    a = analyse(get_template("cnn").build())
    shapes = [a.shapes[nid] for nid in a.order]
    assert shapes[0] == (28, 28, 1)
    assert shapes[-1] == (10,)


def test_unknown_template_key():
    with pytest.raises(KeyError):
        get_template("nope")
