"""Fitting a graph's Input shape and output layer to a data set (engine.fit)."""
import pytest

from engine.compile import analyse
from engine.fit import DataInfo, fit_problems, fit_to_data, wanted_output
from engine.spec import GraphSpec, sequential
from engine.templates import get_template

WINE = DataInfo((13,), "classification", 3)
BINARY = DataInfo((30,), "classification", 2)
REGRESSION = DataInfo((8,), "regression", 1)


def _dense_out(spec):
    a = analyse(spec)
    return spec.node(a.output)


def test_mlp_fitted_to_wine_changes_only_the_input_shape():
    spec = get_template("mlp").build()
    assert fit_problems(spec, WINE) and "set the Input shape to 13" in fit_problems(spec, WINE)[0]
    r = fit_to_data(spec, WINE)
    assert r.changed and not r.problems
    assert len(r.changes) == 1 and "2 → 13" in r.changes[0]
    assert r.spec.node(r.spec.node_ids[0]).config["shape"] == [13]
    assert analyse(r.spec).ok
    assert fit_problems(r.spec, WINE) == []
    # ids, names and positions are kept
    assert r.spec.node_ids == spec.node_ids
    assert [n.pos for n in r.spec.nodes] == [n.pos for n in spec.nodes]


def test_fitting_twice_changes_nothing():
    r = fit_to_data(get_template("mlp").build(), BINARY)
    again = fit_to_data(r.spec, BINARY)
    assert not again.changed and again.spec == r.spec


@pytest.mark.parametrize("units,act,want", [(3, "softmax", (2, "softmax")), (1, "linear", (1, "sigmoid")),
                                            (1, "sigmoid", (1, "sigmoid")), (2, "softmax", (2, "softmax")),
                                            (5, "sigmoid", (2, "softmax"))])
def test_binary_output_is_one_sigmoid_or_two_softmax(units, act, want):
    spec = sequential([("Input.v1", {"shape": [30]}), ("Dense.v1", {"units": units, "activation": act})])
    r = fit_to_data(spec, BINARY)
    out = _dense_out(r.spec)
    assert (out.config["units"], out.config["activation"]) == want
    assert fit_problems(r.spec, BINARY) == []
    assert r.changed == ((units, act) != want)


def test_regression_gets_linear_units_equal_to_targets():
    spec = get_template("mlp").build()
    problems = fit_problems(spec, DataInfo((8,), "regression", 2))
    assert any("2 regression targets" in p and "set its units to 2 (linear)" in p for p in problems)
    r = fit_to_data(spec, DataInfo((8,), "regression", 2))
    out = _dense_out(r.spec)
    assert out.config["units"] == 2 and out.config["activation"] == "linear"
    assert any("softmax → linear" in c for c in r.changes)
    assert fit_problems(r.spec, DataInfo((8,), "regression", 2)) == []


def test_regression_with_softmax_output_does_not_fit():
    spec = sequential([("Input.v1", {"shape": [8]}), ("Dense.v1", {"units": 1, "activation": "softmax"})])
    assert any("linear" in p for p in fit_problems(spec, REGRESSION))


def test_classes_mismatch_names_the_fix():
    spec = get_template("mlp").build()
    (p,) = [p for p in fit_problems(spec, DataInfo((2,), "classification", 5)) if "classes" in p]
    assert "5 classes" in p and "set its units to 5 (softmax)" in p


def test_cnn_fitted_to_images_sets_the_input_shape():
    tpl = get_template("cnn")
    info = DataInfo((32, 32, 3), "classification", 4)
    r = fit_to_data(tpl.build(), info)
    assert r.spec.node(r.spec.node_ids[0]).config["shape"] == [32, 32, 3]
    assert _dense_out(r.spec).config["units"] == 4
    assert not r.problems and fit_problems(r.spec, info) == []


def test_a_graph_too_small_for_the_data_reports_the_graph_error():
    tpl = get_template("cnn")
    r = fit_to_data(tpl.build(), DataInfo((4, 4, 1), "classification", 10))
    assert r.spec.node(r.spec.node_ids[0]).config["shape"] == [4, 4, 1]
    assert r.problems  # the convolutions no longer fit: said, not hidden


def test_head_behind_dropout_and_softmax_layer():
    spec = sequential([("Input.v1", {"shape": [4]}), ("Dense.v1", {"units": 3}), ("Dropout.v1", {}),
                       ("Softmax.v1", {})])
    r = fit_to_data(spec, DataInfo((4,), "classification", 6))
    assert r.spec.node(r.spec.node_ids[1]).config["units"] == 6
    assert not r.problems
    # the Softmax layer stays; for regression it cannot be changed automatically
    r2 = fit_to_data(spec, DataInfo((4,), "regression", 1))
    assert any("Softmax layer" in p for p in r2.problems)


def test_no_input_or_two_inputs_is_a_problem_not_a_crash():
    assert fit_to_data(GraphSpec(), WINE).problems
    g = GraphSpec()
    g, _a = g.add_node("Input.v1", {"shape": [2]})
    g, _b = g.add_node("Input.v1", {"shape": [2]})
    r = fit_to_data(g, WINE)
    assert not r.changed and "2 Input layers" in r.problems[0]
    assert "2 Input layers" in fit_problems(g, WINE)[0]


def test_output_that_is_not_dense_is_explained():
    spec = sequential([("Input.v1", {"shape": [4]}), ("Flatten.v1", {})])
    r = fit_to_data(spec, DataInfo((4,), "classification", 3))
    assert any("Dense layer of 3 units" in p for p in r.problems)


def test_data_info_from_summary_and_wanted_output():
    info = DataInfo.of({"input_shape": [13], "task": "classification", "n_outputs": 3})
    assert info == WINE
    assert wanted_output(REGRESSION) == (1, "linear")
    assert wanted_output(WINE) == (3, "softmax")
