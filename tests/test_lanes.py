"""dsp.lanes: two biquads in one vector, the second a few frames behind the first.

The bit-for-bit equality with bands run one at a time is tested where pairs
are used (tests/test_eq.py, the exciter's and the stereo stage's block-size
tests); here, what only the pair itself can get wrong.
"""

from __future__ import annotations

import numpy as np

from dsp import lanes
from dsp.biquad import BELL, design


def test_idle_frames_do_not_grow_or_decay_from_call_to_call():
    # a boost has b0 > 1: frames filtered in place call after call would grow
    # without bound (and a cut's would sink into denormals)
    work = np.zeros(lanes.WORKSPACE)
    boost = design(BELL, 3000.0, 12.0, 0.7, 48000.0)
    assert boost[0] > 1.4
    for band in range(2):
        lanes.configure(work, band, boost, lanes.STEREO, 1.0)
    rng = np.random.default_rng(0)
    for _ in range(3000):
        x = rng.standard_normal(2 * 4) * 0.1
        lanes.run(x, 4, work)
        assert np.all(np.isfinite(x))
    idle = work[lanes.IDLE_AT:lanes.IDLE_AT + 2 * lanes.SKEW]
    assert np.all(np.isfinite(work))
    assert np.abs(idle).max() < 100.0


def test_a_pair_filters_every_frame_once_with_each_band():
    # against the two biquads run one after the other with scipy, any block length
    from scipy import signal

    a_coefs = design(BELL, 500.0, -6.0, 1.0, 48000.0)
    b_coefs = design(BELL, 8000.0, 4.0, 2.0, 48000.0)
    x = np.random.default_rng(1).standard_normal((3000, 2))
    expected = x
    for b0, b1, b2, a1, a2 in (a_coefs, b_coefs):
        expected = signal.lfilter([b0, b1, b2], [1.0, a1, a2], expected, axis=0)
    for block in (1, 7, 8, 9, 100):
        work = np.zeros(lanes.WORKSPACE)
        lanes.configure(work, 0, a_coefs, lanes.STEREO, 1.0)
        lanes.configure(work, 1, b_coefs, lanes.STEREO, 1.0)
        y = x.copy()
        for start in range(0, len(y), block):
            part = y[start:start + block]
            lanes.run(part.reshape(-1), len(part), work)
        np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12)
