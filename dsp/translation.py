"""Translation checks: the monitor heard as listeners will hear it (never rendered).

A check is a 2x2 channel matrix (stereo, mono, side only, left/right
swapped, narrowed) followed by a device curve, a cascade of up to
:data:`SECTIONS` biquads from :func:`dsp.biquad.design`, the same on both
channels. The device curves are engineering approximations: no maker of
device simulators publishes its curves, so ours follow the public anchors
in ``reference/delivery-and-platforms.md`` section 7 and say so
(:attr:`Check.approximate`).

Switching never clicks: the old and the new check both run for
:data:`FADE_MS` and are crossfaded linearly (the two are the same programme,
so their sum keeps its level; a linear fade also keeps the peak ceiling
below). The new check's filters start from zero as its share starts from
zero.

Switching is about tone, not level: each check has a compensation gain,
``sqrt(E_in / E_check)``, with ``E`` K-weighted (BS.1770) energy, so the
check plays at the loudness of what goes in. It has two factors
(docs/decisions.md, "Translation checks are compensated by a width figure
and a pink-noise figure"):

- the matrix's, measured on the programme: the kernel K-weights its input
  and keeps the energies of L, R and L*R over the last
  :data:`WINDOW_CHUNKS` 100 ms chunks (3 s), from which the energy of any
  matrix's output follows exactly (mono of a wide master loses more than
  mono of a narrow one, and side only depends wholly on the programme);
- the curve's, fixed: the loudness change the curve makes on pink noise,
  20 Hz to 20 kHz, worked out from its response at :func:`prepare`. Fixed
  so that what the device does to the programme's own balance (a chorus
  carried by bass going thin on a phone) is heard, not levelled away.

The gain is known for every check at every moment, so a new check starts
at its gain; it glides (:data:`GAIN_GLIDE_MS`) as the estimate moves every
100 ms. It never exceeds :data:`MAX_GAIN_DB`, and never lets the check's
output pass :data:`CEILING_DBFS`: the output's peak is held (instant on a new
peak, releasing over :data:`PEAK_RELEASE_S`) and the gain is at most the
ceiling over it, so a sample over the ceiling cannot leave, even while the
gain glides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp import biquad, kweighting
from dsp._jit import kernel
from dsp.biquad import BELL, HIGH_PASS, LOW_PASS, LOW_SHELF
from dsp.errors import ParameterError
from dsp.fastmath import fma

SECTIONS = 4
"""Biquads per device curve, at most."""
FADE_MS = 20.0
"""Crossfade between the old check and the new one."""
GAIN_GLIDE_MS = 100.0
"""Time constant of the compensation gain's glide toward its estimate."""
MAX_GAIN_DB = 12.0
"""The compensation never raises a check more than this (side only of a near-mono master)."""
CEILING_DBFS = -1.0
"""A check's compensated output never peaks above this."""
PEAK_RELEASE_S = 3.0
"""Time constant with which the held output peak lets go."""
WINDOW_CHUNKS = 30
"""The programme's width is measured over this many 100 ms chunks (3 s, short-term)."""
GATE_LUFS = -70.0
"""Below this (BS.1770's absolute gate) the estimates hold: silence says nothing of width."""
PINK_BAND_HZ = (20.0, 20000.0)
"""The band of the pink noise a curve's loudness change is worked out for."""
DENORMAL = 1e-30

_BUTTERWORTH4_Q = (0.5411961001461969, 1.3065629648763766)
"""Q of the two sections of a 4th-order Butterworth filter."""


@dataclass(frozen=True)
class Check:
    """One translation check: a channel matrix, then a device curve.

    ``matrix`` is ``(ll, lr, rl, rr)``: left out is ``ll L + lr R``, right out
    ``rl L + rr R``. ``sections`` are ``(kind, freq_hz, gain_db, q)`` for
    :func:`dsp.biquad.design`.
    """

    name: str
    label: str
    matrix: tuple[float, float, float, float]
    sections: tuple[tuple[int, float, float, float], ...] = ()
    approximate: bool = False
    """The curve is an engineering approximation of a kind of device, not a measured one."""


