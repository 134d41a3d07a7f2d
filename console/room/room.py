"""The listening room as the daemon holds it: off until started, invites, listeners.

:class:`Room` is what the control commands call (``room_start``, ``room_invite``,
``room_revoke`` ...), from any thread. The web side and every peer
connection live on one asyncio loop in a thread of the room's own, started
by :meth:`Room.start` and ended by :meth:`Room.stop`; calls from other
threads are carried onto it. Revoking an invite closes its listeners'
connections before the call returns.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.control.trust import is_loopback
from console.room.ice import IceSettings
from console.room.invites import Invite, Invites
from console.room.limits import RequestLimit, TokenFailures
from console.room.notes import RoomNotes
from console.room.ring import OutputRing
from console.room.state import page_state
from dsp.errors import MasterdeckError

if TYPE_CHECKING:
    from console.engine.stream import Engine
    from console.room.feed import RoomFeed
    from console.room.peer import Listener

log = logging.getLogger(__name__)
for _chatty in ("aioice", "aiortc"):  # every ICE check at INFO: keep their warnings only
    logging.getLogger(_chatty).setLevel(logging.WARNING)

DEFAULT_BIND = "127.0.0.1:8765"
MAX_LISTENERS = 8
PER_INVITE = 3
"""Connections one invite may hold at once (a second tab, a phone beside the laptop)."""
STATE_HZ = 4.0
"""How often each page is sent what is playing and the loudness figures."""


class RoomError(MasterdeckError):
    """The room cannot do that now (not started, already started, cannot listen)."""


class Room:
    """The daemon's listening room.

    Parameters
    ----------
    engine : Engine
        Its output ring is what the room plays; its desk is how switches act.
    folder : Path
        Where the invites file (and a self-signed certificate) are kept.
    session : callable
        Returns the open SessionController, or None: notes are kept in it.
    """

    def __init__(self, engine: Engine, folder: str | Path,
                 session: Callable[[], Any] = lambda: None) -> None:
        self.engine = engine
        self.desk = engine.desk
        self.folder = Path(folder)
        self.invites = Invites(self.folder / "room-invites.json")
        self.ring = OutputRing.of_engine(engine)
        self.feed: RoomFeed | None = None
        """The Opus feed, made when the room opens (PyAV loads then, not at the daemon's
        start)."""
        self.notes = RoomNotes(self)
        self._session = session
        self.listeners: dict[int, Listener] = {}
        self.requests = RequestLimit()
        self.failures = TokenFailures()
        self.url = ""
        self.bind: tuple[str, int] | None = None
        self.tls: dict[str, Any] | None = None
        self.ice = IceSettings()
        self._numbers = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        self._ticker: asyncio.Task | None = None

    @property
    def session(self) -> Any:
        """The daemon's open session (None without one)."""
        return self._session()

    @property
    def running(self) -> bool:
        """Whether the room is serving."""
        return self._loop is not None

    # starting and stopping -------------------------------------------------------------
    def start(self, bind: str = DEFAULT_BIND, cert: str = "", key: str = "", url: str = "",
              bitrate_kbps: int = 256, ice_servers: list[str] | None = None,
              turn_secret_file: str = "", ice_policy: str = "all") -> dict[str, Any]:
        """Serve the room on ``bind`` (HOST:PORT; port 0 picks one); return :meth:`describe`.

        Beyond loopback it serves HTTPS only: with ``cert`` and ``key``, or a
        self-signed certificate made once (its fingerprint is in the reply).
        ``url`` is the address clients use when it is not the bound one (a
        reverse proxy, a tunnel's far end). ``ice_servers``,
        ``turn_secret_file`` and ``ice_policy``: how clients that cannot reach
        this machine's addresses get the audio (:mod:`console.room.ice`).
        """
        from console.control.wire import parse_hostport
        from console.room import tls
        from console.room.feed import RoomFeed
        from console.room.ice import IceError, IceSettings

        if self.running:
            raise RoomError(f"the room is already open at {self.url}")
        try:
            self.ice = IceSettings.make(ice_servers or [], turn_secret_file, ice_policy)
        except IceError as exc:
            raise RoomError(str(exc)) from None
        try:
            host, port = parse_hostport(bind)
        except MasterdeckError as exc:
            raise RoomError(f"room bind {bind!r}: {exc}") from None
        try:
            self.feed = RoomFeed(self.ring, bitrate_kbps)
        except (TypeError, ValueError) as exc:
            raise RoomError(f"room bitrate: {exc}") from None
        context = None
        self.tls = None
        if cert or key or not is_loopback(host):
            if bool(cert) != bool(key):
                raise RoomError("give both the certificate and its key (or neither)")
            made = not cert
            if made:
                cert_path, key_path = tls.self_signed(self.folder, host)
            else:
                cert_path, key_path = Path(cert), Path(key)
            context = tls.server_context(cert_path, key_path)
            self.tls = {"certificate": str(cert_path), "self_signed": made,
                        "fingerprint_sha256": tls.fingerprint(cert_path)}
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self._open(host, port, context))
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            self._loop = loop
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="room", daemon=True)
        self._thread.start()
        ready.wait(15.0)
        if failure or self._loop is None:
            self._thread.join(1.0)
            self._thread = None
            why = failure[0] if failure else "it did not start in time"
            raise RoomError(f"the room cannot listen on {bind}: {why}")
        scheme = "https" if context is not None else "http"
        shown = host if host not in ("0.0.0.0", "::", "") else socket.gethostname()
        if ":" in shown:
            shown = f"[{shown}]"
        self.url = (url or f"{scheme}://{shown}:{self.bind[1]}").rstrip("/")
        log.info("room: open at %s (bound to %s:%d)", self.url, *self.bind)
        return self.describe()

    async def _open(self, host: str, port: int, context: Any) -> None:
        from aiohttp import web

        from console.room.web import build_app

        self._runner = web.AppRunner(build_app(self), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=context)
        await site.start()
        address = self._runner.addresses[0]
        self.bind = (str(address[0]), int(address[1]))
        self._ticker = asyncio.ensure_future(self._tick())

    def stop(self) -> None:
        """Tell every listener, hang up, stop serving."""
        loop = self._loop
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(10.0)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(5.0)
            self._loop = self._thread = None
            if self.feed is not None:
                self.feed.stop()
            self.url = ""
            log.info("room: closed")

    async def _close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        await asyncio.gather(*(listener.close("the room was closed", "stopped")
                               for listener in list(self.listeners.values())))
        if self._runner is not None:
            await self._runner.cleanup()

    def _call(self, coroutine: Any, timeout: float = 10.0) -> Any:
        if self._loop is None:
            coroutine.close()
            return None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    # invites -------------------------------------------------------------------------------
    def invite(self, name: str | None = None, grants: list[str] | None = None
               ) -> dict[str, Any]:
        """A new invite; its link (shown once: only the token's hash is kept)."""
        replaced = name is not None and name in {i.name for i in self.invites.all()}
        if replaced:
            self._cut_off(name, "this invite was replaced by a new link")
        invite, token = self.invites.create(name, grants)
        base = self.url or "(the room's address once started)"
        return {**invite.describe(), "link": f"{base}/#{token}", "running": self.running,
                "replaced": replaced}

    def revoke(self, name: str) -> dict[str, Any]:
        """Delete an invite and cut its listeners off now."""
        invite = self.invites.revoke(name)
        return {"name": invite.name, "cut_off": self._cut_off(name, "the engineer ended this "
                                                              "invite")}

    def grant(self, name: str, switches: list[str]) -> dict[str, Any]:
        """Set what an invite may switch; its pages show the new switches at once."""
        invite = self.invites.grant(name, switches)
        self._call_soon(lambda: [lst.send(self.page_state(lst))
                                 for lst in self.listeners.values() if lst.name == name])
        return invite.describe()

    def _cut_off(self, name: str, reason: str) -> int:
        async def cut() -> int:
            doomed = [lst for lst in self.listeners.values() if lst.name == name]
            await asyncio.gather(*(lst.close(reason, "revoked") for lst in doomed))
            return len(doomed)
        return self._call(cut()) or 0

    def _call_soon(self, function: Callable[[], Any]) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(function)

    # listeners (on the room's loop) ------------------------------------------------------
    async def join(self, invite: Invite, address: str, sdp: str, kind: str) -> dict[str, str]:
        """A page with a good token offers; the answer (RoomError when the room is full)."""
        from console.room.peer import Listener

        if len(self.listeners) >= MAX_LISTENERS:
            raise RoomError(f"the room is full ({MAX_LISTENERS} listeners)")
        if sum(lst.name == invite.name for lst in self.listeners.values()) >= PER_INVITE:
            raise RoomError(f"this invite is already open in {PER_INVITE} places")
        self._numbers += 1
        listener = Listener(self, invite, address, self._numbers)
        self.listeners[listener.number] = listener
        try:
            answer = await listener.answer(sdp, kind)
        except Exception:
            await listener.close("the offer could not be answered")
            raise
        if not self._still_valid(invite):  # revoked or replaced while the offer was answered
            await listener.close("the engineer ended this invite", "revoked")
            raise RoomError("this invite was revoked")
        log.info("room: %s joined from %s (listener %d)", invite.name, address,
                 listener.number)
        return answer

    def _still_valid(self, invite: Invite) -> bool:
        try:
            return self.invites.get(invite.name).digest == invite.digest
        except MasterdeckError:
            return False

    def forget(self, listener: Listener) -> None:
        """A listener has hung up."""
        self.listeners.pop(listener.number, None)

    def tell(self, name: str | None, message: dict[str, Any]) -> int:
        """Send ``message`` to every page of invite ``name``; how many there were."""
        targets = [lst for lst in list(self.listeners.values()) if lst.name == name]
        self._call_soon(lambda: [lst.send(message) for lst in targets])
        return len(targets)

    def page_state(self, listener: Listener) -> dict[str, Any]:
        """The ``state`` message for one listener."""
        try:
            grants = self.invites.get(listener.name).grants
        except MasterdeckError:
            grants = []
        return page_state(self.desk.state(), self.engine.meters(), grants, listener.name)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(1.0 / STATE_HZ)
            for listener in list(self.listeners.values()):
                listener.send(self.page_state(listener))

    # what a client may do ----------------------------------------------------------------
    def switch(self, name: str, which: str) -> None:
        """Flip a switch the listener ``name`` was granted (checked by the caller)."""
        author = f"room:{name}"
        if which in ("A", "B"):
            self.desk.perform("snapshot_recall", author, slot=which)
        else:
            self.engine.set_source(which, author)

    # reports -----------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """For ``status`` and ``room list``: where it listens, who listens, the invites."""
        listeners = sorted((lst.describe() for lst in list(self.listeners.values())),
                           key=lambda row: row["id"])
        return {"running": self.running, "url": self.url or None,
                "bind": f"{self.bind[0]}:{self.bind[1]}" if self.running and self.bind
                else None, "tls": self.tls if self.running else None,
                "bitrate_kbps": self.feed.bitrate_kbps if self.feed else None,
                "ice": self.ice.describe() if self.running else None,
                "encoding": bool(self.feed and self.feed.running),
                "listeners": listeners,
                "invites": [i.describe() for i in self.invites.all()],
                "refused_requests": self.requests.refused,
                "time": round(time.time(), 3)}
