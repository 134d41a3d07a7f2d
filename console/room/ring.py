"""Read the engine's output ring: what the callback sent to the device, and where it was.

The audio callback copies every block it sends to the device into a ring of
float32 frames and keeps a record per block of the transport (position,
playing, album mode); see ``_room_write`` in :mod:`console.engine.callback`.
Nothing else of the room runs in the callback. This module is the only
reader, and it never writes those arrays (one writer per array).

How a read stays honest without a lock: the callback writes the frames, then
the frame counter. A reader takes the counter, copies, and takes the counter
again: if the callback came round the ring meanwhile (the reader fell
:data:`~console.engine.callback.ROOM_RING_FRAMES` behind), the copy is
refused rather than handed out torn, and the reader skips ahead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from console.engine import callback as cb


@dataclass(frozen=True)
class Heard:
    """Where the transport was when an output frame was heard."""

    position_s: float
    """Song position (album position in album mode), corrected for the chain's latency."""
    playing: bool
    album: bool


class OutputRing:
    """The reader's view of the engine's output ring.

    Parameters
    ----------
    ring : ndarray, shape (frames, 2), float32
        The ring the callback fills (``Engine.room_ring``).
    index : ndarray, float64
        Its counters and block records (``Engine.room_index``).
    sample_rate : int
        The engine's.
    latency : callable, optional
        Returns the chain's latency in samples now: output frame ``f`` is the
        input ``latency`` samples before the transport's position at ``f``.
    """

    def __init__(self, ring: np.ndarray, index: np.ndarray, sample_rate: int,
                 latency=lambda: 0) -> None:
        if ring.dtype != np.float32 or ring.ndim != 2 or ring.shape[1] != 2:
            raise TypeError("the output ring must be float32 of shape (frames, 2)")
        self.ring = ring
        self.index = index
        self.sample_rate = int(sample_rate)
        self.latency = latency
        self.size = ring.shape[0]
        self.records = (index.shape[0] - cb.ROOM_INDEX_HEAD) // cb.ROOM_RECORD

    @classmethod
    def of_engine(cls, engine) -> OutputRing:
        """The ring of a running :class:`~console.engine.stream.Engine`."""
        return cls(engine.room_ring, engine.room_index, engine.sample_rate,
                   lambda: int(engine.ctl[cb.C_LATENCY]))

    def written(self) -> int:
        """Frames the callback has written so far (it only grows)."""
        return int(self.index[cb.I_FRAMES])

    def read(self, start: int, count: int) -> np.ndarray | None:
        """A copy of frames ``start .. start + count``, or None if they are gone or not yet there.

        Gone: the callback has written over them since (the reader fell a
        whole ring behind); the caller then starts again from :meth:`written`.
        """
        if count <= 0 or start < 0 or count > self.size:
            return None
        if start + count > self.written():
            return None
        at = start % self.size
        first = min(count, self.size - at)
        out = np.empty((count, 2), dtype=np.float32)
        out[:first] = self.ring[at:at + first]
        if first < count:
            out[first:] = self.ring[:count - first]
        if self.written() - start > self.size:  # came round while we copied
            return None
        return out

    def heard_at(self, frame: int) -> Heard | None:
        """The transport when output frame ``frame`` went out; None once its record is gone.

        Block records hold the position at each block's end; inside a block
        the position is taken as moving one sample per frame while playing,
        so a locate or a loop's wrap inside the block is placed up to one
        block (5.3 ms at 256 frames) off.
        """
        count = int(self.index[cb.I_RECORDS])
        oldest = max(count - self.records, 0)
        lo, hi = oldest, count  # the first record whose block ends after ``frame``
        while lo < hi:
            mid = (lo + hi) // 2
            if self._field(mid, cb.RC_FRAME_END) > frame:
                hi = mid
            else:
                lo = mid + 1
        if lo >= count:
            return None
        end = self._field(lo, cb.RC_FRAME_END)
        position = self._field(lo, cb.RC_POSITION)
        playing = self._field(lo, cb.RC_PLAYING) > 0.5
        album = self._field(lo, cb.RC_ALBUM) > 0.5
        if int(self.index[cb.I_RECORDS]) - lo > self.records:  # overwritten as we read
            return None
        if lo == oldest and oldest > 0:
            return None  # its block may have begun before the oldest record kept
        if playing:
            position -= end - frame
        position = max(position - self.latency(), 0.0)
        return Heard(position / self.sample_rate, playing, album)

    def _field(self, record: int, field: int) -> float:
        base = cb.ROOM_INDEX_HEAD + (record % self.records) * cb.ROOM_RECORD
        return float(self.index[base + field])
