"""dsp.biquad: matched designs against the analog prototypes, RBJ and scipy."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from dsp.biquad import (
    BELL,
    HIGH_PASS,
    HIGH_SHELF,
    LOW_PASS,
    LOW_SHELF,
    analog_response,
    design,
    response,
    response_db,
)

RATES = (44100.0, 48000.0, 88200.0, 96000.0, 176400.0, 192000.0)
AUDIO = np.geomspace(20.0, 20000.0, 1200)  # the band every test measures, Hz


def rbj(kind: int, freq_hz: float, gain_db: float, q: float, sample_rate: float) -> np.ndarray:
    """Plain RBJ cookbook (bilinear, prewarped at f0): the cramped reference."""
    w0 = 2.0 * math.pi * freq_hz / sample_rate
    a = 10.0 ** (gain_db / 40.0)
    cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
    sa = 2.0 * math.sqrt(a) * alpha
    if kind == BELL:
        b, den = [1 + alpha * a, -2 * cw, 1 - alpha * a], [1 + alpha / a, -2 * cw, 1 - alpha / a]
    elif kind == LOW_SHELF:
        b = [a * ((a + 1) - (a - 1) * cw + sa), 2 * a * ((a - 1) - (a + 1) * cw),
             a * ((a + 1) - (a - 1) * cw - sa)]
        den = [(a + 1) + (a - 1) * cw + sa, -2 * ((a - 1) + (a + 1) * cw),
               (a + 1) + (a - 1) * cw - sa]
    elif kind == HIGH_SHELF:
        b = [a * ((a + 1) + (a - 1) * cw + sa), -2 * a * ((a - 1) + (a + 1) * cw),
             a * ((a + 1) + (a - 1) * cw - sa)]
        den = [(a + 1) - (a - 1) * cw + sa, 2 * ((a - 1) - (a + 1) * cw),
               (a + 1) - (a - 1) * cw - sa]
    elif kind == HIGH_PASS:
        b, den = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2], [1 + alpha, -2 * cw, 1 - alpha]
    else:
        b, den = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2], [1 + alpha, -2 * cw, 1 - alpha]
    return np.array([b[0], b[1], b[2], den[1], den[2]]) / den[0]


def worst_db(coefs, kind, freq_hz, gain_db, q, sample_rate, floor_db=-np.inf) -> float:
    """Largest |digital - analog| in dB over 20 Hz..20 kHz where the analog is above floor_db."""
    analog = analog_response(kind, freq_hz, gain_db, q, AUDIO)
    err = np.abs(response_db(coefs, AUDIO, sample_rate) - analog)
    return float(err[analog > floor_db].max())


# (sample rate, type, freq, gain, Q, matched tolerance achieved, RBJ error at least)
DECRAMPING = [
    (48000.0, BELL, 16000.0, 6.0, 1.0, 0.22, 3.3),
    (48000.0, BELL, 8000.0, 6.0, 1.0, 0.23, 1.1),
    (48000.0, BELL, 16000.0, -6.0, 0.7, 0.19, 2.9),
    (44100.0, BELL, 12000.0, 9.0, 2.0, 0.48, 2.8),
    (96000.0, BELL, 18000.0, 12.0, 0.5, 0.022, 0.75),
    (44100.0, HIGH_SHELF, 10000.0, 6.0, 0.707, 0.093, 0.7),
    (48000.0, HIGH_SHELF, 16000.0, -12.0, 0.707, 0.9, 3.0),
    (44100.0, LOW_SHELF, 8000.0, -6.0, 0.707, 0.05, 0.45),
    (96000.0, HIGH_SHELF, 12000.0, -9.0, 1.0, 0.005, 0.35),
    (44100.0, HIGH_PASS, 10000.0, 0.0, 0.707, 0.08, 3.3),
    (48000.0, LOW_PASS, 18000.0, 0.0, 0.707, 0.14, 4.2),
    (44100.0, LOW_PASS, 16000.0, 0.0, 0.707, 0.45, 14.0),
    (96000.0, LOW_PASS, 20000.0, 0.0, 1.0, 0.002, 0.15),
]


@pytest.mark.parametrize(("sample_rate", "kind", "freq", "gain", "q", "tol_db", "rbj_db"),
                         DECRAMPING)
def test_matched_design_follows_the_analog_prototype_up_to_20k_where_rbj_cramps(
        sample_rate, kind, freq, gain, q, tol_db, rbj_db):
    # e.g. bell 16 kHz Q1 +6 dB at 48 kHz: within 0.22 dB of analog up to 20 kHz; RBJ is 3.35 dB off
    matched = worst_db(design(kind, freq, gain, q, sample_rate), kind, freq, gain, q, sample_rate)
    cookbook = worst_db(rbj(kind, freq, gain, q, sample_rate), kind, freq, gain, q, sample_rate)
    assert matched <= tol_db
    assert cookbook >= rbj_db
    assert matched < cookbook / 3


# Largest error over a grid of the whole table range (13 freqs 20 Hz..20 kHz, 7 Q 0.1..10,
# gains -18/-6/+6/+18 dB), per type (bell, low shelf, high shelf, high pass, low pass), in
# dB, up to 20 kHz, where the analog response is above -30 dB (the passes' deep stopbands are
# left out). The corners that set these are Q >= 5 shelves and Q 0.1 / Q 10 passes near 20 kHz
# at 44.1 kHz; "musical" (Q 0.5..2, f <= 16 kHz, |gain| <= 12 dB) is far tighter.
FULL_RANGE_DB = {
    44100.0: (1.77, 2.39, 2.39, 3.09, 1.47),
    48000.0: (1.24, 1.41, 1.41, 2.37, 0.82),
    96000.0: (0.05, 0.36, 0.36, 0.082, 0.009),
}
MUSICAL_DB = {
    44100.0: (0.55, 0.093, 0.093, 0.27, 1.45),
    48000.0: (0.34, 0.065, 0.065, 0.20, 0.81),
    96000.0: (0.013, 0.006, 0.006, 0.012, 0.009),
}


@pytest.mark.parametrize("sample_rate", sorted(FULL_RANGE_DB))
def test_every_type_stays_close_to_analog_across_the_table_range(sample_rate):
    full = np.zeros(5)
    musical = np.zeros(5)
    for kind in range(5):
        for freq in np.geomspace(20.0, 20000.0, 13):
            for q in np.geomspace(0.1, 10.0, 7):
                for gain in (-18.0, -6.0, 6.0, 18.0) if kind <= HIGH_SHELF else (0.0,):
                    err = worst_db(design(kind, freq, gain, q, sample_rate), kind, freq, gain,
                                   q, sample_rate, floor_db=-30.0)
                    full[kind] = max(full[kind], err)
                    if 0.5 <= q <= 2.0 and freq <= 16000.0 and abs(gain) <= 12.0:
                        musical[kind] = max(musical[kind], err)
    assert np.all(full <= FULL_RANGE_DB[sample_rate]), full
    assert np.all(musical <= MUSICAL_DB[sample_rate]), musical


def test_low_frequencies_at_high_rates_are_exact_despite_poles_near_one():
    # 20 Hz, Q 10 at 192 kHz puts the poles 3e-5 from z = 1: still within 0.001 dB
    for kind, gain in ((BELL, 12.0), (BELL, -0.1), (LOW_SHELF, 18.0), (HIGH_SHELF, -18.0),
                       (HIGH_PASS, 0.0), (LOW_PASS, 0.0)):
        coefs = design(kind, 20.0, gain, 10.0, 192000.0)
        assert worst_db(coefs, kind, 20.0, gain, 10.0, 192000.0, floor_db=-60.0) < 1e-3


@pytest.mark.parametrize("kind", [BELL, LOW_SHELF, HIGH_SHELF])
def test_zero_gain_is_the_exact_identity(kind):
    for sample_rate in RATES:
        assert design(kind, 1234.5, 0.0, 3.3, sample_rate) == (1.0, 0.0, 0.0, 0.0, 0.0)
    # and the design approaches it continuously: a 1e-9 dB band is that analog band to 1e-11 dB
    tiny = response_db(design(kind, 1234.5, 1e-9, 3.3, 48000.0), AUDIO, 48000.0)
    assert np.abs(tiny - analog_response(kind, 1234.5, 1e-9, 3.3, AUDIO)).max() < 1e-11


@pytest.mark.parametrize("kind", [BELL, LOW_SHELF, HIGH_SHELF])
def test_cut_mirrors_boost_in_db(kind):
    for freq, q in ((60.0, 0.4), (3000.0, 1.5), (17000.0, 8.0)):
        boost = response_db(design(kind, freq, 9.5, q, 44100.0), AUDIO, 44100.0)
        cut = response_db(design(kind, freq, -9.5, q, 44100.0), AUDIO, 44100.0)
        np.testing.assert_allclose(cut, -boost, atol=1e-9)


def test_gains_at_dc_centre_and_corners_are_the_analog_ones():
    sample_rate = 48000.0
    near_dc = np.array([1e-3])
    cases = [  # (type, gain, dB at DC)
        (BELL, 7.0, 0.0), (LOW_SHELF, 7.0, 7.0), (HIGH_SHELF, 7.0, 0.0), (LOW_PASS, 0.0, 0.0)]
    for kind, gain, dc_db in cases:
        assert response_db(design(kind, 5000.0, gain, 0.9, sample_rate), near_dc,
                           sample_rate)[0] == pytest.approx(dc_db, abs=1e-9)
    # a bell peaks at its centre with its gain; a shelf is at half its gain there
    assert response_db(design(BELL, 5000.0, 7.0, 0.9, sample_rate), [5000.0],
                       sample_rate)[0] == pytest.approx(7.0, abs=1e-9)
    assert response_db(design(HIGH_SHELF, 5000.0, 7.0, 0.9, sample_rate), [5000.0],
                       sample_rate)[0] == pytest.approx(3.5, abs=0.01)
    # the high pass has a double zero at DC: 12 dB per octave at the bottom
    hp = response_db(design(HIGH_PASS, 5000.0, 0.0, 0.9, sample_rate), [10.0, 20.0], sample_rate)
    assert hp[1] - hp[0] == pytest.approx(12.04, abs=0.01)


def test_response_agrees_with_scipy_freqz_for_single_sections_and_cascades():
    rng = np.random.default_rng(7)
    freqs = rng.uniform(0.0, 24000.0, 300)
    sections = np.array([design(kind, f, g, q, 48000.0) for kind, f, g, q in (
        (BELL, 900.0, 5.0, 2.0), (HIGH_SHELF, 9000.0, -4.0, 0.7), (HIGH_PASS, 35.0, 0.0, 0.8))])
    for c in sections:
        _, h = signal.freqz([c[0], c[1], c[2]], [1.0, c[3], c[4]], worN=freqs, fs=48000.0)
        np.testing.assert_allclose(response(c, freqs, 48000.0), h, rtol=1e-12, atol=1e-14)
    sos = np.column_stack([sections[:, :3], np.ones(3), sections[:, 3:]])
    _, h = signal.sosfreqz(sos, worN=freqs, fs=48000.0)
    np.testing.assert_allclose(response(sections, freqs, 48000.0), h, rtol=1e-12, atol=1e-14)


def test_design_runs_inside_a_jitted_kernel():
    @numba.njit(error_model="numpy")
    def first_coefficients(n):
        out = np.empty((n, 5))
        for i in range(n):
            out[i] = design(i % 5, 100.0 * (i + 1), 3.0, 0.7, 48000.0)
        return out

    got = first_coefficients(10)
    for i in range(10):
        np.testing.assert_array_equal(got[i], design(i % 5, 100.0 * (i + 1), 3.0, 0.7, 48000.0))


@settings(max_examples=300, deadline=None)
@given(kind=st.integers(0, 4), freq=st.floats(20.0, 20000.0), gain=st.floats(-18.0, 18.0),
       q=st.floats(0.1, 10.0), sample_rate=st.sampled_from(RATES))
def test_any_setting_in_the_table_gives_finite_coefficients_and_stable_poles(
        kind, freq, gain, q, sample_rate):
    c = design(kind, freq, gain, q, sample_rate)
    assert np.all(np.isfinite(c))
    assert np.abs(np.roots([1.0, c[3], c[4]])).max() < 1.0
    assert c[0] > 0.0


@settings(max_examples=100, deadline=None)
@given(kind=st.integers(0, 4), freq=st.floats(20000.0, 200000.0), gain=st.floats(-18.0, 18.0),
       q=st.floats(0.1, 10.0))
def test_frequencies_above_nyquist_are_clamped_and_stay_stable(kind, freq, gain, q):
    c = design(kind, freq, gain, q, 44100.0)
    assert np.all(np.isfinite(c))
    assert np.abs(np.roots([1.0, c[3], c[4]])).max() < 1.0
    assert c == design(kind, 0.49 * 44100.0, gain, q, 44100.0) or freq < 0.49 * 44100.0
