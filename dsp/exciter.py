"""Harmonic exciter: oversampled, alias-free saturation of the top end.

Signal flow per channel::

    x ─┬─ HPF2(freq) ─ up 2^S ─ NL(drive) ─ down 2^S ─ HPF4(freq) ─ × mix ─┐
       └─ delay(latency) ─────────────────────────────────────────────── + ─┴─ bypass ─ out

- Only content above ``freq_hz`` (2nd-order Butterworth high-pass) drives the
  nonlinearity, so bass and mids never generate harmonics.
- The nonlinearity is the *residual* of an asymmetric saturator,
  ``e = f(d·u)/d - u`` with ``f(v) = v / sqrt(1 + KAPPA·v + v²)`` (unit slope at
  0, smooth, bounded). Its asymmetry gives even harmonics, its saturation odd
  ones; ``e`` is computed in a cancellation-free form, so ``d = 0`` (amount 0)
  gives exactly nothing. At high drive the residual also holds the saturator's
  own compression of the top end, so at 100 % mix the band above ``freq_hz``
  is, roughly, replaced by its saturated version.
- The nonlinearity runs at 2^S times the sample rate (4x up to 50 kHz, 2x
  above), between linear-phase half-band FIR cascades
  (Kaiser-windowed, ~100 dB stopband, polyphase: half the taps are zero and
  the rest symmetric). Harmonics that would fold back are removed before the
  decimation can alias them.
- The generated signal is high-passed at ``freq_hz`` again (4th order, two
  Butterworth sections), to remove the DC of the asymmetric curve and the
  difference tones (intermodulation) that would otherwise muddy the mids.
- The dry path is delayed by exactly the latency of the linear-phase harmonic
  path, so both stay phase-aligned; :func:`latency_samples` reports it (48
  samples at 44.1/48 kHz, 39 above).

Processing runs in internal chunks of :data:`CHUNK` frames, one FIR pass per
tap over each chunk, so the loops vectorise; every output sample is computed
by the same expression wherever the chunk (or the caller's block) starts, so
the output does not depend on block size.
"""

from __future__ import annotations

import math

import numpy as np

from dsp._jit import kernel
from dsp.params import EXCITER_AMOUNT, EXCITER_BYPASS, EXCITER_FREQ, EXCITER_MIX
from dsp.smoothing import HEADER, SR, glide, write_header
from dsp.taps import EXCITER_ADDED_DB

KAPPA = 0.5
"""Asymmetry of the saturator (|KAPPA| < 2 keeps it smooth); 0.5 balances 2nd and 3rd."""
DRIVE_MAX = 4.0
"""Drive into the saturator at 100 % amount (+12 dB)."""
CHUNK = 128
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


