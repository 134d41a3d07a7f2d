"""The true-peak limiter: the ceiling holds on three meters, and everything else stays clean.

Every hostile case is checked three ways: the sample peak never exceeds the
ceiling (exactly), the BS.1770 meter (dsp.truepeak) reads at most 0.05 dB
over it, and an independent 16x reconstruction (tests/peakcheck.py, scipy)
at most 0.2 dB over it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsp import limiter, limiter_hold, limiter_state, taps
from dsp import limiter_detector as detector
from dsp import params as P
from dsp import truepeak as tp
from dsp.smoothing import glide, write_header
from tests.peakcheck import (
    alternating_run,
    db,
    fade,
    limiter_knobs,
    peak16_db,
    stereo,
    tp_burst,
    tp_case,
)

RATE = 48000
BS1770_TOL_DB = 0.05
CHECK16_TOL_DB = 0.2


def settings_for(**kw: float) -> tuple[np.ndarray, np.ndarray]:
    target = P.defaults()
    for key, value in kw.items():
        target[P.index(f"limiter.{key}")] = value
    return target, target.copy()


def run(x: np.ndarray, rate: float = RATE, block: int = 512, target: np.ndarray | None = None,
        current: np.ndarray | None = None, tap: np.ndarray | None = None,
        **kw: float) -> np.ndarray:
    """Limit ``x`` and return the output with the latency removed (same length as x)."""
    state = limiter.prepare(rate)
    if target is None:
        target, current = settings_for(**kw)
    tap = np.zeros(taps.COUNT) if tap is None else tap
    delay = limiter.latency_samples(state)
    y = np.concatenate([np.ascontiguousarray(x, dtype=np.float64), np.zeros((delay, 2))])
    for start in range(0, y.shape[0], block):
        limiter.process(y[start:start + block], target, current, state, tap)
    return y[delay:]


def assert_under_ceiling(y: np.ndarray, ceiling_dbtp: float, rate: float = RATE) -> None:
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    assert np.max(np.abs(y)) <= ceiling, db(np.max(np.abs(y))) - ceiling_dbtp
    assert db(tp.true_peak(y, rate)) <= ceiling_dbtp + BS1770_TOL_DB
    assert peak16_db(y) <= ceiling_dbtp + CHECK16_TOL_DB


# ---------------------------------------------------------------- latency, transparency

@pytest.mark.parametrize(("rate", "expected"), [(44100, 284), (48000, 303), (96000, 543)])
def test_latency_is_fixed_per_rate_and_matches_an_impulse(rate, expected):
    state = limiter.prepare(rate)
    assert limiter.latency_samples(state) == expected
    x = np.zeros((2000, 2))
    x[100] = [0.5, -0.25]
    target, current = settings_for(ceiling_dbtp=0.0)
    limiter.process(x, target, current, state, np.zeros(taps.COUNT))
    assert np.flatnonzero(x[:, 0]).tolist() == [100 + expected]
    assert x[100 + expected].tolist() == [0.5, -0.25]


@pytest.mark.parametrize("look_ms", [0.5, 1.5, 5.0])
@pytest.mark.parametrize("link_pct", [0.0, 100.0])
def test_below_the_ceiling_the_output_is_the_input_delayed_exactly(look_ms, link_pct):
    rng = np.random.default_rng(4)
    x = stereo(0.05 * rng.standard_normal(9600), 0.03 * rng.standard_normal(9600))
    y = run(x, ceiling_dbtp=-6.0, lookahead_ms=look_ms, link_pct=link_pct)
    np.testing.assert_array_equal(y, x)


def test_latency_does_not_change_when_the_lookahead_moves_live():
    state = limiter.prepare(RATE)
    before = limiter.latency_samples(state)
    target, current = settings_for(lookahead_ms=0.5)
    x = np.zeros((RATE // 10, 2))
    x[-1] = 0.1
    limiter.process(x, target, current, state, np.zeros(taps.COUNT))
    target[P.LIMITER_LOOKAHEAD] = 5.0
    limiter.process(x, target, current, state, np.zeros(taps.COUNT))
    assert limiter.latency_samples(state) == before


# ---------------------------------------------------------------- hostile signals

def square(freq: float, n: int, band_limited: bool, phase: float = 0.3) -> np.ndarray:
    k = np.arange(n)
    if not band_limited:
        return np.sign(np.sin(2 * np.pi * freq * k / RATE + phase))
    s = np.zeros(n)
    for h in range(1, int(RATE / 2 / freq) + 1, 2):
        s += np.sin(h * (2 * np.pi * freq * k / RATE + phase)) / h
    return 4 / np.pi * s


def drums(rng: np.random.Generator, n: int) -> np.ndarray:
    s = np.zeros(n)
    for start in rng.integers(0, n - 2400, 6):
        k = np.arange(2400)
        hit = np.exp(-k / 300.0) * (np.sin(2 * np.pi * 60 * k / RATE) + rng.standard_normal(2400))
        s[start:start + 2400] += hit
    return np.clip(2.0 * s, -1.0, 1.0)


def onset_sine(freq: float, n: int, start: int, phase: float = 1.0) -> np.ndarray:
    s = np.sin(2 * np.pi * freq * np.arange(n) / RATE + phase)
    s[:start] = 0.0
    return s


def _named_signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    n = 9600
    sig = {f"tech3341 #{15 + i}": stereo(tp_case(*c, dur=0.2)) for i, c in enumerate(
        [(4, 0.5, 0.0), (4, 0.5, 45.0), (6, 0.5, 60.0), (8, 0.5, 67.5), (4, 1.41, 45.0)])}
    sig.update({f"tech3341 #{20 + o}": stereo(tp_burst(o, dur=0.2)) for o in range(4)})
    sig.update({f"alternating run {r}": stereo(alternating_run(r)) for r in (1, 2, 3, 5, 10, 30)})
    sig["square 1 kHz naive"] = stereo(square(1000.0, n, False))
    sig["square 997 Hz band-limited"] = stereo(square(997.0, n, True))
    sig["clipped drums"] = stereo(drums(rng, n), drums(rng, n))
    sig["noise bursts"] = stereo(rng.standard_normal(n) * np.repeat(rng.uniform(0, 1, 8), n // 8))
    sig["sine 23.3 kHz hard onset"] = stereo(onset_sine(23300.0, n, 1000))
    sig["sine 23.99 kHz"] = stereo(tp_case(RATE / 23990.0, 1.0, 30.0, dur=0.2))
    sig["sine 40 Hz"] = stereo(tp_case(RATE / 40.0, 1.0, 0.0, dur=0.2))
    return sig


NAMED = _named_signals()


@pytest.mark.parametrize("name", list(NAMED))
@pytest.mark.parametrize(("drive_db", "ceiling_dbtp"), [(0.0, -1.0), (12.0, -1.0), (12.0, -6.3)])
def test_named_hostile_signals_stay_under_the_ceiling(name, drive_db, ceiling_dbtp):
    y = run(NAMED[name], drive_db=drive_db, ceiling_dbtp=ceiling_dbtp)
    assert_under_ceiling(y, ceiling_dbtp)


@pytest.mark.parametrize("rate", [44100, 96000])
@pytest.mark.parametrize("name", ["noise", "alternating run 3", "tech3341 #19", "near Nyquist"])
def test_other_sample_rates_hold_the_ceiling_too(rate, name):
    rng = np.random.default_rng(12)
    n = rate // 5
    signal = {
        "noise": stereo(rng.standard_normal(n), rng.standard_normal(n)),
        "alternating run 3": stereo(alternating_run(3)),
        "tech3341 #19": stereo(tp_case(4, 1.41, 45.0, fs=rate, dur=0.2)),
        # onset_sine counts in units of RATE, so this is 0.485 fs at any rate
        "near Nyquist": stereo(onset_sine(0.485 * RATE, n, n // 3)),
    }[name]
    y = run(signal, rate=rate, drive_db=12.0, ceiling_dbtp=-1.0)
    assert_under_ceiling(y, -1.0, rate)


@st.composite
def hostile(draw):
    n = 4800
    kind = draw(st.sampled_from(["sine", "square", "bl_square", "noise", "altrun", "tp", "mix"]))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    amp = draw(st.floats(0.1, 4.0))
    if kind == "sine":
        freq = draw(st.floats(20.0, RATE / 2 * 0.9999))
        s = onset_sine(freq, n, draw(st.integers(0, n // 2)), draw(st.floats(0, 2 * np.pi)))
    elif kind == "square":
        s = square(draw(st.floats(30.0, 8000.0)), n, False, draw(st.floats(0, 2 * np.pi)))
    elif kind == "bl_square":
        s = square(draw(st.floats(30.0, 8000.0)), n, True, draw(st.floats(0, 2 * np.pi)))
    elif kind == "noise":
        s = rng.standard_normal(n) * np.repeat(rng.uniform(0, 1, 12), n // 12)
    elif kind == "altrun":
        s = np.zeros(n)
        for run_len in rng.integers(1, 40, 3):
            seg = alternating_run(int(run_len), pad=0)
            start = int(rng.integers(0, n - seg.size))
            s[start:start + seg.size] += seg
    elif kind == "tp":
        s = np.resize(tp_burst(int(rng.integers(0, 4)), dur=0.1), n)
    else:
        k = np.arange(n)
        s = np.sin(2 * np.pi * 50 * k / RATE) + 0.3 * rng.standard_normal(n)
        s *= fade(n, 200)
    other = draw(st.floats(-1.0, 1.0))
    x = stereo(amp * s, amp * other * (np.roll(s, int(rng.integers(0, 50)))))
    knobs = limiter_knobs(draw)
    return x, knobs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile())
def test_any_input_stays_under_the_ceiling_on_three_meters(case):
    x, knobs = case
    assert_under_ceiling(run(x, **knobs), knobs["ceiling_dbtp"])


# ---------------------------------------------------------------- ballistics and meters

def gain_trajectory(levels: list[float], hold: int, ramp: int, tail: int,
                    **kw: float) -> np.ndarray:
    """Drive smooth DC level changes through the limiter; output over input is the gain.

    The levels change along raised-cosine ramps: a hard step would have a real
    inter-sample overshoot (Gibbs) of its own.
    """
    parts = [np.full(hold, levels[0])]
    for before, after in itertools.pairwise(levels):
        w = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, ramp + 1) / ramp)
        parts += [before + (after - before) * w, np.full(hold, after)]
    x = np.concatenate([*parts, np.full(tail, levels[-1])])
    y = run(stereo(x), **kw)
    return y[:, 0] / x


def test_attack_and_release_are_smooth_ramps_without_steps():
    hold, ramp = 4800, 240
    g = gain_trajectory([0.5, 2.0, 0.5], hold, ramp, RATE, ceiling_dbtp=-1.0, release_ms=50.0,
                        lookahead_ms=1.5)
    ceiling = 10 ** (-1 / 20)
    loud = slice(hold + ramp, 2 * hold + ramp)
    # Annex-2 phases read DC 0.16 % high, and the limiter honours that meter
    assert g[loud].min() == pytest.approx(ceiling / 2.0, rel=2e-3)
    assert np.all(g[loud] <= ceiling / 2.0)
    look = round(1.5e-3 * RATE)
    assert np.abs(np.diff(g)).max() < 2.0 * (1.0 - ceiling / 2.0) / look  # no steps
    attack = g[:hold + ramp + limiter.PLATEAU]
    release = g[2 * hold + ramp:]
    assert np.all(np.diff(attack) <= 1e-9)
    assert np.all(np.diff(release) >= -1e-9)
    assert release[-1] == pytest.approx(1.0, abs=1e-6)
    # one-pole release: 50 ms after the level fell, about 1/e of the reduction remains
    reduction = 1.0 - g[2 * hold + 2 * ramp + round(0.05 * RATE)]
    assert 0.25 < reduction / (1.0 - ceiling / 2.0) < 0.5


def test_gain_reduction_tap_reports_the_largest_reduction_of_the_block():
    state = limiter.prepare(RATE)
    target, current = settings_for(drive_db=12.0, ceiling_dbtp=-1.0)
    tap = np.zeros(taps.COUNT)
    fade_in = stereo(0.5 * np.sin(np.linspace(0.0, np.pi / 2, 4800)))
    limiter.process(fade_in, target, current, state, tap)
    limiter.process(stereo(np.full(4800, 0.5)), target, current, state, tap)
    # +12 dB on 0.5 (-6.02 dBFS) into a -1 dBTP ceiling; Annex-2 reads DC 0.014 dB high
    assert tap[taps.LIMITER_GR_DB] == pytest.approx(12.0 - 6.0206 + 1.0 + 0.014, abs=0.01)
    for _ in range(20):  # 2 s of silence: fully released (fresh zeros: processing is in place)
        limiter.process(np.zeros((4800, 2)), target, current, state, tap)
    assert tap[taps.LIMITER_GR_DB] == 0.0
    quiet = stereo(0.1 * np.sin(np.arange(4800) * 0.05))
    out = quiet.copy()
    limiter.process(out, target, current, state, tap)
    delay = limiter.latency_samples(state)
    np.testing.assert_array_equal(out[delay:], quiet[:-delay] * 10.0 ** (12.0 / 20.0))


def test_ceiling_glides_live_and_the_output_never_exceeds_it():
    rng = np.random.default_rng(5)
    x = stereo(rng.standard_normal(RATE))
    target, current = settings_for(drive_db=6.0, ceiling_dbtp=0.0)
    state = limiter.prepare(RATE)
    delay = limiter.latency_samples(state)
    y = np.concatenate([x, np.zeros((delay, 2))])
    tap = np.zeros(taps.COUNT)
    ceilings = []
    header = np.zeros(3)
    write_header(header, RATE)
    mirror_t, mirror_c = target.copy(), current.copy()
    for start in range(0, y.shape[0], 480):
        if start == 9600:
            target[P.LIMITER_CEILING] = mirror_t[P.LIMITER_CEILING] = -9.0
        if start == 24000:
            target[P.LIMITER_CEILING] = mirror_t[P.LIMITER_CEILING] = -3.0
        if start == 24000 + 960:
            target[P.LIMITER_CEILING] = mirror_t[P.LIMITER_CEILING] = -12.0
        limiter.process(y[start:start + 480], target, current, state, tap)
        for _ in range(min(480, y.shape[0] - start)):
            ceilings.append(glide(mirror_t, mirror_c, P.LIMITER_CEILING, header))
    ceiling = 10.0 ** (np.array(ceilings) / 20.0)
    assert np.all(np.abs(y) <= ceiling[:, None])
    assert db(tp.true_peak(y[:9600], RATE)) <= BS1770_TOL_DB
    settled = y[24000 + 960 + RATE // 10:]
    assert db(tp.true_peak(settled, RATE)) <= -12.0 + BS1770_TOL_DB
    assert peak16_db(settled) <= -12.0 + CHECK16_TOL_DB


def hf_share_db(y: np.ndarray) -> float:
    """Energy above 12 kHz as a share of the whole (dB)."""
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size))) ** 2
    f = np.fft.rfftfreq(y.size, 1.0 / RATE)
    return 10.0 * np.log10(spec[f > 12000.0].sum() / spec.sum() + 1e-30)


@pytest.mark.parametrize(("amp", "drive_db"), [(0.25, 0.0), (0.5, 12.0)])
def test_ceiling_thrown_end_to_end_at_full_speed_makes_no_clicks(amp, drive_db):
    """The ceiling target flips between -12 and 0 dBTP every 10 ms over a 110 Hz tone.

    At 0.25 the tone is hardly limited, so only the scaling of samples caught in
    the delay line by a falling ceiling acts on it; at +12 dB drive it is always
    limited. Gliding gains only bend the tone; a step in the gain is a
    one-sample jump: a second difference hundreds of times the tone's own
    (it was over 500x) and energy above 12 kHz, where the tone has none.
    """
    n = int(0.6 * RATE)
    x = amp * np.sin(2 * np.pi * 110.0 * np.arange(n) / RATE)
    target, current = settings_for(drive_db=drive_db, ceiling_dbtp=0.0)
    state = limiter.prepare(RATE)
    delay = limiter.latency_samples(state)
    y = np.concatenate([stereo(x), np.zeros((delay, 2))])
    header = np.zeros(3)
    write_header(header, RATE)
    mirror_t, mirror_c = target.copy(), current.copy()
    ceilings = []
    step = RATE // 100
    for k, start in enumerate(range(0, y.shape[0], step)):
        target[P.LIMITER_CEILING] = mirror_t[P.LIMITER_CEILING] = (-12.0, 0.0)[k % 2]
        limiter.process(y[start:start + step], target, current, state, np.zeros(taps.COUNT))
        for _ in range(min(step, y.shape[0] - start)):
            ceilings.append(glide(mirror_t, mirror_c, P.LIMITER_CEILING, header))
    assert np.all(np.abs(y) <= 10.0 ** (np.array(ceilings) / 20.0)[:, None])
    out = y[delay:, 0]
    assert hf_share_db(out) < -70.0
    assert np.abs(np.diff(out, 2)).max() < 40.0 * np.abs(np.diff(x, 2)).max()


@pytest.mark.parametrize(("knob", "start", "end"), [
    ("drive_db", 0.0, 24.0), ("lookahead_ms", 5.0, 0.5), ("lookahead_ms", 0.5, 5.0),
    ("release_ms", 1000.0, 1.0), ("link_pct", 100.0, 0.0),
])
def test_settings_moving_live_never_breach_the_ceiling(knob, start, end):
    rng = np.random.default_rng(6)
    x = stereo(rng.standard_normal(14400), rng.standard_normal(14400) * 0.3)
    target, current = settings_for(**{"drive_db": 6.0, "ceiling_dbtp": -1.0, knob: start})
    state = limiter.prepare(RATE)
    delay = limiter.latency_samples(state)
    y = np.concatenate([x, np.zeros((delay, 2))])
    for i, begin in enumerate(range(0, y.shape[0], 256)):
        if i == 10:
            target[P.index(f"limiter.{knob}")] = end
        limiter.process(y[begin:begin + 256], target, current, state, np.zeros(taps.COUNT))
    assert_under_ceiling(y, -1.0)


@pytest.mark.parametrize("style", P.RELEASE_STYLES)
def test_result_does_not_depend_on_block_size(style):
    rng = np.random.default_rng(8)
    x = stereo(rng.standard_normal(20000), 0.5 * rng.standard_normal(20000))
    outputs = []
    for block in (16, 64, 1000, 8192):
        target, current = settings_for(drive_db=9.0, release_ms=20.0, link_pct=40.0,
                                       release_style=P.RELEASE_STYLES.index(style))
        current[P.LIMITER_CEILING] = -6.0  # gliding from -6 to -1 dBTP as it starts
        current[P.LIMITER_LOOKAHEAD] = 5.0
        current[P.LIMITER_BYPASS] = 1.0
        outputs.append(run(x, block=block, target=target, current=current))
    for y in outputs[1:]:
        np.testing.assert_array_equal(y, outputs[0])


@pytest.mark.parametrize("style", ["single", "punchy"])
def test_settled_fast_paths_give_the_same_bits_as_the_per_sample_path(style):
    """Chunks whose settings hold still run as passes (one gain loop for both channels).

    Every knob moves live here, so which chunks take the fast paths depends on
    where the blocks are cut: a sample handled per sample in one run is handled
    by the passes in another, and the outputs must still be identical.
    """
    rng = np.random.default_rng(13)
    n = 72000
    swell = np.repeat(rng.uniform(0.1, 1.0, n // 600), 600)
    x = stereo(2.0 * swell * rng.standard_normal(n), swell * rng.standard_normal(n))
    # far enough apart that each glide lands (to 1e-9) before the next move
    moves = {1000: ("lookahead_ms", 0.7), 16000: ("release_ms", 5.0), 31000: ("link_pct", 0.0),
             46000: ("ceiling_dbtp", -7.0), 60000: ("bypass", 1.0), 62000: ("bypass", 0.0),
             # the style switches (one way or the other) mid-stream, off a chunk boundary
             23456: ("release_style", 3.0 if style == "single" else 0.0)}
    outputs = []
    for block in (1, 7, 256, 4096):
        target, current = settings_for(drive_db=9.0, release_ms=30.0, link_pct=60.0,
                                       release_style=P.RELEASE_STYLES.index(style))
        state = limiter.prepare(RATE)
        y = x.copy()
        cuts = sorted({*range(0, y.shape[0], block), *moves})
        for begin, end in itertools.pairwise([*cuts, y.shape[0]]):
            if begin in moves:
                knob, value = moves[begin]
                target[P.index(f"limiter.{knob}")] = value
            limiter.process(y[begin:end], target, current, state, np.zeros(taps.COUNT))
        outputs.append(y)
    for y in outputs[1:]:
        np.testing.assert_array_equal(y, outputs[0])


def _exact_interval_peaks(line: np.ndarray, m: int, ebu: int) -> np.ndarray:
    """The detector's points per interval, one by one, in double precision.

    Eleven, plus libebur128's three at 4x or one at 2x (``ebu``).
    """
    reach, near = detector.REACH, detector.NEAR
    out = np.zeros(m)
    for i in range(m):
        k = i + reach - 1  # the interval lies between line[k] and line[k + 1]
        left = line[k - np.arange(reach)]
        right = line[k + 1 + np.arange(reach)]
        far = np.dot(detector.FAR, left + right)
        sinc = detector.NEAR_L @ left[:near] + detector.NEAR_R @ right[:near] + detector.SIN * far
        annex = detector._ANNEX @ line[k - 5:k + 7]
        ebu_points = [0.0]
        if ebu > 1:
            sides = 6 if ebu == 4 else 12
            for mu in (0.25, 0.5, 0.75) if ebu == 4 else (0.5,):
                tl, tr = detector.ebu_taps(ebu, mu, sides)
                ebu_points.append(tl @ left[:sides] + tr @ right[:sides])
        out[i] = max(np.abs(sinc).max(), np.abs(annex).max(), np.abs(ebu_points).max())
    return out


def test_single_precision_interval_peaks_stay_within_their_guard():
    """The detector (single precision, points in mirrored pairs) against the points one by one.

    ``IP_GUARD`` must cover its rounding with room to spare: noise, tones up
    to Nyquist, square waves, levels from -60 to +20 dBFS, chunks of any length.
    """
    rng = np.random.default_rng(6)
    worst = 0.0
    for trial in range(120):
        m = int(rng.integers(1, limiter.CHUNK + 1))
        n = detector.HIST + m
        t = np.arange(n)
        freq, phase = rng.uniform(0.0, 0.5), rng.uniform(0.0, 2.0 * np.pi)
        x = [rng.standard_normal(n), np.cos(np.pi * t * rng.uniform(0.9, 1.0) + phase),
             np.sign(np.sin(2.0 * np.pi * freq * t + phase)),
             np.sin(2.0 * np.pi * freq * t + phase)][trial % 4] * 10.0 ** rng.uniform(-3, 1)
        line32 = x.astype(np.float32)
        line32[detector.HIST:] = 0.0  # the detector converts the new samples itself
        peak = np.zeros(m, np.float32)
        ebu = (4, 2, 1)[trial % 3]
        detector.detect(x, line32, peak, np.zeros(m, np.float32), m, ebu)
        exact = _exact_interval_peaks(x, m, ebu)
        worst = max(worst, np.abs(peak / exact - 1.0).max())
    assert worst < 1e-6  # measured 2.7e-7
    assert detector.IP_GUARD - 1.0 > 10 * worst


def test_window_minima_are_the_sliding_minimum_of_the_requests():
    """The settled gain computer's window minima (blocks, no deque) against brute force.

    Requests with many ties, chunks of every length from 1 to CHUNK, and the
    window's length changing now and then (the blocks are rebuilt from the
    request ring, as after a lookahead move).
    """
    rng = np.random.default_rng(3)
    requests = np.round(rng.uniform(0.2, 1.0, 20000), 2)
    size = 4096
    rq, mp, ms = np.ones(size), np.ones(size), np.ones(size)
    hold = np.zeros(limiter.CHUNK)
    state = np.zeros(limiter_state._CH0 + 2 * limiter_state._CHS)
    s = limiter_state._CH0
    first, width = 1000, 37
    checked = 0
    while first + limiter.CHUNK < requests.size:
        if rng.uniform() < 0.05:
            width = int(rng.integers(34, 300))
        m = int(rng.integers(1, limiter.CHUNK + 1))
        for j in range(first - 2 * width, first + m):
            rq[j & (size - 1)] = requests[j]
        limiter_hold.held(state, s, rq, mp, ms, width, first, m, hold)
        expected = [requests[first + i - width + 1:first + i + 1].min() for i in range(m)]
        np.testing.assert_array_equal(hold[:m], expected)
        checked += m
        first += m
    assert checked > 18000


def test_a_rebuilt_deque_is_the_deque_kept_sample_by_sample():
    """While the window minima stand in, the deque is rebuilt from the requests when needed."""
    rng = np.random.default_rng(4)
    requests = np.round(rng.uniform(0.2, 1.0, 5000), 2)
    size, width = 1024, 90
    rq = np.ones(size)
    kept: list[tuple[int, float]] = []  # a monotonic deque, kept the plain way
    state = np.zeros(limiter_state._CH0 + 2 * limiter_state._CHS)
    s = limiter_state._CH0
    ri, rv = np.zeros(size), np.ones(size)
    for k in range(3000):
        rq[k % size] = requests[k]
        while kept and kept[-1][1] >= requests[k]:
            kept.pop()
        kept.append((k, requests[k]))
        left = k - width + 1
        while kept[0][0] < left:
            kept.pop(0)
        if k % 97 == 0 and k > width:
            state[s + limiter_state._PUSHED] = k + 1
            state[s + limiter_state._QSTALE] = 1.0
            limiter_hold.rebuild_deque(state, s, rq, ri, rv, left)
            got = int(state[s + limiter_state._QCOUNT])
            assert state[s + limiter_state._QSTALE] == 0.0 and got == len(kept)
            assert [(int(ri[j]), rv[j]) for j in range(got)] == kept


@pytest.mark.parametrize("style", ["single", "transparent"])
def test_one_gain_computer_for_both_channels_when_linked_changes_nothing(style):
    """Fully linked, the channels share one gain computer (twin) once their states agree.

    The same programme, with the link going 100 -> 0 -> 100 %, is run once as
    shipped and once with the twin switched off before every chunk (both
    computers always run): the outputs must be the same bits, and the twin
    must really be in use again at the end (so the comparison is not empty).
    With ``transparent`` under constant reduction the parted envelopes charge
    toward each other without ever landing on the same bits, so the twin
    stays parted (a lost saving, not a wrong gain): only the bits are compared.
    """
    rng = np.random.default_rng(21)
    n = 96000
    swell = np.repeat(rng.uniform(0.2, 1.0, n // 800), 800)
    x = stereo(2.5 * swell * rng.standard_normal(n), 0.8 * rng.standard_normal(n))
    moves = {80 * limiter.CHUNK: 0.0, 160 * limiter.CHUNK: 100.0}
    outputs, twins = [], []
    for twin_allowed in (True, False):
        target, current = settings_for(drive_db=9.0, release_ms=30.0,
                                       release_style=P.RELEASE_STYLES.index(style))
        state = limiter.prepare(RATE)
        y = x.copy()
        for begin in range(0, n, limiter.CHUNK):
            if begin in moves:
                target[P.LIMITER_LINK] = moves[begin]
            if not twin_allowed:
                state[limiter_state._TWIN] = 0.0
            limiter.process(y[begin:begin + limiter.CHUNK], target, current, state,
                            np.zeros(taps.COUNT))
            if begin in (40 * limiter.CHUNK, 120 * limiter.CHUNK, n - limiter.CHUNK):
                twins.append(state[limiter_state._TWIN])
        outputs.append(y)
    np.testing.assert_array_equal(outputs[1], outputs[0])
    # shared, parted while unlinked, shared again
    expected = [1.0, 0.0, 1.0] if style == "single" else [1.0, 0.0]
    assert twins[:len(expected)] == expected


def test_link_100_applies_one_gain_and_link_0_leaves_the_quiet_channel_alone():
    rng = np.random.default_rng(9)
    loud = 2.0 * rng.standard_normal(9600)
    quiet = 0.05 * rng.standard_normal(9600)
    x = stereo(loud, quiet)
    linked = run(x, link_pct=100.0)
    np.testing.assert_allclose(linked[:, 1] / quiet, linked[:, 0] / loud, rtol=1e-9)
    assert np.min(linked[:, 1] / quiet) < 0.5
    independent = run(x, link_pct=0.0)
    np.testing.assert_array_equal(independent[:, 1], quiet)


def test_bypass_crossfades_to_the_delayed_dry_signal_at_the_same_latency():
    rng = np.random.default_rng(10)
    x = stereo(3.0 * rng.standard_normal(24000))
    target, current = settings_for(drive_db=6.0, bypass=1.0)
    y = run(x, target=target, current=current)
    np.testing.assert_array_equal(y, x)  # bypassed: the dry input, delayed like the wet
    target, current = settings_for(drive_db=6.0)
    current[P.LIMITER_BYPASS] = 1.0  # fading in from bypass over 10 ms
    y = run(x, target=target, current=current)
    fade_len = round(0.01 * RATE)
    assert_under_ceiling(y[fade_len + 1:], -1.0)
    jumps = np.abs(np.diff(y[:, 0]))
    assert jumps.max() < np.abs(np.diff(x[:, 0])).max()  # no click on top of the signal


def test_state_stays_finite_and_reset_starts_afresh():
    state = limiter.prepare(RATE)
    target, current = settings_for(drive_db=24.0, release_ms=1.0)
    tap = np.zeros(taps.COUNT)
    extreme = np.full((4096, 2), 1000.0)
    extreme[::2] *= -1.0
    limiter.process(extreme, target, current, state, tap)
    tiny = np.full((4096, 2), 1e-300)
    limiter.process(tiny, target, current, state, tap)
    assert np.all(np.isfinite(state)) and np.all(np.isfinite(tiny))
    limiter.reset(state)
    np.testing.assert_array_equal(state, limiter.prepare(RATE))
