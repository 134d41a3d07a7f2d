"""Feed-forward mastering compressor (Giannoulis, Massberg & Reiss, JAES 2012).

The topology is the one the paper recommends for smooth, artefact-free gain
control: the sidechain level is turned into dB, a static *gain computer* with
a quadratic soft knee maps it to the wanted gain change, and a *smooth
decoupled peak detector* smooths that gain change in the log domain. Smoothing
the gain (rather than the level) keeps attack and release times independent of
the ratio and threshold, and the decoupled detector lets release run on its own
time constant without the attack filter chopping it.

Mastering extras:

- a 2nd-order Butterworth high-pass in the sidechain (``sc_hpf_hz``) so the
  kick and bass do not pump the whole mix;
- stereo link (``link_pct``): the detector level of each channel is a blend,
  in linear amplitude, between the channel's own level and the louder of the
  two; 100 % gives both channels one and the same gain, so the image stays put;
- parallel mix (``mix_pct``): the dry signal is the stage input itself (the
  stage has no latency, so dry and compressed are sample-aligned);
- the bypass switch crossfades over ``dsp.smoothing.SWITCH_FADE_MS``.

Gain reduction is reported in ``taps[COMP_GR_DB]`` as the largest detector
value of the block (positive dB), i.e. the reduction applied at 100 % mix.

Speed. The level-to-dB and dB-to-gain conversions use :func:`fast_log2` and
:func:`fast_exp2` (exponent bits plus a polynomial; errors below 2e-8 dB and
2e-15 relative), which, unlike libm calls, vectorise. While no parameter
moves, the kernel runs in passes over chunks of :data:`CHUNK` frames: the
recursive parts (sidechain filter, detector) in tight scalar loops, the
conversions and the gain in vector loops; at 100 % link one detector serves
both channels. While a parameter glides it runs the same arithmetic sample by
sample. Both ways compute every sample with the same expressions, so the
output is bit for bit the same wherever blocks or chunks start. The
recursions (sidechain filter in direct form I, detector) use :func:`fma`,
which rounds once and gives the same bits in scalar and vector code, and
shortens their dependency chains to one instruction per sample.
"""

from __future__ import annotations

import math

import numpy as np

from dsp._jit import kernel
from dsp.fastmath import fast_exp2, fast_log2, fma
from dsp.params import (
    COMP_ATTACK,
    COMP_BYPASS,
    COMP_KNEE,
    COMP_LINK,
    COMP_MAKEUP,
    COMP_MIX,
    COMP_RATIO,
    COMP_RELEASE,
    COMP_SC_HPF,
    COMP_THRESHOLD,
)
from dsp.smoothing import HEADER, SR, glide, write_header
from dsp.taps import COMP_GR_DB

CHUNK = 256
"""Frames per pass while the parameters are settled (scratch stays in L1)."""

# State layout after the shared header. Cached parameter values (NaN until the
# first sample, so derived values are computed once and then only on change).
_K_THR, _K_RATIO, _K_KNEE, _K_ATT, _K_REL, _K_MAKEUP, _K_HPF = range(HEADER, HEADER + 7)
# Derived values of those parameters.
_LO = HEADER + 7  # knee start, dB (T - W/2)
_HI = HEADER + 8  # knee end, dB (T + W/2)
_SLOPE = HEADER + 9  # 1/R - 1
_HALF_INV_W = HEADER + 10  # 1 / (2 W), 0 for a hard knee
_AA = HEADER + 11  # attack coefficient
_AR = HEADER + 12  # release coefficient
_MK = HEADER + 13  # make-up gain, linear
_B0, _A1, _A2 = HEADER + 14, HEADER + 15, HEADER + 16  # sidechain HPF (b1 = -2 b0, b2 = b0)
_CONFIG_END = HEADER + 17
# History: cleared by reset(). Sidechain HPF (direct form I): inputs x[n-1],
# x[n-2] and outputs y[n-1], y[n-2] per channel; detector peak hold and output.
_X1L, _X2L, _S1L, _S2L = range(_CONFIG_END, _CONFIG_END + 4)
_X1R, _X2R, _S1R, _S2R = range(_CONFIG_END + 4, _CONFIG_END + 8)
_Y1L, _YLL, _Y1R, _YLR = range(_CONFIG_END + 8, _CONFIG_END + 12)
_HISTORY_END = _CONFIG_END + 12
# Scratch for the chunked passes (levels, then detector input, then its output).
_BUF_L = _HISTORY_END
_BUF_R = _BUF_L + CHUNK
SIZE = _BUF_R + CHUNK

