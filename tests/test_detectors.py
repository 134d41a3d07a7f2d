"""The tests' own detectors: each catches the fault it is there for and passes the clean case.

A detector that cannot fail makes every test that leans on it pass. So each
one meets synthetic signals with the fault built in at a known place and
size (a hard cut, a one-sample step, a level 1 dB off, a take late by N
samples, a spliced period) and the clean signal it must let through (a
10 ms fade, a glided gain, the take itself).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests import takes
from tests.helpers import db, rms
from tests.jackrecorder import Recorder, clicks
from tests.peakcheck import alternating_run, alternating_run_peak_db, peak16_db
from tests.peakcheck import db as peak_db

RATE = 48000
FADE = RATE // 100
"""The engine's transport fades and source crossfades: 10 ms, linear."""


def tone(freq: float = 440.0, level_db: float = -20.0, seconds: float = 0.5,
         phase: float = 0.0) -> np.ndarray:
    """A stereo sine as a take holds it: float32 samples, read back as float64."""
    t = np.arange(round(seconds * RATE)) / RATE
    s = 10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t + phase)
    return np.stack([s, s], axis=1).astype(np.float32).astype(np.float64)


def near(found: list[int], at: int, within: int = 2) -> bool:
    return any(abs(i - at) <= within for i in found)


# ------------------------------------------------------------------ clicks


@pytest.mark.parametrize("freq", [110.0, 330.0, 440.0, 660.0, 1000.0, 2500.0])
@pytest.mark.parametrize("level_db", [-40.0, -20.0, -6.0])
def test_a_steady_tone_has_no_clicks(freq, level_db):
    assert clicks(tone(freq, level_db)) == []


@pytest.mark.parametrize("freq", [110.0, 330.0, 440.0, 660.0])
@pytest.mark.parametrize("offset", range(0, 120, 7))
def test_a_hard_cut_to_silence_that_stays_is_a_click(freq, offset):
    """Wherever in the cycle the tone stops, zero crossings included (tones under ~950 Hz)."""
    x = tone(freq, seconds=0.8)
    at = RATE // 2 + offset
    x[at:] = 0.0
    assert near(clicks(x), at)


@pytest.mark.parametrize("freq", [330.0, 440.0, 660.0])
@pytest.mark.parametrize("phase", np.linspace(0.0, 2 * np.pi, 9)[:-1])
def test_a_start_from_silence_at_full_level_is_a_click(freq, phase):
    x = tone(freq, seconds=0.8, phase=phase)
    at = RATE // 2
    x[:at] = 0.0
    x[at:] = tone(freq, seconds=0.3, phase=phase)[: len(x) - at]
    assert near(clicks(x), at)


def test_a_block_of_zeros_in_a_tone_is_a_click():
    """What the old detector forgave as a dropped block: zeros between signal."""
    x = tone(seconds=0.8)
    x[12800:12800 + 256] = 0.0
    found = clicks(x)
    assert near(found, 12800) and near(found, 12800 + 256)


@pytest.mark.parametrize("step", [0.02, 0.005])
def test_a_one_sample_step_is_a_click(step):
    """A DC step of 20 % and of 5 % of a -20 dBFS tone's amplitude."""
    x = tone(seconds=0.8)
    at = 20000
    x[at:] += step
    assert near(clicks(x), at)


def test_a_one_sample_spike_is_a_click():
    x = tone(seconds=0.8)
    x[20000] += 0.01
    assert near(clicks(x), 20000)


@pytest.mark.parametrize("splice", ["dropped", "repeated"])
def test_a_period_dropped_or_repeated_is_a_click(splice):
    """An xrun as the dummy driver leaves it in a take: a splice at a period boundary."""
    x = tone(seconds=0.8)
    at = 256 * 60
    if splice == "dropped":
        y = np.concatenate([x[:at], x[at + 256:]])
    else:
        y = np.concatenate([x[:at + 256], x[at:]])
        at += 256
    assert near(clicks(y), at)


def test_a_click_on_the_right_channel_alone_is_seen():
    x = tone(seconds=0.8)
    x[20000:, 1] = 0.0
    assert near(clicks(x), 20000)


