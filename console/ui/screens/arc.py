"""The album arc: the whole album on one line, loud where it is loud, and each song's figures.

The picture the brief draws: two songs that build, the waveform growing. The
line is the album timeline across the screen: each song's mastered
short-term loudness over time as bars (higher is louder), the gaps blank,
crossfades where the songs overlap, and the playhead in the current song.
Below, a row per song: where it starts, its level-plan offset, integrated
loudness, the loudest 3 s, LRA, true peak, and the change from the song
before in LU. The daemon measures it in a worker process whenever the album
changes (``album_arc`` in the state). The session's markers show as ticks
under the line (``M`` drops one, from any screen or a surface) and are listed
with their notes at the foot.

The level plan is edited here: up and down pick a song, left and right move
its level offset by 0.1 dB (with shift, 1 dB), ctrl+left and ctrl+right its
gap by 0.5 s; each ride is one undo step (``u``), journalled and saved like
every other change, and the arc follows once the album has settled. (On
other screens the arrows pick and move parameters.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Label, Static

from console.ui.draw import clock
from console.ui.model import ConsoleModel
from console.ui.screens.base import ConsoleScreen

if TYPE_CHECKING:
    from console.ui.app import MasterdeckApp

BARS = " ▁▂▃▄▅▆▇█"
"""Heights of a column: from quieter than :data:`FLOOR_LUFS` to :data:`CEILING_LUFS`."""
FLOOR_LUFS, CEILING_LUFS = -36.0, -6.0
LIMITS = {"level_offset_db": (-30.0, 6.0), "gap_s": (0.0, 60.0)}
"""What the keys can set (the session refuses more anyway)."""


def _height(lufs: float | None) -> int:
    """A sounding stretch's bar: 1 (the lowest) to 8; None (under 3 s in) is the lowest."""
    if lufs is None:
        return 1
    span = (lufs - FLOOR_LUFS) / (CEILING_LUFS - FLOOR_LUFS)
    return 1 + min(max(round(span * (len(BARS) - 2)), 0), len(BARS) - 2)


def shape_line(arc: dict[str, Any], width: int,
               playhead_s: float | None = None) -> tuple[str, int | None]:
    """The album as ``width`` columns of bars, and the playhead's column (or None).

    A column shows the loudest short-term figure of any song sounding in its
    stretch of the album; a stretch where no song sounds (a gap) is blank,
    and a song's first seconds, before the meter has 3 s, show as the lowest
    bar.
    """
    length = arc["album"]["length_s"]
    if width <= 0 or not length:
        return "", None
    columns: list[int] = [0] * width
    for song in arc["songs"]:
        start, shape = song["start_s"], song["short_term_lufs"]
        for k in range(max(1, len(shape))):
            t0 = start + k * song["length_s"] / max(1, len(shape))
            t1 = start + (k + 1) * song["length_s"] / max(1, len(shape))
            first = min(int(t0 / length * width), width - 1)
            last = min(max(int(t1 / length * width), first + 1), width)
            height = _height(shape[k]) if shape else 1
            for c in range(first, last):
                columns[c] = max(columns[c], max(height, 1))
    head = None if playhead_s is None else min(max(int(playhead_s / length * width), 0),
                                               width - 1)
    return "".join(BARS[h] for h in columns), head


MARK = "▴"
"""A marker's tick under the album's line."""


def album_markers(arc: dict[str, Any], songs: list[dict[str, Any]]
                  ) -> list[tuple[float, int, dict[str, Any]]]:
    """Every marker of the album as (album time, song number, marker), in album order.

    Markers are kept in song time; the arc says where each song starts.
    """
    starts = {song["id"]: (song["start_s"], song["number"]) for song in arc["songs"]}
    out = []
    for song in songs:
        if song.get("id") not in starts:
            continue
        start, number = starts[song["id"]]
        for marker in song.get("markers") or []:
            out.append((start + float(marker.get("position_s") or 0.0), number, marker))
    return sorted(out, key=lambda row: row[0])


def marker_line(arc: dict[str, Any], markers: list[tuple[float, int, dict[str, Any]]],
                width: int) -> str:
    """A line of ``width`` columns with a tick under each marker's place on the album."""
    length = arc["album"]["length_s"]
    line = [" "] * max(width, 0)
    if not length or width <= 0:
        return ""
    for at, _number, _marker in markers:
        line[min(max(int(at / length * width), 0), width - 1)] = MARK
    return "".join(line)


def marker_rows(markers: list[tuple[float, int, dict[str, Any]]]) -> list[str]:
    """One line per marker: its song, its place in the song, its name and note."""
    rows = []
    for _at, number, marker in markers:
        text = marker.get("name") or "marker"
        if marker.get("note"):
            text += f" — {marker['note']}"
        rows.append(f"{MARK} song {number:>2} {clock(marker.get('position_s')):>7}  {text}")
    return rows


def _number(value: float | None, width: int, signed: bool = False) -> str:
    if value is None:
        return "–".rjust(width)
    return f"{value:+{width}.1f}" if signed else f"{value:{width}.1f}"


