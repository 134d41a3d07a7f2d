"""Red Book rules for a CD master, checked before any file is written.

A plant refuses a master that breaks them, or presses a disc that players
mishandle, so :func:`check` names every broken rule at once and the writers
refuse to start while any of them fails. The rules follow the public
descriptions in ``../shared/reference/delivery-and-platforms.md`` (section 1.8);
passing them is no certification of anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from console.delivery import cdtext
from console.delivery.model import SECTOR, CdAlbum
from dsp.errors import MasterdeckError

SECTORS_PER_SECOND = 75
FIRST_PREGAP_MIN = 2 * SECTORS_PER_SECOND
"""Track 1's INDEX 01 is at least 2 s (150 sectors) into the program."""
PRE2_MAX = 9999
"""The DDPMS PRE2 field that carries track 1's pregap has four digits."""
TRACK_MIN = 4 * SECTORS_PER_SECOND
"""A track (INDEX 01 to the next INDEX 01 or the lead-out) lasts at least 4 s."""
RED_BOOK_74 = 74 * 60 * SECTORS_PER_SECOND
"""The original Red Book capacity; longer discs play on most, not all, players."""
MEDIA_80 = (79 * 60 + 57) * SECTORS_PER_SECOND + 74
"""The lead-out of the longest program 80-minute media hold, 79:57:74."""
ADDRESS_MAX = (99 * 60 + 59) * SECTORS_PER_SECOND + 74
"""The last address a PQ time can hold, 99:59:74: beyond it times wrap."""
CD_TEXT_PACKS_MAX = 256
"""A block's pack sequence number is one byte."""

Severity = Literal["fail", "warn"]
ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}")


@dataclass(frozen=True)
class Problem:
    """One broken rule: which, where (a track number, or None for the disc) and why."""

    rule: str
    track: int | None
    message: str
    severity: Severity

    def __str__(self) -> str:
        where = f"track {self.track}" if self.track is not None else "disc"
        return f"{self.severity}: {self.rule} ({where}): {self.message}"


