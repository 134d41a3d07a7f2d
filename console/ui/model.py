"""What the UI knows about the console: the daemon's state as the protocol reported it.

One :class:`ConsoleModel` per app, fed by the connection (status, meters,
params and state events, the surfaces listing) and read by every screen. It
holds no Textual objects, so the rules that are easy to get wrong (whose
parameter change wins, which change counts as "just touched", where a nudge
lands, when the loudness history starts again) are tested without an app.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from console.ui.draw import PeakHold, RateCounter
from dsp import params as P

TOUCH_S = 3.0
"""How long a touched parameter stays highlighted."""
HISTORY_BIN_S = 0.5
"""Resolution of the loudness-over-time strip."""
UNTOUCHED_AUTHORS = ("automation",)
"""Changes that are no one's hand: a lane playing back moves values but touches nothing."""
NICE_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


@dataclass(frozen=True)
class DeliveryTarget:
    """The loudness and true-peak ceiling a master is delivered to, drawn on the meters."""

    name: str
    lufs: float
    dbtp: float


TARGETS = (
    DeliveryTarget("streaming", -14.0, -1.0),
    DeliveryTarget("Apple Music", -16.0, -1.0),
    DeliveryTarget("Deezer", -15.0, -1.0),
    DeliveryTarget("EBU R128", -23.0, -1.0),
)
"""Targets the ``g`` key cycles through (see reference §5.1)."""


@dataclass
class Touch:
    """The parameter someone just moved, and who."""

    param_id: str
    author: str
    at: float


class LoudnessHistory:
    """Short-term loudness over the current song's positions, in fixed bins.

    Keyed by position, not time: a loop or a locate overwrites the part of the
    song it plays again, so the strip always shows the song as it now sounds.
    """

    def __init__(self, duration_s: float = 0.0) -> None:
        self.reset(duration_s)

    def reset(self, duration_s: float) -> None:
        """Start again for a song of ``duration_s`` seconds (0 when unknown)."""
        self.duration_s = max(float(duration_s or 0.0), 0.0)
        self.bins: list[float | None] = [None] * max(math.ceil(self.duration_s / HISTORY_BIN_S), 1)

    def record(self, position_s: float | None, lufs: float | None) -> None:
        """Note the loudness heard at ``position_s``."""
        if position_s is None or lufs is None or self.duration_s <= 0:
            return
        i = min(max(int(position_s / HISTORY_BIN_S), 0), len(self.bins) - 1)
        self.bins[i] = lufs


def nice_step(param: P.Param) -> float:
    """The keyboard's fine step for a linear parameter: about 1 % of its travel, rounded.

    The closest of 1-2-5 steps (in ratio) to a hundredth of the range, and
    never finer than the parameter's own step: 0.5 dB for an 36 dB EQ gain,
    0.1 dB for the limiter's 12 dB ceiling, 1 % for a 0-100 % mix.
    """
    wanted = (param.max - param.min) / 100.0
    best = min(NICE_STEPS, key=lambda s: abs(math.log(s / wanted)))
    return max(best, param.step)


def nudge_value(param: P.Param, value: float, steps: int, coarse: bool = False) -> float:
    """Where ``steps`` key presses move ``value``; the result is always in range.

    A switch toggles (on an odd count), a choice moves by whole choices, a
    log parameter moves 1 % of its knob travel per step (10 % coarse), a
    linear one by :func:`nice_step` (ten of them coarse).
    """
    if param.kind == "switch":
        return 1.0 - value if steps % 2 else value
    if param.kind == "choice":
        return float(min(max(round(value) + steps, 0), len(param.choices) - 1))
    if param.taper == "log":
        normal = param.to_normal(value) + steps * (0.1 if coarse else 0.01)
        return param.from_normal(normal)
    step = nice_step(param) * (10 if coarse else 1)
    moved = round((value + steps * step) / step) * step  # land on the step grid
    return min(max(round(moved, 6), param.min), param.max)


