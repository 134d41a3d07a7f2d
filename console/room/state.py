"""What the room's page shows: the song, its place on the album, what is heard, loudness.

A pure function of what the console already publishes (the desk's state,
the latest meter snapshot, the session's album), so it is tested without a
browser and costs nothing in the audio path. Only what a client should see
goes out: titles, never file paths; figures, never parameter values.
"""

from __future__ import annotations

from typing import Any

LOUDNESS = ("momentary_lufs", "short_term_lufs", "integrated_lufs", "loudness_range_lu",
            "true_peak_dbtp")
"""The big figures, in the order the page shows them."""


def heard(state: dict[str, Any]) -> dict[str, Any]:
    """What is heard: ``master`` / ``unprocessed`` / ``reference``, snapshot, preview, check."""
    source = state.get("source", "master")
    what = {"master": "master", "bypass": "unprocessed", "reference": "reference"}.get(
        source, str(source))
    preview = state.get("preview") or {}
    return {"source": what, "snapshot": state.get("snapshot"),
            "preview": preview.get("name") if preview.get("platform") else None,
            "translation": None if state.get("translation", "off") == "off"
            else state.get("translation")}


def album_place(state: dict[str, Any]) -> dict[str, Any]:
    """The current song's title and its place on the album (``number`` of ``count``)."""
    song = state.get("song") or {}
    album = state.get("album") or {}
    songs = album.get("songs") or []
    current = album.get("current")
    number = next((k + 1 for k, s in enumerate(songs) if s.get("id") == current), None)
    title = song.get("title")
    if number is not None:
        title = songs[number - 1].get("title") or title
    return {"album": album.get("title") or None, "song": title, "number": number,
            "count": len(songs) or None, "duration_s": song.get("duration_s"),
            "album_mode": bool(state.get("album_mode"))}


def page_state(state: dict[str, Any], meters: dict[str, Any], grants: list[str],
               name: str) -> dict[str, Any]:
    """The ``state`` message for a listener called ``name`` with switches ``grants``."""
    loudness = {key: meters.get(key) for key in LOUDNESS}
    return {"type": "state", "name": name, **album_place(state), "heard": heard(state),
            "playing": bool(meters.get("playing", state.get("playing", False))),
            "position_s": meters.get("position_s"), "loudness": loudness,
            "grants": list(grants)}