def table_rows(arc: dict[str, Any], current: str | None, picked: str | None = None
               ) -> list[str]:
    """A header and a row per song (› the one the keys edit, ▶ the one playing), the album's."""
    rows = [f"   {'#':>2} {'song':<22} {'start':>7} {'plan':>5} {'LUFS':>6} {'ST max':>6} "
            f"{'LRA':>5} {'dBTP':>6} {'change':>7}"]
    for song in arc["songs"]:
        mark = ("›" if song["id"] == picked else " ") + ("▶" if song["id"] == current else " ")
        rows.append(f"{mark} {song['number']:>2} {song['title'][:22]:<22} "
                    f"{clock(song['start_s']):>7} {song['level_offset_db']:+5.1f} "
                    f"{_number(song['integrated_lufs'], 6)} "
                    f"{_number(song['max_short_term_lufs'], 6)} {_number(song['lra_lu'], 5)} "
                    f"{_number(song['true_peak_dbtp'], 6)} "
                    f"{_number(song['change_lu'], 7, signed=True)}")
    album = arc["album"]
    rows.append(f"      {'album':<22} {clock(album['length_s']):>7} {'':>5} "
                f"{_number(album['integrated_lufs'], 6)} {'':>6} {_number(album['lra_lu'], 5)} "
                f"{_number(album['true_peak_dbtp'], 6)}")
    return rows


def album_playhead(arc: dict[str, Any], current: str | None,
                   position_s: float | None, album_mode: bool = False) -> float | None:
    """Where the playhead is on the album timeline: the current song's start plus its position.

    In album mode the transport's position is on the album already.
    """
    if album_mode:
        return position_s
    for song in arc["songs"]:
        if song["id"] == current and position_s is not None:
            return song["start_s"] + min(position_s, song["length_s"])
    return None


class ArcScreen(ConsoleScreen):
    """The album's shape and each song's loudness, as mastered; the level plan's keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+right", "plan('gap_s', 0.5)", "longer gap", show=False),
        Binding("ctrl+left", "plan('gap_s', -0.5)", "shorter gap", show=False),
    ]
    """The gap's keys; the arrows come through :meth:`take_arrows` (the app's own keys)."""

    picked = 0
    """The song the keys edit (its place on the album)."""

    def take_arrows(self, kind: str, step: int, coarse: bool = False) -> bool:
        """Up and down pick a song, left and right move its level offset."""
        if kind == "select":
            self.action_pick(step)
        else:
            self.action_plan("level_offset_db", step * (1.0 if coarse else 0.1))
        return True

    def action_pick(self, step: int) -> None:
        """Pick the song above or below."""
        songs = self.model.songs()
        if songs:
            self.picked = min(max(self.picked + step, 0), len(songs) - 1)
            self._draw(self.model)

    def action_plan(self, field: str, delta: float) -> None:
        """Move the picked song's level offset or gap."""
        songs = self.model.songs()
        if not songs or self.model.session is None:
            self.app.notify("The level plan needs a session (masterdeck serve --session DIR).",
                            severity="warning")
            return
        song = songs[min(self.picked, len(songs) - 1)]
        low, high = LIMITS[field]
        value = round(min(max(float(song.get(field) or 0.0) + delta, low), high), 3)
        for listed in self.model.session.get("songs", []):  # at once, so the next key
            if listed.get("id") == song["id"]:  # builds on it; the session's answer
                listed[field] = value  # confirms it
        app = cast("MasterdeckApp", self.app)
        app.send("song_set", id=song["id"], **{field: value})
        app.run_worker(app.link.refresh_session, group="requests")
        self._draw(self.model)

    def compose_body(self) -> ComposeResult:
        """A status line, the shape, the song labels, the figures."""
        self.status = Label(id="arc-status")
        self.shape = Static(id="arc-shape")
        self.table = Static(id="arc-table")
        self.markers = Static(id="arc-markers")
        yield Label("Album arc (as mastered)", classes="section")
        yield self.status
        yield self.shape
        yield self.table
        yield self.markers

    def show_meters(self, model: ConsoleModel) -> None:
        """The playhead moves."""
        super().show_meters(model)
        self._draw(model)

    def show_state(self, model: ConsoleModel) -> None:
        """A new arc, another current song."""
        super().show_state(model)
        self._draw(model)

    def _draw(self, model: ConsoleModel) -> None:
        arc = model.state.get("album_arc")
        if not arc:
            self.status.update("No arc yet: the daemon measures it with a session open "
                               "(masterdeck serve --session DIR), a moment after it changes.")
            self.shape.update("")
            self.table.update("")
            self.markers.update("")
            return
        if "error" in arc:
            self.status.update(Text(f"The album could not be measured: {arc['error']}"))
            return
        current = (model.album or {}).get("current")
        width = max(self.shape.size.width, 20)
        line, head = shape_line(arc, width,
                                album_playhead(arc, current, model.meters.get("position_s"),
                                               bool(model.state.get("album_mode"))))
        shape = Text(line, style="bold")
        if head is not None:
            shape.stylize("reverse", head, head + 1)
        labels = [" "] * width
        for song in arc["songs"]:
            at = min(int(song["start_s"] / arc["album"]["length_s"] * width), width - 1)
            for i, ch in enumerate(str(song["number"])):
                if at + i < width:
                    labels[at + i] = ch
        self.status.update(f"{len(arc['songs'])} songs, {clock(arc['album']['length_s'])}, "
                           "each mastered through its own chain and placed.  ↑↓ pick a song, "
                           "←→ its level (0.1 dB; shift 1 dB), ctrl+←→ its gap, u undo")
        songs = self.model.songs()
        marks = album_markers(arc, songs)
        self.shape.update(Text.assemble(shape, "\n", "".join(labels), "\n",
                                        marker_line(arc, marks, width)))
        picked = songs[min(self.picked, len(songs) - 1)]["id"] if songs else None
        self.table.update("\n".join(table_rows(arc, current, picked)))
        self.markers.update(Text("\n".join(marker_rows(marks)) if marks else
                                 "no markers yet (M drops one at the playhead)"))