@dataclass
class ConsoleModel:
    """The console as the UI last heard it, plus the UI's own choices (selection, target)."""

    where: str = ""
    connected: bool = False
    problem: str = "connecting"
    """Why there is no connection (shown plainly in the banner)."""
    changed_at: float = field(default_factory=time.monotonic)
    own_author: str = ""
    """The name our own changes carry in events (``protocol:N``)."""
    values: dict[str, float] = field(default_factory=lambda: {p.id: p.default for p in P.PARAMS})
    meters: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    song: dict[str, Any] | None = None
    reference: dict[str, Any] | None = None
    loop: dict[str, Any] = field(default_factory=lambda: {"on": False, "start_s": 0.0,
                                                          "end_s": 0.0})
    surfaces: dict[str, Any] | None = None
    surfaces_problem: str = ""
    bindings: dict[str, list[str]] = field(default_factory=dict)
    """Parameter id or ``action NAME`` -> the surface controls bound to it."""
    selected: int = 0
    """Index into ``dsp.params.PARAMS`` of the parameter the keyboard moves."""
    touched: Touch | None = None
    target: DeliveryTarget = TARGETS[0]
    history: LoudnessHistory = field(default_factory=LoudnessHistory)
    holds: dict[str, PeakHold] = field(default_factory=lambda: {
        k: PeakHold() for k in ("momentary_lufs", "short_term_lufs", "true_peak_dbtp",
                                "sample_peak_dbfs")})
    held: dict[str, float | None] = field(default_factory=dict)
    rate: RateCounter = field(default_factory=RateCounter)
    automation: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Lanes by parameter id: ``{"mode": ..., "points": [[t_s, value], ...]}`` (once the
    daemon reports them in ``status`` or a ``state`` event under ``automation``)."""
    album: dict[str, Any] | None = None
    """The session's album as the ``state`` topic sends it (title, songs, current, mode)."""
    session: dict[str, Any] | None = None
    """The ``session`` command's reply (songs with markers, undo), None without a session."""
    session_problem: str = ""
    learn: str = ""
    """What MIDI learn is doing, in words (empty when idle)."""
    room_note: dict[str, Any] | None = None
    """The latest note a client wrote in the listening room (the ``room_note`` state)."""
    _local: dict[str, float] = field(default_factory=dict)

    # connection ------------------------------------------------------------------------
    def set_connected(self, hello: dict[str, Any], status: dict[str, Any],
                      values: dict[str, float], state: dict[str, Any]) -> None:
        """Start from the full picture a fresh connection gives."""
        self.connected, self.problem = True, ""
        self.changed_at = time.monotonic()
        self.own_author = str(hello.get("author", ""))
        self._local.clear()
        self.values.update({k: float(v) for k, v in values.items() if k in self.values})
        self.song, self.reference = status.get("song"), status.get("reference")
        transport = status.get("transport") or {}
        self.loop = dict(transport.get("loop") or self.loop)
        self.state = dict(state)
        self.state.setdefault("playing", transport.get("playing", False))
        self.state.setdefault("source", transport.get("source", "master"))
        self.state.setdefault("match", transport.get("match", True))
        duration = (self.song or {}).get("duration_s") or 0.0
        if duration != self.history.duration_s:
            self.history.reset(duration)
        self.meters = dict(status.get("meters") or {})
        self.automation = dict(state.get("automation") or {})
        self.album = state.get("album")

    def set_disconnected(self, problem: str) -> None:
        """Note that the daemon went away (or was never there), and why."""
        if self.connected or problem != self.problem:
            self.changed_at = time.monotonic()
        self.connected, self.problem = False, problem

    # events ----------------------------------------------------------------------------
    def apply_meters(self, data: dict[str, Any], now: float) -> None:
        """Take a meter snapshot: latest wins, the history and the holds follow it."""
        self.meters = data
        self.rate.tick(now)
        self.history.record(data.get("position_s"), data.get("short_term_lufs"))
        for key, hold in self.holds.items():
            self.held[key] = hold.update(data.get(key), now)

    def apply_params(self, values: dict[str, Any], author: str, now: float) -> list[str]:
        """Take changed parameters; return the ids whose shown value changed.

        Our own changes come back as events; one older than a later key
        press must not undo it, so while a local value is pending, an echo
        with another value is ignored. Anyone else's change always wins. A
        single parameter changed by someone else becomes the touched one.
        """
        changed = []
        for param_id, value in values.items():
            if param_id not in self.values:
                continue  # a newer daemon's parameter: ignore what we cannot show
            value = float(value)
            if author == self.own_author and param_id in self._local:
                if self._local[param_id] != value:
                    continue
                del self._local[param_id]
            else:
                self._local.pop(param_id, None)
            if self.values[param_id] != value:
                self.values[param_id] = value
                changed.append(param_id)
        if len(values) == 1 and author not in (self.own_author, *UNTOUCHED_AUTHORS):
            self.touched = Touch(next(iter(values)), author, now)
        return changed

    def apply_state(self, values: dict[str, Any]) -> None:
        """Take changed console state flags (playing, source, loop, song, snapshot ...)."""
        self.state.update(values)
        if "loop" in values and isinstance(values["loop"], dict):
            self.loop = dict(values["loop"])
        if "song" in values:
            self.song = values["song"]
            self.history.reset((self.song or {}).get("duration_s") or 0.0)
            for hold in self.holds.values():
                hold.reset()
        if isinstance(values.get("automation"), dict):
            self.automation = dict(values["automation"])
        if "album" in values:
            self.album = values["album"]
        if "reference_track" in values:
            self.reference = values["reference_track"]
        if isinstance(values.get("room_note"), dict):
            self.room_note = values["room_note"]

    def apply_surfaces(self, data: dict[str, Any] | None, problem: str = "") -> None:
        """Take the ``surfaces`` listing; index which control drives what."""
        self.surfaces, self.surfaces_problem = data, problem
        self.bindings = {}
        for surface in (data or {}).get("surfaces", []):
            for row in surface.get("bindings", []):
                target = str(row.get("target", ""))
                key = target.removeprefix("param ")
                self.bindings.setdefault(key, []).append(
                    f"{surface.get('name', '?')}: {row.get('control', '?')}")

    def apply_session(self, data: dict[str, Any] | None, problem: str = "") -> None:
        """Take the ``session`` reply (or why there is none)."""
        self.session, self.session_problem = data, problem

    def songs(self) -> list[dict[str, Any]]:
        """The album's songs, the current one with what the daemon measured of it.

        From the session when there is one (every song, in order), else the
        one current song; the current song's length and loudness come from
        the daemon's ``song`` (a session lists files, not measurements).
        """
        listed = (self.session or {}).get("songs") or (self.album or {}).get("songs") or []
        current = (self.session or self.album or {}).get("current")
        if not listed:
            return [dict(self.song, current=True)] if self.song else []
        songs = []
        for song in listed:
            row = dict(song)
            row["current"] = row.get("current", row.get("id") == current)
            if row["current"] and self.song:
                row = {**self.song, **row, "title": row.get("title") or self.song.get("title")}
            songs.append(row)
        return songs

    def markers(self) -> list[dict[str, Any]]:
        """The current song's markers and notes, in time order (none without a session)."""
        for song in (self.session or {}).get("songs", []):
            if song.get("current"):
                return sorted(song.get("markers", []), key=lambda m: m.get("position_s", 0.0))
        return []

    def marker_index(self, note: dict[str, Any]) -> int | None:
        """Where a client's note is among its song's markers (the daemon's order), or None."""
        for song in (self.session or {}).get("songs", []):
            if song.get("id") != note.get("song"):
                continue
            for index, marker in enumerate(song.get("markers", [])):
                if (marker.get("name") == f"room: {note.get('name')}"
                        and abs(float(marker.get("position_s", -1.0))
                                - float(note.get("position_s", -2.0))) < 1e-3
                        and marker.get("note") == note.get("note")):
                    return index
        return None

    # the keyboard's parameter ----------------------------------------------------------
    @property
    def selected_param(self) -> P.Param:
        """The parameter the keyboard's nudge keys move."""
        return P.PARAMS[self.selected]

    def select(self, delta: int) -> None:
        """Move the selection by ``delta`` parameters (wrapping)."""
        self.selected = (self.selected + delta) % len(P.PARAMS)

    def select_stage(self, delta: int) -> None:
        """Move the selection to the first parameter of the next (or previous) stage."""
        stages = list(P.STAGES)
        here = stages.index(self.selected_param.stage)
        stage = stages[(here + delta) % len(stages)]
        self.selected = next(i for i, p in enumerate(P.PARAMS) if p.stage == stage)

    def note_local(self, param_id: str, value: float, now: float) -> None:
        """Record a change this UI is sending, shown at once and touched."""
        self.values[param_id] = value
        self._local[param_id] = value
        self.touched = Touch(param_id, "this UI", now)

    def forget_local(self, param_id: str) -> None:
        """Drop a pending local change the daemon refused (its next event is taken as is)."""
        self._local.pop(param_id, None)

    def touch(self, now: float) -> Touch | None:
        """The touched parameter if it was touched recently, else None."""
        if self.touched is not None and now - self.touched.at <= TOUCH_S:
            return self.touched
        return None

    def bypassed(self, stage: str) -> bool:
        """Whether a stage is bypassed (stages without a switch never are)."""
        return self.values.get(f"{stage}.bypass", 0.0) >= 0.5

    def cycle_target(self) -> DeliveryTarget:
        """Switch to the next delivery target preset."""
        names = [t.name for t in TARGETS]
        here = names.index(self.target.name) if self.target.name in names else -1
        self.target = TARGETS[(here + 1) % len(TARGETS)]
        return self.target
