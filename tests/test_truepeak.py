"""The BS.1770-4 Annex 2 true-peak meter against EBU Tech 3341 and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from dsp import truepeak as tp
from tests.peakcheck import alternating_run, db, stereo, tp_burst, tp_case

TOL_UP, TOL_DOWN = 0.2, 0.4  # Tech 3341: true peak +0.2 / -0.4 dB


def read_db(x: np.ndarray, rate: float) -> float:
    return db(tp.true_peak(x, rate))


@pytest.mark.parametrize(("rate", "factor"), [
    (32000, 4), (44100, 4), (48000, 4), (88200, 2), (96000, 2), (176400, 1), (192000, 1),
])
def test_oversampling_follows_the_sample_rate_like_libebur128(rate, factor):
    assert tp.oversampling(rate) == factor


@pytest.mark.parametrize(("case", "div", "amp", "phase", "expected"), [
    (15, 4, 0.50, 0.0, -6.0),
    (16, 4, 0.50, 45.0, -6.0),
    (17, 6, 0.50, 60.0, -6.0),
    (18, 8, 0.50, 67.5, -6.0),
    (19, 4, 1.41, 45.0, 3.0),
])
def test_tech_3341_sine_cases_read_within_tolerance(case, div, amp, phase, expected):
    reading = read_db(stereo(tp_case(div, amp, phase)), 48000)
    assert expected - TOL_DOWN <= reading <= expected + TOL_UP, (case, reading)


@pytest.mark.parametrize("offset", [0, 1, 2, 3])
def test_tech_3341_burst_cases_20_to_23_read_0_dbtp(offset):
    reading = read_db(stereo(tp_burst(offset)), 48000)
    assert -TOL_DOWN <= reading <= TOL_UP, (20 + offset, reading)


def test_case_17_reads_the_known_annex_2_value():
    # The Annex-2 FIR reads fs/6 at 60 degrees low: -6.313 dB (reference table).
    assert read_db(tp_case(6, 0.5, 60.0), 48000) == pytest.approx(-6.313, abs=0.002)


@pytest.mark.parametrize(("run", "annex2_db"), [(1, 1.903), (2, 4.146), (3, 5.117), (10, 6.119)])
def test_alternating_runs_read_the_known_annex_2_values(run, annex2_db):
    assert read_db(alternating_run(run), 48000) == pytest.approx(annex2_db, abs=0.002)


@pytest.mark.parametrize("rate", [44100, 96000])
@pytest.mark.parametrize(("freq", "phase"), [(997.0, 0.3), (5000.0, 1.1), (15000.0, 2.0)])
def test_sines_read_their_amplitude_at_other_rates(rate, freq, phase):
    reading = read_db(tp_case(rate / freq, 0.5, np.rad2deg(phase), fs=rate), rate)
    assert -6.02 - TOL_DOWN <= reading <= -6.02 + TOL_UP


@pytest.mark.parametrize("rate", [44100, 96000])
def test_fs4_at_45_degrees_reads_above_its_samples_at_other_rates(rate):
    x = tp_case(4, 1.41, 45.0, fs=rate)
    assert db(np.max(np.abs(x))) < 0.0
    assert 3.0 - TOL_DOWN <= read_db(x, rate) <= 3.0 + TOL_UP


def test_at_192k_the_meter_is_the_sample_peak():
    x = tp_case(4, 0.5, 45.0, fs=192000)
    assert tp.true_peak(x, 192000) == np.max(np.abs(x))


def test_channels_are_metered_separately():
    x = stereo(tp_case(4, 0.5, 45.0), 0.25 * tp_case(4, 0.5, 45.0))
    state = tp.prepare(48000, 2)
    tp.process(x, state)
    left, right = tp.channel_peaks(state)
    assert db(left) == pytest.approx(-5.976, abs=0.01)
    assert left / right == pytest.approx(4.0, rel=1e-9)


def test_reading_is_never_below_the_sample_peak():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3000, 3)) * np.array([0.1, 1.0, 3.0])
    state = tp.prepare(48000, 3)
    tp.process(x, state)
    assert np.all(tp.channel_peaks(state) >= np.max(np.abs(x), axis=0))


@pytest.mark.parametrize("rate", [48000, 96000, 192000])
def test_streaming_in_any_block_size_equals_the_whole_array(rate):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((10007, 2)) * 0.3
    whole = tp.prepare(rate, 2)
    tp.process(x, whole)
    for block in (1, 16, 64, 1000, 8192):
        state = tp.prepare(rate, 2)
        for start in range(0, x.shape[0], block):
            tp.process(x[start:start + block], state)
        np.testing.assert_array_equal(tp.channel_peaks(state), tp.channel_peaks(whole))
    assert tp.true_peak(x, rate) == np.max(tp.channel_peaks(whole))


def test_reset_forgets_peaks_and_history():
    x = stereo(tp_case(4, 1.41, 45.0))
    state = tp.prepare(48000, 2)
    tp.process(x, state)
    tp.reset(state)
    assert np.all(tp.channel_peaks(state) == 0.0)
    quiet = 0.1 * x
    tp.process(quiet, state)
    np.testing.assert_array_equal(tp.channel_peaks(state), tp.true_peak(quiet, 48000))


def test_empty_and_mono_input():
    assert tp.true_peak(np.zeros(0), 48000) == 0.0
    assert tp.true_peak(np.zeros((0, 2)), 48000) == 0.0
    mono = tp_case(4, 0.5, 45.0)
    assert tp.true_peak(mono, 48000) == tp.true_peak(stereo(mono), 48000)
