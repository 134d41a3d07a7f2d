"""The daemon: the engine, the control server and the surfaces in one process.

``masterdeck serve`` builds a :class:`Daemon` from the configuration, starts
it and waits for a signal:

- SIGTERM / SIGINT: fade the output out, save, stop everything, exit 0;
- SIGHUP: re-read the configuration and the surface mappings; a broken file
  is logged and the running configuration kept.

Start-up compiles and warms the audio callback before the stream opens, and
records how long that took (``start_times`` in status).
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console import config as configuration
from console.config import Config
from console.control.server import ControlServer
from console.engine.stream import Engine
from console.surfaces import SurfaceManager
from dsp.errors import MasterdeckError

log = logging.getLogger("masterdeck")

SHUTDOWN_GRACE_S = 10.0
"""Longest a shutdown may take after the session is saved."""


RESTART_KEYS = ("socket", "tcp", "token", "token_file", "device", "sample_rate", "block_size",
                "live_input")
"""Settings a SIGHUP cannot change in a running daemon (the socket, the stream): said so."""

ROOM_KEYS = ("room_bind", "room_cert", "room_key", "room_url", "room_bitrate_kbps",
             "room_ice_servers", "room_turn_secret_file", "room_ice_policy")


def room_defaults(config: Config) -> dict[str, Any]:
    """The ``[room]`` settings as ``room_start`` takes them when not told otherwise."""
    return {key.removeprefix("room_"): getattr(config, key) for key in ROOM_KEYS}


class Daemon:
    """One running console: engine, control server, surfaces."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.engine = Engine(
            sample_rate=config.sample_rate, block_size=config.block_size,
            device=_device(config.device), live_input=config.live_input,
            python_callback=config.python_callback,
        )
        self.desk = self.engine.desk
        self.server: Any = None
        self.surfaces: Any = None
        self.session: Any = None
        """The open SessionController (``serve --session DIR``), or None."""
        self.room: Any = None
        """The listening room (:mod:`console.room`), made with the control server."""
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._extras: list[Callable[[], None]] = []
        self.started_at = 0.0

    def start(self) -> None:
        """Compile, open the audio device, load the configured songs, start serving."""
        began = time.perf_counter()
        self._compile_kernels()
        log.info("loading the audio callback")
        self.engine.compile()
        if self.config.session:
            self._open_session()
        self.engine.start()
        if self.session is None:
            for song in self.config.songs[:1]:
                self.engine.load_song(song)
            if self.config.reference:
                self.engine.load_reference(self.config.reference)
        self.engine.start_times["audio_ready_s"] = time.perf_counter() - began
        self._start_server()
        self._start_surfaces()
        self.engine.start_times["ready_s"] = time.perf_counter() - began
        self.started_at = time.time()
        log.info("ready in %.2f s (compile %.2f s); %s", self.engine.start_times["ready_s"],
                 self.engine.start_times.get("compile_s", 0.0), self.engine.stream_info())

    def _compile_kernels(self) -> None:
        """On a cold cache, compile every kernel first, on every core, with a line per job.

        Compiled kernels are cached (numba's cache, keyed by the DSP sources),
        so this happens once; ``masterdeck compile`` does it ahead of time.
        """
        from console.engine import kernels

        names = [*kernels.USUAL, *(["callback-live"] if self.config.live_input else [])]
        if kernels.ready(names):
            return
        started = time.perf_counter()
        log.info("first start with these DSP sources: compiling every kernel, once (about a "
                 "minute of CPU; the compiled kernels are cached for every later start)")

        def report(progress: kernels.Progress) -> None:
            if progress.finished is not None:
                log.info("kernels %s", kernels.describe(progress))

        kernels.compile_all(report, names=names)
        seconds = time.perf_counter() - started
        self.engine.start_times["kernels_compile_s"] = seconds
        log.info("compiled every kernel in %.1f s; cached in %s, so later starts load them",
                 seconds, kernels.cache_folder())

    def _open_session(self) -> None:
        """Open (or create) the session folder; songs given with --song join the album."""
        from console.session.controller import SessionController

        controller = SessionController(self.config.session, self.engine)
        try:
            controller.open()
            files = {str(controller.audio_path(s.file).resolve())
                     for s in controller.session.songs}
            for song in self.config.songs:
                if str(Path(song).resolve()) not in files:
                    controller.add_song(song)
            if self.config.reference:
                controller.select_reference(controller.add_reference(self.config.reference))
        except BaseException:
            controller.close(save=False)
            raise
        self.session = controller

    def _start_server(self) -> None:
        self.server = ControlServer(self.engine, socket_path=self.config.socket_path(),
                                    tcp=self.config.tcp or None,
                                    token=self.config.token or None)
        self.server.session = self.session
        self.server.room = self.room = self._make_room()
        self.server.room_defaults = room_defaults(self.config)
        self.server.start()

    def _make_room(self) -> Any:
        """The listening room, closed until ``masterdeck room start``."""
        from console.room.room import Room

        try:
            return Room(self.engine, configuration.config_home(), lambda: self.session)
        except MasterdeckError as exc:  # its invites file is unreadable: no room, the rest runs
            log.error("the listening room is unavailable: %s", exc)
            return None

    def _start_surfaces(self) -> None:
        self.surfaces = SurfaceManager(self.desk, self.config, meter_source=self.engine.meters)
        self.surfaces.start()
        if self.server is not None:
            self.server.surfaces = self.surfaces

    def handle_signals(self) -> None:
        """Take SIGTERM/SIGINT/SIGHUP from now on (main thread only).

        Called before :meth:`start`: the socket appears before the surfaces
        are up, and a SIGHUP that arrives in that window must be a reload,
        not the default action that ends the process. A stop asked for while
        starting is honoured as soon as :meth:`run` begins.
        """
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self._reload.set())

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (see :meth:`handle_signals`); return the exit status."""
        while not self._stop.wait(0.2):
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
        self.shutdown()
        return 0

    def reload(self) -> None:
        """Re-read the configuration and mappings; keep the old ones if broken."""
        try:
            fresh = configuration.load(self.config.source_path or None)
        except MasterdeckError as exc:
            log.error("reload failed, keeping the running configuration: %s", exc)
            return
        later = [key for key in RESTART_KEYS
                 if getattr(fresh, key) != getattr(self.config, key) and getattr(fresh, key)]
        if later:
            log.warning("reload: %s changed in the config; that takes a restart of the daemon "
                        "(the running values stay)", ", ".join(later))
        self.config.surfaces = fresh.surfaces
        self.config.midi_backend = fresh.midi_backend
        for key in ROOM_KEYS:
            setattr(self.config, key, getattr(fresh, key))
        if self.server is not None:
            self.server.room_defaults = room_defaults(self.config)
        if self.room is not None and self.room.running:
            log.info("reload: the room's settings take effect at its next start")
        if self.surfaces is not None and hasattr(self.surfaces, "reload"):
            try:
                self.surfaces.reload(self.config)
            except MasterdeckError as exc:
                log.error("reloading mappings failed: %s", exc)
        log.info("configuration reloaded from %s", fresh.source_path or "defaults")

    def request_stop(self) -> None:
        """Ask :meth:`run` to shut down (as SIGTERM does)."""
        self._stop.set()

    def shutdown(self) -> None:
        """Stop taking changes, save, fade out, and stop every part.

        The control server stops first: every change it acknowledged is in the
        session by then, and none can be acknowledged after (a change racing
        the close is refused with an error, never answered ``ok`` and dropped).
        The session is saved next, so nothing is lost even if a later step
        hangs (a MIDI port that will not close while its JACK server is
        wedged, say); a watchdog then ends the process after
        ``SHUTDOWN_GRACE_S`` rather than leaving a daemon that cannot stop.
        A call stuck in C can hold the GIL, so that no Python timer runs
        (rtmidi closing a port on a wedged JACK server does): a second
        watchdog, faulthandler's C thread, then writes every thread's stack
        to the log and ends the process (status 1) a second later.
        """
        log.info("shutting down")
        if self.room is not None:
            self.room.stop()
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.session is not None:
            self.session.close(save=True)
            self.session = None
        self.engine.halt()
        watchdog = threading.Timer(SHUTDOWN_GRACE_S, _force_exit)
        watchdog.daemon = True
        watchdog.start()
        faulthandler.dump_traceback_later(SHUTDOWN_GRACE_S + 1.0, exit=True)
        for extra in reversed(self._extras):
            extra()
        if self.surfaces is not None:
            self.surfaces.stop()
        if self.server is not None:
            self.server.stop()
        self.engine.stop(fade=True)
        watchdog.cancel()
        faulthandler.cancel_dump_traceback_later()
        log.info("stopped")


def _force_exit() -> None:
    log.error("shutdown did not finish within %.0f s; the session was saved, exiting now",
              SHUTDOWN_GRACE_S)
    logging.shutdown()
    os._exit(0)


def _device(text: str) -> int | str | None:
    if not text:
        return None
    return int(text) if text.isdigit() else text
