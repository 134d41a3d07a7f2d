"""The limiter stage: a lookahead true-peak brick-wall limiter with a fixed latency.

This module is the stage's face (``prepare``, ``process``, ``reset``,
``latency_samples``) and its audio path: drive, the delay lines, the
settings, the gain on the way out, the last-resort clip and bypass. Its
other parts have a module each:

- :mod:`dsp.limiter_detector`: every interval between two samples checked
  at 8x with a long sinc and at the BS.1770 Annex-2 points, in single
  precision, with margins on the peak estimate where interpolators disagree;
  its answer is the gain each sample requests, stereo link applied.
- :mod:`dsp.limiter_gain`: the gain computer (Hämäläinen, DAFx-02), which
  holds the smallest request over the lookahead (:mod:`dsp.limiter_hold`)
  and smooths it (:mod:`dsp.limiter_smoothing`), so the gain is down before
  a peak leaves the delay line.
- :mod:`dsp.limiter_state`: where all of it lives in the one state array.

Why the stage's own parts are there:

- **Fixed latency.** The delay is always the longest lookahead plus the
  detector reach plus the plateau. A shorter lookahead feeds the hold from
  further back in the request line instead, so live changes of the
  lookahead never change the latency.
- **Last resort.** A clip at the ceiling in the sample domain, so the sample
  peak can never exceed it whatever happened upstream.

Stereo link: each channel's request is pulled toward the smaller of the two
by ``link_pct`` (100 % gives one gain for both, and then one gain computer
serves both channels once their states agree: half the work, same bits).
Drive multiplies the input before everything, and bypass crossfades against
the delayed dry input.

Live ceiling changes. The ceiling in force is the glided ceiling at the time
a sample *leaves*, so samples already in the delay line when it falls are
scaled by ``ceiling / detection ceiling`` (the ceiling they were limited to,
carried through the delay line with them). To need little of that scaling,
the detector limits to the lower of the ceiling and a faster glide toward the
target (``CEIL_LEAD_MS``), which has got close to where the ceiling will be
by the time the sample leaves. Both are continuous, so the scale is too: a
detection ceiling that jumped straight to the target made the scale jump
back to 1 at the first sample limited to the new target (a click of up to
4 dB on anything playing).
"""

from __future__ import annotations

import math

import numpy as np

from dsp import params as P
from dsp import taps as T
from dsp._jit import kernel
from dsp.limiter_detector import (
    HIST,
    REACH,
    detect,
    ebu_factor,
    gain_requests,
    linked_requests,
    peak_estimate,
)
from dsp.limiter_gain import gains, gains_settled, part_gains, same_gains
from dsp.limiter_state import (
    _CEIL_DB,
    _CEIL_G,
    _CH0,
    _CHARGE_A,
    _CHS,
    _DELAY,
    _DRIVE_DB,
    _DRIVE_G,
    _ECUR,
    _EFLOOR,
    _ENV,
    _ENV_BUCKET,
    _FAST_A,
    _IPREV,
    _LA,
    _LB,
    _LEAD_A,
    _LEAD_DB,
    _LEAD_G,
    _LINE,
    _LMAX,
    _LPOS,
    _PUSHED,
    _R,
    _REL_A,
    _REL_MS,
    _S_BYPASS,
    _S_CEIL,
    _S_HOLD,
    _S_LOOK,
    _S_REL,
    _S_REQ,
    _SA,
    _SB,
    _SCRATCH,
    _STYLE,
    _T,
    _TWIN,
    CHUNK,
    PLATEAU,
    state_layout,
)
from dsp.smoothing import SR, glide, write_header

LOOKAHEAD_MAX_MS = P.get("limiter.lookahead_ms").max
CEIL_LEAD_MS = 3.0
"""Time constant of the detector's lead glide toward a new ceiling (see the module notes).

Shorter leads the output ceiling more closely (less scaling of samples in the
delay line after a fall) but corners the gain harder: flipping the ceiling
-12/0 dBTP every 10 ms over a 110 Hz tone put -84 dB above 12 kHz at 1.5 ms,
-92 dB at 3 ms (12 ms, no lead: -91 dB but a scaling dip lasting 50 ms).
"""

