"""What a surface profile holds, once read: device capabilities and bindings.

A profile (one TOML file in ``mappings/``) says what a device *has* — ports,
motor faders, touch sense, a display, meters, how fast it may be fed — apart
from what the user *binds*: each control to a parameter or an action. Drivers
read capabilities and bindings, never model names. The file format is in
``docs/surfaces.md``; :mod:`console.surfaces.loader` turns a file into these.

All channels here are 0-based (as on the wire); the TOML files count 1..16
and the loader converts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ControlKind = Literal["note", "cc", "cc14", "nrpn", "pitchbend", "pressure"]
CONTROL_KINDS: tuple[str, ...] = ("note", "cc", "cc14", "nrpn", "pitchbend", "pressure")
MODES: tuple[str, ...] = ("absolute", "relative", "button")
BUTTON_MODES: tuple[str, ...] = ("toggle", "momentary", "press", "value")
FEEDBACK_TYPES: tuple[str, ...] = ("none", "value", "led", "ring", "fader")
RING_STYLES: tuple[str, ...] = ("dot", "boost_cut", "wrap", "spread")
LOCAL_ACTIONS: tuple[str, ...] = ("bank", "page", "shift", "album_page")
"""Actions a surface handles itself: navigation of its own layers, banks and pages."""
LAYERS: tuple[str, ...] = ("", "shift", "album")
"""Binding layers: the base, while Shift is held, while the album page is on."""

ControlKey = tuple[str, int, int]
"""(kind, channel 0..15, number) — what identifies a control on the wire."""


@dataclass(frozen=True)
class Control:
    """One physical control as it appears on the wire."""

    kind: str
    channel: int = 0
    number: int = 0
    lsb: int = 0  # cc14: the LSB controller number

    @property
    def key(self) -> ControlKey:
        """The lookup key (kind, channel, number)."""
        return (self.kind, self.channel, self.number)

    def describe(self) -> str:
        """A short human form, channels counted from 1 (``cc 16 ch1``)."""
        if self.kind in ("pitchbend", "pressure"):
            return f"{self.kind} ch{self.channel + 1}"
        if self.kind == "cc14":
            return f"cc14 {self.number}/{self.lsb} ch{self.channel + 1}"
        return f"{self.kind} {self.number} ch{self.channel + 1}"


@dataclass(frozen=True)
class Feedback:
    """What to send back so the control shows the state.

    ``kind`` picks the message form: ``value`` (the control's own message with
    the value), ``led`` (on/off values), ``ring`` (Mackie ring CC), ``fader``
    (a motor fader: pitch bend, echo and touch rule). ``control`` is where it
    goes (by default the control itself). ``state``/``equals`` light an LED
    from a console state flag instead of a parameter.
    """

    kind: str = "none"
    control: Control | None = None
    on: int = 127
    off: int = 0
    low: int = 0
    high: int = 127
    style: str = "wrap"
    state: str | None = None
    equals: Any = True


@dataclass(frozen=True)
class Binding:
    """A control bound to a parameter or an action.

    Exactly one of ``param``, ``action`` and ``song`` is set. ``song`` is a
    place on the album page (1 is the first song of the page's bank): the
    control is that song's level offset in the session's level plan.
    ``where`` names the binding in error messages and ``describe()``
    (``binding[3]``).
    """

    control: Control
    where: str
    mode: str = "absolute"
    param: str | None = None
    action: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    encoding: str = "sign_magnitude"
    step: float = 0.005
    acceleration: float = 1.0
    button: str = "press"
    toggle: bool = False
    value: float | None = None
    layer: str = ""
    lo: float | None = None
    hi: float | None = None
    invert: bool = False
    pickup: bool = False
    touch: int | None = None
    label: str = ""
    feedback: Feedback = field(default_factory=Feedback)
    song: int | None = None

    @property
    def target(self) -> str:
        """``param eq.band2.gain_db``, ``action bypass`` or ``song 3 level``."""
        if self.song is not None:
            return f"song {self.song} level"
        return f"param {self.param}" if self.param else f"action {self.action}"


@dataclass(frozen=True)
class Strip:
    """One channel strip of a bank (Mackie-style surfaces): what its controls drive."""

    label: str = ""
    fader: str | None = None
    vpot: str | None = None
    ring: str | None = None
    buttons: dict[str, str] = field(default_factory=dict)  # rec/solo/mute/select/push -> param


@dataclass(frozen=True)
class Bank:
    """A page of strips; bank buttons step through them."""

    name: str
    short: str
    strips: tuple[Strip, ...]


@dataclass(frozen=True)
class Device:
    """Capabilities of a device model: what protocol code may rely on."""

    name: str
    ports: tuple[str, ...] = ()
    output_ports: tuple[str, ...] = ()
    protocol: str = "generic"
    channel: int = 0
    motorised: bool = False
    touch: bool = False
    display: str = "none"
    meters: bool = False
    bank_size: int = 8
    leds: bool = True
    led_on: int = 127
    led_off: int = 0
    led_flash: int = 1
    encoder_step: float = 0.005
    pickup_threshold: float = 0.03
    touch_timeout_ms: float = 300.0
    max_bytes_per_tick: int = 512
    tick_ms: float = 10.0
    sysex_id: int = 0x14
    handshake: str = "none"
    assignment_display: bool = False
    meter_keys: tuple[str, ...] = ()
    meter_mode: int = 0x03


@dataclass(frozen=True)
class Profile:
    """A device model and its bindings, as read from one file."""

    id: str
    path: Path
    origin: str  # "shipped" or "user"
    device: Device
    bindings: tuple[Binding, ...] = ()
    banks: tuple[Bank, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Plain data for ``masterdeck surfaces --json`` and the protocol."""
        return {
            "id": self.id,
            "name": self.device.name,
            "file": str(self.path),
            "origin": self.origin,
            "protocol": self.device.protocol,
            "ports": list(self.device.ports),
            "bindings": len(self.bindings),
            "banks": [b.name for b in self.banks],
        }
