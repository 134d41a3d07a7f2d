"""Automation: each lane's mode and its shape over the song.

Lanes come with the session (``masterdeck serve --session DIR``): the
``state`` topic sends the current song's lanes under ``automation``
(``{param: {"mode", "own_mode", "points": [[seconds, value], ...]}}``) and
the global mode in ``album``, whenever they change, so this screen follows
writes and undo as they happen. ``a`` steps the selected parameter's lane
to its next mode and ``A`` the global one (the daemon keeps the order).
Without a session the screen says so and shows the parameter's value as a
flat line, which is what the song plays.
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
"""Lane modes (DESIGN.md)."""
LANE_COLUMNS = 48


def lane_mode(lane: dict, global_mode: str) -> str:
    """A lane's mode in words: its own, or the global one it follows."""
    own = lane.get("own_mode")
    if own:
        return str(own)
    return f"{lane.get('mode') or global_mode} (global)"


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
        global_mode = str((model.album or {}).get("automation_mode") or "off")
        mode = lane_mode(lane, global_mode) if lane else f"{global_mode} (global, no lane)"
        duration = (model.song or {}).get("duration_s") or 0.0
        points = [tuple(p) for p in lane.get("points", [])] or [(0.0, model.values[param.id])]
        width = max(self.lane.size.width, 1)
        self.lane.show(lane_shape(points, duration or 1.0, width, param.min, param.max),
                       lane_scale(param))
        self.title_label.update(
            f"{param.label} [dim]{param.id}[/] · lane mode [b]{mode.upper()}[/] · now "
            f"{param.display(model.values[param.id])}   (↑↓ pick a parameter, a / A: next "
            "lane / global mode)")
        self._show_lanes(model, duration, global_mode)

    def _show_lanes(self, model: ConsoleModel, duration: float, global_mode: str) -> None:
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
            table.add_row(param.label, lane_mode(lane, global_mode),
                          strip_rows(shape, 1, lane_scale(param))[0])
        self.lanes.update(table if model.automation else
                          "no lanes: every parameter plays its set value")
        session = "" if model.album is not None else (
            "No session is open, so there is no automation: start the daemon with "
            "masterdeck serve --session DIR. ")
        self.note.update(f"{session}Global mode: {global_mode.upper()}. Modes: "
                         + " / ".join(MODES) + ".")