STYLES: tuple[tuple[float, float, float], ...] = (
    (0.0, 0.0, 0.0),  # single: one release, limiter.release_ms (no envelope)
    (10.0, 100.0, 12.0),  # transparent
    (5.0, 200.0, 20.0),  # punchy
    (2.0, 400.0, 6.0),  # loud
)
"""Per ``dsp.params.RELEASE_STYLES``: (fast release ms, slow envelope's charge ms, its wait ms).

The gain comes back at the fast release as far as a slow envelope, which
charges toward the gain reduction at the charge time while reduction lasts
and recovers at ``limiter.release_ms`` (:func:`dsp.limiter_smoothing.release_dual`).
A reduction shorter than the charge time barely moves the envelope, so it
recovers at the fast release; a longer one is held and let go at the slow
release. A faster release and a slower charge are louder and add more
distortion.

The wait keeps the envelope from recovering between the peaks of a bass
note (which asks for reduction only near its waveform's peaks; without a
wait the envelope never charged and the fast release rode the waveform):
the envelope recovers only as far as the smallest held gain of the last
2/3 to 4/3 of the wait (:data:`BUCKET_OF_WAIT`). That floor is a minimum
over fixed stretches of time, not a wait counted from the last reduction:
a counted wait restarted whenever more drive made a reduction of a few
hundredths of a dB, and music then came out quieter in places with more
drive (up to 0.08 full scale at a sample, 0.11 dB over 400 ms). With the
floor every step of the release is non-decreasing in the held gain, so more
drive never turns a sample down (tested).

Measured at 48 kHz, release 100 ms: a 40 Hz sine peaking at -1 dBFS driven
12 dB in has harmonics at -36.5 dB (``single``), -49.6 (``transparent``),
-32.7 (``punchy``), -22.6 (``loud``); on the peer benchmark's music
``loud`` reaches the loudest of x42-dpl, LSP and alimiter (their overs
pulled down to the ceiling) on every song, with less added distortion than
the cleanest of them at equal loudness (docs/decisions.md has the tables).
"""


BUCKET_OF_WAIT = 2.0 / 3.0
"""The envelope's floor is the smallest held gain of the last one to two buckets of this
fraction of the wait: it holds between 2/3 and 4/3 of the wait after the last reduction."""


@kernel
def _style_coefficients(style: float, rate: float) -> tuple:
    """The fast release's and the charge's one-pole coefficients, and the floor's bucket.

    For ``style`` at ``rate``; the charge coefficient is -1 for ``single`` (no envelope).
    """
    k = min(max(int(style + 0.5), 0), len(STYLES) - 1)
    if k == 0:
        return 0.0, -1.0, 0.0
    fast_ms, charge_ms, wait_ms = STYLES[k]
    return (1.0 - math.exp(-1000.0 / (fast_ms * rate)),
            1.0 - math.exp(-1000.0 / (charge_ms * rate)),
            float(max(int(BUCKET_OF_WAIT * wait_ms * rate / 1000.0 + 0.5), 1)))


# _IDLE_CHECK: a parameter is read as ``current[i]`` and glided only when it
# differs from ``target[i]`` (see dsp.smoothing: an idle call costs ~35 ns).


def prepare(sample_rate: float) -> np.ndarray:
    """Allocate the limiter's state for ``sample_rate`` (off the audio thread)."""
    lmax = math.ceil(LOOKAHEAD_MAX_MS * sample_rate / 1000.0 - 1e-9)
    layout = state_layout(lmax)
    state = np.zeros(layout[-1])
    write_header(state, sample_rate)
    state[_LMAX] = lmax
    state[_DELAY] = layout[0]
    state[_LEAD_A] = 1.0 - math.exp(-1000.0 / (CEIL_LEAD_MS * sample_rate))
    reset(state)
    return state


def latency_samples(state: np.ndarray) -> int:
    """Delay from input to output in samples; constant for a given sample rate."""
    return int(state[_DELAY])


@kernel
def reset(state: np.ndarray) -> None:
    """Clear delay lines, detector history and gain state (unity gain, no peaks)."""
    lmax = int(state[_LMAX])
    layout = state_layout(lmax)
    o_dg, o_det, o_rq, o_qi, o_rb, size = (layout[6], layout[8], layout[12], layout[13],
                                           layout[15], layout[-1])
    state[_T:] = 0.0
    start = 4 * (lmax + 2 * PLATEAU + REACH + CHUNK)  # room for look-back indices
    state[_T] = start
    state[_DRIVE_DB] = math.nan
    state[_CEIL_DB] = math.nan
    state[_LEAD_DB] = math.nan
    state[_REL_MS] = math.nan
    state[_STYLE] = math.nan
    state[o_dg:o_det] = 1.0  # drive gains and detection ceilings
    state[o_rq:o_qi] = 1.0  # requests
    state[o_rb:size] = 1.0  # moving averages
    state[_TWIN] = 1.0  # both gain computers start the same
    state[_LPOS] = HIST
    for c in range(2):
        s = _CH0 + _CHS * c
        state[s + _R] = 1.0
        state[s + _LA] = 1.0
        state[s + _LB] = 1.0
        state[s + _SA] = 1.0
        state[s + _SB] = 1.0
        state[s + _ENV] = 1.0
        state[s + _EFLOOR] = 1.0
        state[s + _ECUR] = 1.0
        state[s + _PUSHED] = start - REACH - lmax - 2 * PLATEAU


