"""Clients' notes: placed where the client heard the moment, kept as session markers.

The stream reaches a browser a few hundred milliseconds after the engine
played it, and a note is typed seconds later still, so neither the playhead
when the note arrives nor when it was begun is the place meant. When the
client starts a note the page sends the RTP timestamp it is playing at that
moment (``getSynchronizationSources()``); here that becomes, in turn, the
stream's sample (:meth:`~console.room.track.RoomTrack.sample_of`), the
output-ring frame it was encoded from (:meth:`~console.room.feed.RoomFeed.frame_of`)
and the transport's position when that frame went out, less the chain's
latency (:meth:`~console.room.ring.OutputRing.heard_at`); in album mode,
the song heard there and the place in it. Should any step fail (the map
has moved on), the playhead less the typical delay stands in, said so with
``corrected: false``.

The note itself goes through the session like the engineer's own markers
(``add_marker``: journalled, saved, undo-safe), named after the invite, and
the desk's ``room_note`` state tells the UI and the surfaces at once.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Any

from console.session.errors import SessionError

if TYPE_CHECKING:
    from console.room.room import Room
    from console.room.track import RoomTrack

FALLBACK_DELAY_S = 0.15
"""Used only when a mark cannot be mapped: about what the loopback stream measured."""
PREFIX = "room: "
"""A client's markers are named ``room: NAME``."""


def clock(seconds: float | None) -> str:
    """``m:ss.s``."""
    if seconds is None:
        return "-"
    minutes, rest = divmod(max(float(seconds), 0.0), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


class RoomNotes:
    """Resolve marks, write notes, carry the engineer's answers back."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self._serial = itertools.count(1)
        self._lock = threading.Lock()

    def resolve(self, track: RoomTrack, rtp: int) -> dict[str, Any]:
        """Where the listener of ``track`` was in the music when playing RTP time ``rtp``."""
        room = self.room
        heard = None
        sample = track.sample_of(rtp)
        frame = room.feed.frame_of(sample) if sample is not None else None
        if frame is not None:
            heard = room.ring.heard_at(frame)
        if heard is not None:
            position, album, corrected = heard.position_s, heard.album, True
        else:
            engine = room.engine
            position = max(engine.position_s - FALLBACK_DELAY_S, 0.0)
            album, corrected = engine.timeline is not None, False
        song_id, title, position = self._song_at(position, album)
        return {"song": song_id, "title": title, "position_s": round(position, 3),
                "clock": clock(position), "corrected": corrected,
                **({"frame": frame} if frame is not None else {})}

    def _song_at(self, position: float, album: bool) -> tuple[str | None, str | None, float]:
        """The song (id, title) heard at ``position`` and the place in it."""
        session = self.room.session
        if session is None:
            song = self.room.engine.song
            return None, (song.title if song is not None else None), position
        if album and self.room.engine.timeline is not None:
            song_id, position = session.album.song_at(position)
            return song_id, session.session.song(song_id).title, position
        song = session.session.current_song()
        if song is None:
            return None, None, position
        return song.id, song.title, position

    def add(self, name: str, heard: dict[str, Any], text: str) -> dict[str, Any]:
        """Keep ``text`` as a marker where ``heard`` says; tell the desk; return the marker."""
        session = self.room.session
        if session is None or not heard.get("song"):
            raise SessionError("the engineer has no session open, so notes cannot be kept")
        placed = session.add_marker(heard["position_s"], name=PREFIX + name, note=text,
                                    song_id=heard["song"])
        note = {"serial": next(self._serial), "name": name, "song": placed["song"],
                "title": heard.get("title"), "position_s": placed["position_s"],
                "clock": clock(placed["position_s"]), "note": text}
        self.room.desk.set_state("room_note", note, f"room:{name}")
        return {"song": placed["song"], "title": heard.get("title"),
                "position_s": placed["position_s"], "clock": note["clock"], "note": text}

    def answer(self, song_id: str, index: int, text: str) -> dict[str, Any]:
        """Answer marker ``index`` of ``song_id``; the client who wrote it sees it at once."""
        session = self.room.session
        if session is None:
            raise SessionError("no session is open")
        song = session.session.song(song_id)
        if not isinstance(index, int) or not 0 <= index < len(song.markers):
            raise SessionError(f"song {song_id}: no marker {index} ({len(song.markers)} "
                               "markers)")
        marker = song.markers[index]
        session.change({"op": "marker_answer", "id": song.id, "index": index, "answer": text})
        name = marker.name.removeprefix(PREFIX) if marker.name.startswith(PREFIX) else None
        message = {"type": "answer", "song": song.id, "title": song.title,
                   "position_s": marker.position_s, "clock": clock(marker.position_s),
                   "note": marker.note, "answer": text}
        told = self.room.tell(name, message) if name else 0
        return {"song": song.id, "index": index, "note": marker.note, "answer": text,
                "client": name, "told": told}
