"""The asyncio client of the control protocol, for the Textual UI.

Speaks what :mod:`console.control.client` speaks (hello first, the same
socket, the same errors), from a worker of the UI's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from console.control.client import (
    EVENT_BACKLOG,
    MAX_REPLY_BYTES,
    ConnectionLostError,
    not_running_error,
    reply_data,
    server_address,
)
from console.control.wire import PROTOCOL, decode, encode
from dsp.errors import MasterdeckError


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
        address, where = server_address(socket_path, connect)
        try:
            if isinstance(address, tuple):
                reader, writer = await asyncio.open_connection(*address, limit=MAX_REPLY_BYTES)
            else:
                reader, writer = await asyncio.open_unix_connection(str(address),
                                                                    limit=MAX_REPLY_BYTES)
        except OSError as exc:
            raise not_running_error(where, exc) from None
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
            return reply_data(await future)
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
