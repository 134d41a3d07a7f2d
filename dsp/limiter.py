"""The limiter stage: a lookahead true-peak brick-wall limiter with a fixed latency.

Why each part is there:

- **Detector** (:mod:`dsp.limiter_detector`). Every interval between two
  samples checked at 8x with a long sinc and at the BS.1770 Annex-2 points,
  in single precision, with margins on the peak estimate where the
  interpolators disagree; its answer is the gain each sample requests.
- **Gain computer** (Hämäläinen, DAFx-02). The needed gain
  ``ceiling / peak`` is held by a sliding minimum (a monotonic deque while
  the lookahead moves; block minima, van Herk / Gil-Werman, while it holds
  still: the same values at a cost that does not depend on the programme,
  where the deque's guesses go wrong on a hot master) and
  smoothed by two cascaded moving averages whose total span is the
  lookahead, so the gain reaches the needed value before the peak leaves the
  delay line and stays flat for ``PLATEAU`` samples around it (the
  interpolators see a steady gain there). Release is a one-pole in the gain
  before the averages, so it has no corners.
- **Fixed latency.** The delay is always the longest lookahead plus the
  detector reach plus the plateau. A shorter lookahead feeds the hold from
  further back in the request line instead, so live changes of the
  lookahead never change the latency.
- **Last resort.** A clip at the ceiling in the sample domain, so the sample
  peak can never exceed it whatever happened upstream.

Stereo link: each channel's request is pulled toward the smaller of the two
by ``link_pct`` (100 % gives one gain for both, and then one gain computer
serves both channels once their states agree: half the work, same bits). Drive multiplies the input
before everything, and bypass crossfades against the delayed dry input.

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
from dsp.limiter_detector import HIST, REACH, detect, gain_requests, linked_requests, peak_estimate
from dsp.limiter_hold import held, rebuild_deque
from dsp.limiter_smoothing import LAND, box, release, smooth, smooth_step, smooth_turn
from dsp.limiter_state import (
    _CEIL_DB,
    _CEIL_G,
    _CH0,
    _CHS,
    _DELAY,
    _DRIVE_DB,
    _DRIVE_G,
    _GAIN_SCALARS,
    _IPREV,
    _LA,
    _LB,
    _LEAD_A,
    _LEAD_DB,
    _LEAD_G,
    _LINE,
    _LMAX,
    _LPOS,
    _MW,
    _PUSHED,
    _QCOUNT,
    _QHEAD,
    _QSTALE,
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
def _fresh_deque(state: np.ndarray, c: int, rings: tuple, sizes: tuple, left: int) -> None:
    """Rebuild channel ``c``'s deque if the window minima stood in for it."""
    s = _CH0 + _CHS * c
    if state[s + _QSTALE] == 1.0:
        o_rq, o_qi, o_qv = rings[0], rings[1], rings[2]
        nr, nq = sizes[0], sizes[1]
        rebuild_deque(state, s, state[o_rq + c * nr:o_rq + (c + 1) * nr],
                      state[o_qi + c * nq:o_qi + (c + 1) * nq],
                      state[o_qv + c * nq:o_qv + (c + 1) * nq], left)


@kernel
def _same_gains(state: np.ndarray, rings: tuple, sizes: tuple, left: int) -> bool:
    """True when both channels' gain computers will give the same gains from now on.

    ``rings`` are the offsets of the request ring, the deque's indices and
    values, and the two moving-average rings. The deques are compared by
    content from their heads (where a head sits in its ring does not matter;
    the entries beyond the tail are leftovers that are never read); one the
    window minima stood in for is rebuilt first (``left``: its oldest request).
    """
    for c in range(2):
        _fresh_deque(state, c, rings, sizes, left)
    for j in range(_GAIN_SCALARS):
        if j != _QHEAD and state[_CH0 + j] != state[_CH0 + _CHS + j]:
            return False
    head0 = int(state[_CH0 + _QHEAD])
    head1 = int(state[_CH0 + _CHS + _QHEAD])
    count = int(state[_CH0 + _QCOUNT])
    for r in range(len(rings)):
        o, n = rings[r], sizes[r]
        if r == 1 or r == 2:  # the deque
            for j in range(count):
                if state[o + ((head0 + j) & (n - 1))] != state[o + n + ((head1 + j) & (n - 1))]:
                    return False
        else:
            for j in range(n):
                if state[o + j] != state[o + n + j]:
                    return False
    return True


@kernel
def _part_gains(state: np.ndarray, rings: tuple, sizes: tuple) -> None:
    """Give channel 1 its own gain computer again: a copy of channel 0's.

    The window minima are not copied: both rebuild theirs when next needed.
    """
    for j in range(_GAIN_SCALARS):
        state[_CH0 + _CHS + j] = state[_CH0 + j]
    state[_CH0 + _CHS + _QSTALE] = state[_CH0 + _QSTALE]
    state[_CH0 + _MW] = 0.0
    state[_CH0 + _CHS + _MW] = 0.0
    for r in range(len(rings)):
        o, n = rings[r], sizes[r]
        for j in range(n):
            state[o + n + j] = state[o + j]