_STEREO = (1.0, 0.0, 0.0, 1.0)
_MONO = (0.5, 0.5, 0.5, 0.5)  # (L+R)/2 on both sides: WaveLab's fold-down, -6 dB on the sum

CHECKS: tuple[Check, ...] = (
    Check("off", "stereo, as mastered", _STEREO),
    Check("mono", "mono fold-down (L+R)/2", _MONO),
    Check("side", "side only (L-R)/2, on both speakers", (0.5, -0.5, 0.5, -0.5)),
    Check("swap", "left and right swapped", (0.0, 1.0, 1.0, 0.0)),
    Check("phone", "phone speaker (mono, nothing under 300 Hz, presence)", _MONO, (
        (HIGH_PASS, 300.0, 0.0, _BUTTERWORTH4_Q[0]),
        (HIGH_PASS, 300.0, 0.0, _BUTTERWORTH4_Q[1]),
        (BELL, 3000.0, 5.0, 1.0),
        (LOW_PASS, 12000.0, 0.0, math.sqrt(0.5)),
    ), approximate=True),
    Check("laptop", "laptop speakers (narrow, nothing under 180 Hz)", (0.75, 0.25, 0.25, 0.75), (
        (HIGH_PASS, 180.0, 0.0, _BUTTERWORTH4_Q[0]),
        (HIGH_PASS, 180.0, 0.0, _BUTTERWORTH4_Q[1]),
        (LOW_PASS, 16000.0, 0.0, math.sqrt(0.5)),
    ), approximate=True),
    Check("earbuds", "earbuds (bass -6 dB under 100 Hz, 4 kHz peak)", _STEREO, (
        (LOW_SHELF, 100.0, -6.0, math.sqrt(0.5)),
        (BELL, 4000.0, 4.0, 1.4),
    ), approximate=True),
    Check("car", "car (cabin gain +6 dB under 80 Hz, 200-400 Hz dip)", _STEREO, (
        (LOW_SHELF, 80.0, 6.0, math.sqrt(0.5)),
        (BELL, 300.0, -3.0, 1.0),
    ), approximate=True),
)
"""Every check, in the order of their indices (``off`` first, index 0)."""

NAMES: tuple[str, ...] = tuple(check.name for check in CHECKS)
OFF = 0
COUNT = len(CHECKS)

# state layout
_RATE, _ACTIVE, _INCOMING, _FADE, _FADE_STEP, _PATH = range(6)
_GAIN_POLE, _PEAK_DECAY, _CEILING, _MAX_GAIN, _GATE = range(6, 11)
_HOP, _CHUNK_POS, _CHUNK_INDEX, _CHUNKS = range(11, 15)
_KCOEF = 15  # K-weighting: shelf b0 b1 b2 a1 a2, then high-pass
_ACC = 25  # K-weighted energies of the current chunk: L*L, R*R, L*R
_KMEM = 28  # x1 x2 y1 y2 of the shelf then the high-pass, left then right
_RING = 44  # WINDOW_CHUNKS chunks of (L*L, R*R, L*R)
_CHECKS_AT = _RING + 3 * WINDOW_CHUNKS
# per check, from _CHECKS_AT + check * CHECK_SIZE
_MATRIX = 0  # ll lr rl rr
_NSECT = 4
_CURVE_POWER = 5  # what the curve does to pink noise's K-weighted energy (a power ratio)
_TARGET = 6  # the compensation gain the check should have now
_COEF = 7  # SECTIONS x (b0 b1 b2 a1 a2)
CHECK_SIZE = _COEF + 5 * SECTIONS
_PATHS_AT = _CHECKS_AT + COUNT * CHECK_SIZE
# per path (two: the check heard, and the one fading in), from _PATHS_AT + path * PATH_SIZE
_GAIN = 0  # the glided compensation gain
_PEAK = 1  # the held peak of the check's output before compensation
_MEM = 2  # per section: x1 x2 y1 y2 left, then right
PATH_SIZE = _MEM + 8 * SECTIONS
SIZE = _PATHS_AT + 2 * PATH_SIZE


