"""The clipper stage: its cascade, transparency, block size, alias bound, peaks, settings."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import upfirdn

from dsp import clipper, taps
from dsp import clipper_cascade as C
from dsp import params as P
from tests.alias_measure import alias_level_db, coprime_tone

LEVEL = 0.5
"""The clip level the tests set (linear, at the clipper's input)."""
KNEE_DB = P.get("clipper.knee_db").min
"""The sharpest bend the parameter allows: the alias bound is measured there."""


def settings(level: float = LEVEL, knee_db: float = KNEE_DB, on: bool = True) -> np.ndarray:
    """Parameter values that put the clip level at ``level`` (through the limiter's drive)."""
    values = P.defaults()
    values[P.LIMITER_CEILING] = -1.0
    values[P.LIMITER_DRIVE] = -1.0 - 20.0 * math.log10(level)
    values[P.CLIPPER_LEVEL] = 0.0
    values[P.CLIPPER_KNEE] = knee_db
    values[P.CLIPPER_BYPASS] = 0.0 if on else 1.0
    return values


def run(x: np.ndarray, blocks=(4096,), values: np.ndarray | None = None,
        rate: float = 48000.0) -> np.ndarray:
    """Clip a copy of ``x`` in blocks of the sizes ``blocks`` (in turn, over and over)."""
    target = settings() if values is None else values
    current = target.copy()
    state = clipper.prepare(rate)
    y = np.ascontiguousarray(x, dtype=np.float64).copy()
    start, k = 0, 0
    while start < len(y):
        n = blocks[k % len(blocks)]
        clipper.process(y[start : start + n], target, current, state, np.zeros(taps.COUNT))
        start, k = start + n, k + 1
    return y


def delayed(x: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros((clipper.LATENCY, 2)), x[: len(x) - clipper.LATENCY]])


def sine(f0: float, fs: float, n: int, amp: float) -> np.ndarray:
    s = amp * np.sin(2.0 * np.pi * f0 * np.arange(n) / fs)
    return np.stack([s, s], axis=1)


def plain_cascade(x: np.ndarray, level: float, knee: float) -> np.ndarray:
    """The same clipper written as the plain cascade (scipy's upfirdn), no phases, no skips."""
    low = C.design_lowpass()
    bands = [C.design_halfband(s) for s in range(3)]
    out = np.empty_like(x)
    for c in range(2):
        u = upfirdn(2.0 * low, x[:, c], up=2)
        for h in bands:
            u = upfirdn(2.0 * h, u, up=2)
        a, span = np.abs(u), level - knee
        e = np.where(a <= knee, 0.0, np.sign(u) * (knee + span * np.tanh((a - knee) / span)) - u)
        e = np.concatenate([np.zeros(2 * C._SHIFT), e])  # the 16x top-up of the delay
        for h in bands[::-1]:
            e = upfirdn(h, e, down=2)
        e = upfirdn(low, e, down=2)
        out[:, c] = delayed(x)[:, c] + e[: len(x)]
    return out


