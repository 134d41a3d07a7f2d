"""The generic driver: one connected surface, its bindings, its feedback.

Input (on the poller thread): decode → find the binding for the control on
the current layer → turn the data into a value (absolute with pickup,
relative with acceleration, button) → ``desk.set`` at once. The engine reads
the target array every block, so a knob move reaches the audio within a
block of being polled. Nothing on that path blocks or allocates much.

Feedback: the desk tells every listener what changed and who changed it.
A change made by this surface is not sent back to the control that made it
(its position is already right), but other controls showing the same
parameter are updated. A motor fader echoes each position it sends (the
Mackie servo rule) and is never moved by the host while touched.

Feedback never loops back into input: a device (or a MIDI thru on the way)
that sends our feedback back would otherwise press the button whose LED we
lit, and again, forever. The first input identical to a message sent to the
same surface in the last ``ECHO_WINDOW_S`` is counted as an echo and dropped
(the price: a real press within 50 ms of its own LED being sent the same
bytes is lost, which only a reconnect or a remote change can cause; a thru
echo comes back within a JACK period or two).

Locking: ``self._lock`` is a leaf; the desk is never called while it is held
(``Desk.nudge`` notifies listeners under the desk's lock, so the reverse
order would deadlock).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from console.control.desk import Desk
from console.surfaces import album
from console.surfaces.bindings import (
    BindingTable,
    Bound,
    describe_bound,
    fader_near,
    led_cell,
    position,
    state_field,
    value_cell,
)
from console.surfaces.decode import Decoder, Event
from console.surfaces.feedback import Cell, CellQueue
from console.surfaces.page import AlbumPage
from console.surfaces.ports import InputPort, OutputPort
from console.surfaces.profile import Binding, ControlKey, Profile
from console.surfaces.transforms import (
    accelerate,
    disengage,
    normal_from_7bit,
    normal_from_14bit,
    nudge_value,
    pickup,
    relative_steps,
    value_from_control,
)
from dsp.errors import MasterdeckError

log = logging.getLogger(__name__)
FOURTEEN_BIT = ("pitchbend", "cc14", "nrpn")
ECHO_WINDOW_S = 0.05
"""Input identical to feedback sent this recently is our feedback coming back, not a move."""
COUNTERS = ("received", "undecodable", "echoes", "ignored", "applied", "held_by_pickup", "actions",
            "action_errors", "errors", "sent", "send_errors")

LearnHook = Callable[["Surface", Event, list[int]], bool]
"""Called with each decoded control event; returning True consumes it (MIDI learn)."""


class Surface(AlbumPage):
    """One surface bound to a profile: input handling and feedback cells.

    Parameters
    ----------
    desk : Desk
        The console; the only thing this surface changes.
    profile : Profile
        Device capabilities and bindings.
    name : str
        A unique name for this surface (the desk ``author`` is ``surface:<name>``).
    wake : callable
        Called after feedback is posted, to wake the scheduler.
    """

    def __init__(self, desk: Desk, profile: Profile, name: str,
                 wake: Callable[[], None] = lambda: None) -> None:
        self.desk, self.profile, self.name = desk, profile, name
        self.device = profile.device
        self.author = f"surface:{name}"
        self.queue = CellQueue(self.device.max_bytes_per_tick, self.device.tick_ms / 1000.0)
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.input: InputPort | None = None
        self.output: OutputPort | None = None
        self.learn_hook: LearnHook | None = None
        self.connected_at: float | None = None
        self._wake = wake
        self._lock = threading.Lock()
        self._acting = threading.local()
        self._recent: dict[bytes, float] = {}  # feedback sent -> when (the echo guard)
        self._layer = ""
        self._page = ""  # "album" while the album page is on (see AlbumPage)
        self.song_bank = 0
        self._touched: dict[ControlKey, float] = {}  # control -> until (inf = touch held)
        self._bindings = BindingTable(())
        self._decoder = Decoder()
        self.rebuild()

    # bindings -----------------------------------------------------------------
    def extra_bindings(self) -> Iterable[Binding]:
        """Bindings a protocol driver adds to the profile's (Mackie: the bank's strips)."""
        return ()

    def rebuild(self, bindings: Iterable[Binding] | None = None) -> None:
        """Build and swap in a new binding table (profile, then driver extras)."""
        profile_bindings = self.profile.bindings if bindings is None else tuple(bindings)
        table = BindingTable([*profile_bindings, *self.extra_bindings()])
        decoder = Decoder(table.cc14, table.nrpn_channels, table.lsb_of)
        with self._lock:
            self._bindings, self._decoder = table, decoder

    def use_profile(self, profile: Profile) -> None:
        """Switch to a new version of the profile (learned binding, reload) and show it."""
        self.profile, self.device = profile, profile.device
        self.rebuild()
        self.refresh()

    @property
    def bindings(self) -> BindingTable:
        """The binding table in force."""
        return self._bindings

    @property
    def layer(self) -> str:
        """The active layer: ``""`` or ``"shift"``."""
        return self._layer

    def layers(self) -> tuple[str, ...]:
        """The layers in force, first match wins: album page, shift, base."""
        return (*(x for x in (self._page, self._layer) if x), "")

    # input --------------------------------------------------------------------
    def handle(self, data: list[int], now: float | None = None) -> None:
        """Handle one raw message from the device. Never raises."""
        self.counters["received"] += 1
        try:
            now = time.monotonic() if now is None else now
            sent_at = self._recent.pop(bytes(data), None)  # an echo comes back once
            if sent_at is not None and now - sent_at < ECHO_WINDOW_S:
                self.counters["echoes"] += 1  # our own feedback, sent back by a MIDI thru
                return
            event = self._decoder.feed(data)
            if event is None:
                self.counters["undecodable"] += 1
                return
            if event.kind == "sysex":
                self.on_sysex(event.data)
                return
            hook = self.learn_hook
            if hook is not None and event.kind in ("note", "cc", "cc14", "nrpn", "pitchbend",
                                                   "pressure") and hook(self, event, data):
                return
            self.on_activity(event)
            self._dispatch(event, data, now)
        except Exception:
            self.counters["errors"] += 1
            log.exception("%s: error handling %s", self.name, bytes(data[:16]).hex(" "))

    def on_sysex(self, data: tuple[int, ...]) -> None:
        """A SysEx from the device (the generic driver has no use for any)."""
        self.counters["ignored"] += 1

    def on_activity(self, event: Event) -> None:
        """Any decodable control traffic (Mackie marks the surface online)."""

    def _dispatch(self, event: Event, data: list[int], now: float) -> None:
        table = self._bindings
        if event.kind == "note" and (event.channel, event.number) in table.by_touch:
            self._touch(table.by_touch[(event.channel, event.number)], event.value > 0)
            return
        kind = "nrpn" if event.kind == "nrpn_step" else event.kind
        bound = table.find((kind, event.channel, event.number), self.layers())
        if bound is None:
            self.counters["ignored"] += 1
            return
        b = bound.binding
        if event.kind == "nrpn_step":
            self._relative(bound, event.value, now)
        elif b.mode == "button":
            pressed = event.value > 0 if event.kind == "note" else event.value >= 64
            self._button(bound, pressed)
        elif b.mode == "relative":
            self._relative(bound, relative_steps(event.value, b.encoding), now)
        else:
            bits14 = event.kind in FOURTEEN_BIT
            normal = normal_from_14bit(event.value) if bits14 else normal_from_7bit(event.value)
            self._absolute(bound, normal, data, now)

    def _absolute(self, bound: Bound, normal: float, data: list[int], now: float) -> None:
        param = bound.param or bound.level
        current = self.bound_value(bound)
        if param is None or current is None:
            self.counters["ignored"] += param is not None  # a song fader with no song
            return
        b = bound.binding
        if b.feedback.kind == "fader":
            # The Mackie servo rule: echo every received position, or the fader returns.
            self._post(bound.cell_key, (bytes(data),), force=True)
            if not self.device.touch or b.touch is None:
                with self._lock:
                    self._touched[b.control.key] = now + self.device.touch_timeout_ms / 1000.0
        if b.pickup:
            with self._lock:
                accepted, bound.pickup = pickup(bound.pickup, normal, position(bound, current),
                                                self.device.pickup_threshold)
            if not accepted:
                self.counters["held_by_pickup"] += 1
                return
        value = value_from_control(param, normal, bound.span, b.invert)
        if bound.level is not None:
            self.set_song_level(bound, album.detent(value))
        else:
            self._set(bound, value)

    def bound_value(self, bound: Bound) -> float | None:
        """The value a control shows: its parameter's, or its song's level offset."""
        if bound.param is not None:
            return self.desk.get(bound.param.id)
        return self.song_level(bound) if bound.level is not None else None

    def _relative(self, bound: Bound, ticks: int, now: float) -> None:
        param = bound.param or bound.level
        current = self.bound_value(bound)
        if param is None or current is None or ticks == 0:
            return
        b = bound.binding
        interval, bound.last_time = now - bound.last_time, now
        step = b.step
        if self._layer == "shift" and b.layer != "shift":
            step /= 10.0  # shift without a shift binding: fine adjustment
        delta = accelerate(ticks, interval, b.acceleration) * step
        value = nudge_value(param, current, delta)
        if bound.level is not None:
            self.set_song_level(bound, value)
        else:
            self._set(bound, value)

    def _button(self, bound: Bound, pressed: bool) -> None:
        b = bound.binding
        if b.action is not None:
            if b.action == "shift":
                self.set_layer("shift" if pressed else "")
            elif pressed:
                args = dict(b.args)
                if b.toggle and b.feedback.state:
                    args["on"] = not bool(self.state_value(b.feedback.state))
                self._action(b.action, args)
            return
        p = bound.param
        if p is None or not (pressed or b.button == "momentary"):
            return
        current = self.desk.get(p.id)
        if b.button == "toggle":
            value = p.min if current >= (p.min + p.max) / 2 else p.max
        elif b.button == "momentary":
            on = b.value if b.value is not None else p.max
            value = on if pressed else p.min
        elif b.button == "press" and p.kind == "choice":
            value = float((round(current) + 1) % len(p.choices))
        else:
            value = b.value if b.value is not None else p.max
        self._set(bound, value)

    def _action(self, name: str, args: dict[str, Any]) -> None:
        if name == "album_page":
            self.set_album_page(args.get("on", not self.album_page))
            return
        if name in ("bank", "page"):
            if self.album_page and set(args) <= {"delta"}:
                self.step_song_bank(args.get("delta", 0))  # a bank of songs
            else:
                self.change_bank(**args)
            return
        self.counters["actions"] += 1
        try:
            self.desk.perform(name, author=self.author, **args)
        except MasterdeckError as exc:
            self.counters["action_errors"] += 1
            log.info("%s: %s", self.name, exc)

    def _set(self, bound: Bound, value: float) -> None:
        p = bound.param
        assert p is not None
        value = min(max(value, p.min), p.max)
        self._acting.bound = bound
        try:
            self.desk.set(p.id, value, author=self.author)
            self.counters["applied"] += 1
        finally:
            self._acting.bound = None

    def _touch(self, bound: Bound, touched: bool) -> None:
        with self._lock:
            if touched:
                self._touched[bound.binding.control.key] = float("inf")
            else:
                self._touched.pop(bound.binding.control.key, None)
        if bound.param is not None:  # automation writes in touch and latch modes on this
            self.desk.touch(bound.param.id, touched, self.author)
        if not touched:
            self.show_current(bound)
        self.on_touch(bound, touched)

    def on_touch(self, bound: Bound, touched: bool) -> None:
        """A fader was touched or released (Mackie shows its value on the strip)."""

    def is_touched(self, bound: Bound, now: float | None = None) -> bool:
        """Whether the engineer holds this control (touch sense, or recent moves)."""
        until = self._touched.get(bound.binding.control.key)
        return until is not None and (time.monotonic() if now is None else now) < until

    def set_layer(self, layer: str) -> None:
        """Switch layer (Shift held or released) and show the layer's bindings."""
        if layer == self._layer:
            return
        self._layer = layer
        self.post_all(self._bindings.all)
        self.on_state_local("surface.shift", layer == "shift")

    def change_bank(self, delta: int = 0, index: int | None = None, name: str | None = None
                    ) -> None:
        """Bank navigation; only surfaces with banks (Mackie) do anything."""

    # feedback -----------------------------------------------------------------
    def on_params(self, changes: dict[str, float], author: str) -> None:
        """Desk listener: show parameter changes on the surface.

        An absolute control that made the change already sits where the value
        is (a motor fader has had its echo), so nothing goes back to it;
        buttons and encoders made it too but still need their LED or ring.
        """
        acting = getattr(self._acting, "bound", None) if author == self.author else None
        table = self._bindings
        for param_id, value in changes.items():
            for bound in table.by_param.get(param_id, ()):
                if bound is acting and bound.binding.mode == "absolute":
                    continue
                if bound.binding.pickup:
                    with self._lock:
                        bound.pickup = disengage(bound.pickup)
                self._show_value(bound, value)

    def on_state(self, key: str, value: Any, author: str) -> None:
        """Desk listener: light LEDs that show a console state; song faders follow the album."""
        if key == "album":
            self.show_songs()
        for bound in self._bindings.by_state.get(key, ()):
            state = bound.binding.feedback.state or key
            self._show_state(bound, state_field(value, state))

    def state_value(self, key: str) -> Any:
        """A console state (``playing``, ``loop.on``) or a ``surface.*`` one, now."""
        if key.startswith("surface."):
            return self.local_state(key)
        return state_field(self.desk.state().get(key.split(".")[0]), key)

    def on_state_local(self, key: str, value: Any) -> None:
        """A surface-local state changed (``surface.shift``, ``surface.bank``)."""
        self.on_state(key, value, self.author)

    def _show_value(self, bound: Bound, value: float) -> None:
        b = bound.binding
        if b.feedback.kind == "none" or b.feedback.state or bound.cell_key is None:
            return
        if not self._bindings.visible(bound, self.layers()):
            return
        if b.feedback.kind == "fader" and self.is_touched(bound):
            return  # never move a fader under the engineer's hand
        cell = value_cell(bound, value)
        if cell is None:
            return
        if b.feedback.kind == "fader" and fader_near(self.queue.shown(bound.cell_key), cell):
            return  # already there, within what a motor can resolve
        self._post(bound.cell_key, cell)

    def _show_state(self, bound: Bound, value: Any) -> None:
        if bound.cell_key is None or not self._bindings.visible(bound, self.layers()):
            return
        equals = bound.binding.feedback.equals
        lit = bool(value) == equals if isinstance(equals, bool) else value == equals
        cell = led_cell(bound, lit)
        if cell is not None:
            self._post(bound.cell_key, cell)

    def local_state(self, key: str) -> Any:
        """Values of ``surface.*`` state keys."""
        return {"surface.shift": self._layer == "shift", "surface.album": self.album_page,
                "surface.song_bank": self.song_bank}.get(key)

    def post_all(self, bounds: Iterable[Bound]) -> None:
        """Post the current state of every bound control's feedback."""
        values = self.desk.values()
        for bound in bounds:
            fb = bound.binding.feedback
            if fb.kind == "none":
                continue
            if fb.state:
                self._show_state(bound, self.state_value(fb.state))
            elif bound.param is not None:
                self._show_value(bound, values[bound.param.id])
            elif bound.level is not None:
                self.show_song(bound)

    def show_current(self, bound: Bound) -> None:
        """Show a control's parameter value or song level as it is now."""
        if bound.param is not None:
            self._show_value(bound, self.desk.get(bound.param.id))
        elif bound.level is not None:
            self.show_song(bound)

    def refresh(self) -> None:
        """Post the state of every control (only changed cells are sent)."""
        self.post_all(self._bindings.all)

    def restore(self) -> None:
        """Forget what the device shows and send the whole state (after (re)connect)."""
        self.queue.forget()
        self.refresh()
        self._wake()

    def _post(self, key: Hashable | None, cell: Cell, force: bool = False) -> None:
        if key is not None and self.queue.post(key, cell, force):
            self._wake()

    def send(self, message: bytes) -> bool:
        """Send one message now (scheduler thread only)."""
        out = self.output
        if out is None or not out.send(message):
            self.counters["send_errors"] += out is not None
            return False
        self.counters["sent"] += 1
        if len(self._recent) > 1024:
            self._recent.clear()
        self._recent[bytes(message)] = time.monotonic()
        return True

    def periodic(self, now: float) -> None:
        """Regular work on the scheduler thread: expire inferred touches."""
        expired = []
        with self._lock:
            for key, until in list(self._touched.items()):
                if until != float("inf") and now >= until:
                    del self._touched[key]
                    expired.append(key)
        for key in expired:
            bound = self._bindings.find(key, self.layers())
            if bound is not None and (bound.param or bound.level) is not None:
                self.show_current(bound)
                self.on_touch(bound, False)

    # description ----------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Plain data: ports, state, counters and bindings of this surface."""
        return {
            "name": self.name,
            "profile": self.profile.id,
            "device": self.device.name,
            "input": self.input.name if self.input else None,
            "output": self.output.name if self.output else None,
            "connected": self.input is not None,
            "layer": self._layer or "base",
            "album_page": self.album_page, "song_bank": self.song_bank,
            "counters": dict(self.counters, feedback_sent=self.queue.sent,
                             feedback_coalesced=self.queue.coalesced),
            "bindings": [describe_bound(b) for b in self._bindings.all],
        }