def index(name: str) -> int:
    """The index of check ``name`` (what the kernel is given), or ParameterError."""
    if name not in NAMES:
        raise ParameterError(f"translation check {name!r}: use one of {', '.join(NAMES)}")
    return NAMES.index(name)


def design(check: Check, sample_rate: float) -> np.ndarray:
    """The curve's biquads, shape (SECTIONS, 5); unused sections are identities."""
    coefs = np.zeros((SECTIONS, 5))
    coefs[:, 0] = 1.0
    for k, (kind, freq_hz, gain_db, q) in enumerate(check.sections):
        coefs[k] = biquad.design(kind, freq_hz, gain_db, q, float(sample_rate))
    return coefs


def response(name: str, freqs: np.ndarray, sample_rate: float) -> np.ndarray:
    """Complex response of check ``name``'s curve (one channel, matrix left out), shape (m,)."""
    return biquad.response(design(CHECKS[index(name)], sample_rate), freqs, sample_rate)


def curve_power(name: str, sample_rate: float) -> float:
    """What check ``name``'s curve does to the K-weighted energy of pink noise (a ratio).

    Pink noise has equal power per octave, so over a log-spaced grid of the
    band every point weighs the same.
    """
    low, high = PINK_BAND_HZ
    freqs = np.geomspace(low, min(high, 0.49 * sample_rate), 4000)
    k2 = np.abs(biquad.response(kweighting.coefficients(sample_rate), freqs, sample_rate)) ** 2
    h2 = np.abs(response(name, freqs, sample_rate)) ** 2
    return float(np.sum(k2 * h2) / np.sum(k2))


def prepare(sample_rate: float) -> np.ndarray:
    """Allocate the state for ``sample_rate``: every check designed, ``off`` heard.

    Returns
    -------
    ndarray, shape (SIZE,)
    """
    rate = kweighting.check_rate(sample_rate)
    state = np.zeros(SIZE)
    state[_RATE] = rate
    state[_FADE_STEP] = 1000.0 / (FADE_MS * rate)
    state[_GAIN_POLE] = 1.0 - math.exp(-1000.0 / (GAIN_GLIDE_MS * rate))
    state[_PEAK_DECAY] = math.exp(-1.0 / (PEAK_RELEASE_S * rate))
    state[_CEILING] = 10.0 ** (CEILING_DBFS / 20.0)
    state[_MAX_GAIN] = 10.0 ** (MAX_GAIN_DB / 20.0)
    state[_HOP] = round(rate / 10.0)
    # mean square (both channels summed) of a programme at the gate
    state[_GATE] = 10.0 ** ((GATE_LUFS + 0.691) / 10.0)
    state[_KCOEF:_KCOEF + 10] = kweighting.coefficients(rate).reshape(-1)
    for c, check in enumerate(CHECKS):
        o = _CHECKS_AT + c * CHECK_SIZE
        state[o + _MATRIX:o + _MATRIX + 4] = check.matrix
        state[o + _NSECT] = len(check.sections)
        state[o + _CURVE_POWER] = curve_power(check.name, rate)
        state[o + _COEF:o + CHECK_SIZE] = design(check, rate).reshape(-1)
    reset(state)
    return state


@kernel
def reset(state: np.ndarray) -> None:
    """Back to ``off`` with nothing measured; the designs and constants stay."""
    state[_ACTIVE] = OFF
    state[_INCOMING] = -1.0
    state[_FADE] = 0.0
    state[_PATH] = 0.0
    state[_CHUNK_POS] = 0.0
    state[_CHUNK_INDEX] = 0.0
    state[_CHUNKS] = 0.0
    state[_ACC:_ACC + 3] = 0.0
    state[_KMEM:_KMEM + 16] = 0.0
    state[_RING:_CHECKS_AT] = 0.0
    for c in range(COUNT):
        o = _CHECKS_AT + c * CHECK_SIZE
        # until the programme is measured: the curve's figure alone
        state[o + _TARGET] = min(1.0 / math.sqrt(state[o + _CURVE_POWER]), state[_MAX_GAIN])
    state[_PATHS_AT:SIZE] = 0.0


