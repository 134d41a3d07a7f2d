"""The blocking client of the control protocol, and what every client shares.

The command line's ``status``, ``get``, ``set`` and transport commands use
:class:`Client`, which blocks on one socket; the Textual UI uses
:class:`~console.control.async_client.AsyncClient` from a worker, so it can
await replies and events without a thread (asyncio stays out of the thin
clients' start-up that way). Both say ``hello`` first (with the token over TCP), find
the daemon's socket the way the daemon chooses it (the config file, else
``$XDG_RUNTIME_DIR/masterdeck/control.sock``), raise :class:`ProtocolError`
with the server's code for a refused request, and :class:`NoDaemonError`
when nobody listens. Nothing here imports Textual.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import os
import socket
import time
from pathlib import Path
from typing import Any

from console.control.wire import PROTOCOL, ProtocolError, decode, default_socket_path, encode
from console.control.wire import parse_hostport as _parse_hostport
from dsp.errors import MasterdeckError

MAX_REPLY_BYTES = 16 << 20
"""Longest line a client accepts from the server."""
EVENT_BACKLOG = 1000
"""Events a client keeps unread before dropping the oldest."""


class NoDaemonError(MasterdeckError):
    """Nothing listens where the daemon's socket should be."""


class ConnectionLostError(MasterdeckError):
    """The daemon closed the connection (it stopped, or dropped this client)."""


def server_address(socket_path: str | Path | None, connect: str | None) -> tuple[Any, str]:
    """Where to connect (a socket path, or host and port) and how to name it in messages."""
    if connect:
        host, port = _parse_hostport(connect)
        return (host, port), f"{host}:{port}"
    from console.config import runtime_dir
    from console.control.trust import check_socket

    path = Path(socket_path) if socket_path else default_socket_path()
    check_socket(path, default_place=path.parent == runtime_dir())
    return path, str(path)


def not_running_error(where: str, exc: OSError) -> NoDaemonError:
    """The error for a connection refused where the daemon should be."""
    return NoDaemonError(f"no masterdeck daemon at {where} ({exc.strerror or exc}); "
                            "start one with `masterdeck serve`")


def reply_data(message: dict[str, Any]) -> dict[str, Any]:
    """A reply's data, or its error raised as :class:`ProtocolError`."""
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
        self.address, self.where = server_address(socket_path, connect)
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
            raise not_running_error(self.where, exc) from None
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
                return reply_data(message)

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


# command-line helpers ---------------------------------------------------------------
def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every thin client takes to find the daemon."""
    group = parser.add_argument_group("connection")
    group.add_argument("--socket", metavar="PATH",
                       help="the daemon's control socket (default: where `serve` puts it)")
    group.add_argument("--connect", metavar="HOST:PORT", help="use TCP instead of the socket")
    group.add_argument("--token-file", metavar="FILE",
                       help="TCP token in a file only you can read (default: $MASTERDECK_TOKEN, "
                            "else the daemon's token file if it is here)")
    group.add_argument("--token", help="TCP token on the command line (visible in ps)")


def token_from_args(args: argparse.Namespace) -> str | None:
    """The TCP token the flags, the environment or this user's token file give (None: none)."""
    from console.config import config_home
    from console.control import trust

    if getattr(args, "token", None):
        return args.token
    if getattr(args, "token_file", None):
        return trust.read_token_file(args.token_file)
    if os.environ.get("MASTERDECK_TOKEN"):
        return os.environ["MASTERDECK_TOKEN"].strip()
    kept = config_home() / trust.TOKEN_FILE
    if getattr(args, "connect", None) and kept.exists():
        return trust.read_token_file(kept)
    return None


def client_from_args(args: argparse.Namespace, timeout: float = 10.0) -> Client:
    """A :class:`Client` for the connection flags in ``args``; ``with`` it to connect."""
    return Client(args.socket, args.connect, token_from_args(args), timeout=timeout)
