"""session.toml both ways: written for people to read, read back with errors by line.

The file is generated (not edited in place), in a fixed order, so saves diff
cleanly. Reading checks everything a hand edit can break: TOML syntax (the
line comes from tomllib), unknown keys, wrong types, unknown parameter ids,
values out of range, duplicate ids; each failure is a
:class:`~console.session.errors.SessionFileError` with the line of the key at
fault. A file whose ``format`` is newer than this code is refused with
:class:`~console.session.errors.NewerSessionError` before anything else is
looked at.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from console.session.errors import NewerSessionError, SessionError, SessionFileError
from console.session.model import Marker, Reference, Session, Song
from console.version import version
from dsp import params as P
from dsp.errors import ParameterError

FORMAT = 2
"""The session format this code writes; it reads this one and older. 2: the limiter's
default release style became ``transparent``; a format-1 session's songs keep the
``single`` style they were mastered with (see :func:`_from_format_1`)."""
AUTOMATION_DIR = "automation"

_TOP = {"format", "generation", "written_by", "title", "performer", "upc", "sample_rate",
        "current", "reference", "automation", "song", "reference_track"}
_SONG = {"id", "title", "file", "level_offset_db", "gap_s", "crossfade_s", "fade_in_s",
         "fade_out_s", "isrc", "performer",
         "automation", "settings", "snapshots", "marker"}


def automation_path(song_id: str) -> str:
    """Where a song's automation file lives, relative to the session folder."""
    return f"{AUTOMATION_DIR}/{song_id}.auto"


