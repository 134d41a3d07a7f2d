"""Automation playback and recording inside the audio kernel, shared by live and offline.

Why it is built this way:

- **Sample positions, not wall clock.** Every sample of a block comes with its
  song position (``pos``, filled by whoever reads the song: the live callback,
  or the offline renderer counting 0, 1, 2, ...). Lanes are evaluated at those
  positions, so what plays does not depend on when Python ran or how the
  stream cut its blocks.
- **A fixed grid aligned to absolute positions.** The stages glide ``current``
  toward a target per sample, but they read the target as a whole array. So the
  kernel keeps the ``target`` the chain reads apart from the desk's ``values``,
  evaluates the lanes at every position that is a multiple of
  :data:`GRID` (and wherever the position jumps: locate, loop), and cuts the
  block there, but only when a value actually changed. The chain's output does
  not depend on where blocks are cut, so the result is identical for any block
  size; the 12 ms parameter glide turns the 0.67 ms staircase into a smooth
  curve, so playback is click-free.
- **The desk still owns ``values``.** For a parameter not under automation,
  ``target`` is a copy of ``values`` taken at the start of each block, so a knob
  move takes effect at a known sample: the block's first position. While a
  parameter is being written, each change is put in a ring with that position,
  so a move is recorded where it was heard, not where Python saw it.

Arrays (all float64, preallocated, one writer each):

``ctl`` (control side writes, :data:`CTL_SIZE`)
    per parameter: mode (``M_*``), trim reference, bias (a fixed offset added
    after everything, used for the per-song level offset on output gain); then
    fade-in, fade-out, song length and chain latency in samples.
``st`` (kernel writes, :data:`STATE_SIZE`)
    last position seen, the ring's write count, a force flag, per parameter
    the previous mode, the last value recorded, the lane cursor and a scratch
    value, then the record ring of (position, parameter, value, kind).
``lanes`` (control side builds, double-buffered by the caller)
    from :func:`pack_lanes`: a header of (start, count, interpolation) per
    parameter, then (position, value) pairs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from dsp import params as P
from dsp._jit import kernel
from dsp.chain import process_block

GRID = 32
"""Lane evaluation grid in samples (0.67 ms at 48 kHz), aligned to song position 0."""

M_DESK, M_DESK_REC, M_LANE, M_TRIM, M_TRIM_REC = 0, 1, 2, 3, 4
"""Kernel modes per parameter: the desk's value (recorded or not), the lane's,
or the lane's with the desk's move from the trim reference on top (recorded or not)."""

INTERP_LINEAR, INTERP_LOG, INTERP_STEP = 0, 1, 2
KIND_START, KIND_CHANGE, KIND_END = 0, 1, 2
"""Record ring entry kinds: recording began, the value changed, recording ended."""

N = P.COUNT
CTL_MODE, CTL_TRIM_REF, CTL_BIAS = 0, N, 2 * N
CTL_FADE_IN, CTL_FADE_OUT, CTL_END, CTL_LATENCY = 3 * N, 3 * N + 1, 3 * N + 2, 3 * N + 3
CTL_SIZE = 3 * N + 4

S_LAST_POS, S_RING_COUNT, S_FORCE, S_RECORDING = 0, 1, 2, 3
S_PREV_MODE, S_LAST_VALUE, S_CURSOR, S_NEXT = 8, 8 + N, 8 + 2 * N, 8 + 3 * N
S_RING = 8 + 4 * N
RING = 8192
"""Record ring entries (a knob moved every millisecond fills it in 8 s; drained every 20 ms)."""
STATE_SIZE = S_RING + 4 * RING

HEADER = 3 * N
PMIN = np.array([p.min for p in P.PARAMS])
PMAX = np.array([p.max for p in P.PARAMS])
INTERP = np.array([INTERP_STEP if p.kind != "continuous" else
                   INTERP_LOG if p.taper == "log" else INTERP_LINEAR for p in P.PARAMS],
                  dtype=np.int64)


def prepare_ctl() -> np.ndarray:
    """A control array with every parameter on the desk, no bias, no fades."""
    ctl = np.zeros(CTL_SIZE)
    ctl[CTL_TRIM_REF:CTL_TRIM_REF + N] = P.defaults()
    return ctl


def prepare_state() -> np.ndarray:
    """The kernel's state: nothing seen yet, so the first block evaluates the lanes."""
    st = np.zeros(STATE_SIZE)
    reset(st)
    return st


