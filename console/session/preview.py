"""Platform preview: the master heard at the gain a streaming platform would play it at.

Monitor path only, never rendered. The gain comes from the album arc (each
song as mastered, measured in the daemon's worker) and the platform's rules
(:mod:`console.offline.platforms`): the current song's track gain, or, when
the album is previewed in order on a platform that does albums, the album's
one gain. It follows the arc as it is measured again and the current song as
it changes; until the arc has the song, the gain is 0 dB and the state says
it is waiting. The engine glides to a new gain, so switching is click-free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.offline.platforms import BY_ID, Platform, custom
from dsp.errors import ParameterError

if TYPE_CHECKING:
    from console.control.desk import Desk
    from console.engine.stream import Engine


class PlatformPreview:
    """Which platform the master is previewed on, and the gain that makes."""

    def __init__(self, engine: Engine, desk: Desk) -> None:
        self.engine = engine
        self.desk = desk
        self.platform: Platform | None = None
        self.album = False
        self.state: dict[str, Any] = {"platform": None}

    def choose(self, platform: str, album: bool = False,
               reference_lufs: float | None = None) -> None:
        """Preview on ``platform`` (an id, ``custom`` with ``reference_lufs``, or ``off``)."""
        if platform == "off":
            self.platform = None
        elif platform == "custom":
            if reference_lufs is None:
                raise ParameterError("a custom preview needs reference_lufs (-40..0)")
            self.platform = custom(float(reference_lufs))
        elif platform in BY_ID:
            self.platform = BY_ID[platform]
        else:
            raise ParameterError(f"platform {platform!r}: use off, custom or one of "
                                 f"{', '.join(BY_ID)}")
        self.album = bool(album)

    def update(self, arc: dict[str, Any] | None, current: str | None) -> dict[str, Any]:
        """The gain for song ``current`` from ``arc``, applied; publish and return the state."""
        platform = self.platform
        gain, why = 0.0, ""
        if platform is None:
            state: dict[str, Any] = {"platform": None}
        else:
            song = next((s for s in (arc or {}).get("songs", []) if s["id"] == current), None)
            if arc is None or "error" in arc or song is None:
                why = "waiting for the album arc to measure this song"
            elif song["integrated_lufs"] is None or song["true_peak_dbtp"] is None:
                why = "the song is silent"
            elif self.album and platform.albums:
                album = arc["album"]
                gain = platform.album_gain_db(album["integrated_lufs"], album["true_peak_dbtp"])
                why = "the album in order: one gain for every song"
            else:
                gain = platform.track_gain_db(song["integrated_lufs"], song["true_peak_dbtp"])
                why = ("track by track: this platform plays no album at one gain"
                       if self.album else "this song alone (shuffle, a playlist)")
            state = {"platform": platform.id, "name": platform.name,
                     "reference_lufs": platform.reference_lufs, "album": self.album,
                     "gain_db": round(gain, 2), "turns": _turns(gain),
                     "confidence": platform.confidence, "why": why,
                     "limiter": platform.limits}
        self.engine.preview_gain_db = gain
        self.engine.set_player_limiter(platform is not None and platform.limits)
        self.state = state
        self.desk.set_state("preview", state)
        return state


def _turns(gain: float) -> str:
    return "up" if gain > 0.005 else "down" if gain < -0.005 else "neither"
