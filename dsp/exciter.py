"""Harmonic exciter: oversampled, band-limited saturation of the top end.

Signal flow per channel::

    x ─┬─ HPF2(freq) ─ LP ─ up 2^S ─ NL(drive) ─ down 2^S ─ HPF4(freq) ─ × mix ─┐
       └─ delay(latency) ──────────────────────────────────────────────────── + ─┴─ ...

    (... ─ bypass ─ out)

- Only content above ``freq_hz`` (2nd-order Butterworth high-pass) drives the
  nonlinearity, so bass and mids never generate harmonics.
- The nonlinearity is the *residual* of an asymmetric saturator,
  ``e = f(d·u)/d - u`` with ``f(v) = v / sqrt(1 + KAPPA·v + v²)`` (unit slope at
  0, smooth, bounded). Its asymmetry gives even harmonics, its saturation odd
  ones; ``e`` is computed in a cancellation-free form, so ``d = 0`` (amount 0)
  gives exactly nothing. At high drive the residual also holds the saturator's
  own compression of the top end, so at 100 % mix the band above ``freq_hz``
  is, roughly, replaced by its saturated version.
- The nonlinearity runs at 2^S times the sample rate, 705.6 or 768 kHz at
  every rate (16x at 44.1/48 kHz, 8x at 88.2/96, 4x at 176.4/192), between
  linear-phase FIR cascades (Kaiser-windowed, ~100 dB stopbands):
  half-bands (polyphase: half the taps are zero and the rest symmetric)
  everywhere but stage 0 on the way down. A half-band's transition band
  straddles its output's Nyquist frequency, so that last decimator is a
  full low-pass at 2x (pass 0.34 fs, stop from 0.5 fs): nothing above
  Nyquist folds back. And a base-rate low-pass on the saturator's input
  (pass 0.30 fs, stop from 0.41 fs, 60 dB) keeps input near Nyquist from
  imaging into stage 0's passband. Harmonics above 0.34 fs (15.0 kHz at
  44.1 kHz, 16.3 kHz at 48) are attenuated, none above 0.5 fs is added.
- What no filter after the saturator can remove is its own harmonics that
  lie near a multiple of the rate it runs at: they fold onto the audio band
  as they are made. At full amount they fall only about 2 dB an order for
  a full-scale tone, so the rate sets the bound: on 5-20 kHz tones at 50
  and 100 % amount, -6 to 0 dBFS, the worst alias re the fundamental
  measured (44.1 / 48 kHz) -44.0 / -43.9 dB at 4x, -73.7 / -73.0 at 8x and
  -118.7 / -118.2 at 16x; (88.2 / 96 kHz) -34.5 / -36.4 at 2x, -56.7 /
  -60.5 at 4x, -94.7 / -104.7 at 8x; (176.4 / 192 kHz) -54.0 / -57.4 at
  2x, -91.1 / -100.4 at 4x. At 88.2/96 kHz a full-scale ultrasonic tone
  (20-30 kHz) at full amount still measures -70.3 / -73.7 dB (16x there:
  -116.4 / -119.9, at 1.7x the cost).
- The generated signal is high-passed at ``freq_hz`` again (4th order, two
  Butterworth sections), to remove the DC of the asymmetric curve and the
  difference tones (intermodulation) that would otherwise muddy the mids.
- The dry path is delayed by exactly the latency of the linear-phase harmonic
  path, so both stay phase-aligned; :func:`latency_samples` reports it (74
  samples at 44.1/48 kHz, 73 at 88.2/96, 70 at 176.4/192).

Processing runs in internal chunks of :data:`CHUNK` frames, in passes that
vectorise: parameters, input high-pass and dry delay (base rate); the FIRs,
four or five tap pairs per pass (:mod:`dsp.firpass`) with fused
multiply-adds; the saturator over whole phases; the output high-pass (its
two sections as one pair of recursions, :mod:`dsp.lanes`); the mix, over a
flat view of the frames. The oversampled signals are never
interleaved: each is kept as phases of base-rate length, and each FIR runs
once per output phase (see :func:`_harmonics`). Every output sample is
computed by the same expression wherever the chunk (or the caller's block)
starts, and chunks end on multiples of :data:`CHUNK` frames from the reset
(where the denormal guard runs), so the output does not depend on block size. The recursive filters
are direct form I with the recursion as two fused multiply-adds (``fma``:
one rounding, the same bits in scalar and vector code), which shortens their
dependency chain to one instruction.
"""

from __future__ import annotations

import math

import numpy as np

from dsp import firpass, lanes
from dsp._jit import kernel
from dsp.fastmath import fma
from dsp.params import EXCITER_AMOUNT, EXCITER_BYPASS, EXCITER_FREQ, EXCITER_MIX
from dsp.smoothing import HEADER, SR, glide, write_header
from dsp.taps import EXCITER_ADDED_DB

KAPPA = 0.5
"""Asymmetry of the saturator (|KAPPA| < 2 keeps it smooth); 0.5 balances 2nd and 3rd."""
DRIVE_MAX = 4.0
"""Drive into the saturator at 100 % amount (+12 dB)."""
CHUNK = 256
"""Internal processing length in frames (keeps every buffer in the L1/L2 cache)."""
ADDED_FLOOR_DB = -120.0
"""Value of the EXCITER_ADDED_DB tap when nothing is added."""


def _kaiser_halfband(n_taps: int, atten_db: float) -> np.ndarray:
    """Design a half-band low-pass and return its non-zero even-phase taps, summing to 1.

    A Kaiser-windowed sinc cut at a quarter of the (high) sample rate is a
    half-band filter: the centre tap is 1/2 and every other tap is zero. Only
    the other phase needs storing; ``n_taps`` must be ``4k + 3`` so its outer
    taps are non-zero. Scaling the phase to sum exactly 1 keeps DC exact.
    """
    if n_taps % 4 != 3:
        raise ValueError("half-band length must be 4k + 3")
    centre = (n_taps - 1) // 2
    j = np.arange(0, n_taps, 2)  # the phase without the centre (centre is odd)
    beta = 0.1102 * (atten_db - 8.7)
    taps = np.sinc((j - centre) / 2.0) * np.kaiser(n_taps, beta)[j]
    return taps / taps.sum()