def reset(st: np.ndarray) -> None:
    """Forget the last position and modes (a new song); the ring count is kept."""
    st[S_LAST_POS] = -1e18
    st[S_FORCE] = 1.0
    st[S_PREV_MODE:S_PREV_MODE + N] = M_DESK
    st[S_CURSOR:S_CURSOR + N] = 0.0


def pack_lanes(lanes: Mapping[int, tuple[Sequence[float], Sequence[float]]]) -> np.ndarray:
    """Pack lanes {param index: (positions, values)} into the kernel's flat array.

    Positions must be ascending sample positions; values are in the
    parameter's unit. A lane with no points is absent.
    """
    total = sum(len(t) for t, _ in lanes.values())
    out = np.zeros(HEADER + 2 * total)
    at = HEADER
    for i in range(N):
        out[3 * i + 2] = INTERP[i]
        if i not in lanes:
            continue
        times, values = lanes[i]
        count = len(times)
        out[3 * i] = at
        out[3 * i + 1] = count
        out[at:at + 2 * count:2] = times
        out[at + 1:at + 2 * count:2] = values
        at += 2 * count
    return out


def empty_lanes() -> np.ndarray:
    """A lanes array with no lane at all."""
    return pack_lanes({})


@kernel
def lane_value(lanes: np.ndarray, p: int, pos: float, st: np.ndarray) -> float:
    """The value of parameter ``p``'s lane at song position ``pos`` (NaN if no lane).

    Before the first point the first value holds, after the last the last.
    Between points: linear, geometric for log-taper parameters, or held
    (switches and choices). ``st``'s cursor only makes the search fast; the
    result depends on ``pos`` alone.
    """
    count = int(lanes[3 * p + 1])
    if count == 0:
        return math.nan
    start = int(lanes[3 * p])
    if pos <= lanes[start]:
        return lanes[start + 1]
    last = start + 2 * (count - 1)
    if pos >= lanes[last]:
        return lanes[last + 1]
    k = int(st[S_CURSOR + p])  # segment k: t[k] <= pos < t[k + 1]
    if k < 0 or k >= count - 1 or lanes[start + 2 * k] > pos:
        k = -1
    else:
        steps = 0
        while lanes[start + 2 * (k + 1)] <= pos and steps < 4:
            k += 1
            steps += 1
        if lanes[start + 2 * (k + 1)] <= pos:
            k = -1
    if k < 0:  # binary search: the last point at or before pos
        lo, hi = 0, count - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if lanes[start + 2 * mid] <= pos:
                lo = mid
            else:
                hi = mid
        k = lo
    st[S_CURSOR + p] = k
    t0, v0 = lanes[start + 2 * k], lanes[start + 2 * k + 1]
    t1, v1 = lanes[start + 2 * k + 2], lanes[start + 2 * k + 3]
    kind = int(lanes[3 * p + 2])
    if kind == INTERP_STEP or t1 <= t0:
        return v0
    f = (pos - t0) / (t1 - t0)
    if kind == INTERP_LOG and v0 > 0.0 and v1 > 0.0:
        return v0 * math.exp(f * math.log(v1 / v0))
    return v0 + f * (v1 - v0)