@kernel
def _df1(state, at, v, c):
    """One direct-form-I step of the biquad whose coefficients start at ``state[c]``.

    Its memories ``x1 x2 y1 y2`` are ``state[at:at + 4]``.
    """
    x1, x2, y1, y2 = state[at], state[at + 1], state[at + 2], state[at + 3]
    y = fma(-state[c + 3], y1, fma(-state[c + 4], y2,
                                   state[c] * v + state[c + 1] * x1 + state[c + 2] * x2))
    state[at], state[at + 1], state[at + 2], state[at + 3] = v, x1, y, y1
    return y


@kernel
def _estimate(state):
    """Each check's compensation gain from the last 3 s of the programme (a chunk just ended).

    With ``E_LL``, ``E_RR``, ``E_LR`` the K-weighted energies of the input,
    a matrix ``(a, b, c, d)`` puts out ``(a² + c²) E_LL + (b² + d²) E_RR +
    2 (ab + cd) E_LR``; the curve multiplies that by its pink-noise figure.
    """
    chunks = min(int(state[_CHUNKS]), WINDOW_CHUNKS)
    ll = 0.0
    rr = 0.0
    lr = 0.0
    for k in range(chunks):
        ll += state[_RING + 3 * k]
        rr += state[_RING + 3 * k + 1]
        lr += state[_RING + 3 * k + 2]
    heard = ll + rr
    if not heard > state[_GATE] * chunks * state[_HOP]:
        return  # silence, or too little to tell: keep the last estimates
    for c in range(COUNT):
        o = _CHECKS_AT + c * CHECK_SIZE
        a, b = state[o + _MATRIX], state[o + _MATRIX + 1]
        cc, d = state[o + _MATRIX + 2], state[o + _MATRIX + 3]
        out = ((a * a + cc * cc) * ll + (b * b + d * d) * rr + 2.0 * (a * b + cc * d) * lr)
        out *= state[o + _CURVE_POWER]
        gain = state[_MAX_GAIN]
        if out * gain * gain > heard:
            gain = math.sqrt(heard / out)
        state[o + _TARGET] = gain


@kernel
def _measure(state, left, right):
    """K-weight one input frame and add it to the current chunk; close chunks as they fill."""
    kc = _KCOEF
    kl = _df1(state, _KMEM + 4, _df1(state, _KMEM, left, kc), kc + 5)
    kr = _df1(state, _KMEM + 12, _df1(state, _KMEM + 8, right, kc), kc + 5)
    state[_ACC] += kl * kl
    state[_ACC + 1] += kr * kr
    state[_ACC + 2] += kl * kr
    pos = state[_CHUNK_POS] + 1.0
    if pos >= state[_HOP]:
        k = int(state[_CHUNK_INDEX])
        for j in range(3):
            state[_RING + 3 * k + j] = state[_ACC + j]
            state[_ACC + j] = 0.0
        state[_CHUNK_INDEX] = (k + 1) % WINDOW_CHUNKS
        state[_CHUNKS] = state[_CHUNKS] + 1.0
        for j in range(16):  # a chunk boundary is a fixed place: snap the filters here
            if abs(state[_KMEM + j]) < DENORMAL:
                state[_KMEM + j] = 0.0
        _estimate(state)
        pos = 0.0
    state[_CHUNK_POS] = pos


