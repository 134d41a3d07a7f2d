"""Read and check surface profiles (TOML) into :mod:`console.surfaces.profile` objects.

Every problem is a :class:`~dsp.errors.MappingError` naming the file and the
key (``nanokontrol2.toml: binding[4].param: unknown parameter id ...``), so a
user who writes a profile can fix it without reading code. Unknown keys are
errors too: a misspelt ``pikcup`` silently ignored is a knob that jumps.
Channels are 1..16 in the files and 0..15 from here on.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from console.control.desk import ACTIONS
from console.surfaces import album
from console.surfaces import profile as pf
from console.surfaces.transforms import ENCODINGS
from dsp import params as P
from dsp.errors import MappingError, ParameterError

_DEVICE_KEYS = {
    "name", "protocol", "ports", "output_ports", "channel", "motorised", "touch", "display",
    "meters", "bank_size", "leds", "led_on", "led_off", "encoder_step", "pickup_threshold",
    "assignment_display", "quirks",
}
_QUIRK_KEYS = {
    "max_bytes_per_tick", "tick_ms", "touch_timeout_ms", "led_flash", "sysex_id", "handshake",
    "meter_mode",
}
_BINDING_KEYS = {
    "control", "channel", "number", "lsb", "mode", "encoding", "step", "acceleration",
    "button", "toggle", "value", "layer", "param", "action", "args", "min", "max", "invert",
    "pickup", "touch", "label", "feedback", "song",
}
_FEEDBACK_KEYS = {"type", "note", "cc", "channel", "on", "off", "low", "high", "style",
                  "state", "equals"}
_STRIP_KEYS = {"label", "fader", "vpot", "ring", "push", "select", "mute", "solo", "rec"}
_STRIP_BUTTONS = ("push", "select", "mute", "solo", "rec")
_ACTION_STATES: dict[str, tuple[str, Any]] = {
    "play": ("playing", True), "toggle_play": ("playing", True), "stop": ("playing", False),
    "loop": ("loop.on", True), "bypass": ("bypass", True), "reference": ("reference", True),
    "shift": ("surface.shift", True), "album_page": ("surface.album", True),
}
"""Which console state an action button's LED shows, unless the binding says."""
_TOGGLED = ("loop",)
"""Actions whose button passes ``on = not <its LED state>``, unless the binding says."""


