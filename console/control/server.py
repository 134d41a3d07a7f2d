"""The control server: JSON lines over a Unix socket (and TCP with a token).

The server runs in the daemon next to the audio, in its own thread with its
own asyncio event loop, so no client can ever hold up the audio thread or the
meter thread: it touches the console only through the Engine and Desk APIs,
and it hears about changes through their listeners, which just drop the news
into a slot and wake the loop.

Why the delivery works the way it does (see ``docs/protocol.md``):

- every connection has one slot per subscribed topic; a newer meter snapshot
  replaces the waiting one, a parameter changed twice is sent once with its
  last value; so memory per client is bounded by the number of topics and
  parameters, whatever the client's speed;
- a per-connection pump sends what is due at the rate the client chose, and
  holds events back while the client's outgoing buffer is full;
- writes never wait: a client whose buffer passes a hard bound, or whose
  events have been held back too long, is told ``too_slow`` and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.control.connection import Connection, Limits
from console.control.trust import is_loopback
from console.control.wire import (
    PROTOCOL,
    TOPICS,
    default_socket_path,
    encode,
    parse_hostport,
)
from console.version import version
from dsp.errors import MasterdeckError

if TYPE_CHECKING:
    from console.engine.stream import Engine

log = logging.getLogger(__name__)


class ServerError(MasterdeckError):
    """The control server cannot listen where it was told to."""


class ControlServer:
    """Serve the control protocol for one engine, from a thread of its own.

    Parameters
    ----------
    engine : Engine
        The console to control; only its public API and its desk's are used.
    socket_path : str or Path, optional
        The Unix socket (mode 0600); default ``$XDG_RUNTIME_DIR/masterdeck/control.sock``.
    tcp : str or (host, port), optional
        Also listen on TCP, e.g. ``"127.0.0.1:7357"`` (port 0 picks a free one).
    token : str, optional
        The token TCP clients must give in ``hello``; required with ``tcp``.
    limits : Limits, optional
        Per-connection bounds (line length, buffers, timeouts).
    """

    def __init__(self, engine: Engine, socket_path: str | Path | None = None,
                 tcp: str | tuple[str, int] | None = None, token: str | None = None,
                 limits: Limits | None = None) -> None:
        self.engine = engine
        self.surfaces: Any = None
        """The daemon's SurfaceManager, for the ``surfaces`` and ``learn`` commands."""
        self.session: Any = None
        """The daemon's SessionController, when it has a session open."""
        self.room: Any = None
        """The daemon's listening room, for the ``room*`` commands."""
        self.room_defaults: dict[str, Any] = {}
        """The configuration's ``[room]`` settings."""
        self.socket_path = Path(socket_path) if socket_path else default_socket_path()
        self.tcp = parse_hostport(tcp) if tcp else None
        if self.tcp and not token:
            raise ServerError("TCP control needs a token (--token or control.token)")
        self.token = token or ""
        self.limits = limits or Limits()
        self.tcp_address: tuple[str, int] | None = None
        """The TCP (host, port) actually listened on, once started."""
        self.connections: set[Connection] = set()
        self.executor: ThreadPoolExecutor | None = None
        self.decoders: ThreadPoolExecutor | None = None
        self._failures: dict[str, list[float]] = {}
        """Times of failed hellos per address, for :meth:`failed_hello`."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._listeners: list[asyncio.AbstractServer] = []
        self._unhook: list[Any] = []
        self._socket_inode = 0
        self._next_id = 0
        self._counts = dict.fromkeys(TOPICS, 0)
        self._scheduled: set[str] = set()
        self._latest_meters: dict[str, Any] = {}
        self._pending: dict[str, dict[str, tuple[Any, str]]] = {"params": {}, "state": {}}
        self._pending_lock = threading.Lock()

    # life cycle --------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        """Start listening; return once clients can connect (ServerError if it cannot)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="control-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise ServerError(f"the control server did not start within {timeout:g} s")
        if self._failure is not None:
            self._thread.join()
            self._thread = None
            raise self._failure

    def stop(self, timeout: float = 5.0) -> None:
        """Tell every client, close every connection and the sockets, end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop may already be gone
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        self.executor = ThreadPoolExecutor(4, thread_name_prefix="control-cmd")
        self.decoders = ThreadPoolExecutor(2, thread_name_prefix="control-decode")
        try:
            loop.run_until_complete(self._open())
        except BaseException as exc:
            self._failure = exc if isinstance(exc, MasterdeckError) else ServerError(
                f"cannot start the control server: {exc}")
            loop.run_until_complete(self._close())
        self._ready.set()
        if self._failure is None:
            loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.decoders.shutdown(wait=False, cancel_futures=True)

    async def _open(self) -> None:
        sock = _bind_unix(self.socket_path)
        self._socket_inode = os.stat(self.socket_path).st_ino
        limit = self.limits.line_bytes
        self._listeners.append(await asyncio.start_unix_server(
            partial(self._accept, tcp=False), sock=sock, limit=limit))
        if self.tcp:
            host, port = self.tcp
            if not is_loopback(host):
                log.warning("control over TCP on %s: reachable from that network", host)
            listener = await asyncio.start_server(partial(self._accept, tcp=True), host, port,
                                                  limit=limit)
            self._listeners.append(listener)
            self.tcp_address = listener.sockets[0].getsockname()[:2]
        desk = self.engine.desk
        self._unhook = [desk.on_params(self._on_params), desk.on_state(self._on_state),
                        self.engine.on_meters(self._on_meters)]
        log.info("control server on %s%s", self.socket_path,
                 f" and tcp {self.tcp_address[0]}:{self.tcp_address[1]}" if self.tcp_address
                 else "")

    async def _close(self) -> None:
        for unhook in self._unhook:
            unhook()
        self._unhook = []
        for listener in self._listeners:
            listener.close()
        for connection in list(self.connections):
            connection.drop("shutdown", "the daemon is stopping")
        for attempt in range(100):  # let them flush their last line, then cut them off
            if not self.connections:
                break
            if attempt == 50:
                for connection in self.connections:
                    connection.transport.abort()
            await asyncio.sleep(0.01)
        for listener in self._listeners:
            await listener.wait_closed()
        self._listeners = []
        with contextlib.suppress(OSError):
            if os.stat(self.socket_path).st_ino == self._socket_inode:
                self.socket_path.unlink()

    # connections ---------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      tcp: bool) -> None:
        here = sum(1 for c in self.connections if c.tcp == tcp)
        allowed = self.limits.max_tcp_clients if tcp else self.limits.max_clients
        if here >= allowed:
            writer.write(encode({"ok": False, "error": {
                "code": "too_many_clients",
                "message": f"the server already has {allowed} clients "
                           f"{'over TCP' if tcp else 'on its socket'}"}}))
            writer.close()
            return
        self._next_id += 1
        connection = Connection(self, reader, writer, self._next_id, needs_token=tcp)
        self.connections.add(connection)
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)
            for topic in connection.subscriptions:
                self.count_subscriber(topic, -1)

    def failed_hello(self, address: str) -> float:
        """Note a wrong or missing token from ``address``; the delay before answering it.

        The delay doubles with each failure from that address in the last
        minute (0.25 s, 0.5 s, ... up to 5 s), so guessing a token is slow even
        over several connections; failures are logged, the first and every
        tenth from an address.
        """
        now = time.monotonic()
        recent = [t for t in self._failures.get(address, []) if now - t < 60.0]
        recent.append(now)
        self._failures[address] = recent[-64:]
        count = len(recent)
        if count == 1 or count % 10 == 0:
            log.warning("control: wrong or missing token from %s (%d in the last minute)",
                        address, count)
        return min(0.25 * 2 ** (count - 1), 5.0)

    def info(self) -> dict[str, Any]:
        """What ``status`` reports about the server."""
        tcp = f"{self.tcp_address[0]}:{self.tcp_address[1]}" if self.tcp_address else None
        return {"version": version(), "protocol": PROTOCOL, "clients": len(self.connections),
                "socket": str(self.socket_path), "tcp": tcp}

    def clients(self) -> list[dict[str, Any]]:
        """Each connection's id, subscriptions and bytes waiting (for diagnosis)."""
        async def collect() -> list[dict[str, Any]]:
            return [s.describe() for s in sorted(self.connections, key=lambda s: s.client_id)]
        if self._loop is None:
            return []
        return asyncio.run_coroutine_threadsafe(collect(), self._loop).result(5.0)

    def count_subscriber(self, topic: str, delta: int) -> None:
        """Count subscribers per topic: listeners pass news on only while there are some."""
        self._counts[topic] += delta

    # news from other threads -------------------------------------------------------
    def _on_meters(self, snapshot: dict[str, Any]) -> None:
        if self._counts["meters"]:
            self._latest_meters = snapshot
            self._schedule("meters")

    def _on_params(self, changed: dict[str, float], author: str) -> None:
        if self._counts["params"]:
            with self._pending_lock:
                for param_id, value in changed.items():
                    self._pending["params"][param_id] = (value, author)
            self._schedule("params")

    def _on_state(self, key: str, value: Any, author: str) -> None:
        if self._counts["state"]:
            with self._pending_lock:
                self._pending["state"][key] = (value, author)
            self._schedule("state")

    def _schedule(self, topic: str) -> None:
        """Wake the loop once per batch of news, however many threads bring it."""
        if topic in self._scheduled or self._loop is None:
            return
        self._scheduled.add(topic)
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to tell
            self._loop.call_soon_threadsafe(self._fan_out, topic)

    def _fan_out(self, topic: str) -> None:
        self._scheduled.discard(topic)  # first, so news arriving from now on reschedules
        if topic == "meters":
            line = encode({"event": "meters", "data": self._latest_meters})
            for connection in self.connections:
                connection.offer(topic, line=line)
            return
        with self._pending_lock:
            changes, self._pending[topic] = self._pending[topic], {}
        for connection in self.connections:
            connection.offer(topic, changes=changes)


def _bind_unix(path: Path) -> socket.socket:
    """Bind a 0600 Unix socket at ``path``, replacing only a dead one."""
    from console import config

    private = path.parent == config.runtime_dir()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = os.lstat(path.parent)
    except OSError as exc:
        raise ServerError(f"cannot make the socket folder {path.parent}: {exc}") from None
    if not stat.S_ISDIR(folder.st_mode):
        raise ServerError(f"{path.parent} is not a folder")
    if private and folder.st_uid != os.getuid():
        raise ServerError(f"{path.parent} belongs to another user; refusing to use it")
    if private and folder.st_mode & 0o077:
        os.chmod(path.parent, 0o700)
    _check_not_in_use(path)
    spare = path.with_name(f".{path.name}.{os.getpid()}")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(FileNotFoundError):
            spare.unlink()
        sock.bind(str(spare))  # under a spare name, so nobody sees it before it is 0600
        os.chmod(spare, 0o600)
        os.rename(spare, path)
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot listen on {path}: {exc}") from None
    return sock


def _check_not_in_use(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ServerError(f"{path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        return  # a socket left by a daemon that died: ours to replace
    except OSError:
        pass
    finally:
        probe.close()
    raise ServerError(f"another masterdeck daemon is listening on {path}")


