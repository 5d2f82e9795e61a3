import pytest

from engine.compile import analyse
from engine.model import compile_graph
from engine.templates import all_templates, available_templates, get_template


def test_mlp_and_residual_always_available_and_compile():
    keys = [t.key for t in available_templates()]
    assert "mlp" in keys and "residual" in keys
    for key in ("mlp", "residual"):
        model = compile_graph(get_template(key).build())
        assert model.n_params() > 0


def test_residual_has_an_add_with_two_inputs():
    g = get_template("residual").build()
    add = [n for n in g.nodes if n.type == "Add.v1"][0]
    assert len(g.inputs_of(add.id)) == 2


@pytest.mark.parametrize("tpl", all_templates(), ids=lambda t: t.key)
def test_every_available_template_compiles(tpl):
    if not tpl.available():
        assert tpl not in available_templates()
        pytest.skip(f"layer types for {tpl.key} are not registered yet")
    a = analyse(tpl.build())
    assert a.ok, a.errors
    compile_graph(tpl.build())


def test_small_cnn_shapes_when_registered():
    tpl = get_template("cnn")
    if not tpl.available():
        pytest.skip("Conv2D/MaxPool2D not registered yet")
    g = tpl.build()
    a = analyse(g)
    shapes = [a.shapes[nid] for nid in a.order]
    assert shapes[0] == (28, 28, 1)
    assert shapes[-1] == (10,)


def test_unknown_template_key():
    with pytest.raises(KeyError):
        get_template("nope")
