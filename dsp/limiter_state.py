"""Where everything lives in the limiter's one state array, and the sizes that set it.

Like every stage, the limiter keeps all its state in the one float64 array
``prepare`` makes (the shared header of :mod:`dsp.smoothing` first): scalars,
the audio rings, the detector lines, the per-sample scratch of a chunk, the
request ring, the deques and the moving-average rings. Every part of the
limiter reads it (the stage in :mod:`dsp.limiter`, the gain computer in
:mod:`dsp.limiter_gain`, the hold in :mod:`dsp.limiter_hold`), so the
layout is here, apart from all of them. The slot names keep their leading
underscore: they are the limiter modules' shared business, no one else's.

The chunk and the plateau are here too: with the detector's reach and the
longest lookahead they decide the latency and every ring's size
(:func:`state_layout`).
"""

from __future__ import annotations

from dsp._jit import kernel
from dsp.limiter_detector import HIST, REACH
from dsp.smoothing import HEADER

PLATEAU = 16
"""Samples each side of a peak over which the gain is held flat."""
CHUNK = 128
"""Detector block length; longer blocks are cut into chunks (results don't change)."""

# scalar slots after the shared header
_LMAX, _DELAY, _LEAD_A, _T = HEADER, HEADER + 1, HEADER + 2, HEADER + 3
_DRIVE_DB, _DRIVE_G = HEADER + 4, HEADER + 5
_CEIL_DB, _CEIL_G, _LEAD_DB, _LEAD_G = HEADER + 6, HEADER + 7, HEADER + 8, HEADER + 9
_REL_MS, _REL_A = HEADER + 10, HEADER + 11
_TWIN = HEADER + 12  # 1: channel 1's gain computer is channel 0's (step 4 of limiter.process)
_LPOS = HEADER + 13  # where the next chunk goes in the detector lines
# the release style in force (a choice index; NaN after a reset) and its two
# coefficients: the fast release and the charge of the slow envelope (see
# dsp.limiter_smoothing.release_dual)
_STYLE, _FAST_A, _CHARGE_A = HEADER + 14, HEADER + 15, HEADER + 16
_ENV_BUCKET = HEADER + 17  # samples in a bucket of the slow envelope's floor (the wait)
_CH0 = HEADER + 18  # per-channel scalars, _CHS of them per channel
# _ENV: the slow envelope of the programme-dependent release (1: no reduction);
# _EFLOOR, _ECUR: the smallest held gain of the last bucket and of the one under way
# (the envelope's floor, see dsp.limiter_smoothing.release_dual)
_R, _SA, _SB, _LA, _LB, _PUSHED, _QHEAD, _QCOUNT, _ENV, _EFLOOR, _ECUR, _IPREV = range(12)
# the window minima of a settled gain computer (see limiter_hold.held): the deque is
# then not kept up to date (_QSTALE) until something needs it; _MW is the block length
# the minima are kept for (0: none), _MNEXT the next request to stream in, at _MPOS in
# its block, whose running minimum so far is _MP
_QSTALE, _MW, _MNEXT, _MPOS, _MP = range(12, 17)
_CHS = 17
_GAIN_SCALARS = _IPREV  # _R .. _ECUR: one gain computer's scalars
_ARRAYS = _CH0 + 2 * _CHS
_LINE = HIST + 8 * CHUNK  # one channel's detector line: slides 8 chunks, then moves back
# per-sample scratch of a chunk: requests then gains per channel, and the settings
_S_REQ, _S_LOOK, _S_REL, _S_BYPASS, _S_CEIL, _S_HOLD = 0, 2, 3, 4, 5, 6  # _S_HOLD: 2 rows
_SCRATCH = 8


@kernel
def _pow2(n: int) -> int:
    """Smallest power of two >= n."""
    p = 1
    while p < n:
        p *= 2
    return p


@kernel
def state_layout(lmax: int) -> tuple:
    """Latency, ring sizes and array offsets for a longest lookahead of ``lmax`` samples.

    Ring sizes are powers of two so that wrapping an index is a mask.
    """
    delay = REACH + PLATEAU + lmax - 1
    na = _pow2(delay + CHUNK + 2)  # audio rings: dry input, drive gain, ceiling at detection
    # request ring (and its window minima): back to the start of the block that holds
    # the oldest request of a chunk's first window, up to the newest request
    nr = _pow2(2 * lmax + 4 * PLATEAU + CHUNK + 2)
    nq = _pow2(lmax + 2 * PLATEAU + 2)  # deque (indices and values)
    nb = _pow2(lmax + 2)  # moving-average rings
    o_x = _ARRAYS
    o_dg = o_x + 2 * na
    o_cd = o_dg + na
    o_det = o_cd + na
    o_l32 = o_det + 2 * _LINE  # single precision: both lines, interval peaks, sums
    o_ip = o_l32 + _LINE
    o_acc = o_ip + CHUNK
    o_scr = o_acc + CHUNK // 2
    o_rq = o_scr + _SCRATCH * CHUNK
    o_qi = o_rq + 2 * nr
    o_qv = o_qi + 2 * nq
    o_rb = o_qv + 2 * nq
    o_bb = o_rb + 2 * nb
    o_mp = o_bb + 2 * nb  # window minima: running minima from each block's start
    o_ms = o_mp + 2 * nr  # and to each block's end
    size = o_ms + 2 * nr
    return (delay, na, nr, nq, nb, o_x, o_dg, o_cd, o_det, o_ip, o_acc, o_scr, o_rq, o_qi,
            o_qv, o_rb, o_bb, o_mp, o_ms, size)
