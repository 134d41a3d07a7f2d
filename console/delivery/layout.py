"""Where each file of a target begins and ends on the album timeline, at the target's rate.

The album is rendered once, at the session's rate, with its split points
(each song's first sample). A target at another rate scales them; the CD
also moves each track's start to the nearest 1/75 s sector (the audio stays
where it is: a gapless join is still gapless, its index point moves by at
most 294 samples) and gives track 1 a pregap of at least 2 s; vinyl groups
the songs into sides of about equal length, in album order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from console.delivery.model import RATE as CD_RATE
from console.delivery.model import SECTOR, CdAlbum, CdTrack
from console.offline.album import Placed
from console.session.model import Session

FIRST_PREGAP = 2 * CD_RATE
"""The Red Book's least pregap before track 1: 2 s (150 sectors)."""


@dataclass(frozen=True)
class Span:
    """A stretch of the album timeline that becomes one file."""

    name: str
    start: int
    end: int
    song: int | None
    """The song's number (from 1) for a song's file; None for the album or a side."""
    songs: tuple[int, ...] = ()
    """The songs it holds (a side's)."""

    @property
    def frames(self) -> int:
        """Its length in samples."""
        return self.end - self.start


def scaled(placed: Sequence[Placed], session_rate: int, rate: int) -> list[tuple[int, int]]:
    """Each song's (start, end) at ``rate``."""
    def at(position: int) -> int:
        return round(position * rate / session_rate)

    return [(at(p.start), at(p.end)) for p in placed]


def song_spans(bounds: Sequence[tuple[int, int]], total: int, names: Sequence[str]) -> list[Span]:
    """A file per song: from its start to the next song's start; the last to the album's end.

    The gap after a song is its own. Laid end to end they are the album file,
    sample for sample.
    """
    spans = []
    for k, (start, _end) in enumerate(bounds):
        stop = bounds[k + 1][0] if k + 1 < len(bounds) else total
        spans.append(Span(names[k], start, stop, k + 1, (k + 1,)))
    return spans


def album_span(bounds: Sequence[tuple[int, int]], total: int, name: str) -> Span:
    """The continuous album: from the first song's start to the end."""
    return Span(name, bounds[0][0], total, None, tuple(range(1, len(bounds) + 1)))


def sides(bounds: Sequence[tuple[int, int]], count: int) -> list[list[int]]:
    """The songs (from 1) of each of ``count`` sides, in order, the longest as short as can be.

    Every way of cutting the album is tried: an album has few songs.
    """
    n = len(bounds)
    count = max(1, min(count, n))
    lengths = [end - start for start, end in bounds]

    def cut(from_song: int, left: int) -> tuple[int, list[list[int]]]:
        if left == 1:
            return sum(lengths[from_song:]), [list(range(from_song + 1, n + 1))]
        best: tuple[int, list[list[int]]] | None = None
        for stop in range(from_song + 1, n - left + 2):
            rest, groups = cut(stop, left - 1)
            longest = max(sum(lengths[from_song:stop]), rest)
            if best is None or longest < best[0]:
                best = (longest, [list(range(from_song + 1, stop + 1)), *groups])
        assert best is not None
        return best

    return cut(0, count)[1]


def side_spans(bounds: Sequence[tuple[int, int]], count: int) -> list[Span]:
    """A file per side: from its first song's start to its last song's end."""
    spans = []
    for k, songs in enumerate(sides(bounds, count)):
        letter = chr(ord("A") + k)
        spans.append(Span(f"side-{letter}", bounds[songs[0] - 1][0], bounds[songs[-1] - 1][1],
                          None, tuple(songs)))
    return spans


def cd_program(bounds: Sequence[tuple[int, int]], total: int, session: Session
               ) -> tuple[int, CdAlbum]:
    """The CD: the silence put before the album (for the 2 s first pregap), and its PQ data.

    The program is that silence, then the album from its sample 0. ``bounds``
    are at 44.1 kHz. Track k starts at its song's start moved to the nearest
    sector; its pregap (INDEX 00) is the silence before it back to the
    previous song's end (sector-aligned), none where songs join.
    """
    lead = max(FIRST_PREGAP - bounds[0][0], 0)
    lead += (-(bounds[0][0] + lead)) % SECTOR  # track 1 on a sector boundary too

    def sector(position: int) -> int:
        return round(position / SECTOR) * SECTOR

    tracks = []
    previous_end = 0
    for k, ((start, end), song) in enumerate(zip(bounds, session.songs, strict=True)):
        begin = sector(start + lead) if k else start + lead
        pregap = begin - (0 if k == 0 else min(max(sector(previous_end + lead), 0), begin))
        tracks.append(CdTrack(number=k + 1, title=song.title,
                              performer=song.performer or session.performer,
                              isrc=song.isrc, start=begin, pregap=pregap))
        previous_end = end
    frames = total + lead
    frames += (-frames) % SECTOR
    return lead, CdAlbum(title=session.title, performer=session.performer, upc=session.upc,
                         tracks=tuple(tracks), frames=frames)
