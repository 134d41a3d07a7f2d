"""Dither: quantisation to 16/24 bits, TPDF decorrelation, noise shaping."""

import numpy as np
import pytest

from dsp import dither
from tests.helpers import subnormals


def _quantize(x, bits, mode, seed=1, rest=True):
    errors, rng = dither.prepare(x.shape[1], seed)
    out = np.zeros(x.shape, dtype=np.int32)
    dither.quantize(x, out, bits, mode, errors, rng, rest)
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
    x = np.zeros((1 << 16, 1))  # silence, with the dither not resting on it
    flat = _quantize(x, 16, dither.TPDF, rest=False)[:, 0].astype(float)
    shaped = _quantize(x, 16, dither.SHAPED, rest=False)[:, 0].astype(float)
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
    x[1000:1500] = 0.0  # a silence to rest on and a fade back in, across block edges
    x[2000:2700, 1] = 0.0
    whole = _quantize(x, 16, dither.SHAPED, seed=7)
    errors, rng = dither.prepare(2, 7)
    parts = np.zeros_like(whole)
    for s in range(0, 4000, 333):
        dither.quantize(x[s:s + 333], parts[s:s + 333], 16, dither.SHAPED, errors, rng, True)
    assert np.array_equal(whole, parts)


def _quiet_music(n, level=3e-4, rate=44100):
    """A quiet tone in both channels (a few LSB at 16 bits), never exactly zero."""
    t = np.arange(n) / rate
    x = level * (np.sin(2 * np.pi * 441.3 * t + 0.1) + 1.01)
    return np.repeat(x[:, None], 2, axis=1)


@pytest.mark.parametrize("bits", [16, 24])
@pytest.mark.parametrize("mode", [dither.TPDF, dither.SHAPED])
def test_digital_silence_comes_out_as_exact_zeros_and_music_stays_dithered(bits, mode):
    gap = 5000
    x = np.concatenate([np.zeros((gap, 2)), _quiet_music(20000), np.zeros((gap, 2))])
    out = _quantize(x, bits, mode)
    assert not out[:gap].any() and not out[-gap:].any()
    # the music, once the dither has faded in, carries the full TPDF error
    settled = slice(gap + dither.REST_RAMP, gap + 20000)
    err = out[settled] - x[settled] * 2.0 ** (bits - 1)
    if mode == dither.TPDF:  # rounding 1/12 + dither 2/12 LSB^2, as without the rest
        assert abs(np.var(err) - 0.25) < 0.02
    else:  # shaped: more power in all, most of it high up
        assert np.var(err) > 0.5


def test_with_rest_off_silence_is_dithered_as_before():
    x = np.zeros((20000, 2))
    out = _quantize(x, 24, dither.TPDF, rest=False)
    assert abs(np.var(out) - 0.25) < 0.02  # TPDF rounded: P(+-1) = 1/8 each


def test_an_exact_zero_inside_music_costs_nothing_else():
    x = _quiet_music(4000)
    lone = x.copy()
    lone[2000, 0] = 0.0
    with_zero, without = _quantize(lone, 16, dither.TPDF), _quantize(x, 16, dither.TPDF)
    assert with_zero[2000, 0] == 0
    # the same random values are drawn; the dither dips by one ramp step and is back
    differ = np.flatnonzero(with_zero[:, 0] != without[:, 0])
    assert differ.size <= 3 and (differ >= 2000).all() and (differ < 2000 + 5).all()


def test_the_dither_fades_back_in_over_the_ramp():
    # a signal far below the last bit: only the dither makes it anything but 0
    ramp = dither.REST_RAMP
    x = np.concatenate([np.zeros((10000, 1)), np.full((4 * ramp, 1), 1e-9)])
    out = _quantize(x, 16, dither.TPDF)[10000:, 0].astype(float)
    eighths = [np.mean(out[k * ramp // 8:(k + 1) * ramp // 8] ** 2) for k in range(8)]
    assert max(eighths[:4]) == 0.0  # under half its level the dither never reaches 1/2 LSB
    assert eighths[4] < eighths[5] < eighths[6] < eighths[7] < 0.25  # growing, not a step
    assert abs(np.mean(out[ramp:] ** 2) - 0.25) < 0.02  # then the full dither


def test_the_noise_shaper_forgets_its_error_on_silence():
    x = np.concatenate([_quiet_music(3000), np.zeros((10, 2))])
    errors, rng = dither.prepare(2, 5)
    out = np.zeros(x.shape, dtype=np.int32)
    dither.quantize(x[:3000], out[:3000], 16, dither.SHAPED, errors, rng, True)
    assert np.abs(errors[:, :dither.SHAPING.size]).max() > 0.0
    dither.quantize(x[3000:], out[3000:], 16, dither.SHAPED, errors, rng, True)
    assert not errors[:, :dither.SHAPING.size].any()  # the music returns with no stale error


def test_to_float32_leaves_no_subnormal_and_keeps_the_rest():
    x = np.array([[1e-40, -3e-39], [1e-11, 2e-10], [0.5, -0.25]])
    plain = x.astype(np.float32)
    assert subnormals(plain) == 2  # what a plain conversion gives
    y = dither.to_float32(x)
    assert subnormals(y) == 0
    assert y.dtype == np.float32 and y[0].tolist() == [0.0, 0.0] and y[1, 0] == 0.0
    assert np.array_equal(y[1:, 1], plain[1:, 1]) and np.array_equal(y[2], plain[2])
    same = np.float32([1e-40, 0.5])
    assert dither.to_float32(same)[0] == 0.0 and same[0] != 0.0  # the input is left alone