@kernel(inline="always")
def _first_run(t: int, m: int, size: int) -> int:
    """How many of the ring slots ``t .. t + m - 1`` come before the ring wraps."""
    return min(m, size - (t & (size - 1)))


@kernel
def _drive_run(xf: np.ndarray, i0: int, i1: int, offset: int, g: float, dg: np.ndarray,
               dry0: np.ndarray, dry1: np.ndarray, line0: np.ndarray,
               line1: np.ndarray) -> None:
    """Frames ``i0 .. i1 - 1`` of a chunk into the rings (slot ``i + offset``) and lines.

    ``xf`` is the chunk's frames, flat (L, R, L, R, ...).
    """
    for i in range(i0, i1):
        dg[i + offset] = g
    for i in range(i0, i1):
        v0 = xf[2 * i]
        v1 = xf[2 * i + 1]
        dry0[i + offset] = v0
        dry1[i + offset] = v1
        line0[HIST + i] = g * v0
        line1[HIST + i] = g * v1


@kernel
def _output_run(xf: np.ndarray, i0: int, i1: int, offset: int, req0: np.ndarray,
                req1: np.ndarray, ceil: np.ndarray, bypass: np.ndarray, dg: np.ndarray,
                cd: np.ndarray, dry0: np.ndarray, dry1: np.ndarray) -> None:
    """Output frames ``i0 .. i1 - 1``: gain on the delayed driven input, clip, bypass.

    Ring slot ``i + offset`` holds what leaves at frame i. If the ceiling fell
    below the one that frame was limited to (``cd``), its gain is scaled down
    by the ratio (``c / max(cd, c)`` is exactly 1 otherwise). ``req0`` and
    ``req1`` are replaced by the gains applied. Short loops over few arrays:
    each array pair a loop might alias costs a run-time check, and too many
    of them stop it from vectorising.
    """
    above = 0  # frames limited to a higher ceiling than now (counted: the loop vectorises)
    for i in range(i0, i1):
        above += cd[i + offset] > ceil[i]
    for i in range(i0, i1 if above else i0):  # otherwise every scale is exactly 1
        c = ceil[i]
        scale = c / max(cd[i + offset], c)
        req0[i] *= scale
        req1[i] *= scale
    for i in range(i0, i1):
        c = ceil[i]
        slot = i + offset
        d0 = dry0[slot]
        d1 = dry1[slot]
        w0 = min(max(req0[i] * (dg[slot] * d0), -c), c)
        w1 = min(max(req1[i] * (dg[slot] * d1), -c), c)
        b = bypass[i]
        xf[2 * i] = d0 if b == 1.0 else w0 + b * (d0 - w0)
        xf[2 * i + 1] = d1 if b == 1.0 else w1 + b * (d1 - w1)


@kernel(fastmath=True)
def _lowest(a: np.ndarray, b: np.ndarray, m: int, low: float) -> float:
    """The smallest of ``low`` and the first ``m`` values of ``a`` and ``b``.

    fastmath lets the loop vectorise; a minimum is exact in any order.
    """
    for i in range(m):
        low = min(low, min(a[i], b[i]))
    return low


