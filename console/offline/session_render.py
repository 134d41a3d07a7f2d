"""Offline render of a session's songs, with their settings, level offset, fades and automation.

The song is decoded exactly as the live console decodes it (same resampler,
at the session's sample rate), and every block goes through the same
compiled function the audio callback runs (:func:`dsp.automation.process`,
through the one render loop :func:`console.offline.render.master_to_file`):
the chain with the lanes evaluated at each sample's song position. Positions
are counted from 0, so the result is what playing the song from the start
sounded like live, whatever block size either used.

The session is read as it is on disk *including its journal*, so a render
made while the daemon runs has every change up to the last flush. Nothing in
the session folder is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from console.automation.lanes import value_at
from console.engine.tracks import load_track
from console.offline.audiofile import output_format
from console.offline.render import BLOCK, Mastering, Reader, db, master_to_file
from console.session.errors import SessionError
from console.session.model import Session, Song
from console.session.store import SessionStore
from dsp import automation as K
from dsp import params as P


def open_for_render(folder: str | Path) -> Session:
    """Read a session for rendering (with its journal; nothing is written or locked)."""
    store = SessionStore(folder, lock=False)
    if not store.path.exists() and not store.backups():
        raise SessionError(f"{store.folder}: not a session folder (no session.toml)")
    return store.load().session


def audio_file(folder: str | Path, file: str) -> Path:
    """A song's file as the session stores it (relative to its folder), made absolute."""
    path = Path(file)
    return path if path.is_absolute() else Path(folder).resolve() / path


def reader(audio: np.ndarray) -> Reader:
    """Reads ``audio`` (frames, 2) from its start, a block at a time, for the render loop."""
    at = 0

    def read(into: np.ndarray) -> int:
        nonlocal at
        got = min(into.shape[0], audio.shape[0] - at)
        into[:got] = audio[at:at + got]
        at += got
        return got

    return read


def prepare(song: Song, session: Session, rate: int | None = None) -> Mastering:
    """The chain set up as the live console has it at the song's start (at ``rate``).

    The song's settings are set without a glide (as for a plain file), and
    every automated parameter starts at its lane's first value (as it sits
    when the song is located to 0 before playing); the level offset and the
    fades come from the level plan. ``rate`` is the session's unless given
    (album mode builds it at the console's).
    """
    mastering = Mastering.plain(rate or session.sample_rate, song.settings)
    chain, ctl = mastering.chain, mastering.ctl
    for param_id, lane in song.automation.lanes.items():
        mode = lane.mode or session.automation_mode
        if lane.points and mode != "off":
            p = P.index(param_id)
            ctl[K.CTL_MODE + p] = K.M_LANE
            chain.current[p] = value_at(param_id, lane.points, 0.0)
    rate = chain.sample_rate
    ctl[K.CTL_BIAS + P.OUTPUT_GAIN] = song.level_offset_db
    chain.current[P.OUTPUT_GAIN] += song.level_offset_db
    ctl[K.CTL_FADE_IN] = round(song.fade_in_s * rate)
    ctl[K.CTL_FADE_OUT] = round(song.fade_out_s * rate)
    mastering.lanes = song.automation.packed()
    return mastering


def render_song(folder: str | Path, number: int, out: str | Path, bit_depth: str = "24",
                block: int = BLOCK, session: Session | None = None,
                progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Render song ``number`` (from 1) of the session in ``folder`` to ``out``; a report."""
    output_format(out, bit_depth)  # refuse a bad OUT before any work
    session = session or open_for_render(folder)
    song = session.song_at(number)
    started = time.perf_counter()
    rate = session.sample_rate
    audio = load_track(audio_file(folder, song.file), rate, song.title).audio
    frames = audio.shape[0]
    mastering = prepare(song, session)
    done = master_to_file(reader(audio), frames, mastering, out, bit_depth, progress, block)
    elapsed = time.perf_counter() - started
    return {"song": song.id, "number": number, "title": song.title, "output": str(out),
            "sample_rate": rate, "frames": frames, "duration_s": round(frames / rate, 6),
            "bit_depth": bit_depth, "lanes": sorted(song.automation.lanes),
            "level_offset_db": song.level_offset_db, "gap_s": song.gap_s,
            "peak_dbfs": db(done.output_peak), "true_peak_dbtp": db(done.output_true_peak),
            "max_limiter_gr_db": round(done.max_limiter_gr_db, 3),
            "elapsed_s": round(elapsed, 3), "guard_trips": done.guard_trips}


def render_all(folder: str | Path, outdir: str | Path, bit_depth: str = "24",
               extension: str = "wav") -> list[dict[str, Any]]:
    """Render every song to ``outdir/NN-<id>.<extension>``, in album order."""
    session = open_for_render(folder)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    return [render_song(folder, k, out / f"{k:02d}-{song.id}.{extension}", bit_depth,
                        session=session)
            for k, song in enumerate(session.songs, start=1)]
