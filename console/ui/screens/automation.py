"""Automation: each lane's mode and its shape over the song.

The control protocol (version 1) does not report automation lanes yet: the
desk knows the ``automation_mode`` action but nothing on this console
performs it. So this screen shows what exists (the selected parameter, its
value as a flat line over the song, the modes a lane will have) and draws
lanes as soon as the daemon reports them, under ``automation`` in ``status``
or in a ``state`` event: ``{param_id: {"mode": "read", "points": [[t_s, v],
...]}}``. The shape maths (``draw.lane_shape``) is already in place and tested.
"""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.widgets import Label, Static

from console.ui.draw import Scale, lane_shape, strip_rows
from console.ui.model import ConsoleModel
from console.ui.screens.base import ConsoleScreen
from console.ui.widgets.strip import LaneStrip
from dsp import params as P
from dsp.errors import ParameterError

MODES = ("off", "read", "touch", "latch", "write", "trim")
"""Lane modes, in the order the ``a`` key steps through them (DESIGN.md)."""
LANE_COLUMNS = 48


def next_mode(mode: str) -> str:
    """The mode after ``mode`` in :data:`MODES` (wrapping; unknown starts at ``read``)."""
    return MODES[(MODES.index(mode) + 1) % len(MODES)] if mode in MODES else MODES[1]


def lane_scale(param: P.Param) -> Scale:
    """A lane is drawn over its parameter's whole range."""
    return Scale(param.min, param.max)


class AutomationScreen(ConsoleScreen):
    """The selected parameter's lane large, then every lane the daemon reports."""

    def compose_body(self) -> ComposeResult:
        """Title, the selected lane, the lane list, the note on what the daemon reports."""
        self.title_label = Label(id="lane-title", classes="section")
        self.lane = LaneStrip(id="lane")
        self.lanes = Static(id="lanes")
        self.note = Static(id="automation-note")
        yield self.title_label
        yield self.lane
        yield Label("Lanes", classes="section")
        yield self.lanes
        yield self.note

    def show_params(self, model: ConsoleModel, changed: list[str] | None) -> None:
        """A new value moves the flat line of a parameter without a lane."""
        if changed is None or model.selected_param.id in changed:
            self.show_selection(model)

    def show_state(self, model: ConsoleModel) -> None:
        """Lanes may arrive as state."""
        super().show_state(model)
        self.show_selection(model)

    def show_selection(self, model: ConsoleModel) -> None:
        """Draw the selected parameter's lane, and the list of lanes."""
        param = model.selected_param
        lane = model.automation.get(param.id) or {}
        mode = str(lane.get("mode", "off"))
        duration = (model.song or {}).get("duration_s") or 0.0
        points = [tuple(p) for p in lane.get("points", [])] or [(0.0, model.values[param.id])]
        width = max(self.lane.size.width, 1)
        self.lane.show(lane_shape(points, duration or 1.0, width, param.min, param.max),
                       lane_scale(param))
        self.title_label.update(
            f"{param.label} [dim]{param.id}[/] · lane mode [b]{mode.upper()}[/] · now "
            f"{param.display(model.values[param.id])}   (↑↓ pick a parameter, a: next mode)")
        self._show_lanes(model, duration)

    def _show_lanes(self, model: ConsoleModel, duration: float) -> None:
        table = Table(expand=True, box=None)
        for name in ("parameter", "mode", "shape over the song"):
            table.add_column(name, no_wrap=True)
        for param_id, lane in sorted(model.automation.items()):
            try:
                param = P.get(param_id)
            except ParameterError:  # a lane for a parameter this UI does not know
                continue
            points = [tuple(p) for p in lane.get("points", [])]
            shape = lane_shape(points, duration or 1.0, LANE_COLUMNS, param.min, param.max)
            table.add_row(param.label, str(lane.get("mode", "?")),
                          strip_rows(shape, 1, lane_scale(param))[0])
        self.lanes.update(table if model.automation else
                          "no lanes: every parameter plays its set value")
        self.note.update(
            "Modes: " + " / ".join(MODES) + ".\n"
            + ("" if model.automation else
               "This daemon (protocol 1) reports no automation yet; lanes appear here once it "
               "does. The a key asks the daemon for the automation_mode action and shows its "
               "answer."))
