"""Widget bases for frequently changing displays, and the big figure.

Each widget keeps what it shows and redraws only when that changes
(``update`` compares before calling ``refresh``), so a frame in which a value
moves less than a cell costs nothing. They never recompose: screens build
them once, and frames only change their values. Colours live in
``DEFAULT_CSS`` as component classes, not in code. The bar meters are rows
of one widget, in ``bridge.py``.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Digits

from console.ui.draw import fmt_number


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


class LineWidget(StyledWidget):
    """A widget drawn as segments through Textual's line API, rebuilt only when it changes.

    A ``render()`` returning Rich text is converted to Textual content on
    every repaint, which costs milliseconds per widget; at 30 frames a
    second over a dozen meters that was most of the UI's CPU. Here a
    widget builds its segments once per change (``segments(width)``), and
    repaints reuse them.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._strip: Strip | None = None

    def redraw(self) -> None:
        """Rebuild the line on the next repaint."""
        self._strip = None
        self.refresh()

    def on_resize(self) -> None:
        """A new width needs new segments."""
        self._strip = None

    def notify_style_update(self) -> None:
        """New colours need new segments."""
        self._strip = None
        super().notify_style_update()

    def segments(self, width: int) -> list[Segment]:
        """The line's segments for ``width`` cells (override)."""
        raise NotImplementedError

    def render_line(self, y: int) -> Strip:
        """The cached line (row 0), blank below it."""
        width = self.size.width
        if y > 0:
            return Strip.blank(width, self.rich_style)
        if self._strip is None:
            base = self.rich_style
            self._strip = Strip([Segment(seg.text, base + seg.style if seg.style else base)
                                 for seg in self.segments(width)]).adjust_cell_length(width, base)
        return self._strip


class BigFigure(Widget):
    """A key number in three-line digits, with its name and unit: readable from a metre away."""

    DEFAULT_CSS = """
    BigFigure { height: 5; width: 1fr; padding: 0 1; border: round $panel;
                border-title-color: $text-muted; }
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
        """The digits, built once; the caption is the border's title."""
        self.border_title = f"{self.title}  {self.unit}"
        yield self.digits

    def update(self, value: float | None, level: str = "") -> None:
        """Show ``value``; ``level`` is ``""``, ``"near"`` or ``"over"`` (colours the digits)."""
        text = fmt_number(value, self.width, self.decimals)
        if text != self.text:
            self.text = text
            self.digits.update(text)
        for name in ("near", "over"):
            self.set_class(level == name, f"-{name}")


class Line(LineWidget):
    """One line of text that changes often: it redraws without a layout pass.

    ``Label.update`` asks for a new layout of the whole screen (its size may
    change); a meter caption or a status line keeps its size, so repainting
    it alone is enough.
    """

    DEFAULT_CSS = """
    Line { height: 1; width: 1fr; }
    """

    def __init__(self, text: str = "", *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = Text.from_markup(text)

    def show(self, markup: str) -> None:
        """Show ``markup`` (Rich markup); repaint only if it changed."""
        text = Text.from_markup(markup)
        if text != self.text:
            self.text = text
            self.redraw()

    def segments(self, width: int) -> list[Segment]:
        """The first row of the text."""
        return list(self.text.split("\n", allow_blank=True)[0].render(self.app.console))

    def render_line(self, y: int) -> Strip:
        """Row ``y`` of the text (a line may be two rows high)."""
        if y == 0:
            return super().render_line(0)
        lines = self.text.split("\n", allow_blank=True)
        base = self.rich_style
        if y >= len(lines):
            return Strip.blank(self.size.width, base)
        return Strip(lines[y].render(self.app.console)).apply_style(base).adjust_cell_length(
            self.size.width, base)
