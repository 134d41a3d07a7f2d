"""The album timeline as the audio callback plays it: every song, placed, with its settings.

Built on the control side (by :mod:`console.session.album_mode`) and handed to
:meth:`console.engine.stream.Engine.play_album`, which swaps its index in
like a song (double-buffered). Everything the index points to is kept
alive here; a song's arrays are the ones a render uses
(:func:`console.offline.session_render.prepare`), so the album plays as it
renders.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from console.engine import albumplay as A

_serials = itertools.count(1)


@dataclass
class TimelineSong:
    """One song on the album timeline, with everything its chain needs."""

    id: str
    title: str
    audio: np.ndarray
    """float32, (frames, 2), C-contiguous, at the engine's rate."""
    values: np.ndarray
    """Its settings: what the chain glides to where no lane plays."""
    current: np.ndarray
    """The chain's values at the song's first sample (lanes' first values, the level offset)."""
    ctl: np.ndarray
    """The automation kernel's control array: lane modes, level offset, fades, length."""
    lanes: np.ndarray
    start: int
    """Its first sample on the album timeline."""
    crossfade: int
    """How long it overlaps the song before it."""
    gains: np.ndarray
    """The crossfade's gains, (crossfade, 2): outgoing, incoming ((1, 2) without one)."""
    serial: int = field(default_factory=lambda: next(_serials))

    @property
    def frames(self) -> int:
        """Its length in samples."""
        return int(self.audio.shape[0])

    @property
    def end(self) -> int:
        """The album sample after its last."""
        return self.start + self.frames


class Timeline:
    """The album index the callback reads, and the songs it points to."""

    def __init__(self, songs: Sequence[TimelineSong], sample_rate: int) -> None:
        self.songs = list(songs)
        self.sample_rate = sample_rate
        self.index = np.zeros((len(self.songs), A.COLS), dtype=np.int64)
        for row, song in enumerate(self.songs):
            for array in (song.audio, song.values, song.current, song.ctl, song.lanes,
                          song.gains):
                if not array.flags.c_contiguous:
                    raise ValueError("timeline arrays must be C-contiguous")
            self.index[row] = _row(song)

    @property
    def frames(self) -> int:
        """The album's length in samples."""
        return self.songs[-1].end if self.songs else 0

    def row_of(self, song_id: str) -> int:
        """The row of the song with ``song_id``; ValueError if it is not on the album."""
        for row, song in enumerate(self.songs):
            if song.id == song_id:
                return row
        raise ValueError(f"song {song_id!r} is not on the album timeline")

    def heard_at(self, position: int) -> int:
        """The row of the song heard at ``position``.

        The later one in a crossfade; in a gap, the one that comes next; past the end, the last.
        """
        for row, song in enumerate(self.songs):
            if position < song.end:
                following = self.songs[row + 1] if row + 1 < len(self.songs) else None
                if following is not None and position >= following.start:
                    return row + 1
                return row
        return len(self.songs) - 1

    def with_lanes(self, row: int, lanes: np.ndarray) -> Timeline:
        """The same timeline with song ``row``'s lanes replaced (the voices keep playing it)."""
        songs = list(self.songs)
        old = songs[row]
        songs[row] = TimelineSong(old.id, old.title, old.audio, old.values, old.current,
                                  old.ctl, np.ascontiguousarray(lanes, dtype=np.float64),
                                  old.start, old.crossfade, old.gains, old.serial)
        return Timeline(songs, self.sample_rate)


def _row(song: TimelineSong) -> list[int]:
    row = [0] * A.COLS
    row[A.COL_AUDIO] = song.audio.ctypes.data
    row[A.COL_FRAMES] = song.frames
    row[A.COL_START] = song.start
    row[A.COL_CROSSFADE] = song.crossfade
    row[A.COL_VALUES] = song.values.ctypes.data
    row[A.COL_CURRENT] = song.current.ctypes.data
    row[A.COL_CTL] = song.ctl.ctypes.data
    row[A.COL_LANES] = song.lanes.ctypes.data
    row[A.COL_LANES_SIZE] = song.lanes.shape[0]
    row[A.COL_GAINS] = song.gains.ctypes.data
    row[A.COL_SERIAL] = song.serial
    return row


def empty_index() -> np.ndarray:
    """An album index with no song (the callback's album slots before any album)."""
    return np.zeros((0, A.COLS), dtype=np.int64)