def programme(n: int, seed: int) -> np.ndarray:
    """Noise whose level walks from silence through quiet (skipped) to far over the level."""
    rng = np.random.default_rng(seed)
    env = np.concatenate([np.zeros(n // 8), np.linspace(0.01, 0.06, n // 4),
                          np.linspace(0.1, 0.9, n - n // 8 - n // 4)])
    return rng.standard_normal((n, 2)) * env[:, None]


def test_the_low_pass_is_flat_to_0_40_fs_and_stops_98_db_from_nyquist():
    h = C.design_lowpass()
    resp = np.abs(np.fft.rfft(h, 1 << 18))
    f = np.fft.rfftfreq(1 << 18) * 2  # in fractions of the base rate
    assert np.all(np.abs(20 * np.log10(resp[f <= C.A_PASS])) < 1e-3)
    assert 20 * np.log10(resp[f >= C.A_STOP].max()) < -98.0  # measured -99.6


@pytest.mark.parametrize(("stage", "stop_db"), [(0, -98.0), (1, -120.0), (2, -119.0)])
def test_each_half_band_stops_what_would_fold_onto_the_audio(stage, stop_db):
    """At rate R = 4, 8, 16 fs: pass 0..0.5 fs, stop R/2 - 0.5 fs .. R/2 (its images, its folds)."""
    h = C.design_halfband(stage)
    rate = 4 << stage
    resp = np.abs(np.fft.rfft(h, 1 << 16))
    f = np.fft.rfftfreq(1 << 16) * rate
    assert np.all(np.abs(20 * np.log10(resp[f <= 0.5])) < 1e-3)
    assert 20 * np.log10(resp[f >= rate / 2 - 0.5].max()) < stop_db  # 98.4, 121, 120


@pytest.mark.parametrize("rate", [44100.0, 48000.0, 96000.0, 192000.0])
def test_latency_is_a_whole_number_of_samples_the_same_at_every_rate(rate):
    assert clipper.latency_samples(clipper.prepare(rate)) == clipper.LATENCY == 75


def test_the_phases_compute_the_plain_cascade():
    """Split into phases and chunks, with skips in the quiet part: the textbook result."""
    x = programme(6000, seed=3)
    level, knee = LEVEL, LEVEL * 10 ** (-KNEE_DB / 20)
    y = run(x)
    assert np.abs(y - delayed(x)).max() > 0.1  # it clipped
    assert np.abs(y - plain_cascade(x, level, knee)).max() < 1e-14


def test_below_the_knee_the_output_is_the_delayed_input_bit_for_bit():
    rng = np.random.default_rng(1)
    quiet = rng.standard_normal((5000, 2)) * 0.02  # under knee / GAIN: nothing is computed
    assert clipper.prepare(48000.0)[clipper._GAIN] * np.abs(quiet).max() < LEVEL / 2
    near = rng.standard_normal((5000, 2)) * 0.06  # over that bound, under the knee at 16x
    assert np.abs(run(near) - delayed(near)).max() == 0.0
    assert np.array_equal(run(quiet), delayed(quiet))
    assert np.array_equal(run(near), delayed(near))


def test_switched_off_the_output_is_the_delayed_input():
    x = np.random.default_rng(2).standard_normal((3000, 2))
    assert np.array_equal(run(x, values=settings(on=False)), delayed(x))


def run_changing(x: np.ndarray, blocks: tuple[int, ...]) -> np.ndarray:
    """:func:`run`, with the clip level and knee changed at frame 3000 (they glide from there)."""
    target = settings()
    current = target.copy()
    state = clipper.prepare(48000.0)
    y = x.copy()
    for part, values in ((y[:3000], settings()), (y[3000:], settings(level=0.35, knee_db=9.0))):
        target[:] = values
        start, k = 0, 0
        while start < len(part):
            n = blocks[k % len(blocks)]
            clipper.process(part[start : start + n], target, current, state,
                            np.zeros(taps.COUNT))
            start, k = start + n, k + 1
    return y


@pytest.mark.parametrize("blocks", [(1,), (7,), (64,), (256,), (1000,), (5, 300, 1, 77, 2048)])
def test_output_does_not_depend_on_block_size(blocks):
    """The same bits at any block size, through skips, clipping, and settings gliding."""
    x = programme(6000, seed=4)
    whole = run_changing(x, (6000,))
    assert np.array_equal(run_changing(x, blocks), whole)


def test_reset_clears_the_histories():
    state = clipper.prepare(48000.0)
    values = settings()
    clipper.process(np.ones((500, 2)), values, values.copy(), state, np.zeros(taps.COUNT))
    clipper.reset(state)
    z = np.zeros((300, 2))
    clipper.process(z, values, values.copy(), state, np.zeros(taps.COUNT))
    assert np.array_equal(z, np.zeros((300, 2)))
    fresh = clipper.prepare(48000.0)
    np.testing.assert_array_equal(state[clipper._CASCADE :], fresh[clipper._CASCADE :])


@pytest.mark.parametrize("fs", [44100.0, 48000.0])
def test_peaks_6_db_over_come_out_at_the_clip_level(fs):
    x = sine(997.0, fs, 20000, LEVEL * 2.0)
    y = run(x)[2000:, 0]
    peak_db = 20 * np.log10(np.abs(y).max() / LEVEL)
    assert -0.2 < peak_db < 0.05  # measured -0.02 dB


def test_the_clip_level_follows_the_limiters_ceiling_and_drive():
    """``ceiling - drive + level``: 3 dB more drive clips 3 dB lower."""
    x = sine(997.0, 48000.0, 20000, 1.0)
    values = settings(level=0.5)
    assert clipper.clip_level_db(values) == pytest.approx(20 * math.log10(0.5))
    values[P.LIMITER_DRIVE] += 3.0
    peak_db = 20 * np.log10(np.abs(run(x, values=values)[2000:, 0]).max())
    assert peak_db == pytest.approx(20 * math.log10(0.5) - 3.0, abs=0.1)


@pytest.mark.parametrize("fs", [44100.0, 48000.0])
def test_no_alias_above_minus_90_db_on_a_9_to_20_khz_sweep_6_db_over(fs):
    """Stepped sines 6 dB over the clip level, knee 6 dB under it: measured -94.2 dB."""
    settle = 2000
    worst = -np.inf
    for f in range(9000, 20001, 1000):
        f0 = coprime_tone(f, fs)
        x = sine(f0, fs, settle + round(fs), LEVEL * 2.0)
        y = run(x, rate=fs)
        level, at = alias_level_db(y[settle:, 0], f0, fs)
        assert level <= -90.0, f"{level:.1f} dB at {at:.0f} Hz from a {f0} Hz tone"
        worst = max(worst, level)
        naive, _ = alias_level_db(np.clip(x[settle:, 0], -LEVEL, LEVEL), f0, fs)
        assert naive > -40.0  # the same clip at the base rate folds back
    assert worst > -130.0  # the clipper did clip (its harmonics leave a trace)
