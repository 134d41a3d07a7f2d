"""Clients of the control protocol: a blocking one and an asyncio one.

The command line's ``status``, ``get``, ``set`` and transport commands use
:class:`Client`, which blocks on one socket; the Textual UI uses
:class:`AsyncClient` from a worker, so it can await replies and events
without a thread. Both say ``hello`` first (with the token over TCP), find
the daemon's socket the way the daemon chooses it (the config file, else
``$XDG_RUNTIME_DIR/masterdeck/control.sock``), raise :class:`ProtocolError`
with the server's code for a refused request, and :class:`NoDaemonError`
when nobody listens. Nothing here imports Textual.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from console.protocol import PROTOCOL, ProtocolError, decode, default_socket_path, encode
from console.protocol import parse_hostport as _parse_hostport
from dsp.errors import MasterdeckError

MAX_REPLY_BYTES = 16 << 20
"""Longest line a client accepts from the server."""
EVENT_BACKLOG = 1000
"""Events a client keeps unread before dropping the oldest."""


class NoDaemonError(MasterdeckError):
    """Nothing listens where the daemon's socket should be."""


class ConnectionLostError(MasterdeckError):
    """The daemon closed the connection (it stopped, or dropped this client)."""


def _address(socket_path: str | Path | None, connect: str | None) -> tuple[Any, str]:
    if connect:
        host, port = _parse_hostport(connect)
        return (host, port), f"{host}:{port}"
    path = Path(socket_path) if socket_path else default_socket_path()
    return path, str(path)


def _not_running(where: str, exc: OSError) -> NoDaemonError:
    return NoDaemonError(f"no masterdeck daemon at {where} ({exc.strerror or exc}); "
                            "start one with `masterdeck serve`")


def _reply_data(message: dict[str, Any]) -> dict[str, Any]:
    if message.get("ok"):
        return message.get("data") or {}
    error = message.get("error") or {}
    raise ProtocolError(str(error.get("code", "unknown")), str(error.get("message", message)))


