"""The demo session: the demo album as a masterdeck session, so every screen has something.

Four songs in album order with a level plan (the ballad 2 dB down, the
electronic closer half a dB), gaps and fades, each song's own settings on a
gentle master, markers with the engineer's and the client's notes,
snapshots, a client reference, and an opener whose automation makes it grow
from soft to loud (output gain and limiter drive rising over the song).

The session is built through the session model (:meth:`Session.apply`, the
operations a live console journals) and written by
:class:`~console.session.store.SessionStore`, so it is exactly what the
daemon would have saved, in whatever format the code writes today. Building
is idempotent: the songs are written once (:func:`~console.devtools.demo_album.ensure_album`),
and the session folder is made afresh on every build, so each demo starts
from the same album. A folder that holds anything but the demo session is
never touched.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.devtools.demo_album import SONGS, ensure_album
from console.session.errors import SessionError
from console.session.model import Session
from console.session.store import SESSION_FILE, SessionStore
from dsp import params as P

TITLE = "Night Shift (masterdeck demo)"
"""The demo album's title; a session folder with another title is not the demo's."""
SESSION_DIR = "session"
MIXES_DIR = "mixes"

GENTLE_MASTER = {
    "eq.band1.type": "high_pass", "eq.band1.freq_hz": 28.0,
    "eq.band2.gain_db": -1.5, "eq.band2.freq_hz": 280.0,
    "eq.band5.gain_db": 1.5, "eq.band5.freq_hz": 11000.0,
    "comp.bypass": "off", "comp.threshold_db": -22.0, "comp.ratio": 2.0,
    "comp.attack_ms": 20.0, "comp.release_ms": 200.0, "comp.sc_hpf_hz": 90.0,
    "stereo.bass_mono": "on", "stereo.bass_mono_hz": 110.0,
    "limiter.drive_db": 4.0, "limiter.ceiling_dbtp": -1.0,
}
"""Every song starts from this: rumble filter, a little glue, bass to the centre, 4 dB of drive."""


@dataclass(frozen=True)
class PlannedSong:
    """One song's place on the album and what the engineer did to it."""

    id: str
    level_offset_db: float
    gap_s: float
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    """On top of :data:`GENTLE_MASTER`."""
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    markers: tuple[tuple[float, str, str], ...] = ()
    """(seconds, name, note)."""
    lanes: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    """Automation: parameter id -> (seconds, value) breakpoints."""


PLAN = (
    PlannedSong(
        "rising-tide", level_offset_db=0.0, gap_s=0.0, fade_in_s=0.5,
        settings={"exciter.bypass": "off", "exciter.amount_pct": 25.0},
        markers=((1.0, "intro", "soft on purpose: the automation brings it up"),
                 (16.0, "band in", "chorus lifts here"),
                 (24.0, "full level", "client: wants it this loud by here")),
        lanes={"output.gain_db": ((0.0, -12.0), (3.0, -12.0), (16.0, -5.0), (24.0, 0.0)),
               "limiter.drive_db": ((0.0, 1.0), (16.0, 2.5), (24.0, 6.0))}),
    PlannedSong(
        "engine-room", level_offset_db=0.0, gap_s=1.0,
        settings={"comp.threshold_db": -17.0, "comp.ratio": 2.5, "exciter.bypass": "off",
                  "exciter.amount_pct": 30.0, "exciter.mix_pct": 20.0, "limiter.drive_db": 5.0},
        snapshots={"A": {"limiter.drive_db": 5.0}, "B": {"limiter.drive_db": 8.0,
                                                          "comp.ratio": 3.0}},
        markers=((8.5, "chorus", "chorus lifts here"),
                 (13.0, "bridge", "client: vocal a touch loud"))),
    PlannedSong(
        "slow-light", level_offset_db=-2.0, gap_s=2.5, fade_out_s=3.0,
        settings={"comp.threshold_db": -26.0, "comp.ratio": 1.5, "limiter.drive_db": 2.0,
                  "stereo.width_pct": 110.0},
        markers=((5.0, "verse", "client: vocal a touch loud; try -0.5 dB at 2.5 kHz"),
                 (12.0, "chorus", "chorus lifts here: let it breathe, less limiting")),
        lanes={"eq.band5.gain_db": ((0.0, 1.0), (11.0, 1.0), (13.0, 2.5))}),
    PlannedSong(
        "undertow", level_offset_db=-0.5, gap_s=2.0, fade_out_s=4.0,
        settings={"eq.band1.freq_hz": 25.0, "stereo.bass_mono_hz": 140.0,
                  "limiter.drive_db": 5.0},
        markers=((0.5, "drop", "sub bass: check it on small speakers"),
                 (16.0, "outro", "a long fade into the silence after the album"))),
)
"""The album in order: level plan, gaps, fades, settings, snapshots, markers, automation."""


