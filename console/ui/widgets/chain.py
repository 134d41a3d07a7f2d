"""The chain: a panel per stage, a row per parameter with its value and a bar.

Rows read their parameter's row in ``dsp.params`` (label, unit, range,
``display()``, ``to_normal()``), so nothing about a parameter is restated
here. The row the keyboard moves is marked, the row someone just touched is
lit, a bypassed stage is dimmed, and a diamond says a surface control is
bound to the parameter (the focus panel names it). EQ bands are one row each,
their six parameters side by side, so the five bands fit in five lines.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import Digits, Label

from console.ui.draw import Scale, centre_cells, meter_cells
from console.ui.model import ConsoleModel
from console.ui.widgets.meters import StyledWidget
from dsp import params as P

NORMAL = Scale(0.0, 1.0)
STAGE_TITLES = {"input": "Input", "eq": "EQ", "comp": "Compressor", "exciter": "Exciter",
                "stereo": "Stereo", "clipper": "Clipper", "limiter": "Limiter",
                "output": "Output"}


def param_bar(param: P.Param, value: float, width: int) -> str:
    """A parameter's bar: from the centre for a symmetric dB range, else from the left."""
    if param.unit == "dB" and param.min == -param.max:
        return centre_cells(value, width, Scale(param.min, param.max))
    return meter_cells(param.to_normal(value), width, NORMAL)


class ParamRow(StyledWidget):
    """One parameter: label, value as the engineer reads it, a bar, a bound-control mark."""

    DEFAULT_CSS = """
    ParamRow { height: 1; width: 1fr; }
    ParamRow > .row--bar { color: $primary; background: $boost; }
    ParamRow > .row--bound { color: $accent; }
    ParamRow.-selected { background: $primary 35%; text-style: bold; }
    ParamRow.-touched { background: $warning 45%; }
    ParamRow.-bypassed { color: $text-disabled; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"row--bar", "row--bound"}
    LABEL_W, VALUE_W = 13, 10

    def __init__(self, param: P.Param) -> None:
        super().__init__(id="row-" + param.id.replace(".", "-"))
        self.param = param
        self.value = param.default
        self.bound = False

    def update(self, value: float, bound: bool) -> None:
        """Show a new value (and whether a control is bound); redraw only on change."""
        if (value, bound) != (self.value, self.bound):
            self.value, self.bound = value, bound
            self.refresh()

    def render(self) -> Text:
        """Label, value, bar, mark."""
        p = self.param
        width = max(self.size.width - self.LABEL_W - self.VALUE_W - 3, 1)
        text = Text(p.label.ljust(self.LABEL_W)[: self.LABEL_W] + " ")
        text.append(p.display(self.value).rjust(self.VALUE_W)[: self.VALUE_W] + " ")
        if p.kind == "continuous":
            text.append(param_bar(p, self.value, width), self.style_of("row--bar"))
        else:
            text.append(" " * width)
        text.append("◆" if self.bound else " ", self.style_of("row--bound"))
        return text


class EqBandRow(StyledWidget):
    """One EQ band on one line: in/out, type, frequency, gain (with a bar), Q, channels."""

    DEFAULT_CSS = """
    EqBandRow { height: 1; width: 1fr; }
    EqBandRow > .band--field-selected { background: $primary 60%; text-style: bold; }
    EqBandRow > .band--field-touched { background: $warning 60%; }
    EqBandRow > .band--bar { color: $primary; background: $boost; }
    EqBandRow > .band--off { color: $text-disabled; }
    EqBandRow.-bypassed { color: $text-disabled; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"band--field-selected", "band--field-touched",
                                             "band--bar", "band--off"}
    WIDTHS: ClassVar[dict[str, int]] = {"on": 2, "type": 11, "freq_hz": 9, "gain_db": 9,
                                        "q": 6, "mode": 7}

    def __init__(self, band: int) -> None:
        super().__init__(id=f"band-{band}")
        self.band = band
        self.ids = [f"eq.band{band}.{name}" for name in P.EQ_BAND_FIELDS]
        self.values = {i: P.get(i).default for i in self.ids}
        self.selected: str | None = None
        self.touched: str | None = None

    def update(self, values: dict[str, float], selected: str | None,
               touched: str | None) -> None:
        """Show the band's values and which of its fields is selected or touched."""
        mine = {i: values[i] for i in self.ids}
        sel = selected if selected in self.ids else None
        tch = touched if touched in self.ids else None
        if (mine, sel, tch) != (self.values, self.selected, self.touched):
            self.values, self.selected, self.touched = mine, sel, tch
            self.refresh()

    def _field(self, param_id: str) -> str:
        p, v = P.get(param_id), self.values[param_id]
        name = param_id.rsplit(".", 1)[1]
        if name == "on":
            return "●" if v >= 0.5 else "○"
        if name == "q":
            return "Q" + p.fmt.format(v)
        return p.display(v)

    def render(self) -> Text:
        """Band number, the six fields (the selected one marked), the gain bar."""
        text = Text(f"{self.band} ")
        off = self.values[self.ids[0]] < 0.5
        for param_id in self.ids:
            name = param_id.rsplit(".", 1)[1]
            style = self.style_of("band--off") if off and name != "on" else None
            if param_id == self.selected:
                style = self.style_of("band--field-selected")
            elif param_id == self.touched:
                style = self.style_of("band--field-touched")
            text.append(self._field(param_id).rjust(self.WIDTHS[name] - 1), style or "")
            text.append(" ")
        width = max(self.size.width - len(text) - 1, 1)
        gain = P.get(self.ids[3])
        text.append(param_bar(gain, self.values[self.ids[3]], width), self.style_of("band--bar"))
        return text


