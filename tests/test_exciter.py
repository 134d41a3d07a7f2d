"""The exciter stage: aliasing, alignment, band, level, bypass, block size, hostile input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal

from dsp import exciter, params, taps
from tests.helpers import stage_params
from tests.test_exciter_alias import worst_alias


def make_params(settled: bool = True, **values: float) -> tuple[np.ndarray, np.ndarray]:
    """Target/current arrays with the exciter stage engaged and ``values``."""
    return stage_params("exciter", settled, **values)


def run(
    x: np.ndarray, fs: float, target: np.ndarray, current: np.ndarray, block: int = 512
) -> tuple[np.ndarray, np.ndarray, int]:
    """Process a copy of ``x``; return output, the ADDED tap per block, and the latency."""
    state = exciter.prepare(fs)
    y = np.ascontiguousarray(x, dtype=np.float64).copy()
    meter = np.zeros(taps.COUNT)
    added = []
    for start in range(0, len(y), block):
        exciter.process(y[start : start + block], target, current, state, meter)
        added.append(meter[taps.EXCITER_ADDED_DB])
    return y, np.array(added), exciter.latency_samples(state)


def delayed(x: np.ndarray, lat: int) -> np.ndarray:
    return np.concatenate([np.zeros((lat, 2)), x[: len(x) - lat]])


def sine(freq: float, fs: float, n: int, amp: float) -> np.ndarray:
    s = amp * np.sin(2.0 * np.pi * freq * np.arange(n) / fs)
    return np.stack([s, s], axis=1)


def test_half_band_designs_are_flat_and_stop_97_db():
    # stage 1 keeps 0-24 kHz clean at 96 kHz for the decimator, and stages 2
    # and 3 keep 0-0.5 fs clean of what they fold (see dsp/exciter.py)
    bands = [(20 / 96, 28 / 96, -99.0), (24 / 192, 72 / 192, -97.0),
             (0.5 / 8, 3.5 / 8, -99.0), (0.5 / 16, 7.5 / 16, -105.0)]
    for g, (edge_pass, edge_stop, floor) in zip(exciter._PHASES, bands, strict=True):
        h = np.zeros(2 * len(g) - 1)
        h[::2] = g / 2.0
        h[len(g) - 1] = 0.5  # the centre tap of the other phase
        resp = np.abs(np.fft.rfft(h, 1 << 16))
        f = np.fft.rfftfreq(1 << 16)
        assert np.all(np.abs(20 * np.log10(resp[f <= edge_pass])) < 1e-3)
        assert 20 * np.log10(resp[f >= edge_stop].max()) < floor


def test_the_decimator_is_flat_to_0_34_fs_and_stops_100_db_from_nyquist():
    """Stage 0 on the way down: nothing above the base rate's Nyquist frequency folds back."""
    half = len(exciter._DEC_EVEN) - 1
    h = np.zeros(4 * half + 3)
    h[0 : 2 * half + 2 : 2] = exciter._DEC_EVEN
    h[1 : 2 * half + 2 : 2] = exciter._DEC_ODD
    h[2 * half + 1] *= 2.0  # the centre was stored halved
    h[2 * half + 2 :] = h[: 2 * half + 1][::-1]
    assert h[2 * half + 1] == exciter._DEC_ODD[-1] * 2.0
    assert h.sum() == pytest.approx(1.0, abs=1e-15)
    resp = np.abs(np.fft.rfft(h, 1 << 16))
    f = 2.0 * np.fft.rfftfreq(1 << 16)  # in fractions of the base rate
    assert np.all(np.abs(20 * np.log10(resp[f <= 0.34])) < 1e-3)
    assert 20 * np.log10(resp[f >= 0.5].max()) < -100.0


def test_latency_is_whole_and_reported():
    # 16x at 44.1/48 kHz, 8x at 88.2/96, 4x at 176.4/192: the FIRs' delay in
    # top-rate samples, rounded up to whole base-rate samples, plus the input band limit
    for fs, stages, lat in [(44100.0, 4, 74), (48000.0, 4, 74), (88200.0, 3, 73),
                            (96000.0, 3, 73), (176400.0, 2, 70), (192000.0, 2, 70)]:
        state = exciter.prepare(fs)
        assert state[exciter._STAGES] == stages
        assert exciter.latency_samples(state) == lat
        path = exciter._path_delay(stages) + exciter._extra_delay(stages)
        assert path % (1 << stages) == 0
        assert lat == path // (1 << stages) + exciter._HBI


