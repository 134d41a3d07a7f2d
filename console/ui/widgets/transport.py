"""Transport, source, connection and song widgets shared by every screen.

:class:`TransportBar` is the one line every screen starts with: playing or
stopped, position, loop, what is heard, the snapshot, the song, the link.
:class:`ConnectionBanner` is the plain warning that the daemon is away; it
is hidden while connected. :class:`SongList` shows the album's songs with
length and loudness; today a daemon has one current song, and the widget
takes a list so sessions (with many songs) need no new widget.
"""

from __future__ import annotations

import time
from typing import Any

from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from console.ui.draw import clock, fmt_number
from console.ui.model import ConsoleModel
from console.ui.widgets.meters import LineWidget

SOURCE_NAMES = {"master": "MASTER", "bypass": "BYPASS (unprocessed)",
                "reference": "REFERENCE"}


def describe_source(model: ConsoleModel) -> str:
    """What the monitors play, in the words the engineer uses (``BYPASS · matched -3.1 dB``)."""
    source = str(model.state.get("source") or model.meters.get("source") or "master")
    words = SOURCE_NAMES.get(source, source.upper())
    gains = model.meters.get("match_gain_db") or {}
    key = {"bypass": "dry", "reference": "ref"}.get(source, "master")
    if model.state.get("match", True):
        gain = gains.get(key)
        words += " · matched" + (f" {gain:+.1f} dB" if gain else "")
    else:
        words += " · not matched"
    check = model.state.get("translation") or "off"
    if check != "off":
        gain = model.meters.get("translation_gain_db")
        words += f" · as {str(check).upper()}" + (f" {gain:+.1f} dB" if gain else "")
    return words


def transport_line(model: ConsoleModel) -> str:
    """The transport in one line of text (also what the tests read).

    The position is in whole seconds: this line spans the screen, and a line
    that changed ten times a second would make every frame repaint all of it.
    """
    playing = model.meters.get("playing", model.state.get("playing", False))
    position = model.meters.get("position_s")
    duration = (model.song or {}).get("duration_s")
    title = (model.song or {}).get("title") or "no song"
    album = bool(model.state.get("album_mode"))
    if album:  # the position is on the album; the song is the one heard
        duration = ((model.state.get("album_arc") or {}).get("album") or {}).get("length_s")
        title = next((s.get("title", "") for s in model.songs() if s.get("current")), title)
    loop = model.loop
    parts = [
        ("▶ PLAYING" if playing else "■ STOPPED"),
        f"{'ALBUM ' if album else ''}{clock(position, 0)} / {clock(duration, 0)}",
        (f"⟳ {clock(loop.get('start_s'))}–{clock(loop.get('end_s'))}" if loop.get("on")
         else "loop off"),
        f"hearing {describe_source(model)}",
        f"snapshot {model.state.get('snapshot') or '-'}",
        f"♪ {title}",
    ]
    return "  │  ".join(parts)


class TransportBar(LineWidget):
    """Playing, position, loop, source, snapshot, song, and the link's state and rate."""

    DEFAULT_CSS = """
    TransportBar { height: 1; width: 1fr; background: $primary-background; padding: 0 1; }
    TransportBar.-playing { background: $success 30%; }
    TransportBar.-heard-bypass { background: $warning 40%; }
    TransportBar.-heard-reference { background: $secondary 50%; }
    """

    def __init__(self) -> None:
        super().__init__(id="transport")
        self.text = ""

    def show(self, model: ConsoleModel) -> None:
        """Update from the model; redraw only if the line changed."""
        link = "● live" if model.connected else "○ offline"
        text = f"{transport_line(model)}  │  {link}"
        source = model.state.get("source") or "master"
        self.set_class(bool(model.meters.get("playing", model.state.get("playing"))),
                       "-playing")
        self.set_class(source == "bypass", "-heard-bypass")
        self.set_class(source == "reference", "-heard-reference")
        if text != self.text:
            self.text = text
            self.redraw()

    def segments(self, width: int) -> list[Segment]:
        """The line, cut at the edge."""
        return [Segment(self.text)]


class ConnectionBanner(Static):
    """A plain warning, in large type, that the daemon is away; hidden while connected."""

    DEFAULT_CSS = """
    ConnectionBanner { display: none; height: 3; width: 1fr; background: $error;
                       color: $text; text-style: bold; content-align: center middle; }
    ConnectionBanner.-down { display: block; }
    """

    def show(self, model: ConsoleModel) -> None:
        """Show why there is no daemon and that the UI keeps trying, or hide."""
        self.set_class(not model.connected, "-down")
        if not model.connected:
            gone = time.monotonic() - model.changed_at
            self.update(f"NO DAEMON — {model.problem}\nretrying {model.where or ''} "
                        f"(offline {gone:.0f} s); the console keeps playing without this UI")


class SongList(Static):
    """The album's songs: number, title, length, integrated loudness, true peak."""

    DEFAULT_CSS = """
    SongList { height: auto; width: 1fr; border: round $panel; }
    """

    def show(self, songs: list[dict[str, Any]], current: int | None,
             empty: str = "no song loaded") -> None:
        """List ``songs`` (dicts as the protocol describes a track), marking ``current``."""
        table = Table(expand=True, box=None, pad_edge=False)
        for name, justify in (("", "left"), ("#", "right"), ("title", "left"),
                              ("length", "right"), ("LUFS", "right"), ("dBTP", "right"),
                              ("file", "left")):
            table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        for i, song in enumerate(songs):
            table.add_row("▶" if i == current else "", str(i + 1),
                          Text(str(song.get("title", "?"))),
                          clock(song.get("duration_s")),
                          fmt_number(song.get("integrated_lufs"), 5),
                          fmt_number(song.get("true_peak_dbtp"), 5),
                          Text(str(song.get("path") or song.get("file") or "")))
        if not songs:
            table.add_row("", "", empty, "", "", "", "")
        self.update(table)
