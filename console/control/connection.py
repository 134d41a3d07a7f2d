"""One client connection of the control server: requests in order, events at a rate.

A connection reads one request at a time and answers it before reading the
next, so replies come in request order; a pump task beside it sends the
events the client subscribed to. Both write to the same transport without
ever waiting on it, so a client that stops reading costs the daemon only the
bounded buffer it is allowed before it is dropped (see :class:`Limits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from console.control.commands import COMMANDS, check_request, error_for
from console.control.table import Context
from console.control.wire import (
    PROTOCOL,
    TOPICS,
    ProtocolError,
    check_rate,
    check_request_id,
    decode,
    encode,
)
from console.version import version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one misbehaving client from costing the daemon anything."""

    line_bytes: int = 65536
    """Longest request line; longer is ``line_too_long`` and the connection closes."""
    hold_bytes: int = 65536
    """Events are held back (latest wins) while more than this waits to be sent."""
    max_buffer_bytes: int = 1 << 20
    """A connection with more than this waiting is dropped (``too_slow``)."""
    stall_timeout_s: float = 10.0
    """A connection whose events are held back this long is dropped (``too_slow``)."""
    auth_timeout_s: float = 3.0
    """A TCP connection that has not said hello with the token by then is dropped."""
    hello_bytes: int = 1024
    """Before its hello, a TCP connection's line may be at most this long (nothing bigger is
    parsed from a stranger)."""
    close_grace_s: float = 2.0
    """A closed connection may take this long to read its last lines, then it is cut."""
    max_clients: int = 64
    """Clients on the Unix socket (the owner's own: the UI, scripts)."""
    max_tcp_clients: int = 8
    """Clients over TCP, counted apart, so strangers cannot take the owner's places."""


class Host(Protocol):
    """What a connection needs of the server that accepted it (the server is one)."""

    limits: Limits
    engine: Any
    surfaces: Any
    session: Any
    executor: Executor
    token: str | None

    def info(self) -> dict[str, Any]:
        """The server's own part of the ``hello`` reply."""

    def count_subscriber(self, topic: str, delta: int) -> None:
        """Count a subscriber of ``topic`` in or out."""

    def failed_hello(self, address: str) -> float:
        """Note a wrong or missing token from ``address``; how long to wait before answering."""


@dataclass
class Subscription:
    """One topic of one connection: its rate and its single slot."""

    interval_s: float
    next_due: float = 0.0
    line: bytes | None = None
    """The latest meter event, encoded once for every subscriber."""
    changes: dict[str, tuple[Any, str]] = field(default_factory=dict)
    """Parameter ids or state keys that changed: (latest value, author)."""

    def pending(self) -> bool:
        """Whether there is something to send."""
        return self.line is not None or bool(self.changes)

    def take(self, topic: str) -> list[bytes]:
        """Empty the slot into event lines, one per author of the changes."""
        if self.line is not None:
            lines, self.line = [self.line], None
            return lines
        by_author: dict[str, dict[str, Any]] = {}
        for key, (value, author) in self.changes.items():
            by_author.setdefault(author, {})[key] = value
        self.changes = {}
        return [encode({"event": topic, "data": {"values": values, "author": author}})
                for author, values in by_author.items()]


_TRACE_EVERY_S = 5.0
_traced = {"at": -_TRACE_EVERY_S, "quiet": 0}


def _log_failure(line: bytes) -> None:
    """A command's unexpected failure, with its traceback, at most once every few seconds.

    A client repeating a request that fails could otherwise write megabytes of
    log a second; the ones left out are counted in the next.
    """
    now = time.monotonic()
    if now - _traced["at"] < _TRACE_EVERY_S:
        _traced["quiet"] += 1
        return
    quiet, _traced["quiet"], _traced["at"] = _traced["quiet"], 0, now
    log.exception("command failed: %s%s", line[:200],
                  f" ({quiet} more failures since the last one logged)" if quiet else "")