def _fade(n: int, down: bool) -> np.ndarray:
    ramp = np.arange(1, n + 1) / n
    return 1.0 - ramp if down else ramp


@pytest.mark.parametrize("freq", [330.0, 440.0, 660.0, 1000.0])
def test_a_10_ms_fade_out_to_silence_and_back_in_is_not_a_click(freq):
    """The transport's stop and play: linear fades over 480 samples."""
    x = tone(freq, seconds=0.8)
    stop, play = 9000, 20000
    x[stop:stop + FADE] *= _fade(FADE, down=True)[:, None]
    x[stop + FADE:play] = 0.0
    x[play:play + FADE] *= _fade(FADE, down=False)[:, None]
    assert clicks(x) == []


def test_a_fade_in_after_a_long_silence_is_not_a_click():
    """A take that is 99 % silence is judged by its signal, not by the silence."""
    x = np.zeros((2 * RATE + 700, 2))
    x[-700:] = tone(seconds=700 / RATE)
    x[-700:-700 + FADE] *= _fade(FADE, down=False)[:, None]
    assert clicks(x) == []
    x[-100] += 0.01  # and a click in that little signal is still seen
    assert near(clicks(x), len(x) - 100)


def test_a_10_ms_crossfade_between_sources_is_not_a_click():
    """Master to reference at a matched level, as the engine switches sources."""
    a, b = tone(440.0, seconds=0.8), tone(1000.0, seconds=0.8, phase=1.0)
    at = 20000
    w = np.concatenate([np.ones(at), _fade(FADE, down=True), np.zeros(len(a) - at - FADE)])
    assert clicks(a * w[:, None] + b * (1.0 - w[:, None])) == []


def test_a_gain_change_glided_is_not_a_click():
    """-12 dB through the engine's one-pole gain smoother (20 ms)."""
    x = tone(seconds=0.8)
    at, target = 20000, 10 ** (-12 / 20)
    pole = 1.0 - math.exp(-1.0 / (0.020 * RATE))
    gain = np.ones(len(x))
    for i in range(at, len(x)):
        gain[i] = gain[i - 1] + (target - gain[i - 1]) * pole
    assert clicks(x * gain[:, None]) == []


@pytest.mark.parametrize("offset", range(0, 110, 11))
def test_a_gain_change_in_one_step_is_a_click(offset):
    """-12 dB at once, wherever in the 440 Hz cycle it falls."""
    x = tone(seconds=0.8)
    at = 20000 + offset
    gain = np.where(np.arange(len(x)) < at, 1.0, 10 ** (-12 / 20))
    assert near(clicks(x * gain[:, None]), at)


# ------------------------------------------------------------------ record_clean


class ScriptedRecorder(Recorder):
    """A Recorder whose takes and server xruns are scripted: record_clean's rule alone."""

    xruns = 0  # counted here, in place of the server's count

    def __init__(self, script: list[tuple[np.ndarray, int]]) -> None:  # no JACK client
        self.script = list(script)
        self.takes = 0

    def record(self, seconds: float, during=None) -> np.ndarray:
        take, xruns = self.script.pop(0)
        self.xruns += xruns
        self.takes += 1
        return take


def _clicky() -> np.ndarray:
    x = tone()
    x[10000:] += 0.02
    return x


def test_a_click_with_an_xrun_is_taken_again():
    clean = tone()
    recorder = ScriptedRecorder([(_clicky(), 1), (clean, 0)])
    setups = []
    assert recorder.record_clean(0.5, setup=lambda: setups.append(1)) is clean
    assert recorder.takes == 2 and len(setups) == 2


def test_a_click_with_no_xrun_is_returned_for_the_test_to_fail_on():
    clicky = _clicky()
    recorder = ScriptedRecorder([(clicky, 0), (tone(), 0)])
    assert recorder.record_clean(0.5) is clicky
    assert recorder.takes == 1 and clicks(clicky)


