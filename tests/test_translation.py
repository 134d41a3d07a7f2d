"""Translation checks (dsp/translation.py): matrices, curves, click-free switching, compensation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from console.control.wire import TRANSLATIONS
from dsp import translation as T
from dsp.biquad import response_db
from dsp.errors import ParameterError
from dsp.meter import measure
from tests.helpers import db
from tests.jackrecorder import clicks

RATE = 48000
CURVED = [c.name for c in T.CHECKS if c.sections]


def run(x: np.ndarray, schedule: list[tuple[int, str]], block: int = 256,
        state: np.ndarray | None = None) -> np.ndarray:
    """Process a copy of ``x`` in blocks, selecting ``name`` from frame ``at`` on for each step."""
    state = T.prepare(RATE) if state is None else state
    y = np.ascontiguousarray(x, dtype=np.float64).copy()
    for start in range(0, len(y), block):
        name = [n for at, n in schedule if at <= start][-1]
        n = min(block, len(y) - start)
        T.process(y[start:start + n], n, state, T.index(name))
    return y


def tone(freq: float, seconds: float, left_amp: float = 0.1, right_amp: float = 0.1,
         right_phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return np.stack([left_amp * np.sin(2 * np.pi * freq * t),
                     right_amp * np.sin(2 * np.pi * freq * t + right_phase)], axis=1)


def amplitude(x: np.ndarray, freq: float) -> float:
    """Amplitude of the ``freq`` sinusoid in ``x`` (1-D), by least squares: any window length."""
    t = np.arange(len(x)) / RATE
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coef = np.linalg.lstsq(basis, x, rcond=None)[0]
    return float(np.hypot(*coef))


def pink(seconds: float, seed: int, correlated: bool = False, level_db: float = -20.0
         ) -> np.ndarray:
    """Pink noise over 20 Hz - 20 kHz (the band the curve figures are worked out for)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    shape = np.where((freqs >= 20.0) & (freqs <= 20000.0), 1 / np.sqrt(np.maximum(freqs, 1.0)),
                     0.0)
    channels = []
    for _ in range(1 if correlated else 2):
        spectrum = (rng.standard_normal(len(freqs)) + 1j * rng.standard_normal(len(freqs)))
        channels.append(np.fft.irfft(spectrum * shape, n))
    x = np.stack([channels[0], channels[-1]], axis=1)
    return x * 10 ** (level_db / 20) / np.sqrt(np.mean(x ** 2))


# ------------------------------------------------------------------ the designs


def test_every_check_has_a_unique_name_and_off_is_first():
    assert T.NAMES[T.OFF] == "off"
    assert len(set(T.NAMES)) == len(T.NAMES) == T.COUNT
    assert all(len(c.sections) <= T.SECTIONS for c in T.CHECKS)
    with pytest.raises(ParameterError, match="use one of off, mono"):
        T.index("radio")


def test_thin_clients_know_the_same_names_without_numpy():
    assert TRANSLATIONS == T.NAMES


def test_the_device_curves_are_marked_as_approximations():
    assert all(c.approximate for c in T.CHECKS if c.sections)
    assert not any(c.approximate for c in T.CHECKS if not c.sections)


@pytest.mark.parametrize(("name", "freq", "low_db", "high_db"), [
    ("phone", 100.0, -80.0, -30.0),  # 4th order: ~38 dB down 1.6 octaves under 300 Hz
    ("phone", 300.0, -3.5, -1.5),  # the corner, lifted a little by the presence bell
    ("phone", 3000.0, 4.5, 5.5),  # the presence peak
    ("phone", 16000.0, -10.0, -3.5),  # past the 12 kHz low-pass
    ("laptop", 60.0, -60.0, -30.0),
    ("laptop", 180.0, -3.5, -2.5),
    ("laptop", 1000.0, -0.1, 0.1),
    ("laptop", 16000.0, -3.5, -2.5),
    ("earbuds", 30.0, -6.5, -5.0),  # bass -6 dB under 100 Hz
    ("earbuds", 4000.0, 3.5, 4.5),
    ("earbuds", 1000.0, -1.0, 0.5),
    ("car", 30.0, 5.0, 6.5),  # cabin gain
    ("car", 300.0, -3.5, -2.0),  # the 200-400 Hz dip
    ("car", 3000.0, -0.3, 0.3),
])
def test_each_curve_is_designed_as_described(name, freq, low_db, high_db):
    gain = 20 * np.log10(abs(T.response(name, np.array([freq]), RATE)[0]))
    assert low_db <= gain <= high_db


