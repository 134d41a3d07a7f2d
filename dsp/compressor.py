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
"""

from __future__ import annotations

import math

import numpy as np

from dsp._jit import kernel
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

# State layout after the shared header. Cached parameter values (NaN until the
# first sample, so derived values are computed once and then only on change).
_K_THR, _K_RATIO, _K_KNEE, _K_ATT, _K_REL, _K_MAKEUP, _K_HPF = range(HEADER, HEADER + 7)
# Derived values of those parameters.
_LO = HEADER + 7  # knee start, dB (T - W/2)
_LIN_LO = HEADER + 8  # knee start as a linear amplitude: below it no log is needed
_SLOPE = HEADER + 9  # 1/R - 1
_HALF_INV_W = HEADER + 10  # 1 / (2 W), 0 for a hard knee
_W = HEADER + 11
_AA = HEADER + 12  # attack coefficient
_AR = HEADER + 13  # release coefficient
_MK = HEADER + 14  # make-up gain, linear
_B0, _A1, _A2 = HEADER + 15, HEADER + 16, HEADER + 17  # sidechain HPF (b1 = -2 b0, b2 = b0)
_CONFIG_END = HEADER + 18
# History: cleared by reset().
_Z1L, _Z2L, _Z1R, _Z2R = range(_CONFIG_END, _CONFIG_END + 4)  # sidechain HPF memories
_Y1L, _YLL, _Y1R, _YLR = range(_CONFIG_END + 4, _CONFIG_END + 8)  # detector: peak hold, output
SIZE = _CONFIG_END + 8

_DB_TO_LN = math.log(10.0) / 20.0
_LIN_TO_DB = 20.0 / math.log(10.0)


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
        on the first sample) and cleared history.
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
def process(x, target, current, state, taps) -> None:
    """Compress ``x`` (n, 2) in place; see the module docstring for the signal flow."""
    n = x.shape[0]
    fs = state[SR]
    # Derived settings into locals.
    k_thr, k_ratio, k_knee = state[_K_THR], state[_K_RATIO], state[_K_KNEE]
    k_att, k_rel, k_mk, k_hpf = state[_K_ATT], state[_K_REL], state[_K_MAKEUP], state[_K_HPF]
    lo, lin_lo, slope = state[_LO], state[_LIN_LO], state[_SLOPE]
    half_inv_w, w = state[_HALF_INV_W], state[_W]
    aa, ar, mk = state[_AA], state[_AR], state[_MK]
    b0, a1, a2 = state[_B0], state[_A1], state[_A2]
    # History into locals.
    z1l, z2l, z1r, z2r = state[_Z1L], state[_Z2L], state[_Z1R], state[_Z2R]
    y1l, yll, y1r, ylr = state[_Y1L], state[_YLL], state[_Y1R], state[_YLR]
    gr_max = 0.0
    for i in range(n):
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
            lo = thr - 0.5 * knee
            lin_lo = math.exp(lo * _DB_TO_LN)
            slope = 1.0 / ratio - 1.0
            w = knee
            half_inv_w = 0.5 / knee if knee > 0.0 else 0.0
        if att != k_att:
            k_att = att
            aa = math.exp(-1000.0 / (att * fs))
        if rel != k_rel:
            k_rel = rel
            ar = math.exp(-1000.0 / (rel * fs))
        if mkdb != k_mk:
            k_mk = mkdb
            mk = math.exp(mkdb * _DB_TO_LN)
        if hpf != k_hpf:
            k_hpf = hpf
            w0 = 2.0 * math.pi * min(hpf, 0.45 * fs) / fs
            cw = math.cos(w0)
            alpha = math.sin(w0) * 0.7071067811865476  # sin(w0) / (2 Q), Q = 1/sqrt(2)
            inv_a0 = 1.0 / (1.0 + alpha)
            b0 = 0.5 * (1.0 + cw) * inv_a0
            a1 = -2.0 * cw * inv_a0
            a2 = (1.0 - alpha) * inv_a0
        dl = x[i, 0]
        dr = x[i, 1]
        # Sidechain high-pass (transposed direct form II; b1 = -2 b0, b2 = b0).
        sl = b0 * dl + z1l
        z1l = -2.0 * b0 * dl - a1 * sl + z2l
        z2l = b0 * dl - a2 * sl
        sr = b0 * dr + z1r
        z1r = -2.0 * b0 * dr - a1 * sr + z2r
        z2r = b0 * dr - a2 * sr
        # Detector levels: linear blend between own level and the louder channel.
        al = abs(sl)
        arr = abs(sr)
        peak = max(al, arr)
        lev_l = (1.0 - link) * al + link * peak  # exact at 0 % and 100 %
        lev_r = (1.0 - link) * arr + link * peak
        # Gain computer (inline copy of gain_computer with cached constants).
        gcl = 0.0
        if lev_l > lin_lo:
            xg = math.log(lev_l) * _LIN_TO_DB
            if xg >= lo + w:
                gcl = slope * (xg - thr)
            elif xg > lo:
                gcl = slope * (xg - lo) * (xg - lo) * half_inv_w
        if lev_r == lev_l:
            gcr = gcl
        else:
            gcr = 0.0
            if lev_r > lin_lo:
                xg = math.log(lev_r) * _LIN_TO_DB
                if xg >= lo + w:
                    gcr = slope * (xg - thr)
                elif xg > lo:
                    gcr = slope * (xg - lo) * (xg - lo) * half_inv_w
        # Smooth decoupled peak detector on the gain reduction (positive dB).
        xl = -gcl
        y1l = max(xl, ar * y1l + (1.0 - ar) * xl)
        yll = aa * yll + (1.0 - aa) * y1l
        xr = -gcr
        y1r = max(xr, ar * y1r + (1.0 - ar) * xr)
        ylr = aa * ylr + (1.0 - aa) * y1r
        gr_max = max(gr_max, yll, ylr)
        gl = mk if yll == 0.0 else mk * math.exp(-yll * _DB_TO_LN)
        if ylr == yll:  # linked and settled: one exp for both
            gr = gl
        else:
            gr = mk if ylr == 0.0 else mk * math.exp(-ylr * _DB_TO_LN)
        if byp == 1.0:
            continue  # fully bypassed: dry passes untouched, detector stays warm
        wl = dl + mix * (dl * gl - dl)
        wr = dr + mix * (dr * gr - dr)
        x[i, 0] = wl + byp * (dl - wl)
        x[i, 1] = wr + byp * (dr - wr)
    state[_K_THR], state[_K_RATIO], state[_K_KNEE] = k_thr, k_ratio, k_knee
    state[_K_ATT], state[_K_REL], state[_K_MAKEUP], state[_K_HPF] = k_att, k_rel, k_mk, k_hpf
    state[_LO], state[_LIN_LO], state[_SLOPE] = lo, lin_lo, slope
    state[_HALF_INV_W], state[_W] = half_inv_w, w
    state[_AA], state[_AR], state[_MK] = aa, ar, mk
    state[_B0], state[_A1], state[_A2] = b0, a1, a2
    state[_Z1L] = z1l if abs(z1l) > 1e-30 else 0.0
    state[_Z2L] = z2l if abs(z2l) > 1e-30 else 0.0
    state[_Z1R] = z1r if abs(z1r) > 1e-30 else 0.0
    state[_Z2R] = z2r if abs(z2r) > 1e-30 else 0.0
    state[_Y1L] = y1l if y1l > 1e-30 else 0.0
    state[_YLL] = yll if yll > 1e-30 else 0.0
    state[_Y1R] = y1r if y1r > 1e-30 else 0.0
    state[_YLR] = ylr if ylr > 1e-30 else 0.0
    taps[COMP_GR_DB] = gr_max
