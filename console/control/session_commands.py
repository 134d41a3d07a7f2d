"""The control protocol's session commands: songs, references, markers, automation, undo, save.

Each handler is a plain function of the protocol :class:`~console.control.table.Context`
and its checked arguments, like the rest of the command table; they act on
the daemon's :class:`~console.session.controller.SessionController`
(``ctx.session``). ``docs/protocol.md`` documents them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from console.control.table import Arg, Command, Context
from console.control.wire import ProtocolError


def _session(ctx: Context) -> Any:
    if ctx.session is None:
        raise ProtocolError("unavailable", "this daemon has no session open "
                            "(start it with masterdeck serve --session DIR)")
    return ctx.session


def _describe(ctx: Context) -> dict[str, Any]:
    return {"session": _session(ctx).describe()}


def _save(ctx: Context, force: bool = False) -> dict[str, Any]:
    return {"saved": _session(ctx).save(force=force)}


def _song_add(ctx: Context, path: str, title: str | None = None, index: int | None = None
              ) -> dict[str, Any]:
    return {"song": _session(ctx).add_song(path, title, index)}


def _song_move(ctx: Context, id: str, index: int) -> dict[str, Any]:
    session = _session(ctx)
    session.move_song(id, index)
    return {"songs": [s.id for s in session.session.songs]}


def _song_remove(ctx: Context, id: str) -> dict[str, Any]:
    session = _session(ctx)
    warning = session.remove_song(id)
    return {"songs": [s.id for s in session.session.songs], "current": session.session.current,
            **({"warning": warning} if warning else {})}


def _song_select(ctx: Context, id: str | None = None, number: int | None = None
                 ) -> dict[str, Any]:
    session = _session(ctx)
    if (id is None) == (number is None):
        raise ProtocolError("bad_argument", "song_select: give exactly one of id or number")
    if number is not None:
        id = session.session.song_at(number).id
    return {"song": session.select_song(id, ctx.author)}


def _song_step(delta: int) -> Callable[..., dict[str, Any]]:
    def handler(ctx: Context) -> dict[str, Any]:
        return {"song": _session(ctx).step_song(delta, ctx.author)}
    return handler


def _song_set(ctx: Context, id: str, **fields: Any) -> dict[str, Any]:
    session = _session(ctx)
    if not fields:
        raise ProtocolError("bad_argument", "song_set: give at least one field to change")
    session.set_song(id, author=ctx.author, **fields)
    return {"song": session.describe_song(session.session.song(id))}


def _reference_add(ctx: Context, path: str, title: str | None = None) -> dict[str, Any]:
    return {"reference": _session(ctx).add_reference(path, title)}


def _reference_remove(ctx: Context, id: str) -> dict[str, Any]:
    _session(ctx).remove_reference(id)
    return {}


def _reference_select(ctx: Context, id: str) -> dict[str, Any]:
    _session(ctx).select_reference(id)
    return {"reference": id}


def _marker_add(ctx: Context, position_s: float, name: str = "", note: str = "",
                song: str | None = None) -> dict[str, Any]:
    return {"marker": _session(ctx).add_marker(position_s, name, note, song)}


def _marker_remove(ctx: Context, index: int, song: str | None = None) -> dict[str, Any]:
    _session(ctx).remove_marker(index, song)
    return {}


def _automation_mode(ctx: Context, mode: str | None = None, param: str | None = None,
                     **settings: float) -> dict[str, Any]:
    session = _session(ctx)
    return {"mode": session.set_automation_mode(mode, param, ctx.author, **settings),
            "param": param}


def _automation_lane(ctx: Context, param: str, points: list | None = None,
                     mode: str | None = None, song: str | None = None) -> dict[str, Any]:
    session = _session(ctx)
    if points is not None:
        if not isinstance(points, list) or not all(isinstance(p, list) and len(p) == 2
                                                   for p in points):
            raise ProtocolError("bad_argument", "automation_lane: points must be "
                                "[[position_samples, value], ...]")
        return session.set_lane(param, points, mode, song)
    target = session.session.song(song) if song else session._need_song()
    lane = target.automation.lane(param)
    return {"param": lane.param, "mode": lane.mode, "points": [list(p) for p in lane.points]}


def _album(ctx: Context) -> dict[str, Any]:
    return {"album": _session(ctx).arc.describe()}


def _album_set(ctx: Context, **fields: Any) -> dict[str, Any]:
    if not fields:
        raise ProtocolError("bad_argument", "album_set: give a title, performer or upc")
    session = _session(ctx)
    session.change({"op": "album", **fields})
    s = session.session
    return {"album": {"title": s.title, "performer": s.performer, "upc": s.upc}}


def _album_mode(ctx: Context, on: bool | None = None) -> dict[str, Any]:
    session = _session(ctx)
    if on is None:
        return {"album_mode": session.album.describe()}
    return {"album_mode": session.set_album_mode(on)}


def _album_join(ctx: Context, number: int | None = None, loop: bool = False
                ) -> dict[str, Any]:
    return {"join": _session(ctx).album.join(number, loop)}


def _preview(ctx: Context, platform: str, album: bool = False,
             reference_lufs: float | None = None) -> dict[str, Any]:
    return {"preview": _session(ctx).set_preview(platform, album, reference_lufs)}


def _undo(ctx: Context) -> dict[str, Any]:
    return {"undone": _session(ctx).undo(ctx.author)}


def _redo(ctx: Context) -> dict[str, Any]:
    return {"redone": _session(ctx).redo(ctx.author)}


_ID = {"id": Arg("str", required=True)}
SESSION_COMMANDS: dict[str, Command] = {
    "session": Command({}, _describe),
    "album": Command({}, _album),
    "preview": Command({"platform": Arg("str", required=True), "album": Arg("bool"),
                        "reference_lufs": Arg("number")}, _preview),
    "session_save": Command({"force": Arg("bool")}, _save, blocking=True),
    "song_add": Command({"path": Arg("str", required=True), "title": Arg("str"),
                         "index": Arg("int")}, _song_add, blocking=True, decodes=True),
    "song_move": Command({**_ID, "index": Arg("int", required=True)}, _song_move),
    "song_remove": Command(_ID, _song_remove, blocking=True, decodes=True),
    "song_select": Command({"id": Arg("str"), "number": Arg("int")}, _song_select,
                           blocking=True, decodes=True),
    "song_next": Command({}, _song_step(1), blocking=True, decodes=True),
    "song_previous": Command({}, _song_step(-1), blocking=True, decodes=True),
    "song_set": Command({**_ID, "title": Arg("str"), "file": Arg("str"),
                         "level_offset_db": Arg("number"), "gap_s": Arg("number"),
                         "crossfade_s": Arg("number"), "fade_in_s": Arg("number"),
                         "fade_out_s": Arg("number"), "isrc": Arg("str"),
                         "performer": Arg("str")}, _song_set,
                        blocking=True, decodes=True),
    "reference_add": Command({"path": Arg("str", required=True), "title": Arg("str")},
                             _reference_add),
    "reference_remove": Command(_ID, _reference_remove),
    "reference_select": Command(_ID, _reference_select, blocking=True, decodes=True),
    "marker_add": Command({"position_s": Arg("number", required=True), "name": Arg("str"),
                           "note": Arg("str"), "song": Arg("str")}, _marker_add),
    "marker_remove": Command({"index": Arg("int", required=True), "song": Arg("str")},
                             _marker_remove),
    "automation_mode": Command({"mode": Arg("str"), "param": Arg("str"),
                                "touch_timeout_ms": Arg("number"),
                                "thinning_factor": Arg("number")}, _automation_mode),
    "automation_lane": Command({"param": Arg("str", required=True), "points": Arg("any"),
                                "mode": Arg("str"), "song": Arg("str")}, _automation_lane,
                               blocking=True),
    "album_set": Command({"title": Arg("str"), "performer": Arg("str"), "upc": Arg("str")},
                         _album_set),
    "album_mode": Command({"on": Arg("bool")}, _album_mode, blocking=True, decodes=True),
    "album_join": Command({"number": Arg("int"), "loop": Arg("bool")}, _album_join),
    "undo": Command({}, _undo),
    "redo": Command({}, _redo),
}
"""Added to :data:`console.control.commands.COMMANDS`."""
