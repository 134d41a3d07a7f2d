"""The whole chain: block-size independence, guards, smoothing, and the safety clip."""

import numpy as np
import pytest

from dsp import params as P
from dsp import taps
from dsp.chain import Chain
from tests.helpers import db, rms

RATE = 48000.0

ENGAGED = {
    "eq.band1.type": 3.0, "eq.band1.freq_hz": 30.0,
    "eq.band2.gain_db": -3.0, "eq.band2.freq_hz": 300.0,
    "eq.band3.gain_db": 2.0, "eq.band3.mode": 1.0,
    "eq.band5.gain_db": 2.0,
    "comp.bypass": 0.0, "comp.threshold_db": -24.0, "comp.ratio": 3.0,
    "exciter.bypass": 0.0, "exciter.amount_pct": 60.0,
    "stereo.width_pct": 130.0, "stereo.bass_mono": 1.0,
    "clipper.bypass": 0.0, "clipper.level_db": 3.0,
    "limiter.drive_db": 9.0, "limiter.ceiling_dbtp": -1.0,
}


def _program(seconds, seed=0):
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    beat = 0.3 + 0.7 * np.exp(-(t % 0.5) / 0.06)
    x = 0.2 * rng.standard_normal((n, 2)) * beat[:, None]
    x += 0.4 * np.sin(2 * np.pi * 55 * t)[:, None]
    return np.ascontiguousarray(x)


def _chain(**settings):
    chain = Chain(RATE)
    for k, v in {**ENGAGED, **settings}.items():
        chain.set(k, v, glide=False)
    return chain


def _run(chain, x, block):
    y = x.copy()
    for s in range(0, y.shape[0], block):
        chain.process(y[s:s + block])
    return y


def test_any_block_size_gives_the_same_samples_with_every_stage_working():
    x = _program(1.0)
    outputs = {}
    for block in (16, 64, 333, 1024, 8192):
        chain = _chain()
        # a knob moving during the run, so smoothing is covered too
        chain.set("eq.band4.gain_db", 6.0)
        chain.set("limiter.drive_db", 12.0)
        outputs[block] = _run(chain, x, block)
    reference = outputs[16]
    assert np.abs(reference).max() > 0.5  # the chain really produced audio
    for block, y in outputs.items():
        assert db(np.abs(y - reference).max() + 1e-300) < -140.0, block


def test_nothing_leaves_over_full_scale_whatever_the_settings():
    x = _program(0.5) * 8.0  # +18 dB hot
    chain = _chain(**{"limiter.bypass": 1.0, "input.trim_db": 24.0})
    y = _run(chain, x, 512)
    assert np.abs(y).max() <= 1.0
    assert np.isfinite(y).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_gives_finite_output_and_the_chain_recovers_within_100_ms(bad):
    x = _program(1.0, seed=1)
    clean = _run(_chain(), x.copy(), 256)
    broken = x.copy()
    hit = int(0.4 * RATE)
    broken[hit:hit + 3, 0] = bad
    chain = _chain()
    y = _run(chain, broken, 256)
    assert np.isfinite(y).all()
    assert chain.taps[taps.GUARD_TRIPS] >= 1
    # the block carrying the fault comes out silent
    block_start = hit // 256 * 256
    assert np.abs(y[block_start:block_start + 256]).max() == 0.0
    # 100 ms after the fault, the output is back to the level of the clean run
    after = slice(hit + int(0.1 * RATE), hit + int(0.3 * RATE))
    assert abs(db(rms(y[after]) / rms(clean[after]))) < 0.5


def test_absurd_but_finite_input_is_clamped_not_propagated():
    x = np.full((4096, 2), 1e30)
    x[::2] *= -1
    chain = _chain()
    y = _run(chain, x, 1024)
    assert np.isfinite(y).all() and np.abs(y).max() <= 1.0


def test_denormal_input_and_decaying_tails_leave_no_subnormal_state():
    chain = _chain(**{"comp.release_ms": 3000.0})
    x = _program(0.3)
    _run(chain, x, 512)
    tail = np.full((int(2 * RATE), 2), 1e-310)
    y = _run(chain, tail, 512)
    tiny = np.finfo(np.float64).tiny
    for name in ("eq", "comp", "exciter", "stereo", "clipper", "limiter"):
        state = getattr(chain, name)
        sub = (state != 0.0) & (np.abs(state) < tiny)
        assert not sub.any(), name
    assert np.isfinite(y).all()


def _hf_share(y, rate=RATE):
    """Energy above 12 kHz as a share of the whole (dB), of the left channel."""
    spec = np.abs(np.fft.rfft(y[:, 0] * np.hanning(y.shape[0]))) ** 2
    f = np.fft.rfftfreq(y.shape[0], 1 / rate)
    return 10 * np.log10(spec[f > 12000].sum() / spec.sum() + 1e-30)


