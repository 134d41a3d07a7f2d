"""The clipper's 16x oversampling: a sharp low-pass at 2x, then short half-bands to 16x.

Interpolation runs 1x -> 2x through a sharp linear-phase low-pass (pass
0.40 fs, stop from 0.5 fs, ~100 dB: :data:`A_TAPS` taps at 2 fs, as two
polyphase branches), then half-bands 2x -> 4x (pass 0.5 fs, stop from 1.5 fs),
4x -> 8x (stop from 3.5 fs) and 8x -> 16x (stop from 7.5 fs), each ~100 dB
and short, since its transition band is wide. Decimation mirrors it: each
half-band only has to stop what folds onto 0..0.5 fs at its own output
(``R/2 - 0.5 fs .. R/2`` at input rate ``R``), and the sharp low-pass last
(stop from 0.5 fs: nothing folds into the audio). Measured stopbands, from
the designs: 99.6 dB (the low-pass), 98.4, 121 and 120 dB (the half-bands;
the two shorter ones a tap pair less measured 95.4 and 93.6 dB).

Every signal above the base rate is kept as phases of base-rate length
(level ``L``, at ``2^L`` fs, as ``2^L`` phases; ``x[2^L k + p]`` is frame
``k`` of phase ``p``), stereo frames interleaved, so each FIR pass runs over
contiguous memory for both channels and vectorises, and every output adds
its taps in the same order wherever a chunk starts. Only the nonzero taps
of a half-band are computed: its even outputs are a symmetric FIR (pairs of
samples, one multiply each) and its odd outputs are its input, delayed.

The interpolator keeps no state but the base-rate input: each chunk
recomputes the few frames of each level the next stage reads back (12 at
2x, 5 at 4x, 2 at 8x), so a chunk skipped because nothing reached the knee
costs nothing later. The decimator keeps histories; :func:`decimate_silence`
runs it on a zero residual until those hold only zeros (:data:`REACH`
frames), and then not at all.

The path's delay is topped up by 10 samples at 16x (read as a shift of the
16x phases, no copy) to a whole number of base samples, :data:`LATENCY`.
"""

from __future__ import annotations

import numpy as np

from dsp import firpass
from dsp._jit import kernel
from dsp.fastmath import as_bits, from_bits

FACTOR = 16
"""Oversampling factor (four doublings)."""
CHUNK = 256
"""Frames per pass (keeps the phases, ~200 kB for both channels, in the L2 cache)."""
A_TAPS, A_PASS, A_STOP, A_ATTEN = 129, 0.40, 0.50, 99.0
"""1x <-> 2x low-pass: taps at 2 fs, edges as fractions of the base rate, Kaiser's design dB."""
HALF_BANDS = ((27, 101.0), (23, 126.0), (19, 114.0))
"""2x <-> 4x, 4x <-> 8x, 8x <-> 16x half-bands: taps and Kaiser's design dB (stopbands
98.4, 121 and 120 dB from 1.5, 3.5 and 7.5 fs)."""


def _kaiser(n_taps: int, cutoff: float, atten_db: float) -> np.ndarray:
    """A Kaiser-windowed sinc of ``n_taps`` taps cut at ``cutoff`` (fraction of its rate)."""
    j = np.arange(n_taps) - (n_taps - 1) // 2
    beta = 0.1102 * (atten_db - 8.7)
    return 2.0 * cutoff * np.sinc(2.0 * cutoff * j) * np.kaiser(n_taps, beta)


def design_lowpass() -> np.ndarray:
    """The 1x <-> 2x low-pass at twice the base rate, unity gain at DC.

    Returns
    -------
    ndarray, shape (A_TAPS,)
        Symmetric taps summing to 1 (``A_TAPS = 4 h + 1``: centre at ``2 h``).
    """
    taps = _kaiser(A_TAPS, 0.25 * (A_PASS + A_STOP), A_ATTEN)
    return taps / taps.sum()


