"""The clipper stage: its filter, transparency, block size, alias bound, peaks."""

from __future__ import annotations

import numpy as np
import pytest

from dsp import clipper
from tests.alias_measure import alias_level_db, coprime_tone

CEILING = 0.5


def run(x: np.ndarray, knee: float = 0.5, block: int = 4096, on: bool = True) -> np.ndarray:
    """Clip a copy of ``x`` at :data:`CEILING` in blocks of ``block`` frames."""
    state = clipper.prepare()
    y = np.ascontiguousarray(x, dtype=np.float64).copy()
    for start in range(0, len(y), block):
        clipper.process(y[start : start + block], state, CEILING, knee, on)
    return y


def delayed(x: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros((clipper.LATENCY, 2)), x[: len(x) - clipper.LATENCY]])


def sine(f0: float, fs: float, n: int, amp: float) -> np.ndarray:
    s = amp * np.sin(2.0 * np.pi * f0 * np.arange(n) / fs)
    return np.stack([s, s], axis=1)


def test_the_low_pass_is_flat_to_0_40_fs_and_stops_98_db_from_nyquist():
    h = clipper.design_lowpass()
    resp = np.abs(np.fft.rfft(h, 1 << 18))
    f = np.fft.rfftfreq(1 << 18) * clipper.FACTOR  # in fractions of the base rate
    assert np.all(np.abs(20 * np.log10(resp[f <= clipper.PASS_EDGE])) < 1e-3)
    assert 20 * np.log10(resp[f >= clipper.STOP_EDGE].max()) < -98.0  # measured -98.4


def test_latency_is_constant():
    assert clipper.latency_samples(clipper.prepare()) == clipper.LATENCY == 64


def test_below_the_knee_the_output_is_the_delayed_input_bit_for_bit():
    x = np.random.default_rng(1).standard_normal((5000, 2)) * 0.04  # peaks < 0.25
    assert np.abs(x).max() < 0.25 * 0.7  # and the interpolated peaks too, by far
    assert np.array_equal(run(x), delayed(x))


def test_switched_off_the_output_is_the_delayed_input():
    x = np.random.default_rng(2).standard_normal((3000, 2))
    assert np.array_equal(run(x, on=False), delayed(x))


def test_output_does_not_depend_on_block_size():
    rng = np.random.default_rng(3)
    n = 3 * 8192 + 77
    x = rng.standard_normal((n, 2)) * np.linspace(0.05, 0.8, n)[:, None]
    outs = [run(x, block=b) for b in (16, 64, 256, 1000, 8192)]
    for y in outs[1:]:
        assert np.array_equal(y, outs[0])


def test_reset_clears_the_histories():
    state = clipper.prepare()
    clipper.process(np.ones((500, 2)), state, CEILING, 0.5, True)
    clipper.reset(state)
    z = np.zeros((300, 2))
    clipper.process(z, state, CEILING, 0.5, True)
    assert np.array_equal(z, np.zeros((300, 2)))
    assert np.array_equal(state[: clipper._X[0]], clipper.prepare()[: clipper._X[0]])


@pytest.mark.parametrize("fs", [44100.0, 48000.0])
def test_peaks_6_db_over_come_out_at_the_ceiling(fs):
    x = sine(997.0, fs, 20000, CEILING * 2.0)
    y = run(x)[2000:, 0]
    peak_db = 20 * np.log10(np.abs(y).max() / CEILING)
    assert -0.2 < peak_db < 0.05  # measured -0.02 dB


@pytest.mark.parametrize("fs", [44100.0, 48000.0])
def test_no_alias_above_minus_90_db_on_a_9_to_20_khz_sweep_6_db_over(fs):
    """Stepped sines 6 dB over the ceiling, knee at 0.5: measured -94.3 dB at both rates."""
    settle = 2000
    worst = -np.inf
    for f in range(9000, 20001, 1000):
        f0 = coprime_tone(f, fs)
        x = sine(f0, fs, settle + round(fs), CEILING * 2.0)
        y = run(x)
        level, at = alias_level_db(y[settle:, 0], f0, fs)
        assert level <= -90.0, f"{level:.1f} dB at {at:.0f} Hz from a {f0} Hz tone"
        worst = max(worst, level)
        naive, _ = alias_level_db(np.clip(x[settle:, 0], -CEILING, CEILING), f0, fs)
        assert naive > -40.0  # the same clip at the base rate folds back
    assert worst > -130.0  # the clipper did clip (its harmonics leave a trace)