class Connection:
    """One client connection: reads requests in order, pumps events at its rates."""

    def __init__(self, server: Host, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, client_id: int, needs_token: bool) -> None:
        self.server = server
        self.reader, self.writer = reader, writer
        self.transport = writer.transport
        self.client_id = client_id
        self.author = f"protocol:{client_id}"
        self.needs_token = needs_token
        self.tcp = needs_token
        """Over TCP (it had to present the token)."""
        self.refusing = False
        """A wrong token is being answered (slowly): the connection closes after it."""
        self.name = ""
        self.subscriptions: dict[str, Subscription] = {}
        self.closing = False
        self.held_since: float | None = None
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self.transport.set_write_buffer_limits(high=server.limits.hold_bytes)

    async def run(self) -> None:
        """Serve this connection until it ends, then tidy up."""
        peer = self.writer.get_extra_info("peername") or "unix"
        log.debug("client %d connected (%s)", self.client_id, peer)
        pump = asyncio.create_task(self._pump())
        if self.needs_token:
            self._loop.call_later(self.server.limits.auth_timeout_s, self._auth_expired)
        try:
            await self._read_requests()
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            self._close()
            log.debug("client %d gone", self.client_id)

    async def _read_requests(self) -> None:
        limits = self.server.limits
        while not self.closing:
            try:
                line = await self.reader.readline()
            except ValueError:  # past the reader's limit (LimitOverrunError inside)
                self._send_reply(None, ProtocolError(
                    "line_too_long", f"a line may be at most {limits.line_bytes} bytes"))
                self._close()
                return
            except OSError:  # reset by the peer
                return
            if not line.endswith(b"\n"):  # end of stream, maybe halfway through a line
                return
            if self.needs_token and len(line) > limits.hello_bytes:
                self._send_reply(None, ProtocolError(
                    "unauthorized", f"say hello with the token first (in at most "
                    f"{limits.hello_bytes} bytes)"))
                self._close()
                return
            if line.strip():
                await self._answer(line)
            if self.transport.get_write_buffer_size() > limits.hold_bytes and not self.closing:
                try:  # read no more requests until this client takes its replies
                    async with asyncio.timeout(limits.stall_timeout_s):
                        await self.writer.drain()
                except TimeoutError:
                    self.drop("too_slow", f"replies not read for {limits.stall_timeout_s:g} s")
                except OSError:
                    return

    async def _answer(self, line: bytes) -> None:
        request_id = None
        try:
            message = decode(line)
            request_id = check_request_id(message)
            name, args = check_request(message)
            if self.needs_token and name != "hello":
                raise ProtocolError("unauthorized", "say hello with the token first")
            data = await self._perform(name, args)
        except Exception as exc:  # every failure becomes this client's error reply
            error = error_for(exc)
            if error.code == "internal":
                _log_failure(line)
            if error.code == "unauthorized":  # a guess: answered slowly, the more the slower
                peer = self.writer.get_extra_info("peername")
                self.refusing = True  # the answer is on its way: no hello timeout meanwhile
                await asyncio.sleep(self.server.failed_hello(peer[0] if peer else "unix"))
            self._send_reply(request_id, error)
            if error.code == "unauthorized":
                self._close()
            return
        self._send_reply(request_id, data)

    async def _perform(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        if name == "hello":
            return self._hello(**args)
        if name == "subscribe":
            return self._subscribe(**args)
        if name == "unsubscribe":
            return self._unsubscribe(**args)
        command = COMMANDS[name]
        assert command.handler is not None
        context = Context(self.server.engine, self.author, self.server.surfaces,
                          self.server.session, self.server.room, self.server.room_defaults)
        call = partial(command.handler, context, **args)
        if command.decodes:
            data = await self._loop.run_in_executor(self.server.decoders, call)
        elif command.blocking:
            data = await self._loop.run_in_executor(self.server.executor, call)
        else:
            data = call()
        if name == "status":
            data["server"] = self.server.info()
        return data

    def _hello(self, token: str | None = None, protocol: int | None = None,
               client: str | None = None) -> dict[str, Any]:
        if self.needs_token:
            if token is None or not hmac.compare_digest(token.encode(),
                                                        self.server.token.encode()):
                raise ProtocolError("unauthorized", "wrong or missing token")
            self.needs_token = False
        if protocol is not None and protocol != PROTOCOL:
            raise ProtocolError("unsupported_protocol", f"this server speaks protocol "
                                f"{PROTOCOL}, the client asked for {protocol}")
        if client:
            self.name = client[:64]
            log.info("client %d is %s", self.client_id, self.name)
        return {"server": "masterdeck", "version": version(), "protocol": PROTOCOL,
                "client_id": self.client_id, "author": self.author,
                "commands": list(COMMANDS), "topics": list(TOPICS)}

    def _subscribe(self, topic: str, rate_hz: float | None = None) -> dict[str, Any]:
        rate = check_rate(topic, rate_hz)
        if topic in self.subscriptions:
            self.subscriptions[topic].interval_s = 1.0 / rate
        else:
            self.subscriptions[topic] = Subscription(1.0 / rate)
            self.server.count_subscriber(topic, 1)  # count first: no change falls in between
        engine = self.server.engine
        current = {"meters": engine.meters, "params": engine.desk.values,
                   "state": engine.desk.state}[topic]()
        return {"topic": topic, "rate_hz": rate, "current": current}

    def _unsubscribe(self, topic: str) -> dict[str, Any]:
        if topic not in TOPICS:
            raise ProtocolError("bad_argument", f"unsubscribe: unknown topic {topic!r}")
        if self.subscriptions.pop(topic, None) is not None:
            self.server.count_subscriber(topic, -1)
        return {"topic": topic}

    def _auth_expired(self) -> None:
        if self.needs_token and not self.refusing:
            self.drop("auth_timeout", "no hello with a token in time")

    # sending ---------------------------------------------------------------------------
    def offer(self, topic: str, line: bytes | None = None,
              changes: dict[str, tuple[Any, str]] | None = None) -> None:
        """Put news in this connection's slot for ``topic`` (latest wins) and wake the pump."""
        subscription = self.subscriptions.get(topic)
        if subscription is None or self.closing:
            return
        if line is not None:
            subscription.line = line
        if changes:
            subscription.changes.update(changes)
        self._wake.set()

    async def _pump(self) -> None:
        while not self.closing:
            delay = self._send_due(self._loop.time())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def _send_due(self, now: float) -> float | None:
        """Send every event that is due; return the seconds until the next one."""
        waiting = [(t, s) for t, s in self.subscriptions.items() if s.pending()]
        if not waiting:
            return None
        if self.transport.get_write_buffer_size() > self.server.limits.hold_bytes:
            self.held_since = self.held_since or now
            if now - self.held_since > self.server.limits.stall_timeout_s:
                self.drop("too_slow", "events not read for "
                          f"{self.server.limits.stall_timeout_s:g} s")
                return None
            return 0.05  # look again soon: the client may have caught up
        self.held_since = None
        delay = None
        for topic, subscription in waiting:
            if now >= subscription.next_due:
                for event in subscription.take(topic):
                    self._write(event)
                # keep a steady grid (the asked rate on average) unless far behind it
                late = now - subscription.next_due >= subscription.interval_s
                subscription.next_due = (now if late else subscription.next_due) \
                    + subscription.interval_s
            else:
                wait = subscription.next_due - now
                delay = wait if delay is None else min(delay, wait)
        return delay

    def _send_reply(self, request_id: Any, result: dict[str, Any] | ProtocolError) -> None:
        reply: dict[str, Any] = {} if request_id is None else {"request_id": request_id}
        if isinstance(result, ProtocolError):
            reply.update(ok=False, error=result.as_dict())
        else:
            reply.update(ok=True, data=result)
        self._write(encode(reply))

    def _write(self, data: bytes) -> None:
        if self.closing or self.transport.is_closing():
            return
        self.writer.write(data)
        waiting = self.transport.get_write_buffer_size()
        if waiting > self.server.limits.max_buffer_bytes:
            self.drop("too_slow", f"{waiting} bytes waiting for this client")

    def drop(self, code: str, message: str) -> None:
        """Say why in a last ``closing`` event, then close this connection."""
        if self.closing:
            return
        if code != "shutdown":
            log.warning("dropping client %d: %s", self.client_id, message)
        self._write(encode({"event": "closing", "data": {"code": code, "message": message}}))
        self._close()

    def _close(self) -> None:
        self.closing = True
        self._wake.set()
        if not self.transport.is_closing():
            self.transport.close()  # sends what is buffered, if the client reads it
            self._loop.call_later(self.server.limits.close_grace_s,
                                  self.transport.abort)  # ... else forget it

    def describe(self) -> dict[str, Any]:
        """The connection as plain data (for diagnosis)."""
        return {"client_id": self.client_id, "name": self.name,
                "subscriptions": {t: round(1.0 / s.interval_s, 3)
                                  for t, s in self.subscriptions.items()},
                "buffered_bytes": self.transport.get_write_buffer_size(),
                "held": self.held_since is not None}