def design_halfband(stage: int) -> np.ndarray:
    """Half-band ``stage`` (0: 2x <-> 4x, 1: 4x <-> 8x, 2: 8x <-> 16x) at its higher rate.

    Returns
    -------
    ndarray, shape (n,)
        Symmetric taps, ``n = 4 m + 3``: the centre (odd index) is 1/2, every
        other tap from it is 0, and the rest sum to exactly 1/2 (DC exact).
    """
    n_taps, atten_db = HALF_BANDS[stage]
    taps = _kaiser(n_taps, 0.25, atten_db)
    centre = (n_taps - 1) // 2
    taps[(np.arange(n_taps) - centre) % 2 == 0] = 0.0
    taps *= 0.5 / taps.sum()
    taps[centre] = 0.5
    return taps


def _pairs(phase: np.ndarray) -> np.ndarray:
    """The first half of a symmetric phase's gains; a middle tap is halved (added as a pair)."""
    half = (len(phase) + 1) // 2
    pairs = phase[:half].copy()
    if len(phase) % 2:
        pairs[-1] *= 0.5  # (g/2)(x + x) is g x exactly
    return pairs


_LOW = design_lowpass()
_GA = (_pairs(2.0 * _LOW[0::2]), _pairs(2.0 * _LOW[1::2]))  # 33 and 32 pair gains
_SPAN_A = (len(_LOW[0::2]) - 1, len(_LOW[1::2]) - 1)  # pair (i, span - i): 64 and 63
_GH = tuple(_pairs(2.0 * design_halfband(s)[0::2]) for s in range(3))  # 7, 5 and 4 pairs
_NP = tuple(len(g) for g in _GH)
_GA_PAIRS = (len(_GA[0]), len(_GA[1]))
_SPAN = tuple(2 * p - 1 for p in _NP)  # 13, 9, 7: the half-band's centre, at its rate


def interpolation_gain() -> float:
    """The interpolator's largest gain to any 16x sample: the sum of ``|h|`` of its worst phase.

    ``|u| <= GAIN max|x|`` over the input it reads, so an input under
    ``knee / GAIN`` leaves the residual exactly zero.
    """
    total = np.zeros(1)
    stages = [2.0 * _LOW] + [2.0 * design_halfband(s) for s in range(3)]  # centres: 1
    for s, h in enumerate(stages):
        up = np.zeros((len(h) - 1) * (FACTOR >> (s + 1)) + 1)
        up[:: FACTOR >> (s + 1)] = h  # at 16x, zeros between the taps
        total = np.convolve(total, up) if total.size > 1 else up
    return float(max(np.abs(total[p::FACTOR]).sum() for p in range(FACTOR)))


