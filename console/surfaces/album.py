"""The album page's values: a fader's travel as a song's level offset, and the song list.

A song's level offset is a field of the session's level plan, not a row of
the parameter spine, so a song fader gets a stand-in :class:`~dsp.params.Param`
that only describes its travel (range, step, display) and is never looked
up in the spine. The travel is -12..+6 dB, linear in dB, which puts 0 dB at
two thirds of the way up, where a console's unity mark usually sits; within
:data:`DETENT_DB` of 0 dB the fader reads exactly 0 dB, so an engineer can
put a song back to plan without a display. A binding may narrow or widen the
travel with ``min`` / ``max`` inside what the session allows (-30..+6 dB).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console.session.model import LEVEL_OFFSET_RANGE_DB
from dsp import params as P

FADER_RANGE_DB = (-12.0, 6.0)
"""A song fader's travel, bottom to top."""
DETENT_DB = 0.25
"""A fader this close to 0 dB is 0 dB (an unmotorised fader has no detent of its own)."""
STEP_DB = 0.1
"""The finest level move; a fader's position is rounded to it."""
LEVEL_ID = "song.level_offset_db"


def level_param(lo: float | None = None, hi: float | None = None) -> P.Param:
    """The travel of a song fader from ``lo`` to ``hi`` dB (default :data:`FADER_RANGE_DB`)."""
    low = FADER_RANGE_DB[0] if lo is None else float(lo)
    high = FADER_RANGE_DB[1] if hi is None else float(hi)
    return P.Param(id=LEVEL_ID, stage="album", label="Song level", unit="dB", min=low,
                   max=high, default=0.0, step=STEP_DB, fmt="{:+.1f}")


def check_range(lo: float | None, hi: float | None) -> str | None:
    """Why a binding's ``min`` / ``max`` cannot be a song fader's travel, or None."""
    low, high = LEVEL_OFFSET_RANGE_DB
    param = level_param(lo, hi)
    if not low <= param.min < param.max <= high:
        return (f"a song fader's travel must lie in {low:g}..{high:g} dB with min < max, "
                f"got {param.min:g}..{param.max:g}")
    return None


def detent(value_db: float) -> float:
    """``value_db`` snapped to 0 dB near it, else rounded to :data:`STEP_DB`."""
    if abs(value_db) < DETENT_DB:
        return 0.0
    return round(round(value_db / STEP_DB) * STEP_DB, 2)


def songs(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The album's songs in order (id, title, level offset) from the desk's state."""
    album = state.get("album") or {}
    return list(album.get("songs") or []) if isinstance(album, dict) else []


def strip_title(title: str, width: int = 6) -> str:
    """A song title squeezed into a scribble-strip cell (spaces dropped from long ones)."""
    title = title.strip()
    return title if len(title) <= width else title.replace(" ", "")[:width]


def bank_short(bank: int) -> str:
    """The two characters the assignment display shows on the album page (``A1``)."""
    return f"A{bank + 1}" if bank < 9 else f"{bank + 1:02d}"[-2:]