class _Where:
    """The file and key path being read, for error messages."""

    def __init__(self, path: Path, key: str = "") -> None:
        self.path, self.key = path, key

    def at(self, key: str) -> _Where:
        return _Where(self.path, f"{self.key}.{key}" if self.key else key)

    def error(self, message: str) -> MappingError:
        return MappingError(f"{self.path.name}: {self.key}: {message}" if self.key
                            else f"{self.path.name}: {message}")


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: _Where) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise where.at(unknown[0]).error(f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _get(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: _Where,
         default: Any = None) -> Any:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise where.at(key).error(f"must be a number, got {value!r}")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise where.at(key).error(f"must be {names}, got {value!r}")
    return value


def _int(table: Mapping[str, Any], key: str, where: _Where, lo: int, hi: int,
         default: int | None = None) -> int | None:
    value = _get(table, key, int, where, default)
    if value is not None and not lo <= value <= hi:
        raise where.at(key).error(f"must be in range {lo}..{hi}, got {value}")
    return value


def _choice(table: Mapping[str, Any], key: str, where: _Where, allowed: Iterable[str],
            default: str) -> str:
    value = _get(table, key, str, where, default)
    allowed = tuple(allowed)
    if value not in allowed:
        raise where.at(key).error(f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _param(table: Mapping[str, Any], key: str, where: _Where) -> str | None:
    name = _get(table, key, str, where)
    if name is None:
        return None
    try:
        return P.get(name).id
    except ParameterError as exc:
        raise where.at(key).error(str(exc)) from None


def _patterns(table: Mapping[str, Any], key: str, where: _Where) -> tuple[str, ...]:
    value = _get(table, key, list, where, [])
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise where.at(key).error("must be a list of non-empty port name patterns")
    return tuple(v.strip().lower() for v in value)


def read_device(table: Mapping[str, Any], where: _Where) -> pf.Device:
    """Check and convert the ``[device]`` table."""
    _check_keys(table, _DEVICE_KEYS, where)
    quirks = _get(table, "quirks", dict, where, {})
    qw = where.at("quirks")
    _check_keys(quirks, _QUIRK_KEYS, qw)
    name = _get(table, "name", str, where)
    if not name:
        raise where.at("name").error("every profile needs a device name")
    meters = _get(table, "meters", (bool, list), where, False)
    meter_keys = tuple(str(m) for m in meters) if isinstance(meters, list) else ()
    display = _choice(table, "display", where, ("none", "mackie"), "none")
    return pf.Device(
        name=name,
        protocol=_choice(table, "protocol", where, ("generic", "mackie"), "generic"),
        ports=_patterns(table, "ports", where),
        output_ports=_patterns(table, "output_ports", where),
        channel=_int(table, "channel", where, 1, 16, 1) - 1,
        motorised=_get(table, "motorised", bool, where, False),
        touch=_get(table, "touch", bool, where, False),
        display=display,
        meters=bool(meters),
        meter_keys=meter_keys,
        bank_size=_int(table, "bank_size", where, 1, 64, 8),
        leds=_get(table, "leds", bool, where, True),
        led_on=_int(table, "led_on", where, 0, 127, 127),
        led_off=_int(table, "led_off", where, 0, 127, 0),
        encoder_step=float(_get(table, "encoder_step", (int, float), where, 0.005)),
        pickup_threshold=float(_get(table, "pickup_threshold", (int, float), where, 0.03)),
        assignment_display=_get(table, "assignment_display", bool, where, False),
        led_flash=_int(quirks, "led_flash", qw, 0, 127, 1),
        touch_timeout_ms=float(_get(quirks, "touch_timeout_ms", (int, float), qw, 300.0)),
        max_bytes_per_tick=_int(quirks, "max_bytes_per_tick", qw, 16, 1 << 20, 512),
        tick_ms=float(_get(quirks, "tick_ms", (int, float), qw, 10.0)),
        sysex_id=_int(quirks, "sysex_id", qw, 0, 127, 0x14),
        handshake=_choice(quirks, "handshake", qw, ("none", "query"), "none"),
        meter_mode=_int(quirks, "meter_mode", qw, 0, 7, 0x03),
    )


def _control(table: Mapping[str, Any], device: pf.Device, where: _Where) -> pf.Control:
    kind = _choice(table, "control", where, pf.CONTROL_KINDS, "")
    channel = _int(table, "channel", where, 1, 16, device.channel + 1) - 1
    limits = {"note": 127, "cc": 127, "cc14": 31, "nrpn": 16383}
    if kind in limits:
        if "number" not in table:
            raise where.at("number").error(f"a {kind} control needs a number")
        number = _int(table, "number", where, 0, limits[kind])
    elif "number" in table:
        raise where.at("number").error(f"a {kind} control has no number")
    else:
        number = 0
    lsb = _int(table, "lsb", where, 32, 63, number + 32) if kind == "cc14" else 0
    return pf.Control(kind, channel, number, lsb)


def _feedback(raw: Any, control: pf.Control, binding: Mapping[str, Any], mode: str,
              device: pf.Device, where: _Where) -> pf.Feedback:
    table: dict[str, Any] = {"type": raw} if isinstance(raw, str) else raw
    if table is None:
        table = {"type": _default_feedback(control, binding, mode, device)}
    if not isinstance(table, dict):
        raise where.error("must be a type name or a table")
    _check_keys(table, _FEEDBACK_KEYS, where)
    kind = _choice(table, "type", where, pf.FEEDBACK_TYPES, "led" if mode == "button" else "value")
    target = control
    channel = _int(table, "channel", where, 1, 16, control.channel + 1) - 1
    if "note" in table and "cc" in table:
        raise where.error("give note or cc, not both")
    if "note" in table:
        target = pf.Control("note", channel, _int(table, "note", where, 0, 127))
    elif "cc" in table:
        target = pf.Control("cc", channel, _int(table, "cc", where, 0, 127))
    elif channel != control.channel:
        target = pf.Control(control.kind, channel, control.number, control.lsb)
    state, equals = None, True
    action = binding.get("action")
    if "state" in table:
        state = _get(table, "state", str, where)
        equals = table.get("equals", True)
    elif kind == "led" and isinstance(action, str):
        state, equals = _action_state(action, binding.get("args") or {})
    if kind == "fader" and control.kind not in ("pitchbend", "cc", "cc14"):
        raise where.error("a motor fader is driven by pitchbend, cc or cc14")
    return pf.Feedback(
        kind=kind, control=target,
        on=_int(table, "on", where, 0, 127, device.led_on),
        off=_int(table, "off", where, 0, 127, device.led_off),
        low=_int(table, "low", where, 0, 127, 0),
        high=_int(table, "high", where, 0, 127, 127),
        style=_choice(table, "style", where, pf.RING_STYLES, "wrap"),
        state=state, equals=equals,
    )


def _action_state(action: str, args: Mapping[str, Any]) -> tuple[str | None, Any]:
    if action == "snapshot_recall":
        return "snapshot", str(args.get("slot", "")).upper()
    if action == "automation_mode":
        return "automation_mode", args.get("mode")
    if action == "translate":
        return "translation", str(args.get("check", "off"))
    if action == "bank":
        return ("surface.bank", args["index"]) if "index" in args else (None, True)
    return _ACTION_STATES.get(action, (None, True))


def _default_feedback(control: pf.Control, binding: Mapping[str, Any], mode: str,
                      device: pf.Device) -> str:
    if mode == "button":
        return "led" if device.leds else "none"
    if mode == "absolute" and device.motorised and ("param" in binding or "song" in binding):
        return "fader" if control.kind == "pitchbend" else "value"
    return "none"


def read_binding(table: Mapping[str, Any], device: pf.Device, where: _Where) -> pf.Binding:
    """Check and convert one ``[[binding]]`` table."""
    if not isinstance(table, dict):
        raise where.error("must be a table")
    _check_keys(table, _BINDING_KEYS, where)
    control = _control(table, device, where)
    mode = _choice(table, "mode", where, pf.MODES,
                   "button" if control.kind == "note" else "absolute")
    param = _param(table, "param", where)
    action = _get(table, "action", str, where)
    song = _int(table, "song", where, 1, 64)
    if sum(t is not None for t in (param, action, song)) != 1:
        raise where.error("give exactly one target: param = \"<id>\", action = \"<name>\" "
                          "or song = <place on the album page>")
    if action is not None and action not in ACTIONS:
        raise where.at("action").error(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    args = _get(table, "args", dict, where, {})
    value = _get(table, "value", (int, float), where)
    button = _choice(table, "button", where, pf.BUTTON_MODES, _default_button(param, value))
    lo = _get(table, "min", (int, float), where)
    hi = _get(table, "max", (int, float), where)
    if param is not None:
        p = P.get(param)
        for key, v in (("min", lo), ("max", hi), ("value", value)):
            if v is not None:
                try:
                    p.check(v)
                except ParameterError as exc:
                    raise where.at(key).error(str(exc)) from None
        if mode == "button" and button == "value" and value is None:
            raise where.at("value").error("a button on a continuous parameter needs a value")
    elif song is not None:
        if mode == "button":
            raise where.at("mode").error("a song's level is a fader, knob or encoder, "
                                         "not a button")
        problem = album.check_range(lo, hi)
        if problem:
            raise where.at("min" if lo is not None else "max").error(problem)
    elif mode == "relative":
        raise where.at("mode").error("relative controls drive parameters, not actions")
    if mode == "relative" and control.kind not in ("cc", "nrpn"):
        raise where.at("mode").error("relative encoders send cc (or nrpn increments)")
    feedback = _feedback(table.get("feedback"), control, table, mode, device, where.at("feedback"))
    pickup_default = mode == "absolute" and not device.motorised
    return pf.Binding(
        control=control, where=where.key, mode=mode, param=param, action=action,
        args=dict(args),
        encoding=_choice(table, "encoding", where, ENCODINGS, "sign_magnitude"),
        step=float(_get(table, "step", (int, float), where, device.encoder_step)),
        acceleration=float(_get(table, "acceleration", (int, float), where, 1.0)),
        button=button, value=None if value is None else float(value),
        toggle=_get(table, "toggle", bool, where, action in _TOGGLED),
        layer=_choice(table, "layer", where, pf.LAYERS, ""),
        lo=lo, hi=hi, invert=_get(table, "invert", bool, where, False),
        pickup=_get(table, "pickup", bool, where, pickup_default),
        touch=_int(table, "touch", where, 0, 127),
        label=_get(table, "label", str, where, ""),
        feedback=feedback, song=song,
    )


def _default_button(param: str | None, value: Any) -> str:
    if param is None:
        return "press"
    if value is not None:
        return "value"
    return "toggle" if P.get(param).kind == "switch" else "press" if P.get(
        param).kind == "choice" else "value"


def read_bank(table: Mapping[str, Any], device: pf.Device, where: _Where) -> pf.Bank:
    """Check and convert one ``[[bank]]`` table (strips for Mackie-style surfaces)."""
    _check_keys(table, {"name", "short", "strips"}, where)
    name = _get(table, "name", str, where, "")
    if not name:
        raise where.at("name").error("every bank needs a name")
    strips_raw = _get(table, "strips", list, where, [])
    if len(strips_raw) > device.bank_size:
        raise where.at("strips").error(f"at most bank_size = {device.bank_size} strips")
    strips = []
    for i, raw in enumerate(strips_raw):
        sw = where.at(f"strips[{i}]")
        if not isinstance(raw, dict):
            raise sw.error("must be a table")
        _check_keys(raw, _STRIP_KEYS, sw)
        buttons = {b: _param(raw, b, sw) for b in _STRIP_BUTTONS if b in raw}
        strips.append(pf.Strip(
            label=_get(raw, "label", str, sw, ""),
            fader=_param(raw, "fader", sw), vpot=_param(raw, "vpot", sw),
            ring=_choice(raw, "ring", sw, pf.RING_STYLES, "") if "ring" in raw else None,
            buttons=buttons,
        ))
    short = _get(table, "short", str, where, name[:2])
    return pf.Bank(name=name, short=short[:2], strips=tuple(strips))


def read_profile(data: Mapping[str, Any], path: Path, origin: str = "shipped") -> pf.Profile:
    """Check a parsed profile; ``path`` names it in errors and gives its id (the stem)."""
    where = _Where(path)
    _check_keys(data, {"device", "binding", "bank"}, where)
    device_table = _get(data, "device", dict, where)
    if device_table is None:
        raise where.at("device").error("missing [device] table")
    device = read_device(device_table, where.at("device"))
    raw_bindings = _get(data, "binding", list, where, [])
    bindings = tuple(read_binding(b, device, _Where(path, f"binding[{i}]"))
                     for i, b in enumerate(raw_bindings))
    seen: dict[tuple, str] = {}
    for b in bindings:
        slot = (*b.control.key, b.layer)
        if slot in seen:
            raise _Where(path, b.where).error(
                f"{b.control.describe()} is already bound by {seen[slot]}")
        seen[slot] = b.where
    banks = tuple(read_bank(b, device, _Where(path, f"bank[{i}]"))
                  for i, b in enumerate(_get(data, "bank", list, where, [])))
    if device.protocol == "mackie" and not banks:
        raise where.at("bank").error("a mackie profile needs at least one [[bank]]")
    return pf.Profile(id=path.stem, path=path, origin=origin, device=device,
                      bindings=bindings, banks=banks)


def load_profile(path: Path, origin: str = "shipped") -> pf.Profile:
    """Read one profile file (MappingError if it cannot be used)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise MappingError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path.name}: not valid TOML: {exc}") from exc
    return read_profile(data, path, origin)


def load_profiles(dirs: Iterable[tuple[Path, str]]) -> tuple[dict[str, pf.Profile], list[str]]:
    """Load every ``*.toml`` in each directory; later directories override earlier ones.

    Returns the profiles by id and the errors as messages: a broken user file
    is reported and skipped (the shipped profile of that id stays in force),
    so one typo never takes every surface down.
    """
    profiles: dict[str, pf.Profile] = {}
    errors: list[str] = []
    for folder, origin in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                profiles[path.stem] = load_profile(path, origin)
            except MappingError as exc:
                errors.append(str(exc))
    return profiles, errors
