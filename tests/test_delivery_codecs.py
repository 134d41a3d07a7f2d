"""The codec check: real encoders, the delay finder, and our true peak against ffmpeg's."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from console.delivery import align, ffmpeg
from console.delivery.codecs import CODECS, WARN_DBTP, check_codecs
from dsp import truepeak
from dsp.errors import ParameterError

RATE = 44100

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def _noise(seconds: float, seed: int = 1) -> np.ndarray:
    """Stereo noise band-limited to 40 Hz..16 kHz."""
    n = int(seconds * RATE)
    x = np.random.default_rng(seed).standard_normal((n, 2))
    spectrum = np.fft.rfft(x, axis=0)
    f = np.fft.rfftfreq(n, 1.0 / RATE)
    spectrum[(f < 40.0) | (f > 16000.0)] = 0.0
    return np.fft.irfft(spectrum, n, axis=0)


def dense_master(seconds: float, true_peak_dbtp: float) -> np.ndarray:
    """A worst-case loud master: band-limited noise driven into tanh, scaled to a true peak."""
    noise = _noise(seconds)
    x = np.tanh(3.0 * noise / np.abs(noise).max())
    return x * 10 ** (true_peak_dbtp / 20) / truepeak.true_peak(x, RATE)


# the delay finder -----------------------------------------------------------------------


@pytest.mark.parametrize("shift", [0, 1, 312, 1024, 1105, 4000, -37])
def test_find_delay_finds_a_known_shift(shift):
    source = _noise(2.0, seed=3)
    # a lossy-looking copy: shifted, low-passed by a 3-tap average, with noise 30 dB down
    smeared = (source + np.roll(source, 1, axis=0) + np.roll(source, -1, axis=0)) / 3
    smeared += 0.03 * np.random.default_rng(4).standard_normal(source.shape)
    decoded = np.zeros((source.shape[0] + 5000, 2))
    if shift >= 0:
        decoded[shift:shift + source.shape[0]] = smeared
    else:
        decoded[:source.shape[0] + shift] = smeared[-shift:]
    assert align.find_delay(source, decoded) == shift


def test_find_delay_looks_past_a_silent_start():
    # 4 s of silence then music: a window at the start would see nothing to lock on
    source = np.concatenate([np.zeros((4 * RATE, 2)), _noise(2.0, seed=5)])
    decoded = np.concatenate([np.zeros((700, 2)), source])
    assert align.find_delay(source, decoded, window=RATE) == 700


def test_a_steady_tone_is_uncertain_and_noise_is_certain():
    t = np.arange(2 * RATE) / RATE
    tone = np.sin(2 * np.pi * 1000 * t)[:, None].repeat(2, axis=1)
    late = np.concatenate([np.zeros((1024, 2)), tone])
    assert not align.locate(tone, late).certain  # lines up every 44.1 samples
    noise = _noise(2.0, seed=6)
    found = align.locate(noise, np.concatenate([np.zeros((1024, 2)), noise]))
    assert found == align.Alignment(1024, certain=True)


def test_find_delay_refuses_silence():
    with pytest.raises(ParameterError, match="silent"):
        align.find_delay(np.zeros((RATE, 2)), _noise(1.0))


def test_trim_cuts_priming_and_padding_and_fills_what_is_missing():
    decoded = np.arange(20.0).reshape(10, 2)
    np.testing.assert_array_equal(align.trim(decoded, 3, 4), decoded[3:7])
    late = align.trim(decoded, 8, 4)  # only two decoded frames left
    np.testing.assert_array_equal(late[:2], decoded[8:10])
    assert not late[2:].any()


# the codec check ------------------------------------------------------------------------


def test_check_codecs_refuses_bad_input():
    with pytest.raises(ParameterError, match="shape"):
        check_codecs(np.zeros(100), RATE)
    with pytest.raises(ParameterError, match="unknown codec 'wma-64'; choose from aac-256"):
        check_codecs(np.ones((100, 2)), RATE, ("wma-64",))
    with pytest.raises(ParameterError, match="NaN"):
        check_codecs(np.full((100, 2), np.nan), RATE)
    with pytest.raises(ParameterError, match="digital silence"):
        check_codecs(np.zeros((100, 2)), RATE)
    with pytest.raises(ParameterError, match="workers must be at least 1, got 0"):
        check_codecs(np.ones((100, 2)), RATE, workers=0)


def _ffmpeg_true_peak(path) -> float:
    """ffmpeg's own decode of ``path`` measured by its ebur128 filter (a meter we did not write)."""
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af",
                           "ebur128=peak=true", "-f", "null", "-"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = done.stderr[done.stderr.rindex("Summary:"):]
    return float(summary.split("True peak:")[1].split("Peak:")[1].split("dBFS")[0])


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    keep = tmp_path_factory.mktemp("dense")
    return keep, check_codecs(dense_master(5.0, -1.0), RATE, keep=keep)


