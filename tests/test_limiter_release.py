"""The limiter's release styles: fast after a transient, slow after sustained reduction, and
more drive never makes a master quieter.

The gain is read straight off the output: the input is DC on both channels
(a level the detector reads exactly, give or take the Annex-2 phases' 0.16 %),
so output over delayed input is the gain the limiter applied. The loudness
tests drive the synthetic masters of ``tests/masters.py`` through the limiter
alone, as :mod:`tests.limiter_loudness` does for the numbers in
docs/decisions.md.
"""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from dsp import limiter
from dsp import params as P
from tests.limiter_loudness import render
from tests.masters import rock, sub_heavy

RATE = 48000
CEILING = 10.0 ** (-1.0 / 20.0)
QUIET, LOUD = 0.1, 4.0  # 20 dB under full scale, and 12 dB over it
RELEASE_MS = 100.0


def recovery_ms(style: str, burst_ms: float, release_ms: float = RELEASE_MS) -> float:
    """Milliseconds from the end of a burst of ``burst_ms`` until less than 1 dB of reduction."""
    pre, burst, post = int(0.05 * RATE), int(burst_ms * RATE / 1000), int(1.5 * RATE)
    ramp = 48  # raised-cosine edges: a hard step has a real inter-sample overshoot
    w = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, ramp + 1) / ramp)
    level = np.concatenate([np.full(pre, QUIET), QUIET + (LOUD - QUIET) * w, np.full(burst, LOUD),
                            LOUD + (QUIET - LOUD) * w, np.full(post, QUIET)])
    x = np.stack([level, level], axis=1)
    y = render(x, RATE, 0.0, release_ms=release_ms,
               release_style=float(P.RELEASE_STYLES.index(style)))
    gain = y[:, 0] / level
    end = pre + 2 * ramp + burst
    assert gain[end - ramp:end - ramp // 2].max() <= CEILING / (LOUD * 0.999)  # it was limiting
    back = np.flatnonzero(gain[end:] < 10.0 ** (-1.0 / 20.0))
    return (back[-1] + 1) * 1000.0 / RATE


@pytest.mark.parametrize("style", P.RELEASE_STYLES[1:])
def test_each_style_recovers_fast_after_a_transient_and_slowly_after_sustained_reduction(style):
    fast_ms, charge_ms, _ = limiter.STYLES[P.RELEASE_STYLES.index(style)]
    single = recovery_ms("single", 1000.0)
    short = recovery_ms(style, 5.0)
    sustained = recovery_ms(style, 1000.0)
    # one-pole from 12.3 dB down to 1 dB down: about 2.4 time constants
    assert single == pytest.approx(RELEASE_MS * np.log((1 - CEILING / LOUD) / (1 - CEILING)),
                                   rel=0.1)
    assert short < 4.0 * fast_ms < 0.5 * single
    # a second of reduction charges the envelope: the slow release takes it back
    assert sustained > 0.8 * single
    # and in between, the longer the reduction, the slower the release
    middle = recovery_ms(style, charge_ms)
    assert short < middle < sustained


def test_the_single_style_releases_alike_whatever_came_before():
    short, sustained = recovery_ms("single", 5.0), recovery_ms("single", 1000.0)
    assert short == pytest.approx(sustained, abs=0.5)


def test_the_release_knob_sets_the_slow_release_of_every_style():
    for style in P.RELEASE_STYLES[1:]:
        assert recovery_ms(style, 1000.0, 300.0) > 2.5 * recovery_ms(style, 1000.0, 100.0)


def integrated_lufs(x: np.ndarray, drive_db: float, style: str) -> float:
    y = render(x, RATE, drive_db, block=4096,
               release_style=float(P.RELEASE_STYLES.index(style)))
    return float(pyloudnorm.Meter(RATE).integrated_loudness(y))


@pytest.mark.parametrize("style", P.RELEASE_STYLES)
@pytest.mark.parametrize("master", ["rock", "sub"])
def test_more_drive_never_makes_a_dense_master_quieter(master, style):
    x = {"rock": rock, "sub": sub_heavy}[master](RATE, 5.0)
    loudness = [integrated_lufs(x, float(d), style) for d in range(19)]
    steps = np.diff(loudness)
    # 0.005 LU: the meter's own resolution on a master pinned at the ceiling
    assert steps.min() > -0.005, (int(np.argmin(steps)), loudness)


FALL_TOLERANCE = 1e-6
"""How far a sample may come out smaller with more drive: rounding (measured 3.4e-7: the
release lands on its target within 1e-7, the detector runs in single precision)."""


def assert_never_turned_down(softer: np.ndarray, harder: np.ndarray) -> None:
    """No sample of the harder-driven output is smaller than the same sample of the softer one."""
    fall = np.abs(softer) - np.abs(harder)
    frame, channel = np.unravel_index(np.argmax(fall), fall.shape)
    assert fall[frame, channel] <= FALL_TOLERANCE, (
        f"sample {frame} of channel {channel} fell by {fall[frame, channel]:.3g}")


def test_the_check_catches_one_sample_turned_down():
    rng = np.random.default_rng(5)
    softer = 0.5 * rng.standard_normal((4800, 2))
    harder = 1.1 * softer
    assert_never_turned_down(softer, harder)
    harder[1234, 1] = 0.999 * softer[1234, 1]
    with pytest.raises(AssertionError, match="sample"):
        assert_never_turned_down(softer, harder)


@pytest.mark.parametrize("style", P.RELEASE_STYLES)
@pytest.mark.parametrize("master", ["rock", "sub"])
def test_more_drive_never_turns_a_sample_down(master, style):
    """Every step of the release is monotonic, so the output is, sample by sample.

    The integrated loudness can still fall a little with more drive on music
    whose quiet passages rise over the relative gate (more blocks counted,
    each under the mean: measured 0.045 LU on the peer bench's rock song
    while no 400 ms block got quieter); a sample cannot.
    """
    x = {"rock": rock, "sub": sub_heavy}[master](RATE, 3.0)
    kind = float(P.RELEASE_STYLES.index(style))
    before = render(x, RATE, 0.0, release_style=kind)
    for drive in range(2, 19, 2):
        after = render(x, RATE, float(drive), release_style=kind)
        assert_never_turned_down(before, after)
        before = after


@pytest.mark.parametrize("master", ["rock", "sub"])
def test_the_styles_get_louder_in_their_order_at_high_drive(master):
    x = {"rock": rock, "sub": sub_heavy}[master](RATE, 5.0)
    loudness = [integrated_lufs(x, 16.0, style) for style in P.RELEASE_STYLES]
    # transparent gains least over single on the synthetic rock master (0.16 LU;
    # 0.37-1.46 LU at the loudest on the peer bench's songs)
    assert np.all(np.diff(loudness) > 0.1), loudness
