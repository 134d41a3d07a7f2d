"""The stereo stage: width, bass mono, balance, bypass."""

import numpy as np
import pytest

from dsp import params as P
from dsp import stereo
from tests.helpers import db, params, rms, run_in_blocks, sine

RATE = 48000.0


def _left_only(freq, seconds=1.0):
    x = sine(freq, seconds, RATE)
    x[:, 1] = 0.0
    return x


def _run(x, **settings):
    target, current = params(**settings)
    return run_in_blocks(stereo.process, x, 512, target, current, stereo.prepare(RATE))


def test_neutral_settings_are_transparent():
    x = np.random.default_rng(0).standard_normal((20000, 2))
    assert np.abs(_run(x) - x).max() < 1e-14


def test_width_zero_folds_to_mono_and_two_hundred_doubles_the_side():
    x = _left_only(1000.0)
    mono = _run(x, stereo__width_pct=0.0)[-4800:]
    assert np.abs(mono[:, 0] - mono[:, 1]).max() < 1e-9
    wide = _run(x, stereo__width_pct=200.0)[-4800:]
    side = 0.5 * (wide[:, 0] - wide[:, 1])
    assert db(rms(side) / rms(0.5 * x[-4800:, 0])) == pytest.approx(6.02, abs=0.01)


def test_bass_mono_removes_side_below_the_corner_and_keeps_it_above():
    low = _run(_left_only(40.0, 2.0), stereo__bass_mono=1.0, stereo__bass_mono_hz=150.0)
    high = _run(_left_only(2000.0, 2.0), stereo__bass_mono=1.0, stereo__bass_mono_hz=150.0)
    side_low = rms(0.5 * (low[-24000:, 0] - low[-24000:, 1]))
    side_high = rms(0.5 * (high[-24000:, 0] - high[-24000:, 1]))
    side_in = 0.25 / np.sqrt(2)  # left-only sine of amplitude 0.5: side = L/2
    # LR4 at 150 Hz: 40 Hz is ~1.9 octaves down, |H| = 1/(1+(fc/f)^4), about -46 dB
    assert db(side_low / side_in) < -40.0
    assert abs(db(side_high / side_in)) < 0.01


def test_balance_attenuates_the_opposite_channel_only():
    x = sine(1000.0, 0.5, RATE)
    y = _run(x, stereo__balance_db=3.0)[-4800:]
    assert db(rms(y[:, 0]) / rms(x[-4800:, 0])) == pytest.approx(-3.0, abs=0.01)
    assert db(rms(y[:, 1]) / rms(x[-4800:, 1])) == pytest.approx(0.0, abs=0.001)


def test_bypass_returns_the_input_exactly():
    x = _left_only(500.0)
    y = _run(x, stereo__bypass=1.0, stereo__width_pct=0.0)
    assert np.array_equal(y, x)


def test_result_does_not_depend_on_block_size():
    x = np.random.default_rng(1).standard_normal((9000, 2))
    outs = []
    for block in (16, 64, 1000, 8192):
        target, current = params(stereo__width_pct=140.0, stereo__bass_mono=1.0)
        target[P.STEREO_BALANCE] = -2.0  # glides during the run
        outs.append(run_in_blocks(stereo.process, x, block, target, current,
                                  stereo.prepare(RATE)))
    for y in outs[1:]:
        assert np.array_equal(y, outs[0])


def test_settled_passes_give_the_bits_of_the_frame_by_frame_path():
    # the balance glides for ~12,000 frames, then everything holds still and the
    # stage runs in passes (the LR4 as a pair of recursions): where the switch falls
    # depends on the block size, the samples must not
    x = np.random.default_rng(2).standard_normal((20000, 2))
    outs = []
    for block in (16, 64, 1000, 8192):
        target, current = params(stereo__width_pct=140.0, stereo__bass_mono=1.0,
                                 stereo__bass_mono_hz=90.0)
        target[P.STEREO_BALANCE] = -2.0
        current[P.STEREO_BASS_MONO_HZ] = 150.0
        outs.append(run_in_blocks(stereo.process, x, block, target, current,
                                  stereo.prepare(RATE)))
        assert np.array_equal(current, target)  # it did settle
    for y in outs[1:]:
        assert np.array_equal(y, outs[0])
