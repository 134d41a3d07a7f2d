"""The report's long-term spectrum: pink reads flat, white rises 3 dB an octave, a tone peaks."""

import numpy as np
import pytest

from console.delivery.spectrum import spectrum

RATE = 48000


def _coloured(seconds: float, exponent: float, seed: int = 1) -> np.ndarray:
    """Stereo noise whose power density goes as f ** -exponent (0 white, 1 pink)."""
    n = int(seconds * RATE)
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal((2, n)), axis=1)
    freqs = np.fft.rfftfreq(n, 1.0 / RATE)
    spec /= np.maximum(freqs, 1.0) ** (exponent / 2.0)
    audio = np.fft.irfft(spec, n, axis=1).T
    return 0.1 * audio / np.abs(audio).max()


def _band(result: dict, low: float, high: float) -> np.ndarray:
    freqs = np.array(result["freqs_hz"])
    return np.array(result["db"])[(freqs >= low) & (freqs <= high)]


def test_about_100_points_from_20_hz_to_20_khz():
    result = spectrum(_coloured(2.0, 1.0), RATE)
    freqs = result["freqs_hz"]
    assert 90 <= len(freqs) <= 110 and len(result["db"]) == len(freqs)
    assert freqs[0] == pytest.approx(20.0) and freqs[-1] == pytest.approx(20000.0)
    ratios = np.diff(np.log(freqs))
    assert np.allclose(ratios, ratios[0], rtol=0.01)  # log-spaced


def test_pink_noise_reads_flat_near_0_db():
    db = _band(spectrum(_coloured(20.0, 1.0), RATE), 40.0, 16000.0)
    assert np.all(np.abs(db) < 1.5)


def test_white_noise_rises_3_db_an_octave():
    result = spectrum(_coloured(10.0, 0.0), RATE)
    low, high = _band(result, 900, 1100).mean(), _band(result, 3600, 4400).mean()
    assert high - low == pytest.approx(6.0, abs=0.5)  # two octaves


def test_a_tone_peaks_at_its_frequency():
    t = np.arange(RATE) / RATE
    tone = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    result = spectrum(np.stack([tone, tone], axis=1), RATE)
    assert result["freqs_hz"][int(np.argmax(result["db"]))] == pytest.approx(1000.0, rel=0.05)


def test_the_level_does_not_move_the_curve():
    audio = _coloured(3.0, 1.0)
    assert spectrum(audio, RATE)["db"] == pytest.approx(spectrum(0.1 * audio, RATE)["db"],
                                                         abs=0.02)


def test_out_of_phase_channels_are_not_cancelled():
    audio = _coloured(3.0, 1.0)
    audio[:, 1] = -audio[:, 0]
    assert all(v is not None and abs(v) < 3.0 for v in _band(spectrum(audio, RATE), 40, 16000))


def test_silence_and_an_empty_file_have_no_spectrum():
    for audio in (np.zeros((RATE, 2)), np.zeros((0, 2))):
        result = spectrum(audio, RATE)
        assert result["db"] and all(v is None for v in result["db"])


def test_a_short_file_still_gets_a_spectrum():
    result = spectrum(_coloured(0.05, 1.0), 44100)
    assert all(v is not None for v in result["db"])


def test_low_rates_stop_under_nyquist():
    result = spectrum(_coloured(1.0, 1.0), 22050)
    assert result["freqs_hz"][-1] < 11025 and len(result["freqs_hz"]) > 80


@pytest.mark.parametrize("audio", [np.zeros((10, 1)), np.zeros(10), np.zeros((10, 3))])
def test_anything_but_stereo_frames_is_refused(audio):
    with pytest.raises(ValueError, match="shape"):
        spectrum(audio, RATE)


def test_nan_and_a_bad_rate_are_refused():
    audio = np.zeros((10, 2))
    with pytest.raises(ValueError, match="rate"):
        spectrum(audio, 0)
    audio[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        spectrum(audio, RATE)
