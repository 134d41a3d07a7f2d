"""Drawing maths for the UI: pure functions from numbers to character cells.

Nothing here imports Textual or touches a terminal, so every rule (where a
meter's edge falls, which eighth-block ends it, where the target line goes,
how a song's loudness history folds into a strip of columns) is tested with
plain tables. The widgets call these and only add colour.

A horizontal bar has ``width`` cells; a value fills ``fraction * width``
cells, in eighths, so a 40-cell meter over 48 dB resolves 0.15 dB.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

EIGHTHS = " ▏▎▍▌▋▊▉█"
"""Left-aligned partial blocks: ``EIGHTHS[k]`` fills ``k`` eighths of a cell."""
RISING = " ▁▂▃▄▅▆▇█"
"""Bottom-aligned partial blocks for vertical columns (strips, sparklines)."""
FULL = "█"


@dataclass(frozen=True)
class Scale:
    """A linear dB (or any unit) scale from ``low`` at the left to ``high`` at the right."""

    low: float
    high: float

    def fraction(self, value: float | None) -> float:
        """Where ``value`` sits along the scale, clamped to 0..1 (None is 0)."""
        if value is None or not math.isfinite(value):
            return 0.0
        return min(max((value - self.low) / (self.high - self.low), 0.0), 1.0)

    def column(self, value: float | None, width: int) -> int:
        """The cell that holds ``value`` on a ``width``-cell bar (0..width-1)."""
        return min(int(self.fraction(value) * width), width - 1) if width > 0 else 0


LUFS_SCALE = Scale(-42.0, 0.0)
"""Loudness meters: quiet speech to a crushed master."""
PEAK_SCALE = Scale(-24.0, 3.0)
"""Peak meters: the top 24 dB, with room above full scale for overs."""
GR_SCALE = Scale(0.0, 12.0)
"""Gain reduction, drawn as its magnitude: 0 to 12 dB."""
CORRELATION_SCALE = Scale(-1.0, 1.0)


def meter_cells(value: float | None, width: int, scale: Scale) -> str:
    """A bar of ``width`` cells filled to ``value``: full blocks, one eighth-block, spaces.

    >>> meter_cells(-21.0, 4, Scale(-42.0, 0.0))
    '██  '
    """
    if width <= 0:
        return ""
    eighths = round(scale.fraction(value) * width * 8)
    full, part = divmod(eighths, 8)
    cells = FULL * full + (EIGHTHS[part] if part else "")
    return cells.ljust(width)


def centre_cells(value: float | None, width: int, scale: Scale = CORRELATION_SCALE) -> str:
    """A bar drawn from the scale's centre towards ``value`` (correlation, balance).

    Whole cells only (a partial block cannot grow leftwards); the centre cell
    is always drawn so the zero is visible.
    """
    if width <= 0:
        return ""
    centre = width // 2
    cells = [" "] * width
    column = scale.column(value, width) if value is not None else centre
    low, high = sorted((centre, column))
    for i in range(low, high + 1):
        cells[i] = FULL
    cells[centre] = "┃" if column == centre else cells[centre]
    return "".join(cells)


def zone_spans(width: int, scale: Scale, edges: Sequence[float]) -> list[tuple[int, int]]:
    """Cell ranges ``[start, end)`` between successive ``edges`` (values), for colouring.

    ``edges`` are the values where the colour changes, ascending; the result
    has ``len(edges) + 1`` spans covering ``0..width`` without gaps.
    """
    cuts = [0, *(round(scale.fraction(edge) * width) for edge in edges), width]
    return [(cuts[i], max(cuts[i], cuts[i + 1])) for i in range(len(cuts) - 1)]


def fmt_number(value: float | None, width: int = 5, decimals: int = 1, sign: bool = False) -> str:
    """A number right-aligned in ``width`` characters, or dashes when there is none.

    Fixed width keeps big figures from jumping about as values change.
    """
    if value is None or not math.isfinite(value):
        return "--.-".rjust(width)
    text = f"{value:+.{decimals}f}" if sign else f"{value:.{decimals}f}"
    return text.rjust(width)


def clock(seconds: float | None, decimals: int = 1) -> str:
    """``m:ss.s`` for a position or a length (``m:ss`` with no decimals); dashes if unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-:--.-" if decimals else "-:--"
    step = 10.0 ** -decimals
    minutes, rest = divmod(max(float(seconds), 0.0), 60.0)
    if decimals == 0:
        rest = math.floor(rest)  # a running clock shows whole seconds passed
    if rest >= 60.0 - step / 2:  # 59.96 s would print as 0:60.0
        minutes, rest = minutes + 1, 0.0
    width = 2 + (decimals + 1 if decimals else 0)
    return f"{int(minutes)}:{rest:0{width}.{decimals}f}"


