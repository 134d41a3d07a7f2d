"""One listener: a browser's peer connection, its audio track and its data channel.

The page offers (audio to receive, a data channel named ``room``); the room
answers with the feed's track. From then on everything goes over the data
channel as JSON objects with a ``type``:

from the page
  ``mark`` ``{"mark": N, "rtp": T}``: the client starts a note; ``T`` is the
  RTP timestamp the browser is playing. Resolved at once to the song and
  position heard (:mod:`console.room.notes`) and answered with ``marked``.
  ``note`` ``{"mark": N, "text": "..."}``: the note for that mark; it becomes
  a marker on the session (``noted``, or ``refused`` with the reason).
  ``switch`` ``{"name": "master" | "bypass" | "reference" | "A" | "B"}``:
  only the switches the invite was granted.

to the page
  ``state`` (a few times a second: song, album place, what is heard,
  loudness, the switches granted), ``marked``, ``noted``, ``answer`` (the
  engineer's reply to a note), ``refused``, ``closed`` (revoked, or the room
  stopped: the page says so and hangs up).

Everything here runs on the room's event loop, except what touches the
session or the desk, which goes to a worker thread.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from aiortc import RTCPeerConnection, RTCSessionDescription

from console.room.limits import RequestLimit
from console.room.track import RoomTrack
from dsp.errors import MasterdeckError

if TYPE_CHECKING:
    from console.room.invites import Invite
    from console.room.room import Room

log = logging.getLogger(__name__)

MAX_MESSAGE = 4096
"""Bytes a message from the page may have."""
MAX_NOTE = 1000
"""Characters a note may have."""
MARKS_KEPT = 32
GOODBYE_S = 1.0
"""How long a listener cut off is given to read why before the line drops."""
SWITCHES = {"master": "bypass", "bypass": "bypass", "reference": "reference", "A": "ab",
            "B": "ab"}
"""Switch name -> the grant it needs."""


class Listener:
    """A browser listening in the room, for one invite."""

    def __init__(self, room: Room, invite: Invite, address: str, number: int) -> None:
        self.room = room
        self.invite = invite
        self.name = invite.name
        self.address = address
        self.number = number
        self.connected_since = time.time()
        loop = asyncio.get_running_loop()
        self.pc = RTCPeerConnection(room.ice.aiortc_configuration(invite.name))
        self.track = RoomTrack(loop)
        self.track.sender = self.pc.addTrack(self.track)
        self.channel: Any = None
        self.marks: collections.OrderedDict[int, dict[str, Any]] = collections.OrderedDict()
        self.notes_limit = RequestLimit(rate_per_s=0.5, burst=5.0)
        self.closed = False
        self._unsubscribe: Any = None
        self._tasks: set[asyncio.Future] = set()
        self._channel_closed = asyncio.Event()
        self.pc.on("datachannel", self._on_channel)
        self.pc.on("connectionstatechange", self._on_state)

    async def answer(self, sdp: str, kind: str) -> dict[str, str]:
        """Take the page's offer; return the answer (with every ICE candidate in it)."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self._unsubscribe = self.room.feed.subscribe(self.track.deliver)
        local = self.pc.localDescription
        return {"sdp": local.sdp, "type": local.type}

    def describe(self) -> dict[str, Any]:
        """Name, since when, audio sent (for ``status`` and ``room list``)."""
        return {"name": self.name, "id": self.number, "address": self.address,
                "connected_since": time.strftime("%Y-%m-%dT%H:%M:%S",
                                                 time.localtime(self.connected_since)),
                "seconds": round(time.time() - self.connected_since, 1),
                "audio_bytes_sent": self.track.sent_bytes,
                "audio_packets_sent": self.track.sent_packets,
                "packets_dropped": self.track.dropped,
                "state": self.pc.connectionState}

    # the connection ------------------------------------------------------------------------
    def _on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            self._spawn(self.close("connection " + self.pc.connectionState))

    def _spawn(self, coroutine: Any) -> None:
        """Run ``coroutine`` on the loop, holding on to it until it is done."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, reason: str, code: str = "closed") -> None:
        """Stop the audio and leave the room at once, tell the page why, hang up.

        The page hangs up itself when it reads why, so the goodbye waits for
        the data channel to close (at most ``GOODBYE_S``): a fixed pause was
        too short on a busy machine, and the page then never learnt why.
        """
        if self.closed:
            return
        self.closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.track.stop()
        self.room.forget(self)
        if self.send({"type": "closed", "code": code, "reason": reason}):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._channel_closed.wait(), GOODBYE_S)
        await self.pc.close()
        log.info("room: %s (listener %d) left: %s", self.name, self.number, reason)

    def send(self, message: dict[str, Any]) -> bool:
        """Send a message to the page; False (dropped) while the channel is not open."""
        channel = self.channel
        if channel is None or channel.readyState != "open":
            return False
        try:
            channel.send(json.dumps(message))
        except Exception:  # the transport went away under us: the page is gone
            log.debug("room: listener %d: message dropped", self.number, exc_info=True)
            return False
        return True

    # the data channel ----------------------------------------------------------------------
    def _on_channel(self, channel: Any) -> None:
        self.channel = channel
        channel.on("message", self._on_message)
        channel.on("close", self._on_channel_close)
        channel.on("open", lambda: self.send(self.room.page_state(self)))
        if channel.readyState == "open":
            self.send(self.room.page_state(self))

    def _on_channel_close(self) -> None:
        self._channel_closed.set()
        self._spawn(self.close("the page closed"))

    def _on_message(self, raw: Any) -> None:
        if self.closed:
            return
        try:
            if not isinstance(raw, str) or len(raw) > MAX_MESSAGE:
                raise ValueError("messages are JSON text of 4 KB at most")
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise ValueError("a message is a JSON object")
            kind = message.get("type")
            if kind == "mark":
                self._mark(message)
            elif kind == "note":
                self._spawn(self._note(message))
            elif kind == "switch":
                self._spawn(self._switch(message))
            else:
                raise ValueError(f"unknown message type {kind!r}")
        except (ValueError, TypeError) as exc:
            self.send({"type": "refused", "reason": str(exc)})

    def _mark(self, message: dict[str, Any]) -> None:
        number, rtp = message.get("mark"), message.get("rtp")
        if not isinstance(number, int) or isinstance(number, bool):
            raise ValueError("mark: a mark number is needed")
        if not isinstance(rtp, int) or isinstance(rtp, bool) or not 0 <= rtp < 2**32:
            raise ValueError("mark: rtp must be the RTP timestamp heard (0 .. 2**32-1)")
        heard = self.room.notes.resolve(self.track, rtp)
        self.marks[number] = heard
        while len(self.marks) > MARKS_KEPT:
            self.marks.popitem(last=False)
        self.send({"type": "marked", "mark": number, **heard})

    async def _note(self, message: dict[str, Any]) -> None:
        number, text = message.get("mark"), message.get("text")
        try:
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_NOTE:
                raise ValueError(f"a note is 1 to {MAX_NOTE} characters of text")
            heard = self.marks.get(number) if isinstance(number, int) else None
            if heard is None:
                raise ValueError("note: no such mark (start the note again)")
            if self.notes_limit.allow("notes"):
                raise ValueError("notes: a little slower, please")
            loop = asyncio.get_running_loop()
            placed = await loop.run_in_executor(None, self.room.notes.add, self.name, heard,
                                                text.strip())
        except (ValueError, MasterdeckError) as exc:
            self.send({"type": "refused", "mark": number, "reason": str(exc)})
            return
        self.marks.pop(number, None)
        self.send({"type": "noted", "mark": number, **placed})

    async def _switch(self, message: dict[str, Any]) -> None:
        name = message.get("name")
        try:
            needs = SWITCHES.get(name) if isinstance(name, str) else None
            if needs is None:
                raise ValueError(f"switch: one of {', '.join(SWITCHES)}")
            if needs not in self.invite.grants:
                raise ValueError(f"switch {name}: the engineer has not handed you this switch")
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.room.switch, self.name, name)
        except (ValueError, MasterdeckError) as exc:
            self.send({"type": "refused", "reason": str(exc)})
            return
        self.send(self.room.page_state(self))
