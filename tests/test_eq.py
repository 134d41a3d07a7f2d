"""dsp.eq: the stage against dsp.biquad.response, transparency, M/S, blocks, clicks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from dsp import eq, params
from dsp.biquad import BELL, HIGH_PASS, HIGH_SHELF, LOW_PASS, LOW_SHELF, design, response
from dsp.taps import COUNT as TAPS

FS = 48000.0
STEREO, MID, SIDE = eq.STEREO, eq.MID, eq.SIDE


def slot(band: int, field: int) -> int:
    """Index of a field (params.EQ_ON .. EQ_MODE) of band 1..5."""
    return params.EQ_BASE + (band - 1) * params.EQ_STRIDE + field


def settings_with(*bands: tuple) -> np.ndarray:
    """Parameter array with bands given as (band, type, freq, gain, q, mode)."""
    values = params.defaults()
    for band, kind, freq, gain, q, mode in bands:
        values[slot(band, params.EQ_TYPE)] = kind
        values[slot(band, params.EQ_FREQ)] = freq
        values[slot(band, params.EQ_GAIN)] = gain
        values[slot(band, params.EQ_Q)] = q
        values[slot(band, params.EQ_MODE)] = mode
    return values


def run(x: np.ndarray, target: np.ndarray, current: np.ndarray | None = None,
        state: np.ndarray | None = None, block: int = 512, sample_rate: float = FS) -> np.ndarray:
    """Process a copy of x in blocks; current defaults to target (nothing gliding)."""
    y = np.ascontiguousarray(x, dtype=np.float64).copy()
    current = target.copy() if current is None else current
    state = eq.prepare(sample_rate) if state is None else state
    taps = np.zeros(TAPS)
    for start in range(0, len(y), block):
        eq.process(y[start:start + block], target, current, state, taps)
    return y


def coefficients(values: np.ndarray, sample_rate: float = FS) -> np.ndarray:
    """The five bands' designed coefficients, shape (5, 5)."""
    return np.array([design(int(values[slot(b, params.EQ_TYPE)]), values[slot(b, params.EQ_FREQ)],
                            values[slot(b, params.EQ_GAIN)], values[slot(b, params.EQ_Q)],
                            sample_rate) for b in range(1, 6)])


def noise(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 2)) * 0.25


HF = signal.butter(8, 16000.0, "highpass", fs=FS, output="sos")


def hf_db(y: np.ndarray, centre: int | None = None, half: int = 2400) -> float:
    """Energy above 16 kHz relative to the total, in dB (8th-order Butterworth high pass).

    Over the whole signal after 50 ms, or over ``centre ± half`` samples. Zipper
    noise and clicks are steps: broadband. A sine at 1 kHz has nothing up there
    (the high pass alone leaves it at -190 dB), and smooth changes of a filter
    move it only within a few hundred Hz.
    """
    top = signal.sosfilt(HF, y, axis=0)
    part = slice(2400, None) if centre is None else slice(centre - half, centre + half)
    return float(10.0 * np.log10(np.sum(top[part] ** 2) / np.sum(y[part] ** 2)))


def sine(freq: float, seconds: float, left: float = 0.5, right: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    s = np.sin(2 * np.pi * freq * t)
    return np.column_stack([left * s, right * s])


FIVE_BANDS = settings_with(
    (1, HIGH_PASS, 30.0, 0.0, 0.8, STEREO), (2, LOW_SHELF, 120.0, 4.0, 0.707, STEREO),
    (3, BELL, 2500.0, -5.0, 1.4, STEREO), (4, HIGH_SHELF, 9000.0, 3.0, 0.707, STEREO),
    (5, LOW_PASS, 19000.0, 0.0, 0.707, STEREO))


def test_impulse_through_the_stage_is_the_product_of_the_band_responses():
    x = np.zeros((32768, 2))
    x[0] = (1.0, -0.5)
    y = run(x, FIVE_BANDS)
    freqs = np.fft.rfftfreq(len(x), 1.0 / FS)
    expected = response(coefficients(FIVE_BANDS), freqs, FS)
    np.testing.assert_allclose(np.fft.rfft(y[:, 0]), expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.fft.rfft(y[:, 1]), -0.5 * expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("freq", [50.0, 1000.0, 15000.0])
def test_a_steady_sine_comes_out_with_the_gain_and_phase_of_response(freq):
    x = sine(freq, 0.5)
    y = run(x, FIVE_BANDS)
    t = np.arange(len(x))[-12000:] / FS
    basis = np.column_stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)])
    (s, c), *_ = np.linalg.lstsq(basis, y[-12000:, 0], rcond=None)
    h = response(coefficients(FIVE_BANDS), [freq], FS)[0] * 0.5
    assert complex(s, c) == pytest.approx(complex(h.real, h.imag), abs=1e-9)