@kernel
def _automated(ctl: np.ndarray, values: np.ndarray, lanes: np.ndarray, p: int, pos: float,
               st: np.ndarray) -> float:
    """The value a lane-driven parameter plays at ``pos`` (lane, trimmed, clamped, biased)."""
    v = lane_value(lanes, p, pos, st)
    mode = int(ctl[CTL_MODE + p])
    if mode == M_TRIM or mode == M_TRIM_REC:
        ref = ctl[CTL_TRIM_REF + p]
        kind = INTERP[p]
        if kind == INTERP_LINEAR:
            v += values[p] - ref
        elif kind == INTERP_LOG and ref > 0.0:
            v *= values[p] / ref
    v = min(max(v, PMIN[p]), PMAX[p])
    return v + ctl[CTL_BIAS + p]


@kernel
def _record(st: np.ndarray, pos: float, p: int, value: float, kind: int) -> None:
    k = int(st[S_RING_COUNT])
    at = S_RING + 4 * (k % RING)
    st[at] = pos
    st[at + 1] = p
    st[at + 2] = value
    st[at + 3] = kind
    st[S_RING_COUNT] = k + 1


@kernel
def _begin_block(pos0: float, values: np.ndarray, target: np.ndarray, ctl: np.ndarray,
                 lanes: np.ndarray, st: np.ndarray) -> int:
    """Per block: follow the desk, note mode changes, record moves. Return lanes in play."""
    playing = 0
    recording = 0
    for p in range(N):
        mode = int(ctl[CTL_MODE + p])
        has_lane = lanes[3 * p + 1] > 0.0
        prev = int(st[S_PREV_MODE + p])
        rec = mode == M_DESK_REC or mode == M_TRIM_REC
        was_rec = prev == M_DESK_REC or prev == M_TRIM_REC
        if mode != prev:
            st[S_FORCE] = 1.0
            if was_rec and not rec:
                _record(st, pos0, p, st[S_LAST_VALUE + p], KIND_END)
            if rec and not was_rec:
                _record(st, pos0, p, values[p], KIND_START)
                st[S_LAST_VALUE + p] = values[p]
            st[S_PREV_MODE + p] = mode
        if rec:
            recording += 1
        if rec and values[p] != st[S_LAST_VALUE + p]:
            _record(st, pos0, p, values[p], KIND_CHANGE)
            st[S_LAST_VALUE + p] = values[p]
            if mode == M_TRIM_REC:
                st[S_FORCE] = 1.0  # the trim offset moved: apply it now
        if mode == M_DESK or mode == M_DESK_REC or not has_lane:
            target[p] = values[p] + ctl[CTL_BIAS + p]
        else:
            playing += 1
            if mode == M_TRIM and values[p] != st[S_LAST_VALUE + p]:
                st[S_LAST_VALUE + p] = values[p]
                st[S_FORCE] = 1.0
    st[S_RECORDING] = recording
    return playing


@kernel
def _record_jumps(pos: np.ndarray, st: np.ndarray) -> None:
    """A locate or loop while writing: end each pass where the jump left, start it anew."""
    last = st[S_LAST_POS]
    for i in range(pos.shape[0]):
        p = pos[i]
        if p != last and p != last + 1.0 and last > -1e17:
            for q in range(N):
                mode = int(st[S_PREV_MODE + q])
                if mode == M_DESK_REC or mode == M_TRIM_REC:
                    _record(st, last + 1.0, q, st[S_LAST_VALUE + q], KIND_END)
                    _record(st, p, q, st[S_LAST_VALUE + q], KIND_START)
        last = p


@kernel
def _evaluate(pos: float, values: np.ndarray, target: np.ndarray, ctl: np.ndarray,
              lanes: np.ndarray, st: np.ndarray) -> bool:
    """Evaluate every lane in play at ``pos`` into the scratch; True if any value changed."""
    changed = False
    for p in range(N):
        mode = int(ctl[CTL_MODE + p])
        if mode < M_LANE or lanes[3 * p + 1] <= 0.0:
            st[S_NEXT + p] = target[p]
            continue
        v = _automated(ctl, values, lanes, p, pos, st)
        st[S_NEXT + p] = v
        if v != target[p]:
            changed = True
    return changed


