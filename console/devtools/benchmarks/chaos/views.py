"""A session read back as the oracle's keys: from the folder, or from a running daemon.

Only what the chaos driver changes is read: the album's order, current song,
title and automation mode; each song's details, the parameters it sets over
the protocol, its markers, snapshots and one automation lane. Parameters a
MIDI flood moves are left out on purpose (a surface's moves are not
acknowledged to anyone). A key absent from a view means "not there".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console.control.client import Client
from console.devtools.benchmarks.chaos.oracle import UNKNOWN, Key
from console.session.model import Session
from console.session.store import SessionStore
from dsp import params as P

TRACKED_PARAMS = ("input.trim_db", "eq.band2.gain_db", "eq.band3.gain_db", "eq.band4.freq_hz",
                  "comp.threshold_db", "comp.ratio", "stereo.width_pct",
                  "limiter.ceiling_dbtp", "output.gain_db")
"""Parameters the driver sets (none is bound to the knob the MIDI flood turns, CC 16)."""
LANE_PARAM = "limiter.drive_db"
"""The parameter the driver writes lanes for (never set directly, so playback in read
mode cannot move a tracked value)."""
SONG_FIELDS = ("title", "level_offset_db", "gap_s", "fade_in_s", "fade_out_s")
SLOTS = ("A", "B", "C", "D")


def snapshot_key(values: dict[str, float]) -> tuple[tuple[str, float], ...]:
    """A snapshot as the oracle compares it: the tracked parameters' values."""
    return tuple((p, float(values.get(p, P.get(p).default))) for p in TRACKED_PARAMS)


def view_of_session(session: Session) -> dict[Key, Any]:
    """The keys of a session loaded from its folder (snapshot contents included)."""
    view: dict[Key, Any] = {
        ("order",): tuple(s.id for s in session.songs), ("current",): session.current,
        ("album", "title"): session.title, ("album", "performer"): session.performer,
        ("automation_mode",): session.automation_mode}
    for song in session.songs:
        _song(view, song.id, {k: getattr(song, k) for k in SONG_FIELDS}, song.settings,
              [vars(m) for m in song.markers])
        for slot, values in song.snapshots.items():
            view[("snapshot", song.id, slot)] = snapshot_key(values)
        lane = song.automation.lanes.get(LANE_PARAM)
        if lane is not None and lane.points:
            view[("lane", song.id, LANE_PARAM)] = _points(lane.points)
    return view


def view_of_folder(folder: Path, sample_rate: int = 48000) -> tuple[dict[Key, Any], list[str]]:
    """The session in ``folder`` as the next start would load it (journal replayed).

    Returns its keys and the problems met loading it (an unreadable journal line).
    """
    loaded = SessionStore(folder, lock=False).load(sample_rate)
    return view_of_session(loaded.session), loaded.problems


def view_of_daemon(client: Client) -> dict[Key, Any]:
    """The keys of the session a running daemon holds (snapshot contents unknown)."""
    described = client.request("session")["session"]
    view: dict[Key, Any] = {
        ("order",): tuple(s["id"] for s in described["songs"]),
        ("current",): described["current"], ("album", "title"): described["title"],
        ("album", "performer"): described["performer"],
        ("automation_mode",): described["automation"]["mode"]}
    for song in described["songs"]:
        _song(view, song["id"], {k: song[k] for k in SONG_FIELDS}, song["settings"],
              song["markers"])
        for slot in song["snapshots"]:
            view[("snapshot", song["id"], slot)] = UNKNOWN
        if LANE_PARAM in song["automation"]:
            lane = client.request("automation_lane", param=LANE_PARAM, song=song["id"])
            if lane["points"]:
                view[("lane", song["id"], LANE_PARAM)] = _points(lane["points"])
    return view


def _song(view: dict[Key, Any], song_id: str, fields: dict[str, Any],
          settings: dict[str, float], markers: list[dict[str, Any]]) -> None:
    view[("song", song_id)] = True
    for name, value in fields.items():
        view[("field", song_id, name)] = value
    for param in TRACKED_PARAMS:
        view[("param", song_id, param)] = float(settings.get(param, P.get(param).default))
    for marker in markers:
        view[("marker", song_id, marker["name"])] = (float(marker["position_s"]), marker["note"])


def _points(points: Any) -> tuple[tuple[float, float], ...]:
    return tuple((float(t), float(v)) for t, v in points)
