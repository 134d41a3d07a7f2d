"""The surface subsystem as the daemon sees it: one object, start and stop.

:class:`SurfaceManager` loads the profiles, watches the MIDI port list, binds
each port whose name a profile claims (or that ``--surface`` names), opens the
daemon's own virtual ports, and runs three threads:

- ``surface-input`` drains every open input each millisecond and hands each
  message to its surface, which writes the desk at once;
- ``surface-feedback`` sends coalesced, rate-limited feedback;
- ``surface-watch`` reads the port list every ``scan_interval_s``: a vanished
  port is reported and closed, and when it returns it is reopened and its
  LEDs, rings, motor faders and displays are restored (neither mido nor
  RtMidi reports an unplug; reception simply stops).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from console.control.desk import Desk
from console.surfaces import learn as ln
from console.surfaces.config import SurfaceConfig, user_dir
from console.surfaces.decode import Event
from console.surfaces.feedback import FeedbackScheduler
from console.surfaces.loader import load_profiles
from console.surfaces.mackie import MackieSurface, MeterSource
from console.surfaces.ports import (
    InputPort,
    OutputPort,
    PortLister,
    resolve_api,
)
from console.surfaces.profile import Profile
from console.surfaces.surface import Surface
from console.surfaces.watcher import HotPlug
from dsp.errors import DeviceError, MappingError

log = logging.getLogger(__name__)
ChangeListener = Callable[[str, dict[str, Any]], None]


class SurfaceManager(HotPlug):
    """Every control surface of one console.

    Parameters
    ----------
    desk : Desk
        The console the surfaces drive.
    config : SurfaceConfig, mapping or the daemon's Config, optional
        Backend, explicit bindings, virtual ports, profile folders
        (see :meth:`SurfaceConfig.from_any`).
    meter_source : callable, optional
        Returns current meter readings by key (``output.peak_l`` in dBFS,
        ``limiter.gr_db`` in dB); read ten times a second for surfaces with meters.
    """

    def __init__(self, desk: Desk, config: SurfaceConfig | Mapping[str, Any] | Any = None,
                 meter_source: MeterSource | None = None) -> None:
        self.desk = desk
        self.config = SurfaceConfig.from_any(config)
        self.meter_source = meter_source
        self.profiles: dict[str, Profile] = {}
        self.profile_errors: list[str] = []
        self.backend = ""
        self._api = 0
        self._lister: PortLister | None = None
        self._surfaces: dict[str, Surface] = {}
        self._seen: dict[str, list[str]] = {"inputs": [], "outputs": []}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._listeners: list[ChangeListener] = []
        self._learn: ln.LearnRequest | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self.reconnects = 0
        self.error: str | None = None
        self._scheduler = FeedbackScheduler(self.surfaces)

    # life cycle -----------------------------------------------------------------
    def start(self) -> None:
        """Open the MIDI backend, bind what is plugged in, start the threads.

        Raises DeviceError only for a backend that cannot exist here (not
        compiled in, not rtmidi). One that is not up yet (no JACK server, no
        ALSA sequencer) is logged, shown in ``describe()["error"]`` and
        retried at every scan, so the daemon runs on without surfaces.
        """
        self._api, self.backend = resolve_api(self.config.backend)
        self.reload_profiles()
        self._open_backend()
        self._unsubscribe = [self.desk.on_params(self._on_params),
                             self.desk.on_state(self._on_state)]
        self._stop.clear()
        self.scan()
        self._scheduler.start()
        for name, target in (("surface-input", self._poll_loop),
                             ("surface-watch", self._watch_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _open_backend(self) -> bool:
        """Open the port lister and the virtual ports; False (logged) if MIDI is not up yet."""
        if self._lister is not None:
            return True
        try:
            self._lister = PortLister(self._api, self.config.client_name)
            for vp in self.config.virtual_ports:
                self._open_virtual(vp.name, vp.profile)
        except DeviceError as exc:
            if self.error != str(exc):
                log.warning("MIDI surfaces waiting: %s", exc)
            self.error = str(exc)
            return False
        self.error = None
        return True

    def stop(self) -> None:
        """Stop the threads and close every port (idempotent)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(2.0)
        self._threads = []
        self._scheduler.stop()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        with self._lock:
            for surface in self._surfaces.values():
                self._close(surface)
            self._surfaces.clear()
        if self._lister is not None:
            self._lister.close()
            self._lister = None

    def __enter__(self) -> SurfaceManager:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reload_profiles(self) -> None:
        """Read the profile folders again (shipped, then the user's)."""
        profiles, errors = load_profiles(self.config.profile_dirs())
        for message in errors:
            log.warning("surface profile skipped: %s", message)
        with self._lock:
            self.profiles, self.profile_errors = profiles, errors

    def reload(self, config: Any = None) -> None:
        """Re-read the profiles and explicit bindings (SIGHUP); surfaces keep running.

        A changed MIDI backend takes effect at the next start only.
        """
        if config is not None:
            fresh = SurfaceConfig.from_any(config)
            if fresh.backend != self.config.backend:
                log.warning("MIDI backend change (%s -> %s) needs a restart",
                            self.config.backend, fresh.backend)
            self.config = replace(self.config, explicit=dict(fresh.explicit))
        self.reload_profiles()
        with self._lock:
            for surface in self._surfaces.values():
                profile = self.profiles.get(surface.profile.id)
                if profile is not None and profile != surface.profile:
                    surface.use_profile(profile)
        self.scan()

    # surfaces -------------------------------------------------------------------
    def surfaces(self) -> list[Surface]:
        """Every surface known (connected or waiting to come back)."""
        with self._lock:
            return list(self._surfaces.values())

    def surface(self, name: str) -> Surface:
        """One surface by name (KeyError if unknown)."""
        with self._lock:
            return self._surfaces[name]

    def _new_surface(self, profile: Profile, name: str) -> Surface:
        cls = MackieSurface if profile.device.protocol == "mackie" else Surface
        kwargs = {"meter_source": self._meters} if cls is MackieSurface else {}
        surface = cls(self.desk, profile, name, self._scheduler.wake, **kwargs)
        self._surfaces[name] = surface
        return surface

    def _meters(self) -> Mapping[str, float]:
        source = self.meter_source
        return source() if source is not None else {}

    def _open_virtual(self, name: str, profile_id: str) -> None:
        profile = self.profiles.get(profile_id)
        if profile is None:
            raise MappingError(f"virtual port {name!r}: no profile {profile_id!r}; "
                               f"known: {', '.join(sorted(self.profiles))}")
        own = self.config.client_name
        client = own if name == own else f"{own}-{name}"
        with self._lock:
            surface = self._new_surface(profile, f"virtual:{name}")
            surface.input = InputPort(self._api, client, None, virtual="in")
            surface.output = OutputPort(self._api, client, None, virtual="out")
        surface.restore()

    # threads ----------------------------------------------------------------------
    def _poll_loop(self) -> None:
        active_s, idle_s = self.config.poll_interval_s, self.config.idle_poll_interval_s
        last_input = 0.0
        while not self._stop.is_set():
            busy = False
            for surface in self.surfaces():
                port = surface.input
                if port is None:
                    continue
                messages = port.drain()
                if not messages:
                    continue
                busy = True
                # Each message's time: now, less the spacing of the messages after it.
                t = time.monotonic() - sum(delta for _data, delta in messages[1:])
                for i, (data, delta) in enumerate(messages):
                    t += delta if i else 0.0
                    surface.handle(data, t)
                last_input = t
            if not busy:  # a hand on the surface: poll every ms; nobody there: less often
                time.sleep(active_s if time.monotonic() - last_input < 1.0 else idle_s)

    def _watch_loop(self) -> None:
        while not self._stop.wait(self.config.scan_interval_s):
            try:
                self.scan()
                self._expire_learn()
            except Exception:
                log.exception("surface watcher")

    # desk listeners ------------------------------------------------------------------
    def _on_params(self, changes: dict[str, float], author: str) -> None:
        for surface in self.surfaces():
            try:
                surface.on_params(changes, author)
            except Exception:
                surface.counters["errors"] += 1
                log.exception("surface %s: feedback", surface.name)

    def _on_state(self, key: str, value: Any, author: str) -> None:
        for surface in self.surfaces():
            try:
                surface.on_state(key, value, author)
            except Exception:
                surface.counters["errors"] += 1
                log.exception("surface %s: feedback", surface.name)

    # events -------------------------------------------------------------------------
    def on_change(self, listener: ChangeListener) -> Callable[[], None]:
        """Be told ``(event, surface description)`` on connect, disconnect and learn."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def wait_until(self, predicate: Callable[[SurfaceManager], bool], timeout: float) -> bool:
        """Block until ``predicate(self)`` holds (re-checked on every change) or time runs out."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    def _notify(self, event: str, surface: Surface) -> None:
        info = surface.describe()
        with self._changed:
            self._changed.notify_all()
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event, info)
            except Exception:
                log.exception("surface change listener")

    # learn -----------------------------------------------------------------------------
    def learn(self, param: str | None = None, action: str | None = None,
              args: Mapping[str, Any] | None = None, *, surface: str | None = None,
              mode: str | None = None, encoding: str | None = None, layer: str = "",
              timeout_s: float | None = 30.0) -> ln.LearnRequest:
        """Arm MIDI learn: the next control moved is bound to ``param`` or ``action``.

        The binding is written to the user's copy of that surface's profile
        (atomically) and used at once. One learn is armed at a time; arming
        again replaces it. ``surface`` limits it to one surface.
        """
        target = ln.check_target(param, action, dict(args or {}))
        request = ln.LearnRequest(target=target, surface=surface, mode=mode, encoding=encoding,
                                  layer=layer, deadline=time.monotonic() + timeout_s
                                  if timeout_s else float("inf"))
        with self._lock:
            self.cancel_learn()
            self._learn = request
            for s in self._surfaces.values():
                if surface is None or s.name == surface:
                    s.learn_hook = self._learned
        return request

    def cancel_learn(self) -> None:
        """Disarm MIDI learn (the waiting request returns None)."""
        with self._lock:
            request, self._learn = self._learn, None
            for s in self._surfaces.values():
                s.learn_hook = None
        if request is not None:
            request.done.set()

    def _expire_learn(self) -> None:
        request = self._learn
        if request is not None and time.monotonic() > request.deadline:
            request.error = "timed out"
            self.cancel_learn()

    def _learned(self, surface: Surface, event: Event, data: list[int]) -> bool:
        if event.kind == "note" and (event.value == 0 or
                                     (event.channel, event.number) in surface.bindings.by_touch):
            return False  # releases and fader touches are not the control being learned
        with self._lock:
            request = self._learn
            if request is None:
                return False
            self._learn = None
            for s in self._surfaces.values():
                s.learn_hook = None
        existing = surface.bindings.find((event.kind, event.channel, event.number), "")
        profile = ln.complete(request, surface.profile, event, existing, surface.name)
        if profile is not None:
            with self._lock:
                self.profiles[profile.id] = profile
                for s in self._surfaces.values():
                    if s.profile.id == profile.id:
                        s.use_profile(profile)
            self._notify("learned", surface)
        return True

    # description ----------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Everything ``masterdeck surfaces --json`` and the protocol show."""
        with self._lock:
            surfaces = [s.describe() for s in self._surfaces.values()]
            bound = {s.input.name: s.name for s in self._surfaces.values() if s.input}
            return {
                "backend": self.backend,
                "client_name": self.config.client_name,
                "running": bool(self._threads),
                "error": self.error,
                "user_dir": str(user_dir()),
                "profiles": [p.summary() for p in sorted(self.profiles.values(),
                                                         key=lambda p: p.id)],
                "profile_errors": list(self.profile_errors),
                "ports": {"inputs": [{"name": n, "surface": bound.get(n)}
                                     for n in self._seen["inputs"]],
                          "outputs": list(self._seen["outputs"])},
                "surfaces": surfaces,
                "learn": self._learn.describe() if self._learn else None,
                "reconnects": self.reconnects,
            }
