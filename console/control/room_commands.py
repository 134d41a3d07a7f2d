"""The control protocol's listening-room commands: start, stop, invite, grant, revoke, answer.

Handlers act on the daemon's :class:`~console.room.room.Room` (``ctx.room``),
which the daemon makes at start (the room itself stays closed until
``room_start``). ``docs/protocol.md`` and ``docs/room.md`` document them.
"""

from __future__ import annotations

from typing import Any

from console.control.table import Arg, Command, Context
from console.control.wire import ProtocolError


def _room(ctx: Context) -> Any:
    if ctx.room is None:
        raise ProtocolError("unavailable", "this daemon has no listening room")
    return ctx.room


def _start(ctx: Context, bind: str | None = None, cert: str | None = None,
           key: str | None = None, url: str | None = None,
           bitrate_kbps: int | None = None, ice_servers: list[str] | None = None,
           turn_secret_file: str | None = None, ice_policy: str | None = None
           ) -> dict[str, Any]:
    room = _room(ctx)
    defaults = ctx.room_defaults or {}
    return {"room": room.start(bind=bind or defaults.get("bind") or "127.0.0.1:8765",
                               cert=cert or defaults.get("cert", ""),
                               key=key or defaults.get("key", ""),
                               url=url or defaults.get("url", ""),
                               bitrate_kbps=bitrate_kbps or defaults.get("bitrate_kbps") or 256,
                               ice_servers=ice_servers if ice_servers is not None
                               else defaults.get("ice_servers", []),
                               turn_secret_file=turn_secret_file
                               or defaults.get("turn_secret_file", ""),
                               ice_policy=ice_policy or defaults.get("ice_policy") or "all")}


def _stop(ctx: Context) -> dict[str, Any]:
    room = _room(ctx)
    room.stop()
    return {"room": room.describe()}


def _describe(ctx: Context) -> dict[str, Any]:
    return {"room": _room(ctx).describe()}


def _invite(ctx: Context, name: str | None = None, grants: list[str] | None = None
            ) -> dict[str, Any]:
    return {"invite": _room(ctx).invite(name, grants)}


def _revoke(ctx: Context, name: str) -> dict[str, Any]:
    return {"revoked": _room(ctx).revoke(name)}


def _grant(ctx: Context, name: str, switches: list[str]) -> dict[str, Any]:
    return {"invite": _room(ctx).grant(name, switches)}


def _answer(ctx: Context, song: str, index: int, text: str) -> dict[str, Any]:
    if not text.strip():
        raise ProtocolError("bad_argument", "room_answer: the answer is empty")
    return {"answer": _room(ctx).notes.answer(song, index, text.strip())}


ROOM_COMMANDS: dict[str, Command] = {
    "room": Command({}, _describe),
    "room_start": Command({"bind": Arg("str"), "cert": Arg("str"), "key": Arg("str"),
                           "url": Arg("str"), "bitrate_kbps": Arg("int"),
                           "ice_servers": Arg("list[str]"), "turn_secret_file": Arg("str"),
                           "ice_policy": Arg("str")}, _start,
                          blocking=True),
    "room_stop": Command({}, _stop, blocking=True),
    "room_invite": Command({"name": Arg("str"), "grants": Arg("list[str]")}, _invite,
                           blocking=True),
    "room_revoke": Command({"name": Arg("str", required=True)}, _revoke, blocking=True),
    "room_grant": Command({"name": Arg("str", required=True),
                           "switches": Arg("list[str]", required=True)}, _grant,
                          blocking=True),
    "room_answer": Command({"song": Arg("str", required=True),
                            "index": Arg("int", required=True),
                            "text": Arg("str", required=True)}, _answer, blocking=True),
}
"""Added to :data:`console.control.commands.COMMANDS`."""
