"""Bindings at run time: lookup tables, per-control state and feedback bytes.

A :class:`BindingTable` is built once from a profile's bindings (and, for
Mackie surfaces, the current bank's strips) and then only read; learning a
control or switching bank builds a new table and swaps it in whole, so the
input thread never sees one half-changed.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from console.surfaces import album, mcu
from console.surfaces.feedback import Cell
from console.surfaces.profile import Binding, Control, ControlKey
from console.surfaces.transforms import (
    Pickup,
    control_from_value,
    raw7_from_normal,
    raw14_from_normal,
    span_normal,
)
from dsp import params as P


@dataclass(eq=False)
class Bound:
    """One binding with what it needs at run time.

    ``pickup`` and ``last_time`` change as the control moves (input thread
    only, except that a change from elsewhere disengages pickup). A song
    fader has no ``param`` but a ``level``: its travel as a level offset.
    """

    binding: Binding
    param: P.Param | None
    span: tuple[float, float] = (0.0, 1.0)
    pickup: Pickup = field(default_factory=Pickup)
    last_time: float = 0.0
    level: P.Param | None = None

    @property
    def cell_key(self) -> Hashable | None:
        """Where this binding's feedback lands (shared by the layers of one control)."""
        fb = self.binding.feedback
        if fb.kind == "none" or fb.control is None:
            return None
        return ("fb", fb.kind if fb.kind in ("ring", "fader") else "ctl", *fb.control.key)


def bind(binding: Binding) -> Bound:
    """Prepare a binding for use (look up its parameter and travel)."""
    if binding.song is not None:
        return Bound(binding, None, level=album.level_param(binding.lo, binding.hi))
    param = P.get(binding.param) if binding.param else None
    span = span_normal(param, binding.lo, binding.hi) if param else (0.0, 1.0)
    return Bound(binding, param, span)


class BindingTable:
    """Every binding of one surface, indexed the ways the input and feedback need."""

    def __init__(self, bindings: Iterable[Binding]) -> None:
        self.all: list[Bound] = []
        self.by_key: dict[ControlKey, dict[str, Bound]] = {}
        self.by_param: dict[str, list[Bound]] = {}
        self.by_state: dict[str, list[Bound]] = {}
        self.by_touch: dict[tuple[int, int], Bound] = {}
        self.cc14: set[tuple[int, int]] = set()
        self.lsb_of: dict[tuple[int, int], int] = {}
        self.nrpn_channels: set[int] = set()
        for binding in bindings:
            layers = self.by_key.setdefault(binding.control.key, {})
            if binding.layer in layers:
                continue  # an earlier binding (a profile's own, or learned) wins
            bound = bind(binding)
            layers[binding.layer] = bound
            self.all.append(bound)
            if binding.param:
                self.by_param.setdefault(binding.param, []).append(bound)
            if binding.feedback.state:
                top = binding.feedback.state.split(".")[0]
                self.by_state.setdefault(top, []).append(bound)
            if binding.touch is not None:
                self.by_touch[(binding.control.channel, binding.touch)] = bound
            c = binding.control
            if c.kind == "cc14":
                self.cc14.add((c.channel, c.number))
                self.lsb_of[(c.channel, c.number)] = c.lsb
            elif c.kind == "nrpn":
                self.nrpn_channels.add(c.channel)

    def find(self, key: ControlKey, layer: str | tuple[str, ...]) -> Bound | None:
        """The binding for a control on the first of ``layer`` that has one, else the base's.

        ``layer`` is one layer or the active ones in order of precedence
        (``("album", "shift")`` while the album page is on and Shift held).
        """
        layers = self.by_key.get(key)
        if not layers:
            return None
        for name in (layer,) if isinstance(layer, str) else layer:
            if name in layers:
                return layers[name]
        return layers.get("")

    def visible(self, bound: Bound, layer: str | tuple[str, ...]) -> bool:
        """Whether ``bound`` is the one its control shows on ``layer``."""
        return self.find(bound.binding.control.key, layer) is bound


