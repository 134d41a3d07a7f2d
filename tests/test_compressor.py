"""The compressor stage: static curve, time constants, sidechain, link, mix, bypass."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsp import compressor, params, taps
from tests.helpers import stage_params

FS = 48000.0


def make_params(settled: bool = True, **values: float) -> tuple[np.ndarray, np.ndarray]:
    """Target/current arrays with the comp stage engaged and ``values``."""
    return stage_params("comp", settled, **values)


def run(
    x: np.ndarray,
    target: np.ndarray,
    current: np.ndarray,
    block: int = 512,
    state: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Process a copy of ``x`` in blocks; return output and the GR tap of each block."""
    state = compressor.prepare(FS) if state is None else state
    y = np.ascontiguousarray(x, dtype=np.float64).copy()
    meter = np.zeros(taps.COUNT)
    grs = []
    for start in range(0, len(y), block):
        compressor.process(y[start : start + block], target, current, state, meter)
        grs.append(meter[taps.COMP_GR_DB])
    return y, np.array(grs)


def sine(freq: float, level_db: float, seconds: float, fade_ms: float = 0.0) -> np.ndarray:
    """A stereo sine; ``fade_ms`` of raised-cosine fade-in keeps the sidechain filter calm."""
    n = int(seconds * FS)
    s = 10.0 ** (level_db / 20.0) * np.sin(2.0 * np.pi * freq * np.arange(n) / FS)
    fade = int(fade_ms * FS / 1000.0)
    s[:fade] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    return np.stack([s, s], axis=1)


def nyquist(levels_db: list[tuple[float, float]]) -> np.ndarray:
    """An alternating +-A signal: |x| is constant, so out/in is the gain, sample by sample."""
    amp = np.concatenate(
        [np.full(int(sec * FS), 10.0 ** (db / 20.0)) for db, sec in levels_db]
    )
    s = amp * np.where(np.arange(len(amp)) % 2 == 0, 1.0, -1.0)
    return np.stack([s, s], axis=1)


def rms_db(a: np.ndarray) -> float:
    return 10.0 * math.log10(float(np.mean(a * a)))


def test_gain_computer_matches_the_soft_knee_formula():
    t, r, w = -20.0, 4.0, 10.0
    for xg in np.linspace(-40.0, 0.0, 81):
        if 2 * (xg - t) < -w:
            expect = 0.0
        elif 2 * (xg - t) > w:
            expect = (t + (xg - t) / r) - xg
        else:
            expect = (1 / r - 1) * (xg - t + w / 2) ** 2 / (2 * w)
        assert compressor.gain_computer(xg, t, r, w) == pytest.approx(expect, abs=1e-12)
    assert compressor.gain_computer(-19.0, t, r, 0.0) == pytest.approx(-0.75)
    assert compressor.gain_computer(-21.0, t, r, 0.0) == 0.0


@pytest.mark.parametrize(("ratio", "knee"), [(4.0, 0.0), (4.0, 6.0), (10.0, 12.0), (1.0, 6.0)])
def test_static_curve_follows_the_gain_computer_within_a_tenth_of_a_db(ratio, knee):
    target, current = make_params(
        threshold_db=-20.0, ratio=ratio, knee_db=knee, attack_ms=5.0, release_ms=300.0
    )
    for level in np.arange(-50.0, 0.1, 2.5):
        x = sine(1000.0, level, 0.8, fade_ms=10.0)
        y, _ = run(x, target, current.copy(), block=4096)
        tail = slice(-4800, None)
        measured = rms_db(y[tail, 0]) - rms_db(x[tail, 0])
        expect = compressor.gain_computer(level, -20.0, ratio, knee)
        assert measured == pytest.approx(expect, abs=0.1), (level, measured, expect)
        if ratio == 1.0:
            assert np.array_equal(y, x)  # ratio 1 is exactly unity


def test_makeup_gain_is_exact_below_the_threshold():
    target, current = make_params(threshold_db=-10.0, makeup_db=6.0)
    x = sine(1000.0, -40.0, 0.1)
    y, grs = run(x, target, current)
    assert np.allclose(y, x * 10.0 ** (6.0 / 20.0), rtol=1e-12, atol=0)
    assert np.all(grs == 0.0)


def crossing(gr_db: np.ndarray, start: int, level: float, rising: bool) -> float:
    """Seconds from ``start`` until the GR first crosses ``level``."""
    seg = gr_db[start:]
    idx = np.argmax(seg >= level) if rising else np.argmax(seg <= level)
    return (idx + 1) / FS  # sample ``start`` is the first one after the step