class StagePanel(Vertical):
    """A stage's parameters under a title that says whether the stage is in or bypassed."""

    DEFAULT_CSS = """
    StagePanel { height: auto; border: round $panel; padding: 0 1; }
    StagePanel.-bypassed { border: round $error 60%; }
    StagePanel.-focus { border: round $primary; }
    """

    def __init__(self, stage: str) -> None:
        super().__init__(id=f"stage-{stage}")
        self.stage = stage
        self.rows: dict[str, ParamRow] = {}
        self.bands: list[EqBandRow] = []
        self.has_bypass = f"{stage}.bypass" in {p.id for p in P.PARAMS}

    def compose(self) -> ComposeResult:
        """The rows, built once (values change, the rows stay)."""
        if self.stage == "eq":
            self.bands = [EqBandRow(b) for b in range(1, P.EQ_BANDS + 1)]
            yield from self.bands
            return
        for p in P.PARAMS:
            if p.stage == self.stage and p.id != f"{self.stage}.bypass":
                self.rows[p.id] = ParamRow(p)
                yield self.rows[p.id]

    def set_bypassed(self, bypassed: bool, focused: bool) -> None:
        """Title and colour for the stage's bypass state; ``focused`` if it holds the selection."""
        title = STAGE_TITLES[self.stage]
        if self.has_bypass:
            title += " · [b]BYPASSED[/b]" if bypassed else " · in"
        self.border_title = title
        self.set_class(bypassed, "-bypassed")
        self.set_class(focused, "-focus")
        for row in [*self.rows.values(), *self.bands]:
            row.set_class(bypassed, "-bypassed")