class PeakHold:
    """A held maximum that waits ``hold_s`` and then falls at ``fall_db_per_s``.

    Feed it every reading with the time; it returns the level to draw the
    hold marker at. A reading above the marker moves it up at once.
    """

    def __init__(self, hold_s: float = 2.0, fall_db_per_s: float = 12.0) -> None:
        self.hold_s = hold_s
        self.fall_db_per_s = fall_db_per_s
        self.level: float | None = None
        self._since = 0.0

    def update(self, value: float | None, now: float) -> float | None:
        """Take a reading at time ``now`` (seconds); return the held level."""
        if self.level is not None:
            age = now - self._since
            if age > self.hold_s:
                self.level -= self.fall_db_per_s * (age - self.hold_s)
                self._since = now - self.hold_s
        if value is not None and (self.level is None or value >= self.level):
            self.level, self._since = value, now
        return self.level

    def reset(self) -> None:
        """Forget the held level (a new song)."""
        self.level = None


class RateCounter:
    """Events per second over the last ``window_s`` seconds (the UI's refresh rate)."""

    def __init__(self, window_s: float = 1.0) -> None:
        self.window_s = window_s
        self.total = 0
        self._times: deque[float] = deque()

    def tick(self, now: float) -> None:
        """Count one event at time ``now``."""
        self.total += 1
        self._times.append(now)
        self._trim(now)

    def rate(self, now: float) -> float:
        """Events per second over the window ending at ``now``."""
        self._trim(now)
        return len(self._times) / self.window_s

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.window_s:
            self._times.popleft()


def fold_columns(values: Sequence[float | None], width: int) -> list[float | None]:
    """Fold a series into ``width`` columns, each the loudest known value of its share.

    Shares are as even as integer division allows; a column whose share
    holds no value is None (not yet played). With fewer values than columns
    each value spreads over several columns.
    """
    count = len(values)
    if width <= 0 or count == 0:
        return [None] * max(width, 0)
    columns: list[float | None] = []
    for c in range(width):
        start = c * count // width
        end = max((c + 1) * count // width, start + 1)
        known = [v for v in values[start:end] if v is not None]
        columns.append(max(known) if known else None)
    return columns


def strip_rows(columns: Iterable[float | None], height: int, scale: Scale) -> list[str]:
    """Vertical bars for ``columns``, as ``height`` text rows from top to bottom.

    Each column rises ``fraction * height`` cells in eighths (bottom-aligned
    blocks); None draws nothing. Row 0 is the top.
    """
    cols = list(columns)
    rows = [[" "] * len(cols) for _ in range(height)]
    for c, value in enumerate(cols):
        if value is None:
            continue
        eighths = round(scale.fraction(value) * height * 8)
        for r in range(height):  # r counts from the bottom
            fill = min(max(eighths - 8 * r, 0), 8)
            rows[height - 1 - r][c] = RISING[fill]
    return ["".join(row) for row in rows]


def strip_row_of(value: float, height: int, scale: Scale) -> int:
    """The text row (0 at the top) a level falls in, for a target line across a strip."""
    cells = scale.fraction(value) * height
    return min(max(height - 1 - int(cells), 0), height - 1)


def lane_shape(points: Sequence[tuple[float, float]], duration_s: float, width: int,
               low: float, high: float) -> list[float | None]:
    """An automation lane's value at the middle of each of ``width`` columns.

    ``points`` are ``(time_s, value)`` breakpoints in time order, joined by
    straight lines and held flat before the first and after the last; the
    result feeds :func:`strip_rows` with ``Scale(low, high)``.
    """
    if not points or width <= 0 or duration_s <= 0:
        return [None] * max(width, 0)
    out: list[float | None] = []
    j = 0
    for c in range(width):
        t = (c + 0.5) * duration_s / width
        while j + 1 < len(points) and points[j + 1][0] <= t:
            j += 1
        t0, v0 = points[j]
        if t <= t0 or j + 1 >= len(points):
            out.append(min(max(v0, low), high))
            continue
        t1, v1 = points[j + 1]
        out.append(min(max(v0 + (v1 - v0) * (t - t0) / (t1 - t0), low), high))
    return out


def ruler(width: int, scale: Scale, ticks: Sequence[float]) -> str:
    """Tick labels under a bar of ``width`` cells, each centred on its value's cell.

    A label that would overlap the previous one, or run off the edge, is left out.
    """
    cells = [" "] * width
    last_end = -1
    for tick in ticks:
        label = f"{tick:g}"
        column = scale.column(tick, width)
        start = min(max(column - len(label) // 2, 0), width - len(label))
        if start <= last_end or start < 0:
            continue
        cells[start:start + len(label)] = label
        last_end = start + len(label)
    return "".join(cells)