@pytest.mark.parametrize("fs", [44100.0, 48000.0])
def test_aliases_of_a_7_khz_tone_at_full_drive_stay_low(fs):
    """Full amount and mix: aliases re the fundamental (see tests/test_exciter_alias.py).

    Measured -146.9 / -148.0 dB at -6 dBFS, -146.1 / -154.3 dB at 0 dBFS
    (44.1 / 48 kHz). At 4x, 0 dBFS measured -80.8 / -85.2 dB: the
    saturator's own high harmonics (those near 176.4 kHz, the 4x rate at 44.1
    kHz) folding, which the band limits do not touch.
    """
    assert worst_alias(fs, -6.0, 100.0, 100.0, freqs=[7000])[0] < -130.0
    assert worst_alias(fs, 0.0, 100.0, 100.0, freqs=[7000])[0] < -130.0


@pytest.mark.parametrize(
    "values", [{"amount_pct": 0.0, "mix_pct": 100.0}, {"amount_pct": 100.0, "mix_pct": 0.0}]
)
def test_nothing_is_added_at_zero_amount_or_zero_mix(values):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5000, 2)) * 0.5
    target, current = make_params(freq_hz=2000.0, **values)
    y, added, lat = run(x, 48000.0, target, current)
    assert np.array_equal(y, delayed(x, lat))
    assert np.all(added == exciter.ADDED_FLOOR_DB)


def test_bypassed_output_is_the_delayed_input():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3000, 2))
    target, current = make_params(amount_pct=100.0, mix_pct=100.0, bypass=1.0)
    y, _, lat = run(x, 48000.0, target, current)
    assert np.array_equal(y, delayed(x, lat))


def test_harmonics_are_phase_aligned_with_the_delayed_dry_signal():
    """The second harmonic of a quiet sine lands where a 0-latency exciter would put it.

    For small drive the residual is ``-(KAPPA/2) d u^2``: its 2nd harmonic is
    ``+(KAPPA d |H1|^2 a^2 / 4) cos(2 w n + 2 phi1)``, then the output
    high-pass (two sections) adds ``2 phi2`` and the stage its latency. One sample of
    misalignment would move the phase by 75 degrees here.
    """
    fs, f0, amp, freq, amount = 48000.0, 5000.0, 0.05, 2000.0, 10.0
    n = int(fs)
    settle = 4800
    x = sine(f0, fs, settle + n + 100, amp)
    target, current = make_params(amount_pct=amount, mix_pct=100.0, freq_hz=freq)
    y, _, lat = run(x, fs, target, current)
    added = (y - delayed(x, lat))[settle : settle + n, 0]
    t = np.arange(settle, settle + n)
    w2 = 2.0 * np.pi * 2.0 * f0 / fs
    measured = 2.0 / n * np.sum(added * np.exp(-1j * w2 * t))
    b, a = signal.butter(2, freq, "highpass", fs=fs)
    _, (h1, h2) = signal.freqz(b, a, worN=[f0, 2.0 * f0], fs=fs)
    drive = amount / 100.0 * exciter.DRIVE_MAX
    expect = (exciter.KAPPA * drive * abs(h1) ** 2 * amp**2 / 4.0 * abs(h2) ** 2
              * np.exp(1j * (2.0 * np.angle(h1) + 2.0 * np.angle(h2) - w2 * lat)))
    assert abs(np.angle(measured / expect, deg=True)) < 1.0
    assert abs(measured) == pytest.approx(abs(expect), rel=0.02)


def test_low_content_does_not_drive_the_exciter():
    fs = 48000.0
    n = 24000
    t = np.arange(n) / fs
    low = 0.5 * np.sin(2 * np.pi * 100 * t) + 0.4 * np.sin(2 * np.pi * 700 * t)
    x = np.stack([low, low], axis=1)
    target, current = make_params(amount_pct=100.0, mix_pct=100.0, freq_hz=3000.0)
    y, added_db, lat = run(x, fs, target, current)
    added = y - delayed(x, lat)
    assert 10 * math.log10(np.mean(added**2) / np.mean(x**2)) < -60.0
    assert added_db[5:].max() < -60.0


def test_generated_content_lies_above_the_frequency():
    fs, freq = 48000.0, 4000.0
    rng = np.random.default_rng(5)
    x = rng.standard_normal((96000, 2)) * 0.25
    target, current = make_params(amount_pct=100.0, mix_pct=100.0, freq_hz=freq)
    y, _, lat = run(x, fs, target, current)
    added = (y - delayed(x, lat))[4800:, 0]
    f, pxx = signal.welch(added, fs=fs, nperseg=4096)
    below = pxx[(f > 20) & (f < freq / 2)].mean()
    above = pxx[f > freq].mean()
    assert 10 * math.log10(below / above) < -40.0  # measured -43 dB


