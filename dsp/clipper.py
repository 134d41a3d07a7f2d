"""Clipper: an oversampled soft clip whose correction is band-limited, for before the limiter.

Loud modern masters are often part clipped, part limited: a clipper shaves
the shortest peaks (a few samples, where a limiter's gain envelope would
pump), and the limiter does the rest. Clipping at the base rate folds every
harmonic above Nyquist back into the audio (a hard clip of a -1 dBFS 9 kHz
sine: -30 dB re the fundamental, at 17.1 kHz), so this one works like the
exciter, on a residual::

    x ─┬─ up 16x ─ e = clip(u) - u ─ down 16x ─┐
       └─ delay(LATENCY) ───────────────────── + ─ out

- ``clip`` is the identity up to the knee ``k = knee · ceiling`` and then
  bends smoothly (``k + (c - k) tanh((|u| - k) / (c - k))``: slope 1 and no
  curvature at the knee) towards ``ceiling``, never past it. Below the knee
  ``e`` is exactly 0, so a programme that never reaches it comes out as the
  input, delayed, bit for bit; the stage costs nothing audible until used.
- Only the correction ``e`` is filtered, so the programme itself keeps its
  whole band: a clipper that ran the signal through the anti-alias filter
  would low-pass the master at 0.40 fs.
- One linear-phase low-pass at 16 fs (:data:`TAPS` taps: pass 0.40 fs, stop
  from 0.5 fs by >= 98 dB) is both the interpolator (no image of anything
  below Nyquist reaches the clip) and the decimator (nothing above Nyquist
  folds back). The half-band trick would not do: its transition band
  straddles Nyquist (see :mod:`dsp.exciter`).
- What is left is the curve's own harmonics above 15.5 fs, which fold at
  the 16x rate. The sharper the bend, the slower they decay: on 9-20 kHz
  tones 6 dB over the ceiling, aliases measure -94 dB re the fundamental
  with the knee at 0.5 (-100 dB 3 dB over), but -82 dB with the knee at
  0.7 (-62 dB at 8x). A smoother joint (``t /
  (1 + t^8)^(1/8)``: 8 derivatives continuous) measured worse, since its
  bend is sharper. So keep ``knee <= 0.5`` for the -90 dB bound.
- The correction is band-limited, so the output can pass the ceiling a
  little (the correction's content above 0.40 fs is missing; a limiter after
  the clipper catches it, which is where the chain puts it).
- The latency is constant: :data:`LATENCY` samples at every rate.

Processing runs in chunks of :data:`CHUNK` frames; each output sample is the
same expression wherever a block starts, so the output does not depend on
block size. The filters are single-stage polyphase sums (65 taps per
oversampled sample), simple rather than fast: about 2000 multiply-adds per
frame and channel, 2.4-3.3 us a frame (stereo, on this loaded 2-core VM),
against 13 ns with ``on`` false (only the delay line runs). The stage is
meant to be off by default; before it runs live, a cascade (the sharp
filter at 2x, short half-bands from 2x to 16x) should cut that ~5x.
"""

from __future__ import annotations

import math

import numpy as np

from dsp._jit import kernel

FACTOR = 16
"""Oversampling factor."""
TAPS = 64 * FACTOR + 1
"""Length of the low-pass at ``FACTOR`` times the rate (1025: 64 per phase, 65 for phase 0)."""
PER_PHASE = (TAPS - 1) // FACTOR  # 64: taps of phases 1..15; phase 0 has one more
LATENCY = (TAPS - 1) // FACTOR
"""Delay of the stage in base-rate samples: half the filter, twice (interpolator, decimator)."""
CHUNK = 256
"""Internal processing length in frames."""
PASS_EDGE, STOP_EDGE, ATTEN_DB = 0.40, 0.50, 100.0
"""The low-pass's edges (fractions of the base rate) and stopband attenuation."""


def design_lowpass() -> np.ndarray:
    """The oversampling low-pass at ``FACTOR`` times the rate, unity gain at DC.

    Returns
    -------
    ndarray, shape (TAPS,)
        Kaiser-windowed sinc taps, symmetric, summing to 1.
    """
    edge_p = PASS_EDGE / FACTOR
    edge_s = STOP_EDGE / FACTOR
    cutoff = 0.5 * (edge_p + edge_s)
    j = np.arange(TAPS) - (TAPS - 1) // 2
    beta = 0.1102 * (ATTEN_DB - 8.7)
    taps = 2.0 * cutoff * np.sinc(2.0 * cutoff * j) * np.kaiser(TAPS, beta)
    return taps / taps.sum()


# ---- state layout ---------------------------------------------------------------
# [polyphase taps: FACTOR rows of PER_PHASE + 1, time-reversed, row p = h[16 j + p]]
# [per channel: input with LATENCY frames of history | residual phases, each with
#  PER_PHASE + 1 frames of history]
_ROW = PER_PHASE + 1
_G = 0
_X_HIST = LATENCY  # the interpolator reads 64 frames back; so does the dry path
_V_HIST = PER_PHASE + 1  # the decimator reads 65 frames back (phases 1..15 one more)
_X_LEN = _X_HIST + CHUNK
_V_LEN = _V_HIST + CHUNK
_X = (_G + FACTOR * _ROW, _G + FACTOR * _ROW + _X_LEN)
_V = tuple(_X[1] + _X_LEN + c * FACTOR * _V_LEN for c in range(2))
_ACC = _V[1] + FACTOR * _V_LEN  # FIR accumulator scratch
SIZE = _ACC + CHUNK