def test_a_flat_eq_is_bit_transparent_in_every_mode():
    flat = settings_with((1, BELL, 100.0, 0.0, 3.0, MID), (2, LOW_SHELF, 80.0, 0.0, 0.7, SIDE),
                         (3, HIGH_SHELF, 12000.0, 0.0, 1.0, STEREO))
    x = noise(5000)
    np.testing.assert_array_equal(run(x, flat), x)
    # also while a flat band's frequency and Q glide, and with a band switched off
    gliding = flat.copy()
    gliding[slot(1, params.EQ_FREQ)] = 15000.0
    gliding[slot(2, params.EQ_Q)] = 9.0
    gliding[slot(4, params.EQ_ON)] = 0.0
    np.testing.assert_array_equal(run(x, gliding, current=flat.copy()), x)


def test_a_switched_off_band_passes_its_input():
    values = settings_with((2, BELL, 1000.0, 12.0, 2.0, STEREO))
    values[slot(2, params.EQ_ON)] = 0.0
    x = noise(4000, seed=3)
    np.testing.assert_array_equal(run(x, values), x)


@pytest.mark.parametrize(("mode", "untouched", "processed"), [(MID, -1.0, 1.0), (SIDE, 1.0, -1.0)])
def test_mid_and_side_bands_filter_one_component_and_leave_the_other(mode, untouched, processed):
    values = settings_with((3, BELL, 1000.0, 9.0, 1.0, mode), (4, HIGH_SHELF, 6000.0, -6.0, 0.7,
                                                                mode))
    x = noise(20000, seed=5)
    y = run(x, values)
    other_in = 0.5 * (x[:, 0] + untouched * x[:, 1])
    other_out = 0.5 * (y[:, 0] + untouched * y[:, 1])
    assert np.abs(other_out - other_in).max() < 1e-15
    c = coefficients(values)[2:4]
    sos = np.column_stack([c[:, :3], np.ones(2), c[:, 3:]])
    part_in = 0.5 * (x[:, 0] + processed * x[:, 1])
    part_out = 0.5 * (y[:, 0] + processed * y[:, 1])
    np.testing.assert_allclose(part_out, signal.sosfilt(sos, part_in), rtol=0, atol=1e-13)


def test_bypass_gives_back_the_input_exactly_and_keeps_the_filters_warm():
    x = noise(12000, seed=9)
    on = FIVE_BANDS.copy()
    off = FIVE_BANDS.copy()
    off[params.EQ_BYPASS] = 1.0
    state = eq.prepare(FS)
    current = on.copy()
    run(x[:6000], on, current, state)
    y = run(x[6000:], off, current, state)  # 10 ms crossfade to dry, then dry
    np.testing.assert_array_equal(y[480:], x[6000 + 480:])
    # the bands kept running: back from bypass they are where an unbypassed EQ would be
    back = run(x[:3000], on, current, state)
    np.testing.assert_allclose(back[480:], run(np.vstack([x, x[:3000]]), on)[12000 + 480:],
                               rtol=0, atol=1e-12)


def test_reset_forgets_the_history():
    state = eq.prepare(FS)
    current = FIVE_BANDS.copy()
    run(noise(3000), FIVE_BANDS, current, state)
    eq.reset(state)
    x = noise(2000, seed=1)
    np.testing.assert_array_equal(run(x, FIVE_BANDS, current, state), run(x, FIVE_BANDS))


