"""The album as data: songs in order with their settings, references, snapshots, automation.

Every change to a session is an *operation*: a small JSON-ready dict such as
``{"op": "song_move", "id": "intro", "index": 2}``. :meth:`Session.apply` is the
only way anything changes, for a live change and for a journal replay alike,
so a replayed journal rebuilds exactly the state that was live. Nothing here
touches files or the engine.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from console.automation.lanes import Lane, SongAutomation, check_points
from console.automation.modes import MODES
from console.automation.thin import FACTOR
from console.automation.touch import TOUCH_TIMEOUT_S
from console.control.desk import SNAPSHOT_SLOTS
from console.session.errors import SessionError
from dsp import params as P
from dsp.errors import ParameterError

SONG_FIELDS = {"title": str, "level_offset_db": float, "gap_s": float, "crossfade_s": float,
               "fade_in_s": float, "fade_out_s": float, "file": str, "isrc": str,
               "performer": str}
"""Song fields an operation may set, and their types."""
ALBUM_FIELDS = ("title", "performer", "upc")
"""Album fields the ``album`` operation may set (text)."""
LEVEL_OFFSET_RANGE_DB = (-30.0, 6.0)


@dataclass
class Marker:
    """A named place in a song, with the engineer's note (or a client's, and its answer)."""

    position_s: float
    name: str = ""
    note: str = ""
    answer: str = ""
    """The engineer's reply to a client's note from the listening room ("" for none)."""


@dataclass
class Song:
    """One song of the album and everything that belongs to it alone."""

    id: str
    title: str
    file: str
    """Audio file, relative to the session folder (or absolute if outside it)."""
    settings: dict[str, float] = field(default_factory=dict)
    """Parameter values that differ from the defaults."""
    level_offset_db: float = 0.0
    """The album level plan: a gain on top of the chain's output for this song."""
    gap_s: float = 2.0
    """Silence before this song on the album."""
    crossfade_s: float = 0.0
    """Overlap with the previous song on the album (equal power); when set, it replaces
    the gap."""
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    isrc: str = ""
    """Its International Standard Recording Code (``CCXXXYYNNNNN``), for the CD and the
    masters' metadata; "" for none."""
    performer: str = ""
    """Who performs it, where not the album's performer (CD-Text, tags)."""
    markers: list[Marker] = field(default_factory=list)
    snapshots: dict[str, dict[str, float]] = field(default_factory=dict)
    automation: SongAutomation = field(default_factory=SongAutomation)

    def values(self) -> dict[str, float]:
        """Every parameter's value for this song (defaults where nothing is set)."""
        return {p.id: self.settings.get(p.id, p.default) for p in P.PARAMS}


@dataclass
class Reference:
    """A reference track (the client's favourite record) to compare against."""

    id: str
    title: str
    file: str