# Half-band stages, lowest rate first. At 48 kHz: stage 0 (48<->96 k) passes
# 20 kHz and stops from 28 kHz, so a 28 kHz harmonic cannot fold to 20 kHz;
# stage 1 only has to protect 0..28 kHz from images and folds (stops from
# 68 kHz). Stopbands measured >= 99 dB. The code takes any number of stages:
# appending (23, 100.0) (stops from 164 kHz at 8x) and allowing 3 stages in
# _stages() buys 8x, >= 110 dB alias margin even for a full-scale 7 kHz sine
# at full drive (54 dB at 4x), for about 1.6x the CPU.
_DESIGNS = ((79, 100.0), (35, 110.0))
_PHASES = tuple(_kaiser_halfband(n, a) for n, a in _DESIGNS)
_P = tuple(len(g) for g in _PHASES)  # even-phase taps per stage (= centre + 1)
_C = tuple(p - 1 for p in _P)  # centre index (odd) = group delay at the high rate
_M = tuple((c - 1) // 2 for c in _C)  # delay of the centre phase at the low rate
S_MAX = len(_DESIGNS)


def _stages(sample_rate: float) -> int:
    """Oversampling stages for a rate: 4x at 44.1/48 kHz, 2x from 88.2 kHz up."""
    return min(2 if sample_rate <= 50000.0 else 1, S_MAX)


def _extra_delay(stages: int) -> int:
    """Top-rate samples to add so the total latency is a whole number of base samples."""
    top = 1 << stages
    total = sum(_C[s] * (top >> s) for s in range(stages))  # latency in top-rate samples
    return (-total) % top


def _latency(stages: int) -> int:
    top = 1 << stages
    total = sum(_C[s] * (top >> s) for s in range(stages)) + _extra_delay(stages)
    return total // top


if any(_extra_delay(s) % 2 for s in range(1, S_MAX + 1)):  # the phase split relies on it
    raise RuntimeError("dsp.exciter: the extra top-rate delay must be even")

# ---- state layout ---------------------------------------------------------
# Every buffer holds stereo frames (L, R interleaved), so one FIR pass filters
# both channels. A buffer holds one chunk preceded by the history its FIR
# needs; the offsets below point at frame 0 of the current chunk. The up path
# keeps levels 0..S-1 contiguous; the top level and the down path are kept
# split in even/odd phases, which is what a half-band decimator reads.
_H_UP = _C  # up-stage L reads c_L frames of history at level L
_H_TE = max(_C[s - 1] + _extra_delay(s) // 2 for s in range(1, S_MAX + 1))
_H_TO = max((_C[s - 1] + 1) // 2 + _extra_delay(s) // 2 for s in range(1, S_MAX + 1))
_H_DE = tuple(_C[lv - 1] if lv else 0 for lv in range(S_MAX))
_H_DO = tuple((_C[lv - 1] + 1) // 2 if lv else 0 for lv in range(S_MAX))
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
_CONFIG_END = _pos
# History (cleared by reset).
_Z = _CONFIG_END  # z1, z2 for L and R: input HPF, then the two output HPF sections
_pos = _Z + 12


def _slots(count: int) -> int:
    """Reserve ``count`` slots of the state; return the first."""
    global _pos
    _pos += count
    return _pos - count


def _buffer(history: int, frames: int) -> int:
    """Reserve ``history + frames`` stereo frames; return the offset of frame 0."""
    return _slots(2 * (history + frames)) + 2 * history


_TOP = CHUNK << (S_MAX - 1)  # frames per phase at the top level, at most
_UP = tuple(_buffer(_H_UP[lv], CHUNK << lv) for lv in range(S_MAX))
_TE = _buffer(_H_TE, _TOP)  # top level, even phase
_TO = _buffer(_H_TO, _TOP)  # top level, odd phase
_DE = tuple(_buffer(_H_DE[lv], CHUNK << (lv - 1)) if lv else 0 for lv in range(S_MAX))
_DO = tuple(_buffer(_H_DO[lv], CHUNK << (lv - 1)) if lv else 0 for lv in range(S_MAX))
_DRY = _buffer(_H_DRY, CHUNK)  # dry delay line
_OUT = _buffer(0, CHUNK)  # harmonics back at the base rate
_ACC = _buffer(0, CHUNK << (S_MAX - 1))  # FIR accumulator scratch
_DRIVE = _slots(CHUNK)  # per-frame parameter values of the chunk
_MIXV = _slots(CHUNK)
_BYP = _slots(CHUNK)
_FREQV = _slots(CHUNK)
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


@kernel
def _fir_pairs(acc, x, n, st, g, p):
    """``acc[f] = sum_i g_i (x[f + c - i] + x[f + i])`` over stereo frames, ``c = p - 1``.

    A symmetric FIR on both channels at once: ``x`` starts ``c`` frames before
    the first output's newest input. One pass per tap pair over contiguous
    views, so the loop vectorises (offset indexing into one big array would not).
    """
    m = 2 * n
    for k in range(m):
        acc[k] = 0.0
    c = p - 1
    for i in range(p // 2):
        gi = st[g + i]
        xa = x[2 * (c - i) : 2 * (c - i) + m]
        xb = x[2 * i : 2 * i + m]
        for k in range(m):
            acc[k] += gi * (xa[k] + xb[k])


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
def _upsample(st, src, dst_even, dst_odd, n, lv):
    """Double the rate of ``n`` frames at level ``lv`` (half-band interpolation, polyphase).

    The even outputs are the symmetric FIR, the odd ones the input delayed by
    ``m`` (the centre tap). With ``dst_odd == 0`` the phases are interleaved
    into ``dst_even`` (next up stage), else written apart (top level).
    """
    p, m = _P[lv], _M[lv]
    x = st[src - 2 * (p - 1) : src + 2 * n]
    odd = x[2 * (p - 1 - m) : 2 * (p - 1 - m + n)]
    if dst_odd:
        _fir_pairs(st[dst_even : dst_even + 2 * n], x, n, st, _G[lv], p)
        out = st[dst_odd : dst_odd + 2 * n]
        for k in range(2 * n):
            out[k] = odd[k]
    else:
        acc = st[_ACC : _ACC + 2 * n]
        _fir_pairs(acc, x, n, st, _G[lv], p)
        out = st[dst_even : dst_even + 4 * n]
        for f in range(n):
            out[4 * f] = acc[2 * f]
            out[4 * f + 1] = acc[2 * f + 1]
            out[4 * f + 2] = odd[2 * f]
            out[4 * f + 3] = odd[2 * f + 1]


@kernel
def _downsample(st, even, odd, dst_even, dst_odd, n, lv, shift):
    """Halve the rate to ``n`` frames at level ``lv`` from the phases of level ``lv + 1``.

    Half-band decimation, polyphase: the even phase goes through the symmetric
    FIR, the odd phase meets the centre tap (1/2). ``shift`` delays the input
    by ``2 shift`` frames (makes the total latency whole). With
    ``dst_odd == 0`` the output is written contiguously, else split in phases
    for the next decimator.
    """
    p, c = _P[lv], _C[lv]
    xe = st[even - 2 * (c + shift) : even + 2 * n]
    xo = st[odd - 2 * ((c + 1) // 2 + shift) : odd + 2 * n]
    acc = st[_ACC : _ACC + 2 * n]
    _fir_pairs(acc, xe, n, st, _G[lv], p)
    if dst_odd:
        out_e = st[dst_even : dst_even + n]
        out_o = st[dst_odd : dst_odd + n]
        for j in range(n // 2):
            out_e[2 * j] = 0.5 * (acc[4 * j] + xo[4 * j])
            out_e[2 * j + 1] = 0.5 * (acc[4 * j + 1] + xo[4 * j + 1])
            out_o[2 * j] = 0.5 * (acc[4 * j + 2] + xo[4 * j + 2])
            out_o[2 * j + 1] = 0.5 * (acc[4 * j + 3] + xo[4 * j + 3])
    else:
        out = st[dst_even : dst_even + 2 * n]
        for k in range(2 * n):
            out[k] = 0.5 * (acc[k] + xo[k])


@kernel
def _saturate(st, buf, n, shift):
    """Replace ``n`` frames of one top-level phase by the saturator residual, in place.

    ``e = u (q(d u) - 1)`` with ``q(v) = 1/sqrt(1 + p)``, ``p = v (KAPPA + v)``,
    rewritten as ``-u (p / (s (1 + s)))`` (``s = sqrt(1 + p)``) so small drive
    loses no precision and zero drive gives exactly zero. ``v`` is clamped
    so squares cannot overflow for absurd input. Frame ``j`` belongs to base
    frame ``j >> shift`` of the chunk, whose drive it uses.
    """
    r = 1 << shift
    drive = st[_DRIVE : _DRIVE + CHUNK]
    for k in range(n >> shift):
        d = drive[k]
        seg = st[buf + 2 * r * k : buf + 2 * r * (k + 1)]
        for j in range(2 * r):
            u = seg[j]
            v = min(max(d * u, -1e100), 1e100)
            p = v * (KAPPA + v)
            s = math.sqrt(1.0 + p)
            seg[j] = -u * (p / (s * (1.0 + s)))  # the ratio is < 1: no overflow


@kernel
def _keep_history(st, data, h, n):
    """Move the last ``h`` frames before frame ``n`` of ``data`` to just before frame 0."""
    for j in range(-2 * h, 0):
        st[data + j] = st[data + 2 * n + j]


@kernel
def _harmonics(st, n, stages, extra):
    """Run a chunk of ``n`` frames from ``_UP[0]`` (high-passed input) to ``_OUT`` (harmonics)."""
    top = stages - 1
    for lv in range(top):
        _upsample(st, _UP[lv], _UP[lv + 1], 0, n << lv, lv)
    _upsample(st, _UP[top], _TE, _TO, n << top, top)
    _saturate(st, _TE, n << top, top)
    _saturate(st, _TO, n << top, top)
    for lv in range(top, -1, -1):
        even, odd = (_TE, _TO) if lv == top else (_DE[lv + 1], _DO[lv + 1])
        dst_even, dst_odd = (_OUT, 0) if lv == 0 else (_DE[lv], _DO[lv])
        shift = extra // 2 if lv == top else 0
        _downsample(st, even, odd, dst_even, dst_odd, n << lv, lv, shift)
    for lv in range(stages):
        _keep_history(st, _UP[lv], _H_UP[lv], n << lv)
    _keep_history(st, _TE, _H_TE, n << top)
    _keep_history(st, _TO, _H_TO, n << top)
    for lv in range(1, stages):
        _keep_history(st, _DE[lv], _H_DE[lv], n << (lv - 1))
        _keep_history(st, _DO[lv], _H_DO[lv], n << (lv - 1))


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
    for start in range(0, total, CHUNK):
        n = min(CHUNK, total - start)
        # -- base rate, in: parameters, input high-pass, dry delay line --------
        k_freq, b0, a1, a2 = state[_K_FREQ], state[_B0], state[_A1], state[_A2]
        z1l, z2l, z1r, z2r = state[_Z], state[_Z + 1], state[_Z + 2], state[_Z + 3]
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
            if freq != k_freq:
                k_freq = freq
                b0, a1, a2 = _hpf(freq, fs)
            state[_BYP + k] = byp
            state[_FREQV + k] = freq
            state[_DRIVE + k] = amount * (DRIVE_MAX * 0.01)
            state[_MIXV + k] = mix * 0.01
            xl = x[start + k, 0]
            xr = x[start + k, 1]
            state[_DRY + 2 * k] = xl
            state[_DRY + 2 * k + 1] = xr
            yl = b0 * xl + z1l
            z1l = -2.0 * b0 * xl - a1 * yl + z2l
            z2l = b0 * xl - a2 * yl
            yr = b0 * xr + z1r
            z1r = -2.0 * b0 * xr - a1 * yr + z2r
            z2r = b0 * xr - a2 * yr
            state[_UP[0] + 2 * k] = yl
            state[_UP[0] + 2 * k + 1] = yr
        state[_K_FREQ], state[_B0], state[_A1], state[_A2] = k_freq, b0, a1, a2
        state[_Z], state[_Z + 1], state[_Z + 2], state[_Z + 3] = z1l, z2l, z1r, z2r
        # -- oversampled: harmonics of both channels at once --------------------
        _harmonics(state, n, stages, extra)
        # -- base rate, out: DC / difference-tone high-pass (4th order), mix, bypass
        k_freq, b0, a1, a2 = state[_K_FREQ_POST], state[_QB0], state[_QA1], state[_QA2]
        z1l, z2l, z1r, z2r = state[_Z + 4], state[_Z + 5], state[_Z + 6], state[_Z + 7]
        w1l, w2l, w1r, w2r = state[_Z + 8], state[_Z + 9], state[_Z + 10], state[_Z + 11]
        for k in range(n):
            freq = state[_FREQV + k]
            if freq != k_freq:
                k_freq = freq
                b0, a1, a2 = _hpf(freq, fs)
            hl = state[_OUT + 2 * k]
            hr = state[_OUT + 2 * k + 1]
            yl = b0 * hl + z1l
            z1l = -2.0 * b0 * hl - a1 * yl + z2l
            z2l = b0 * hl - a2 * yl
            yr = b0 * hr + z1r
            z1r = -2.0 * b0 * hr - a1 * yr + z2r
            z2r = b0 * hr - a2 * yr
            hl, hr = yl, yr  # second section: 24 dB/octave below freq
            yl = b0 * hl + w1l
            w1l = -2.0 * b0 * hl - a1 * yl + w2l
            w2l = b0 * hl - a2 * yl
            yr = b0 * hr + w1r
            w1r = -2.0 * b0 * hr - a1 * yr + w2r
            w2r = b0 * hr - a2 * yr
            dl = state[_DRY + 2 * (k - lat)]
            dr = state[_DRY + 2 * (k - lat) + 1]
            mix = state[_MIXV + k]
            byp = state[_BYP + k]
            wl = dl + mix * yl
            wr = dr + mix * yr
            ol = wl + byp * (dl - wl)
            or_ = wr + byp * (dr - wr)
            if byp == 1.0:
                ol, or_ = dl, dr
            x[start + k, 0] = ol
            x[start + k, 1] = or_
            added_sq += (ol - dl) * (ol - dl) + (or_ - dr) * (or_ - dr)
            dry_sq += dl * dl + dr * dr
        state[_K_FREQ_POST], state[_QB0], state[_QA1], state[_QA2] = k_freq, b0, a1, a2
        state[_Z + 4], state[_Z + 5], state[_Z + 6], state[_Z + 7] = z1l, z2l, z1r, z2r
        state[_Z + 8], state[_Z + 9], state[_Z + 10], state[_Z + 11] = w1l, w2l, w1r, w2r
        _keep_history(state, _DRY, _H_DRY, n)
    for j in range(_Z, _Z + 12):
        if abs(state[j]) < 1e-30:
            state[j] = 0.0
    taps[EXCITER_ADDED_DB] = _added_db(added_sq, dry_sq)