@kernel
def _gains(state: np.ndarray, s: int, req: np.ndarray, look: np.ndarray, rel: np.ndarray,
           rq: np.ndarray, qi: np.ndarray, qv: np.ndarray, rb: np.ndarray, bb: np.ndarray,
           lmax: int, t0: int, m: int, mp: np.ndarray, ms: np.ndarray,
           hold: np.ndarray) -> None:
    """One channel's gain computer over a chunk; ``req`` is replaced by the gains.

    Request ``req[i]`` belongs to sample k = t0 + i - REACH. The gain that
    leaves at sample t0 + i is the cascade of two moving averages (spans
    la + lb - 1 = look) over the released minimum of the requests
    [k - lmax - 2 PLATEAU + 1, k - lmax + look]: every request within
    PLATEAU samples of the sample going out is in all the windows averaged.
    """
    pushed = int(state[s + _PUSHED])
    head = int(state[s + _QHEAD])
    count = int(state[s + _QCOUNT])
    r = state[s + _R]
    sa = state[s + _SA]
    sb = state[s + _SB]
    la = int(state[s + _LA])
    lb = int(state[s + _LB])
    mr, mq, mb = rq.size - 1, qi.size - 1, rb.size - 1
    lk = int(look[0])
    a = rel[0]
    moving = 0  # counted, not and-ed, so the loop vectorises
    for i in range(m):
        moving += (look[i] != look[0]) + (rel[i] != a)
    settled = (la == (lk + 1) // 2 and lb == lk + 1 - la and pushed == t0 - REACH - lmax + lk
               and moving == 0)
    if settled:
        # the lookahead and release hold still: the window slides one request a
        # sample and the averages keep their lengths (the same arithmetic as below,
        # with the window minima taken in passes of their own instead of the deque)
        for i in range(m):
            rq[(t0 + i - REACH) & mr] = req[i]
        held(state, s, rq, mp, ms, lk + 2 * PLATEAU, pushed, m, hold)
        pushed += m
        state[s + _QSTALE] = 1.0
        r, sa, sb = smooth(hold, req, rb, bb, t0, m, a, la, lb, r, sa, sb)
        m = 0
    if m:  # the per-sample path: it keeps the deque, and may move the window
        if state[s + _QSTALE] == 1.0:
            rebuild_deque(state, s, rq, qi, qv, t0 - 1 - REACH - lmax - 2 * PLATEAU + 1)
            head = int(state[s + _QHEAD])
            count = int(state[s + _QCOUNT])
        state[s + _MW] = 0.0  # the window minima are rebuilt when next needed
    for i in range(m):
        t = t0 + i
        k = t - REACH
        rq[k & mr] = req[i]
        lk = int(look[i])
        right = k - lmax + lk
        while pushed <= right:  # monotonic deque: values rise from head to tail
            v = rq[pushed & mr]
            while count > 0 and qv[(head + count - 1) & mq] >= v:
                count -= 1
            slot = (head + count) & mq
            qi[slot] = pushed
            qv[slot] = v
            count += 1
            pushed += 1
        left = k - lmax - 2 * PLATEAU + 1
        while count > 1 and qi[head] < left:
            head = (head + 1) & mq
            count -= 1
        keep = 1.0 - rel[i]
        r = release(r, qv[head], rel[i], keep, LAND / keep)
        la_want = (lk + 1) // 2
        sa, la = box(rb, mb, t, r, sa, la, la_want)
        sb, lb = box(bb, mb, t, sa / la, sb, lb, lk + 1 - la_want)
        req[i] = sb / lb
    state[s + _PUSHED] = pushed
    state[s + _QHEAD] = head
    state[s + _QCOUNT] = count
    state[s + _R] = r
    state[s + _SA] = sa
    state[s + _SB] = sb
    state[s + _LA] = la
    state[s + _LB] = lb