def _reach_up(phases: int, span: int) -> int:
    """Frames of its input a half-band interpolator reads before its output's frame."""
    mid = (span - 1) // 2
    reads = [q - i for q in range(phases) for i in range(span + 1)]
    reads += [q - mid for q in range(phases)]
    return max(-(r // phases) for r in reads)


def _reach_down(phases: int, span: int, shift: int) -> int:
    """Frames of its input a decimator to ``phases`` phases reads before its output's frame."""
    even = [q - shift - i for q in range(phases) for i in range(span + 1)]
    centre = [2 * q - span - 2 * shift for q in range(phases)]
    return max(max(-(r // phases) for r in even), max(-(r // (2 * phases)) for r in centre))


_PATH = 2 * (_SPAN_A[0] * 8 + _SPAN[0] * 4 + _SPAN[1] * 2 + _SPAN[2])  # in 16x samples
_EXTRA = (-_PATH) % FACTOR  # topped up at 16x to a whole number of base samples
if _EXTRA % 2:
    raise RuntimeError("dsp.clipper_cascade: the 16x top-up must be even (a shift of phases)")
_SHIFT = _EXTRA // 2  # in samples of the 16x signal's even phases
LATENCY = (_PATH + _EXTRA) // FACTOR
"""Delay of the whole path (up, clip, down) in base-rate samples (75)."""

_M3 = _reach_up(8, _SPAN[2])  # 8x frames the 8x -> 16x stage reads back
_M2 = _M3 + _reach_up(4, _SPAN[1])  # 4x frames computed before each chunk
_M1 = _M2 + _reach_up(2, _SPAN[0])  # 2x frames
H_IN = max(_M1 + _SPAN_A[0], LATENCY)  # the input's history: the low-pass's reach, the dry delay
_H4 = _reach_down(8, _SPAN[2], _SHIFT)  # decimator histories, in frames of each level
_H3 = _reach_down(4, _SPAN[1], 0)
_H2 = _reach_down(2, _SPAN[0], 0)
_H1 = max(_SPAN_A[0], _SPAN_A[1] + 1)
REACH = _H4 + _H3 + _H2 + _H1
"""Frames of zero residual after which every decimator history holds only zeros."""

# ---- state layout (offsets into the cascade's part of the clipper state) -----------
_ZRUN = 0  # frames of zero residual since the last nonzero one (capped at REACH)
_G_A = (1, 1 + len(_GA[0]))  # gains: the low-pass's two branches, then the half-bands
_G_H = (_G_A[1] + len(_GA[1]),)
_G_H = (*_G_H, _G_H[0] + _NP[0], _G_H[0] + _NP[0] + _NP[1])
_CONFIG_END = _G_H[2] + _NP[2]


def _levels() -> tuple[tuple[int, int], ...]:
    """(frame 0 of phase 0, phase stride) of each buffer, laid out after the gains.

    In order: the input, 2x, 4x, 8x going up, 16x (the oversampled signal,
    then its residual), 8x, 4x, 2x going down, the correction at the base rate.
    """
    at = _CONFIG_END
    out = []
    for phases, history in ((1, H_IN), (2, _M1), (4, _M2), (8, _M3), (16, _H4), (8, _H3),
                            (4, _H2), (2, _H1), (1, 0), (1, 0)):
        stride = 2 * (history + CHUNK)
        out.append((at + 2 * history, stride))
        at += phases * stride
    out.append((at, 0))
    return tuple(out)


_LAYOUT = _levels()
IN, U1, U2, U3, E4, E3, E2, E1, OUT, ACC = (base for base, _ in _LAYOUT[:10])
_S1, _S2, _S3, S4, _S3D, _S2D, _S1D = (stride for _, stride in _LAYOUT[1:8])
DRY = IN - 2 * LATENCY
"""Frame 0 of the input delayed by :data:`LATENCY`."""
SIZE = _LAYOUT[10][0]


def prepare(st: np.ndarray) -> None:
    """Write the filters' gains into ``st`` (the cascade's part of a zeroed state), as reset."""
    for off, g in zip((*_G_A, *_G_H), (*_GA, *_GH), strict=True):
        st[off : off + len(g)] = g
    st[_ZRUN] = REACH


@kernel
def reset(st: np.ndarray) -> None:
    """Clear every history; the decimator holds zeros."""
    st[_CONFIG_END:SIZE] = 0.0
    st[_ZRUN] = REACH


@kernel
def take_input(st, x, start, n):
    """Copy frames ``start .. start + n`` of ``x`` (n, 2) into the input buffer."""
    xs = x[start : start + n].reshape(2 * n)
    dst = st[IN : IN + 2 * n]
    for k in range(2 * n):
        dst[k] = xs[k]


@kernel
def keep_input(st, n):
    """Move the last :data:`H_IN` input frames before frame 0, for the next chunk."""
    _keep(st, IN, H_IN, n)


@kernel
def input_peak(st, n):
    """Largest ``|x|`` the interpolator reads for the chunk (its history included)."""
    xs = st[IN - 2 * H_IN : IN + 2 * n]
    peak = 0
    for k in range(xs.size):
        peak = max(peak, as_bits(abs(xs[k])))  # finite magnitudes order as their bits
    return from_bits(peak)


@kernel
def oversampled_peak(st, n):
    """Largest ``|u|`` of the chunk's 16x signal (after :func:`interpolate`)."""
    peak = 0
    for q in range(FACTOR):
        u = st[E4 + q * S4 : E4 + q * S4 + 2 * n]
        for k in range(2 * n):
            peak = max(peak, as_bits(abs(u[k])))
    return from_bits(peak)


@kernel(inline="always")
def _at(base, stride, pstep, phases, r):
    """Where ``x[phases k + r]`` lies for k = 0, in a signal kept as ``phases`` phases.

    ``pstep`` 2 reads only the even phases of a signal of ``2 phases``.
    """
    return base + (r % phases) * pstep * stride + 2 * (r // phases)


@kernel
def _keep(st, base, h, n):
    """Move frames ``n - h .. n`` of the phase at ``base`` to just before frame 0."""
    dst = st[base - 2 * h : base]
    src = st[base + 2 * (n - h) : base + 2 * n]
    for j in range(2 * h):  # forward copy: safe when the ranges overlap (n < h)
        dst[j] = src[j]


@kernel
def _copy(st, src, dst, m):
    s = st[src : src + m]
    d = st[dst : dst + m]
    for k in range(m):
        d[k] = s[k]


@kernel
def _fir(st, out, k0, n, g, pairs, span, base, stride, pstep, phases, r0):
    """``out[k] = sum_i g_i (x[P k + r0 - i] + x[P k + r0 - span + i])`` for frames k0 .. n.

    A symmetric FIR of ``pairs`` tap pairs (gains at ``st[g]``) on a signal
    kept as ``P = phases`` phases (see :func:`_at`), both channels at once;
    ``out`` is frame 0 of the output phase.
    """
    m = 2 * (n - k0)
    o = out + 2 * k0
    i = 0
    while i < pairs:
        a = _at(base, stride, pstep, phases, r0 - i) + 2 * k0
        b = _at(base, stride, pstep, phases, r0 - span + i) + 2 * k0
        if pairs - i >= 4:
            firpass.pass4(st, o, m, i == 0, g + i, a,
                          _at(base, stride, pstep, phases, r0 - i - 1) + 2 * k0,
                          _at(base, stride, pstep, phases, r0 - i - 2) + 2 * k0,
                          _at(base, stride, pstep, phases, r0 - i - 3) + 2 * k0, b,
                          _at(base, stride, pstep, phases, r0 - span + i + 1) + 2 * k0,
                          _at(base, stride, pstep, phases, r0 - span + i + 2) + 2 * k0,
                          _at(base, stride, pstep, phases, r0 - span + i + 3) + 2 * k0)
            i += 4
        elif pairs - i == 3:
            firpass.pass3(st, o, m, i == 0, g + i, a,
                          _at(base, stride, pstep, phases, r0 - i - 1) + 2 * k0,
                          _at(base, stride, pstep, phases, r0 - i - 2) + 2 * k0, b,
                          _at(base, stride, pstep, phases, r0 - span + i + 1) + 2 * k0,
                          _at(base, stride, pstep, phases, r0 - span + i + 2) + 2 * k0)
            i += 3
        else:
            firpass.pass1(st, o, m, i == 0, g + i, a, b)
            i += 1


@kernel
def _up(st, src, sstride, phases, dst, dstride, g, pairs, k0, n):
    """A half-band interpolator from ``phases`` phases to twice as many, frames k0 .. n.

    Output phase ``2q`` is the FIR; output phase ``2q + 1`` is the input
    ``x[P k + q - m]`` (the centre tap, 1), copied.
    """
    span = 2 * pairs - 1
    for q in range(phases):
        _fir(st, dst + 2 * q * dstride, k0, n, g, pairs, span, src, sstride, 1, phases, q)
        _copy(st, _at(src, sstride, 1, phases, q - (pairs - 1)) + 2 * k0,
              dst + (2 * q + 1) * dstride + 2 * k0, 2 * (n - k0))


@kernel
def _down(st, src, sstride, phases, dst, dstride, g, pairs, shift, n):
    """A half-band decimator from ``2 phases`` phases to ``phases``, frames 0 .. n.

    ``y[t] = (sum_i g_i v[2 (t - shift - i)] + v[2 (t - shift) - span]) / 2``:
    the FIR over the input's even phases, plus its odd phase at the centre.
    """
    span = 2 * pairs - 1
    for q in range(phases):
        out = dst + q * dstride
        _fir(st, out, 0, n, g, pairs, span, src, sstride, 2, phases, q - shift)
        c = _at(src, sstride, 1, 2 * phases, 2 * q - span - 2 * shift)
        o = st[out : out + 2 * n]
        v = st[c : c + 2 * n]
        for k in range(2 * n):
            o[k] = 0.5 * (o[k] + v[k])


@kernel
def interpolate(st, n):
    """The input's ``n`` frames at 16x, into the 16 phases at :data:`E4` (frames 0 .. n)."""
    for p in range(2):  # 1x -> 2x: the low-pass's two branches
        _fir(st, U1 + p * _S1, -_M1, n, _G_A[p], _GA_PAIRS[p], _SPAN_A[p], IN, 0, 1, 1, 0)
    _up(st, U1, _S1, 2, U2, _S2, _G_H[0], _NP[0], -_M2, n)
    _up(st, U2, _S2, 4, U3, _S3, _G_H[1], _NP[1], -_M3, n)
    _up(st, U3, _S3, 8, E4, S4, _G_H[2], _NP[2], 0, n)


@kernel
def _decimate(st, n):
    """The residual's ``n`` frames at :data:`E4` back to the base rate, into :data:`OUT`."""
    _down(st, E4, S4, 8, E3, _S3D, _G_H[2], _NP[2], _SHIFT, n)
    _down(st, E3, _S3D, 4, E2, _S2D, _G_H[1], _NP[1], 0, n)
    _down(st, E2, _S2D, 2, E1, _S1D, _G_H[0], _NP[0], 0, n)
    # 2x -> 1x: y[k] = sum_i h[2i] E[k - i] + sum_i h[2i + 1] O[k - 1 - i] (gains are 2 h)
    _fir(st, OUT, 0, n, _G_A[0], _GA_PAIRS[0], _SPAN_A[0], E1, 0, 1, 1, 0)
    _fir(st, ACC, 0, n, _G_A[1], _GA_PAIRS[1], _SPAN_A[1], E1 + _S1D, 0, 1, 1, -1)
    out = st[OUT : OUT + 2 * n]
    acc = st[ACC : ACC + 2 * n]
    for k in range(2 * n):
        out[k] = 0.5 * (out[k] + acc[k]) + 0.0  # + 0.0: a zero is +0.0 on every path
    for q in range(FACTOR):
        _keep(st, E4 + q * S4, _H4, n)
    for q in range(8):
        _keep(st, E3 + q * _S3D, _H3, n)
    for q in range(4):
        _keep(st, E2 + q * _S2D, _H2, n)
    for q in range(2):
        _keep(st, E1 + q * _S1D, _H1, n)


@kernel
def decimate(st, n):
    """Decimate a residual computed for ``n`` frames (see :func:`_decimate`)."""
    _decimate(st, n)
    st[_ZRUN] = 0.0


@kernel
def decimate_silence(st, n):
    """Decimate ``n`` frames of a residual known to be exactly zero.

    While the decimator still holds something of an earlier residual, it
    runs on zeros; once it holds only zeros (:data:`REACH` frames on), its
    output is zero and nothing runs.
    """
    if st[_ZRUN] >= REACH:
        out = st[OUT : OUT + 2 * n]
        for k in range(2 * n):
            out[k] = 0.0
        return
    for q in range(FACTOR):
        e = st[E4 + q * S4 : E4 + q * S4 + 2 * n]
        for k in range(2 * n):
            e[k] = 0.0
    _decimate(st, n)
    st[_ZRUN] = min(st[_ZRUN] + n, REACH)
