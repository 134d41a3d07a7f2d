"""The meter bridge: every bar meter and its scale ruler in one widget, a row each.

Why one widget and not a widget per bar: Textual repaints, on each frame,
every widget inside the box around all changed regions, and each widget has
a fixed cost however little of it changed. Thirty frames a second over a
dozen bar widgets was most of the UI's CPU; one bridge whose rows are plain
objects costs one widget, and a frame repaints only the rows that changed.

A row draws itself as segments (label, bar, marks, value) with the bridge's
component styles; the bar cells come from ``console.ui.draw``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from console.ui.draw import Scale, centre_cells, fmt_number, meter_cells, ruler, zone_spans
from console.ui.widgets.meters import StyledWidget

NOTCH = Style(reverse=True)
"""A target line inside a filled bar is cut into it (the bar's colours reversed)."""
LABEL_W, VALUE_W = 6, 12
StyleOf = Callable[[str], Style]


class BarRow:
    """One meter: a label, a bar with target and hold marks, the value.

    ``near_db`` and ``over_db`` set where the bar turns "near" (from
    ``target - near_db``) and "over" (above ``target + over_db``); without a
    target it has one colour (``meter--gr`` for gain reduction rows).
    """

    def __init__(self, label: str, scale: Scale, unit: str = "", *, near_db: float = 2.0,
                 over_db: float = 0.0, decimals: int = 1, gr: bool = False) -> None:
        self.label, self.scale, self.unit = label, scale, unit
        self.near_db, self.over_db, self.decimals, self.gr = near_db, over_db, decimals, gr
        self.value: float | None = None
        self.hold: float | None = None
        self.target: float | None = None

    def key(self, width: int) -> tuple[object, ...]:
        """What the row would draw at ``width``: equal keys draw equal rows."""
        bar = bar_width(width)
        return (meter_cells(self.value, bar, self.scale),
                None if self.hold is None else self.scale.column(self.hold, bar),
                None if self.target is None else self.scale.column(self.target, bar),
                self.value_text())

    def value_text(self) -> str:
        """The reading and its unit, fixed width."""
        number = fmt_number(self.value, 6, self.decimals)
        return f"{number} {self.unit}".ljust(VALUE_W)[:VALUE_W]

    def segments(self, width: int, style_of: StyleOf) -> list[Segment]:
        """Label, coloured bar with marks, value."""
        bar = bar_width(width)
        cells = meter_cells(self.value, bar, self.scale)
        out = [Segment(self.label.ljust(LABEL_W)[:LABEL_W], style_of("meter--label"))]
        if self.target is None:
            spans = [(0, bar, "meter--gr" if self.gr else "meter--low")]
        else:
            edges = [self.target - self.near_db, self.target + self.over_db]
            spans = [(a, b, name) for (a, b), name in zip(
                zone_spans(bar, self.scale, edges), ("meter--low", "meter--near", "meter--over"),
                strict=True)]
        track = Style(bgcolor=style_of("meter--track").bgcolor)
        marks: dict[int, tuple[str, str]] = {}
        if self.hold is not None and self.scale.fraction(self.hold) > 0:
            marks[self.scale.column(self.hold, bar)] = ("▌", "meter--hold")
        if self.target is not None:
            marks[self.scale.column(self.target, bar)] = ("│", "meter--target")
        for start, end, name in spans:
            style = style_of(name) + track  # the track's background wins
            run = start
            for i in sorted(m for m in marks if start <= m < end):
                out.append(Segment(cells[run:i], style))
                char, mark = marks[i]
                if cells[i] == " ":  # on the empty track: the mark in its own colour
                    out.append(Segment(char, style_of(mark) + track))
                elif mark == "meter--target":  # inside the bar: a notch cut into it
                    out.append(Segment("│", style + NOTCH))
                else:  # a hold the bar reaches anyway needs no mark
                    out.append(Segment(cells[i], style))
                run = i + 1
            out.append(Segment(cells[run:end], style))
        out.append(Segment(self.value_text(), style_of("meter--value")))
        return out


class CentreRow(BarRow):
    """A meter drawn from the middle of its scale (correlation: -1 left, +1 right)."""

    def key(self, width: int) -> tuple[object, ...]:
        """What the row would draw at ``width``."""
        return centre_cells(self.value, bar_width(width), self.scale), self.value_text()

    def segments(self, width: int, style_of: StyleOf) -> list[Segment]:
        """Label, bar from the centre (red on the anti-phase side), value."""
        bar = bar_width(width)
        cells = centre_cells(self.value, bar, self.scale)
        track = Style(bgcolor=style_of("meter--track").bgcolor)
        centre = bar // 2
        return [Segment(self.label.ljust(LABEL_W)[:LABEL_W], style_of("meter--label")),
                Segment(cells[:centre], style_of("meter--over") + track),
                Segment(cells[centre:], style_of("meter--low") + track),
                Segment(self.value_text(), style_of("meter--value"))]


class RulerRow:
    """Tick labels under the bars above it (same scale, same width)."""

    def __init__(self, scale: Scale, ticks: tuple[float, ...]) -> None:
        self.scale, self.ticks = scale, ticks

    def key(self, width: int) -> tuple[object, ...]:
        """A ruler changes only with the width."""
        return (width,)

    def segments(self, width: int, style_of: StyleOf) -> list[Segment]:
        """The ticks, offset by a meter's label column."""
        return [Segment(" " * LABEL_W + ruler(bar_width(width), self.scale, self.ticks),
                        style_of("meter--label"))]


Row = BarRow | RulerRow


def bar_width(width: int) -> int:
    """Cells a bar gets in a row ``width`` wide, between the label and the value."""
    return max(width - LABEL_W - VALUE_W, 1)


class MeterBridge(StyledWidget):
    """Rows of meters in one widget; a frame repaints only the rows that changed."""

    DEFAULT_CSS = """
    MeterBridge { height: auto; width: 1fr; }
    MeterBridge > .meter--label { color: $text-muted; }
    MeterBridge > .meter--low { color: $success; }
    MeterBridge > .meter--near { color: $warning; }
    MeterBridge > .meter--over { color: $error; }
    MeterBridge > .meter--gr { color: $accent; }
    MeterBridge > .meter--track { background: $panel-darken-1; }
    MeterBridge > .meter--target { color: $warning; text-style: bold; }
    MeterBridge > .meter--hold { color: $foreground; text-style: bold; }
    MeterBridge > .meter--value { color: $foreground; text-style: bold; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "meter--label", "meter--low", "meter--near", "meter--over", "meter--gr",
        "meter--track", "meter--target", "meter--hold", "meter--value"}

    def __init__(self, rows: list[Row], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows = rows
        self._keys: list[tuple[object, ...] | None] = [None] * len(rows)
        self._strips: list[Strip | None] = [None] * len(rows)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        """One line per row."""
        return len(self.rows)

    def update_row(self, row: BarRow, value: float | None, hold: float | None = None,
                   target: float | None = None) -> None:
        """Give ``row`` new readings; repaint that line only if a cell changes."""
        row.value, row.hold, row.target = value, hold, target
        y = self.rows.index(row)
        key = row.key(self.size.width)
        if key != self._keys[y]:
            self._keys[y] = key
            self._strips[y] = None
            self.refresh(Region(0, y, self.size.width, 1))

    def on_resize(self) -> None:
        """Every row is drawn again at the new width."""
        self._keys = [None] * len(self.rows)
        self._strips = [None] * len(self.rows)

    def notify_style_update(self) -> None:
        """New colours: draw every row again."""
        self._strips = [None] * len(self.rows)
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        """Row ``y``, built once per change."""
        width = self.size.width
        if y >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        strip = self._strips[y]
        if strip is None:
            base = self.rich_style
            segments = [Segment(s.text, base + s.style if s.style else base)
                        for s in self.rows[y].segments(width, self.style_of) if s.text]
            strip = self._strips[y] = Strip(segments).adjust_cell_length(width, base)
        return strip