class Client:
    """A blocking protocol client: one request at a time, events kept for later.

    Parameters
    ----------
    socket_path : str or Path, optional
        The daemon's Unix socket; default: where the daemon puts it.
    connect : str, optional
        ``HOST:PORT`` to use TCP instead (needs ``token``).
    token : str, optional
        The TCP token; default ``$MASTERDECK_TOKEN``.
    timeout : float
        Seconds to wait for a reply (a long song takes a while to load).
    name : str
        How this client introduces itself in the daemon's log.
    """

    def __init__(self, socket_path: str | Path | None = None, connect: str | None = None,
                 token: str | None = None, timeout: float = 10.0,
                 name: str = "masterdeck-cli") -> None:
        self.address, self.where = _address(socket_path, connect)
        self.token = token if token is not None else os.environ.get("MASTERDECK_TOKEN")
        self.timeout = timeout
        self.name = name
        self.hello: dict[str, Any] = {}
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=EVENT_BACKLOG)
        self._sock: socket.socket | None = None
        self._buffer = bytearray()
        self._ids = itertools.count(1)

    def connect(self) -> dict[str, Any]:
        """Connect and say hello; return the server's hello reply."""
        try:
            if isinstance(self.address, tuple):
                self._sock = socket.create_connection(self.address, self.timeout)
            else:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._sock.settimeout(self.timeout)
                self._sock.connect(str(self.address))
        except OSError as exc:
            self.close()
            raise _not_running(self.where, exc) from None
        args: dict[str, Any] = {"protocol": PROTOCOL, "client": self.name}
        if self.token:
            args["token"] = self.token
        self.hello = self.request("hello", **args)
        return self.hello

    def request(self, command: str, timeout: float | None = None,
                **args: Any) -> dict[str, Any]:
        """Send one request and return its reply's ``data`` (ProtocolError if refused)."""
        if self._sock is None:
            raise ConnectionLostError("not connected")
        request_id = next(self._ids)
        try:
            self._sock.sendall(encode({"command": command, **args, "request_id": request_id}))
        except OSError as exc:
            raise ConnectionLostError(f"lost the daemon at {self.where}: {exc}") from None
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._read(deadline)
            if message is None:
                waited = timeout or self.timeout
                raise ConnectionLostError(f"no reply to {command!r} within {waited:g} s")
            if message.get("event") == "closing":
                raise ConnectionLostError(f"the daemon closed the connection: "
                                     f"{message.get('data', {}).get('message')}")
            if "event" in message:
                self.events.append(message)
            elif message.get("request_id") in (request_id, None):
                return _reply_data(message)

    def next_event(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The oldest unread event, waiting up to ``timeout`` seconds; None if none came."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.events:
            message = self._read(deadline)
            if message is None:
                return None
            if "event" in message:
                return message
        return self.events.popleft()

    def _read(self, deadline: float) -> dict[str, Any] | None:
        assert self._sock is not None
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                return None
            except OSError as exc:
                raise ConnectionLostError(f"lost the daemon at {self.where}: {exc}") from None
            if not chunk:
                raise ConnectionLostError(f"the daemon at {self.where} closed the connection")
            self._buffer += chunk
            if len(self._buffer) > MAX_REPLY_BYTES:
                raise ConnectionLostError("a reply longer than the client accepts")
        end = self._buffer.index(b"\n")
        line, self._buffer = bytes(self._buffer[:end]), self._buffer[end + 1:]
        return decode(line)

    def close(self) -> None:
        """Close the connection (subscriptions end with it)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Client:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """An asyncio protocol client: concurrent requests, events as an async iterator.

    Open with ``client = await AsyncClient.open(...)`` (same arguments as
    :class:`Client`); replies are matched to requests by ``request_id``, and
    events wait in a bounded queue (the oldest is dropped when it is full).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 where: str) -> None:
        self.where = where
        self.hello: dict[str, Any] = {}
        self._reader, self._writer = reader, writer
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(EVENT_BACKLOG)
        self._task = asyncio.create_task(self._dispatch())

    @classmethod
    async def open(cls, socket_path: str | Path | None = None, connect: str | None = None,
                   token: str | None = None, name: str = "masterdeck-ui") -> AsyncClient:
        """Connect and say hello."""
        address, where = _address(socket_path, connect)
        try:
            if isinstance(address, tuple):
                reader, writer = await asyncio.open_connection(*address, limit=MAX_REPLY_BYTES)
            else:
                reader, writer = await asyncio.open_unix_connection(str(address),
                                                                    limit=MAX_REPLY_BYTES)
        except OSError as exc:
            raise _not_running(where, exc) from None
        client = cls(reader, writer, where)
        token = token if token is not None else os.environ.get("MASTERDECK_TOKEN")
        args: dict[str, Any] = {"protocol": PROTOCOL, "client": name}
        if token:
            args["token"] = token
        try:
            client.hello = await client.request("hello", **args)
        except MasterdeckError:
            await client.close()
            raise
        return client

    async def request(self, command: str, **args: Any) -> dict[str, Any]:
        """Send one request and await its reply's ``data`` (ProtocolError if refused)."""
        if self._task.done():
            raise ConnectionLostError(f"the daemon at {self.where} closed the connection")
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        self._writer.write(encode({"command": command, **args, "request_id": request_id}))
        try:
            return _reply_data(await future)
        finally:
            self._waiting.pop(request_id, None)

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Events as they come, until the connection ends."""
        while (event := await self._events.get()) is not None:
            yield event

    async def _dispatch(self) -> None:
        try:
            while line := await self._reader.readline():
                message = decode(line)
                if "event" in message:
                    if self._events.full():  # latest wins: forget the oldest
                        self._events.get_nowait()
                    self._events.put_nowait(message)
                elif (future := self._waiting.get(message.get("request_id"))) is not None:
                    if not future.done():
                        future.set_result(message)
        except (OSError, ValueError, MasterdeckError):
            pass
        finally:
            lost = ConnectionLostError(f"the daemon at {self.where} closed the connection")
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(lost)
            if self._events.full():
                self._events.get_nowait()
            self._events.put_nowait(None)

    async def close(self) -> None:
        """Close the connection."""
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


# command-line helpers ---------------------------------------------------------------
def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every thin client takes to find the daemon."""
    group = parser.add_argument_group("connection")
    group.add_argument("--socket", metavar="PATH",
                       help="the daemon's control socket (default: where `serve` puts it)")
    group.add_argument("--connect", metavar="HOST:PORT", help="use TCP instead of the socket")
    group.add_argument("--token", help="TCP token (default: $MASTERDECK_TOKEN)")


def client_from_args(args: argparse.Namespace, timeout: float = 10.0) -> Client:
    """A :class:`Client` for the connection flags in ``args``; ``with`` it to connect."""
    return Client(args.socket, args.connect, args.token, timeout=timeout)