def scenario(block: int) -> np.ndarray:
    """Glides, type and mode switches, on/off and bypass fades, a band gliding to flat."""
    start = settings_with((1, BELL, 200.0, 6.0, 2.0, STEREO), (2, LOW_SHELF, 90.0, -3.0, 0.7, MID),
                          (3, BELL, 3000.0, 0.0, 1.0, STEREO), (4, BELL, 4000.0, 5.0, 1.0, STEREO),
                          (5, LOW_PASS, 15000.0, 0.0, 0.7, SIDE))
    start[params.EQ_BYPASS] = 1.0
    current = start.copy()
    target = settings_with((1, BELL, 5000.0, -12.0, 0.3, STEREO),
                           (2, HIGH_SHELF, 90.0, -3.0, 0.7, SIDE),
                           (3, BELL, 3000.0, 8.0, 9.0, MID), (4, BELL, 4000.0, 0.0, 1.0, STEREO),
                           (5, HIGH_PASS, 40.0, 0.0, 3.0, SIDE))
    x = noise(30000, seed=11)
    state = eq.prepare(FS)
    first = run(x[:17000], target, current, state, block)
    target[slot(1, params.EQ_FREQ)] = 20.0  # a second change, mid-stream
    target[slot(3, params.EQ_MODE)] = SIDE
    target[slot(4, params.EQ_Q)] = 7.0  # band 4 is flat by now: rests, then wakes up
    target[slot(4, params.EQ_GAIN)] = -4.0
    target[slot(5, params.EQ_ON)] = 0.0
    target[params.EQ_BYPASS] = 1.0
    return np.vstack([first, run(x[17000:], target, current, state, block)])


def test_output_does_not_depend_on_block_size():
    reference = scenario(8192)
    for block in (1000, 64, 16, 1):
        np.testing.assert_array_equal(scenario(block), reference)


def one_band_at_a_time(x: np.ndarray, values: np.ndarray, block: int) -> np.ndarray:
    """The stage's bands run one after the other, never in pairs (the reference for pairs)."""
    y = x.copy()
    state = eq.prepare(FS)
    for start in range(0, len(y), block):
        stop = min(start + block, len(y))
        for band in range(params.EQ_BANDS):
            eq._run_band(y, start, stop, values, values, state, band)
    return y


@pytest.mark.parametrize("modes", [(STEREO,) * 5, (STEREO, STEREO, MID, SIDE, STEREO),
                                   (MID, SIDE, SIDE, MID, STEREO),
                                   (SIDE, STEREO, MID, STEREO, SIDE)])
@pytest.mark.parametrize("share", [1.0, 0.6])
def test_bands_in_pairs_give_the_bits_of_bands_one_at_a_time(modes, share):
    # steady neighbours run two at a time in one vector (dsp.lanes); it must not show
    kinds = (HIGH_PASS, BELL, BELL, HIGH_SHELF, LOW_PASS)
    values = settings_with(*[(b + 1, kinds[b], (40.0, 300.0, 2500.0, 6000.0, 18000.0)[b],
                              (0.0, -2.5, 3.0, -4.0, 2.0)[b], 0.9, modes[b]) for b in range(5)])
    values[slot(2, params.EQ_ON)] = share
    values[slot(3, params.EQ_ON)] = share
    x = noise(5000, seed=3)
    for block in (1, 5, 8, 9, 64, 1000):
        np.testing.assert_array_equal(run(x, values, block=block),
                                      one_band_at_a_time(x, values, block))


