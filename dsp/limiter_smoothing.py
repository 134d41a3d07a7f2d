"""The limiter's gain smoothing: a release, then two cascaded moving averages.

Not the parameter smoothing of :mod:`dsp.smoothing`: this shapes the gain
the hold (:mod:`dsp.limiter_hold`) asks for, one sample at a time, inside the
gain computer (:mod:`dsp.limiter_gain`). Down is at once (the lookahead
already made the approach smooth) and up is a one-pole in the gain, before
the averages, so it has no corners.

The release follows the programme unless the style is ``single``
(:func:`release_dual`): a slow envelope charges toward the held gain while
reduction lasts, and the gain comes back fast, but only as far as that
envelope, which then recovers at the slow release. A drum hit is too short
to charge the envelope much, so the gain is back within the fast release
and the next beat is not held down (the loudness a single 100 ms release
lost); reduction that lasts (a dense chorus, a sustained sub) charges it,
and the slow release then keeps the gain from riding every waveform peak
(the distortion a single short release adds). The envelope waits
a style's wait (:data:`dsp.limiter.STYLES`) after the last reduction before it
recovers: a bass note asks for reduction only near its waveform's peaks,
and without the wait the envelope recovered between them and never
charged, so the fast release rode the waveform. The two moving averages, whose spans add
up to the lookahead, bring the gain to the held value before the peak leaves
the delay line and hold it flat around the peak. Their running sums are
summed afresh once per turn of their rings, at fixed sample counts, so
rounding cannot drift over hours and the result does not depend on block size.
"""

from __future__ import annotations

import numpy as np

from dsp._jit import kernel
from dsp.fastmath import fma

LAND = 1e-7
"""The release lands on the held gain once closer than this (then exactly 1 again)."""


@kernel(inline="always")
def release(r: float, hold: float, a: float, keep: float, land: float) -> float:
    """The released gain after ``r`` for the held request ``hold``.

    Down at once (the lookahead already made the approach smooth), up by a
    one-pole with coefficient ``a`` (``keep = 1 - a``), landing exactly on
    ``hold`` once the step would leave it less than ``LAND`` below (``land =
    LAND / keep``), so a released limiter is bit-transparent again. Written
    so that one fma and one compare, side by side, separate two samples
    (the recursion is the gain computer's critical path).
    """
    return hold if r > hold - land else fma(keep, r, a * hold)


@kernel(inline="always")
def coefficients(a: float, fast_a: float, charge_a: float, bucket: int) -> tuple:
    """The release's constants for slow coefficient ``a``: ``co`` of :func:`release_dual`.

    The fast release is never slower than the slow one (a short release knob
    under a gentle style must still be obeyed). ``charge_a`` below 0 means
    the ``single`` style: one release, ``a``, as before styles existed.
    ``bucket``: samples in one bucket of the envelope's floor (at least 1).
    """
    fa = max(fast_a, a)
    return (a, 1.0 - a, LAND / (1.0 - a), fa, 1.0 - fa, LAND / (1.0 - fa), charge_a, max(bucket, 1))


@kernel(inline="always")
def release_dual(r: float, env: float, prev: float, cur: float, hold: float, t: int,
                 co: tuple) -> tuple:
    """The released gain, the slow envelope and its floor after sample ``t``.

    Returns ``(r, env, prev, cur)``. ``co`` is from :func:`coefficients`.
    While the held gain is below the envelope, the envelope charges toward
    it (one-pole, ``charge_a``); otherwise it recovers at the slow release,
    but only as far as its floor: the smallest held gain of the last one to
    two buckets of the style's wait (``cur``: the bucket under way, ``prev``:
    the one before; buckets are counted from the reset, so the floor does
    not depend on block size). The floor keeps the envelope down between the
    peaks of a bass note. The gain goes down at once and comes back at the
    fast release toward the lower of the held gain and the envelope: fast
    after a short reduction, slow after a long one.

    Every step is non-decreasing in each of its inputs, so a master driven
    harder is nowhere turned down by more than the extra drive. (A wait
    counted from the last reduction was not: more drive made reductions too
    shallow to matter restart it, and 400 ms blocks of music came out up to
    0.11 dB quieter.) Both land exactly on their target, so a released
    limiter is bit-transparent again. With the ``single`` style
    (``charge_a < 0``) this is :func:`release`.
    """
    a, keep, land, fa, fkeep, fland, ca, bucket = co
    if ca < 0.0:
        return release(r, hold, a, keep, land), env, prev, cur
    if t % bucket == 0:
        prev, cur = cur, hold
    else:
        cur = min(cur, hold)
    floor = min(prev, cur)
    if hold < env:
        env = env + ca * (hold - env)
    elif floor > env:
        env = release(env, floor, a, keep, land)
    return release(r, min(hold, env), fa, fkeep, fland), env, prev, cur


