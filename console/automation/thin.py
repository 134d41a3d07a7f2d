"""Thinning written automation without audible change: Ardour's area rule.

A knob written at a millisecond's resolution leaves thousands of points that
mostly lie on straight lines. ``ControlList::thin`` in Ardour walks the points
in threes, (t0, v0), (t1, v1), (t2, v2) with t in samples and v in the
control's 0..1 travel, and drops the middle one when the triangle they make is
small: ``|t0 (v1 - v2) + t1 (v2 - v0) + t2 (v0 - v1)| < factor * 0.7071``.
It is greedy and keeps the older anchor. Switches and choices are never
thinned (every step of theirs is a real change).
"""

from __future__ import annotations

from dsp import params as P

FACTOR = 20.0
"""Ardour's default ``automation-thinning-factor``; 0 disables thinning."""


def thin(param_id: str, points: list[tuple[int, float]] | tuple[tuple[int, float], ...],
         factor: float = FACTOR) -> list[tuple[int, float]]:
    """Return ``points`` with the ones that lie (nearly) on a line removed."""
    param = P.get(param_id)
    pts = list(points)
    if factor <= 0 or param.kind != "continuous" or len(pts) < 3:
        return pts
    limit = factor * 0.7071
    normal = [param.to_normal(v) for _, v in pts]
    keep = [0]
    prev = 1
    for cur in range(2, len(pts)):
        a = keep[-1]
        t0, t1, t2 = pts[a][0], pts[prev][0], pts[cur][0]
        v0, v1, v2 = normal[a], normal[prev], normal[cur]
        area = abs(t0 * (v1 - v2) + t1 * (v2 - v0) + t2 * (v0 - v1))
        if area >= limit:
            keep.append(prev)
        prev = cur
    keep.append(prev)
    return [pts[i] for i in keep]
