"""The UI's link to the daemon: connect, subscribe, relay events, reconnect.

Runs as one async worker on the app's loop, around the protocol's
:class:`console.control.client.AsyncClient` (no second client is written here). Why
it is shaped this way:

- it never gives up: when the daemon is not there, refuses the token, or
  goes away, the app is told plainly (:class:`Disconnected`) and the link
  tries again, soon at first and then every ``retry_max_s``;
- it asks for meters at the protocol's top rate: the server sends a snapshot
  only when a new one exists (about 30 a second), so a faster subscription
  only means each one arrives sooner, never more traffic;
- a UI that goes away just closes its socket: the daemon drops its
  subscriptions and nothing else changes, so quitting never disturbs audio;
- MIDI learn waits up to half a minute for a control to move, and the
  server answers one connection's requests in order, so learn runs on a
  connection of its own and the keys keep working meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from textual.message import Message

from console.control.async_client import AsyncClient
from console.control.client import ConnectionLostError
from console.control.wire import ProtocolError
from console.ui.messages import (
    Connected,
    Disconnected,
    MetersFrame,
    ParamsChanged,
    SessionListed,
    StateChanged,
    SurfacesListed,
)
from dsp.errors import MasterdeckError

METER_RATE_HZ = 60.0
"""The most the protocol allows; the daemon publishes about 30 snapshots a second."""
CHANGE_RATE_HZ = 60.0
"""Parameter and state events: a knob turned on a surface shows within 17 ms."""
LEARN_GRACE_S = 5.0


class NotConnectedError(MasterdeckError):
    """A request while the daemon is away (the banner already says so)."""


class Link:
    """Keep one connection to the daemon alive and post what it says to ``post``.

    Parameters
    ----------
    post : callable
        Where messages go (the app's ``post_message``).
    socket_path, connect, token :
        Where the daemon is, as :class:`console.control.client.AsyncClient` takes them.
    retry_s, retry_max_s : float
        First and longest wait between attempts to reconnect.
    """

    def __init__(self, post: Callable[[Message], Any], socket_path: str | None = None,
                 connect: str | None = None, token: str | None = None,
                 retry_s: float = 0.25, retry_max_s: float = 2.0) -> None:
        self.post = post
        self.socket_path, self.connect, self.token = socket_path, connect, token
        self.retry_s, self.retry_max_s = retry_s, retry_max_s
        self.client: AsyncClient | None = None
        self.where = connect or socket_path or "the default socket"
        self.attempts = 0

    async def run(self) -> None:
        """Connect, serve, reconnect; forever (cancel the worker to stop)."""
        wait = self.retry_s
        while True:
            self.attempts += 1
            try:
                client = await AsyncClient.open(self.socket_path, self.connect, self.token)
            except ProtocolError as exc:  # refused: wrong token, other protocol
                wait = self.retry_max_s
                self.post(Disconnected(self.where, f"refused: {exc.message}", wait))
                await asyncio.sleep(wait)
                continue
            except (MasterdeckError, OSError) as exc:
                self.post(Disconnected(self.where, str(exc), wait))
                await asyncio.sleep(wait)
                wait = min(wait * 2, self.retry_max_s)
                continue
            self.where = client.where
            wait = self.retry_s
            problem = await self._serve(client)
            self.post(Disconnected(self.where, problem, wait))
            await asyncio.sleep(wait)

    async def _serve(self, client: AsyncClient) -> str:
        """Subscribe and relay events until the connection ends; return why it ended."""
        self.client = client
        problem = "the daemon closed the connection"
        try:
            status = await client.request("status")
            values = (await client.request("subscribe", topic="params",
                                           rate_hz=CHANGE_RATE_HZ))["current"]
            state = (await client.request("subscribe", topic="state",
                                          rate_hz=CHANGE_RATE_HZ))["current"]
            await client.request("subscribe", topic="meters", rate_hz=METER_RATE_HZ)
            self.post(Connected(client.where, client.hello, status, values, state))
            await self.refresh_surfaces()
            await self.refresh_session()
            async for event in client.events():
                kind, data = event.get("event"), event.get("data") or {}
                if kind == "meters":
                    self.post(MetersFrame(data))
                elif kind == "params":
                    self.post(ParamsChanged(data.get("values") or {}, str(data.get("author"))))
                elif kind == "state":
                    self.post(StateChanged(data.get("values") or {}, str(data.get("author"))))
                elif kind == "closing":
                    problem = f"the daemon closed the connection ({data.get('code')}: " \
                              f"{data.get('message')})"
        except (ConnectionLostError, ProtocolError, OSError) as exc:
            problem = str(exc)
        finally:
            self.client = None
            await client.close()
        return problem

    async def request(self, command: str, **args: Any) -> dict[str, Any]:
        """Send a request on the live connection (NotConnectedError while there is none)."""
        if self.client is None:
            raise NotConnectedError(f"not connected to the daemon at {self.where}")
        return await self.client.request(command, **args)

    async def refresh_surfaces(self) -> None:
        """Ask for the surfaces listing and post it (a daemon without surfaces says so)."""
        try:
            data = (await self.request("surfaces")).get("surfaces")
        except ProtocolError as exc:
            self.post(SurfacesListed(None, exc.message))
        except (NotConnectedError, ConnectionLostError):
            return
        else:
            self.post(SurfacesListed(data))

    async def refresh_session(self) -> None:
        """Ask for the session (album, markers, undo) and post it."""
        try:
            data = (await self.request("session")).get("session")
        except ProtocolError as exc:
            self.post(SessionListed(None, exc.message))
        except (NotConnectedError, ConnectionLostError):
            return
        else:
            self.post(SessionListed(data))

    async def learn(self, param: str, timeout_s: float = 30.0) -> dict[str, Any]:
        """MIDI learn on a connection of its own: return the binding written.

        ProtocolError when no control moved in time or learn was cancelled;
        NoDaemonError / ConnectionLostError when the daemon is away.
        """
        client = await AsyncClient.open(self.socket_path, self.connect, self.token,
                                        name="masterdeck-ui-learn")
        try:
            async with asyncio.timeout(timeout_s + LEARN_GRACE_S):
                reply = await client.request("learn", param=param, timeout_s=timeout_s)
            return reply.get("learned") or {}
        finally:
            await client.close()

    async def cancel_learn(self) -> None:
        """Disarm a learn in progress (sent on the main connection, which is free)."""
        with contextlib.suppress(ProtocolError, NotConnectedError, ConnectionLostError):
            await self.request("learn_cancel")