@dataclass(frozen=True)
class DemoSession:
    """Where :func:`build` put things."""

    root: Path
    folder: Path
    """The session folder (``serve --session`` it)."""
    songs: list[Path]
    """The audio files: the album in order, then the reference."""


def operations(files: dict[str, str], sample_rate: int) -> Iterator[dict[str, Any]]:
    """The session operations that make the demo album, songs at ``files`` (id -> path)."""
    yield {"op": "album", "title": TITLE}
    yield {"op": "automation", "mode": "read"}
    titles = {song.id: song.title for song in SONGS}
    for plan in PLAN:
        yield {"op": "song_add", "song": {"id": plan.id, "title": titles[plan.id],
                                          "file": files[plan.id]}}
        yield {"op": "song_set", "id": plan.id, "fields": {
            "level_offset_db": plan.level_offset_db, "gap_s": plan.gap_s,
            "fade_in_s": plan.fade_in_s, "fade_out_s": plan.fade_out_s}}
        settings = {**GENTLE_MASTER, **plan.settings}
        yield {"op": "params", "id": plan.id, "values": _numbers(settings)}
        for slot, values in plan.snapshots.items():
            yield {"op": "snapshot", "id": plan.id, "slot": slot,
                   "values": _numbers({**settings, **values})}
        for seconds, name, note in plan.markers:
            yield {"op": "marker_add", "id": plan.id,
                   "marker": {"position_s": seconds, "name": name, "note": note}}
        for param, points in plan.lanes.items():
            yield {"op": "lane", "id": plan.id, "param": param,
                   "points": [[round(t * sample_rate), v] for t, v in points]}
    reference = next(song for song in SONGS if song.reference)
    yield {"op": "ref_add", "ref": {"id": reference.id, "title": reference.title,
                                    "file": files[reference.id]}}
    yield {"op": "ref_current", "id": reference.id}
    yield {"op": "current", "id": PLAN[0].id}


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    """Parameter values as numbers (``"off"``, ``"high_pass"`` read as the console reads them)."""
    return {k: P.get(k).parse(v) if isinstance(v, str) else float(v) for k, v in values.items()}


def demo_session(files: dict[str, str], sample_rate: int = 48000) -> Session:
    """The demo album as a session (in memory), songs at ``files`` (id -> path)."""
    session = Session(sample_rate=sample_rate)
    for op in operations(files, sample_rate):
        session.apply(op)
    return session


def build(root: str | Path, sample_rate: int = 48000) -> DemoSession:
    """Write the songs (once) under ``root/mixes`` and a fresh session in ``root/session``.

    Raises SessionError when the session folder is open in a running daemon
    (another demo), or holds something other than the demo session.
    """
    root = Path(root).resolve()
    songs = ensure_album(root / MIXES_DIR)
    folder = root / SESSION_DIR
    files = {song.id: os.path.relpath(path, folder) for song, path in zip(SONGS, songs,
                                                                         strict=True)}
    session = demo_session(files, sample_rate)
    store = SessionStore(folder)  # the lock: a daemon that has the folder open keeps it
    try:
        _clear(folder)
        store.save(session, 1)
    finally:
        store.close()
    return DemoSession(root, folder, songs)


def _clear(folder: Path) -> None:
    """Empty a previous demo session folder (refusing anything else)."""
    entries = [p for p in folder.iterdir() if p.name != ".lock"]
    if not entries:
        return
    path = folder / SESSION_FILE
    try:
        title = tomllib.loads(path.read_text(encoding="utf-8")).get("title")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        title = None
    if title != TITLE:
        raise SessionError(f"{folder} holds something other than the demo session; it was "
                           "left as it is (give the demo another --folder)")
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
