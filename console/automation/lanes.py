"""Lanes: breakpoints of (song position in samples, value in the parameter's unit).

A lane belongs to one parameter of one song. Between breakpoints a value moves
in a straight line (geometrically for log-taper parameters such as Hz, held for
switches and choices); before the first point the first value holds, after the
last the last. :func:`value_at` is that rule in Python; the audio kernel
(:func:`dsp.automation.lane_value`) is the same rule compiled, and the tests
hold them to each other.

A written pass replaces the lane between where writing started and ended
(:func:`merge_pass`), with guard points just outside so the automation on
either side stays exactly as it was.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from dsp import automation as K
from dsp import params as P

Point = tuple[int, float]
GUARD = 64
"""Samples between a pass's edge and the guard point that keeps the old lane outside it."""


@dataclass(frozen=True)
class Lane:
    """One parameter's automation: breakpoints, and its own mode (None: the global one)."""

    param: str
    points: tuple[Point, ...] = ()
    mode: str | None = None


@dataclass
class SongAutomation:
    """Every lane of one song, by parameter id (lanes without points and mode are dropped)."""

    lanes: dict[str, Lane] = field(default_factory=dict)

    def lane(self, param_id: str) -> Lane:
        """The lane of ``param_id`` (an empty one if there is none)."""
        return self.lanes.get(param_id) or Lane(P.get(param_id).id)

    def put(self, lane: Lane) -> None:
        """Store ``lane``, or forget it if it has neither points nor a mode of its own."""
        if lane.points or lane.mode is not None:
            self.lanes[lane.param] = lane
        else:
            self.lanes.pop(lane.param, None)

    def copy(self) -> SongAutomation:
        """An independent copy (lanes are immutable, so a shallow dict copy will do)."""
        return SongAutomation(dict(self.lanes))

    def packed(self) -> np.ndarray:
        """The lanes in the audio kernel's flat layout (:func:`dsp.automation.pack_lanes`)."""
        data: dict[int, tuple[list[float], list[float]]] = {}
        for lane in self.lanes.values():
            if lane.points:
                data[P.index(lane.param)] = ([float(t) for t, _ in lane.points],
                                             [v for _, v in lane.points])
        return K.pack_lanes(data)


def value_at(param_id: str, points: tuple[Point, ...], pos: float) -> float:
    """The value a lane plays at ``pos`` (NaN for an empty lane); the kernel's rule."""
    if not points:
        return math.nan
    if pos <= points[0][0]:
        return points[0][1]
    if pos >= points[-1][0]:
        return points[-1][1]
    lo, hi = 0, len(points) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if points[mid][0] <= pos:
            lo = mid
        else:
            hi = mid
    (t0, v0), (t1, v1) = points[lo], points[lo + 1]
    kind = K.INTERP[P.index(param_id)]
    if kind == K.INTERP_STEP or t1 <= t0:
        return v0
    f = (pos - t0) / (t1 - t0)
    if kind == K.INTERP_LOG and v0 > 0 and v1 > 0:
        return v0 * math.exp(f * math.log(v1 / v0))
    return v0 + f * (v1 - v0)


def check_points(param_id: str, points: Iterable[tuple[float, float]]) -> tuple[Point, ...]:
    """Points as a clean tuple: whole positions >= 0, ascending, values in range.

    Raises ParameterError (value) or ValueError (positions) naming the point.
    """
    param = P.get(param_id)
    out: list[Point] = []
    for k, (t, v) in enumerate(points):
        if not (isinstance(t, int | float) and math.isfinite(t) and t >= 0 and t == int(t)):
            raise ValueError(f"{param_id}: point {k}: position {t!r} is not a whole "
                             "sample position >= 0")
        if out and int(t) < out[-1][0]:
            raise ValueError(f"{param_id}: point {k}: position {int(t)} comes before "
                             f"the previous one ({out[-1][0]})")
        out.append((int(t), param.check(v)))
    return tuple(out)


