"""Fast log2/exp2: accurate far below audibility, exact where it matters."""

import math

import numpy as np

from dsp import fastmath


def test_fast_log2_is_accurate_to_far_below_a_hundredth_of_a_db():
    rng = np.random.default_rng(11)
    v = np.concatenate([10.0 ** rng.uniform(-300, 300, 20000), rng.uniform(0.5, 2.0, 20000),
                        [1.0, 2.0, 0.5, math.sqrt(2.0), math.sqrt(0.5), 1e-10, 3.0]])
    got = np.array([fastmath.fast_log2(float(a)) for a in v])
    err = np.abs(got - np.log2(v))
    assert err.max() < 3e-9  # 1.8e-8 dB
    assert fastmath.fast_log2(1.0) == 0.0
    assert fastmath.fast_log2(2.0**-40) == -40.0
    for odd in (0.0, 5e-324, 1e-310, 1.7e308):  # finite for anything the kernel can see
        assert math.isfinite(fastmath.fast_log2(odd))
    assert fastmath.fast_log2(0.0) < -1022.0


def test_fast_exp2_is_accurate_and_exact_at_zero():
    rng = np.random.default_rng(12)
    v = np.concatenate([rng.uniform(-60.0, 0.0, 20000), rng.uniform(-1022.0, 0.0, 2000),
                        np.arange(-1022.0, 1.0)])
    got = np.array([fastmath.fast_exp2(float(a)) for a in v])
    assert np.max(np.abs(got / np.exp2(v) - 1.0)) < 3e-15
    assert fastmath.fast_exp2(0.0) == 1.0
    assert fastmath.fast_exp2(-0.0) == 1.0
    assert fastmath.fast_exp2(-5000.0) == 2.0**-1022  # clamped, still a normal number


def test_fast_exp2_of_a_whole_number_is_that_power_of_two_exactly():
    """The exponent bits come from ``k`` kept as a float (no int conversion): every one right."""
    for k in range(-1022, 1024):
        assert fastmath.fast_exp2(float(k)) == 2.0**k, k
    assert fastmath.fast_exp2(-1.5) == fastmath.fast_exp2(-2.0) * fastmath.fast_exp2(0.5)
