"""The console's commands: parameters, transport, monitoring, loads, snapshots, surfaces.

With the session's commands (:mod:`~console.control.session_commands`) they
make :data:`COMMANDS`, the table the server answers from. ``hello``,
``subscribe`` and ``unsubscribe`` act on the connection itself, so the
connection handles them; they are only declared here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.control import table
from console.control.desk import ACTIONS, SNAPSHOT_SLOTS, ActionError
from console.control.room_commands import ROOM_COMMANDS
from console.control.session_commands import SESSION_COMMANDS
from console.control.table import Arg, Command, Context
from console.control.wire import SOURCES, TRANSLATIONS, ProtocolError
from console.session.errors import SessionError
from dsp import params as P
from dsp.errors import AudioFileError, DeviceError, MasterdeckError, ParameterError

if TYPE_CHECKING:
    from console.engine.stream import Engine

def transport(engine: Engine) -> dict[str, Any]:
    """The transport as the protocol reports it."""
    state = engine.desk.state()
    return {"playing": bool(state.get("playing", False)), "position_s": round(engine.position_s, 3),
            "source": engine.source, "match": bool(engine.match), "loop": engine.loop_info(),
            "album_mode": engine.timeline is not None, "translation": engine.translation_name}


def _params(ctx: Context, stage: str | None = None) -> dict[str, Any]:
    if stage is not None and stage not in P.STAGES:
        raise ProtocolError("bad_argument", f"params: unknown stage {stage!r}; "
                            f"known: {', '.join(P.STAGES)}")
    return {"params": [p.as_dict() for p in P.PARAMS if stage in (None, p.stage)]}


def _param(param_id: str) -> P.Param:
    try:
        return P.get(param_id)
    except ParameterError:
        raise ProtocolError("unknown_parameter", f"unknown parameter id {param_id!r} "
                            "(masterdeck params lists them)") from None


def _get(ctx: Context, ids: list[str] | None = None) -> dict[str, Any]:
    values = ctx.engine.desk.values()
    if ids is None:
        return {"values": values}
    return {"values": {_param(i).id: values[_param(i).id] for i in ids}}


def _set(ctx: Context, values: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, float] = {}
    for param_id, value in values.items():
        param = _param(param_id)
        if isinstance(value, str):
            parsed[param_id] = param.parse(value)
        elif isinstance(value, int | float):  # bool included: true/false for a switch
            parsed[param_id] = param.check(value)
        else:
            raise ProtocolError("bad_value", f"{param_id}: a value must be a number or a "
                                f"string, got {json.dumps(value)[:60]}")
    return {"values": ctx.engine.desk.set_many(parsed, ctx.author)}


def _act(name: str, **fixed: Any) -> Callable[..., dict[str, Any]]:
    def handler(ctx: Context, **args: Any) -> dict[str, Any]:
        ctx.engine.desk.perform(name, ctx.author, **fixed, **args)
        return {"transport": transport(ctx.engine)}
    return handler


def _locate(ctx: Context, seconds: float) -> dict[str, Any]:
    if seconds < 0:
        raise ProtocolError("bad_argument", f"locate: seconds must be 0 or more, got {seconds:g}")
    engine = ctx.engine
    engine.desk.perform("locate", ctx.author, seconds=float(seconds))
    if engine.timeline is not None:
        length_s = engine.timeline.frames / engine.sample_rate
    else:
        length_s = engine.song.duration_s if engine.song else 0.0
    target = min(float(seconds), length_s)
    deadline = time.monotonic() + 0.25  # the jump is a 10 ms fade away: report it done
    while abs(engine.position_s - target) > 0.1 and time.monotonic() < deadline:
        time.sleep(0.005)
    return {"transport": transport(engine)}


def _loop(ctx: Context, start_s: float | None = None, end_s: float | None = None,
          on: bool | None = None) -> dict[str, Any]:
    now = ctx.engine.loop_info()  # check first: the engine would keep a half-set loop
    start = now["start_s"] if start_s is None else start_s
    end = now["end_s"] if end_s is None else end_s
    if min(start, end) < 0:
        raise ProtocolError("bad_argument", "loop: positions must be 0 s or more")
    if (now["on"] if on is None else on) and end <= start:
        raise ProtocolError("bad_argument",
                            f"loop: the end ({end:g} s) must come after the start ({start:g} s)")
    return _act("loop")(ctx, start=start_s, end=end_s, on=on)


def _one_of(command: str, name: str, names: Iterable[str]) -> str:
    if name not in names:
        raise ProtocolError("bad_argument", f"{command}: {name!r} is not one of "
                            f"{', '.join(names)}")
    return name


def _source(ctx: Context, name: str) -> dict[str, Any]:
    ctx.engine.set_source(_one_of("source", name, SOURCES), ctx.author)
    return {"transport": transport(ctx.engine)}


def _translate(ctx: Context, name: str) -> dict[str, Any]:
    ctx.engine.set_translation(_one_of("translate", name, TRANSLATIONS), ctx.author)
    return {"transport": transport(ctx.engine)}


def _match(ctx: Context, on: bool) -> dict[str, Any]:
    ctx.engine.set_match(on, ctx.author)
    return {"transport": transport(ctx.engine)}


def _load(which: str) -> Callable[..., dict[str, Any]]:
    def handler(ctx: Context, path: str, title: str | None = None) -> dict[str, Any]:
        if not Path(path).is_absolute():
            raise ProtocolError("bad_argument", f"{path!r}: give an absolute path "
                                "(the daemon does not share the client's folder)")
        load = ctx.engine.load_song if which == "song" else ctx.engine.load_reference
        return {which: load(path, title).describe()}
    return handler


def _snapshot(op: str) -> Callable[..., dict[str, Any]]:
    def handler(ctx: Context, slot: str) -> dict[str, Any]:
        if slot.upper() not in SNAPSHOT_SLOTS:
            raise ProtocolError("bad_argument", f"snapshot_{op}: slot {slot!r} is not one "
                                f"of {', '.join(SNAPSHOT_SLOTS)}")
        ctx.engine.desk.perform(f"snapshot_{op}", ctx.author, slot=slot)
        return {"snapshot": ctx.engine.desk.state().get("snapshot")}
    return handler


def _action(ctx: Context, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    if name not in ACTIONS:
        raise ProtocolError("bad_argument",
                            f"action: unknown action {name!r}; known: {', '.join(ACTIONS)}")
    return {"result": ctx.engine.desk.perform(name, ctx.author, **(args or {}))}


def _need_surfaces(ctx: Context) -> Any:
    if ctx.surfaces is None:
        raise ProtocolError("unavailable", "this daemon runs no control surfaces")
    return ctx.surfaces


def _surfaces(ctx: Context) -> dict[str, Any]:
    return {"surfaces": _need_surfaces(ctx).describe()}


def _learn(ctx: Context, param: str | None = None, action: str | None = None,
           args: dict[str, Any] | None = None, surface: str | None = None,
           timeout_s: float = 30.0) -> dict[str, Any]:
    """Arm MIDI learn and wait for the engineer to move a control (or the timeout)."""
    manager = _need_surfaces(ctx)
    if (param is None) == (action is None):
        raise ProtocolError("bad_argument", "learn: give exactly one of param or action")
    if not 0 < timeout_s <= 300:
        raise ProtocolError("bad_argument", "learn: timeout_s must be in 0..300")
    try:
        request = manager.learn(param=param, action=action, args=args, surface=surface,
                                timeout_s=timeout_s)
    except MasterdeckError as exc:
        raise ProtocolError("bad_argument", f"learn: {exc}") from None
    result = request.wait(timeout_s + 1.0)
    if result is None:
        manager.cancel_learn()
        raise ProtocolError("failed", f"learn: {request.error or 'no control was moved'}")
    return {"learned": result}


def _learn_cancel(ctx: Context) -> dict[str, Any]:
    _need_surfaces(ctx).cancel_learn()
    return {}


def _status(ctx: Context) -> dict[str, Any]:
    engine = ctx.engine
    meters = engine.meters()
    return {
        "stream": {"running": engine.running, **engine.stream_info()},
        "transport": transport(engine),
        "song": engine.song.describe() if engine.song else None,
        "reference": engine.reference.describe() if engine.reference else None,
        "xruns": meters.get("xruns", 0),
        "callback_load": engine.callback_load(),
        "start_times": {k: round(v, 3) for k, v in engine.start_times.items()},
        "meters": meters,
        "state": engine.desk.state(),
        "room": ctx.room.describe() if ctx.room is not None else None,
    }


_SLOT = {"slot": Arg("str", required=True)}
_LOAD = {"path": Arg("str", required=True), "title": Arg("str")}
CONSOLE_COMMANDS: dict[str, Command] = {
    "hello": Command({"token": Arg("str"), "protocol": Arg("int"), "client": Arg("str")}),
    "status": Command({}, _status, blocking=True),
    "params": Command({"stage": Arg("str")}, _params),
    "get": Command({"ids": Arg("list[str]")}, _get),
    "set": Command({"values": Arg("object", required=True)}, _set),
    "play": Command({}, _act("play")),
    "stop": Command({}, _act("stop")),
    "locate": Command({"seconds": Arg("number", required=True)}, _locate, blocking=True),
    "loop": Command({"start_s": Arg("number"), "end_s": Arg("number"), "on": Arg("bool")},
                    _loop),
    "source": Command({"name": Arg("str", required=True)}, _source),
    "bypass": Command({"on": Arg("bool")}, _act("bypass")),
    "reference": Command({"on": Arg("bool")}, _act("reference")),
    "match": Command({"on": Arg("bool", required=True)}, _match),
    "translate": Command({"name": Arg("str", required=True)}, _translate),
    "load_song": Command(_LOAD, _load("song"), blocking=True, decodes=True),
    "load_reference": Command(_LOAD, _load("reference"), blocking=True, decodes=True),
    "snapshot_store": Command(_SLOT, _snapshot("store")),
    "snapshot_recall": Command(_SLOT, _snapshot("recall")),
    "action": Command({"name": Arg("str", required=True), "args": Arg("object")}, _action,
                      blocking=True),
    "surfaces": Command({}, _surfaces, blocking=True),
    "learn": Command({"param": Arg("str"), "action": Arg("str"), "args": Arg("object"),
                      "surface": Arg("str"), "timeout_s": Arg("number")}, _learn,
                     blocking=True),
    "learn_cancel": Command({}, _learn_cancel),
    "subscribe": Command({"topic": Arg("str", required=True), "rate_hz": Arg("number")}),
    "unsubscribe": Command({"topic": Arg("str", required=True)}),
}
"""The console's own commands, in the order ``hello`` lists them."""

COMMANDS: dict[str, Command] = {**CONSOLE_COMMANDS, **SESSION_COMMANDS, **ROOM_COMMANDS}
"""Every command the server answers, in the order ``hello`` lists them."""


def check_request(message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return (command, arguments) of a request, checked against :data:`COMMANDS`."""
    return table.check_request(message, COMMANDS)


def error_for(exc: BaseException) -> ProtocolError:
    """The protocol error for an exception a command raised on purpose."""
    if isinstance(exc, ProtocolError):
        return exc
    if isinstance(exc, ParameterError):
        return ProtocolError("bad_value", str(exc))
    if isinstance(exc, AudioFileError):
        return ProtocolError("file_error", str(exc))
    if isinstance(exc, SessionError):
        return ProtocolError("session_error", str(exc))
    if isinstance(exc, DeviceError):
        return ProtocolError("failed", str(exc))
    if isinstance(exc, ActionError | MasterdeckError):
        return ProtocolError("unavailable", str(exc))
    return ProtocolError("internal", f"internal error: {type(exc).__name__}: {exc}")