@needs_ffmpeg
def test_a_dense_master_at_minus_1_dbtp_comes_back_over_from_aac_and_opus(dense):
    _, results = dense
    by = {r.codec: r for r in results}
    assert [r.codec for r in results] == ["aac-256", "mp3-320", "opus-160"]
    assert by["aac-256"].source_true_peak_dbtp == pytest.approx(-1.0, abs=0.01)
    for name in ("aac-256", "opus-160"):
        assert by[name].true_peak_dbtp > WARN_DBTP, by[name]
        assert by[name].status == "warn"
        assert by[name].overs > 0
        assert by[name].true_peak_dbtp > by[name].source_true_peak_dbtp + 1.0
    assert by["opus-160"].rate_hz == 48000 and by["aac-256"].rate_hz == RATE


@needs_ffmpeg
def test_the_encoders_delays_are_found_and_removed(dense):
    _, results = dense
    # FFmpeg's AAC primes 1024 samples, LAME 576 + 529, libopus pre-skips 312 (at 48 kHz)
    assert {r.codec: r.delay_samples for r in results} == {
        "aac-256": 1024, "mp3-320": 1105, "opus-160": 312}
    assert all(r.delay_measured for r in results)


@needs_ffmpeg
def test_a_steady_tone_falls_back_to_the_documented_delay():
    t = np.arange(RATE) / RATE
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)[:, None].repeat(2, axis=1)
    results = check_codecs(tone, RATE, ("aac-256", "opus-160"))
    assert [(r.delay_samples, r.delay_measured) for r in results] == [(1024, False),
                                                                      (312, False)]
    for r in results:  # a clean tone at -6 dBFS survives any codec
        assert r.true_peak_dbtp == pytest.approx(-6.02, abs=0.3) and r.status == "pass"


@needs_ffmpeg
def test_our_decoded_true_peak_agrees_with_ffmpeg_ebur128(dense):
    keep, results = dense
    for r in results:
        theirs = _ffmpeg_true_peak(keep / f"{r.codec}{CODECS[r.codec].suffix}")
        assert r.true_peak_dbtp == pytest.approx(theirs, abs=0.2), r.codec


@needs_ffmpeg
def test_a_quiet_master_passes_every_codec():
    results = check_codecs(dense_master(5.0, -8.0), RATE, workers=2)
    for r in results:
        assert r.status == "pass", r
        assert r.true_peak_dbtp < WARN_DBTP and r.overs == 0
        assert r.true_peak_dbtp > -8.5  # it was measured, not left empty


@needs_ffmpeg
def test_ffmpeg_decode_keeps_what_goes_over_full_scale(tmp_path):
    # a float WAV at +6 dBFS: the decode must come back as float, unclipped
    x = 2.0 * np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE)[:, None].repeat(2, axis=1)
    sf.write(tmp_path / "hot.wav", x.astype(np.float32), RATE, subtype="FLOAT")
    y = ffmpeg.decode(tmp_path / "hot.wav", 2)
    np.testing.assert_allclose(y, x, rtol=1e-6)
    assert np.abs(y).max() > 1.99


def test_a_missing_ffmpeg_is_a_codec_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ffmpeg.CodecError, match="ffmpeg not found"):
        ffmpeg.decode(tmp_path / "x.wav", 2)
