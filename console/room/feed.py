"""The room's feed: a thread that reads the output ring, encodes Opus once, fans it out.

One encoder serves every listener: four listeners cost one encode, not four.
The thread runs only while someone listens. It wakes every
:data:`POLL_S`, takes what the callback wrote since (see
:mod:`console.room.ring`), resamples to 48 kHz when the engine runs at
another rate, cuts 20 ms frames and encodes them; each packet goes to every
subscriber's ``deliver`` (called on this thread: it must be quick).

For the notes' delay correction it remembers, for the last minute of
frames, which output-ring frame each encoded sample came from
(:meth:`RoomFeed.frame_of`), so a listener's RTP timestamp can be taken back
to what the engine sent then.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

import av
import numpy as np

from console.room import opus
from console.room.ring import OutputRing

log = logging.getLogger(__name__)

POLL_S = 0.005
"""How often the ring is read: well under one Opus frame (20 ms)."""
MAP_S = 60.0
"""How long the sample-to-frame map reaches back (a note's mark is resolved at once)."""

Deliver = Callable[[av.Packet], None]


class RoomFeed:
    """Encode what the engine sends to the device, for every listener at once.

    Parameters
    ----------
    ring : OutputRing
        The engine's output ring.
    bitrate_kbps : int
        Opus bitrate (constant), 256 to 510.
    """

    def __init__(self, ring: OutputRing, bitrate_kbps: int = opus.MIN_BITRATE_KBPS) -> None:
        self.ring = ring
        self.bitrate_kbps = bitrate_kbps
        opus.OpusEncoder(bitrate_kbps)  # refuse a bad bitrate now, not on the thread
        self._subscribers: dict[int, Deliver] = {}
        self._next_id = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._map: collections.deque[tuple[int, int]] = collections.deque(
            maxlen=int(MAP_S * opus.RATE / opus.FRAME))
        """(first sample of a 20 ms frame, the ring frame it came from), oldest first."""
        self.packets = 0
        self.bytes = 0
        self.skipped_frames = 0
        """Ring frames never encoded because the thread fell a whole ring behind."""
        self.last_poll: tuple[float, int] = (0.0, 0)
        """(time.time(), frames written) at the latest read of the ring."""

    # subscribers ----------------------------------------------------------------------
    def subscribe(self, deliver: Deliver) -> Callable[[], None]:
        """Send every packet from now on to ``deliver``; return the function that stops it."""
        with self._lock:
            self._next_id += 1
            key = self._next_id
            self._subscribers[key] = deliver
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="room-feed",
                                                daemon=True)
                self._thread.start()
        return lambda: self._unsubscribe(key)

    def _unsubscribe(self, key: int) -> None:
        with self._lock:
            self._subscribers.pop(key, None)
            if not self._subscribers:
                self._stop.set()

    def stop(self) -> None:
        """Drop every subscriber and end the thread."""
        with self._lock:
            self._subscribers.clear()
            self._stop.set()
            thread = self._thread
        if thread is not None:
            thread.join(2.0)

    @property
    def running(self) -> bool:
        """Whether the thread is encoding (someone listens)."""
        return self._thread is not None and self._thread.is_alive()

    # the map back to the engine --------------------------------------------------------
    def frame_of(self, sample: int) -> int | None:
        """The output-ring frame that 48 kHz sample ``sample`` of the stream came from.

        None when it is older than the map (a minute) or not encoded yet.
        """
        entries = self._map
        if not entries:
            return None
        try:
            first, last = entries[0], entries[-1]
        except IndexError:
            return None
        if not first[0] <= sample < last[0] + opus.FRAME:
            return None
        k = min((sample - first[0]) // opus.FRAME, len(entries) - 1)
        while k > 0 and entries[k][0] > sample:  # frames skipped after a fall-behind
            k -= 1
        start, frame = entries[k]
        return frame + round((sample - start) * self.ring.sample_rate / opus.RATE)

    # the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        encoder = opus.OpusEncoder(self.bitrate_kbps)
        rate = self.ring.sample_rate
        resampler = None
        if rate != opus.RATE:
            import soxr

            resampler = soxr.ResampleStream(rate, opus.RATE, 2, dtype="float32")
        position = self.ring.written()
        sample = 0  # the next 48 kHz sample to encode
        pending = np.zeros((0, 2), dtype=np.float32)
        pending_frame = position  # the ring frame of pending[0]
        self._map.clear()
        log.info("room: encoding Opus at %d kb/s", self.bitrate_kbps)
        while not self._stop.wait(POLL_S):
            written = self.ring.written()
            self.last_poll = (time.time(), written)
            if written - position > self.ring.size - 4096:  # fell behind: start from now
                self.skipped_frames += written - position
                position = pending_frame = written
                pending = pending[:0]
                continue
            if written <= position:
                continue
            block = self.ring.read(position, written - position)
            if block is None:
                position = pending_frame = self.ring.written()
                pending = pending[:0]
                continue
            position = written
            if resampler is not None:
                block = resampler.resample_chunk(block)
            pending = np.concatenate([pending, block]) if len(pending) else block
            while len(pending) >= opus.FRAME:
                frame, pending = pending[:opus.FRAME], pending[opus.FRAME:]
                self._map.append((sample, pending_frame))
                pending_frame += round(opus.FRAME * rate / opus.RATE)
                for packet in encoder.encode(frame, sample):
                    self._send(packet)
                sample += opus.FRAME
        log.info("room: encoder stopped (%d packets, %d bytes)", self.packets, self.bytes)

    def _send(self, packet: av.Packet) -> None:
        self.packets += 1
        self.bytes += packet.size
        with self._lock:
            subscribers = list(self._subscribers.values())
        for deliver in subscribers:
            try:
                deliver(packet)
            except Exception:  # one broken listener must not silence the others
                log.exception("room: a listener's delivery failed")
