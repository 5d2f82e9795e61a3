"""Float64 finite-difference gradient checking for layers and whole models."""
from __future__ import annotations

import copy

import numpy as np

from engine.registry import Ctx, Layer


def _coords(arr: np.ndarray, rng: np.random.Generator, max_coords: int):
    n = arr.size
    if n <= max_coords:
        return range(n)
    return rng.choice(n, size=max_coords, replace=False)


def check_layer_gradients(layer: Layer, in_shapes, *, batch: int = 3, seed: int = 0, train: bool = True,
                          int_inputs: bool = False, int_high: int = 5, eps: float = 1e-6,
                          rtol: float = 1e-4, atol: float = 1e-6, max_coords: int = 25):
    """Compare ``layer``'s backprop with central differences of ``sum(forward(x) * R)``.

    Every parameter and every (float) input is checked on up to ``max_coords``
    random coordinates.  Returns the largest relative error seen.
    """
    rng = np.random.default_rng(seed)
    dtype = np.float64
    params = layer.init_params(in_shapes, np.random.default_rng(seed + 1), dtype)
    # perturb zero-initialised parameters so that gradients are generic
    params = {k: (v + 0.1 * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
    state0 = layer.init_state(in_shapes, dtype)
    if int_inputs:
        xs = [rng.integers(0, int_high, size=(batch, *s)).astype(np.int64) for s in in_shapes]
    else:
        xs = [rng.standard_normal((batch, *s)) for s in in_shapes]

    def run(ps, inputs):
        st = copy.deepcopy(state0)
        y, back = layer.forward(ps, st, inputs, Ctx(train=train, rng=np.random.default_rng(seed + 2)))
        return y, back

    y, back = run(params, xs)
    R = rng.standard_normal(y.shape)
    dxs, grads = back(R)
    assert set(grads) == set(params), f"grads {sorted(grads)} != params {sorted(params)}"

    def loss(ps, inputs):
        return float(np.sum(run(ps, inputs)[0] * R))

    worst = 0.0
    targets = [("param", k, params, params[k], grads[k]) for k in params]
    if not int_inputs:
        targets += [("input", i, xs, xs[i], dxs[i]) for i in range(len(xs))]
    for kind, key, _holder, arr, analytic in targets:
        assert analytic.shape == arr.shape, f"{kind} {key}: grad shape {analytic.shape} != {arr.shape}"
        flat = arr.reshape(-1)
        for c in _coords(arr, rng, max_coords):
            old = flat[c]
            flat[c] = old + eps
            lp = loss(params, xs)
            flat[c] = old - eps
            lm = loss(params, xs)
            flat[c] = old
            numeric = (lp - lm) / (2 * eps)
            a = analytic.reshape(-1)[c]
            err = abs(a - numeric) / max(abs(a), abs(numeric), 1e-3)
            worst = max(worst, err)
            assert abs(a - numeric) <= atol + rtol * max(abs(a), abs(numeric)), (
                f"{layer.type_id} {kind} {key}[{c}]: analytic {a:.8g} vs numeric {numeric:.8g}")
    return worst
