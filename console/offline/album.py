"""The album on one timeline: every song mastered through its own chain, then placed.

Song k starts after its gap (silence), or, when it has a crossfade, that long
before the previous song ends, the two mixed with equal-power gains over the
overlap. Each song is mastered on its own exactly as ``render --session
--song`` masters it (its settings, automation, level offset and fades, from a
fresh chain), so the album is the songs mastered apart and then placed:
gapless where the gap is 0 (the last sample of one song, then the first of
the next), and a crossfade is the two masters mixed, each through its own
chain.

Positions are samples at the session's rate. The first song's gap is silence
at the album's start (a CD's first pregap, say); its crossfade means nothing
(there is no song before it) and is ignored. The album file is dithered once,
on the finished timeline, per the first song's ``output.dither`` and
``output.dither_rest``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from console.engine.tracks import load_track
from console.offline.audiofile import atomic_writer, output_format
from console.offline.platforms import preview
from console.offline.render import BLOCK, Output, master
from console.offline.session_render import audio_file, open_for_render, prepare, reader
from console.session.errors import SessionError
from console.session.model import Session, Song
from dsp.meter import LoudnessMeter

DECIMALS = 2
"""Loudness figures are reported to 0.01 LU, as meters show them."""
SHAPE_S = 1.0
"""The arc's short-term loudness is kept once a second of each song."""


@dataclass(frozen=True)
class Placed:
    """Where one song sits on the album timeline (samples)."""

    number: int
    id: str
    title: str
    start: int
    frames: int
    gap: int
    """Silence before it (0 where it crossfades)."""
    crossfade: int
    """How long it overlaps the song before it (0: none)."""
    level_offset_db: float
    """Its place in the level plan (in its master already)."""

    @property
    def end(self) -> int:
        """The first sample after it."""
        return self.start + self.frames


