"""The shape of a command table: arguments, commands, what they act on.

The console's own commands (:mod:`~console.control.commands`) and the
session's (:mod:`~console.control.session_commands`) are both tables of
:class:`Command`; each handler is a plain function of a :class:`Context` and
its checked arguments, so it can be read (and tested) without any networking.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from console.control.wire import ProtocolError

if TYPE_CHECKING:
    from console.engine.stream import Engine

MAX_INT = 2**53
"""The largest integer an ``int`` argument may be (what a JSON number holds exactly)."""


@dataclass(frozen=True)
class Arg:
    """One argument of a command: its JSON type and whether it must be given."""

    kind: str
    """``str``, ``int``, ``number``, ``bool``, ``object``, ``list[str]`` or ``any``."""
    required: bool = False


def _is(kind: str, value: Any) -> bool:
    if kind == "any":
        return True
    if kind == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        try:
            return math.isfinite(float(value))
        except OverflowError:  # an integer of hundreds of digits
            return False
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_INT
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, {"str": str, "bool": bool, "object": dict}[kind])


@dataclass(frozen=True)
class Command:
    """A command's arguments, its handler and whether it may block for a while."""

    args: dict[str, Arg] = field(default_factory=dict)
    handler: Callable[..., dict[str, Any]] | None = None
    """None for commands the connection handles itself (hello, subscribe, unsubscribe)."""
    blocking: bool = False
    """Run on a worker thread, so a slow call never holds the event loop."""
    decodes: bool = False
    """Reads audio files (a load, a song change, album mode): runs on the decoding workers,
    apart from the others, so a slow decode never keeps ``status`` or a ``set`` waiting."""


@dataclass
class Context:
    """What a command acts on, and the name its changes carry."""

    engine: Engine
    author: str
    surfaces: Any = None
    """The daemon's SurfaceManager, when it runs one."""
    session: Any = None
    """The daemon's SessionController, when it has a session open."""
    room: Any = None
    """The daemon's listening room (:class:`console.room.room.Room`), when it has one."""
    room_defaults: dict[str, Any] | None = None
    """The configuration's ``[room]`` settings, for ``room_start``."""


def check_request(message: dict[str, Any], commands: Mapping[str, Command]
                  ) -> tuple[str, dict[str, Any]]:
    """Return (command, arguments) of a request, checked against ``commands``."""
    name = message.get("command")
    if not isinstance(name, str):
        raise ProtocolError("bad_request", 'a request needs a "command" string')
    command = commands.get(name)
    if command is None:
        raise ProtocolError("unknown_command",
                            f"unknown command {name!r}; known: {', '.join(commands)}")
    args = {k: v for k, v in message.items() if k not in ("command", "request_id")}
    for key, value in args.items():
        spec = command.args.get(key)
        if spec is None:
            allowed = ", ".join(command.args) or "none"
            raise ProtocolError("bad_argument",
                                f"{name}: unknown argument {key!r}; allowed: {allowed}")
        if not _is(spec.kind, value):
            raise ProtocolError("bad_argument", f"{name}: {key} must be {_KIND_WORDS[spec.kind]}, "
                                f"got {json.dumps(value)[:60]}")
    for key, spec in command.args.items():
        if spec.required and key not in args:
            raise ProtocolError("bad_argument", f"{name}: missing argument {key!r}")
    return name, args


_KIND_WORDS = {"str": "a string", "int": "an integer", "number": "a finite number",
               "bool": "true or false", "object": "an object", "list[str]": "a list of strings",
               "any": "a value"}
