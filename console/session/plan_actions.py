"""The level plan and markers as desk actions, so a control surface can reach them.

Surfaces only speak to the desk (parameters, state, named actions); a song's
level offset and a marker belong to the session. These two actions carry a
surface's move into the session controller, through the same ``set_song``
and ``add_marker`` every other client uses, so undo, the journal and saving
treat a fader ride like a key press in the UI:

- ``song_level``: ``index`` (0 is the opener) or ``id``, and ``db``;
- ``marker``: a marker at the playhead on the current song (``note`` optional).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.session.errors import SessionError

if TYPE_CHECKING:
    from console.session.controller import SessionController


def register(controller: SessionController) -> None:
    """Make the desk's ``song_level`` and ``marker`` actions act on this session."""
    desk = controller.desk

    def song_level(db: float, index: int | None = None, id: str | None = None,
                   author: str = "") -> dict[str, Any]:
        return set_song_level(controller, db, index, id, author)

    def marker(note: str = "", name: str = "", author: str = "") -> dict[str, Any]:
        return drop_marker(controller, note, name)

    desk.register_action("song_level", song_level)
    desk.register_action("marker", marker)


def set_song_level(controller: SessionController, db: float, index: int | None = None,
                   song_id: str | None = None, author: str = "") -> dict[str, Any]:
    """Set one song's level offset (by its place on the album or its id); return the song."""
    songs = controller.session.songs
    if song_id is None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(songs):
            raise SessionError(f"song_level: index {index!r} is outside 0..{len(songs) - 1}")
        song_id = songs[index].id
    controller.set_song(song_id, author=author, level_offset_db=round(float(db), 2))
    song = controller.session.song(song_id)
    return {"id": song.id, "level_offset_db": song.level_offset_db}


def drop_marker(controller: SessionController, note: str = "", name: str = ""
                ) -> dict[str, Any]:
    """Mark the playhead's place in the current song; return the marker."""
    placed = controller.add_marker(round(float(controller.engine.position_s), 4), name=name,
                                   note=note)
    return {**placed, "name": name, "note": note}