def equal_power(frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The gains of a crossfade ``frames`` long: (outgoing, incoming), as columns.

    Sample i of the overlap has the incoming song at sin(pi/2 i/frames) and
    the outgoing one at cos(pi/2 i/frames): their powers sum to one.
    """
    turn = 0.5 * math.pi * np.arange(frames) / max(frames, 1)
    return np.cos(turn)[:, None], np.sin(turn)[:, None]


def _frames(seconds: float, rate: int) -> int:
    return round(seconds * rate)


def placement(songs: Sequence[Song], lengths: Sequence[int], rate: int) -> list[Placed]:
    """Where the first ``len(lengths)`` songs sit on the album timeline (``lengths`` in samples).

    Song k starts after its gap, or its crossfade before the previous song
    ends. Raises SessionError for a crossfade longer than either song it
    joins (checked for each song placed, against the song after it too).
    """
    placed: list[Placed] = []
    end = 0
    for k, (song, frames) in enumerate(zip(songs, lengths, strict=False)):
        crossfade = _frames(song.crossfade_s, rate) if k else 0
        if crossfade > frames:
            raise SessionError(f"song {k + 1} {song.title!r}: its crossfade "
                               f"({song.crossfade_s:g} s) is longer than the song")
        following = songs[k + 1] if k + 1 < len(songs) else None
        if following is not None and _frames(following.crossfade_s, rate) > frames - crossfade:
            raise SessionError(f"song {k + 2} {following.title!r}: its crossfade "
                               f"({following.crossfade_s:g} s) is longer than the song before")
        gap = 0 if crossfade else _frames(song.gap_s, rate)
        start = end - crossfade + gap
        placed.append(Placed(k + 1, song.id, song.title, start, frames, gap, crossfade,
                             song.level_offset_db))
        end = start + frames
    return placed


def master_song(folder: str | Path, session: Session, song: Song) -> np.ndarray:
    """Song ``song`` mastered through its own chain, as float64 frames (nothing written)."""
    audio = load_track(audio_file(folder, song.file), session.sample_rate, song.title).audio
    frames = audio.shape[0]
    mastered = np.zeros((frames, 2))
    kept_at = 0

    def take(block: np.ndarray) -> None:
        nonlocal kept_at
        mastered[kept_at:kept_at + block.shape[0]] = block
        kept_at += block.shape[0]

    master(reader(audio), frames, prepare(song, session), take)
    return mastered


@dataclass
class Measured:
    """One song's mastered figures, for the album arc."""

    placed: Placed
    integrated_lufs: float | None
    max_short_term_lufs: float | None
    lra_lu: float | None
    true_peak_dbtp: float | None
    short_term_lufs: list[float | None]
    """Short-term loudness (the last 3 s) at the end of each :data:`SHAPE_S` of the song."""


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def _measure(mastered: np.ndarray, rate: int, placed: Placed) -> Measured:
    meter = LoudnessMeter(rate, 2)
    step = round(SHAPE_S * rate)
    shape = []
    for at in range(0, mastered.shape[0], step):
        for part in range(at, min(at + step, mastered.shape[0]), BLOCK):
            meter.process(mastered[part:min(part + BLOCK, at + step)])
        shape.append(_rounded(meter.reading().short_term_lufs))
    reading = meter.reading()
    return Measured(placed, _rounded(reading.integrated_lufs),
                    _rounded(reading.short_term_max_lufs), _rounded(reading.loudness_range_lu),
                    _rounded(reading.true_peak_dbtp), shape)


def assemble(folder: str | Path, session: Session, emit: Callable[[np.ndarray], None],
             progress: Callable[[float], None] | None = None,
             mastered_by: Callable[[Song], np.ndarray] | None = None) -> list[Measured]:
    """Master every song in order and pass the album timeline to ``emit``, start to end.

    ``emit`` gets consecutive pieces of at most :data:`BLOCK` frames (copy
    what you keep). ``mastered_by(song)`` gives a song's master (default:
    :func:`master_song`, here; a delivery passes masters it kept). Raises
    SessionError for an album without songs or a crossfade longer than a song.
    """
    if not session.songs:
        raise SessionError("the album has no songs: add one with 'masterdeck session add'")
    rate = session.sample_rate
    measured: list[Measured] = []
    lengths: list[int] = []
    held: np.ndarray | None = None  # the previous song's end, kept back for a crossfade
    for k, song in enumerate(session.songs):
        mastered = (mastered_by(song) if mastered_by is not None
                    else master_song(folder, session, song))
        lengths.append(mastered.shape[0])
        placed = placement(session.songs, lengths, rate)[k]
        if placed.crossfade:
            assert held is not None  # the previous song kept its end back
            fade_out, fade_in = equal_power(placed.crossfade)
            _pieces(emit, held * fade_out + mastered[:placed.crossfade] * fade_in)
        else:
            _pieces(emit, None, silence=placed.gap)
        following = session.songs[k + 1] if k + 1 < len(session.songs) else None
        kept_back = _frames(following.crossfade_s, rate) if following is not None else 0
        body = mastered[placed.crossfade:]
        _pieces(emit, body[:body.shape[0] - kept_back])
        held = body[body.shape[0] - kept_back:].copy() if kept_back else None
        measured.append(_measure(mastered, rate, placed))
        if progress is not None:
            progress((k + 1) / len(session.songs))
    return measured


def _pieces(emit: Callable[[np.ndarray], None], audio: np.ndarray | None,
            silence: int = 0) -> None:
    """``audio`` (or ``silence`` frames of zeros) to ``emit`` in pieces of at most BLOCK."""
    if audio is None:
        zeros = np.zeros((min(silence, BLOCK), 2))
        for at in range(0, silence, BLOCK):
            emit(zeros[:min(BLOCK, silence - at)])
        return
    for at in range(0, audio.shape[0], BLOCK):
        emit(np.ascontiguousarray(audio[at:at + BLOCK]))


def arc_of(measured: Sequence[Measured], album: LoudnessMeter, rate: int) -> dict[str, Any]:
    """The album arc as plain data (``masterdeck album --json``), but the platforms."""
    songs = []
    before: float | None = None
    for m in measured:
        change = (None if m.integrated_lufs is None or before is None
                  else round(m.integrated_lufs - before, DECIMALS))
        songs.append({"number": m.placed.number, "id": m.placed.id, "title": m.placed.title,
                      "start_s": round(m.placed.start / rate, 6),
                      "length_s": round(m.placed.frames / rate, 6),
                      "start": m.placed.start, "frames": m.placed.frames,
                      "gap_s": round(m.placed.gap / rate, 6),
                      "crossfade_s": round(m.placed.crossfade / rate, 6),
                      "level_offset_db": m.placed.level_offset_db,
                      "integrated_lufs": m.integrated_lufs,
                      "max_short_term_lufs": m.max_short_term_lufs, "lra_lu": m.lra_lu,
                      "true_peak_dbtp": m.true_peak_dbtp, "change_lu": change,
                      "short_term_lufs": m.short_term_lufs})
        before = m.integrated_lufs if m.integrated_lufs is not None else before
    reading = album.reading()
    length = measured[-1].placed.end if measured else 0
    return {"songs": songs,
            "album": {"integrated_lufs": _rounded(reading.integrated_lufs),
                      "lra_lu": _rounded(reading.loudness_range_lu),
                      "true_peak_dbtp": _rounded(reading.true_peak_dbtp),
                      "length_s": round(length / rate, 6), "frames": length}}


def measure_album(folder: str | Path, session: Session | None = None,
                  progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """The album arc of the session in ``folder``: each song mastered and measured, the whole."""
    session = session or open_for_render(folder)
    album = LoudnessMeter(session.sample_rate, 2)
    measured = assemble(folder, session, album.process, progress)
    arc = arc_of(measured, album, session.sample_rate)
    arc["platforms"] = preview(arc["songs"], arc["album"])
    return arc


def render_album(folder: str | Path, out: str | Path, bit_depth: str = "24",
                 session: Session | None = None,
                 progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Render the album timeline of the session in ``folder`` to one file ``out``; a report.

    The report is the album arc plus where each song starts in the file
    (``start``, in samples: the split points) and what was written.
    """
    output_format(out, bit_depth)  # refuse a bad OUT before any work
    session = session or open_for_render(folder)
    if not session.songs:
        raise SessionError("the album has no songs: add one with 'masterdeck session add'")
    started = time.perf_counter()
    rate = session.sample_rate
    first = session.songs[0].values()
    dither_mode = int(first["output.dither"])
    album = LoudnessMeter(rate, 2)
    with atomic_writer(out, rate, 2, bit_depth) as sink:
        output = Output(sink, rate, bit_depth, dither_mode, BLOCK,
                        first["output.dither_rest"] > 0.5)

        def emit(piece: np.ndarray) -> None:
            output(piece)
            album.process(piece, true_peak=False)  # the output side meters true peak

        measured = assemble(folder, session, emit, progress)
    arc = arc_of(measured, album, rate)
    true_peak = output.true_peak()
    arc["album"]["true_peak_dbtp"] = (_rounded(20.0 * math.log10(true_peak))
                                      if true_peak > 0.0 else None)
    arc["platforms"] = preview(arc["songs"], arc["album"])
    return {"output": str(out), "sample_rate": rate, "bit_depth": bit_depth,
            "elapsed_s": round(time.perf_counter() - started, 3), **arc}