def merge_pass(param_id: str, old: tuple[Point, ...], recorded: Iterable[Point], start: int,
               end: int, guard: int = GUARD) -> tuple[Point, ...]:
    """The lane after a pass that wrote ``recorded`` between ``start`` and ``end``.

    Old points inside [start - guard, end + guard] go; guard points carrying
    the old lane's value at ``start - guard`` and ``end + guard`` keep the
    automation outside the pass exactly as it was. An empty old lane gets no
    guard points: before and after the pass its first and last values hold,
    which is what was heard while writing it.
    """
    new = [(int(t), float(v)) for t, v in recorded if start <= t <= end]
    if not new:
        return old
    if not old:
        return tuple(_dedupe(new))
    lo, hi = start - guard, end + guard
    before = [pt for pt in old if pt[0] < lo]
    after = [pt for pt in old if pt[0] > hi]
    out = list(before)
    if lo >= 0:
        out.append((lo, value_at(param_id, old, lo)))
    out.extend(new)
    out.append((hi, value_at(param_id, old, hi)))
    out.extend(after)
    return tuple(_dedupe(out))


def _dedupe(points: list[Point]) -> list[Point]:
    """Sorted by position; of two points at one position the later-written one wins."""
    by_pos: dict[int, float] = {}
    for t, v in points:
        by_pos[t] = v
    return sorted(by_pos.items())


def staircase(changes: Iterable[Point], hold_after: int) -> list[Point]:
    """Breakpoints that play a recorded run of changes as it was heard.

    Each change took effect at its position and held until the next one:
    live, a moving fader is a staircase of small steps (each glided over
    12 ms). Where changes come closer together than ``hold_after`` samples
    (a fader in motion), each value is placed at the middle of the time it
    was heard, so the straight lines between breakpoints run through the
    steps instead of along their top edges (which would play the whole move
    half a step early). After a longer wait a point one sample before the
    next change holds the old value, so a jump stays a jump instead of
    becoming a slow ramp.
    """
    pts = list(changes)
    out: list[Point] = []
    for k, (t, v) in enumerate(pts):
        before = t - pts[k - 1][0] if k else None
        after = pts[k + 1][0] - t if k + 1 < len(pts) else None
        if before is not None and before > hold_after and pts[k - 1][1] != v:
            out.append((t - 1, pts[k - 1][1]))
        at = t
        if before is not None and after is not None and before <= hold_after \
                and after <= hold_after:
            at = t + after // 2
        if out and out[-1][0] >= at:
            out[-1] = (out[-1][0], v)
        else:
            out.append((at, v))
    return out


def trimmed(param_id: str, old: tuple[Point, ...], moves: list[Point], reference: float
            ) -> list[Point]:
    """What a trim pass plays: the old lane with the control's moves from ``reference`` on top.

    ``moves`` are the control's values (as breakpoints); for a log-taper
    parameter the move is a ratio, for others a difference. The result has a
    point wherever either the old lane or the moves have one, so both shapes
    survive; values are clamped to the parameter's range.
    """
    param = P.get(param_id)
    if not old or not moves:
        return list(moves)
    log = param.taper == "log" and reference > 0
    lo, hi = moves[0][0], moves[-1][0]
    times = sorted({t for t, _ in moves} | {t for t, _ in old if lo <= t <= hi})
    out = []
    for t in times:
        base = value_at(param_id, old, t)
        move = _linear(moves, t)
        value = base * move / reference if log else base + move - reference
        out.append((t, min(max(value, param.min), param.max)))
    return out


def _linear(points: list[Point], pos: float) -> float:
    """Straight-line interpolation through ``points`` (held beyond the ends)."""
    if pos <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in pairwise(points):
        if pos <= t1:
            return v0 if t1 == t0 else v0 + (pos - t0) / (t1 - t0) * (v1 - v0)
    return points[-1][1]


def lanes_from_mapping(data: Mapping[str, Lane]) -> SongAutomation:
    """A SongAutomation from {param id: Lane}."""
    song = SongAutomation()
    for lane in data.values():
        song.put(lane)
    return song
