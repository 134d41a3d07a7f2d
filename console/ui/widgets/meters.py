"""Meter widgets: a one-line bar meter, a centred bar, a big figure, a scale ruler.

Each widget keeps the numbers it shows and redraws only when what it would
draw changes (``update`` compares before calling ``refresh``), so a frame in
which a value moves less than a cell costs nothing. They never recompose:
the meter screen builds them once, and frames only change their values.
Colours live in ``DEFAULT_CSS`` as component classes, not in code.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Digits, Label

from console.ui.draw import Scale, centre_cells, fmt_number, meter_cells, ruler, zone_spans

NOTCH = Style(reverse=True)


class StyledWidget(Widget):
    """A widget that looks its component styles up once, not on every frame."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rich_styles: dict[str, Style] = {}

    def style_of(self, name: str) -> Style:
        """The rich style of component class ``name`` (cached until the CSS changes)."""
        style = self._rich_styles.get(name)
        if style is None:
            style = self._rich_styles[name] = self.get_component_rich_style(name)
        return style

    def notify_style_update(self) -> None:
        """Forget cached styles when the CSS (or the theme) changes."""
        self._rich_styles.clear()
        super().notify_style_update()


class MeterBar(StyledWidget):
    """One meter on one line: a label, a bar with target and hold marks, the value.

    Parameters
    ----------
    label : str
        Up to 5 characters (``M``, ``TP``, ``Comp``).
    scale : Scale
        Values at the bar's two ends.
    unit : str
        Printed after the value.
    near_db, over_db : float
        The bar turns "near" from ``target - near_db`` and "over" above
        ``target + over_db`` (no target: one colour).
    """

    DEFAULT_CSS = """
    MeterBar { height: 1; width: 1fr; }
    MeterBar > .meter--label { color: $text-muted; }
    MeterBar > .meter--low { color: $success; }
    MeterBar > .meter--near { color: $warning; }
    MeterBar > .meter--over { color: $error; }
    MeterBar > .meter--track { background: $boost; }
    MeterBar > .meter--target { color: $accent; text-style: bold; }
    MeterBar > .meter--hold { color: $foreground; text-style: bold; }
    MeterBar > .meter--value { color: $foreground; text-style: bold; }
    MeterBar.-gr > .meter--low { color: $secondary; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "meter--label", "meter--low", "meter--near", "meter--over", "meter--track",
        "meter--target", "meter--hold", "meter--value"}
    LABEL_W, VALUE_W = 6, 11

    def __init__(self, label: str, scale: Scale, unit: str = "", *, near_db: float = 2.0,
                 over_db: float = 0.0, decimals: int = 1, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.label, self.scale, self.unit = label, scale, unit
        self.near_db, self.over_db, self.decimals = near_db, over_db, decimals
        self.value: float | None = None
        self.hold: float | None = None
        self.target: float | None = None
        self._drawn: tuple[object, ...] = ()

    def bar_width(self) -> int:
        """Cells the bar itself gets, between the label and the value."""
        return max(self.size.width - self.LABEL_W - self.VALUE_W, 1)

    def update(self, value: float | None, hold: float | None = None,
               target: float | None = None) -> None:
        """Show new readings; redraw only if a cell would change."""
        self.value, self.hold, self.target = value, hold, target
        width = self.bar_width()
        key = (meter_cells(value, width, self.scale),
               None if hold is None else self.scale.column(hold, width),
               None if target is None else self.scale.column(target, width),
               self._value_text())
        if key != self._drawn:
            self._drawn = key
            self.refresh()

    def _value_text(self) -> str:
        number = fmt_number(self.value, 6, self.decimals)
        return f"{number} {self.unit}".ljust(self.VALUE_W)[: self.VALUE_W]

    def render(self) -> Text:
        """Label, coloured bar with marks, value."""
        width = self.bar_width()
        cells = list(meter_cells(self.value, width, self.scale))
        text = Text(self.label.ljust(self.LABEL_W)[: self.LABEL_W], self.style_of("meter--label"))
        if self.target is None:
            spans = [(0, width, "meter--low")]
        else:
            edges = [self.target - self.near_db, self.target + self.over_db]
            spans = [(a, b, name) for (a, b), name in zip(
                zone_spans(width, self.scale, edges),
                ("meter--low", "meter--near", "meter--over"), strict=True)]
        track = self.style_of("meter--track")
        marks: dict[int, tuple[str, str]] = {}
        if self.hold is not None and self.scale.fraction(self.hold) > 0:
            marks[self.scale.column(self.hold, width)] = ("▌", "meter--hold")
        if self.target is not None:
            marks[self.scale.column(self.target, width)] = ("│", "meter--target")
        for start, end, name in spans:
            style = track + self.style_of(name)
            run = start
            for i in sorted(m for m in marks if start <= m < end):
                text.append("".join(cells[run:i]), style)
                char, mark = marks[i]
                if cells[i] == " ":  # on the empty track: the mark in its own colour
                    text.append(char, track + self.style_of(mark))
                else:  # inside the bar: a notch cut into it
                    text.append("│", style + NOTCH)
                run = i + 1
            text.append("".join(cells[run:end]), style)
        text.append(" " + self._value_text()[: self.VALUE_W - 1], self.style_of("meter--value"))
        return text


class CentreBar(MeterBar):
    """A meter drawn from the middle of its scale (correlation: -1 left, +1 right)."""

    def update(self, value: float | None, hold: float | None = None,
               target: float | None = None) -> None:
        """Show a new reading; redraw only if a cell would change."""
        self.value = value
        key = (centre_cells(value, self.bar_width(), self.scale), self._value_text())
        if key != self._drawn:
            self._drawn = key
            self.refresh()

    def render(self) -> Text:
        """Label, bar from the centre (red where anti-phase), value."""
        width = self.bar_width()
        text = Text(self.label.ljust(self.LABEL_W)[: self.LABEL_W], self.style_of("meter--label"))
        track = self.style_of("meter--track")
        centre = width // 2
        for i, char in enumerate(centre_cells(self.value, width, self.scale)):
            name = "meter--over" if i < centre and char != " " else "meter--low"
            text.append(char, track + self.style_of(name))
        text.append(" " + self._value_text()[: self.VALUE_W - 1], self.style_of("meter--value"))
        return text


class Ruler(StyledWidget):
    """Tick labels aligned under the bars of :class:`MeterBar` widgets of the same width."""

    DEFAULT_CSS = """
    Ruler { height: 1; width: 1fr; color: $text-muted; }
    """

    def __init__(self, scale: Scale, ticks: tuple[float, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.scale, self.ticks = scale, ticks

    def render(self) -> Text:
        """The ticks, offset by a meter's label column."""
        width = max(self.size.width - MeterBar.LABEL_W - MeterBar.VALUE_W, 1)
        return Text(" " * MeterBar.LABEL_W + ruler(width, self.scale, self.ticks))


class BigFigure(Widget):
    """A key number in three-line digits, with its name and unit: readable from a metre away."""

    DEFAULT_CSS = """
    BigFigure { height: 5; width: 1fr; padding: 0 1; border: round $panel; }
    BigFigure > Label { width: 1fr; color: $text-muted; }
    BigFigure > Digits { width: auto; color: $foreground; }
    BigFigure.-near > Digits { color: $warning; }
    BigFigure.-over > Digits { color: $error; }
    """

    def __init__(self, title: str, unit: str, *, width: int = 5, decimals: int = 1,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.title, self.unit, self.width, self.decimals = title, unit, width, decimals
        self.text = fmt_number(None, width)
        self.digits = Digits(self.text)

    def compose(self) -> ComposeResult:
        """The caption and the digits, built once."""
        yield Label(f"{self.title}  [dim]{self.unit}[/]")
        yield self.digits

    def update(self, value: float | None, level: str = "") -> None:
        """Show ``value``; ``level`` is ``""``, ``"near"`` or ``"over"`` (colours the digits)."""
        text = fmt_number(value, self.width, self.decimals)
        if text != self.text:
            self.text = text
            self.digits.update(text)
        for name in ("near", "over"):
            self.set_class(level == name, f"-{name}")