_DB_TO_LN = math.log(10.0) / 20.0
_DB_PER_OCTAVE = 20.0 * math.log10(2.0)  # dB = _DB_PER_OCTAVE * log2(amplitude)
_DB_TO_LOG2 = math.log2(10.0) / 20.0  # log2(amplitude) = _DB_TO_LOG2 * dB


# ---- shared pieces of arithmetic (both paths use exactly these) -----------
@kernel
def gain_computer(level_db: float, threshold_db: float, ratio: float, knee_db: float) -> float:
    """Static curve: gain change in dB (<= 0) for a detector level in dB.

    Quadratic soft knee of width ``knee_db`` centred on the threshold, as in
    Giannoulis et al. eq. 4; a zero knee is the hard-knee curve. Exposed so
    tests and the UI draw the very curve the kernel uses.
    """
    lo = threshold_db - 0.5 * knee_db
    if level_db <= lo:
        return 0.0
    slope = 1.0 / ratio - 1.0
    if level_db >= threshold_db + 0.5 * knee_db:
        return slope * (level_db - threshold_db)
    over = level_db - lo
    return slope * over * over / (2.0 * knee_db)


@kernel
def _curve(thr, ratio, knee):
    """Derived constants of the gain computer: lo, hi, slope, 1/(2W)."""
    lo = thr - 0.5 * knee
    return lo, thr + 0.5 * knee, 1.0 / ratio - 1.0, 0.5 / knee if knee > 0.0 else 0.0


@kernel
def _coef(ms, fs):
    """One-pole coefficient for a time constant in ms."""
    return math.exp(-1000.0 / (ms * fs))


@kernel
def _hpf(freq, fs):
    """2nd-order Butterworth high-pass (RBJ, Q = 1/sqrt 2): b0, a1, a2 (b1 = -2 b0, b2 = b0)."""
    w0 = 2.0 * math.pi * min(freq, 0.45 * fs) / fs
    cw = math.cos(w0)
    alpha = math.sin(w0) * 0.7071067811865476  # sin(w0) / (2 Q)
    inv_a0 = 1.0 / (1.0 + alpha)
    return 0.5 * (1.0 + cw) * inv_a0, -2.0 * cw * inv_a0, (1.0 - alpha) * inv_a0


@kernel
def _reduction(lev, thr, lo, hi, slope, half_inv_w):
    """Wanted gain reduction (positive dB) for a linear detector level."""
    xg = _DB_PER_OCTAVE * fast_log2(lev)
    over = xg - lo
    gc = slope * over * over * half_inv_w if over > 0.0 else 0.0
    return -(slope * (xg - thr) if xg >= hi else gc)


@kernel
def _gain(y, mk):
    """Linear gain for a detector value ``y`` (dB of reduction) and make-up ``mk``."""
    return mk * fast_exp2(y * -_DB_TO_LOG2)


@kernel(inline="always")
def _hold(x, y1, ar):
    """The detector's release stage: ``max(x, ar y1 + (1 - ar) x)``, written as a choice.

    ``ar y1 + (1 - ar) x >= x`` exactly when ``y1 >= x`` (in exact arithmetic;
    rounding can leave the chosen value an ulp below ``x``, which the max
    would have lifted), so the comparison and the fused multiply-add run side
    by side: the recursion through ``y1`` waits one instruction and a blend
    instead of two instructions.
    """
    return x if y1 < x else fma(ar, y1, (1.0 - ar) * x)


# ---- the kernel -------------------------------------------------------------
def prepare(sample_rate: float) -> np.ndarray:
    """Allocate the compressor state for ``sample_rate`` (off the audio thread).

    Parameters
    ----------
    sample_rate : float
        Sample rate in Hz.

    Returns
    -------
    ndarray
        The state: smoothing header, cached settings (NaN, so they are derived
        on the first sample), cleared history and scratch.
    """
    state = np.zeros(SIZE, dtype=np.float64)
    write_header(state, sample_rate)
    state[_K_THR:_CONFIG_END] = np.nan
    return state


@kernel
def reset(state: np.ndarray) -> None:
    """Clear filter memories and detector envelopes; keep the header and derived settings."""
    state[_CONFIG_END:SIZE] = 0.0


def latency_samples(state: np.ndarray) -> int:
    """The compressor adds no latency (feed-forward, no lookahead)."""
    return 0


