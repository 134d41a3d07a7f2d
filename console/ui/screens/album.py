"""Album and transport: the songs, where the playhead is, the loop, and what is heard.

With a session (``masterdeck serve --session DIR``) the song list is the
album, in order, and the current song's markers and notes are listed; the
``state`` topic says when the album changes and the session is asked for
again. Without one, the daemon has one current song and no markers, and the
screen says so.
"""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Label, Static

from console.ui.draw import clock, fmt_number
from console.ui.model import ConsoleModel
from console.ui.screens.base import ConsoleScreen
from console.ui.widgets.meters import Line, StyledWidget
from console.ui.widgets.transport import SongList, describe_source


def timeline_cells(width: int, duration_s: float | None, position_s: float | None,
                   loop: dict) -> tuple[int | None, tuple[int, int] | None]:
    """Playhead column and loop span ``[start, end)`` on a ``width``-cell song timeline."""
    if not duration_s or width <= 0:
        return None, None

    def column(t: float) -> int:
        return min(max(int(t / duration_s * width), 0), width - 1)

    head = None if position_s is None else column(position_s)
    span = None
    if loop.get("on") and loop.get("end_s", 0) > loop.get("start_s", 0):
        span = (column(loop["start_s"]), column(loop["end_s"]) + 1)
    return head, span


class Timeline(StyledWidget):
    """The song as one line: played part, loop region, playhead."""

    DEFAULT_CSS = """
    Timeline { height: 1; width: 1fr; background: $boost; }
    Timeline > .timeline--played { color: $primary; }
    Timeline > .timeline--loop { background: $secondary 50%; }
    Timeline > .timeline--head { color: $warning; text-style: bold; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"timeline--played", "timeline--loop",
                                             "timeline--head"}

    def __init__(self) -> None:
        super().__init__(id="timeline")
        self.head: int | None = None
        self.span: tuple[int, int] | None = None

    def update(self, model: ConsoleModel) -> None:
        """Follow the playhead and the loop."""
        head, span = timeline_cells(self.size.width, (model.song or {}).get("duration_s"),
                                    model.meters.get("position_s"), model.loop)
        if (head, span) != (self.head, self.span):
            self.head, self.span = head, span
            self.refresh()

    def render(self) -> Text:
        """Played cells, loop shading, the playhead."""
        text = Text()
        played_style = self.style_of("timeline--played")
        loop_style = self.style_of("timeline--loop")
        for i in range(self.size.width):
            if i == self.head:
                text.append("┃", self.style_of("timeline--head"))
                continue
            played = self.head is not None and i < self.head
            style = played_style if played else Style()
            if self.span and self.span[0] <= i < self.span[1]:
                style = style + loop_style
            text.append("━" if played else "─", style)
        return text


class AlbumScreen(ConsoleScreen):
    """Songs, position, loop, source, reference and snapshot."""

    def compose_body(self) -> ComposeResult:
        """Position in large digits, the timeline, the source panel, the songs."""
        self.position = Digits("0:00.0", id="position")
        self.duration = Label(id="duration")
        self.timeline = Timeline()
        self.source = Label(id="source-big")
        self.match = Line(id="match")
        self.loop_label = Label(id="loop")
        self.snapshot = Label(id="snapshot")
        self.songs = SongList(id="songs")
        self.reference = SongList(id="reference")
        with Horizontal(id="album-top"):
            with Vertical(id="position-box"):
                yield Label("POSITION", classes="caption")
                yield self.position
                yield self.duration
            with Vertical(id="source-box"):
                yield Label("HEARING", classes="caption")
                yield self.source
                yield self.match
                yield self.snapshot
        yield self.timeline
        yield self.loop_label
        self.songs_title = Label("Songs", classes="section")
        self.undo = Line(id="undo")
        yield self.songs_title
        yield self.songs
        yield self.undo
        yield Label("Reference track", classes="section")
        yield self.reference
        yield Label("Markers and notes", classes="section")
        self.markers = Static(id="markers")
        yield self.markers

    def show_meters(self, model: ConsoleModel) -> None:
        """Position, timeline and match gains follow every frame."""
        super().show_meters(model)
        position = clock(model.meters.get("position_s"))
        if position != self.position.value:
            self.position.update(position)
        self.timeline.update(model)
        self._show_match(model)

    def show_state(self, model: ConsoleModel) -> None:
        """Source, loop, snapshot and songs."""
        super().show_state(model)
        song = model.song or {}
        self.duration.update(f"of {clock(song.get('duration_s'))}   "
                             f"{'▶ playing' if model.state.get('playing') else '■ stopped'}")
        source = str(model.state.get("source") or "master")
        self.source.update(source.upper())
        self.source.set_classes(f"-{source}")
        loop = model.loop
        self.loop_label.update(Text(
            f"loop {'ON' if loop.get('on') else 'off'}: {clock(loop.get('start_s'))} – "
            f"{clock(loop.get('end_s'))}   ([ and ] set it at the playhead, l switches it)"))
        self.snapshot.update(f"snapshot: {model.state.get('snapshot') or 'none recalled'}  "
                             "(1-4 recall A-D, s then 1-4 stores)")
        songs = model.songs()
        current = next((i for i, song in enumerate(songs) if song.get("current")), None)
        self.songs.show(songs, current)
        album = model.album or {}
        self.songs_title.update(f"Songs · {album.get('title')}" if album.get("title") else
                                "Songs (n / p: next / previous)")
        self.reference.show([model.reference] if model.reference else [], None,
                            "no reference loaded")
        self._show_session(model)

    def _show_session(self, model: ConsoleModel) -> None:
        if model.session is None:
            self.undo.show("")
            self.markers.update(Text(
                "No session is open, so no markers or notes (masterdeck serve --session DIR)."))
            return
        undo = ((model.session.get("undo") or {}).get("undo") or {}).get("label")
        self.undo.show(f"[dim]undo (u): {escape(undo)}[/]" if undo else
                       "[dim]nothing to undo[/]")
        rows = [f"{clock(m.get('position_s'))}  {m.get('name') or 'marker'}"
                + (f" — {m['note']}" if m.get("note") else "") for m in model.markers()]
        self.markers.update(Text("\n".join(rows) if rows else
                                 "no markers in this song (M marks the playhead)"))
        self._show_match(model)

    def _show_match(self, model: ConsoleModel) -> None:
        m = model.meters
        text = (f"{describe_source(model)}\nmaster {fmt_number(m.get('master_lufs_recent'))} LUFS"
                f" · unprocessed {fmt_number(m.get('unprocessed_lufs_recent'))} LUFS (last 3 s)")
        self.match.show(text)