@kernel
def _gains_settled(state: np.ndarray, req0: np.ndarray, req1: np.ndarray, rq: np.ndarray,
                   mp: np.ndarray, ms: np.ndarray, hold0: np.ndarray, hold1: np.ndarray,
                   rb: np.ndarray, bb: np.ndarray, look: int, t0: int, m: int,
                   a: float) -> None:
    """Both channels' gain computers over a chunk while lookahead and release hold still.

    The arithmetic of :func:`_gains` sample for sample (so the results are the
    same bits), with the two channels' recursions side by side in one loop so
    that one runs while the other waits, and the window minima of both taken
    first (:func:`held`): the window slides one request a sample and the
    averages keep their lengths. The caller checks that they may.
    """
    s0, s1 = _CH0, _CH0 + _CHS
    nr, nb = rq.size // 2, rb.size // 2
    mr, mb = nr - 1, nb - 1
    pushed = int(state[s0 + _PUSHED])
    for c in range(2):
        s = _CH0 + _CHS * c
        ring = rq[c * nr:(c + 1) * nr]
        req = req0 if c == 0 else req1
        for i in range(m):
            ring[(t0 + i - REACH) & mr] = req[i]
        held(state, s, ring, mp[c * nr:(c + 1) * nr], ms[c * nr:(c + 1) * nr],
             look + 2 * PLATEAU, pushed, m, hold0 if c == 0 else hold1)
        state[s + _QSTALE] = 1.0
    pushed += m
    r0, r1 = state[s0 + _R], state[s1 + _R]
    sa0, sa1 = state[s0 + _SA], state[s1 + _SA]
    sb0, sb1 = state[s0 + _SB], state[s1 + _SB]
    la = int(state[s0 + _LA])
    lb = int(state[s0 + _LB])
    keep = 1.0 - a
    land = LAND / keep
    rb0, rb1, bb0, bb1 = rb[:nb], rb[nb:], bb[:nb], bb[nb:]
    turn = (-t0) & mb  # the index that turns the rings (see limiter_smoothing.smooth)
    for i in range(min(turn, m)):
        r0, sa0, sb0, req0[i] = smooth_step(hold0[i], rb0, bb0, t0 + i, mb, a, keep, land, la,
                                            lb, r0, sa0, sb0)
        r1, sa1, sb1, req1[i] = smooth_step(hold1[i], rb1, bb1, t0 + i, mb, a, keep, land, la,
                                            lb, r1, sa1, sb1)
    if turn < m:
        r0, sa0, sb0, req0[turn] = smooth_turn(hold0[turn], rb0, bb0, t0 + turn, mb, a, keep,
                                               land, la, lb, r0)
        r1, sa1, sb1, req1[turn] = smooth_turn(hold1[turn], rb1, bb1, t0 + turn, mb, a, keep,
                                               land, la, lb, r1)
        for i in range(turn + 1, m):
            r0, sa0, sb0, req0[i] = smooth_step(hold0[i], rb0, bb0, t0 + i, mb, a, keep, land,
                                                la, lb, r0, sa0, sb0)
            r1, sa1, sb1, req1[i] = smooth_step(hold1[i], rb1, bb1, t0 + i, mb, a, keep, land,
                                                la, lb, r1, sa1, sb1)
    state[s0 + _PUSHED] = pushed
    state[s1 + _PUSHED] = pushed
    state[s0 + _R], state[s1 + _R] = r0, r1
    state[s0 + _SA], state[s1 + _SA] = sa0, sa1
    state[s0 + _SB], state[s1 + _SB] = sb0, sb1


@kernel
def process(
    x: np.ndarray, target: np.ndarray, current: np.ndarray, state: np.ndarray, taps: np.ndarray
) -> None:
    """Limit ``x`` (float64, shape (n, 2)) in place; the output is delayed by the latency."""
    lmax = int(state[_LMAX])
    (delay, na, nr, nq, nb, o_x, o_dg, o_cd, o_det, o_ip, o_acc, o_scr, o_rq, o_qi, o_qv,
     o_rb, o_bb, o_mp, o_ms, _) = state_layout(lmax)
    rate = state[SR]
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
        detect(line0, line0_32, ip0, far32, m)
        detect(line1, line1_32, ip1, far32, m)
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
            _part_gains(state, rings, sizes)
            state[_TWIN] = 0.0
            twin = False
        la_want = (lk + 1) // 2
        s0, s1 = _CH0, _CH0 + _CHS
        pushed = t0 - REACH - lmax + lk
        paired = (not twin and settled and state[s0 + _LA] == la_want and state[s1 + _LA] == la_want
                  and state[s0 + _LB] == lk + 1 - la_want and state[s1 + _LB] == lk + 1 - la_want
                  and state[s0 + _PUSHED] == pushed and state[s1 + _PUSHED] == pushed)
        if paired:
            _gains_settled(state, req0, req1, state[o_rq:o_rq + 2 * nr],
                           state[o_mp:o_mp + 2 * nr], state[o_ms:o_ms + 2 * nr], holds, holds1,
                           state[o_rb:o_rb + 2 * nb], state[o_bb:o_bb + 2 * nb], lk, t0, m,
                           state[_REL_A])
        for c in range(0 if paired else (1 if twin else 2)):
            _gains(state, _CH0 + _CHS * c, req0 if c == 0 else req1, look, rel,
                   state[o_rq + c * nr:o_rq + (c + 1) * nr],
                   state[o_qi + c * nq:o_qi + (c + 1) * nq],
                   state[o_qv + c * nq:o_qv + (c + 1) * nq],
                   state[o_rb + c * nb:o_rb + (c + 1) * nb],
                   state[o_bb + c * nb:o_bb + (c + 1) * nb], lmax, t0, m,
                   state[o_mp + c * nr:o_mp + (c + 1) * nr],
                   state[o_ms + c * nr:o_ms + (c + 1) * nr], holds)
        if twin:
            for i in range(m):
                req1[i] = req0[i]
        elif linked and _same_gains(state, rings, sizes,
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
