"""The automation kernel: lanes evaluated in the chain, sample-accurate, block-size independent."""

import numpy as np
import pytest

from console.automation.lanes import value_at
from dsp import automation as K
from dsp import params as P
from dsp.chain import Chain

RATE = 48000
GAIN, DRIVE, FREQ, TYPE = (P.index(k) for k in ("output.gain_db", "limiter.drive_db",
                                                 "eq.band3.freq_hz", "eq.band3.type"))


class Rig:
    """A chain with the automation arrays, fed blocks with their song positions."""

    def __init__(self, lanes, modes=None):
        self.chain = Chain(RATE)
        self.ctl = K.prepare_ctl()
        self.st = K.prepare_state()
        self.target = self.chain.values.copy()
        self.lanes = lanes
        for p, mode in (modes or {}).items():
            self.ctl[K.CTL_MODE + p] = mode

    def run(self, x, block, start=0):
        c = self.chain
        y = np.ascontiguousarray(x, dtype=np.float64).copy()
        pos = np.arange(start, start + len(y), dtype=np.float64)
        for s in range(0, len(y), block):
            K.process(y[s:s + block], pos[s:s + block], True, c.values, self.target, c.current,
                      self.ctl, self.lanes, self.st, c.io, c.eq, c.comp, c.exciter, c.stereo,
                      c.limiter, c.taps)
        return y


def _noise(seconds, seed=1):
    return np.random.default_rng(seed).standard_normal((int(seconds * RATE), 2)) * 0.05


def _ramps():
    return K.pack_lanes({GAIN: ([0, 2 * RATE], [-20.0, 0.0]),
                         DRIVE: ([RATE // 2, 2 * RATE], [0.0, 9.0]),
                         FREQ: ([0, RATE], [200.0, 8000.0]),
                         TYPE: ([0, RATE + 1234], [0.0, 2.0])})


LANE_MODES = {p: K.M_LANE for p in (GAIN, DRIVE, FREQ, TYPE)}


def test_the_kernel_evaluates_lanes_exactly_as_the_python_rule():
    rng = np.random.default_rng(7)
    times = np.sort(rng.choice(10**6, 40, replace=False)).astype(float)
    lanes = {GAIN: (times, rng.uniform(-30, 0, 40)), FREQ: (times, rng.uniform(20, 20000, 40)),
             TYPE: (times, rng.integers(0, 5, 40).astype(float))}
    packed = K.pack_lanes(lanes)
    st = K.prepare_state()
    probes = np.concatenate([rng.uniform(-10, 1.1e6, 3000), times, times - 1, times + 1])
    for order in (np.sort(probes), probes):  # forward walks and random jumps alike
        for p, (t, v) in lanes.items():
            pts = tuple(zip(t.astype(int).tolist(), v.tolist(), strict=True))
            param = P.PARAMS[p].id
            for pos in order:
                got = K.lane_value(packed, p, pos, st)
                assert got == pytest.approx(value_at(param, pts, pos), rel=1e-12, abs=1e-12)


def test_playback_does_not_depend_on_the_block_size():
    x = _noise(2.5)
    reference = Rig(_ramps(), LANE_MODES).run(x, 8192)
    for block in (1, 7, 64, 256, 1000):
        np.testing.assert_array_equal(Rig(_ramps(), LANE_MODES).run(x, block), reference)


def test_a_change_lands_on_its_exact_sample_and_glides_without_a_click():
    step_at = RATE  # a multiple of the grid: the gain starts moving on this very sample
    lanes = K.pack_lanes({GAIN: ([0, step_at - 1, step_at], [0.0, 0.0, -20.0])})
    x = np.full((2 * RATE, 2), 0.1)
    rig = Rig(lanes, {GAIN: K.M_LANE})
    y = rig.run(x, 256)
    latency = rig.chain.latency
    gain = y[latency:, 0] / 0.1  # the output gain acts on the output sample at its position
    at = np.arange(latency, len(y))
    before, after = gain[at < step_at], gain[at >= step_at]
    np.testing.assert_allclose(before[-RATE // 2:], 1.0, atol=1e-9)
    assert after[0] < 1.0 - 1e-4  # moving from the first sample on, not a block later
    assert np.max(np.abs(np.diff(gain))) < 0.01  # a glide, not a jump (-20 dB in one go = 0.9)
    assert after[-1] == pytest.approx(0.1, rel=1e-3)  # settled at -20 dB


def test_the_desk_plays_where_no_lane_plays_and_trim_rides_on_the_lane():
    lanes = K.pack_lanes({GAIN: ([0, RATE], [-12.0, -12.0])})
    x = np.full((RATE, 2), 0.1)
    rig = Rig(lanes, {GAIN: K.M_DESK})
    rig.chain.values[GAIN] = -6.0
    rig.run(x, 512)
    assert rig.target[GAIN] == -6.0
    rig.ctl[K.CTL_MODE + GAIN] = K.M_TRIM
    rig.ctl[K.CTL_TRIM_REF + GAIN] = -6.0
    rig.chain.values[GAIN] = -3.0  # the fader up 3 dB from where trimming began
    rig.run(x, 512, start=RATE)
    assert rig.target[GAIN] == pytest.approx(-9.0)
    rig.ctl[K.CTL_BIAS + GAIN] = -2.0  # the song's level offset rides on top
    rig.st[K.S_FORCE] = 1.0
    rig.run(x[:64], 64, start=2 * RATE)
    assert rig.target[GAIN] == pytest.approx(-11.0)


def test_writing_records_each_change_at_the_first_sample_it_played():
    rig = Rig(K.empty_lanes(), {GAIN: K.M_DESK_REC})
    x = np.zeros((256, 2))
    read = 0
    rig.chain.values[GAIN] = -10.0
    rig.run(x, 256, start=1000)
    rig.chain.values[GAIN] = -9.0
    rig.run(x, 256, start=1256)
    rig.chain.values[GAIN] = -8.0
    rig.run(x, 256, start=5000)  # a locate: the pass ends where it left and starts anew
    rig.ctl[K.CTL_MODE + GAIN] = K.M_LANE
    rig.run(x, 256, start=5256)
    entries, read, lost = K.drain(rig.st, read)
    assert lost == 0
    assert [(pos, kind, value) for pos, p, value, kind in entries if p == GAIN] == [
        (1000.0, K.KIND_START, -10.0), (1256.0, K.KIND_CHANGE, -9.0),
        (1512.0, K.KIND_END, -9.0), (5000.0, K.KIND_START, -9.0),
        (5000.0, K.KIND_CHANGE, -8.0), (5256.0, K.KIND_END, -8.0)]
    assert K.drain(rig.st, read)[0] == []


def test_fades_follow_the_output_position():
    ctl_len = 2 * RATE
    rig = Rig(K.empty_lanes())
    rig.ctl[K.CTL_FADE_IN] = RATE // 2
    rig.ctl[K.CTL_FADE_OUT] = RATE // 2
    rig.ctl[K.CTL_END] = ctl_len
    rig.ctl[K.CTL_LATENCY] = rig.chain.latency
    y = rig.run(np.full((ctl_len + rig.chain.latency, 2), 0.1), 333)[rig.chain.latency:]
    assert y[0, 0] == 0.0
    assert y[RATE // 4, 0] == pytest.approx(0.05, rel=1e-3)
    assert y[RATE, 0] == pytest.approx(0.1, rel=1e-6)
    assert y[ctl_len - RATE // 4, 0] == pytest.approx(0.05, rel=1e-3)