class FocusPanel(Vertical):
    """The parameter just touched (or else the selected one), its value large."""

    DEFAULT_CSS = """
    FocusPanel { height: 6; border: round $accent; padding: 0 1; }
    FocusPanel.-touched { border: heavy $warning; }
    FocusPanel > #focus-name { width: 1fr; text-style: bold; }
    FocusPanel > #focus-value { width: auto; }
    FocusPanel > #focus-word { width: 1fr; height: 3; content-align: left middle;
                               text-style: bold; }
    FocusPanel { border-subtitle-color: $text-muted; border-subtitle-align: left; }
    """

    def compose(self) -> ComposeResult:
        """Name line, big value (digits for numbers, a word for choices), binding line."""
        yield Label(id="focus-name")
        yield Digits(id="focus-value")
        yield Label(id="focus-word")

    def show(self, param: P.Param, value: float, why: str, bound: list[str]) -> None:
        """Show ``param`` at ``value``; ``why`` says selected or who touched it."""
        try:
            name = self.query_one("#focus-name", Label)
        except NoMatches:  # an event before the panel is composed: the next one shows
            return
        self.border_title = "just touched" if why != "selected" else "selected"
        self.set_class(why != "selected", "-touched")
        name.update(
            f"{STAGE_TITLES[param.stage]} › {param.label}  [b]{param.display(value)}[/]  "
            f"[dim]{param.id}[/]")
        numeric = param.kind == "continuous"
        digits = self.query_one("#focus-value", Digits)
        word = self.query_one("#focus-word", Label)
        digits.display, word.display = numeric, not numeric
        if numeric:
            digits.update(param.fmt.format(value) + (":1" if param.unit == ":1" else ""))
        else:
            word.update(param.display(value).upper())
        controls = ", ".join(bound) if bound else "no surface control bound"
        how = f"{why} · " if why != "selected" else ""
        self.border_subtitle = f"{how}{param.min:g}..{param.max:g} {param.unit} · {controls}"


class ChainView(VerticalScroll):
    """Every stage of the chain in order, with the selection and the touched parameter marked.

    Built once; :meth:`show` updates the rows whose values changed and
    :meth:`mark` moves the selected and touched highlights.
    """

    DEFAULT_CSS = """
    ChainView { height: 1fr; }
    ChainView > Grid { grid-size: 2; grid-columns: 1fr 1fr; height: auto; grid-gutter: 0 1; }
    ChainView #stage-eq { column-span: 2; }
    """
    ORDER = ("input", "output", "eq", "comp", "limiter", "exciter", "clipper", "stereo")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.panels = {stage: StagePanel(stage) for stage in self.ORDER}
        self.selected: str | None = None
        self.touched: str | None = None

    def compose(self) -> ComposeResult:
        """The stage panels in a two-column grid, EQ across both columns."""
        with Grid():
            yield from self.panels.values()

    def show(self, model: ConsoleModel, changed: list[str] | None = None) -> None:
        """Show parameter values (all, or only ``changed`` ids) and bypass states."""
        ids = [p.id for p in P.PARAMS] if changed is None else changed
        bands = set()
        for param_id in ids:
            stage = param_id.split(".", 1)[0]
            panel = self.panels.get(stage)
            if panel is None:
                continue
            row = panel.rows.get(param_id)
            if row is not None:
                row.update(model.values[param_id], param_id in model.bindings)
            elif stage == "eq" and param_id.startswith("eq.band"):
                bands.add(int(param_id[7]))
        for band in bands:
            self.panels["eq"].bands[band - 1].update(model.values, self.selected, self.touched)
        if changed is None or any(i.endswith(".bypass") for i in ids):
            self._titles(model)

    def _titles(self, model: ConsoleModel) -> None:
        stage = model.selected_param.stage
        for name, panel in self.panels.items():
            panel.set_bypassed(model.bypassed(name), name == stage)

    def mark(self, model: ConsoleModel, touched: str | None) -> None:
        """Highlight the selected row and the touched one; scroll the selection into view."""
        selected = model.selected_param.id
        if (selected, touched) == (self.selected, self.touched):
            return
        old_stage = (self.selected or "").split(".", 1)[0]
        self.selected, self.touched = selected, touched
        for panel in self.panels.values():
            for param_id, row in panel.rows.items():
                row.set_class(param_id == selected, "-selected")
                row.set_class(param_id == touched, "-touched")
            for band in panel.bands:
                band.update(model.values, selected, touched)
        if old_stage != model.selected_param.stage:
            self._titles(model)
        widget = self.row_for(selected)
        if widget is not None:
            self.scroll_to_widget(widget, animate=False)

    def row_for(self, param_id: str) -> StyledWidget | None:
        """The row (or EQ band row) that shows ``param_id``."""
        stage = param_id.split(".", 1)[0]
        panel = self.panels.get(stage)
        if panel is None:
            return None
        if stage == "eq" and param_id.startswith("eq.band"):
            return panel.bands[int(param_id[7]) - 1]
        return panel.rows.get(param_id) or panel
