"""Clipper: an oversampled soft clip whose correction is band-limited, for before the limiter.

Loud modern masters are often part clipped, part limited: a clipper shaves
the shortest peaks (a few samples, where a limiter's gain envelope would
pump), and the limiter does the rest. Clipping at the base rate folds every
harmonic above Nyquist back into the audio (a hard clip of a -1 dBFS 9 kHz
sine: -30 dB re the fundamental, at 17.1 kHz), so this one works like the
exciter, on a residual::

    x ─┬─ up 16x ─ e = clip(u) - u ─ down 16x ─┐
       └─ delay(LATENCY) ───────────────────── + ─ (bypass crossfade) ─ out

- ``clip`` is the identity up to the knee and then bends smoothly
  (``k + (c - k) tanh((|u| - k) / (c - k))``: slope 1 and no curvature at
  the knee ``k``) towards the clip level ``c``, never past it. Below the
  knee ``e`` is exactly 0, so a programme that never reaches it comes out as
  the input, delayed, bit for bit; the stage costs nothing audible until used.
- Only the correction ``e`` is filtered, so the programme itself keeps its
  whole band: a clipper that ran the signal through the anti-alias filter
  would low-pass the master at 0.40 fs.
- The oversampling is a cascade (:mod:`dsp.clipper_cascade`): a sharp
  low-pass between 1x and 2x (pass 0.40 fs, stop from 0.5 fs: no image of
  anything below Nyquist reaches the clip, and nothing above it folds
  back), short half-bands from 2x to 16x. 286 tap pairs (a multiply each)
  per frame and channel, up and down, against 2050 multiply-adds for the
  single 1025-tap low-pass at 16x it replaced, at the same alias figures.
- What is left is the curve's own harmonics above 15.5 fs, which fold at
  the 16x rate. The sharper the bend, the slower they decay: on 9-20 kHz
  tones 6 dB over the clip level, aliases measure -94 dB re the fundamental
  with the knee 6 dB under it (-100 dB 3 dB over, but -70 dB 12 dB over),
  and -81 dB with the knee 3 dB under it. A smoother joint (``t / (1 +
  t^8)^(1/8)``: 8 derivatives continuous) measured worse, since its bend is
  sharper. So the knee sits at least 6 dB under the clip level
  (``clipper.knee_db``), for the -90 dB bound.
- The correction is band-limited, so the output can pass the clip level a
  little (the correction's content above 0.40 fs is missing; the limiter
  after the clipper catches it, which is where the chain puts it).
- The latency is constant: :data:`LATENCY` samples at every rate and
  setting, on or off, so switching never shifts the audio.

The clip level follows the limiter: it is ``clipper.level_db`` over the
limiter's ceiling, seen through the limiter's drive (``ceiling - drive +
level``, at the clipper's input). So the limiter takes at most about that
much off a peak the clipper caught, and the clipper the rest, however hard
the limiter is driven. The stage glides that sum itself (the limiter glides
its own parameters, after this stage).

Processing runs in chunks of :data:`CHUNK` frames counted from the reset.
Each output sample is the same expression wherever a block starts, so the
output does not depend on block size. Two tests skip work exactly: a chunk
whose input (with the history the interpolator reads) stays under ``knee /
GAIN`` (``GAIN``, 2.21: the interpolator's largest gain to any oversampled
sample, the sum of ``|h|`` of its worst phase) cannot reach the knee, and
neither can one whose oversampled peak stays under it. Either way the
residual is exactly zero, so only the delay and the decimator's decay run,
and once the decimator holds only zeros, only the delay. Stereo, on this
loaded 2-core VM (best of 7, block 256): 183 ns a frame clipping hard
(1220 ns with the single filter, the same run), 59 ns under the knee (the
interpolator and the peak test run), 4 ns under the bound or off.
"""

from __future__ import annotations

import math

import numpy as np

from dsp import clipper_cascade as C
from dsp._jit import kernel
from dsp.fastmath import fast_exp2
from dsp.params import (
    CLIPPER_BYPASS,
    CLIPPER_KNEE,
    CLIPPER_LEVEL,
    LIMITER_CEILING,
    LIMITER_DRIVE,
)
from dsp.smoothing import HEADER, POLE, glide, write_header

FACTOR = C.FACTOR
"""Oversampling factor."""
LATENCY = C.LATENCY
"""Delay of the stage in base-rate samples, at every rate and setting."""
CHUNK = C.CHUNK
"""Internal processing length in frames."""
MARGIN = 1.0 + 1e-9
"""Headroom on the skip test's bound, far over the rounding of the FIR sums."""
_TWO_LOG2E = 2.0 / math.log(2.0)