def sweep(stepped: bool, block: int = 256) -> np.ndarray:
    """A +12 dB bell on a 1 kHz sine, thrown between its extremes as fast as the table allows.

    Targets jump every 50/70/90 ms (freq 20 Hz <-> 20 kHz, gain -18 <-> +18 dB,
    Q 0.1 <-> 10). ``stepped`` copies target to current before each block, i.e. an
    EQ without smoothing that updates its coefficients once per block.
    """
    values = settings_with((1, BELL, 1000.0, 12.0, 2.0, STEREO))
    current = values.copy()
    state = eq.prepare(FS)
    y = sine(1000.0, 1.0)
    taps = np.zeros(TAPS)
    for start in range(0, len(y), block):
        values[slot(1, params.EQ_FREQ)] = 20000.0 if (start // 2400) % 2 else 20.0
        values[slot(1, params.EQ_GAIN)] = 18.0 if (start // 3360) % 2 else -18.0
        values[slot(1, params.EQ_Q)] = 10.0 if (start // 4320) % 2 else 0.1
        if stepped:
            current[:] = values
        eq.process(y[start:start + block], values, current, state, taps)
    return y


def test_a_full_speed_sweep_of_freq_gain_and_q_adds_no_zipper_noise():
    static = hf_db(run(sine(1000.0, 1.0), settings_with((1, BELL, 1000.0, 12.0, 2.0, STEREO))))
    smooth = hf_db(sweep(stepped=False))
    zipper = hf_db(sweep(stepped=True))
    assert static < -180.0  # the measurement's own floor
    assert smooth < -105.0  # measured -110 dB (transposed direct form II: -92 dB)
    assert zipper > -40.0  # the unsmoothed version is caught: measured -15 dB
    assert smooth < zipper - 60.0


def switch_output(change: str, fade_step: float | None = None) -> np.ndarray:
    """Two tones, L != R, through a +12 dB low shelf; at 0.25 s ``change`` happens.

    ``"type+mode"``: low shelf -> bell and stereo -> side at once; ``"off"``: the
    band is switched off. ``fade_step`` overrides the stage's switching fade
    (1.0: switch within one sample, i.e. no fade).
    """
    x = sine(1000.0, 0.5, 0.5, 0.2) + sine(220.0, 0.5, 0.1, 0.3)
    before = settings_with((1, LOW_SHELF, 400.0, 12.0, 0.7, STEREO))
    if change == "off":
        after = before.copy()
        after[slot(1, params.EQ_ON)] = 0.0
    else:
        after = settings_with((1, BELL, 400.0, 12.0, 0.7, SIDE))
    state = eq.prepare(FS)
    if fade_step is not None:
        state[eq.FADE_STEP] = fade_step
    current = before.copy()
    half = len(x) // 2
    return np.vstack([run(x[:half], before, current, state),
                      run(x[half:], after, current, state)])


def test_type_and_mode_changes_fade_instead_of_clicking():
    middle = int(0.25 * FS)
    faded = hf_db(switch_output("type+mode"), middle)
    instant = hf_db(switch_output("type+mode", fade_step=1.0), middle)
    assert faded < -135.0  # measured -144 dB within 50 ms of the switch
    assert instant > -60.0  # measured -46 dB: the click the measurement catches
    # the on switch crossfades linearly over 10 ms (dsp.smoothing): measured -104 dB
    assert hf_db(switch_output("off"), middle) < -95.0


def test_after_a_switch_the_new_band_is_exactly_in_place():
    y = switch_output("type+mode")
    x = sine(1000.0, 0.5, 0.5, 0.2) + sine(220.0, 0.5, 0.1, 0.3)
    fresh = run(x, settings_with((1, BELL, 400.0, 12.0, 0.7, SIDE)))
    settled = len(x) // 2 + int(2 * eq.TYPE_FADE_MS * FS / 1000.0) + 4800  # + 100 ms of ringing
    np.testing.assert_allclose(y[settled:], fresh[settled:], rtol=0, atol=1e-12)
    assert np.abs(y[settled - 5000:settled] - fresh[settled - 5000:settled]).max() > 1e-3


band_settings = st.tuples(st.integers(0, 4), st.floats(20.0, 20000.0), st.floats(-18.0, 18.0),
                          st.floats(0.1, 10.0), st.integers(0, 2), st.sampled_from([0.0, 1.0]))


@settings(max_examples=40, deadline=None)
@given(start=st.lists(band_settings, min_size=5, max_size=5),
       end=st.lists(band_settings, min_size=5, max_size=5),
       sample_rate=st.sampled_from([44100.0, 48000.0, 88200.0, 96000.0, 176400.0, 192000.0]),
       scale=st.floats(1e-6, 4.0), seed=st.integers(0, 2 ** 16))
def test_random_settings_and_changes_give_finite_output_and_stable_bands(start, end, sample_rate,
                                                                         scale, seed):
    def values(bands):
        v = settings_with(*[(b + 1, k, f, g, q, m) for b, (k, f, g, q, m, _) in enumerate(bands)])
        for b, band in enumerate(bands):
            v[slot(b + 1, params.EQ_ON)] = band[5]
        return v

    current = values(start)
    state = eq.prepare(sample_rate)
    x = np.vstack([noise(3000, seed) * scale, np.zeros((1000, 2))])
    y = run(x, values(end), current, state, block=700, sample_rate=sample_rate)
    assert np.all(np.isfinite(y))
    assert np.all(np.isfinite(state))
    # the coefficients each band holds (mid-glide or settled) have their poles inside the circle
    for b in range(5):
        c = state[eq.BANDS_AT + b * eq.BAND_SIZE + eq.COEF:][:5]
        assert np.abs(np.roots([1.0, c[3], c[4]])).max() < 1.0