@pytest.mark.parametrize(("attack_ms", "release_ms"), [(2.0, 50.0), (20.0, 400.0)])
def test_attack_and_release_reach_63_percent_at_their_time_constants(attack_ms, release_ms):
    target, current = make_params(
        threshold_db=-30.0, ratio=4.0, knee_db=0.0, attack_ms=attack_ms, release_ms=release_ms
    )
    x = nyquist([(-40.0, 0.1), (-10.0, 1.5), (-40.0, 3.0)])
    y, _ = run(x, target, current)
    gr = -20.0 * np.log10(np.abs(y[:, 0] / x[:, 0]))
    up, down = int(0.1 * FS), int(1.6 * FS)
    full = 0.75 * 20.0  # ratio 4, 20 dB over the threshold
    assert gr[down - 1] == pytest.approx(full, abs=1e-3)
    t_attack = crossing(gr, up, (1.0 - math.exp(-1.0)) * full, rising=True)
    t_release = crossing(gr, down, math.exp(-1.0) * full, rising=False)
    assert t_attack == pytest.approx(attack_ms / 1000.0, rel=0.1)
    assert t_release == pytest.approx(release_ms / 1000.0, rel=0.1)


def steady_gr(x: np.ndarray, **values: float) -> float:
    target, current = make_params(threshold_db=-30.0, ratio=4.0, knee_db=0.0, **values)
    y, _ = run(x, target, current, block=4096)
    tail = slice(-9600, None)
    return rms_db(x[tail, 0]) - rms_db(y[tail, 0])


def test_sidechain_high_pass_keeps_bass_from_driving_the_compressor():
    low, mid = sine(30.0, -10.0, 1.0), sine(1000.0, -10.0, 1.0)
    assert steady_gr(mid, sc_hpf_hz=250.0) > 14.0
    assert steady_gr(low, sc_hpf_hz=250.0) < 0.5
    assert steady_gr(low, sc_hpf_hz=20.0) > 12.0  # the filter, not the tone, makes the difference


def test_link_100_applies_the_left_channel_gain_to_the_right_and_0_leaves_it_alone():
    n = int(FS)
    t = np.arange(n) / FS
    left = 0.5 * np.sin(2 * np.pi * 1000.0 * t)  # -6 dBFS: 18 dB over the threshold
    probe = 0.001 * np.sin(2 * np.pi * 1500.0 * t)  # -60 dBFS, far below it
    x = np.stack([left, probe], axis=1)
    tail = slice(-9600, None)

    def gains(link: float) -> tuple[float, float, np.ndarray]:
        target, current = make_params(threshold_db=-30.0, ratio=4.0, knee_db=0.0,
                                      link_pct=link)
        y, _ = run(x, target, current)
        both = (np.abs(x[:, 0]) > 1e-2) & (np.abs(x[:, 1]) > 1e-4)
        ratio = (y[both, 1] / x[both, 1]) / (y[both, 0] / x[both, 0])
        return (rms_db(y[tail, 0]) - rms_db(x[tail, 0]),
                rms_db(y[tail, 1]) - rms_db(x[tail, 1]), ratio)

    l100, _, ratio = gains(100.0)
    assert l100 == pytest.approx(-18.0, abs=0.1)
    assert np.allclose(ratio, 1.0, rtol=0, atol=1e-12)  # one gain for both, sample by sample
    l0, r0, _ = gains(0.0)
    assert l0 == pytest.approx(-18.0, abs=0.1)
    assert r0 == 0.0
    _, r50, _ = gains(50.0)  # the right detector sees about half the left peak: 6 dB less
    assert r50 == pytest.approx(-(18.0 - 0.75 * 6.02), abs=0.2)


def test_mix_zero_is_the_dry_signal_exactly_and_mix_blends_linearly():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20000, 2)) * 0.3
    target, current = make_params(threshold_db=-40.0, ratio=8.0, mix_pct=0.0, makeup_db=5.0)
    y0, grs = run(x, target, current)
    assert np.array_equal(y0, x)
    assert grs.max() > 10.0  # the detector was working all along
    target, current = make_params(threshold_db=-40.0, ratio=8.0, mix_pct=100.0)
    y100, _ = run(x, target, current)
    target, current = make_params(threshold_db=-40.0, ratio=8.0, mix_pct=30.0)
    y30, _ = run(x, target, current)
    assert np.allclose(y30, x + 0.3 * (y100 - x), rtol=0, atol=1e-12)


def test_gr_tap_equals_the_reduction_measured_on_the_output():
    target, current = make_params(threshold_db=-30.0, ratio=4.0, knee_db=6.0, attack_ms=5.0)
    x = nyquist([(-40.0, 0.05), (-6.0, 0.3), (-20.0, 0.3)])
    block = 480
    y, grs = run(x, target, current, block=block)
    gr = -20.0 * np.log10(np.abs(y[:, 0] / x[:, 0]))
    per_block = np.array([gr[i : i + block].max() for i in range(0, len(gr), block)])
    assert np.allclose(grs, np.maximum(per_block, 0.0), rtol=0, atol=1e-9)
    assert grs.max() > 15.0