def _sweep(param_id, smooth=True):
    """Throw a knob end to end every 10 ms (50 times a second) over a 110 Hz tone.

    The tone has nothing above 12 kHz, so whatever appears there is the knob's
    doing: zipper noise from stepped values, clicks from jumps.
    """
    t = np.arange(int(0.6 * RATE)) / RATE
    y = np.ascontiguousarray(np.repeat((0.25 * np.sin(2 * np.pi * 110 * t))[:, None], 2, 1))
    chain = _chain()
    p = P.get(param_id)
    step = int(0.01 * RATE)
    for k, s in enumerate(range(0, y.shape[0], step)):
        chain.set(param_id, (p.min, p.max)[k % 2], glide=smooth)
        chain.process(y[s:s + step])
    return y


CONTINUOUS = [p.id for p in P.PARAMS if p.kind == "continuous"]
ZIPPER_LIMIT_DB = -70.0


def test_the_click_measure_catches_a_knob_that_steps():
    assert _hf_share(_sweep("output.gain_db", smooth=False)) > ZIPPER_LIMIT_DB + 20.0


@pytest.mark.parametrize("param_id", CONTINUOUS)
def test_sweeping_any_knob_at_full_speed_makes_no_clicks(param_id):
    assert _hf_share(_sweep(param_id)) < ZIPPER_LIMIT_DB


def test_steady_input_and_output_passes_match_the_per_sample_path():
    """The branch-free passes at steady trim and output gain are the per-sample arithmetic.

    The same hostile block (NaN, infinities, absurd levels, subnormals, and
    plain audio) goes through the chain's input and output sections twice:
    once as shipped (steady gains take the passes), once with the cached
    gains forgotten, which sends every sample down the per-sample path.
    Samples, peaks and the trip flag must agree exactly.
    """
    from dsp import chain as C

    rng = np.random.default_rng(3)
    x = rng.uniform(-1.5, 1.5, (512, 2))
    x[10, 0], x[20, 1], x[30, 0] = np.nan, np.inf, -np.inf
    x[40, 1], x[50, 0], x[60, 1] = 5e3, -5e3, 1e-310
    results = []
    for forget in (False, True):
        chain = Chain(48000)
        chain.set("input.trim_db", 3.5, glide=False)
        chain.set("output.gain_db", -2.0, glide=False)
        block = x.copy()
        tap = np.zeros(taps.COUNT)
        C._input(block[:1].copy(), chain.values, chain.current, chain.io, tap)  # gains cached
        chain.io[C._MUTE] = 1.0  # unmuted, as after the start-up fade
        if forget:
            chain.io[C._TRIM_DB] = np.nan
        tripped = C._input(block, chain.values, chain.current, chain.io, tap)
        peak_in = tap[taps.INPUT_PEAK]
        out = np.clip(block * 0.9, -2.0, 2.0)
        out[70, 0] = np.nan
        C._output(out[:1].copy(), chain.values, chain.current, chain.io, tap)
        if forget:
            chain.io[C._OUT_DB] = np.nan
        C._output(out, chain.values, chain.current, chain.io, tap)
        results.append((block, tripped, peak_in, out, tap[taps.OUTPUT_PEAK]))
    (b0, t0, p0, o0, q0), (b1, t1, p1, o1, q1) = results
    np.testing.assert_array_equal(b0, b1)
    np.testing.assert_array_equal(o0, o1)
    assert t0 and t1
    assert p0 == p1 == 1000.0  # the clamp, not the absurd value
    assert q0 == q1 == 1.0
    assert np.all(np.isfinite(o0)) and np.max(np.abs(o0)) <= 1.0


@pytest.mark.parametrize("where", [0, 1, 255, 511])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_the_finiteness_check_finds_one_bad_sample_anywhere(where, bad):
    from dsp import chain as C

    x = np.random.default_rng(4).standard_normal((512, 2))
    assert C._all_finite(x)
    x[where, where % 2] = bad
    assert not C._all_finite(x)


def test_the_packed_state_runs_the_same_chain_as_separate_arrays():
    """Chain.process passes its state as one pack; process_block takes the arrays one by one."""
    from dsp import chain as C

    rng = np.random.default_rng(5)
    x = 0.3 * rng.standard_normal((4096, 2))
    packed, separate = Chain(48000), Chain(48000)
    arrays = [a.copy() for a in (separate.io, separate.eq, separate.comp, separate.exciter,
                                 separate.stereo, separate.limiter, separate.taps)]
    for chain in (packed, separate):
        chain.set("limiter.drive_db", 9.0)
        chain.set("exciter.bypass", 0.0)
    a, b = x.copy(), x.copy()
    for s in range(0, 4096, 256):
        packed.process(a[s:s + 256])
        C.process_block(b[s:s + 256], separate.values, separate.current, *arrays)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(packed.taps, arrays[-1])
    assert np.shares_memory(packed.limiter, packed._pack)