@kernel(inline="always")
def smooth_step(hold: float, rb: np.ndarray, bb: np.ndarray, t: int, mb: int, co: tuple,
                la: int, lb: int, r: float, env: float, prev: float, cur: float, sa: float,
                sb: float) -> tuple:
    """One sample of a settled gain computer after the hold: release, then the two averages.

    Returns ``(r, env, prev, cur, sa, sb, gain)`` (``prev``, ``cur``: the envelope's floor). The
    averages' sums are recomputed from their rings once per turn of the ring
    (see :func:`box`); that sample goes through :func:`smooth_turn` instead,
    so no test for it sits on the recursions here.
    """
    r, env, prev, cur = release_dual(r, env, prev, cur, hold, t, co)
    rb[t & mb] = r
    sa += r - rb[(t - la) & mb]
    u = sa / la
    bb[t & mb] = u
    sb += u - bb[(t - lb) & mb]
    return r, env, prev, cur, sa, sb, sb / lb


@kernel(inline="always")
def smooth_turn(hold: float, rb: np.ndarray, bb: np.ndarray, t: int, mb: int, co: tuple,
                la: int, lb: int, r: float, env: float, prev: float, cur: float) -> tuple:
    """:func:`smooth_step` on the sample that turns the rings: both sums summed afresh."""
    r, env, prev, cur = release_dual(r, env, prev, cur, hold, t, co)
    rb[t & mb] = r
    sa = _ring_sum(rb, mb, t, la)
    u = sa / la
    bb[t & mb] = u
    sb = _ring_sum(bb, mb, t, lb)
    return r, env, prev, cur, sa, sb, sb / lb


@kernel
def smooth(hold: np.ndarray, req: np.ndarray, rb: np.ndarray, bb: np.ndarray, t0: int,
           m: int, co: tuple, la: int, lb: int, r: float, env: float, prev: float, cur: float,
           sa: float, sb: float) -> tuple:
    """One settled gain computer's release and averages over a chunk: ``req`` gets the gains.

    The chunk is cut at the sample that turns the rings (there is at most
    one), so the loops carry no test for it. Returns ``(r, env, prev, cur, sa, sb)``.
    """
    mb = rb.size - 1
    turn = (-t0) & mb  # the index whose t is a multiple of the ring size
    for i in range(min(turn, m)):
        r, env, prev, cur, sa, sb, req[i] = smooth_step(hold[i], rb, bb, t0 + i, mb, co, la,
                                                        lb, r, env, prev, cur, sa, sb)
    if turn < m:
        r, env, prev, cur, sa, sb, req[turn] = smooth_turn(hold[turn], rb, bb, t0 + turn, mb,
                                                           co, la, lb, r, env, prev, cur)
        for i in range(turn + 1, m):
            r, env, prev, cur, sa, sb, req[i] = smooth_step(hold[i], rb, bb, t0 + i, mb, co, la,
                                                            lb, r, env, prev, cur, sa, sb)
    return r, env, prev, cur, sa, sb


@kernel(inline="always")
def box(ring: np.ndarray, mask: int, t: int, value: float, total: float, length: int,
        want: int) -> tuple:
    """Push ``value`` into a moving sum of ``length`` samples, then resize it to ``want``.

    The sum is recomputed from the ring once per turn of the ring, so rounding
    cannot drift over hours; that happens at fixed sample counts, so it does
    not depend on block size either.
    """
    ring[t & mask] = value
    total += value - ring[(t - length) & mask]
    while length < want:
        length += 1
        total += ring[(t - length + 1) & mask]
    while length > want:
        total -= ring[(t - length + 1) & mask]
        length -= 1
    if (t & mask) == 0:
        total = _ring_sum(ring, mask, t, length)
    return total, length


@kernel(inline="always")
def _ring_sum(ring: np.ndarray, mask: int, t: int, length: int) -> float:
    """The moving sum summed afresh: ``ring`` slots ``t - length + 1 .. t``, newest first."""
    total = 0.0
    for j in range(length):
        total += ring[(t - j) & mask]
    return total