def test_output_does_not_depend_on_block_size():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3 * 8192 + 123, 2)) * np.linspace(0.01, 1.0, 3 * 8192 + 123)[:, None]
    values = dict(threshold_db=-25.0, ratio=3.0, knee_db=8.0, attack_ms=3.0, release_ms=80.0,
                  makeup_db=2.0, sc_hpf_hz=120.0, link_pct=40.0, mix_pct=70.0)
    outs = []
    for block in (16, 64, 1000, 8192):
        target, current = make_params(settled=False, **values)  # everything glides, too
        y, _ = run(x, target, current, block=block)
        outs.append(y)
    for y in outs[1:]:
        assert np.array_equal(y, outs[0])


def test_bypass_crossfades_without_a_click_and_ends_on_the_dry_signal():
    x = sine(1000.0, -6.0, 0.6)
    target, current = make_params(threshold_db=-40.0, ratio=20.0, knee_db=0.0)
    state = compressor.prepare(FS)
    half = int(0.3 * FS)
    y = x.copy()
    meter = np.zeros(taps.COUNT)
    compressor.process(y[:half], target, current, state, meter)
    assert meter[taps.COMP_GR_DB] > 30.0
    target[params.COMP_BYPASS] = 1.0
    compressor.process(y[half:], target, current, state, meter)
    fade = int(FS * 0.010) + 1
    assert np.array_equal(y[half + fade :], x[half + fade :])
    step_limit = 1.05 * np.abs(np.diff(x[:, 0])).max()
    assert np.abs(np.diff(y[half - 10 : half + fade + 10, 0])).max() < step_limit
    # and back in: the detector kept running, so the return is just as smooth
    target[params.COMP_BYPASS] = 0.0
    z = x.copy()
    compressor.process(z, target, current, state, meter)
    assert np.abs(np.diff(z[:, 0])).max() < step_limit


def test_reset_clears_the_envelope():
    target, current = make_params(threshold_db=-30.0, ratio=4.0)
    state = compressor.prepare(FS)
    run(sine(1000.0, 0.0, 0.2), target, current, state=state)
    compressor.reset(state)
    quiet = sine(1000.0, -50.0, 0.01)
    y, grs = run(quiet, target, current, state=state)
    assert np.array_equal(y, quiet)
    assert grs.max() == 0.0


_RANGES = {p.id: p for p in params.PARAMS if p.stage == "comp"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    n=st.integers(1, 400),
    scale=st.sampled_from([0.0, 1e-300, 1e-6, 1.0, 1e3, 1e30, 1e200]),
)
def test_output_stays_finite_for_any_settings_and_finite_input(data, n, scale):
    target = params.defaults()
    current = params.defaults()
    for pid, p in _RANGES.items():
        for arr in (target, current):
            if p.kind == "switch":
                arr[params.index(pid)] = data.draw(st.sampled_from([0.0, 1.0]))
            else:
                arr[params.index(pid)] = data.draw(st.floats(p.min, p.max))
    raw = data.draw(st.lists(st.floats(-1.0, 1.0), min_size=2 * n, max_size=2 * n))
    x = np.array(raw, dtype=np.float64).reshape(n, 2) * scale
    y, grs = run(x, target, current, block=data.draw(st.integers(1, 64)))
    assert np.all(np.isfinite(y))
    assert np.all(np.isfinite(grs)) and np.all(grs >= 0.0)


def test_settled_and_gliding_paths_compute_the_same_bits():
    """The vectorised path (parameters settled) and the per-sample one agree exactly."""
    rng = np.random.default_rng(13)
    n = compressor.CHUNK
    x = rng.standard_normal((4 * n, 2)) * np.linspace(0.01, 1.0, 4 * n)[:, None]
    cases = [dict(link_pct=100.0), dict(link_pct=40.0, mix_pct=70.0, makeup_db=3.0),
             dict(link_pct=0.0, knee_db=0.0, sc_hpf_hz=150.0), dict(bypass=1.0)]
    for values in cases:
        target, current = make_params(threshold_db=-25.0, ratio=3.0, attack_ms=2.0, **values)
        states = [compressor.prepare(FS), compressor.prepare(FS)]
        outs = [x.copy(), x.copy()]
        meter = np.zeros(taps.COUNT)
        compressor.process(outs[0][:7], target, current, states[0], meter)  # derive settings
        compressor.process(outs[1][:7], target, current, states[1], meter)
        for start in range(7, 4 * n - n, n):
            g0 = compressor._process_settled(outs[0], start, n, current, states[0])
            g1 = compressor._process_gliding(outs[1], start, n, target, current, states[1])
            assert g0 == g1
        assert np.array_equal(outs[0], outs[1]), values
        assert np.array_equal(states[0][: compressor._HISTORY_END],
                              states[1][: compressor._HISTORY_END])
