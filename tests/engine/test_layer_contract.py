"""One table-driven contract test over the whole layer registry.

For every case: the output shape matches ``output_shape``, a float64
finite-difference gradient check passes, the config survives a JSON round trip
and the layer is constructible from the registry.  A registered layer with no
case fails ``test_every_layer_has_a_case``.
"""
import importlib
import json
import pkgutil

import numpy as np
import pytest

import tests.engine as _pkg
from engine.registry import Ctx, ShapeError, all_layers, build_layer, config_fields, config_to_dict, make_config
from tests.engine.gradcheck import check_layer_gradients

CASES = []
SHAPE_ERRORS = []
for _m in pkgutil.iter_modules(_pkg.__path__):
    if _m.name.startswith("layer_cases"):
        _mod = importlib.import_module(f"tests.engine.{_m.name}")
        CASES += getattr(_mod, "CASES", [])
        SHAPE_ERRORS += getattr(_mod, "SHAPE_ERRORS", [])


def _id(case):
    return f"{case.type_id}-{json.dumps(case.config, sort_keys=True)}-{case.in_shapes}-{'train' if case.train else 'eval'}"


def test_every_layer_has_a_case():
    covered = {c.type_id for c in CASES}
    missing = sorted(cls.type_id for cls in all_layers() if cls.type_id not in covered)
    assert not missing, f"registered layers without a contract-test case: {missing}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_output_shape_and_forward(case):
    layer = build_layer(case.type_id, case.config)
    assert tuple(layer.output_shape(case.in_shapes)) == tuple(case.out_shape)
    if case.input_free:
        return
    rng = np.random.default_rng(0)
    params = layer.init_params(case.in_shapes, rng, np.float32)
    state = layer.init_state(case.in_shapes, np.float32)
    if case.int_inputs:
        xs = [rng.integers(0, case.int_high, size=(case.batch, *s)) for s in case.in_shapes]
    else:
        xs = [rng.standard_normal((case.batch, *s)).astype(np.float32) for s in case.in_shapes]
    y, back = layer.forward(params, state, xs, Ctx(train=case.train, rng=rng))
    assert y.shape == (case.batch, *case.out_shape)
    assert y.dtype == np.float32, f"{case.type_id} returned {y.dtype} for float32 input"
    assert np.all(np.isfinite(y))
    dxs, grads = back(np.ones_like(y))
    assert len(dxs) == len(xs)
    for k, g in grads.items():
        assert g.shape == params[k].shape and g.dtype == np.float32, k


@pytest.mark.parametrize("case", [c for c in CASES if not c.input_free], ids=_id)
def test_gradients_float64(case):
    layer = build_layer(case.type_id, case.config)
    check_layer_gradients(layer, case.in_shapes, batch=case.batch, train=case.train,
                          int_inputs=case.int_inputs, int_high=case.int_high, rtol=case.rtol,
                          max_coords=case.max_coords)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_config_round_trip(case):
    cls = type(build_layer(case.type_id, case.config))
    cfg = make_config(cls.Config, case.config)
    data = json.loads(json.dumps(config_to_dict(cfg)))
    assert make_config(cls.Config, data) == cfg
    # every field is described for the property editor
    for fi in config_fields(cls.Config):
        assert fi.kind in ("int", "float", "bool", "choice", "shape", "str")
    assert cls.description and cls.label and cls.category


@pytest.mark.parametrize("type_id,config,in_shapes,message", SHAPE_ERRORS)
def test_shape_errors_are_plain_words(type_id, config, in_shapes, message):
    with pytest.raises(ShapeError, match=message):
        build_layer(type_id, config).output_shape(in_shapes)
