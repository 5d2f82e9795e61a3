"""Layer options of issue #15 beyond the contract table: defaults keep old graphs, config checks,
training through the generic step."""
import json

import numpy as np
import pytest

from engine.compile import analyse
from engine.fastpath import why_not_fast
from engine.model import compile_graph
from engine.registry import ConfigError, Ctx, build_layer, config_to_dict, make_config
from engine.spec import GraphSpec, sequential
from engine.trainer import EpochEnded, TrainConfig, Trainer
from tests.engine.fakes import ArrayDataset

OLD_CONFIGS = [  # configs as graphs saved before the options existed hold them
    ("Conv2D.v1", {"filters": 2, "kernel_size": 3, "padding": "same"}, (5, 5, 1)),
    ("Conv1D.v1", {"filters": 2, "kernel_size": 3}, (7, 2)),
    ("MaxPool2D.v1", {"pool_size": 2, "padding": "same"}, (5, 5, 2)),
    ("AvgPool1D.v1", {"pool_size": 3, "strides": 2, "padding": "same"}, (7, 2)),
    ("LeakyReLU.v1", {}, (4,)), ("ELU.v1", {}, (4,)), ("GELU.v1", {}, (4,)), ("Softmax.v1", {}, (2, 3)),
    ("Dense.v1", {"units": 3, "activation": "elu"}, (4,)),
    ("GRU.v1", {"units": 3, "return_sequences": True}, (4, 2)),
    ("LSTM.v1", {"units": 3}, (4, 2)),
]


@pytest.mark.parametrize("type_id,config,shape", OLD_CONFIGS)
def test_old_configs_mean_what_they_meant(type_id, config, shape):
    """Missing new keys take defaults that reproduce the old behaviour (same parameters, same output)."""
    layer = build_layer(type_id, config)
    defaults = {"pads": [0], "ceil_mode": False, "count_include_pad": False, "dilation": 1,
                "negative_slope": 0.01, "alpha": 1.0, "approximate": "tanh", "axis": -1, "last_axis": False,
                "bidirectional": False, "merge_mode": "concat", "linear_before_reset": True}
    saved = config_to_dict(layer.cfg)
    for k, v in saved.items():
        if k not in config and k in defaults:
            assert v == defaults[k], (type_id, k, v)
    rng = np.random.default_rng(0)
    params = layer.init_params([shape], rng, np.float64)
    assert not any(k.endswith("_reverse") for k in params)
    x = rng.standard_normal((2, *shape))
    y, _ = layer.forward(params, {}, [x], Ctx())
    # the activation layers' defaults are exactly the fused table's functions
    from engine.layers.activations import apply_activation
    fn = {"LeakyReLU.v1": "leaky_relu", "ELU.v1": "elu", "GELU.v1": "gelu", "Softmax.v1": "softmax"}.get(type_id)
    if fn:
        np.testing.assert_array_equal(y, apply_activation(fn, x)[0])


def test_pads_checks():
    cls = build_layer("Conv2D.v1").__class__
    with pytest.raises(ConfigError, match="needs at least one number when padding is explicit"):
        make_config(cls.Config, {"padding": "explicit", "pads": []})
    with pytest.raises(ConfigError, match="at most 256"):
        make_config(cls.Config, {"padding": "explicit", "pads": [1, 300]})
    with pytest.raises(ConfigError, match="at least 0"):
        make_config(cls.Config, {"padding": "explicit", "pads": [-1]})
    assert make_config(cls.Config, {"padding": "explicit", "pads": "1, 2"}).pads == (1, 2)
    # pads are ignored unless padding is explicit
    assert build_layer("Conv2D.v1", {"pads": [3]}).output_shape([(8, 8, 1)]) == (6, 6, 16)
    with pytest.raises(ConfigError, match="unknown setting"):
        make_config(build_layer("MaxPool2D.v1").__class__.Config, {"count_include_pad": True})


def test_graph_json_round_trip_with_options():
    spec = sequential([("Input.v1", {"shape": [40, 1]}),
                       ("Conv1D.v1", {"filters": 4, "kernel_size": 3, "padding": "explicit", "pads": [1]}),
                       ("MaxPool1D.v1", {"ceil_mode": True, "dilation": 2}),
                       ("GRU.v1", {"units": 3, "bidirectional": True, "linear_before_reset": False}),
                       ("Dense.v1", {"units": 2})])
    back = GraphSpec.from_json(json.dumps(spec.to_dict()))
    assert back == spec
    a = analyse(back)
    assert a.ok, a.errors
    assert a.shapes["n2"] == (40, 4) and a.shapes["n3"] == (20, 4) and a.shapes["n4"] == (6,)


def test_dense_over_last_axis_trains_with_the_generic_step():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 4, 3)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    g = sequential([("Input.v1", {"shape": [4, 3]}), ("Dense.v1", {"units": 8, "activation": "tanh",
                                                                    "last_axis": True}),
                    ("Flatten.v1", {}), ("Dense.v1", {"units": 2, "activation": "softmax"})])
    t = Trainer(g, ArrayDataset(x, y), TrainConfig(epochs=5, batch_size=16, lr=0.01))
    assert t.fast_step is None and "not flat" in why_not_fast(t)
    losses = [e.logs["loss"] for e in t.run() if isinstance(e, EpochEnded)]
    assert len(losses) == 5 and np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert compile_graph(g).shapes["n2"] == (4, 8)