@kernel
def _settled(target, current):
    """True when no compressor parameter is gliding."""
    return (current[COMP_BYPASS] == target[COMP_BYPASS]
            and current[COMP_THRESHOLD] == target[COMP_THRESHOLD]
            and current[COMP_RATIO] == target[COMP_RATIO]
            and current[COMP_KNEE] == target[COMP_KNEE]
            and current[COMP_ATTACK] == target[COMP_ATTACK]
            and current[COMP_RELEASE] == target[COMP_RELEASE]
            and current[COMP_MAKEUP] == target[COMP_MAKEUP]
            and current[COMP_SC_HPF] == target[COMP_SC_HPF]
            and current[COMP_LINK] == target[COMP_LINK]
            and current[COMP_MIX] == target[COMP_MIX])


@kernel
def _derive(current, state):
    """Bring the derived settings up to date with ``current`` (as the per-sample path does)."""
    fs = state[SR]
    thr, ratio, knee = current[COMP_THRESHOLD], current[COMP_RATIO], current[COMP_KNEE]
    if thr != state[_K_THR] or ratio != state[_K_RATIO] or knee != state[_K_KNEE]:
        state[_K_THR], state[_K_RATIO], state[_K_KNEE] = thr, ratio, knee
        state[_LO], state[_HI], state[_SLOPE], state[_HALF_INV_W] = _curve(thr, ratio, knee)
    att = current[COMP_ATTACK]
    if att != state[_K_ATT]:
        state[_K_ATT] = att
        state[_AA] = _coef(att, fs)
    rel = current[COMP_RELEASE]
    if rel != state[_K_REL]:
        state[_K_REL] = rel
        state[_AR] = _coef(rel, fs)
    mkdb = current[COMP_MAKEUP]
    if mkdb != state[_K_MAKEUP]:
        state[_K_MAKEUP] = mkdb
        state[_MK] = math.exp(mkdb * _DB_TO_LN)
    hpf = current[COMP_SC_HPF]
    if hpf != state[_K_HPF]:
        state[_K_HPF] = hpf
        state[_B0], state[_A1], state[_A2] = _hpf(hpf, fs)


@kernel
def _process_settled(x, start, n, current, state):
    """Frames ``start .. start + n`` (n <= CHUNK) with every parameter settled; returns max GR."""
    link = current[COMP_LINK] * 0.01
    mix = current[COMP_MIX] * 0.01
    byp = current[COMP_BYPASS]
    thr = current[COMP_THRESHOLD]
    lo, hi, slope, half_inv_w = state[_LO], state[_HI], state[_SLOPE], state[_HALF_INV_W]
    aa, ar, mk = state[_AA], state[_AR], state[_MK]
    b0, a1, a2 = state[_B0], state[_A1], state[_A2]
    x1l, x2l, s1l, s2l = state[_X1L], state[_X2L], state[_S1L], state[_S2L]
    x1r, x2r, s1r, s2r = state[_X1R], state[_X2R], state[_S1R], state[_S2R]
    y1l, yll, y1r, ylr = state[_Y1L], state[_YLL], state[_Y1R], state[_YLR]
    bl = state[_BUF_L:_BUF_L + n]
    br = state[_BUF_R:_BUF_R + n]
    one = link == 1.0 and y1l == y1r and yll == ylr  # one detector serves both channels
    xs = x[start:start + n].reshape(2 * n)  # flat: plain addressing
    # 1. sidechain high-pass (direct form I) and detector levels
    for i in range(n):
        dl = xs[2 * i]
        dr = xs[2 * i + 1]
        sl = fma(-a1, s1l, fma(-a2, s2l, b0 * ((dl + x2l) - 2.0 * x1l)))
        sr = fma(-a1, s1r, fma(-a2, s2r, b0 * ((dr + x2r) - 2.0 * x1r)))
        x2l, x1l, s2l, s1l = x1l, dl, s1l, sl
        x2r, x1r, s2r, s1r = x1r, dr, s1r, sr
        bl[i] = abs(sl)
        br[i] = abs(sr)
    if one:  # (1 - link) al + link max(al, ar) is exactly the max at 100 %
        for i in range(n):
            bl[i] = max(bl[i], br[i])
    else:
        for i in range(n):
            al = bl[i]
            arr = br[i]
            peak = max(al, arr)
            bl[i] = (1.0 - link) * al + link * peak
            br[i] = (1.0 - link) * arr + link * peak
    # 2. gain computer (vectorised)
    for i in range(n):
        bl[i] = _reduction(bl[i], thr, lo, hi, slope, half_inv_w)
    if not one:
        for i in range(n):
            br[i] = _reduction(br[i], thr, lo, hi, slope, half_inv_w)
    # 3. smooth decoupled peak detector (recursive)
    gr_max = 0.0
    if one:
        for i in range(n):
            xl = bl[i]
            y1l = _hold(xl, y1l, ar)
            yll = fma(aa, yll, (1.0 - aa) * y1l)
            bl[i] = yll
            gr_max = max(gr_max, yll)
        y1r, ylr = y1l, yll
    else:
        for i in range(n):
            xl = bl[i]
            y1l = _hold(xl, y1l, ar)
            yll = fma(aa, yll, (1.0 - aa) * y1l)
            bl[i] = yll
            xr = br[i]
            y1r = _hold(xr, y1r, ar)
            ylr = fma(aa, ylr, (1.0 - aa) * y1r)
            br[i] = ylr
            gr_max = max(gr_max, yll, ylr)
    state[_X1L], state[_X2L], state[_S1L], state[_S2L] = x1l, x2l, s1l, s2l
    state[_X1R], state[_X2R], state[_S1R], state[_S2R] = x1r, x2r, s1r, s2r
    state[_Y1L], state[_YLL], state[_Y1R], state[_YLR] = y1l, yll, y1r, ylr
    if byp == 1.0:
        return gr_max  # fully bypassed: dry passes untouched, detector stays warm
    # 4. gain, mix and bypass (vectorised over the flat view of the frames)
    if one:
        for i in range(n):
            g = _gain(bl[i], mk)
            dl = xs[2 * i]
            dr = xs[2 * i + 1]
            wl = dl + mix * (dl * g - dl)
            wr = dr + mix * (dr * g - dr)
            xs[2 * i] = wl + byp * (dl - wl)
            xs[2 * i + 1] = wr + byp * (dr - wr)
    else:
        for i in range(n):
            gl = _gain(bl[i], mk)
            gr = _gain(br[i], mk)
            dl = xs[2 * i]
            dr = xs[2 * i + 1]
            wl = dl + mix * (dl * gl - dl)
            wr = dr + mix * (dr * gr - dr)
            xs[2 * i] = wl + byp * (dl - wl)
            xs[2 * i + 1] = wr + byp * (dr - wr)
    return gr_max