@dataclass
class Session:
    """An album: the contents of session.toml plus every song's automation."""

    title: str = "Untitled album"
    performer: str = ""
    """The album's performer (CD-Text, tags)."""
    upc: str = ""
    """The album's UPC/EAN (the CD's catalogue number, 12 or 13 digits); "" for none."""
    sample_rate: int = 48000
    songs: list[Song] = field(default_factory=list)
    current: str | None = None
    references: list[Reference] = field(default_factory=list)
    reference: str | None = None
    automation_mode: str = "read"
    touch_timeout_ms: float = TOUCH_TIMEOUT_S * 1000.0
    thinning_factor: float = FACTOR
    generation: int = 0
    """Save count: the number of the last save this state was read from or written as."""

    # lookups -----------------------------------------------------------------------
    def song(self, song_id: str) -> Song:
        """The song with ``song_id`` (SessionError naming the known ones if absent)."""
        for song in self.songs:
            if song.id == song_id:
                return song
        known = ", ".join(s.id for s in self.songs) or "none"
        raise SessionError(f"no song {song_id!r} in this session (songs: {known})")

    def song_at(self, number: int) -> Song:
        """Song ``number`` counting from 1, as the album lists them."""
        if not 1 <= number <= len(self.songs):
            raise SessionError(f"song {number}: the album has {len(self.songs)} songs")
        return self.songs[number - 1]

    def find_reference(self, ref_id: str) -> Reference:
        """The reference with ``ref_id``."""
        for ref in self.references:
            if ref.id == ref_id:
                return ref
        known = ", ".join(r.id for r in self.references) or "none"
        raise SessionError(f"no reference {ref_id!r} in this session (references: {known})")

    def current_song(self) -> Song | None:
        """The song on the console now."""
        return self.song(self.current) if self.current else None

    def new_id(self, title: str, taken: list[str]) -> str:
        """A short unique id from a title (``"Intro (live)"`` -> ``intro-live``)."""
        base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "song"
        name, k = base, 2
        while name in taken:
            name, k = f"{base}-{k}", k + 1
        return name

    # operations ----------------------------------------------------------------------
    def apply(self, op: dict[str, Any]) -> None:
        """Apply one operation (checked first; a refused one changes nothing)."""
        kind = op.get("op")
        handler = getattr(self, f"_op_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            raise SessionError(f"unknown session operation {kind!r}")
        handler(op)

    def _op_album(self, op: dict[str, Any]) -> None:
        fields = {k: op[k] for k in ALBUM_FIELDS if k in op}
        checked = {k: _album_field(k, v) for k, v in fields.items()}
        for key, value in checked.items():
            setattr(self, key, value)

    def _op_song_add(self, op: dict[str, Any]) -> None:
        data = op["song"]
        song_id = data.get("id") or self.new_id(data.get("title", ""), [s.id for s in self.songs])
        if any(s.id == song_id for s in self.songs):
            raise SessionError(f"a song {song_id!r} is already in the session")
        song = Song(id=song_id, title=_text(data.get("title") or song_id, "title"),
                    file=_text(data["file"], "file"))
        index = _index(op.get("index"), len(self.songs) + 1)
        self.songs.insert(index, song)
        if self.current is None:
            self.current = song.id

    def _op_song_move(self, op: dict[str, Any]) -> None:
        song = self.song(op["id"])
        index = _index(op["index"], len(self.songs))
        self.songs.remove(song)
        self.songs.insert(index, song)

    def _op_song_remove(self, op: dict[str, Any]) -> None:
        song = self.song(op["id"])
        at = self.songs.index(song)
        self.songs.remove(song)
        if self.current == song.id:
            rest = self.songs[at:] or self.songs[-1:]
            self.current = rest[0].id if rest else None

    def _op_song_set(self, op: dict[str, Any]) -> None:
        song = self.song(op["id"])
        checked = {k: _song_field(k, v) for k, v in op["fields"].items()}
        for key, value in checked.items():
            setattr(song, key, value)

    def _op_current(self, op: dict[str, Any]) -> None:
        self.current = self.song(op["id"]).id

    def _op_params(self, op: dict[str, Any]) -> None:
        song = self.song(op["id"])
        values = {P.get(k).id: P.get(k).check(v) for k, v in op["values"].items()}
        for key, value in values.items():
            if value == P.get(key).default:
                song.settings.pop(key, None)
            else:
                song.settings[key] = value

    def _op_snapshot(self, op: dict[str, Any]) -> None:
        song = self.song(op["id"])
        slot = str(op["slot"]).upper()
        if slot not in SNAPSHOT_SLOTS:
            raise SessionError(f"snapshot slot {slot!r}: use one of {', '.join(SNAPSHOT_SLOTS)}")
        if op.get("values") is None:
            song.snapshots.pop(slot, None)
        else:
            song.snapshots[slot] = {P.get(k).id: P.get(k).check(v)
                                    for k, v in op["values"].items()}

    def _op_marker_add(self, op: dict[str, Any]) -> None:
        song = self.song(op["id"])
        data = op["marker"]
        marker = Marker(_seconds(data["position_s"], "position_s"),
                        _text(data.get("name", ""), "name"), _text(data.get("note", ""), "note"))
        song.markers.append(marker)
        song.markers.sort(key=lambda m: m.position_s)

    def _op_marker_remove(self, op: dict[str, Any]) -> None:
        song = self.song(op["id"])
        index = op["index"]
        if not isinstance(index, int) or not 0 <= index < len(song.markers):
            raise SessionError(f"song {song.id}: no marker {index!r} "
                               f"({len(song.markers)} markers)")
        del song.markers[index]

    def _op_marker_answer(self, op: dict[str, Any]) -> None:
        song = self.song(op["id"])
        index = op["index"]
        if not isinstance(index, int) or not 0 <= index < len(song.markers):
            raise SessionError(f"song {song.id}: no marker {index!r} "
                               f"({len(song.markers)} markers)")
        song.markers[index].answer = _text(op.get("answer", ""), "answer")

    def _op_ref_add(self, op: dict[str, Any]) -> None:
        data = op["ref"]
        taken = [r.id for r in self.references]
        ref_id = data.get("id") or self.new_id(data.get("title", "reference"), taken)
        if ref_id in taken:
            raise SessionError(f"a reference {ref_id!r} is already in the session")
        self.references.append(Reference(ref_id, _text(data.get("title") or ref_id, "title"),
                                         _text(data["file"], "file")))

    def _op_ref_remove(self, op: dict[str, Any]) -> None:
        ref = self.find_reference(op["id"])
        self.references.remove(ref)
        if self.reference == ref.id:
            self.reference = None

    def _op_ref_current(self, op: dict[str, Any]) -> None:
        ref_id = op.get("id")
        self.reference = None if ref_id is None else self.find_reference(ref_id).id

    def _op_lane(self, op: dict[str, Any]) -> None:
        song = self.song(op["id"])
        param_id = P.get(op["param"]).id
        mode = op.get("mode")
        if mode is not None and mode not in MODES:
            raise SessionError(f"automation mode {mode!r}: use one of {', '.join(MODES)}")
        try:
            points = check_points(param_id, op.get("points") or ())
        except ValueError as exc:
            raise SessionError(str(exc)) from None
        song.automation.put(Lane(param_id, points, mode))

    def _op_automation(self, op: dict[str, Any]) -> None:
        mode = op.get("mode", self.automation_mode)
        if mode not in MODES:
            raise SessionError(f"automation mode {mode!r}: use one of {', '.join(MODES)}")
        timeout = float(op.get("touch_timeout_ms", self.touch_timeout_ms))
        factor = float(op.get("thinning_factor", self.thinning_factor))
        if not 1.0 <= timeout <= 10000.0:
            raise SessionError(f"touch_timeout_ms {timeout:g}: use 1..10000")
        if not 0.0 <= factor <= 1000.0:
            raise SessionError(f"thinning_factor {factor:g}: use 0..1000")
        self.automation_mode, self.touch_timeout_ms, self.thinning_factor = mode, timeout, factor


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise SessionError(f"{name} must be text, got {value!r}")
    return value


MAX_SECONDS = 86400.0
"""The longest time a session holds (a gap, a fade, a marker's place): a day."""


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SessionError(f"{name} must be a number of seconds, got {value!r}")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not 0.0 <= seconds <= MAX_SECONDS:  # NaN fails too
        raise SessionError(f"{name} must be 0 to {MAX_SECONDS:g} s, got {value!r}")
    return seconds


def _album_field(key: str, value: Any) -> str:
    text = _text(value, key).strip()
    if key == "upc":
        digits = text.replace(" ", "").replace("-", "")
        if digits and not re.fullmatch(r"\d{12,13}", digits):
            raise SessionError(f"upc {value!r}: a UPC/EAN is 12 or 13 digits")
        return digits.zfill(13) if digits else ""
    return text


def _song_field(key: str, value: Any) -> Any:
    if key not in SONG_FIELDS:
        raise SessionError(f"song field {key!r}: use one of {', '.join(SONG_FIELDS)}")
    if key == "isrc":
        code = _text(value, key).replace("-", "").strip().upper()
        if code and not re.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}\d{7}", code):
            raise SessionError(f"isrc {value!r}: an ISRC is CC-XXX-YY-NNNNN (country, "
                               "registrant, year, designation: 12 characters)")
        return code
    if SONG_FIELDS[key] is str:
        return _text(value, key)
    if key == "level_offset_db":
        low, high = LEVEL_OFFSET_RANGE_DB
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not low <= value <= high:
            raise ParameterError(f"level_offset_db must be {low:g}..{high:g} dB, got {value!r}")
        return float(value)
    return _seconds(value, key)


def _index(value: Any, size: int) -> int:
    """A position in a list of ``size`` places: None means the end; negative counts back."""
    if value is None:
        return size - 1
    if isinstance(value, bool) or not isinstance(value, int) or not -size <= value < size:
        raise SessionError(f"index {value!r} is outside 0..{size - 1}")
    return value % size