@kernel
def _run_check(state, check, path, left, right):
    """One frame through ``check`` on the memories of ``path``: matrix, curve, gain."""
    if check == OFF:
        return left, right
    o = _CHECKS_AT + check * CHECK_SIZE
    p = _PATHS_AT + path * PATH_SIZE
    wl = state[o + _MATRIX] * left + state[o + _MATRIX + 1] * right
    wr = state[o + _MATRIX + 2] * left + state[o + _MATRIX + 3] * right
    for s in range(int(state[o + _NSECT])):
        c = o + _COEF + 5 * s
        wl = _df1(state, p + _MEM + 8 * s, wl, c)
        wr = _df1(state, p + _MEM + 8 * s + 4, wr, c)
    gain = state[p + _GAIN]
    target = state[o + _TARGET]
    if gain != target:
        gain += (target - gain) * state[_GAIN_POLE]
        if abs(gain - target) <= 1e-9 * target:
            gain = target
        state[p + _GAIN] = gain
    peak = max(abs(wl), abs(wr), state[p + _PEAK] * state[_PEAK_DECAY])
    state[p + _PEAK] = peak
    if gain * peak > state[_CEILING]:
        gain = state[_CEILING] / peak
    return wl * gain, wr * gain


@kernel
def _start(state, check, path):
    """Make ``path`` ready to fade ``check`` in: cold filters, the check's gain, no peak."""
    p = _PATHS_AT + path * PATH_SIZE
    state[p:p + PATH_SIZE] = 0.0
    state[p + _GAIN] = state[_CHECKS_AT + check * CHECK_SIZE + _TARGET]


@kernel
def process(x: np.ndarray, n: int, state: np.ndarray, selected: int) -> None:
    """Play ``x[:n]`` (float64, shape (>= n, 2)) through check ``selected``, in place.

    Parameters
    ----------
    x : ndarray, shape (m, 2), m >= n
        The monitor signal.
    n : int
        Frames to process.
    state : ndarray, shape (SIZE,)
        From :func:`prepare`.
    selected : int
        Index into :data:`CHECKS` (an unknown index is ``off``). A change
        crossfades over :data:`FADE_MS`; one asked for during a fade starts
        when that fade ends.
    """
    if selected < 0 or selected >= COUNT:
        selected = OFF
    active = int(state[_ACTIVE])
    incoming = int(state[_INCOMING])
    fade = state[_FADE]
    path = int(state[_PATH])
    step = state[_FADE_STEP]
    for i in range(n):
        left, right = x[i, 0], x[i, 1]
        _measure(state, left, right)
        if incoming < 0 and selected != active:
            incoming = selected
            fade = 0.0
            _start(state, incoming, 1 - path)
        if incoming < 0:
            if active != OFF:
                x[i, 0], x[i, 1] = _run_check(state, active, path, left, right)
            continue
        old_l, old_r = _run_check(state, active, path, left, right)
        new_l, new_r = _run_check(state, incoming, 1 - path, left, right)
        fade = min(fade + step, 1.0)
        x[i, 0] = old_l + fade * (new_l - old_l)
        x[i, 1] = old_r + fade * (new_r - old_r)
        if fade >= 1.0:
            active = incoming
            incoming = -1
            path = 1 - path
    state[_ACTIVE] = active
    state[_INCOMING] = incoming
    state[_FADE] = fade
    state[_PATH] = path
    for j in range(_ACC, _CHECKS_AT):  # a non-finite input: measure afresh
        if not math.isfinite(state[j]):
            state[_ACC:_CHECKS_AT] = 0.0
            state[_CHUNKS] = 0.0
            break
    for j in range(_PATHS_AT, SIZE):  # snap recursive state; a broken one starts again
        v = state[j]
        if not math.isfinite(v):
            _start(state, active, path)
            _start(state, active, 1 - path)
            break
        if abs(v) < DENORMAL:
            state[j] = 0.0


def heard(state: np.ndarray) -> str:
    """The name of the check heard now (the one fading in, during a fade)."""
    incoming = int(state[_INCOMING])
    return NAMES[incoming if incoming >= 0 else int(state[_ACTIVE])]


def compensation_db(state: np.ndarray, name: str) -> float:
    """The compensation gain check ``name`` would be played at now, in dB."""
    return 20.0 * math.log10(state[_CHECKS_AT + index(name) * CHECK_SIZE + _TARGET])