@kernel
def process(
    x: np.ndarray, target: np.ndarray, current: np.ndarray, state: np.ndarray, taps: np.ndarray
) -> None:
    """Limit ``x`` (float64, shape (n, 2)) in place; the output is delayed by the latency."""
    lmax = int(state[_LMAX])
    (delay, na, nr, nq, nb, o_x, o_dg, o_cd, o_det, o_ip, o_acc, o_scr, o_rq, o_qi, o_qv,
     o_rb, o_bb, o_mp, o_ms, _) = state_layout(lmax)
    rate = state[SR]
    ebu = ebu_factor(rate)
    ma = na - 1
    scr = state[o_scr:o_scr + _SCRATCH * CHUNK]
    req0 = scr[_S_REQ * CHUNK:(_S_REQ + 1) * CHUNK]
    req1 = scr[(_S_REQ + 1) * CHUNK:(_S_REQ + 2) * CHUNK]
    look = scr[_S_LOOK * CHUNK:(_S_LOOK + 1) * CHUNK]
    rel = scr[_S_REL * CHUNK:(_S_REL + 1) * CHUNK]
    lines32 = state[o_det + 2 * _LINE:o_ip].view(np.float32)
    ip0 = state[o_ip:o_acc].view(np.float32)[:CHUNK]
    ip1 = state[o_ip:o_acc].view(np.float32)[CHUNK:]
    far32 = state[o_acc:o_scr].view(np.float32)
    dry0 = state[o_x:o_x + na]
    dry1 = state[o_x + na:o_x + 2 * na]
    dgr = state[o_dg:o_dg + na]
    cdr = state[o_cd:o_cd + na]
    ceils = scr[_S_CEIL * CHUNK:(_S_CEIL + 1) * CHUNK]
    bypasses = scr[_S_BYPASS * CHUNK:(_S_BYPASS + 1) * CHUNK]
    holds = scr[_S_HOLD * CHUNK:(_S_HOLD + 1) * CHUNK]
    holds1 = scr[(_S_HOLD + 1) * CHUNK:(_S_HOLD + 2) * CHUNK]
    n = x.shape[0]
    min_gain = 1.0
    done = 0
    while done < n:
        m = min(CHUNK, n - done)
        t0 = int(state[_T])
        xf = x[done:done + m].reshape(2 * m)  # flat: loops over it vectorise
        # the release style: a choice, so it jumps, and only ever at the start of a
        # call (the caller writes targets between calls), which starts a chunk: the
        # gain computers take it per chunk, whatever the block size
        style = target[P.LIMITER_STYLE]
        current[P.LIMITER_STYLE] = style
        if style != state[_STYLE]:
            state[_STYLE] = style
            state[_FAST_A], state[_CHARGE_A], state[_ENV_BUCKET] = _style_coefficients(style,
                                                                                      rate)
            for c in range(2):  # the envelope starts where the gain is: no jump
                state[_CH0 + _CHS * c + _ENV] = state[_CH0 + _CHS * c + _R]
                state[_CH0 + _CHS * c + _EFLOOR] = state[_CH0 + _CHS * c + _R]
                state[_CH0 + _CHS * c + _ECUR] = state[_CH0 + _CHS * c + _R]
        # every setting at its target and its derived values up to date: the per-sample
        # settings are constants over the chunk, and steps 1 and 3 run as plain passes
        # (the same arithmetic as the per-sample path, so the result cannot tell)
        settled = (current[P.LIMITER_DRIVE] == target[P.LIMITER_DRIVE]
                   and current[P.LIMITER_BYPASS] == target[P.LIMITER_BYPASS]
                   and current[P.LIMITER_CEILING] == target[P.LIMITER_CEILING]
                   and current[P.LIMITER_RELEASE] == target[P.LIMITER_RELEASE]
                   and current[P.LIMITER_LOOKAHEAD] == target[P.LIMITER_LOOKAHEAD]
                   and current[P.LIMITER_LINK] == target[P.LIMITER_LINK]
                   and state[_DRIVE_DB] == current[P.LIMITER_DRIVE]
                   and state[_CEIL_DB] == current[P.LIMITER_CEILING]
                   and state[_LEAD_DB] == target[P.LIMITER_CEILING]
                   and state[_REL_MS] == current[P.LIMITER_RELEASE])
        # 1. drive; the audio rings and the detector lines
        # the lines slide along by a chunk at a time (views from pos - HIST), so
        # the history moves back to the start only once every few chunks
        pos = int(state[_LPOS])
        if pos + m > _LINE:
            for c in range(2):
                line = state[o_det + c * _LINE:o_det + (c + 1) * _LINE]
                line32 = lines32[c * _LINE:(c + 1) * _LINE]
                for j in range(HIST):
                    line[j] = line[pos - HIST + j]
                    line32[j] = line32[pos - HIST + j]
            pos = HIST
        line0 = state[o_det + pos - HIST:o_det + _LINE]
        line1 = state[o_det + _LINE + pos - HIST:o_det + 2 * _LINE]
        line0_32 = lines32[pos - HIST:_LINE]
        line1_32 = lines32[_LINE + pos - HIST:2 * _LINE]
        if settled:  # in runs of contiguous ring slots, so the loops vectorise
            g = state[_DRIVE_G]
            first = _first_run(t0, m, na)
            base = t0 & ma
            _drive_run(xf, 0, first, base, g, dgr, dry0, dry1, line0, line1)
            _drive_run(xf, first, m, base - na, g, dgr, dry0, dry1, line0, line1)
        for i in range(m if settled else 0, m):
            drive_db = current[P.LIMITER_DRIVE]
            if drive_db != target[P.LIMITER_DRIVE]:  # _IDLE_CHECK
                drive_db = glide(target, current, P.LIMITER_DRIVE, state)
            if drive_db != state[_DRIVE_DB]:
                state[_DRIVE_DB] = drive_db
                state[_DRIVE_G] = 10.0 ** (drive_db / 20.0)
            g = state[_DRIVE_G]
            slot = (t0 + i) & ma
            state[o_dg + slot] = g
            v0 = x[done + i, 0]
            v1 = x[done + i, 1]
            state[o_x + slot] = v0
            state[o_x + na + slot] = v1
            line0[HIST + i] = g * v0
            line1[HIST + i] = g * v1
        # 2. interval peaks
        detect(line0, line0_32, ip0, far32, m, ebu)
        detect(line1, line1_32, ip1, far32, m, ebu)
        # 3. settings and requests per sample
        lk = 0
        linked = True  # the stereo link is 100 % on every sample of the chunk
        if settled:
            bypass = current[P.LIMITER_BYPASS]
            link = current[P.LIMITER_LINK] * 0.01
            ceil = state[_CEIL_G]
            ceil_det = min(ceil, state[_LEAD_G])
            a = state[_REL_A]
            lk = min(max(int(current[P.LIMITER_LOOKAHEAD] * rate / 1000.0 + 0.5), 2), lmax)
            ceils[:m] = ceil
            bypasses[:m] = bypass
            rel[:m] = a
            look[:m] = lk
            first = _first_run(t0 - REACH, m, na)
            cdr[(t0 - REACH) & ma:((t0 - REACH) & ma) + first] = ceil_det
            cdr[:m - first] = ceil_det
            linked = link == 1.0
            p0 = peak_estimate(line0, REACH - 1, ip0[0], state[_CH0 + _IPREV])
            p1 = peak_estimate(line1, REACH - 1, ip1[0], state[_CH0 + _CHS + _IPREV])
            req0[0], req1[0] = linked_requests(ceil_det / max(p0, ceil_det),
                                               ceil_det / max(p1, ceil_det), link)
            gain_requests(line0, line1, ip0, ip1, req0, req1, ceil_det, link, m)
        for i in range(m if settled else 0, m):
            t = t0 + i
            bypass = current[P.LIMITER_BYPASS]
            if bypass != target[P.LIMITER_BYPASS]:
                bypass = glide(target, current, P.LIMITER_BYPASS, state)
            ceil_db = current[P.LIMITER_CEILING]
            if ceil_db != target[P.LIMITER_CEILING]:
                ceil_db = glide(target, current, P.LIMITER_CEILING, state)
            release_ms = current[P.LIMITER_RELEASE]
            if release_ms != target[P.LIMITER_RELEASE]:
                release_ms = glide(target, current, P.LIMITER_RELEASE, state)
            look_ms = current[P.LIMITER_LOOKAHEAD]
            if look_ms != target[P.LIMITER_LOOKAHEAD]:
                look_ms = glide(target, current, P.LIMITER_LOOKAHEAD, state)
            link = current[P.LIMITER_LINK]
            if link != target[P.LIMITER_LINK]:
                link = glide(target, current, P.LIMITER_LINK, state)
            link *= 0.01
            if ceil_db != state[_CEIL_DB]:
                state[_CEIL_DB] = ceil_db
                state[_CEIL_G] = 10.0 ** (ceil_db / 20.0)
            lead_db = state[_LEAD_DB]
            ceil_to = target[P.LIMITER_CEILING]
            if lead_db != ceil_to:
                if lead_db != lead_db:  # after a reset: start where the ceiling is
                    lead_db = ceil_db
                lead_db += (ceil_to - lead_db) * state[_LEAD_A]
                if abs(lead_db - ceil_to) <= 1e-9 * (1.0 + abs(ceil_to)):
                    lead_db = ceil_to
                state[_LEAD_DB] = lead_db
                state[_LEAD_G] = 10.0 ** (lead_db / 20.0)
            if release_ms != state[_REL_MS]:
                state[_REL_MS] = release_ms
                state[_REL_A] = 1.0 - math.exp(-1000.0 / (release_ms * rate))
            ceil = state[_CEIL_G]
            # limit to the lead glide while it is lower (a falling ceiling); both glide
            # without steps, so neither the requests nor the scale below ever jump
            ceil_det = min(ceil, state[_LEAD_G])
            cdr[(t - REACH) & ma] = ceil_det
            ceils[i] = ceil
            bypasses[i] = bypass
            rel[i] = state[_REL_A]
            look[i] = min(max(int(look_ms * rate / 1000.0 + 0.5), 2), lmax)
            # the sample whose two neighbouring intervals are now both known
            before0 = np.float64(ip0[i - 1]) if i > 0 else state[_CH0 + _IPREV]
            before1 = np.float64(ip1[i - 1]) if i > 0 else state[_CH0 + _CHS + _IPREV]
            p0 = peak_estimate(line0, REACH - 1 + i, ip0[i], before0)
            p1 = peak_estimate(line1, REACH - 1 + i, ip1[i], before1)
            req0[i], req1[i] = linked_requests(ceil_det / max(p0, ceil_det),
                                               ceil_det / max(p1, ceil_det), link)
            linked = linked and link == 1.0
        state[_CH0 + _IPREV] = ip0[m - 1]
        state[_CH0 + _CHS + _IPREV] = ip1[m - 1]
        # 4. gain computers. Fully linked, both get the same requests, so once their
        # states are equal one computer serves both (twin) until the link moves.
        rings = (o_rq, o_qi, o_qv, o_rb, o_bb)
        sizes = (nr, nq, nq, nb, nb)
        twin = state[_TWIN] == 1.0
        if twin and not linked:
            part_gains(state, rings, sizes)
            state[_TWIN] = 0.0
            twin = False
        la_want = (lk + 1) // 2
        s0, s1 = _CH0, _CH0 + _CHS
        pushed = t0 - REACH - lmax + lk
        paired = (not twin and settled and state[s0 + _LA] == la_want and state[s1 + _LA] == la_want
                  and state[s0 + _LB] == lk + 1 - la_want and state[s1 + _LB] == lk + 1 - la_want
                  and state[s0 + _PUSHED] == pushed and state[s1 + _PUSHED] == pushed)
        if paired:
            gains_settled(state, req0, req1, state[o_rq:o_rq + 2 * nr],
                          state[o_mp:o_mp + 2 * nr], state[o_ms:o_ms + 2 * nr], holds, holds1,
                          state[o_rb:o_rb + 2 * nb], state[o_bb:o_bb + 2 * nb], lk, t0, m,
                          state[_REL_A], state[_FAST_A], state[_CHARGE_A], state[_ENV_BUCKET])
        for c in range(0 if paired else (1 if twin else 2)):
            gains(state, _CH0 + _CHS * c, req0 if c == 0 else req1, look, rel,
                  state[o_rq + c * nr:o_rq + (c + 1) * nr],
                  state[o_qi + c * nq:o_qi + (c + 1) * nq],
                  state[o_qv + c * nq:o_qv + (c + 1) * nq],
                  state[o_rb + c * nb:o_rb + (c + 1) * nb],
                  state[o_bb + c * nb:o_bb + (c + 1) * nb], lmax, t0, m,
                  state[o_mp + c * nr:o_mp + (c + 1) * nr],
                  state[o_ms + c * nr:o_ms + (c + 1) * nr], holds, state[_FAST_A],
                  state[_CHARGE_A], state[_ENV_BUCKET])
        if twin:
            for i in range(m):
                req1[i] = req0[i]
        elif linked and same_gains(state, rings, sizes,
                                   t0 + m - REACH - lmax - 2 * PLATEAU):
            state[_TWIN] = 1.0
        # 5. output: gain on the delayed driven input, last-resort clip, bypass
        first = _first_run(t0 - delay, m, na)
        base = (t0 - delay) & ma
        _output_run(xf, 0, first, base, req0, req1, ceils, bypasses, dgr, cdr, dry0, dry1)
        _output_run(xf, first, m, base - na, req0, req1, ceils, bypasses, dgr, cdr, dry0, dry1)
        min_gain = _lowest(req0, req1, m, min_gain)
        state[_LPOS] = pos + m
        state[_T] = t0 + m
        done += m
    taps[T.LIMITER_GR_DB] = -20.0 * math.log10(min_gain) if min_gain < 1.0 else 0.0
