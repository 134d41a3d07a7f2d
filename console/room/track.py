"""One listener's audio track: the feed's Opus packets, queued, and the RTP clock behind them.

aiortc's sender calls :meth:`RoomTrack.recv` for the next packet and sends
it as it is, its RTP timestamp being a random origin plus the packet's
``pts``. The queue is short: a listener whose connection stalls loses the
oldest packets rather than hearing the console later and later.

The RTP origin is what maps a browser's report back to the engine: the page
reads the RTP timestamp it is playing (``getSynchronizationSources()``),
minus the origin that is the stream's sample, which the feed maps to an
output-ring frame. aiortc keeps the origin to itself; the sender's last RTP
timestamp (``_RTCRtpSender__rtp_timestamp``, what its RTCP sender reports
carry) belongs to the packet handed out before, whose ``pts`` we know, so
the origin is their difference. :func:`sender_rtp_timestamp` is the one place
that reads it (pinned aiortc 1.16; a test holds it).
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

QUEUE_PACKETS = 8
"""Packets a listener may have waiting (160 ms); older ones are dropped."""


def sender_rtp_timestamp(sender: Any) -> int | None:
    """The RTP timestamp of the last packet ``sender`` sent (None before the first)."""
    value = getattr(sender, "_RTCRtpSender__rtp_timestamp", None)
    packets = getattr(sender, "_RTCRtpSender__packet_count", 0)
    return int(value) if isinstance(value, int) and packets else None


class RoomTrack(MediaStreamTrack):
    """An audio track that plays the room's feed (pre-encoded Opus packets).

    Parameters
    ----------
    loop : asyncio loop
        The loop aiortc runs on; :meth:`deliver` may be called from any thread.
    """

    kind = "audio"

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self._queue: collections.deque[av.Packet] = collections.deque()
        self._ready = asyncio.Event()
        self.sender: Any = None
        """The RTCRtpSender sending this track (set once added to the connection)."""
        self.origin: int | None = None
        """RTP timestamp minus stream sample (mod 2**32), once learned."""
        self.dropped = 0
        self.sent_bytes = 0
        self.sent_packets = 0
        self._last_pts: int | None = None

    def deliver(self, packet: av.Packet) -> None:
        """Queue a packet (from the feed's thread)."""
        self._loop.call_soon_threadsafe(self._put, packet)

    def _put(self, packet: av.Packet) -> None:
        if len(self._queue) >= QUEUE_PACKETS:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(packet)
        self._ready.set()

    async def recv(self) -> av.Packet:
        """The next packet, once the feed has one."""
        self._learn_origin()
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        packet = self._queue.popleft()
        self._last_pts = int(packet.pts)
        self.sent_packets += 1
        self.sent_bytes += packet.size
        return packet

    def stop(self) -> None:
        """End the track (the sender stops asking)."""
        super().stop()
        self._ready.set()

    def _learn_origin(self) -> None:
        if self.origin is not None or self._last_pts is None or self.sender is None:
            return
        sent = sender_rtp_timestamp(self.sender)
        if sent is not None:
            self.origin = (sent - self._last_pts) % 2**32

    def sample_of(self, rtp_timestamp: int, near: int | None = None) -> int | None:
        """The stream sample an RTP timestamp stands for (None before the origin is known).

        RTP timestamps wrap every 2**32 samples (25 hours); the sample
        nearest ``near`` (the latest sent, by default) is taken.
        """
        if self.origin is None:
            return None
        near = self._last_pts if near is None else near
        raw = (int(rtp_timestamp) - self.origin) % 2**32
        if near is None:
            return raw
        turns = round((near - raw) / 2**32)
        return raw + turns * 2**32
