"""The limiter's gain computer (Hämäläinen, DAFx-02): requests in, gains out, a chunk at a time.

The needed gain ``ceiling / peak`` (:mod:`dsp.limiter_detector`) is held by
a sliding minimum (:mod:`dsp.limiter_hold`) and smoothed by two cascaded
moving averages whose total span is the lookahead
(:mod:`dsp.limiter_smoothing`), so the gain reaches the needed value before
the peak leaves the delay line and stays flat for ``PLATEAU`` samples around
it (the interpolators see a steady gain there). Release is a one-pole in the
gain before the averages, so it has no corners; it follows the programme (a fast
release up to a slow envelope) unless the style is ``single``
(:func:`dsp.limiter_smoothing.release_dual`).

This module runs that over a chunk in three ways, all giving the same bits:
one channel sample by sample (:func:`gains`) while the lookahead or release
move, since the window and the averages then change length; both channels
side by side while they hold still (:func:`gains_settled`); and, with the
stereo link at 100 %, one computer for both channels once their states agree
(:func:`same_gains`, undone by :func:`part_gains`): half the work.
"""

from __future__ import annotations

import numpy as np

from dsp._jit import kernel
from dsp.limiter_detector import REACH
from dsp.limiter_hold import held, rebuild_deque
from dsp.limiter_smoothing import box, coefficients, release_dual, smooth, smooth_step, smooth_turn
from dsp.limiter_state import (
    _CH0,
    _CHS,
    _ECUR,
    _EFLOOR,
    _ENV,
    _GAIN_SCALARS,
    _LA,
    _LB,
    _MW,
    _PUSHED,
    _QCOUNT,
    _QHEAD,
    _QSTALE,
    _R,
    _SA,
    _SB,
    PLATEAU,
)


@kernel
def gains(state: np.ndarray, s: int, req: np.ndarray, look: np.ndarray, rel: np.ndarray,
          rq: np.ndarray, qi: np.ndarray, qv: np.ndarray, rb: np.ndarray, bb: np.ndarray,
          lmax: int, t0: int, m: int, mp: np.ndarray, ms: np.ndarray,
          hold: np.ndarray, fast_a: float, charge_a: float, bucket: int) -> None:
    """One channel's gain computer over a chunk; ``req`` is replaced by the gains.

    Request ``req[i]`` belongs to sample k = t0 + i - REACH. The gain that
    leaves at sample t0 + i is the cascade of two moving averages (spans
    la + lb - 1 = look) over the released minimum of the requests
    [k - lmax - 2 PLATEAU + 1, k - lmax + look]: every request within
    PLATEAU samples of the sample going out is in all the windows averaged.
    ``fast_a``, ``charge_a`` and ``bucket`` are the release style's constants
    for the chunk (:func:`dsp.limiter_smoothing.coefficients`).
    """
    pushed = int(state[s + _PUSHED])
    head = int(state[s + _QHEAD])
    count = int(state[s + _QCOUNT])
    r = state[s + _R]
    env = state[s + _ENV]
    prev = state[s + _EFLOOR]
    cur = state[s + _ECUR]
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
        r, env, prev, cur, sa, sb = smooth(hold, req, rb, bb, t0, m,
                                           coefficients(a, fast_a, charge_a, bucket), la, lb, r,
                                           env, prev, cur, sa, sb)
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
        r, env, prev, cur = release_dual(r, env, prev, cur, qv[head], t,
                                         coefficients(rel[i], fast_a, charge_a, bucket))
        la_want = (lk + 1) // 2
        sa, la = box(rb, mb, t, r, sa, la, la_want)
        sb, lb = box(bb, mb, t, sa / la, sb, lb, lk + 1 - la_want)
        req[i] = sb / lb
    state[s + _PUSHED] = pushed
    state[s + _QHEAD] = head
    state[s + _QCOUNT] = count
    state[s + _R] = r
    state[s + _ENV] = env
    state[s + _EFLOOR] = prev
    state[s + _ECUR] = cur
    state[s + _SA] = sa
    state[s + _SB] = sb
    state[s + _LA] = la
    state[s + _LB] = lb


@kernel
def gains_settled(state: np.ndarray, req0: np.ndarray, req1: np.ndarray, rq: np.ndarray,
                  mp: np.ndarray, ms: np.ndarray, hold0: np.ndarray, hold1: np.ndarray,
                  rb: np.ndarray, bb: np.ndarray, look: int, t0: int, m: int,
                  a: float, fast_a: float, charge_a: float, bucket: int) -> None:
    """Both channels' gain computers over a chunk while lookahead and release hold still.

    The arithmetic of :func:`gains` sample for sample (so the results are the
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
    e0, e1 = state[s0 + _ENV], state[s1 + _ENV]
    w0, w1 = state[s0 + _EFLOOR], state[s1 + _EFLOOR]
    c0, c1 = state[s0 + _ECUR], state[s1 + _ECUR]
    sa0, sa1 = state[s0 + _SA], state[s1 + _SA]
    sb0, sb1 = state[s0 + _SB], state[s1 + _SB]
    la = int(state[s0 + _LA])
    lb = int(state[s0 + _LB])
    co = coefficients(a, fast_a, charge_a, bucket)
    rb0, rb1, bb0, bb1 = rb[:nb], rb[nb:], bb[:nb], bb[nb:]
    turn = (-t0) & mb  # the index that turns the rings (see smooth)
    for i in range(min(turn, m)):
        r0, e0, w0, c0, sa0, sb0, req0[i] = smooth_step(
            hold0[i], rb0, bb0, t0 + i, mb, co, la, lb, r0, e0, w0, c0, sa0, sb0)
        r1, e1, w1, c1, sa1, sb1, req1[i] = smooth_step(
            hold1[i], rb1, bb1, t0 + i, mb, co, la, lb, r1, e1, w1, c1, sa1, sb1)
    if turn < m:
        r0, e0, w0, c0, sa0, sb0, req0[turn] = smooth_turn(
            hold0[turn], rb0, bb0, t0 + turn, mb, co, la, lb, r0, e0, w0, c0)
        r1, e1, w1, c1, sa1, sb1, req1[turn] = smooth_turn(
            hold1[turn], rb1, bb1, t0 + turn, mb, co, la, lb, r1, e1, w1, c1)
        for i in range(turn + 1, m):
            r0, e0, w0, c0, sa0, sb0, req0[i] = smooth_step(
                hold0[i], rb0, bb0, t0 + i, mb, co, la, lb, r0, e0, w0, c0, sa0, sb0)
            r1, e1, w1, c1, sa1, sb1, req1[i] = smooth_step(
                hold1[i], rb1, bb1, t0 + i, mb, co, la, lb, r1, e1, w1, c1, sa1, sb1)
    state[s0 + _PUSHED] = pushed
    state[s1 + _PUSHED] = pushed
    state[s0 + _R], state[s1 + _R] = r0, r1
    state[s0 + _ENV], state[s1 + _ENV] = e0, e1
    state[s0 + _EFLOOR], state[s1 + _EFLOOR] = w0, w1
    state[s0 + _ECUR], state[s1 + _ECUR] = c0, c1
    state[s0 + _SA], state[s1 + _SA] = sa0, sa1
    state[s0 + _SB], state[s1 + _SB] = sb0, sb1


@kernel
def same_gains(state: np.ndarray, rings: tuple, sizes: tuple, left: int) -> bool:
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
def part_gains(state: np.ndarray, rings: tuple, sizes: tuple) -> None:
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