# feedback bytes -----------------------------------------------------------------
def _message(control: Control, raw: int, bits14: bool) -> Cell:
    ch = control.channel & 0x0F
    if control.kind == "pitchbend":
        return (bytes((0xE0 | ch, raw & 0x7F, (raw >> 7) & 0x7F)),)
    if control.kind == "cc14":
        return (bytes((0xB0 | ch, control.number, (raw >> 7) & 0x7F)),
                bytes((0xB0 | ch, control.lsb, raw & 0x7F)))
    if control.kind == "nrpn":
        n = control.number
        return (bytes((0xB0 | ch, 99, n >> 7)), bytes((0xB0 | ch, 98, n & 0x7F)),
                bytes((0xB0 | ch, 6, (raw >> 7) & 0x7F)), bytes((0xB0 | ch, 38, raw & 0x7F)))
    if control.kind == "pressure":
        return (bytes((0xD0 | ch, raw & 0x7F)),)
    status = 0x90 if control.kind == "note" else 0xB0
    value = (raw >> 7) if bits14 else raw
    return (bytes((status | ch, control.number & 0x7F, value & 0x7F)),)


def position(bound: Bound, value: float) -> float:
    """Where the bound control sits (0..1) when its parameter (or song level) has ``value``."""
    param = bound.param or bound.level
    assert param is not None
    return control_from_value(param, value, bound.span, bound.binding.invert)


def value_cell(bound: Bound, value: float) -> Cell | None:
    """Bytes that show a parameter value on the bound control (value, fader, ring)."""
    fb = bound.binding.feedback
    if (bound.param is None and bound.level is None) or fb.control is None:
        return None
    n = position(bound, value)
    if fb.kind == "ring":
        ring = mcu.ring_value(n, fb.style)
        return (bytes((0xB0 | fb.control.channel, fb.control.number, ring)),)
    if fb.kind == "led":
        lit = value == bound.binding.value if bound.binding.button == "value" else value >= 0.5
        return led_cell(bound, lit)
    if fb.control.kind in ("pitchbend", "cc14", "nrpn"):
        return _message(fb.control, raw14_from_normal(n), bits14=True)
    raw = fb.low + round(n * (fb.high - fb.low)) if (fb.low, fb.high) != (0, 127) \
        else raw7_from_normal(n)
    return _message(fb.control, raw, bits14=False)


def led_cell(bound: Bound, lit: bool) -> Cell | None:
    """Bytes that light or darken the bound control's LED."""
    fb = bound.binding.feedback
    if fb.control is None:
        return None
    return _message(fb.control, fb.on if lit else fb.off, bits14=False)


def describe_bound(bound: Bound) -> dict[str, Any]:
    """A binding as plain data for ``describe()``, with its pickup state."""
    b = bound.binding
    row: dict[str, Any] = {"control": b.control.describe(), "mode": b.mode,
                           "target": b.target, "where": b.where}
    if b.layer:
        row["layer"] = b.layer
    if b.song is not None:
        row["song"] = b.song
    if b.args:
        row["args"] = dict(b.args)
    if b.pickup:
        row["pickup"] = "engaged" if bound.pickup.engaged else "waiting"
    if b.feedback.kind != "none":
        row["feedback"] = b.feedback.kind
    return row


def fader_near(shown: Cell | None, cell: Cell, tolerance: int = 32) -> bool:
    """Whether a motor fader already sits within ``tolerance`` of ``cell`` (14-bit).

    32 steps of 16383 is 0.2 % of the travel, finer than the 10-bit position
    a Mackie fader resolves; resending it would only make the motor twitch.
    """
    if not shown or len(shown) != 1 or len(cell) != 1 or len(shown[0]) != 3:
        return shown == cell
    a, b = shown[0], cell[0]
    if a[0] != b[0] or a[0] & 0xF0 != 0xE0:
        return shown == cell
    return abs((a[1] | a[2] << 7) - (b[1] | b[2] << 7)) <= tolerance


def state_field(value: Any, key: str) -> Any:
    """``value`` for a plain key; its field for a dotted one (``loop.on`` of ``loop``)."""
    for part in key.split(".")[1:]:
        value = value.get(part) if isinstance(value, dict) else None
    return value
