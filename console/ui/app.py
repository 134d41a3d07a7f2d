"""The console UI app, and the factory the command line and the tests share.

``masterdeck ui`` and the tests both call :func:`build_app`, so the tests
drive exactly what an engineer runs. The app owns the model and the link;
it turns the link's messages into model updates and calls the matching hook
on the screens of the current mode (see ``screens/base.py``). Nothing here
draws; nothing in the screens talks to the daemon.

``measure_s`` makes the app quit after that long with its own figures in
:attr:`MasterdeckApp.measurement`: meter frames shown per second and the
process's CPU seconds per wall second (``masterdeck ui --measure``).
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from textual.binding import BindingType

from console.ui import keys
from console.ui.actions import ConsoleActions
from console.ui.link import Link
from console.ui.messages import (
    Connected,
    Disconnected,
    MetersFrame,
    ParamsChanged,
    SessionListed,
    StateChanged,
    SurfacesListed,
)
from console.ui.model import ConsoleModel, DeliveryTarget
from console.ui.screens.album import AlbumScreen
from console.ui.screens.answer import AnswerScreen
from console.ui.screens.arc import ArcScreen
from console.ui.screens.automation import AutomationScreen
from console.ui.screens.base import ConsoleScreen
from console.ui.screens.help import HelpScreen
from console.ui.screens.marker import MarkerNoteScreen
from console.ui.screens.meters import MetersScreen
from console.ui.screens.surfaces import SurfacesScreen

STYLESHEET = Path(str(resources.files("console.ui") / "masterdeck.tcss"))
"""The layout, shipped in the wheel beside this module (package data)."""
TICK_S = 0.5
"""Time-based changes (a touch fading, the offline counter) are redrawn this often."""
SURFACES_POLL_S = {"surfaces": 3.0, "other": 15.0}
"""How often the surfaces listing is asked for: often on its own screen, rarely elsewhere."""


class MasterdeckApp(ConsoleActions):
    """The console UI: meters, chain, album, automation, surfaces; a daemon client."""

    CSS_PATH = STYLESHEET
    TITLE = "masterdeck"
    MODES: ClassVar[dict[str, Any]] = {"meters": MetersScreen, "album": AlbumScreen,
                                       "automation": AutomationScreen,
                                       "surfaces": SurfacesScreen, "arc": ArcScreen}
    DEFAULT_MODE = "meters"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = keys.bindings()  # type: ignore[assignment]

    def __init__(self, socket_path: str | None = None, connect: str | None = None,
                 token: str | None = None, target: DeliveryTarget | None = None,
                 retry_s: float = 0.25, retry_max_s: float = 2.0,
                 measure_s: float | None = None) -> None:
        super().__init__()
        self.model = ConsoleModel(where=connect or socket_path or "")
        if target is not None:
            self.model.target = target
        self.link = Link(self.post_message, socket_path, connect, token, retry_s, retry_max_s)
        self.measure_s = measure_s
        self.measurement: dict[str, float] | None = None
        self._measure_start: tuple[float, float, int] | None = None
        self._last_poll = 0.0

    def on_mount(self) -> None:
        """Start the link and the clocks."""
        self.run_worker(self.link.run, name="link", group="link", exclusive=True)
        self.set_interval(TICK_S, self._tick)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the help is open, keys close it; while a note is typed, keys are its text."""
        if isinstance(self.screen, HelpScreen) and action not in ("help", "cancel", "quit"):
            return False
        if isinstance(self.screen, MarkerNoteScreen | AnswerScreen) and action != "cancel":
            return False
        return True

    # from the link ------------------------------------------------------------------------
    def on_connected(self, message: Connected) -> None:
        """A fresh connection: start from its full picture."""
        self.model.where = message.where
        self.model.set_connected(message.hello, message.status, message.values, message.state)
        self.refresh_screens("all")

    def on_disconnected(self, message: Disconnected) -> None:
        """The daemon is away: say so plainly (the link keeps trying)."""
        self.model.where = message.where
        self.model.set_disconnected(message.problem)
        self.refresh_screens("connection")

    def on_meters_frame(self, message: MetersFrame) -> None:
        """The newest meter snapshot (older unprocessed ones were dropped)."""
        now = time.monotonic()
        self.model.apply_meters(message.data, now)
        self.refresh_screens("meters")
        if self.measure_s is not None:
            self._measure(now)

    def on_params_changed(self, message: ParamsChanged) -> None:
        """Parameters changed on the daemon (by anyone, us included)."""
        touched = self.model.touched
        changed = self.model.apply_params(message.values, message.author, time.monotonic())
        if changed:
            self.refresh_screens("params", changed)
        if self.model.touched is not touched:
            self.refresh_screens("selection")

    def on_state_changed(self, message: StateChanged) -> None:
        """Console state flags changed."""
        self.model.apply_state(message.values)
        self.refresh_screens("state")
        note = message.values.get("room_note")
        if isinstance(note, dict):
            self.notify(f"{note.get('note', '')} — at {note.get('clock', '?')}"
                        + (f" in {note['title']}" if note.get("title") else "")
                        + " (N answers)", title=f"listening room: {note.get('name', '?')}",
                        timeout=12)
        if {"album", "song", "room_note"} & set(message.values):
            self.run_worker(self.link.refresh_session, group="requests")

    def on_session_listed(self, message: SessionListed) -> None:
        """A fresh session listing (songs, markers, undo)."""
        self.model.apply_session(message.data, message.problem)
        self.refresh_screens("state")

    def on_surfaces_listed(self, message: SurfacesListed) -> None:
        """A fresh surfaces listing."""
        self.model.apply_surfaces(message.data, message.problem)
        self.refresh_screens("surfaces")

    # to the screens -----------------------------------------------------------------------
    def refresh_screens(self, what: str, changed: list[str] | None = None) -> None:
        """Call the hook for ``what`` on each ready console screen of the current mode."""
        for screen in self.screen_stack:
            if not isinstance(screen, ConsoleScreen) or not screen.ready:
                continue
            if what == "meters":
                screen.show_meters(self.model)
            elif what == "params":
                screen.show_params(self.model, changed)
            elif what == "selection":
                screen.show_selection(self.model)
            elif what == "state":
                screen.show_state(self.model)
            elif what == "surfaces":
                screen.show_surfaces(self.model)
            elif what == "connection":
                screen.show_connection(self.model)
            else:
                screen.show_all(self.model)

    def _tick(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, ConsoleScreen) and screen.ready:
                screen.tick(self.model)
        now = time.monotonic()
        poll = SURFACES_POLL_S["surfaces" if self.current_mode == "surfaces" else "other"]
        if self.model.connected and now - self._last_poll >= poll:
            self._last_poll = now
            self.action_refresh_surfaces()

    def _measure(self, now: float) -> None:
        if self._measure_start is None:
            self._measure_start = (now, time.process_time(), self.model.rate.total)
            return
        began, cpu, frames = self._measure_start
        wall = now - began
        if wall >= (self.measure_s or 0.0) and self.measurement is None:
            self.measurement = {
                "wall_s": round(wall, 3),
                "frames": self.model.rate.total - frames,
                "frames_per_s": round((self.model.rate.total - frames) / wall, 2),
                "cpu_s": round(time.process_time() - cpu, 3),
                "cpu_per_wall_s": round((time.process_time() - cpu) / wall, 4),
            }
            self.exit()


def build_app(socket_path: str | None = None, connect: str | None = None,
              token: str | None = None, target_lufs: float | None = None,
              target_dbtp: float | None = None, **options: Any) -> MasterdeckApp:
    """The app for a daemon at ``socket_path`` (or ``connect`` HOST:PORT with ``token``).

    ``target_lufs`` / ``target_dbtp`` set a custom delivery target (the
    first preset otherwise); further ``options`` go to :class:`MasterdeckApp`
    (``retry_s``, ``retry_max_s``, ``measure_s``).
    """
    target = None
    if target_lufs is not None or target_dbtp is not None:
        target = DeliveryTarget("custom", -14.0 if target_lufs is None else float(target_lufs),
                                -1.0 if target_dbtp is None else float(target_dbtp))
    return MasterdeckApp(socket_path=socket_path, connect=connect, token=token, target=target,
                         **options)