@kernel
def _fade(x: np.ndarray, pos: np.ndarray, ctl: np.ndarray) -> None:
    """Song fade-in and fade-out, by the position of each *output* sample."""
    fade_in, fade_out = ctl[CTL_FADE_IN], ctl[CTL_FADE_OUT]
    if fade_in <= 0.0 and fade_out <= 0.0:
        return
    end, latency = ctl[CTL_END], ctl[CTL_LATENCY]
    for i in range(x.shape[0]):
        at = pos[i] - latency
        g = 1.0
        if fade_in > 0.0 and at < fade_in:
            g = max(at, 0.0) / fade_in
        if fade_out > 0.0 and at > end - fade_out:
            g *= max(end - at, 0.0) / fade_out
        if g < 1.0:
            x[i, 0] *= g
            x[i, 1] *= g


@kernel(inline="always")
def process(x: np.ndarray, pos: np.ndarray, from_song: bool, values: np.ndarray,
            target: np.ndarray, current: np.ndarray, ctl: np.ndarray, lanes: np.ndarray,
            st: np.ndarray, io: np.ndarray, st_eq: np.ndarray, st_comp: np.ndarray,
            st_exciter: np.ndarray, st_stereo: np.ndarray, st_limiter: np.ndarray,
            tap: np.ndarray) -> None:
    """Run one block through the chain with automation, in place.

    Parameters
    ----------
    x : ndarray, shape (n, 2), float64, C-contiguous
        The block; replaced by the output.
    pos : ndarray, shape (>= n,), float64
        Song position (samples) of each input sample of the block.
    from_song : bool
        False for live input: there is no timeline, so no fades.
    values : ndarray, shape (params.COUNT,)
        The desk's values (the control side writes them).
    target : ndarray, shape (params.COUNT,)
        What the chain glides to (written here): the desk's value or the lane's.
    current, io, st_* , tap
        As :func:`dsp.chain.process_block`.
    ctl, lanes, st
        See the module docstring.

    Inlined into the audio callback (its one kernel caller), which then
    compiles without waiting for this function to be compiled on its own;
    called from Python (``render``) it is compiled as a function.
    """
    n = x.shape[0]
    if n == 0:
        return
    if st[S_RECORDING] > 0.0:  # writing during the previous block
        _record_jumps(pos[:n], st)
    playing = _begin_block(pos[0], values, target, ctl, lanes, st)
    force = st[S_FORCE] > 0.0
    last = st[S_LAST_POS] if playing > 0 else pos[n - 1]
    start = 0
    i = 0
    while True:  # a run of samples at one set of values a turn: one call site of the chain
        stop = n
        while playing > 0 and i < n:  # up to the next sample whose values change
            p = pos[i]
            due = (force and i == 0) or (p != last and (p != last + 1.0 or p % GRID == 0.0))
            last = p
            i += 1
            if due and _evaluate(p, values, target, ctl, lanes, st):
                stop = i - 1
                break
        if stop > start:
            process_block(x[start:stop], target, current, io, st_eq, st_comp, st_exciter,
                          st_stereo, st_limiter, tap)
            start = stop
        if stop == n:
            break
        for q in range(N):
            target[q] = st[S_NEXT + q]
    st[S_FORCE] = 0.0
    st[S_LAST_POS] = last
    if from_song:
        _fade(x, pos, ctl)


def drain(st: np.ndarray, read: int) -> tuple[list[tuple[float, int, float, int]], int, int]:
    """Entries the kernel recorded since ``read``: (entries, new read count, lost).

    Called from the control side; entries overwritten before they were read
    are counted as lost.
    """
    count = int(st[S_RING_COUNT])
    lost = max(0, count - read - RING)
    read = max(read, count - RING)
    out = []
    for k in range(read, count):
        at = S_RING + 4 * (k % RING)
        out.append((float(st[at]), int(st[at + 1]), float(st[at + 2]), int(st[at + 3])))
    return out, count, lost