# writing -----------------------------------------------------------------------------------
def _s(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _n(value: float) -> str:
    return repr(float(value))


def _values(values: dict[str, float]) -> list[str]:
    return [f"{_s(k)} = {_n(v)}" for k, v in sorted(values.items(), key=lambda kv: P.index(kv[0]))]


def dump(session: Session) -> str:
    """The text of session.toml for ``session``."""
    out = [
        "# masterdeck session. Safe to read and to edit by hand: a mistake is reported with",
        "# its line and the last good save (backups/) is used until it is fixed.",
        f"format = {FORMAT}",
        f"generation = {session.generation}",
        f"written_by = {_s('masterdeck ' + version())}",
        f"title = {_s(session.title)}",
        f"sample_rate = {session.sample_rate}",
    ]
    out += [f"{key} = {_s(getattr(session, key))}" for key in ("performer", "upc")
            if getattr(session, key)]
    if session.current:
        out.append(f"current = {_s(session.current)}")
    if session.reference:
        out.append(f"reference = {_s(session.reference)}")
    out += ["", "[automation]", f"mode = {_s(session.automation_mode)}",
            f"touch_timeout_ms = {_n(session.touch_timeout_ms)}",
            f"thinning_factor = {_n(session.thinning_factor)}"]
    for song in session.songs:
        out += ["", "[[song]]", f"id = {_s(song.id)}", f"title = {_s(song.title)}",
                f"file = {_s(song.file)}", f"level_offset_db = {_n(song.level_offset_db)}",
                f"gap_s = {_n(song.gap_s)}", f"crossfade_s = {_n(song.crossfade_s)}",
                f"fade_in_s = {_n(song.fade_in_s)}",
                f"fade_out_s = {_n(song.fade_out_s)}"]
        out += [f"{key} = {_s(getattr(song, key))}" for key in ("isrc", "performer")
                if getattr(song, key)]
        if song.automation.lanes:
            out.append(f"automation = {_s(automation_path(song.id))}")
        out += ["", "[song.settings]", *_values(song.settings)]
        for slot in sorted(song.snapshots):
            out += ["", f"[song.snapshots.{slot}]", *_values(song.snapshots[slot])]
        for marker in song.markers:
            out += ["", "[[song.marker]]", f"position_s = {_n(marker.position_s)}",
                    f"name = {_s(marker.name)}", f"note = {_s(marker.note)}"]
            if marker.answer:
                out.append(f"answer = {_s(marker.answer)}")
    for ref in session.references:
        out += ["", "[[reference_track]]", f"id = {_s(ref.id)}", f"title = {_s(ref.title)}",
                f"file = {_s(ref.file)}"]
    return "\n".join(out) + "\n"


# reading -----------------------------------------------------------------------------------
def parse(text: str, path: str | Path) -> tuple[Session, dict[str, str]]:
    """Read session.toml: (the session without automation, {song id: automation file})."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        raise SessionFileError(path, int(match.group(1)) if match else None,
                               f"not valid TOML: {exc}") from None
    lines = _LineIndex(text)
    fmt = data.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise SessionFileError(path, lines.find(("format",)) or 1,
                               "missing or bad 'format = <number>' (is this a session.toml?)")
    if fmt > FORMAT:
        raise NewerSessionError(
            f"{path}: written by a newer masterdeck ({data.get('written_by', 'unknown')}, "
            f"session format {fmt}); this one ({version()}) reads format {FORMAT} and older. "
            "Upgrade masterdeck to open it; the file was not changed.")
    reader = _Reader(path, lines)
    session = reader.session(data)
    if fmt < 2:
        _from_format_1(session)
    return session, reader.automation_files


def _from_format_1(session: Session) -> None:
    """Keep a format-1 session sounding as it did: its default release style was ``single``.

    Settings are kept as differences from the defaults, so a song that never set
    the style would otherwise change style with the default. Snapshots hold every
    parameter and need nothing.
    """
    style = P.get("limiter.release_style")
    for song in session.songs:
        song.settings.setdefault(style.id, float(P.RELEASE_STYLES.index("single")))


class _Reader:
    def __init__(self, path: str | Path, lines: _LineIndex) -> None:
        self.path, self.lines = path, lines
        self.automation_files: dict[str, str] = {}

    def fail(self, where: tuple, message: str) -> SessionFileError:
        return SessionFileError(self.path, self.lines.find(where), message)

    def get(self, table: dict, where: tuple, key: str, kind: type | tuple, default: Any = ...
            ) -> Any:
        if key not in table:
            if default is ...:
                return self._missing(where, key)
            return default
        value = table[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
        if kind == (int, float) and isinstance(value, bool):
            ok = False
        if not ok:
            names = {str: "text", int: "a whole number", (int, float): "a number",
                     dict: "a table", list: "a list", bool: "true or false"}
            raise self.fail((*where, key), f"{key} must be {names.get(kind, kind)}, "
                            f"got {value!r}")
        return float(value) if kind == (int, float) else value

    def _missing(self, where: tuple, key: str) -> Any:
        raise self.fail(where, f"missing {key!r}")

    def unknown(self, table: dict, where: tuple, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail((*where, key), f"unknown key {key!r}; allowed here: "
                                f"{', '.join(sorted(allowed))}")

    def session(self, data: dict) -> Session:
        self.unknown(data, (), _TOP)
        auto = self.get(data, (), "automation", dict, {})
        self.unknown(auto, ("automation",), {"mode", "touch_timeout_ms", "thinning_factor"})
        session = Session(title=self.get(data, (), "title", str, "Untitled album"),
                          sample_rate=self.get(data, (), "sample_rate", int, 48000),
                          generation=self.get(data, (), "generation", int, 0))
        for key in ("performer", "upc"):
            if key in data:
                try:
                    session.apply({"op": "album", key: self.get(data, (), key, str)})
                except SessionError as exc:
                    raise self.fail((key,), str(exc)) from None
        if session.generation < 0:
            raise self.fail(("generation",), f"generation {session.generation} is not a save "
                            "number (0 or more)")
        if not 8000 <= session.sample_rate <= 384000:
            raise self.fail(("sample_rate",), f"sample_rate {session.sample_rate} is not "
                            "a sample rate (8000..384000)")
        try:
            session.apply({"op": "automation", **auto})
        except SessionError as exc:
            raise self.fail(("automation",), str(exc)) from None
        for i, table in enumerate(self.get(data, (), "song", list, [])):
            song = self.song(table, ("song", i))
            if any(s.id == song.id for s in session.songs):
                raise self.fail(("song", i, "id"), f"song id {song.id!r} appears twice")
            session.songs.append(song)
        for i, table in enumerate(self.get(data, (), "reference_track", list, [])):
            where = ("reference_track", i)
            self.unknown(table, where, {"id", "title", "file"})
            ref = Reference(self.get(table, where, "id", str), self.get(table, where, "title", str,
                                                                         ""),
                            self.get(table, where, "file", str))
            if any(r.id == ref.id for r in session.references):
                raise self.fail((*where, "id"), f"reference id {ref.id!r} appears twice")
            session.references.append(ref)
        current = self.get(data, (), "current", str, None)
        if current is not None and not any(s.id == current for s in session.songs):
            raise self.fail(("current",), f"current = {current!r} is not one of the songs")
        session.current = current or (session.songs[0].id if session.songs else None)
        reference = self.get(data, (), "reference", str, None)
        if reference is not None and not any(r.id == reference for r in session.references):
            raise self.fail(("reference",), f"reference = {reference!r} is not one of the "
                            "reference tracks")
        session.reference = reference
        return session

    def song(self, table: Any, where: tuple) -> Song:
        if not isinstance(table, dict):
            raise self.fail(where, "each [[song]] must be a table")
        self.unknown(table, where, _SONG)
        song_id = self.get(table, where, "id", str)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", song_id):
            raise self.fail((*where, "id"), f"song id {song_id!r}: use letters, digits, '.', "
                            "'_' and '-' (it names the automation file)")
        song = Song(id=song_id, title=self.get(table, where, "title", str, song_id),
                    file=self.get(table, where, "file", str))
        for key in ("isrc", "performer"):
            if key in table:
                try:
                    setattr(song, key, _check_field(key, self.get(table, where, key, str)))
                except SessionError as exc:
                    raise self.fail((*where, key), str(exc)) from None
        for key in ("level_offset_db", "gap_s", "crossfade_s", "fade_in_s", "fade_out_s"):
            if key in table:
                value = self.get(table, where, key, (int, float))
                try:
                    song.__dict__.update({key: _check_field(key, value)})
                except (SessionError, ParameterError) as exc:
                    raise self.fail((*where, key), str(exc)) from None
        song.settings = self.values(table, (*where, "settings"), "settings")
        song.settings = {k: v for k, v in song.settings.items() if v != P.get(k).default}
        snapshots = self.get(table, where, "snapshots", dict, {})
        for slot in snapshots:
            if slot not in ("A", "B", "C", "D"):
                raise self.fail((*where, "snapshots", slot), f"snapshot {slot!r}: use A, B, C "
                                "or D")
            song.snapshots[slot] = self.values(snapshots, (*where, "snapshots", slot), slot)
        for k, marker in enumerate(self.get(table, where, "marker", list, [])):
            mw = (*where, "marker", k)
            self.unknown(marker, mw, {"position_s", "name", "note", "answer"})
            position = self.get(marker, mw, "position_s", (int, float))
            if position < 0:
                raise self.fail((*mw, "position_s"), "position_s must be >= 0")
            song.markers.append(Marker(position, self.get(marker, mw, "name", str, ""),
                                       self.get(marker, mw, "note", str, ""),
                                       self.get(marker, mw, "answer", str, "")))
        auto = self.get(table, where, "automation", str, None)
        if auto is not None:
            self.automation_files[song.id] = auto
        return song

    def values(self, table: dict, where: tuple, key: str) -> dict[str, float]:
        raw = self.get(table, where[:-1], key, dict, {})
        out: dict[str, float] = {}
        for param_id, value in raw.items():
            if isinstance(value, dict):
                raise self.fail((*where, param_id), f"{param_id!r} is a table: parameter ids "
                                'contain dots, so write them in quotes ("eq.band1.gain_db" = 1.5)')
            try:
                param = P.get(param_id)
                out[param.id] = param.check(value)
            except ParameterError as exc:
                raise self.fail((*where, param_id), str(exc)) from None
        return out


def _check_field(key: str, value: Any) -> Any:
    from console.session.model import _song_field  # one rule for files and operations

    return _song_field(key, value)


class _LineIndex:
    """Line numbers of tables and keys in TOML text, for error messages.

    Paths look like ``("song", 2, "settings", "eq.band1.gain_db")``: arrays of
    tables are counted in the order they appear, as tomllib builds them.
    """

    _HEADER = re.compile(r"^\[(\[)?\s*(.+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r'^("(?:[^"\\]|\\.)*"|[A-Za-z0-9_.-]+)\s*=')

    def __init__(self, text: str) -> None:
        self.where: dict[tuple, int] = {}
        arrays: dict[tuple, int] = {}
        table: tuple = ()
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            header = self._HEADER.match(line) if line.startswith("[") else None
            if header:
                is_array = header.group(1) is not None
                parts = _split_key(header.group(2))
                path: list = []
                for k, part in enumerate(parts):
                    path.append(part)
                    key = tuple(path)
                    last = k == len(parts) - 1
                    if last and is_array:
                        arrays[key] = arrays.get(key, -1) + 1
                        path.append(arrays[key])
                    elif key in arrays:
                        path.append(arrays[key])
                table = tuple(path)
                self.where.setdefault(table, number)
                continue
            key_match = self._KEY.match(line)
            if key_match:
                key_path = (*table, *_split_key(key_match.group(1)))
                self.where.setdefault(key_path, number)

    def find(self, path: tuple) -> int | None:
        """The line of ``path`` (or of a dotted key under it), else of its nearest parent."""
        path = tuple(path)
        while path:
            if path in self.where:
                return self.where[path]
            below = [n for key, n in self.where.items() if key[:len(path)] == path]
            if below:
                return min(below)
            path = path[:-1]
        return None


def _split_key(text: str) -> list[str]:
    """Split a dotted TOML key, keeping quoted parts whole (``song."eq.gain"``)."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|([^.\s"]+)', text)
    return [quoted or bare for quoted, bare in parts]