def _kaiser_lowpass(n_taps: int, pass_edge: float, stop_edge: float, atten_db: float
                    ) -> np.ndarray:
    """Design a linear-phase low-pass; return its tap pairs' gains as :func:`_fir_pairs` reads them.

    Edges are fractions of the sample rate. The filter has ``n_taps = 2h + 1``
    taps, symmetric about tap ``h``; the result holds taps ``0 .. h``, the
    centre halved (the FIR adds it as a pair of the same sample with itself:
    ``(c/2)(x + x)`` is ``c x`` exactly). Scaled to sum exactly 1 (DC exact).
    """
    if n_taps % 2 != 1:
        raise ValueError("band-limit length must be odd")
    h = (n_taps - 1) // 2
    cutoff = 0.5 * (pass_edge + stop_edge)
    j = np.arange(n_taps) - h
    beta = 0.1102 * (atten_db - 8.7)
    taps = 2.0 * cutoff * np.sinc(2.0 * cutoff * j) * np.kaiser(n_taps, beta)
    taps = taps / taps.sum()
    pairs = taps[: h + 1].copy()
    pairs[h] *= 0.5
    return pairs



def _decimator_phases(n_taps: int, pass_edge: float, stop_edge: float, atten_db: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Design stage 0's decimator; return its even and odd taps' pair gains.

    A Kaiser-windowed low-pass at twice the base rate (edges are fractions
    of the base rate) with ``n_taps = 4m + 3``, so its centre ``2m + 1`` is
    odd: its even taps ``h[2i]`` (``2m + 2`` of them) and its odd taps
    ``h[2i + 1]`` (``2m + 1``, the centre in the middle, halved as in
    :func:`_kaiser_lowpass`) are each symmetric, ``m + 1`` pair gains each.
    """
    if n_taps % 4 != 3:
        raise ValueError("decimator length must be 4m + 3")
    half = (n_taps - 1) // 2
    cutoff = 0.25 * (pass_edge + stop_edge)  # at twice the rate
    j = np.arange(n_taps) - half
    beta = 0.1102 * (atten_db - 8.7)
    taps = 2.0 * cutoff * np.sinc(2.0 * cutoff * j) * np.kaiser(n_taps, beta)
    taps = taps / taps.sum()
    m = (n_taps - 3) // 4
    even = taps[0::2][: m + 1].copy()
    odd = taps[1::2][: m + 1].copy()
    odd[m] *= 0.5
    return even, odd


# Half-band stages, lowest rate first; stage s runs between 2^s and 2^(s+1)
# times the base rate. At 48 kHz: stage 0 (48 -> 96 k, on the way up) passes
# 20 kHz and stops from 28 kHz; on the way down stage 0 is _DECIMATOR
# (below). Stage 1 (96 <-> 192 k) passes 24 kHz and stops from 72 kHz (1.5
# fs), so nothing folds into 0..24 kHz at 96 k, where the decimator needs it
# clean (its 23-tap predecessor stopped from 76 kHz, which was enough only
# while stage 0's own passband ended at 20 kHz: it measured -60 dB at 72
# kHz). Each stage above must likewise stop from its input rate's Nyquist
# frequency less 0.5 fs (what would fold into the base band), which gets
# easier as the rate goes up: stage 2 (192 <-> 384 k) stops from 3.5 fs, 168
# kHz, by 100 dB (23 taps); stage 3 (384 <-> 768 k) from 7.5 fs, 360 kHz, by
# 109 dB (19 taps at 120 dB: Kaiser's 100 dB design of that length stops
# only 92). All are flat to 1e-4 dB up to 0.5 fs. Stopbands measured >= 99
# dB (stage 0), >= 97 dB (stage 1).
_DESIGNS = ((79, 100.0), (27, 100.0), (23, 100.0), (19, 120.0))
_PHASES = tuple(_kaiser_halfband(n, a) for n, a in _DESIGNS)
_P = tuple(len(g) for g in _PHASES)  # even-phase taps per stage (= centre + 1)
_C = tuple(p - 1 for p in _P)  # centre index (odd) = group delay at the high rate
_M = tuple((c - 1) // 2 for c in _C)  # delay of the centre phase at the low rate
S_MAX = len(_DESIGNS)

# Stage 0 on the way down is not a half-band. A half-band is symmetric about
# its output's Nyquist frequency, so its transition band (0.42-0.58 fs for
# stage 0) straddles the base rate's: a harmonic at 0.5-0.58 fs (26 kHz from
# a 13 kHz tone at 48 kHz) came through barely attenuated and folded to
# 0.42-0.5 fs. Measured on 9-20 kHz tones at -6 dBFS, 50 % amount, 100 % mix:
# aliases at -40 dB (44.1 kHz) and -32 dB (48 kHz) re the fundamental (-53 /
# -45 at 25 % mix). _DECIMATOR passes 0.34 fs and stops from 0.5 fs by
# 100 dB (83 taps at 2 fs, 21 + 21 pairs per output): nothing folds into the
# audio, and harmonics above 15.0 kHz (44.1) / 16.3 kHz (48) are not added.
# Its input must be clean below 0.5 fs, so stage 1 stops from 1.5 fs (27
# taps). Input at 0.42-0.5 fs images into the saturator the same way (its
# image at 0.5-0.58 fs passes the half-band interpolator, and the difference
# tones land anywhere), so _BAND_IN low-passes what feeds the saturator at
# the base rate: pass 0.30 fs, stop from 0.41 fs by 60 dB (47 taps; 60 dB
# there measured as good as 100). Aliases now: -97 dB on that sweep.
_DEC_EVEN, _DEC_ODD = _decimator_phases(83, 0.34, 0.5, 100.0)
_CD = 41  # the decimator's centre: its delay at 2 fs
_PD = 2 * len(_DEC_EVEN)  # as _fir_pairs counts taps (pairs)
_BAND_IN = _kaiser_lowpass(47, 0.30, 0.41, 60.0)
_PBI = 2 * len(_BAND_IN)  # as _fir_pairs counts taps (pairs)
_HBI = len(_BAND_IN) - 1  # its delay (h) in base-rate samples


def _stages(sample_rate: float) -> int:
    """Oversampling stages for a rate: 16x at 44.1/48 kHz, 8x at 88.2/96, 4x above.

    So the saturator runs at 705.6 or 768 kHz whatever the rate: at full
    amount its harmonics fall slowly, and those near a multiple of the rate
    it runs at fold into the audio band (see the module docstring).
    """
    if sample_rate <= 50000.0:
        return 4
    return 3 if sample_rate <= 100000.0 else 2


def _path_delay(stages: int) -> int:
    """Delay of the FIRs up and down, in top-rate samples (stage 0 down: the decimator)."""
    top = 1 << stages
    return (_C[0] + _CD) * (top >> 1) + sum(2 * _C[s] * (top >> (s + 1))
                                           for s in range(1, stages))


def _extra_delay(stages: int) -> int:
    """Top-rate samples to add so the total latency is a whole number of base samples."""
    return (-_path_delay(stages)) % (1 << stages)


def _latency(stages: int) -> int:
    """Delay of the harmonic path in base-rate samples: the FIRs plus the input band limit."""
    return (_path_delay(stages) + _extra_delay(stages)) // (1 << stages) + _HBI


if any(_extra_delay(s) % 2 for s in range(1, S_MAX + 1)):  # the phase split relies on it
    raise RuntimeError("dsp.exciter: the extra top-rate delay must be even")

# ---- state layout ---------------------------------------------------------
# Every buffer holds stereo frames (L, R interleaved), so one FIR pass filters
# both channels. A buffer holds one chunk (one frame per base frame: every
# oversampled signal is kept in phases, see _harmonics) preceded by the
# history the filters reading it need; the offsets below point at frame 0 of
# the current chunk.
#
# Level l (2^l times the base rate) is kept as 2^l phases of base-rate
# length, phase j holding its frames 2^l k + j. On the way up, a level's even
# phases are computed (the interpolator's FIR, a buffer each) and its odd
# phases are the level below, delayed (the centre tap): views of it, no copy.
# At the top level both are saturated, the odd phases into buffers of their
# own. On the way down every phase of every level is a buffer. _plan() works
# out which frames each filter reads at each oversampling, hence the history
# each buffer keeps.


def _plan() -> tuple[list, list, list, dict, list]:
    """Lay out the phases of every level; return where they lie and what each buffer keeps.

    A phase is ``(buffer, offset)``: its frame ``k`` is frame ``k + offset``
    of the buffer. Buffers are named ``("in",)`` (the band-limited input),
    ``("up", l, r)`` (level ``l``'s even phase ``2r``), ``("top", l, r)``
    (its odd phase ``2r + 1``, saturated, when ``l`` is the top) and
    ``("down", l, j)``. Returns the levels on the way up (``2^l`` phases
    each, ``l = 0 .. S_MAX``), the top levels' odd buffers, the levels on
    the way down (``l = 0 .. S_MAX - 1``; level 0 empty), the history in
    frames by buffer, and the buffers written at each oversampling.
    """
    history = {("in",): 0}
    up = [[(("in",), 0)]]
    for lv in range(1, S_MAX + 1):
        level = []
        for r in range(1 << (lv - 1)):
            history[("up", lv, r)] = 0
            level += [(("up", lv, r), 0), _at_frame(up[lv - 1], r - _M[lv - 1])]
        up.append(level)
    top = [[]] + [[(("top", lv, r), 0) for r in range(1 << (lv - 1))]
                  for lv in range(1, S_MAX + 1)]
    down = [[]] + [[(("down", lv, j), 0) for j in range(1 << lv)] for lv in range(1, S_MAX)]
    for name, _ in [p for level in top + down for p in level]:
        history[name] = 0

    def read(phases, first, last):  # frames 2^l k + d of a level, first <= d <= last
        for d in range(first, last + 1):
            name, offset = _at_frame(phases, d)
            history[name] = max(history[name], -offset)

    written = [[]]
    for s in range(1, S_MAX + 1):
        for lv in range(1, s + 1):  # the interpolators: level lv's even phases
            for r in range(1 << (lv - 1)):
                read(up[lv - 1], r - _C[lv - 1], r)
        for r in range(1 << (s - 1)):  # the saturator reads the top's odd phases
            read(up[s - 1], r - _M[s - 1], r - _M[s - 1])
        even, odd, shift = up[s][0::2], top[s], _extra_delay(s) // 2
        for lv in range(s, 1, -1):  # the half-band decimators, to level lv - 1
            c = _C[lv - 1]
            for r in range(1 << (lv - 1)):
                read(even, r - shift - c, r - shift)
                read(odd, r - shift - (c + 1) // 2, r - shift - (c + 1) // 2)
            even, odd, shift = down[lv - 1][0::2], down[lv - 1][1::2], 0
        read(even, -_CD - shift, -shift)  # the decimator
        read(odd, -_CD - shift, -1 - shift)
        written.append([("in",)] + [name for lv in range(1, s + 1) for name, _ in up[lv][0::2]]
                       + [name for name, _ in top[s]]
                       + [name for lv in range(1, s) for name, _ in down[lv]])
    return up, top, down, history, written


def _at_frame(phases: list, d: int) -> tuple:
    """Where frame ``P k + d`` of a level kept as the ``P`` phases ``phases`` lies, for k = 0."""
    name, offset = phases[d % len(phases)]
    return name, offset + d // len(phases)


_LEVELS_UP, _TOPS, _LEVELS_DOWN, _HISTORY, _WRITTEN = _plan()
_H_DRY = max(_latency(s) for s in range(1, S_MAX + 1))

_STAGES, _EXTRA, _LATENCY = HEADER, HEADER + 1, HEADER + 2
_K_FREQ, _B0, _A1, _A2 = HEADER + 3, HEADER + 4, HEADER + 5, HEADER + 6  # input HPF
_K_FREQ_POST, _QB0, _QA1, _QA2 = HEADER + 7, HEADER + 8, HEADER + 9, HEADER + 10  # output HPF
_G_OFF = []
_pos = HEADER + 11
for _g in _PHASES:
    _G_OFF.append(_pos)
    _pos += len(_g)
_G = tuple(_G_OFF)
_GDE = _pos  # stage 0's decimator, even taps
_GDO = _GDE + len(_DEC_EVEN)  # and odd taps
_GBI = _GDO + len(_DEC_ODD)  # the input band limit
_pos = _GBI + len(_BAND_IN)
_CONFIG_END = _pos
# History (cleared by reset).
# Filter memories (direct form I): input HPF x1, x2, y1, y2 for L then R; the
# output HPF's input x1, x2, first-section y1, y2, second-section y1, y2 for L then R.
_Z = _CONFIG_END
_ZOUT = _Z + 8
_AT = _ZOUT + 12  # frames processed since the last multiple of CHUNK (see process)
_Z_END = _AT + 1
_pos = _Z_END


def _slots(count: int) -> int:
    """Reserve ``count`` slots of the state; return the first."""
    global _pos
    _pos += count
    return _pos - count


def _buffer(history: int, frames: int) -> int:
    """Reserve ``history + frames`` stereo frames; return the offset of frame 0."""
    return _slots(2 * (history + frames)) + 2 * history


_HPIN = _buffer(2 * _HBI, CHUNK)  # the high-passed input, before the band limit
_AT_STATE = {name: _buffer(h, CHUNK) for name, h in _HISTORY.items()}
_W = 1 << (S_MAX - 1)  # the most phases a filter reads (level S_MAX - 1, or the top's even ones)
_PAD = (0,) * (_W - 1)  # what pads a plain signal (see _single)


def _offsets(phases: list) -> tuple[int, ...]:
    """The state offsets of frame 0 of ``phases``, padded to ``_W`` with zeros."""
    offsets = [_AT_STATE[name] + 2 * offset for name, offset in phases]
    return tuple(offsets + [0] * (_W - len(offsets)))


_IN = _AT_STATE[("in",)]  # the high-passed, band-limited input
_LEVEL = tuple(_offsets(_LEVELS_UP[lv]) for lv in range(S_MAX))  # level lv, as read going up
_EVEN = tuple(_offsets(lv[0::2]) for lv in _LEVELS_UP)  # level lv's even phases (buffers)
_ODD = tuple(_offsets(lv[1::2]) for lv in _LEVELS_UP)  # its odd phases (views of lv - 1)
_TOP_ODD = tuple(_offsets(lv) for lv in _TOPS)  # its odd phases saturated, at the top
_DOWN = tuple(_offsets(lv) for lv in _LEVELS_DOWN)  # level lv on the way down
_DOWN_EVEN = tuple(_offsets(lv[0::2]) for lv in _LEVELS_DOWN)
_DOWN_ODD = tuple(_offsets(lv[1::2]) for lv in _LEVELS_DOWN)
_KEEP = np.zeros((S_MAX + 1, max(len(w) for w in _WRITTEN), 2), dtype=np.int64)
for _s, _names in enumerate(_WRITTEN):  # (offset, history) of the buffers each factor keeps
    for _j, _name in enumerate(_names):
        _KEEP[_s, _j] = _AT_STATE[_name], _HISTORY[_name]
_DRY = _buffer(_H_DRY, CHUNK)  # dry delay line
_OUT = _buffer(0, CHUNK)  # harmonics back at the base rate
_ACC = _buffer(0, CHUNK)  # FIR accumulator scratch
_DRIVE = _slots(CHUNK)  # per-frame parameter values of the chunk
_MIXV = _slots(CHUNK)
_BYP = _slots(CHUNK)
_FREQV = _slots(CHUNK)
_PAIR = _slots(lanes.WORKSPACE)  # the output high-pass's two sections as a pair
SIZE = _pos


def prepare(sample_rate: float) -> np.ndarray:
    """Allocate the exciter state for ``sample_rate`` (off the audio thread).

    Parameters
    ----------
    sample_rate : float
        Sample rate in Hz; it fixes the oversampling factor and the latency.

    Returns
    -------
    ndarray
        Header, oversampling configuration, FIR taps, filter caches (NaN, so
        the first sample derives them), and cleared buffers.
    """
    state = np.zeros(SIZE, dtype=np.float64)
    write_header(state, sample_rate)
    stages = _stages(sample_rate)
    state[_STAGES] = stages
    state[_EXTRA] = _extra_delay(stages)
    state[_LATENCY] = _latency(stages)
    state[_K_FREQ:_G[0]] = np.nan
    for off, g in zip(_G, _PHASES, strict=True):
        state[off : off + len(g)] = g
    state[_GDE : _GDE + len(_DEC_EVEN)] = _DEC_EVEN
    state[_GDO : _GDO + len(_DEC_ODD)] = _DEC_ODD
    state[_GBI : _GBI + len(_BAND_IN)] = _BAND_IN
    return state


@kernel
def reset(state: np.ndarray) -> None:
    """Clear filter memories, FIR histories and the dry delay; keep configuration."""
    state[_CONFIG_END:SIZE] = 0.0


def latency_samples(state: np.ndarray) -> int:
    """Delay of the whole stage, dry and harmonic paths alike, in samples."""
    return int(state[_LATENCY])


@kernel
def _hpf(freq, fs):
    """2nd-order Butterworth high-pass (RBJ, Q = 1/sqrt 2): b0, a1, a2 (b1 = -2 b0, b2 = b0)."""
    w0 = 2.0 * math.pi * min(freq, 0.45 * fs) / fs
    cw = math.cos(w0)
    alpha = math.sin(w0) * 0.7071067811865476
    inv_a0 = 1.0 / (1.0 + alpha)
    return 0.5 * (1.0 + cw) * inv_a0, -2.0 * cw * inv_a0, (1.0 - alpha) * inv_a0


@kernel(inline="always")
def _at(sig, p, d):
    """Where frame ``p k + d`` of a signal kept as ``p`` phases lies, for k = 0.

    It is frame ``k + (d - j) / p`` of phase ``j = d mod p`` (``sig[j]``: where
    that phase's frame 0 lies; ``p`` is a power of two). One phase (``p = 1``)
    is a plain signal.
    """
    j = d & (p - 1)
    return sig[j] + 2 * ((d - j) // p)


@kernel(inline="always")
def _single(start):
    """A plain signal from ``st[start]`` as :func:`_at` reads one (``p = 1``)."""
    return (start, *_PAD)


@kernel
def _fir_pairs(st, out, n, g, p, sig, nph, da, db):
    """``y[k] = sum_i g_i (x[k + da - i] + x[k + db + i])`` over ``n`` stereo frames.

    A symmetric FIR (``p`` taps per phase, so ``p // 2`` pairs, gains at
    ``st[g]``) on both channels at once, into ``st[out]``. ``x`` is one phase
    of a signal kept as ``nph`` (see :func:`_at`; ``sig`` holds where each
    lies): ``x[k + d]`` means its frame ``nph k + d``, read from the phase it
    lies in, so a half-band filter can run on one output phase at a time
    without the signal ever being interleaved. With ``nph = 1`` it is the
    plain signal. Five (or four) pairs per pass (:mod:`dsp.firpass`): few
    passes keep the fixed cost per chunk low. Every output adds its taps in
    the same order, wherever the chunk starts.
    """
    m = 2 * n
    half = p // 2
    i = 0
    while i < half:
        left = half - i
        a, b = _at(sig, nph, da - i), _at(sig, nph, db + i)
        if left >= 5 and left != 8:  # 20 = 5 * 4, 9 = 5 + 4
            firpass.pass5(st, out, m, i == 0, g + i, a, _at(sig, nph, da - i - 1),
                          _at(sig, nph, da - i - 2), _at(sig, nph, da - i - 3),
                          _at(sig, nph, da - i - 4), b, _at(sig, nph, db + i + 1),
                          _at(sig, nph, db + i + 2), _at(sig, nph, db + i + 3),
                          _at(sig, nph, db + i + 4))
            i += 5
        elif left >= 4:
            firpass.pass4(st, out, m, i == 0, g + i, a, _at(sig, nph, da - i - 1),
                          _at(sig, nph, da - i - 2), _at(sig, nph, da - i - 3), b,
                          _at(sig, nph, db + i + 1), _at(sig, nph, db + i + 2),
                          _at(sig, nph, db + i + 3))
            i += 4
        else:
            firpass.pass1(st, out, m, i == 0, g + i, a, b)
            i += 1


@kernel
def _added_db(added_sq, dry_sq):
    """Added level against the delayed input in dB, kept finite for any sums."""
    if added_sq == 0.0:
        return ADDED_FLOOR_DB
    ratio = added_sq / dry_sq  # inf when the input was silent, nan if both overflowed
    if ratio != ratio:
        return 0.0
    return min(max(10.0 * math.log10(max(ratio, 1e-300)), ADDED_FLOOR_DB), 60.0)


@kernel
def _interpolate(st, sig, nph, da, db, dst, n, lv):
    """The FIR half of a half-band interpolator at level ``lv``: ``n`` frames into ``dst``.

    The other half (the centre tap) is the input itself, delayed: nothing to
    compute. The input is given as in :func:`_fir_pairs`.
    """
    _fir_pairs(st, dst, n, _G[lv], _P[lv], sig, nph, da, db)


@kernel
def _decimate(st, sig, nph, da, db, odd, dst, n, lv):
    """A half-band decimator to level ``lv``: ``n`` frames into ``dst``.

    The FIR over the even input (given as in :func:`_fir_pairs`) plus the
    odd input (from ``st[odd]``, already at its delay) times the centre tap 1/2.
    """
    _fir_pairs(st, _ACC, n, _G[lv], _P[lv], sig, nph, da, db)
    acc = st[_ACC : _ACC + 2 * n]
    xo = st[odd : odd + 2 * n]
    out = st[dst : dst + 2 * n]
    for k in range(2 * n):
        out[k] = 0.5 * (acc[k] + xo[k])


@kernel
def _decimate0(st, even, odd, n):
    """Stage 0's decimator: ``n`` base-rate frames into ``_OUT``.

    Output ``k`` is ``sum_i h[2i] E[k - i] + sum_i h[2i + 1] O[k - 1 - i]``,
    with ``E``, ``O`` the even and odd phases of its input (at ``st[even]``
    and ``st[odd]``, each with ``_CD`` frames of history): two symmetric
    FIRs, the even one in the scratch accumulator, then added.
    """
    acc = st[_ACC : _ACC + 2 * n]
    out = st[_OUT : _OUT + 2 * n]
    _fir_pairs(st, _ACC, n, _GDE, _PD, _single(even), 1, 0, -_CD)
    _fir_pairs(st, _OUT, n, _GDO, _PD, _single(odd), 1, -1, -_CD)
    for k in range(2 * n):
        out[k] = acc[k] + out[k]


@kernel
def _one_drive(st, n):
    """True when every frame of the chunk has the same drive (counted, so the loop vectorises)."""
    drive = st[_DRIVE : _DRIVE + n]
    d = drive[0]
    differ = 0
    for k in range(n):
        differ += drive[k] != d
    return differ == 0


@kernel
def _saturate(st, src, dst, n, one_drive):
    """Write the saturator residual of ``n`` frames of one phase from ``src`` to ``dst``.

    ``e = u (q(d u) - 1)`` with ``q(v) = 1/sqrt(1 + p)``, ``p = v (KAPPA + v)``.
    ``1 - q`` is computed directly, without cancellation against 1: a
    single-precision ``1/sqrt`` (exact IEEE operations, fast because short)
    seeds one Newton step in double precision, written for ``delta = 1 - q``
    (error below 2e-14 of ``u``, -270 dB); zero drive gives exactly zero.
    ``p`` is capped at 1e30 (``q`` is then 1e-15, as good as 0) so ``1 + p``
    stays in single-precision range for absurd input. Every phase has one
    frame per base frame, so frame ``k`` uses base frame ``k``'s drive.
    ``src`` may equal ``dst``.
    """
    drive = st[_DRIVE : _DRIVE + n]
    if one_drive:  # one flat loop
        _residual(st[src : src + 2 * n], st[dst : dst + 2 * n], drive[0])
    else:
        x = st[src : src + 2 * n]
        y = st[dst : dst + 2 * n]
        for k in range(n):
            y[2 * k] = _residual_of(x[2 * k], drive[k])
            y[2 * k + 1] = _residual_of(x[2 * k + 1], drive[k])


@kernel
def _residual_of(u, d):
    """Saturator residual of one sample ``u`` at drive ``d`` (see :func:`_saturate`)."""
    v = d * u
    p = min(v * (KAPPA + v), 1e30)  # >= -KAPPA^2 / 4; the cap keeps 1 + p in float32 range
    y = 1.0 + p
    q0 = np.float64(np.float32(1.0) / np.sqrt(np.float32(y)))  # ~1e-7 relative
    h = fma(-y, q0 * q0, 1.0)  # 1 - y q0^2, exact but for one rounding
    delta = fma(-0.5 * q0, h, 1.0 - q0)  # 1 - q after a Newton step
    return -u * delta


@kernel
def _residual(src, dst, d):
    """The saturator residual of every sample of ``src`` at drive ``d``, into ``dst``.

    In place when ``src`` is ``dst`` (a separate loop: LLVM's overlap check
    would send an in-place call down the scalar path).
    """
    if src.ctypes.data == dst.ctypes.data:
        for j in range(dst.shape[0]):
            dst[j] = _residual_of(dst[j], d)
    else:
        for j in range(src.shape[0]):
            dst[j] = _residual_of(src[j], d)


@kernel
def _keep_history(st, data, h, n):
    """Move the last ``h`` frames before frame ``n`` of ``data`` to just before frame 0."""
    dst = st[data - 2 * h : data]
    src = st[data + 2 * (n - h) : data + 2 * n]
    for j in range(2 * h):  # forward copy: safe when the ranges overlap (n < h)
        dst[j] = src[j]


@kernel
def _harmonics(st, n, stages, extra):
    """Run a chunk of ``n`` frames from ``_IN`` (band-limited input) to ``_OUT`` (harmonics).

    Every rate above the base rate is kept in phases of base-rate length
    (level ``l``, at ``2^l`` times the rate, as ``2^l`` of them), so no pass
    ever interleaves or splits samples: each half-band FIR runs once per
    output phase, reading its taps from whichever input phase they fall in,
    and the saturator, which works sample by sample, does not care about
    order. The samples are those of the plain cascade, bit for bit.
    ``extra`` (even) top-rate samples of delay go in where the top level is
    read on the way down.
    """
    shift = extra // 2  # in frames of the top level's even (and odd) phases as one signal
    one = _one_drive(st, n)
    for lv in range(1, stages + 1):  # up: level lv's even phases; its odd ones are lv - 1's
        p, c = 1 << (lv - 1), _C[lv - 1]
        even = _EVEN[lv]
        for r in range(p):  # frame 2 (p k + r) of level lv, from frames p k + r - i of lv - 1
            _interpolate(st, _LEVEL[lv - 1], p, r, r - c, even[r], n, lv - 1)
            if lv == stages:  # the top: saturate, the odd phases into buffers of their own
                _saturate(st, even[r], even[r], n, one)
                _saturate(st, _ODD[lv][r], _TOP_ODD[lv][r], n, one)
    even, odd = _EVEN[stages], _TOP_ODD[stages]
    for lv in range(stages, 1, -1):  # down: to level lv - 1, one phase of it at a time
        p, c = 1 << (lv - 1), _C[lv - 1]
        for r in range(p):
            _decimate(st, even, p, r - shift, r - c - shift,
                      _at(odd, p, r - (c + 1) // 2 - shift), _DOWN[lv - 1][r], n, lv - 1)
        even, odd, shift = _DOWN_EVEN[lv - 1], _DOWN_ODD[lv - 1], 0
    _decimate0(st, even[0] - 2 * shift, odd[0] - 2 * shift, n)
    for j in range(_KEEP.shape[1]):
        if _KEEP[stages, j, 1] > 0:
            _keep_history(st, _KEEP[stages, j, 0], _KEEP[stages, j, 1], n)


@kernel
def _band_limit(st, src, dst, n, g, p, h):
    """A base-rate band limit (see ``_BAND_IN``) of ``n`` frames from ``src`` into ``dst``.

    ``g``: the offset of its ``p // 2`` gains; ``src`` holds ``2 h`` frames
    of history, which move up afterwards.
    """
    _fir_pairs(st, dst, n, g, p, _single(src), 1, 0, -2 * h)
    _keep_history(st, src, 2 * h, n)


@kernel
def _settled(target, current):
    """True when no exciter parameter is gliding."""
    return (current[EXCITER_BYPASS] == target[EXCITER_BYPASS]
            and current[EXCITER_FREQ] == target[EXCITER_FREQ]
            and current[EXCITER_AMOUNT] == target[EXCITER_AMOUNT]
            and current[EXCITER_MIX] == target[EXCITER_MIX])


@kernel
def _parameters(target, current, state, n):
    """Per-frame bypass, frequency, drive and mix of the chunk, gliding sample by sample."""
    if _settled(target, current):  # nothing moves: the same values for every frame
        byp = current[EXCITER_BYPASS]
        freq = current[EXCITER_FREQ]
        drive = current[EXCITER_AMOUNT] * (DRIVE_MAX * 0.01)
        mix = current[EXCITER_MIX] * 0.01
        for k in range(n):
            state[_BYP + k] = byp
            state[_FREQV + k] = freq
            state[_DRIVE + k] = drive
            state[_MIXV + k] = mix
        return
    for k in range(n):
        # glide(...) for each; the inline test skips the call when settled
        # (numba keeps array reference counting around an unconditional call).
        byp = current[EXCITER_BYPASS]
        if byp != target[EXCITER_BYPASS]:
            byp = glide(target, current, EXCITER_BYPASS, state)
        freq = current[EXCITER_FREQ]
        if freq != target[EXCITER_FREQ]:
            freq = glide(target, current, EXCITER_FREQ, state)
        amount = current[EXCITER_AMOUNT]
        if amount != target[EXCITER_AMOUNT]:
            amount = glide(target, current, EXCITER_AMOUNT, state)
        mix = current[EXCITER_MIX]
        if mix != target[EXCITER_MIX]:
            mix = glide(target, current, EXCITER_MIX, state)
        state[_BYP + k] = byp
        state[_FREQV + k] = freq
        state[_DRIVE + k] = amount * (DRIVE_MAX * 0.01)
        state[_MIXV + k] = mix * 0.01


@kernel
def _input(x, start, n, state, fs):
    """Input high-pass of the chunk into ``_HPIN``; the input itself into the dry delay line."""
    k_freq, b0, a1, a2 = state[_K_FREQ], state[_B0], state[_A1], state[_A2]
    x1l, x2l, y1l, y2l = state[_Z], state[_Z + 1], state[_Z + 2], state[_Z + 3]
    x1r, x2r, y1r, y2r = state[_Z + 4], state[_Z + 5], state[_Z + 6], state[_Z + 7]
    xs = x[start : start + n]
    dry = state[_DRY : _DRY + 2 * n]
    up = state[_HPIN : _HPIN + 2 * n]
    freqs = state[_FREQV : _FREQV + n]
    for k in range(n):
        freq = freqs[k]
        if freq != k_freq:
            k_freq = freq
            b0, a1, a2 = _hpf(freq, fs)
        xl = xs[k, 0]
        xr = xs[k, 1]
        dry[2 * k] = xl
        dry[2 * k + 1] = xr
        # direct form I, b1 = -2 b0, b2 = b0; the recursion is two fused steps
        yl = fma(-a1, y1l, fma(-a2, y2l, b0 * ((xl + x2l) - 2.0 * x1l)))
        yr = fma(-a1, y1r, fma(-a2, y2r, b0 * ((xr + x2r) - 2.0 * x1r)))
        x2l, x1l, y2l, y1l = x1l, xl, y1l, yl
        x2r, x1r, y2r, y1r = x1r, xr, y1r, yr
        up[2 * k] = yl
        up[2 * k + 1] = yr
    state[_K_FREQ], state[_B0], state[_A1], state[_A2] = k_freq, b0, a1, a2
    state[_Z], state[_Z + 1], state[_Z + 2], state[_Z + 3] = x1l, x2l, y1l, y2l
    state[_Z + 4], state[_Z + 5], state[_Z + 6], state[_Z + 7] = x1r, x2r, y1r, y2r


@kernel
def _output_filter(state, n, fs):
    """DC / difference-tone high-pass (4th order: two sections) of ``_OUT``, in place.

    With the frequency steady over the chunk, the two sections run as a pair
    (:mod:`dsp.lanes`: both recursions in one vector, the second a few frames
    behind); otherwise sample by sample, redesigning as the frequency glides.
    Both do the same arithmetic, so the same bits.
    """
    k_freq = state[_K_FREQ_POST]
    freqs = state[_FREQV : _FREQV + n]
    moving = 0  # counted, so the loop vectorises
    for k in range(n):
        moving += freqs[k] != k_freq
    if moving == 0:
        _output_pair(state, n)
    else:
        _output_gliding(state, n, fs)


@kernel
def _output_pair(state, n):
    """:func:`_output_filter` at a steady frequency: the two sections as a pair."""
    b0, a1, a2 = state[_QB0], state[_QA1], state[_QA2]
    o = _ZOUT
    work = state[_PAIR : _PAIR + lanes.WORKSPACE]
    for section in range(2):
        lanes.configure(work, section, (b0, -2.0 * b0, b0, a1, a2), lanes.STEREO, 1.0)
    for c in range(2):  # section 2's past inputs are section 1's past outputs
        m = o + 6 * c
        lanes.set_memories(work, c, state[m], state[m + 1], state[m + 2], state[m + 3])
        lanes.set_memories(work, 2 + c, state[m + 2], state[m + 3], state[m + 4], state[m + 5])
    lanes.run(state[_OUT : _OUT + 2 * n], n, work)
    for c in range(2):
        m = o + 6 * c
        state[m], state[m + 1], state[m + 2], state[m + 3] = lanes.memories(work, c)
        _, _, state[m + 4], state[m + 5] = lanes.memories(work, 2 + c)


@kernel
def _output_gliding(state, n, fs):
    """:func:`_output_filter` while the frequency glides, one sample at a time."""
    k_freq, b0, a1, a2 = state[_K_FREQ_POST], state[_QB0], state[_QA1], state[_QA2]
    o = _ZOUT
    x1l, x2l, y1l, y2l, w1l, w2l = (state[o], state[o + 1], state[o + 2], state[o + 3],
                                    state[o + 4], state[o + 5])
    x1r, x2r, y1r, y2r, w1r, w2r = (state[o + 6], state[o + 7], state[o + 8],
                                    state[o + 9], state[o + 10], state[o + 11])
    h = state[_OUT : _OUT + 2 * n]
    freqs = state[_FREQV : _FREQV + n]
    for k in range(n):
        freq = freqs[k]
        if freq != k_freq:
            k_freq = freq
            b0, a1, a2 = _hpf(freq, fs)
        b1 = -2.0 * b0
        hl = h[2 * k]
        hr = h[2 * k + 1]
        # direct form I, b1 = -2 b0, b2 = b0, as dsp.lanes computes it
        yl = fma(-a1, y1l, fma(-a2, y2l, b0 * hl + b1 * x1l + b0 * x2l))
        yr = fma(-a1, y1r, fma(-a2, y2r, b0 * hr + b1 * x1r + b0 * x2r))
        # second section (24 dB/octave below freq): its inputs are the first's outputs
        wl = fma(-a1, w1l, fma(-a2, w2l, b0 * yl + b1 * y1l + b0 * y2l))
        wr = fma(-a1, w1r, fma(-a2, w2r, b0 * yr + b1 * y1r + b0 * y2r))
        x2l, x1l, y2l, y1l, w2l, w1l = x1l, hl, y1l, yl, w1l, wl
        x2r, x1r, y2r, y1r, w2r, w1r = x1r, hr, y1r, yr, w1r, wr
        h[2 * k] = wl
        h[2 * k + 1] = wr
    state[_K_FREQ_POST], state[_QB0], state[_QA1], state[_QA2] = k_freq, b0, a1, a2
    state[o], state[o + 1], state[o + 2], state[o + 3] = x1l, x2l, y1l, y2l
    state[o + 4], state[o + 5], state[o + 6], state[o + 7] = w1l, w2l, x1r, x2r
    state[o + 8], state[o + 9], state[o + 10], state[o + 11] = y1r, y2r, w1r, w2r


@kernel
def _mix(x, start, n, state, lat):
    """Write ``delayed dry + mix * harmonics``, crossfaded to the dry signal by the bypass."""
    xs = x[start : start + n].reshape(2 * n)  # a flat view lets the loop vectorise
    dry = state[_DRY - 2 * lat : _DRY - 2 * lat + 2 * n]
    h = state[_OUT : _OUT + 2 * n]
    mixv = state[_MIXV : _MIXV + n]
    bypv = state[_BYP : _BYP + n]
    for k in range(n):
        mix = mixv[k]
        byp = bypv[k]
        dl = dry[2 * k]
        dr = dry[2 * k + 1]
        wl = dl + mix * h[2 * k]
        wr = dr + mix * h[2 * k + 1]
        ol = wl + byp * (dl - wl)
        or_ = wr + byp * (dr - wr)
        xs[2 * k] = dl if byp == 1.0 else ol
        xs[2 * k + 1] = dr if byp == 1.0 else or_


@kernel(fastmath={"reassoc"})
def _energies(x, start, n, state, lat):
    """Sums of squares of the added signal and of the delayed input over the chunk (meter only).

    Reassociated so the sums vectorise; they feed the level tap, never the audio.
    """
    xs = x[start : start + n].reshape(2 * n)
    dry = state[_DRY - 2 * lat : _DRY - 2 * lat + 2 * n]
    added = 0.0
    dry_sq = 0.0
    for k in range(2 * n):
        d = dry[k]
        e = xs[k] - d
        added += e * e
        dry_sq += d * d
    return added, dry_sq


@kernel
def _flush_tiny(state):
    """Zero the recursive memories below 1e-30 (a denormal guard).

    It runs every :data:`CHUNK` frames counted from the reset, never at the
    caller's block ends: a flush changes the following samples (by ~1e-30),
    so flushing where a block happens to end would make the output depend on
    the block size (it did, by 1e-33, in the first frames after a reset once
    the band limits lengthened the path's pre-ringing).
    """
    for j in (_Z + 2, _Z + 3, _Z + 6, _Z + 7, _ZOUT + 2, _ZOUT + 3, _ZOUT + 4, _ZOUT + 5,
              _ZOUT + 8, _ZOUT + 9, _ZOUT + 10, _ZOUT + 11):
        if abs(state[j]) < 1e-30:
            state[j] = 0.0


@kernel
def process(x, target, current, state, taps) -> None:
    """Excite ``x`` (n, 2) in place; output is delayed by :func:`latency_samples`."""
    fs = state[SR]
    stages = int(state[_STAGES])
    extra = int(state[_EXTRA])
    lat = int(state[_LATENCY])
    added_sq = 0.0
    dry_sq = 0.0
    total = x.shape[0]
    at = int(state[_AT])
    start = 0
    while start < total:
        n = min(CHUNK - at, total - start)  # chunks end on multiples of CHUNK from the reset
        _parameters(target, current, state, n)
        _input(x, start, n, state, fs)  # base rate: input high-pass, dry delay line
        _band_limit(state, _HPIN, _IN, n, _GBI, _PBI, _HBI)  # nothing that would image
        _harmonics(state, n, stages, extra)  # oversampled: harmonics of both channels
        _output_filter(state, n, fs)  # base rate: high-pass of the harmonics
        _mix(x, start, n, state, lat)
        a, d = _energies(x, start, n, state, lat)
        added_sq += a
        dry_sq += d
        _keep_history(state, _DRY, _H_DRY, n)
        start += n
        at += n
        if at == CHUNK:
            at = 0
            _flush_tiny(state)
    state[_AT] = at
    taps[EXCITER_ADDED_DB] = _added_db(added_sq, dry_sq)