@kernel
def _process_gliding(x, start, n, target, current, state):
    """Frames ``start .. start + n`` sample by sample, parameters gliding; returns max GR."""
    fs = state[SR]
    k_thr, k_ratio, k_knee = state[_K_THR], state[_K_RATIO], state[_K_KNEE]
    k_att, k_rel, k_mk, k_hpf = state[_K_ATT], state[_K_REL], state[_K_MAKEUP], state[_K_HPF]
    lo, hi, slope, half_inv_w = state[_LO], state[_HI], state[_SLOPE], state[_HALF_INV_W]
    aa, ar, mk = state[_AA], state[_AR], state[_MK]
    b0, a1, a2 = state[_B0], state[_A1], state[_A2]
    x1l, x2l, s1l, s2l = state[_X1L], state[_X2L], state[_S1L], state[_S2L]
    x1r, x2r, s1r, s2r = state[_X1R], state[_X2R], state[_S1R], state[_S2R]
    y1l, yll, y1r, ylr = state[_Y1L], state[_YLL], state[_Y1R], state[_YLR]
    gr_max = 0.0
    for i in range(start, start + n):
        # Each read is ``glide(...)``; the inline equality test skips the call
        # when a parameter is settled (numba keeps array reference counting
        # around an unconditional call: ~30 ns per call, 10 calls per sample).
        byp = current[COMP_BYPASS]
        if byp != target[COMP_BYPASS]:
            byp = glide(target, current, COMP_BYPASS, state)
        thr = current[COMP_THRESHOLD]
        if thr != target[COMP_THRESHOLD]:
            thr = glide(target, current, COMP_THRESHOLD, state)
        ratio = current[COMP_RATIO]
        if ratio != target[COMP_RATIO]:
            ratio = glide(target, current, COMP_RATIO, state)
        knee = current[COMP_KNEE]
        if knee != target[COMP_KNEE]:
            knee = glide(target, current, COMP_KNEE, state)
        att = current[COMP_ATTACK]
        if att != target[COMP_ATTACK]:
            att = glide(target, current, COMP_ATTACK, state)
        rel = current[COMP_RELEASE]
        if rel != target[COMP_RELEASE]:
            rel = glide(target, current, COMP_RELEASE, state)
        mkdb = current[COMP_MAKEUP]
        if mkdb != target[COMP_MAKEUP]:
            mkdb = glide(target, current, COMP_MAKEUP, state)
        hpf = current[COMP_SC_HPF]
        if hpf != target[COMP_SC_HPF]:
            hpf = glide(target, current, COMP_SC_HPF, state)
        link = current[COMP_LINK]
        if link != target[COMP_LINK]:
            link = glide(target, current, COMP_LINK, state)
        mix = current[COMP_MIX]
        if mix != target[COMP_MIX]:
            mix = glide(target, current, COMP_MIX, state)
        link *= 0.01
        mix *= 0.01
        # Re-derive only what moved (NaN caches never compare equal: first sample derives all).
        if thr != k_thr or ratio != k_ratio or knee != k_knee:
            k_thr, k_ratio, k_knee = thr, ratio, knee
            lo, hi, slope, half_inv_w = _curve(thr, ratio, knee)
        if att != k_att:
            k_att = att
            aa = _coef(att, fs)
        if rel != k_rel:
            k_rel = rel
            ar = _coef(rel, fs)
        if mkdb != k_mk:
            k_mk = mkdb
            mk = math.exp(mkdb * _DB_TO_LN)
        if hpf != k_hpf:
            k_hpf = hpf
            b0, a1, a2 = _hpf(hpf, fs)
        dl = x[i, 0]
        dr = x[i, 1]
        # Sidechain high-pass (direct form I; b1 = -2 b0, b2 = b0).
        sl = fma(-a1, s1l, fma(-a2, s2l, b0 * ((dl + x2l) - 2.0 * x1l)))
        sr = fma(-a1, s1r, fma(-a2, s2r, b0 * ((dr + x2r) - 2.0 * x1r)))
        x2l, x1l, s2l, s1l = x1l, dl, s1l, sl
        x2r, x1r, s2r, s1r = x1r, dr, s1r, sr
        # Detector levels: linear blend between own level and the louder channel.
        al = abs(sl)
        arr = abs(sr)
        peak = max(al, arr)
        lev_l = (1.0 - link) * al + link * peak  # exact at 0 % and 100 %
        lev_r = (1.0 - link) * arr + link * peak
        # Smooth decoupled peak detector on the gain reduction (positive dB).
        xl = _reduction(lev_l, thr, lo, hi, slope, half_inv_w)
        y1l = _hold(xl, y1l, ar)
        yll = fma(aa, yll, (1.0 - aa) * y1l)
        xr = _reduction(lev_r, thr, lo, hi, slope, half_inv_w)
        y1r = _hold(xr, y1r, ar)
        ylr = fma(aa, ylr, (1.0 - aa) * y1r)
        gr_max = max(gr_max, yll, ylr)
        if byp == 1.0:
            continue  # fully bypassed: dry passes untouched, detector stays warm
        gl = _gain(yll, mk)
        gr = _gain(ylr, mk)
        wl = dl + mix * (dl * gl - dl)
        wr = dr + mix * (dr * gr - dr)
        x[i, 0] = wl + byp * (dl - wl)
        x[i, 1] = wr + byp * (dr - wr)
    state[_K_THR], state[_K_RATIO], state[_K_KNEE] = k_thr, k_ratio, k_knee
    state[_K_ATT], state[_K_REL], state[_K_MAKEUP], state[_K_HPF] = k_att, k_rel, k_mk, k_hpf
    state[_LO], state[_HI], state[_SLOPE], state[_HALF_INV_W] = lo, hi, slope, half_inv_w
    state[_AA], state[_AR], state[_MK] = aa, ar, mk
    state[_B0], state[_A1], state[_A2] = b0, a1, a2
    state[_X1L], state[_X2L], state[_S1L], state[_S2L] = x1l, x2l, s1l, s2l
    state[_X1R], state[_X2R], state[_S1R], state[_S2R] = x1r, x2r, s1r, s2r
    state[_Y1L], state[_YLL], state[_Y1R], state[_YLR] = y1l, yll, y1r, ylr
    return gr_max


@kernel
def process(x, target, current, state, taps) -> None:
    """Compress ``x`` (n, 2) in place; see the module docstring for the signal flow."""
    gr_max = 0.0
    total = x.shape[0]
    for start in range(0, total, CHUNK):
        n = min(CHUNK, total - start)
        if _settled(target, current):
            _derive(current, state)  # a no-op unless a value was set without a glide
            gr = _process_settled(x, start, n, current, state)
        else:
            gr = _process_gliding(x, start, n, target, current, state)
        gr_max = max(gr_max, gr)
    for j in (_S1L, _S2L, _S1R, _S2R, _Y1L, _YLL, _Y1R, _YLR):
        if abs(state[j]) <= 1e-30:
            state[j] = 0.0  # denormal guard on the recursive state
    taps[COMP_GR_DB] = gr_max