class RedBookError(MasterdeckError, ValueError):
    """A CD master that breaks a Red Book rule: nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def align(start: int) -> int:
    """The sector boundary nearest to a frame position (half a sector rounds up)."""
    return (start + SECTOR // 2) // SECTOR * SECTOR


def align_down(start: int) -> int:
    """The sector boundary at or before a frame position."""
    return start // SECTOR * SECTOR


def align_up(start: int) -> int:
    """The sector boundary at or after a frame position: where a program's padding ends."""
    return -(-start // SECTOR) * SECTOR


def msf(sectors: int) -> tuple[int, int, int]:
    """Minutes, seconds and frames (1/75 s) of a count of sectors."""
    seconds, frames = divmod(sectors, SECTORS_PER_SECOND)
    minutes, seconds = divmod(seconds, 60)
    return minutes, seconds, frames


def msf_text(sectors: int, sep: str = ":") -> str:
    """``MM:SS:FF`` of a count of sectors (``sep=""`` gives the PQ's ``MMSSFF``)."""
    return sep.join(f"{n:02d}" for n in msf(sectors))


def check(album: CdAlbum) -> list[Problem]:
    """Every Red Book rule the album breaks, failures and warnings, in disc order.

    Rules (``Problem.rule``): ``track-count``, ``track-numbers``,
    ``sector-boundary``, ``first-pregap``, ``index-order``, ``track-length``,
    ``total-length``, ``upc``, ``isrc``, ``cd-text``. Fails: what a plant or
    the PQ address space cannot take. Warns: what plays on most players or is
    probably a typing slip (a UPC's check digit, a repeated ISRC).
    """
    problems = _check_tracks(album)
    if not any(p.rule in ("track-count", "sector-boundary") for p in problems):
        problems += _check_times(album)
    problems += _check_total(album)
    problems += _check_codes(album)
    problems += _check_text(album)
    return problems


def require(album: CdAlbum) -> list[Problem]:
    """Raise :class:`RedBookError` when any rule fails; otherwise return the warnings."""
    problems = check(album)
    failures = [p for p in problems if p.severity == "fail"]
    if failures:
        raise RedBookError(failures)
    return problems


def _fail(rule: str, track: int | None, message: str) -> Problem:
    return Problem(rule, track, message, "fail")


def _warn(rule: str, track: int | None, message: str) -> Problem:
    return Problem(rule, track, message, "warn")


def _check_tracks(album: CdAlbum) -> list[Problem]:
    problems = []
    n = len(album.tracks)
    if not 1 <= n <= 99:
        problems.append(_fail("track-count", None, f"{n} tracks; a CD holds 1 to 99"))
    for i, track in enumerate(album.tracks, start=1):
        if track.number != i:
            problems.append(_fail("track-numbers", track.number,
                                  f"track {i} in order is numbered {track.number}; "
                                  "tracks are numbered 1, 2, 3 ... in order"))
        for name, frames in (("INDEX 01", track.start), ("pregap", track.pregap)):
            if frames % SECTOR:
                problems.append(_fail("sector-boundary", track.number,
                                      f"{name} at frame {frames} is not on a sector "
                                      f"(588 frames); nearest is {align(frames)}"))
    if album.frames % SECTOR:
        problems.append(_fail("sector-boundary", None,
                              f"the lead-out at frame {album.frames} is not on a sector; "
                              f"pad the program to {align_up(album.frames)}"))
    return problems


def _check_times(album: CdAlbum) -> list[Problem]:
    """Index order, the first pregap and track lengths, all in whole sectors."""
    problems = []
    tracks = album.tracks
    first = tracks[0]
    start = first.start // SECTOR
    if start < FIRST_PREGAP_MIN:
        problems.append(_fail("first-pregap", first.number,
                              f"INDEX 01 at {msf_text(start)}; it must be at 00:02:00 or later"))
    elif start > PRE2_MAX:
        problems.append(_fail("first-pregap", first.number,
                              f"a pregap of {start} sectors is more than {PRE2_MAX}"))
    if first.pregap != first.start:
        problems.append(_fail("index-order", first.number,
                              "track 1's INDEX 00 is at 00:00:00: its pregap must equal "
                              f"its start ({first.start} frames), not {first.pregap}"))
    ends = [t.start for t in tracks[1:]] + [album.frames]
    for i, (track, end) in enumerate(zip(tracks, ends, strict=True)):
        index0 = track.start - track.pregap
        if track.pregap < 0 or (i > 0 and index0 <= tracks[i - 1].start):
            problems.append(_fail("index-order", track.number,
                                  f"INDEX 00 at {msf_text(index0 // SECTOR)} is not after "
                                  "the previous track's INDEX 01"))
        length = (end - track.start) // SECTOR
        if length < TRACK_MIN:
            what = "the lead-out" if end == album.frames else "the next INDEX 01"
            problems.append(_fail("track-length", track.number,
                                  f"{msf_text(max(length, 0))} from INDEX 01 to {what}; "
                                  "a track lasts at least 00:04:00"))
    return problems


def _check_total(album: CdAlbum) -> list[Problem]:
    """The lead-out's disc time, from 00:00:00 (track 1's pregap included)."""
    sectors = album.frames // SECTOR
    total = msf_text(sectors)
    if sectors > ADDRESS_MAX:
        return [_fail("total-length", None,
                      f"the lead-out at {total} is past 99:59:74, the last PQ address")]
    if sectors > MEDIA_80:
        return [_warn("total-length", None,
                      f"the lead-out at {total} is past 79:57:74: no 80-minute disc holds it, "
                      "and most plants refuse it")]
    if sectors > RED_BOOK_74:
        return [_warn("total-length", None,
                      f"the lead-out at {total} is past 74:00:00, the original Red Book "
                      "length: ask the plant")]
    return []


def _check_codes(album: CdAlbum) -> list[Problem]:
    problems = []
    upc = album.upc
    if upc and not (len(upc) == 13 and upc.isascii() and upc.isdigit()):
        problems.append(_fail("upc", None, f"UPC/EAN {upc!r} is not 13 digits"))
    elif upc and (digit := _ean_check_digit(upc[:12])) != int(upc[12]):
        problems.append(_warn("upc", None, f"UPC/EAN {upc}'s check digit should be {digit}"))
    seen: dict[str, int] = {}
    for track in album.tracks:
        isrc = track.isrc
        if isrc and not (len(isrc) == 12 and ISRC.fullmatch(isrc)):
            problems.append(_fail("isrc", track.number,
                                  f"ISRC {isrc!r} is not CCXXXYYNNNNN (12 characters, no "
                                  "dashes: country letters, 3 registrant letters or digits, "
                                  "2-digit year, 5-digit number, upper case)"))
        elif isrc in seen:
            problems.append(_warn("isrc", track.number,
                                  f"ISRC {isrc} is also track {seen[isrc]}'s"))
        elif isrc:
            seen[isrc] = track.number
    return problems


def _ean_check_digit(digits: str) -> int:
    """The EAN-13 check digit of 12 digits: weights 1, 3, 1, 3 ... from the left."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return -total % 10


def _check_text(album: CdAlbum) -> list[Problem]:
    """CD-Text is ISO-8859-1 without control characters, at most 256 packs a block."""
    problems = []
    fields = [(None, "album title", album.title), (None, "album performer", album.performer)]
    for track in album.tracks:
        fields += [(track.number, "title", track.title),
                   (track.number, "performer", track.performer)]
    for number, name, text in fields:
        bad = sorted({c for c in text if not _latin1_printable(c)})
        if bad:
            problems.append(_fail("cd-text", number,
                                  f"the {name} {text!r} has {''.join(bad)!r}: CD-Text is "
                                  "ISO-8859-1 (Latin-1) with no control characters"))
    if not problems:
        count = cdtext.count_packs(album)
        if count > CD_TEXT_PACKS_MAX:
            problems.append(_fail("cd-text", None,
                                  f"{count} CD-Text packs; a block holds {CD_TEXT_PACKS_MAX}: "
                                  "shorten titles or performers"))
    if not album.performer and any(t.performer for t in album.tracks):
        problems.append(_warn("cd-text", None,
                              "tracks have performers but the album has none; some "
                              "players show no performer then"))
    return problems


def _latin1_printable(char: str) -> bool:
    code = ord(char)
    return 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF
