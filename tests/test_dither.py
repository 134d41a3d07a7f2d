"""Dither: quantisation to 16/24 bits, TPDF decorrelation, noise shaping."""

import numpy as np

from dsp import dither


def _quantize(x, bits, mode, seed=1):
    errors, rng = dither.prepare(x.shape[1], seed)
    out = np.zeros(x.shape, dtype=np.int32)
    dither.quantize(x, out, bits, mode, errors, rng)
    return out


def _band_power(noise, lo, hi, rate=44100):
    spec = np.abs(np.fft.rfft(noise * np.hanning(noise.size))) ** 2
    f = np.fft.rfftfreq(noise.size, 1 / rate)
    return spec[(f >= lo) & (f < hi)].mean()


def test_without_dither_quantisation_is_plain_rounding():
    x = np.random.default_rng(0).uniform(-0.9, 0.9, (5000, 2))
    out = _quantize(x, 16, dither.OFF)
    assert np.array_equal(out, np.round(x * 32768).astype(np.int32))


def test_tpdf_error_is_signal_independent_noise_of_the_right_power():
    # a -100 dBFS sine: plain rounding leaves a deterministic error pattern,
    # TPDF turns it into noise of power 1/12 + 2/12 = 1/4 LSB^2
    t = np.arange(44100)
    x = np.repeat((1e-5 * np.sin(2 * np.pi * 1000 * t / 44100))[:, None], 2, axis=1)
    err = _quantize(x, 16, dither.TPDF)[:, 0] / 32768.0 - x[:, 0]
    assert abs(np.var(err * 32768) - 0.25) < 0.02
    # the error is uncorrelated with the signal
    assert abs(np.corrcoef(err, x[:, 0])[0, 1]) < 0.05


def test_noise_shaping_moves_noise_out_of_the_ear_sensitive_band():
    x = np.zeros((1 << 16, 1))
    flat = _quantize(x, 16, dither.TPDF)[:, 0].astype(float)
    shaped = _quantize(x, 16, dither.SHAPED)[:, 0].astype(float)
    mid_gain = _band_power(shaped, 2000, 5000) / _band_power(flat, 2000, 5000)
    top_gain = _band_power(shaped, 16000, 20000) / _band_power(flat, 16000, 20000)
    assert 10 * np.log10(mid_gain) < -10.0
    assert 10 * np.log10(top_gain) > 6.0


def test_output_stays_inside_the_word_at_full_scale():
    x = np.full((1000, 2), 1.0)
    x[::2] = -1.0
    for bits in (16, 24):
        for mode in (dither.OFF, dither.TPDF, dither.SHAPED):
            out = _quantize(x, bits, mode)
            assert out.max() <= 2 ** (bits - 1) - 1 and out.min() >= -(2 ** (bits - 1))


def test_result_does_not_depend_on_block_size():
    x = np.random.default_rng(3).uniform(-0.5, 0.5, (4000, 2))
    whole = _quantize(x, 16, dither.SHAPED, seed=7)
    errors, rng = dither.prepare(2, 7)
    parts = np.zeros_like(whole)
    for s in range(0, 4000, 333):
        dither.quantize(x[s:s + 333], parts[s:s + 333], 16, dither.SHAPED, errors, rng)
    assert np.array_equal(whole, parts)
