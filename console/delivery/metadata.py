"""Delivery metadata: a master's tags and loudness, written into its WAV or FLAC.

WAV gets two things, because no one chunk is read by everyone:

- a BWF ``bext`` chunk (:mod:`.bext`, bytes packed by hand since no library
  writes it) with the five EBU Tech 3285 v2 loudness figures, what broadcast
  and archive tools read, and the ISRC in its Description as ``ISRC:<code>``
  (a convention of archives and broadcasters, not a field of the standard);
- an ID3 tag in an ``id3 `` chunk, through mutagen, with the title, artist,
  album, track and the ISRC as ``TSRC``: the machine-readable ISRC that
  taggers, players and mutagen itself read.

The RIFF INFO ``ISRC`` key is never used: in RIFF it means "source" (the
subject's origin), not the recording code, and readers show it as such.

FLAC gets Vorbis comments through mutagen: the usual names (TITLE, ARTIST,
ALBUM, TRACKNUMBER, TRACKTOTAL, ISRC, DATE), the same loudness figures under
names of our own, and ReplayGain track gain and peak, which players act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import soundfile as sf
from mutagen.flac import FLAC
from mutagen.id3 import TALB, TDRC, TIT2, TPE1, TRCK, TSRC
from mutagen.wave import WAVE

from console.delivery import bext
from console.delivery.bext import Loudness
from console.version import version
from dsp.errors import ParameterError

ISRC_PATTERN = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")
"""``CCXXXYYNNNNN``: country, registrant, year, designation; no dashes."""

REPLAYGAIN_REFERENCE_LUFS = -18.0
"""ReplayGain 2.0's reference loudness: track gain = -18 LUFS - integrated."""

LOUDNESS_COMMENTS = ("LOUDNESS_INTEGRATED_LUFS", "LOUDNESS_RANGE_LU", "TRUE_PEAK_DBTP",
                     "MAX_MOMENTARY_LUFS", "MAX_SHORT_TERM_LUFS")
"""The FLAC comments that carry :class:`Loudness`, in its order (two decimals)."""


@dataclass(frozen=True)
class TrackTags:
    """What a listener's player and a distributor read about one track."""

    title: str
    artist: str
    album: str
    track_number: int
    track_total: int
    isrc: str = ""
    """12 characters ``CCXXXYYNNNNN``, or "" for none."""
    date: str = ""
    """Release date, ``yyyy`` or ``yyyy-mm-dd``, or "" for none."""

    def __post_init__(self) -> None:
        if self.isrc and not ISRC_PATTERN.fullmatch(self.isrc):
            raise ParameterError(
                f"ISRC must be 12 characters CCXXXYYNNNNN without dashes, got {self.isrc!r}")
        if not 1 <= self.track_number <= self.track_total:
            raise ParameterError(f"track number must be in 1..{self.track_total}, "
                                 f"got {self.track_number}")
        if self.date and not re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", self.date):
            raise ParameterError(f"date must be yyyy or yyyy-mm-dd, got {self.date!r}")


def _description(tags: TrackTags) -> str:
    """The bext Description: the ISRC first (where tools look for it), then who and what."""
    text = f"{tags.artist} - {tags.title}"
    if tags.isrc:
        text = f"ISRC:{tags.isrc} {text}"
    return text.encode("ascii", "replace").decode("ascii")[:256]


def _coding_history(path: Path) -> str:
    """One EBU R 98 line for the file as it is: PCM, its rate, word length and channels."""
    info = sf.info(str(path))
    bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}.get(
        info.subtype, 0)
    mode = {1: "mono", 2: "stereo"}.get(info.channels, f"{info.channels}ch")
    return f"A=PCM,F={info.samplerate},W={bits},M={mode},T=masterdeck {version()}"


def write_wav(path: Path, tags: TrackTags, loudness: Loudness, *,
              created: datetime | None = None, originator_reference: str = "") -> None:
    """Write ``bext`` (with loudness and ISRC) and an ID3 tag into the WAV at ``path``.

    The audio is not touched: soundfile reads the same samples afterwards.

    Parameters
    ----------
    path : Path
        A PCM WAV already written (by soundfile, say).
    tags : TrackTags
        Title, artist, album, track, ISRC, date.
    loudness : Loudness
        The master's EBU R128 figures, e.g. ``Loudness.from_reading(measure(x, rate))``.
    created : datetime, optional
        OriginationDate and OriginationTime; default now (local time).
    originator_reference : str
        bext OriginatorReference (32 ASCII characters at most; EBU R 99 gives a format).
    """
    path = Path(path)
    when = created or datetime.now()
    bext.write(path, bext.Bext(
        description=_description(tags),
        originator=f"masterdeck {version()}"[:32],
        originator_reference=originator_reference,
        origination_date=when.strftime("%Y-%m-%d"),
        origination_time=when.strftime("%H:%M:%S"),
        loudness=loudness,
        coding_history=_coding_history(path),
    ))
    audio = WAVE(str(path))
    if audio.tags is None:
        audio.add_tags()
    frames = [TIT2(encoding=3, text=[tags.title]), TPE1(encoding=3, text=[tags.artist]),
              TALB(encoding=3, text=[tags.album]),
              TRCK(encoding=3, text=[f"{tags.track_number}/{tags.track_total}"])]
    if tags.isrc:
        frames.append(TSRC(encoding=3, text=[tags.isrc]))
    if tags.date:
        frames.append(TDRC(encoding=3, text=[tags.date]))
    for frame in frames:
        audio.tags.setall(frame.FrameID, [frame])
    audio.save()


def flac_comments(tags: TrackTags, loudness: Loudness) -> dict[str, str]:
    """The Vorbis comments :func:`write_flac` sets (a key with no value is removed)."""
    comments = {"TITLE": tags.title, "ARTIST": tags.artist, "ALBUM": tags.album,
                "TRACKNUMBER": str(tags.track_number), "TRACKTOTAL": str(tags.track_total),
                "ISRC": tags.isrc, "DATE": tags.date}
    for key, value in zip(LOUDNESS_COMMENTS, loudness.values(), strict=True):
        comments[key] = "" if value is None else f"{value:.2f}"
    integrated, peak = loudness.integrated_lufs, loudness.max_true_peak_dbtp
    comments["REPLAYGAIN_TRACK_GAIN"] = (
        "" if integrated is None else f"{REPLAYGAIN_REFERENCE_LUFS - integrated:.2f} dB")
    comments["REPLAYGAIN_TRACK_PEAK"] = "" if peak is None else f"{10 ** (peak / 20):.6f}"
    return comments


def write_flac(path: Path, tags: TrackTags, loudness: Loudness) -> None:
    """Set the track's Vorbis comments in the FLAC at ``path``; other comments stay."""
    audio = FLAC(str(path))
    if audio.tags is None:
        audio.add_tags()
    for key, value in flac_comments(tags, loudness).items():
        if value:
            audio[key] = [value]
        elif key in audio:
            del audio[key]
    audio.save()
