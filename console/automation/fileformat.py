"""The automation file: one song's lanes as plain text, one breakpoint per line.

Ardour keeps automation as ``"<time> <value>"`` lines; so do we, under a few
header lines, so a person can read, diff and even edit it::

    # masterdeck automation (positions in samples at 48000 Hz, values in the unit)
    format 1
    generation 7
    song intro
    sample_rate 48000

    lane output.gain_db latch
    0 -12
    96000 -9.5

``lane ID [MODE]`` starts a lane (no mode: the session's global mode). Blank
lines and lines starting with ``#`` are ignored. ``generation`` ties the file
to the session.toml saved with it (see :mod:`console.session.store`). Any
mistake is a :class:`~console.session.errors.SessionFileError` naming the file
and the line.
"""

from __future__ import annotations

import math
from pathlib import Path

from console.automation.lanes import Lane, SongAutomation, check_points
from console.automation.modes import MODES
from console.session.errors import NewerSessionError, SessionFileError
from dsp import params as P
from dsp.errors import ParameterError

FORMAT = 1


def dump(song: SongAutomation, song_id: str, generation: int, sample_rate: int) -> str:
    """The text of one song's automation file."""
    lines = [f"# masterdeck automation (positions in samples at {sample_rate} Hz, "
             "values in the parameter's unit)",
             f"format {FORMAT}", f"generation {generation}", f"song {song_id}",
             f"sample_rate {sample_rate}"]
    for param_id in sorted(song.lanes, key=P.index):
        lane = song.lanes[param_id]
        lines.append("")
        lines.append(f"lane {param_id}" + (f" {lane.mode}" if lane.mode else ""))
        lines.extend(f"{t} {_number(v)}" for t, v in lane.points)
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def parse(text: str, path: str | Path) -> tuple[SongAutomation, dict[str, object]]:
    """Read an automation file: (lanes, header {format, generation, song, sample_rate})."""
    header: dict[str, object] = {}
    song = SongAutomation()
    lane_id: str | None = None
    lane_mode: str | None = None
    points: list[tuple[float, float]] = []
    lane_line = 0

    def finish() -> None:
        if lane_id is None:
            return
        try:
            song.put(Lane(lane_id, check_points(lane_id, points), lane_mode))
        except (ValueError, ParameterError) as exc:
            raise SessionFileError(path, lane_line, str(exc)) from None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        key = words[0]
        if key == "lane":
            finish()
            if len(words) not in (2, 3):
                raise SessionFileError(path, number, "a lane line is 'lane <parameter id> "
                                       "[mode]'")
            try:
                lane_id = P.get(words[1]).id
            except ParameterError as exc:
                raise SessionFileError(path, number, str(exc)) from None
            if lane_id in song.lanes:
                raise SessionFileError(path, number, f"lane {lane_id} appears twice")
            lane_mode = words[2] if len(words) == 3 else None
            if lane_mode is not None and lane_mode not in MODES:
                raise SessionFileError(path, number, f"mode {lane_mode!r}: use one of "
                                       f"{', '.join(MODES)}")
            points, lane_line = [], number
        elif lane_id is None:
            _header_line(header, words, path, number)
        else:
            points.append(_point(words, path, number))
    finish()
    if "format" not in header:
        raise SessionFileError(path, 1, "not a masterdeck automation file (no 'format' line)")
    return song, header


def _header_line(header: dict[str, object], words: list[str], path: str | Path,
                 number: int) -> None:
    key = words[0]
    if key not in ("format", "generation", "song", "sample_rate") or len(words) != 2:
        raise SessionFileError(path, number, f"unexpected line {' '.join(words)[:60]!r} "
                               "before the first 'lane' (header keys: format, generation, "
                               "song, sample_rate)")
    if key == "song":
        header[key] = words[1]
        return
    if not words[1].isdigit():
        raise SessionFileError(path, number, f"{key} must be a whole number, got {words[1]!r}")
    header[key] = int(words[1])
    if key == "format" and header[key] > FORMAT:
        raise NewerSessionError(f"{path}: automation format {header[key]} was written by a "
                                f"newer masterdeck; this one reads format {FORMAT}. Upgrade "
                                "masterdeck to open this session.")


def _point(words: list[str], path: str | Path, number: int) -> tuple[float, float]:
    if len(words) != 2:
        raise SessionFileError(path, number, "a breakpoint is '<position in samples> <value>'")
    try:
        t, v = float(words[0]), float(words[1])
    except ValueError:
        raise SessionFileError(path, number, f"cannot read {' '.join(words)!r} as "
                               "'<position in samples> <value>'") from None
    if not (math.isfinite(t) and math.isfinite(v)):
        raise SessionFileError(path, number, "positions and values must be finite numbers")
    return t, v