@pytest.mark.parametrize("name", [n for n in T.NAMES if n != "side"])  # side of L = R: silence
def test_each_checks_response_measured_with_sines_matches_its_design(name):
    """Stepped sines, L = R, 30 Hz to 18 kHz: what comes out is the curve times its gain.

    For a signal with L = R every matrix but side gives the programme's own
    level, so the compensation is the curve's pink-noise figure alone and
    the same at every frequency. Measured: within 0.0001 dB of the design
    wherever the curve is above -60 dB.
    """
    freqs = np.geomspace(30.0, 18000.0, 25)
    design_db = response_db(T.design(T.CHECKS[T.index(name)], RATE), freqs, RATE)
    expected_gain_db = -10 * math.log10(T.curve_power(name, RATE))
    state = T.prepare(RATE)
    assert T.compensation_db(state, name) == pytest.approx(expected_gain_db, abs=1e-9)
    for freq, want in zip(freqs, design_db, strict=True):
        x = tone(freq, 0.6)
        y = run(x, [(0, name)])
        got = db(amplitude(y[RATE // 2:, 0], freq)) - db(0.1)
        assert db(amplitude(y[RATE // 2:, 1], freq)) - db(0.1) == pytest.approx(got, abs=1e-6)
        if want > -60.0:
            assert got - expected_gain_db == pytest.approx(want, abs=0.001), f"{freq:.0f} Hz"
        else:
            assert got - expected_gain_db < -55.0, f"{freq:.0f} Hz"


# ------------------------------------------------------------------ the matrices


def test_mono_of_a_left_only_signal_is_on_both_sides_at_the_programmes_loudness():
    """L alone: (L+R)/2 has half the energy of L, so the compensation is +3 dB."""
    x = tone(440.0, 1.5, left_amp=0.2, right_amp=0.0)
    y = run(x, [(0, "mono")])
    tail = slice(RATE, None)
    assert np.array_equal(y[tail, 0], y[tail, 1])
    np.testing.assert_allclose(y[tail, 0], x[tail, 0] * 0.5 * math.sqrt(2), atol=1e-5)


def test_side_of_a_mono_signal_is_silent():
    x = pink(1.0, seed=4, correlated=True)
    y = run(x, [(0, "side")])
    fade = round(T.FADE_MS / 1000 * RATE)
    assert np.max(np.abs(x[fade:])) > 0.05
    assert np.all(y[fade + 1:] == 0.0)


def test_side_of_a_left_only_signal_is_half_of_it_on_both_speakers_compensated():
    x = tone(440.0, 1.5, left_amp=0.2, right_amp=0.0)
    y = run(x, [(0, "side")])
    tail = slice(RATE, None)
    np.testing.assert_allclose(y[tail, 0], x[tail, 0] * 0.5 * math.sqrt(2), atol=1e-5)
    np.testing.assert_allclose(y[tail, 1], y[tail, 0], atol=0)


def test_swap_swaps_the_channels_exactly():
    x = pink(0.5, seed=5)
    y = run(x, [(0, "swap")])
    fade = round(T.FADE_MS / 1000 * RATE)
    assert np.array_equal(y[fade:, 0], x[fade:, 1])
    assert np.array_equal(y[fade:, 1], x[fade:, 0])


def test_off_leaves_the_signal_untouched():
    x = pink(0.5, seed=6, level_db=0.0)  # peaks over full scale: off never caps
    assert np.array_equal(run(x, [(0, "off")]), x)


# ------------------------------------------------------------------ switching


def _switch_signal() -> np.ndarray:
    """A 440 Hz tone, unequal and out of phase between the channels, so every check differs."""
    return tone(440.0, 0.6, left_amp=0.1, right_amp=0.05, right_phase=1.2)


@pytest.mark.parametrize(("before", "after"), list(itertools.permutations(T.NAMES, 2)))
def test_switching_between_any_two_checks_does_not_click(before, after):
    x = _switch_signal()
    at = RATE // 4 + 37  # off a block boundary and off the tone's cycle
    y = run(x, [(0, before), (at, after)], block=7)
    assert clicks(y[RATE // 10:]) == []
    # and the switch happened: the end is the new check's alone (within 1 %: the two
    # compensation glides started apart and are still meeting)
    alone = run(x, [(0, after)])
    np.testing.assert_allclose(y[-RATE // 10:], alone[-RATE // 10:], atol=1e-3)


@pytest.mark.parametrize(("before", "after"), list(itertools.permutations(T.NAMES, 2)))
def test_the_click_detector_catches_a_hard_switch_between_the_same_checks(before, after):
    """The two checks spliced at one sample, each warm: what switching without a fade gives."""
    x = _switch_signal()
    at = RATE // 4 + 37
    first, second = run(x, [(0, before)]), run(x, [(0, after)])
    y = np.concatenate([first[:at], second[at:]])
    found = clicks(y[RATE // 10:])
    assert any(abs(i + RATE // 10 - at) <= 2 for i in found), found


def test_a_change_asked_for_during_a_fade_follows_it():
    x = _switch_signal()
    state = T.prepare(RATE)
    y = run(x, [(0, "off"), (9600, "mono"), (9610, "phone")], block=5, state=state)
    assert T.heard(state) == "phone"
    assert clicks(y[RATE // 10:]) == []


@pytest.mark.parametrize("block", [1, 16, 1000, 8192])
def test_the_output_does_not_depend_on_the_block_size(block):
    x = pink(1.5, seed=7)
    np.testing.assert_array_equal(run(x, [(0, "phone")], block=block),
                                  run(x, [(0, "phone")], block=64))


# ------------------------------------------------------------------ compensation


@pytest.mark.parametrize(("name", "correlated"), [
    (name, correlated) for name in T.NAMES for correlated in (False, True)
    if not (name == "side" and correlated)])  # side of a mono signal is silence
def test_pink_noise_through_each_check_is_as_loud_as_without(name, correlated):
    """Within 0.1 LU (BS.1770 integrated, the last 4 s of 8): what the check is for.

    Measured: 0.033 LU at most (phone, uncorrelated channels); the brief allowed 0.5.
    """
    x = pink(8.0, seed=11, correlated=correlated)
    y = run(x, [(0, name)])
    tail = slice(4 * RATE, None)
    before = measure(x[tail], RATE).integrated_lufs
    after = measure(y[tail], RATE).integrated_lufs
    assert after - before == pytest.approx(0.0, abs=0.1)


def test_without_compensation_the_checks_would_change_the_loudness():
    """The figures the compensation cancels are there to cancel: mono of wide noise is -3 LU."""
    x = pink(4.0, seed=12)
    state = T.prepare(RATE)
    run(x, [(0, "mono")], state=state)
    assert T.compensation_db(state, "mono") == pytest.approx(3.0, abs=0.2)
    assert T.compensation_db(state, "side") == pytest.approx(3.0, abs=0.2)
    assert T.compensation_db(state, "laptop") == pytest.approx(
        -10 * math.log10(T.curve_power("laptop", RATE)) + 10 * math.log10(1 / 0.625), abs=0.2)


def test_the_compensation_glides_without_a_zipper():
    """A tone going from centre to hard left (a clean 10 ms fade) in mono: +3 dB, smoothly.

    437 Hz, so that the 100 ms estimates do not all land on zero crossings.
    """
    x = tone(437.0, 5.0, left_amp=0.1, right_amp=0.1)
    at, fade = RATE, RATE // 100
    x[at:at + fade, 1] *= np.linspace(1.0, 0.0, fade)
    x[at + fade:, 1] = 0.0
    y = run(x, [(0, "mono")])
    mono_in = 0.5 * (x[:, 0] + x[:, 1])
    usable = np.abs(mono_in) > 0.02
    gain = np.where(usable, y[:, 0] / np.where(usable, mono_in, 1.0), np.nan)
    g = gain[usable]
    assert db(g[-100]) == pytest.approx(3.01, abs=0.02)  # L alone: +3 dB
    assert db(g[RATE // 2]) == pytest.approx(0.0, abs=0.01)  # L = R: 0 dB
    steps = np.abs(np.diff(gain))
    assert np.nanmax(steps) < 2e-4  # measured 1.3e-5; the estimates unglided step 2.3e-2
    assert clicks(y) == []


def test_the_compensation_never_pushes_a_check_over_the_ceiling():
    """Full-scale 3 kHz through the phone's +5 dB presence: held at -1 dBFS from the first peak.

    While the check fades in, what it fades from (off: the master as it is)
    is what may pass the ceiling; the check's share never does.
    """
    x = tone(3000.0, 1.0, left_amp=0.99, right_amp=0.99)
    y = run(x, [(0, "phone")])
    ceiling = 10 ** (T.CEILING_DBFS / 20)
    fade = round(T.FADE_MS / 1000 * RATE)
    assert np.max(np.abs(y[fade:])) <= ceiling + 1e-12
    assert np.max(np.abs(y)) <= 0.99
    assert np.max(np.abs(y[RATE // 2:])) > ceiling - 0.01  # held, not muted


def test_the_compensation_stops_at_12_db():
    """Side only of a nearly mono programme: the side is 40 dB down, raised 12 dB, no more."""
    x = tone(440.0, 1.5, left_amp=0.1, right_amp=0.1)
    x[:, 1] *= 1 - 0.02  # side (L-R)/2 is 1 % of the signal
    state = T.prepare(RATE)
    y = run(x, [(0, "side")], state=state)
    assert T.compensation_db(state, "side") == pytest.approx(12.0, abs=1e-9)
    side = 0.5 * (x[:, 0] - x[:, 1])
    np.testing.assert_allclose(y[RATE:, 0], 10 ** (12 / 20) * side[RATE:], rtol=1e-3, atol=1e-12)


def test_silence_keeps_the_last_estimate():
    x = tone(440.0, 2.0, left_amp=0.2, right_amp=0.0)
    x[RATE:] = 0.0
    state = T.prepare(RATE)
    run(x, [(0, "mono")], state=state)
    assert T.compensation_db(state, "mono") == pytest.approx(3.01, abs=0.01)


def test_a_non_finite_input_is_forgotten():
    x = pink(1.0, seed=13)
    x[1000, 0] = np.nan
    state = T.prepare(RATE)
    run(x, [(0, "phone")], state=state)
    y = run(pink(1.0, seed=14), [(0, "phone")], state=state)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(state))
    assert np.max(np.abs(y[RATE // 2:])) > 0.01
