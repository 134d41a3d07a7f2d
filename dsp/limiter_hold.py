"""The limiter's hold: the smallest gain requested over a sliding window.

The gain computer (:mod:`dsp.limiter_gain`) holds the smallest request of a
window that spans the lookahead plus the plateau each side, so the gain is
down before a peak arrives and stays down until it has gone (Hämäläinen,
DAFx-02). Two roads give the same values (a minimum is exact, so the same
bits): a monotonic deque, kept sample by sample in the gain computer while
the lookahead moves, and, while it holds still, block minima (van Herk /
Gil-Werman) here, whose cost does not depend on the programme, where the
deque's guesses go wrong on a hot master. When the deque is needed again
after the block minima stood in for it, :func:`rebuild_deque` rebuilds it
from the request ring.
"""

from __future__ import annotations

import math

import numpy as np

from dsp._jit import kernel
from dsp.limiter_state import _MNEXT, _MP, _MPOS, _MW, _PUSHED, _QCOUNT, _QHEAD, _QSTALE


@kernel
def held(state: np.ndarray, s: int, rq: np.ndarray, mp: np.ndarray, ms: np.ndarray,
         width: int, first: int, m: int, hold: np.ndarray) -> None:
    """``hold[i]``: the smallest of requests ``first + i - width + 1 .. first + i``, i < m.

    The deque's answer, by another road (a minimum is exact, so the same
    bits): window ``[l, r]`` spans at most two blocks, and its minimum is that
    of ``ms[l]`` (from ``l`` to its block's end) and ``mp[r]`` (from the next
    block's start to ``r``). The blocks are kept between chunks while the
    window's length holds; after a change they are rebuilt from the request
    ring, back to the block the oldest request needed lies in.
    """
    mr = rq.size - 1
    if state[s + _MW] == width and state[s + _MNEXT] == first:
        pos, p = int(state[s + _MPOS]), state[s + _MP]
    else:
        start = (first - width + 1) // width * width
        pos, p = _minima(rq, mp, ms, mr, width, start, first, 0, 1.0)
    pos, p = _minima(rq, mp, ms, mr, width, first, first + m, pos, p)
    state[s + _MW] = width
    state[s + _MNEXT] = first + m
    state[s + _MPOS] = pos
    state[s + _MP] = p
    for i in range(m):
        r = first + i
        hold[i] = min(ms[(r - width + 1) & mr], mp[r & mr])


@kernel
def _minima(rq: np.ndarray, mp: np.ndarray, ms: np.ndarray, mr: int, width: int, r0: int,
            r1: int, pos: int, p: float) -> tuple:
    """Stream requests ``r0 .. r1 - 1`` into the window minima (van Herk / Gil-Werman).

    The requests are cut into blocks of ``width`` (the window's length):
    ``mp`` gets the minimum from each request's block start up to it, ``ms``,
    once a block is complete, the minimum from each request to its block's
    end. ``pos`` is ``r0``'s place in its block, ``p`` the running minimum
    before it; both are returned for the next call. Two short loops of plain
    minima and no data-dependent branches: a deque guesses wrong about once a
    sample.
    """
    r = r0
    while r < r1:
        end = min(r1, r + width - pos)  # the rest of this block, within the range
        if pos == 0:
            p = rq[r & mr]
        p = _running_min(rq, mp, mr, r, end - r, 1, p)
        pos += end - r
        if pos == width:  # block complete: the minima to its end, backward
            pos = 0
            _running_min(rq, ms, mr, end - 1, width, -1, rq[(end - 1) & mr])
        r = end
    return pos, p


@kernel(inline="always")
def _running_min(src: np.ndarray, dst: np.ndarray, mask: int, start: int, count: int,
                 step: int, low: float) -> float:
    """``dst[j]``: the smallest of ``low`` and ``src`` from slot ``start`` to ``j`` (ring slots).

    ``count`` slots from ``start`` by ``step`` (+1 or -1). Four slots a turn,
    their own running minima taken off the recursion, so it waits one
    minimum per four slots instead of one per slot; a minimum is exact in
    any order, so the values are the same. Returns the last minimum.
    """
    j = start
    for _ in range(count // 4):
        a = src[j & mask]
        ab = min(a, src[(j + step) & mask])
        abc = min(ab, src[(j + 2 * step) & mask])
        abcd = min(abc, src[(j + 3 * step) & mask])
        dst[j & mask] = min(low, a)
        dst[(j + step) & mask] = min(low, ab)
        dst[(j + 2 * step) & mask] = min(low, abc)
        low = min(low, abcd)
        dst[(j + 3 * step) & mask] = low
        j += 4 * step
    for _ in range(count % 4):
        low = min(low, src[j & mask])
        dst[j & mask] = low
        j += step
    return low


@kernel
def rebuild_deque(state: np.ndarray, s: int, rq: np.ndarray, qi: np.ndarray,
                  qv: np.ndarray, left: int) -> None:
    """The deque of requests ``left .. pushed - 1``, rebuilt from the request ring.

    A monotonic deque holds exactly the requests smaller than every later one
    in the window (the newest always), so a backward scan rebuilds it: the
    same entries, whatever state it was left in while the minima stood in.
    """
    mr, mq = rq.size - 1, qi.size - 1
    right = int(state[s + _PUSHED]) - 1
    count = 0
    low = math.inf
    for j in range(right, left - 1, -1):
        v = rq[j & mr]
        if v < low:
            low = v
            count += 1
    slot = count
    low = math.inf
    for j in range(right, left - 1, -1):
        v = rq[j & mr]
        if v < low:
            low = v
            slot -= 1
            qi[slot & mq] = j
            qv[slot & mq] = v
    state[s + _QHEAD] = 0
    state[s + _QCOUNT] = count
    state[s + _QSTALE] = 0.0