# ---- state layout: the header, then ours, then the cascade's -----------------------
_GAIN = HEADER  # the interpolator's worst-case gain (config)
_OFF_DB = HEADER + 1  # limiter ceiling - drive, glided (NaN: take the target)
_C_LEVEL_DB, _C_KNEE_DB = HEADER + 2, HEADER + 3  # what the cached gains are for
_C_LEVEL, _C_KNEE = HEADER + 4, HEADER + 5  # clip level and knee, linear
_AT = HEADER + 6  # frames since the last multiple of CHUNK (see process)
_BYPV = HEADER + 7  # per-frame bypass, knee (inf where bypassed), span, rate (see _bend)
_KNEEV = _BYPV + CHUNK
_SPANV = _KNEEV + CHUNK
_RATEV = _SPANV + CHUNK
_CASCADE = _RATEV + CHUNK
SIZE = _CASCADE + C.SIZE


def prepare(sample_rate: float) -> np.ndarray:
    """Allocate the clipper state (off the audio thread); the cascade is the same at every rate.

    Parameters
    ----------
    sample_rate : float
        Sample rate in Hz (for the parameter glides only).

    Returns
    -------
    ndarray, shape (SIZE,)
        Header, the filters' gains, cleared histories.
    """
    state = np.zeros(SIZE, dtype=np.float64)
    write_header(state, sample_rate)
    state[_GAIN] = C.interpolation_gain()
    state[[_OFF_DB, _C_LEVEL_DB, _C_KNEE_DB]] = math.nan  # as reset leaves them (no kernel
    C.prepare(state[_CASCADE:])  # runs here: render builds a chain without numba)
    return state


@kernel
def reset(state: np.ndarray) -> None:
    """Clear the histories and the glides' memory; keep the filters."""
    state[_OFF_DB] = math.nan
    state[_C_LEVEL_DB] = math.nan
    state[_C_KNEE_DB] = math.nan
    state[_AT] = 0.0
    C.reset(state[_CASCADE:])


def latency_samples(state: np.ndarray) -> int:
    """Delay of the stage in samples (the same at every rate and setting)."""
    return LATENCY


def clip_level_db(values: np.ndarray) -> float:
    """Where parameter values ``values`` put the clip level, in dBFS at the clipper's input."""
    return float(values[LIMITER_CEILING] - values[LIMITER_DRIVE] + values[CLIPPER_LEVEL])


@kernel
def _gain(db):
    """A level in dB as a gain: the one formula both parameter paths use (same bits)."""
    return 10.0 ** (db * 0.05)


@kernel
def _bend(u, knee, span, rate):
    """``clip(u) - u``: exactly +0.0 up to ``knee``, a tanh bend over ``span`` above.

    ``tanh(t) = (1 - e) / (1 + e)`` with ``t = (|u| - knee) / span`` and
    ``e = exp(-2t) = 2^(rate (|u| - knee))`` (``rate = -2 log2(e) / span``),
    from :func:`dsp.fastmath.fast_exp2`: branch-free, so a phase of it vectorises.
    """
    d = max(abs(u) - knee, 0.0)
    e = fast_exp2(rate * d)
    r = span * ((1.0 - e) / (1.0 + e)) - d
    return (r if u >= 0.0 else -r) + 0.0  # + 0.0: a zero is +0.0 whatever the sign of u


@kernel
def _rate(span):
    """The exponent's factor for a bend over ``span`` (see :func:`_bend`)."""
    return -_TWO_LOG2E / span


@kernel
def _clip_settled(st, n, knee, span, rate):
    """The residual of every oversampled sample of the chunk, in place, at steady settings."""
    for q in range(FACTOR):
        e = st[C.E4 + q * C.S4 : C.E4 + q * C.S4 + 2 * n]
        for k in range(2 * n):
            e[k] = _bend(e[k], knee, span, rate)


@kernel
def _clip_gliding(st, n, kneev, spanv, ratev):
    """:func:`_clip_settled` with each frame's own knee and span (a setting glides)."""
    for q in range(FACTOR):
        e = st[C.E4 + q * C.S4 : C.E4 + q * C.S4 + 2 * n]
        for k in range(n):
            e[2 * k] = _bend(e[2 * k], kneev[k], spanv[k], ratev[k])
            e[2 * k + 1] = _bend(e[2 * k + 1], kneev[k], spanv[k], ratev[k])


@kernel
def _settled(target, current, state):
    """True when no clipper setting glides (the limiter's ceiling and drive included)."""
    return (current[CLIPPER_BYPASS] == target[CLIPPER_BYPASS]
            and current[CLIPPER_KNEE] == target[CLIPPER_KNEE]
            and current[CLIPPER_LEVEL] == target[CLIPPER_LEVEL]
            and state[_OFF_DB] == target[LIMITER_CEILING] - target[LIMITER_DRIVE])


@kernel
def _levels(state, level_db, knee_db):
    """Clip level and knee as gains, cached: recomputed only when a setting changed."""
    if level_db != state[_C_LEVEL_DB] or knee_db != state[_C_KNEE_DB]:
        level = _gain(level_db)
        state[_C_LEVEL] = level
        state[_C_KNEE] = level * _gain(-knee_db)
        state[_C_LEVEL_DB] = level_db
        state[_C_KNEE_DB] = knee_db
    return state[_C_LEVEL], state[_C_KNEE]