def test_a_click_in_every_take_is_returned_after_the_last_attempt():
    script = [(_clicky(), 1) for _ in range(3)]
    last = script[-1][0]
    recorder = ScriptedRecorder(script)
    assert recorder.record_clean(0.5, attempts=3) is last
    assert recorder.takes == 3 and clicks(last)


# ------------------------------------------------------------------ levels


@pytest.mark.parametrize("level_db", [-40.0, -20.0, -3.0])
def test_rms_of_a_sine_is_its_amplitude_over_root_two(level_db):
    x = tone(1000.0, level_db, seconds=1.0)  # whole cycles
    assert db(rms(x)) == pytest.approx(level_db - 10 * math.log10(2), abs=1e-3)


@pytest.mark.parametrize("off_db", [1.0, -1.0, 0.3, -12.0])
def test_a_level_off_by_some_db_reads_off_by_as_much(off_db):
    x = tone(440.0, -20.0, seconds=1.0)
    off = db(rms(x * 10 ** (off_db / 20))) - db(rms(x))
    assert off == pytest.approx(off_db, abs=1e-9)


def test_db_of_silence_is_a_floor_not_an_error():
    assert db(rms(np.zeros((100, 2)))) < -3000.0
    assert peak_db(0.0) == pytest.approx(-600.0)
    assert peak_db(1.0) == 0.0 and peak_db(0.5) == pytest.approx(-6.0206, abs=1e-4)


def test_window_levels_see_a_1_db_step_in_its_window():
    x = tone(440.0, -12.0, seconds=1.0)
    x[takes.WINDOW * 7:takes.WINDOW * 8] *= 10 ** (1 / 20)
    lv = takes.levels(x)
    assert len(lv) == RATE // takes.WINDOW
    assert lv[7] - lv[6] == pytest.approx(1.0, abs=0.01)
    others = np.delete(lv, 7)
    assert np.ptp(others) < 0.01 and others[0] == pytest.approx(-15.01, abs=0.01)


# ------------------------------------------------------------------ inter-sample peaks


def test_peak16_reads_a_sine_at_its_amplitude_wherever_the_samples_fall():
    """At fs/4 and 45 degrees every sample sits 3 dB under the crest."""
    n = np.arange(4800)
    x = 0.5 * np.sin(2 * np.pi * n / 4 + np.pi / 4)
    assert peak_db(np.max(np.abs(x))) == pytest.approx(-6.02 - 3.01, abs=0.01)
    assert peak16_db(x) == pytest.approx(-6.02, abs=0.01)


@pytest.mark.parametrize("run", [1, 2, 3, 5])
def test_peak16_sees_the_peak_between_full_scale_samples(run):
    """Samples all at full scale; the ideal reconstruction peaks 2-7 dB above them.

    Measured 0.003 to 0.04 dB under the closed form: the check's interpolator
    spans 128 samples, the ideal one all of them.
    """
    x = alternating_run(run)
    assert np.max(np.abs(x)) == 1.0
    assert peak16_db(x) == pytest.approx(alternating_run_peak_db(run), abs=0.05)


# ------------------------------------------------------------------ lining a take up