def test_mix_scales_the_added_signal_and_amount_raises_it():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((20000, 2)) * 0.3
    fs = 48000.0

    def added(amount: float, mix: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        target, current = make_params(amount_pct=amount, mix_pct=mix, freq_hz=3000.0)
        y, tap, lat = run(x, fs, target, current, block=1000)
        return y - delayed(x, lat), tap, delayed(x, lat)

    full, tap_full, dry = added(60.0, 100.0)
    half, tap_half, _ = added(60.0, 50.0)
    assert np.allclose(half, 0.5 * full, rtol=0, atol=1e-12)
    # the tap is the added level against the (delayed) input, per block
    for b in range(1, 20):
        sl = slice(b * 1000, (b + 1) * 1000)
        expect = 10 * math.log10(np.sum(full[sl] ** 2) / np.sum(dry[sl] ** 2))
        assert tap_full[b] == pytest.approx(expect, abs=1e-9)
        assert tap_half[b] == pytest.approx(expect - 6.0206, abs=1e-3)
    levels = [np.sum(added(a, 100.0)[0] ** 2) for a in (10.0, 30.0, 60.0, 100.0)]
    assert levels == sorted(levels)
    assert 10 * math.log10(levels[-1] / levels[0]) > 15.0


def test_output_does_not_depend_on_block_size():
    rng = np.random.default_rng(8)
    n = 3 * 8192 + 77
    x = rng.standard_normal((n, 2)) * np.linspace(0.05, 1.0, n)[:, None]
    outs = []
    for block in (16, 64, 1000, 8192):
        target, current = make_params(settled=False, freq_hz=2500.0, amount_pct=80.0,
                                      mix_pct=60.0)  # bypass, freq, amount and mix all glide
        y, _, _ = run(x, 48000.0, target, current, block=block)
        outs.append(y)
    for y in outs[1:]:
        assert np.array_equal(y, outs[0])


def test_bypass_is_a_linear_10_ms_crossfade_of_the_added_signal():
    fs = 48000.0
    rng = np.random.default_rng(9)
    x = rng.standard_normal((9600, 2)) * 0.3
    target, current = make_params(amount_pct=70.0, mix_pct=80.0)
    full, _, lat = run(x, fs, target, current)
    added_full = full - delayed(x, lat)

    state = exciter.prepare(fs)
    target, current = make_params(amount_pct=70.0, mix_pct=80.0)
    y = x.copy()
    meter = np.zeros(taps.COUNT)
    s0 = 4000
    exciter.process(y[:s0], target, current, state, meter)
    target[params.EXCITER_BYPASS] = 1.0
    exciter.process(y[s0:], target, current, state, meter)
    ramp = np.clip((np.arange(len(x)) - s0 + 1) / (fs * 0.010), 0.0, 1.0)
    expect = (1.0 - ramp)[:, None] * added_full
    assert np.allclose(y - delayed(x, lat), expect, rtol=0, atol=1e-12)
    assert np.array_equal(y[s0 + 480 :], delayed(x, lat)[s0 + 480 :])


def test_reset_clears_the_delay_line_and_filters():
    fs = 48000.0
    target, current = make_params(amount_pct=100.0, mix_pct=100.0)
    state = exciter.prepare(fs)
    meter = np.zeros(taps.COUNT)
    exciter.process(np.ones((1000, 2)) * 0.7, target, current, state, meter)
    exciter.reset(state)
    z = np.zeros((500, 2))
    exciter.process(z, target, current, state, meter)
    assert np.array_equal(z, np.zeros((500, 2)))


_RANGES = [p for p in params.PARAMS if p.stage == "exciter"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    n=st.integers(1, 600),
    scale=st.sampled_from([0.0, 1e-300, 1e-5, 1.0, 1e4, 1e30, 1e200]),
    fs=st.sampled_from([44100.0, 48000.0, 96000.0]),
)
def test_output_stays_finite_for_hostile_input(data, n, scale, fs):
    target = params.defaults()
    current = params.defaults()
    for p in _RANGES:
        for arr in (target, current):
            if p.kind == "switch":
                arr[params.index(p.id)] = data.draw(st.sampled_from([0.0, 1.0]))
            else:
                arr[params.index(p.id)] = data.draw(st.floats(p.min, p.max))
    raw = data.draw(st.lists(st.floats(-1.0, 1.0), min_size=2 * n, max_size=2 * n))
    x = np.array(raw, dtype=np.float64).reshape(n, 2) * scale
    y, added, _ = run(x, fs, target, current, block=data.draw(st.integers(1, 300)))
    assert np.all(np.isfinite(y))
    assert np.all(np.isfinite(added))


def test_saturator_residual_matches_the_exact_formula():
    """The float32-seeded Newton step agrees with sqrt/divide in double to 2e-14 of the input."""
    rng = np.random.default_rng(10)
    u = np.concatenate([rng.standard_normal(20000) * 10.0 ** rng.uniform(-8, 1, 20000),
                        [0.0, 1e-300, -1e-300, 1e200, -1e200]])
    for d in (0.0, 1e-3, 0.04, 1.0, 4.0):
        fast = np.empty_like(u)
        exciter._residual(u, fast, d)
        v = d * u[:-2]
        p = v * (exciter.KAPPA + v)
        s = np.sqrt(1.0 + p)
        exact = -u[:-2] * (p / (s * (1.0 + s)))
        assert np.all(np.abs(fast[:-2] - exact) <= 2e-14 * np.abs(u[:-2])), d
        assert np.all(np.isfinite(fast))
        in_place = u.copy()
        exciter._residual(in_place, in_place, d)
        assert np.array_equal(in_place, fast)  # the in-place loop computes the same bits
    zero = np.empty_like(u)
    exciter._residual(u, zero, 0.0)
    assert np.all(zero == 0.0)  # zero drive adds exactly nothing
    huge = np.empty(2)
    exciter._residual(np.array([1e200, -1e200]), huge, 4.0)
    assert np.allclose(huge, [-1e200, 1e200], rtol=1e-12)  # fully saturated: e = -u


def halfband_response(stage: int) -> np.ndarray:
    """The whole impulse response of half-band stage ``stage`` (its taps sum to 1)."""
    g = exciter._PHASES[stage]
    h = np.zeros(2 * len(g) - 1)
    h[::2] = g / 2.0
    h[len(g) - 1] = 0.5
    return h


def decimator_response() -> np.ndarray:
    half = len(exciter._DEC_EVEN) - 1
    h = np.zeros(4 * half + 3)
    h[0 : 2 * half + 2 : 2] = exciter._DEC_EVEN
    h[1 : 2 * half + 2 : 2] = exciter._DEC_ODD
    h[2 * half + 1] *= 2.0  # the centre was stored halved
    h[2 * half + 2 :] = h[: 2 * half + 1][::-1]
    return h


def plain_cascade(u: np.ndarray, stages: int, drive: float) -> np.ndarray:
    """The harmonic path the textbook way: zero-stuff, filter, saturate, filter, drop."""
    x = u
    for s in range(stages):
        up = np.zeros(2 * len(x))
        up[::2] = 2.0 * x
        x = np.convolve(up, halfband_response(s))[: len(up)]
    e = np.empty_like(x)
    exciter._residual(x, e, drive)
    x = np.concatenate([np.zeros(exciter._extra_delay(stages)), e])[: len(e)]
    for s in range(stages - 1, 0, -1):
        x = np.convolve(x, halfband_response(s))[: len(x)][::2]
    return np.convolve(x, decimator_response())[: len(x)][::2]


@pytest.mark.parametrize("stages", [1, 2, 3, 4])
def test_the_phases_compute_the_plain_cascade(stages):
    """2x to 16x: the oversampled path, kept in phases, is the textbook cascade.

    Fed chunk by chunk (of several lengths, some shorter than the filters'
    histories) with loud noise at full drive, it matches zero-stuffing,
    filtering, saturating and decimating the interleaved signal.
    """
    rng = np.random.default_rng(11)
    u = rng.standard_normal((3000, 2)) * 0.7
    drive = exciter.DRIVE_MAX
    state = exciter.prepare(48000.0)
    extra = exciter._extra_delay(stages)
    out = np.zeros_like(u)
    start = 0
    for n in [exciter.CHUNK, 5, 100, 37, 1] * 30:
        n = min(n, len(u) - start)
        if n == 0:
            break
        state[exciter._IN : exciter._IN + 2 * n] = u[start : start + n].reshape(-1)
        state[exciter._DRIVE : exciter._DRIVE + n] = drive
        exciter._harmonics(state, n, stages, extra)
        out[start : start + n] = state[exciter._OUT : exciter._OUT + 2 * n].reshape(n, 2)
        start += n
    assert start == len(u)
    for ch in range(2):
        expect = plain_cascade(u[:, ch], stages, drive)
        assert np.max(np.abs(out[:, ch] - expect)) < 1e-12