@kernel
def _glide_frames(target, current, state, n):
    """Glide every setting frame by frame into the per-frame arrays; return the lowest knee."""
    goal = target[LIMITER_CEILING] - target[LIMITER_DRIVE]
    pole = state[POLE]
    lowest = math.inf
    for k in range(n):
        byp = current[CLIPPER_BYPASS]
        if byp != target[CLIPPER_BYPASS]:
            byp = glide(target, current, CLIPPER_BYPASS, state)
        knee_db = current[CLIPPER_KNEE]
        if knee_db != target[CLIPPER_KNEE]:
            knee_db = glide(target, current, CLIPPER_KNEE, state)
        level_db = current[CLIPPER_LEVEL]
        if level_db != target[CLIPPER_LEVEL]:
            level_db = glide(target, current, CLIPPER_LEVEL, state)
        off = state[_OFF_DB]
        if off != goal:  # as dsp.smoothing glides a linear parameter
            off += (goal - off) * pole
            if abs(off - goal) <= 1e-9 * (1.0 + abs(goal)):
                off = goal
            state[_OFF_DB] = off
        level, knee = _levels(state, off + level_db, knee_db)
        state[_BYPV + k] = byp
        state[_SPANV + k] = level - knee
        state[_RATEV + k] = _rate(level - knee)
        knee = math.inf if byp == 1.0 else knee  # fully bypassed: no residual
        state[_KNEEV + k] = knee
        lowest = min(lowest, knee)
    return lowest


@kernel
def _mix(x, start, n, state, byp):
    """Write ``delayed input + correction``, crossfaded to the delayed input by the bypass.

    ``byp`` is the steady bypass, or -1 to read each frame's from the state.
    """
    xs = x[start : start + n].reshape(2 * n)
    st = state[_CASCADE:]
    d = st[C.DRY : C.DRY + 2 * n]
    e = st[C.OUT : C.OUT + 2 * n]
    if byp == 1.0:
        for k in range(2 * n):
            xs[k] = d[k]
    elif byp >= 0.0:
        for k in range(2 * n):
            w = d[k] + e[k]
            xs[k] = w + byp * (d[k] - w)
    else:
        bv = state[_BYPV : _BYPV + n]
        for k in range(n):
            b = bv[k]
            for c in range(2):
                w = d[2 * k + c] + e[2 * k + c]
                xs[2 * k + c] = d[2 * k + c] if b == 1.0 else w + b * (d[2 * k + c] - w)


@kernel
def _chunk(x, start, n, target, current, state):
    """Clip ``n`` frames of ``x`` from ``start`` in place (one piece of a chunk)."""
    st = state[_CASCADE:]
    C.take_input(st, x, start, n)
    if _settled(target, current, state):
        byp = current[CLIPPER_BYPASS]
        level, knee = _levels(state, state[_OFF_DB] + current[CLIPPER_LEVEL],
                              current[CLIPPER_KNEE])
        lowest = math.inf if byp == 1.0 else knee
    else:
        byp = -1.0
        lowest = _glide_frames(target, current, state, n)
        level = knee = 0.0
    reached = False  # whether any oversampled sample passes the knee
    if state[_GAIN] * C.input_peak(st, n) * MARGIN > lowest:  # the bound says it may
        C.interpolate(st, n)
        reached = C.oversampled_peak(st, n) > lowest
    if not reached:  # the residual is exactly 0: only the decimator's decay runs, if that
        C.decimate_silence(st, n)
    elif byp >= 0.0:
        _clip_settled(st, n, knee, level - knee, _rate(level - knee))
        C.decimate(st, n)
    else:
        _clip_gliding(st, n, state[_KNEEV : _KNEEV + n], state[_SPANV : _SPANV + n],
                      state[_RATEV : _RATEV + n])
        C.decimate(st, n)
    _mix(x, start, n, state, byp)
    C.keep_input(st, n)


@kernel
def process(x, target, current, state, taps) -> None:
    """Clip ``x`` (n, 2) in place; the output is delayed by :data:`LATENCY` samples.

    Parameters
    ----------
    x : ndarray, shape (n, 2), float64, C-contiguous
        The block, replaced by the output.
    target, current : ndarray, shape (params.COUNT,)
        Parameter arrays (``clipper.*``; the limiter's ceiling and drive are read).
    state : ndarray, shape (SIZE,)
        From :func:`prepare`.
    taps : ndarray
        Meter taps (this stage writes none).
    """
    if state[_OFF_DB] != state[_OFF_DB]:  # after a reset: the limiter's settings as they are
        state[_OFF_DB] = target[LIMITER_CEILING] - target[LIMITER_DRIVE]
    total = x.shape[0]
    at = int(state[_AT])
    start = 0
    while start < total:
        n = min(CHUNK - at, total - start)  # chunks end on multiples of CHUNK from the reset
        _chunk(x, start, n, target, current, state)
        start += n
        at = (at + n) % CHUNK
    state[_AT] = at