def chirp(seconds: float = 2.0, level_db: float = -12.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    f0, f1 = 150.0, 2500.0
    k = np.log(f1 / f0)
    s = 10 ** (level_db / 20) * np.sin(2 * np.pi * f0 * seconds / k * (np.exp(t / seconds * k) - 1))
    return np.stack([s, s], axis=1)


def take_of(render: np.ndarray, lag: int, tail: int = 4000) -> np.ndarray:
    return np.concatenate([np.zeros((lag, 2)), render, np.zeros((tail, 2))])


@pytest.mark.parametrize("lag", [0, 1, 37, 256, 4813])
def test_align_finds_a_take_late_by_n_samples(lag):
    render = chirp()
    assert takes.align(take_of(render, lag), render) == lag


def test_align_finds_the_lag_through_noise_and_a_level_change():
    render = chirp()
    live = take_of(render, 1234) * 0.5
    live += 0.01 * np.random.default_rng(3).standard_normal(live.shape)
    assert takes.align(live, render) == 1234


def test_compare_of_the_take_itself_reads_zero_everywhere():
    render = chirp()
    diff = takes.compare(take_of(render, 2999), render)
    assert len(diff) == len(render) // takes.WINDOW - 1  # all but the first window
    assert np.max(np.abs(diff)) < 1e-9


def test_compare_sees_one_window_1_db_off():
    render = chirp()
    lag, k = 2999, 17
    live = take_of(render, lag)
    live[lag + k * takes.WINDOW:lag + (k + 1) * takes.WINDOW] *= 10 ** (1 / 20)
    diff = takes.compare(live, render)
    assert diff[k - 1] == pytest.approx(1.0, abs=1e-6)
    assert np.max(np.abs(np.delete(diff, k - 1))) < 1e-9


@pytest.mark.parametrize("splice", ["dropped", "repeated"])
def test_compare_leaves_out_a_splice_only_when_an_xrun_accounts_for_it(splice):
    render = chirp()
    lag, at = 2999, 2999 + 256 * 150
    live = take_of(render, lag)
    if splice == "dropped":
        live = np.concatenate([live[:at], live[at + 256:]])
    else:
        live = np.concatenate([live[:at + 256], live[at:]])
    diff = takes.compare(live, render, xruns=1)
    assert len(diff) >= len(render) // takes.WINDOW - 4  # only the splice's windows out
    assert np.max(np.abs(diff)) < 1e-9
    with pytest.raises(AssertionError, match="jumps at windows"):
        takes.compare(live, render, xruns=0)


def test_compare_refuses_a_take_that_starts_after_the_song():
    render = chirp()
    with pytest.raises(AssertionError, match="started after the song"):
        takes.compare(render[500:], render)


# ------------------------------------------------------------------ measures inside DSP tests


def _gain_toggling_every_10_ms(glide_ms: float | None) -> np.ndarray:
    """A 110 Hz tone whose gain flips between 1 and 0.5 every 10 ms, stepped or glided."""
    n = int(0.6 * RATE)
    x = 0.25 * np.sin(2 * np.pi * 110.0 * np.arange(n) / RATE)
    target = np.where((np.arange(n) // (RATE // 100)) % 2 == 0, 1.0, 0.5)
    if glide_ms is None:
        return x * target
    pole = 1.0 - math.exp(-1.0 / (glide_ms / 1000.0 * RATE))
    gain = np.empty(n)
    g = 1.0
    for i in range(n):
        g += (target[i] - g) * pole
        gain[i] = g
    return x * gain


def test_the_limiter_tests_high_frequency_share_sees_a_stepped_gain():
    """``test_limiter.hf_share_db`` holds the limiter's thrown ceiling under -70 dB."""
    from tests.test_limiter import hf_share_db

    assert hf_share_db(_gain_toggling_every_10_ms(None)) > -70.0 + 20.0  # measured -39 dB
    assert hf_share_db(_gain_toggling_every_10_ms(1.0)) < -70.0  # measured -77 dB
    assert hf_share_db(0.25 * np.sin(2 * np.pi * 110.0 * np.arange(RATE) / RATE)) < -200.0


@pytest.mark.parametrize("tau_ms", [2.0, 20.0, 400.0])
def test_the_compressor_tests_crossing_reads_a_time_constant(tau_ms):
    """``test_compressor.crossing`` finds 63 % of an exponential approach at its time constant."""
    from tests.test_compressor import FS, crossing

    start, full = 1000, 15.0
    k = np.arange(int(3 * tau_ms / 1000 * FS))
    rise = np.concatenate([np.zeros(start), full * (1 - np.exp(-(k + 1) / (tau_ms / 1000 * FS)))])
    fall = np.concatenate([np.full(start, full), full * np.exp(-(k + 1) / (tau_ms / 1000 * FS))])
    level = (1 - math.exp(-1)) * full
    assert crossing(rise, start, level, rising=True) == pytest.approx(tau_ms / 1000, abs=1 / FS)
    assert crossing(fall, start, math.exp(-1) * full, rising=False) == pytest.approx(
        tau_ms / 1000, abs=1 / FS)
