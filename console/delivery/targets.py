"""Delivery targets: what each plant or platform takes, as TOML files an engineer can read.

A target names its format, rate, bit depth and dither, whether songs are
normalised, which files it wants (the continuous album, a file per song, the
CD image, a file per vinyl side) and its *rules*: a measure, a limit, and
whether breaking it fails the delivery or only warns. The shipped targets are
in this package (``targets/*.toml``); a user's own, in
``$XDG_CONFIG_HOME/masterdeck/targets/``, are added to them, and one with a
shipped target's name replaces it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from console.config import config_home
from dsp.errors import MasterdeckError

MEASURES = {
    "integrated_lufs": "song",
    "true_peak_dbtp": "song",
    "lra_lu": "song",
    "length_s": "song",
    "side_length_s": "side",
    "low_side_db": "side",
}
"""What a rule may measure, and what it is measured on: each song's file, or each side."""
FORMATS = ("wav", "flac")
BIT_DEPTHS = ("16", "24", "32f")
FILES = ("album", "songs", "cd", "sides")


class TargetError(MasterdeckError):
    """A target file that cannot be used (named with the file and the key)."""


@dataclass(frozen=True)
class Rule:
    """A limit on one measure: breaking it fails the target or warns."""

    measure: str
    minimum: float | None
    maximum: float | None
    severity: str
    """``fail`` or ``warn``."""
    why: str

    def judge(self, value: float | None) -> tuple[str, str]:
        """(``pass``/``warn``/``fail``, what was measured against what was asked)."""
        if value is None:
            return "pass", f"{self.measure}: nothing to measure (silence)"
        low = self.minimum if self.minimum is not None else float("-inf")
        high = self.maximum if self.maximum is not None else float("inf")
        asked = (f"{self.minimum:g}..{self.maximum:g}" if self.minimum is not None
                 and self.maximum is not None else
                 f"at most {self.maximum:g}" if self.maximum is not None else
                 f"at least {self.minimum:g}")
        detail = f"{self.measure} {value:.2f} ({asked})"
        if low <= value <= high:
            return "pass", detail
        return self.severity, f"{detail}: {self.why}" if self.why else detail


@dataclass(frozen=True)
class Target:
    """One deliverable: its format, its files and its rules."""

    name: str
    description: str
    format: str
    sample_rate: int | None
    """None: the session's rate."""
    bit_depth: str
    dither: bool
    normalise_lufs: float | None
    """Each song's file (and the album's) at this integrated loudness; None: as mastered."""
    files: tuple[str, ...]
    sides: int
    platforms: bool
    """Show each song's loudness against the streaming platforms."""
    codec_check: bool
    """Encode each song to the lossy codecs and report the decoded true peak."""
    rules: tuple[Rule, ...]
    source: str
    """Where the target was read from."""

    def rate(self, session_rate: int) -> int:
        """The files' sample rate."""
        return self.sample_rate or session_rate

    def key(self) -> dict[str, Any]:
        """Everything that decides this target's files (a second run compares it)."""
        return {"format": self.format, "rate": self.sample_rate, "bits": self.bit_depth,
                "dither": self.dither, "normalise": self.normalise_lufs,
                "files": list(self.files), "sides": self.sides}


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str,
         default: Any = None, required: bool = False) -> Any:
    if key not in table:
        if required:
            raise TargetError(f"{where}: '{key}' is missing")
        return default
    value = table[key]
    if isinstance(value, bool) and kind is not bool:
        raise TargetError(f"{where}: '{key}' must be {getattr(kind, '__name__', kind)}")
    if not isinstance(value, kind):
        raise TargetError(f"{where}: '{key}' = {value!r} is not the right kind of value")
    return value


def parse(name: str, text: str, source: str) -> Target:
    """A target from its TOML text (``name`` is its file's stem)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(f"{source}: {exc}") from None
    known = {"description", "format", "sample_rate", "bit_depth", "dither", "normalise_lufs",
             "files", "sides", "platforms", "codec_check", "rule"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise TargetError(f"{source}: unknown key {unknown[0]!r} "
                          f"(known: {', '.join(sorted(known))})")
    fmt = _get(data, "format", str, source, "wav")
    if fmt not in FORMATS:
        raise TargetError(f"{source}: format {fmt!r}: use one of {', '.join(FORMATS)}")
    bits = str(_get(data, "bit_depth", (str, int), source, "24"))
    if bits not in BIT_DEPTHS or (fmt == "flac" and bits == "32f"):
        raise TargetError(f"{source}: bit_depth {bits!r}: use 16, 24 or 32f (FLAC: 16 or 24)")
    rate = _get(data, "sample_rate", int, source)
    if rate is not None and not 8000 <= rate <= 384000:
        raise TargetError(f"{source}: sample_rate {rate} is not a sample rate")
    files = tuple(_get(data, "files", list, source, ["album", "songs"]))
    for kind in files:
        if kind not in FILES:
            raise TargetError(f"{source}: files: {kind!r}: use {', '.join(FILES)}")
    if "cd" in files and (rate != 44100 or bits != "16"):
        raise TargetError(f"{source}: a CD image needs sample_rate = 44100 and bit_depth = '16'")
    normalise = _get(data, "normalise_lufs", (int, float), source)
    rules = []
    for k, table in enumerate(_get(data, "rule", list, source, [])):
        where = f"{source}: rule {k + 1}"
        measure = _get(table, "measure", str, where, required=True)
        if measure not in MEASURES:
            raise TargetError(f"{where}: measure {measure!r}: use one of {', '.join(MEASURES)}")
        severity = _get(table, "severity", str, where, "fail")
        if severity not in ("fail", "warn"):
            raise TargetError(f"{where}: severity {severity!r}: use fail or warn")
        low = _get(table, "min", (int, float), where)
        high = _get(table, "max", (int, float), where)
        if low is None and high is None:
            raise TargetError(f"{where}: give min, max or both")
        rules.append(Rule(measure, None if low is None else float(low),
                          None if high is None else float(high), severity,
                          _get(table, "why", str, where, "")))
    return Target(name=name, description=_get(data, "description", str, source, name),
                  format=fmt, sample_rate=rate, bit_depth=bits,
                  dither=bool(_get(data, "dither", bool, source, True)),
                  normalise_lufs=None if normalise is None else float(normalise),
                  files=files, sides=int(_get(data, "sides", int, source, 2)),
                  platforms=bool(_get(data, "platforms", bool, source, False)),
                  codec_check=bool(_get(data, "codec_check", bool, source, False)),
                  rules=tuple(rules), source=source)


def user_folder() -> Path:
    """Where a user's own targets live."""
    return config_home() / "targets"


def available() -> dict[str, Target]:
    """Every target by name: the shipped ones, then the user's (a same name replaces)."""
    found: dict[str, Target] = {}
    shipped = resources.files("console.delivery") / "targets"
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            name = entry.name[:-5]
            found[name] = parse(name, entry.read_text(encoding="utf-8"), f"(shipped) {name}")
    folder = user_folder()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            found[path.stem] = parse(path.stem, path.read_text(encoding="utf-8"), str(path))
    return found


def pick(names: list[str] | None) -> list[Target]:
    """The targets named (all, when None), in the order given."""
    targets = available()
    if not names:
        return list(targets.values())
    missing = [n for n in names if n not in targets]
    if missing:
        raise TargetError(f"no target {missing[0]!r} (targets: {', '.join(targets)}; yours go "
                          f"in {user_folder()})")
    return [targets[n] for n in names]
