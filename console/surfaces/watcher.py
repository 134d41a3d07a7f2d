"""Hot-plug: read the MIDI port list, close what vanished, (re)connect what appeared.

Neither mido nor RtMidi reports an unplug: reception simply stops, and ALSA
client numbers can change on the way back. So the port list is read every
``scan_interval_s``; a surface whose input port is gone is closed and kept
(with its bank and layer) waiting, and a port that a profile claims is bound
to the waiting surface of that profile, reopened, and shown the whole state.
Ports are matched by name pattern, never by index or client number.

This is a mixin of :class:`~console.surfaces.manager.SurfaceManager`, kept
apart because it is the one job that talks to the port list.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from console.surfaces.config import SurfaceConfig
from console.surfaces.ports import InputPort, OutputPort, PortLister, assign_ports, pair_output
from console.surfaces.profile import Profile
from console.surfaces.surface import Surface
from dsp.errors import DeviceError

log = logging.getLogger("console.surfaces.manager")


class HotPlug:
    """Port-list watching for the surface manager (see the module docstring)."""

    config: SurfaceConfig
    profiles: dict[str, Profile]
    reconnects: int
    _api: int
    _lister: PortLister | None
    _lock: threading.RLock
    _seen: dict[str, list[str]]
    _surfaces: dict[str, Surface]
    _open_backend: Callable[[], bool]
    _new_surface: Callable[[Profile, str], Surface]
    _notify: Callable[[str, Surface], None]
    surfaces: Callable[[], list[Surface]]

    def scan(self) -> None:
        """Read the port list once: close what vanished, bind what appeared."""
        if not self._open_backend():
            return
        lister = self._lister
        if lister is None:
            return
        try:
            inputs, outputs = lister.inputs(), lister.outputs()
        except Exception:
            log.exception("cannot read the MIDI port list")
            return
        self._seen = {"inputs": inputs, "outputs": outputs}
        for surface in self.surfaces():
            if surface.name.startswith("virtual:") or surface.input is None:
                continue
            if surface.input.name not in inputs:
                self._unplugged(surface)
            elif surface.output is None:
                self._attach_output(surface, outputs)
        bound = {s.input.name for s in self.surfaces() if s.input is not None}
        patterns = {pid: p.device.ports for pid, p in self.profiles.items()}
        plan = assign_ports(inputs, patterns, dict(self.config.explicit),
                            self.config.client_name, self.config.autodetect)
        for port, (profile_id, ties) in plan.items():
            if port in bound or profile_id not in self.profiles:
                continue
            if ties:
                log.warning("port %r matches profiles %s equally; using %s",
                            port, ", ".join([profile_id, *ties]), profile_id)
            self._plugged(port, self.profiles[profile_id], outputs)

    def _plugged(self, port: str, profile: Profile, outputs: list[str]) -> None:
        with self._lock:
            waiting = [s for s in self._surfaces.values()
                       if s.profile.id == profile.id and s.input is None]
            if waiting:
                surface = waiting[0]
            else:
                count = sum(1 for s in self._surfaces.values() if s.profile.id == profile.id)
                surface = self._new_surface(profile, profile.id if count == 0
                                            else f"{profile.id}-{count + 1}")
        client = f"{self.config.client_name}-{surface.name}"
        try:
            surface.input = InputPort(self._api, client, port)
        except DeviceError as exc:
            log.warning("surface %s: %s", surface.name, exc)
            return
        self._attach_output(surface, outputs, restore=False)
        returning = surface.connected_at is not None
        surface.connected_at = time.monotonic()
        self.reconnects += returning
        log.info("surface %s %s on %s", surface.name,
                 "reconnected" if returning else "connected", port)
        surface.restore()
        self._notify("reconnected" if returning else "connected", surface)

    def _attach_output(self, surface: Surface, outputs: list[str], restore: bool = True
                       ) -> None:
        assert surface.input is not None
        taken = {s.output.name for s in self.surfaces() if s.output is not None}
        pats = surface.profile.device.output_ports or surface.profile.device.ports
        name = pair_output(surface.input.name, outputs, pats, lambda n: n in taken)
        if name is None:
            return
        try:
            surface.output = OutputPort(self._api, f"{self.config.client_name}-{surface.name}",
                                        name)
        except DeviceError as exc:
            log.warning("surface %s: %s", surface.name, exc)
            return
        if restore:
            surface.restore()

    def _unplugged(self, surface: Surface) -> None:
        log.warning("surface %s unplugged (%s); waiting for it to return", surface.name,
                    surface.input.name if surface.input else "?")
        self._close(surface)
        self._notify("disconnected", surface)

    @staticmethod
    def _close(surface: Surface) -> None:
        port_in, port_out = surface.input, surface.output
        surface.input = surface.output = None
        surface.queue.drop_pending()
        for port in (port_in, port_out):
            if port is not None:
                port.close()
