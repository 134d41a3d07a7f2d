"""Strips: a value over the length of a song, as columns of rising blocks.

:class:`LoudnessStrip` shows the current song's short-term loudness at every
position heard so far, with the delivery target as a dashed line and the
playhead as a bright column; :class:`LaneStrip` draws an automation lane's
shape the same way. Both fold their series with the pure functions of
``console.ui.draw`` and redraw only when a cell changes.
"""

from __future__ import annotations

from itertools import groupby
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from console.ui.draw import Scale, fold_columns, strip_row_of, strip_rows
from console.ui.widgets.meters import StyledWidget

STRIP_SCALE = Scale(-36.0, 0.0)


class LoudnessStrip(StyledWidget):
    """Short-term loudness over the song, the target line, the playhead."""

    DEFAULT_CSS = """
    LoudnessStrip { height: 6; width: 1fr; background: $boost; }
    LoudnessStrip > .strip--bar { color: $success; }
    LoudnessStrip > .strip--over { color: $error; }
    LoudnessStrip > .strip--target { color: $accent; }
    LoudnessStrip > .strip--head { background: $accent 40%; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "strip--bar", "strip--over", "strip--target", "strip--head"}

    def __init__(self, scale: Scale = STRIP_SCALE, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.scale = scale
        self.columns: list[float | None] = []
        self.head: int | None = None
        self.target: float | None = None
        self._drawn: tuple[object, ...] = ()
        self._rows: list[Strip] | None = None

    def update(self, bins: list[float | None], fraction: float | None,
               target: float | None) -> None:
        """Show ``bins`` (the song's history), the playhead at ``fraction`` of the song."""
        width = self.size.width
        self.columns = fold_columns(bins, width)
        self.head = None if fraction is None else min(int(fraction * width), width - 1)
        self.target = target
        key = (tuple(strip_rows(self.columns, self.size.height, self.scale)), self.head, target)
        if key != self._drawn:
            self._drawn = key
            self._rows = None
            self.refresh()

    def on_resize(self) -> None:
        """Fold again at the new width on the next frame."""
        self._rows = None
        self._drawn = ()

    def render_line(self, y: int) -> Strip:
        """One row of the strip (all rows are built together, once per change)."""
        if self._rows is None:
            self._rows = self._build()
        if y >= len(self._rows):
            return Strip.blank(self.size.width, self.rich_style)
        return self._rows[y]

    def _build(self) -> list[Strip]:
        """Rows of columns, coloured by whether each column is over the target."""
        height, base = self.size.height, self.rich_style
        rows = strip_rows(self.columns, height, self.scale)
        target_row = None if self.target is None else strip_row_of(self.target, height,
                                                                    self.scale)
        over = [c is not None and self.target is not None and c > self.target + 1.0
                for c in self.columns]
        styles = {name: base + self.style_of(name) for name in self.COMPONENT_CLASSES}
        head = Style(bgcolor=self.style_of("strip--head").bgcolor)
        strips = []
        for r, row in enumerate(rows):
            runs: list[Segment] = []
            for key, cells in groupby(enumerate(row), key=lambda ic: self._cell_kind(
                    ic, r == target_row, over)):
                chars = "".join("╌" if key == "strip--target" else char for _, char in cells)
                style = styles[key.removesuffix("+head")]
                runs.append(Segment(chars, style + head if key.endswith("+head") else style))
            strips.append(Strip(runs).adjust_cell_length(self.size.width, base))
        return strips

    def _cell_kind(self, cell: tuple[int, str], target_row: bool, over: list[bool]) -> str:
        c, char = cell
        kind = "strip--target" if char == " " and target_row else (
            "strip--over" if over[c] else "strip--bar")
        return kind + "+head" if c == self.head else kind


class LaneStrip(StyledWidget):
    """An automation lane's shape over the song (values folded by ``draw.lane_shape``)."""

    DEFAULT_CSS = """
    LaneStrip { height: 3; width: 1fr; background: $boost; color: $secondary; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.values: list[float | None] = []
        self.scale = Scale(0.0, 1.0)

    def show(self, values: list[float | None], scale: Scale) -> None:
        """Draw ``values`` (one per column) against ``scale``."""
        self.values, self.scale = values, scale
        self.refresh()

    def render(self) -> Text:
        """Rising blocks, one column per value."""
        rows = strip_rows(self.values[: self.size.width], self.size.height, self.scale)
        return Text("\n".join(rows))