def prepare() -> np.ndarray:
    """Allocate the clipper state (off the audio thread); it is the same at every rate.

    Returns
    -------
    ndarray, shape (SIZE,)
        The polyphase taps, then cleared histories.
    """
    state = np.zeros(SIZE, dtype=np.float64)
    h = design_lowpass()
    for p in range(FACTOR):
        row = h[p::FACTOR]  # h[16 j + p], j = 0 .. 64 (phase 0) or 63
        # time-reversed, so each sum reads its input forwards: row[0] meets the oldest
        state[_G + p * _ROW + _ROW - len(row) : _G + (p + 1) * _ROW] = row[::-1]
    return state


@kernel
def reset(state: np.ndarray) -> None:
    """Clear the histories; keep the taps."""
    state[_X[0] :] = 0.0


def latency_samples(state: np.ndarray) -> int:
    """Delay of the stage in samples (the same at every rate and setting)."""
    return LATENCY


@kernel
def _clip_residual(u, knee, ceiling):
    """``clip(u) - u``: exactly 0 up to ``knee``, a tanh bend towards ``ceiling`` above."""
    a = abs(u)
    if a <= knee:
        return 0.0
    span = ceiling - knee
    bent = knee + span * math.tanh((a - knee) / span)
    return math.copysign(bent, u) - u


@kernel
def _chunk(x, start, n, state, c, knee, ceiling):
    """Clip channel ``c`` of ``n`` frames of ``x`` from ``start``, in place.

    Each FIR runs tap by tap over the whole chunk (``acc[k] += g_j x[k + j]``):
    a loop over frames vectorises without reordering any sum, and every
    output adds its taps in the same order wherever the chunk starts.
    """
    xs = state[_X[c] : _X[c] + _X_LEN]
    for k in range(n):
        xs[_X_HIST + k] = x[start + k, c]
    g = state[_G : _G + FACTOR * _ROW]
    acc = state[_ACC : _ACC + n]
    v0 = _V[c]
    for p in range(FACTOR):  # oversampled samples 16 k + p of u, then their residuals
        row = g[p * _ROW : (p + 1) * _ROW]
        for k in range(n):
            acc[k] = 0.0
        for j in range(_ROW):  # tap j meets x[k - 64 + j]
            gj = row[j]
            win = xs[_X_HIST - PER_PHASE + j : _X_HIST - PER_PHASE + j + n]
            for k in range(n):
                acc[k] += gj * win[k]
        vp = state[v0 + p * _V_LEN + _V_HIST : v0 + p * _V_LEN + _V_HIST + n]
        for k in range(n):
            vp[k] = _clip_residual(FACTOR * acc[k], knee, ceiling)
    for k in range(n):
        acc[k] = 0.0
    for p in range(FACTOR):
        # tap 16 j + p meets v[16 (k - j) - p]: phase 0 at k - j, phase 16 - p at k - j - 1
        row = g[p * _ROW : (p + 1) * _ROW]
        q = 0 if p == 0 else FACTOR - p
        back = 0 if p == 0 else 1
        first = v0 + q * _V_LEN + _V_HIST - back - PER_PHASE
        for j in range(_ROW):
            gj = row[j]
            win = state[first + j : first + j + n]
            for k in range(n):
                acc[k] += gj * win[k]
    for k in range(n):
        x[start + k, c] = xs[_X_HIST + k - LATENCY] + acc[k]
    for j in range(_X_HIST):  # histories move up (forward copies: safe when n < history)
        xs[j] = xs[n + j]
    for p in range(FACTOR):
        vp = state[v0 + p * _V_LEN : v0 + (p + 1) * _V_LEN]
        for j in range(_V_HIST):
            vp[j] = vp[n + j]


@kernel
def _delay_only(x, start, n, state, c):
    """The bypassed stage: channel ``c`` delayed by LATENCY; the residual history cleared."""
    xs = state[_X[c] : _X[c] + _X_LEN]
    for k in range(n):
        xs[_X_HIST + k] = x[start + k, c]
    for k in range(n):
        x[start + k, c] = xs[_X_HIST + k - LATENCY]
    for j in range(_X_HIST):
        xs[j] = xs[n + j]
    state[_V[c] : _V[c] + FACTOR * _V_LEN] = 0.0


@kernel
def process(x, state, ceiling, knee, on) -> None:
    """Clip ``x`` (n, 2) in place at ``ceiling`` (linear, > 0), bending from ``knee`` (0..1).

    The output is delayed by :data:`LATENCY` samples whether ``on`` or not,
    so switching never shifts the audio. Switching on starts from a cleared
    residual history (the chain should crossfade, as it does for every stage).
    """
    k = knee * ceiling
    total = x.shape[0]
    for start in range(0, total, CHUNK):
        n = min(CHUNK, total - start)
        for c in range(2):
            if on:
                _chunk(x, start, n, state, c, k, ceiling)
            else:
                _delay_only(x, start, n, state, c)
