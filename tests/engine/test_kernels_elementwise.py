"""Element-wise Numba kernels against NumPy references."""
import math

import numpy as np
import pytest

from engine.kernels.elementwise import erf_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_matches_reference(dtype):
    x = np.concatenate([np.linspace(-6, 6, 1001), [0.0, -0.0, 1e-12, -30.0, 30.0, np.inf, -np.inf]]).astype(dtype)
    out = np.empty_like(x)
    erf_(x, out)
    ref = np.array([math.erf(float(v)) for v in x])   # the C library's erf (float64), value by value
    if dtype == np.float64:
        np.testing.assert_array_equal(out, ref)
    else:  # Numba calls erff for float32: within one float32 rounding of the float64 value
        np.testing.assert_allclose(out, ref, rtol=1.2e-7, atol=1e-30)
    # erf is odd, and saturates at ±1
    neg = np.empty_like(x)
    erf_(-x, neg)
    np.testing.assert_array_equal(out, -neg)
    assert out[500] == 0 and abs(out[0] + 1) < 1e-12 and abs(out[1000] - 1) < 1e-12


def test_erf_nan_passes_through():
    x = np.array([np.nan, 0.5])
    out = np.empty_like(x)
    erf_(x, out)
    assert np.isnan(out[0]) and out[1] == math.erf(0.5)


def test_exact_gelu_equals_normal_cdf_integral():
    """x·Φ(x) with Φ from a trapezoid integral of the normal density (independent of erf)."""
    from engine.layers.activations import gelu_exact
    x = np.array([-3.0, -1.0, -0.25, 0.0, 0.5, 2.0])
    t = np.linspace(-12, 0, 200001)
    pdf = lambda u: np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)
    phi = np.array([np.trapezoid(pdf(t + v), t) for v in x])   # Φ(v) = ∫_{-inf}^{v} pdf
    y, _ = gelu_exact(x)
    np.testing.assert_allclose(y, x * phi, rtol=1e-7, atol=1e-12)
