"""Test support for the surface tests: a device played through real JACK MIDI ports.

A :class:`Player` is a JACK MIDI client named like the device (``nanoKONTROL2``),
with one port that sends what the device's controls send and one that records
what the console sends back. The manager under test finds it by name, exactly
as it finds hardware. Waits are event-driven with short bounded timeouts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import rtmidi

from console.control.desk import ACTIONS, Desk
from console.surfaces import SurfaceConfig, SurfaceManager
from console.surfaces.config import SHIPPED_DIR

pytestmark = pytest.mark.retake_on_xrun  # a period JACK dropped loses MIDI: tests/retakes.py

JACK = rtmidi.API_UNIX_JACK
WAIT_S = 2.0


class Player:
    """A virtual MIDI device: ``send`` plays bytes, ``received`` holds the feedback."""

    def __init__(self, client: str, port: str = "MIDI 1", thru: bool = False) -> None:
        self.client, self.port, self.thru = client, port, thru
        self.received: list[bytes] = []
        self._cond = threading.Condition()
        self._open()

    def _open(self) -> None:
        self._out = rtmidi.MidiOut(JACK, name=self.client)
        self._out.open_virtual_port(self.port)
        self._in = rtmidi.MidiIn(JACK, name=self.client, queue_size_limit=16384)
        self._in.ignore_types(sysex=False, timing=True, active_sense=True)
        self._in.open_virtual_port(self.port)
        # Polled, not an rtmidi callback: under JACK the callback runs in the JACK
        # process thread and needs the GIL, and closing the port (which holds the GIL
        # and waits for that thread) would then deadlock.
        self._running = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while self._running:
            item = self._in.get_message()
            if item is None:
                time.sleep(0.0005)
                continue
            if self.thru:  # a device with MIDI thru on sends everything back
                self._out.send_message(item[0])
            with self._cond:
                self.received.append(bytes(item[0]))
                self._cond.notify_all()

    def send(self, *data: int) -> None:
        """Send one message (bytes as ints)."""
        self._out.send_message(list(data))

    def clear(self) -> None:
        with self._cond:
            self.received.clear()

    def wait_for(self, predicate: Callable[[list[bytes]], bool], timeout: float = WAIT_S
                 ) -> bool:
        """Wait until ``predicate(received)`` holds."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.received), timeout)

    def wait_message(self, message: bytes, timeout: float = WAIT_S) -> bool:
        """Wait until exactly ``message`` has been received."""
        return self.wait_for(lambda got: message in got, timeout)

    def quiet(self, seconds: float = 0.15) -> list[bytes]:
        """Wait until nothing more arrives for ``seconds``; return what was received."""
        deadline = time.monotonic() + WAIT_S
        with self._cond:
            while time.monotonic() < deadline:
                count = len(self.received)
                self._cond.wait(seconds)
                if len(self.received) == count:
                    break
            return list(self.received)

    def unplug(self) -> None:
        """Close both ports and the clients, as pulling the cable does."""
        self._running = False
        self._reader.join(1.0)
        for rt in (self._in, self._out):
            rt.close_port()
            rt.delete()

    def replug(self) -> None:
        """Open the ports again under the same names."""
        self._open()


class DeskWatch:
    """Records the desk's changes and actions, and waits on them."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.changes: list[tuple[dict[str, float], str]] = []
        self.actions: list[tuple[str, dict]] = []
        self._cond = threading.Condition()
        desk.on_params(self._changed)
        desk.on_state(lambda key, value, author: self._changed({}, author))
        for name in ACTIONS:
            if name not in ("snapshot_store", "snapshot_recall"):
                desk.register_action(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(author: str = "", **args: object) -> None:
            with self._cond:
                self.actions.append((name, dict(args, author=author)))
                self._cond.notify_all()
        return record

    def _changed(self, changes: dict[str, float], author: str) -> None:
        with self._cond:
            self.changes.append((changes, author))
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def wait_value(self, param: str, check: Callable[[float], bool], timeout: float = WAIT_S
                   ) -> bool:
        return self.wait_for(lambda: check(self.desk.get(param)), timeout)

    def wait_action(self, name: str, timeout: float = WAIT_S) -> dict | None:
        self.wait_for(lambda: any(a == name for a, _ in self.actions), timeout)
        return next((args for a, args in self.actions if a == name), None)


def until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    """Poll ``predicate`` every 5 ms for what has no event of its own (counters)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def make_manager(desk: Desk, user: Path, **kwargs: object) -> SurfaceManager:
    """A manager on the JACK test server with the shipped profiles and ``user`` ones."""
    config = SurfaceConfig(backend="jack", dirs=[(SHIPPED_DIR, "shipped"), (user, "user")],
                           **kwargs)
    return SurfaceManager(desk, config)


@pytest.fixture
def user_mappings(tmp_path, monkeypatch) -> Path:
    """A private XDG config folder; returns its masterdeck/mappings folder."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path / "masterdeck" / "mappings"


def connected(manager: SurfaceManager, name: str) -> bool:
    """Whether surface ``name`` has its input and output open."""
    return any(s.name == name and s.input is not None and s.output is not None
               for s in manager.surfaces())


def test_player_bytes_reach_a_port_opened_by_name(jack):
    player = Player("md-probe-device")
    probe = rtmidi.MidiOut(JACK, name="md-probe-host")
    try:
        names = probe.get_ports()
        probe.open_port(names.index("md-probe-device-01:MIDI 1"))
        probe.send_message([0x90, 1, 2])
        assert player.wait_message(bytes([0x90, 1, 2]))
    finally:
        probe.delete()
        player.unplug()
