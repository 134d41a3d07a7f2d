"""``masterdeck deliver``: the album rendered once, every target's files, a report.

1. Every song is mastered (a process per core) or taken from the delivery's
   cache when nothing it depends on changed (:mod:`console.delivery.masters`).
2. The masters are placed on the album timeline by the rule album playback
   and ``render --album`` use (:func:`console.offline.album.assemble`).
3. For each target, into a folder of its own: the album resampled to the
   target's rate (soxr, very high quality), normalised if the target says so,
   quantised and dithered once, then cut into the files it asks for (the
   continuous album, a file per song, the CD program with its CUE sheet and
   DDP image, a file per vinyl side), so the song files laid end to end are
   the album file, sample for sample. Each file is measured and judged by the
   target's rules; the CD by the Red Book's before anything is written.
4. ``report.json`` and ``report.html`` beside the targets.

Nothing is half-delivered: a target is written into a hidden folder and moved
into place when it is complete; one that cannot be written leaves the
previous delivery of it as it was. A second run rewrites only the targets
whose inputs changed (each target folder keeps the key it was made from).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from console.delivery import layout, measure
from console.delivery.cue import CUE_START
from console.delivery.masters import CACHE, Masters
from console.delivery.targets import MEASURES, Target, pick
from console.offline.album import Measured, arc_of, assemble
from console.offline.platforms import preview
from console.offline.session_render import open_for_render
from console.session.errors import SessionError
from console.session.model import Session
from console.version import version
from dsp import dither
from dsp.meter import LoudnessMeter

CD_WAV = "cd-album.wav"
"""The CD's WAV, for its CUE sheet: the program from disc time 00:02:00 (cue.CUE_START on)."""
MANIFEST = ".masterdeck-target.json"
"""In each target's folder: the key it was made from, its files and its checks."""
BLOCK = 65536
Progress = Callable[[float, str], None]


class DeliveryError(SessionError):
    """A target that cannot be delivered: names the song (or the album) and the rule."""


@dataclass
class Outcome:
    """What one target came to."""

    target: Target
    files: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    codecs: list[dict[str, Any]] = field(default_factory=list)
    splits: list[dict[str, Any]] = field(default_factory=list)
    """Where each song starts in the target's album (or CD) file, in its samples."""
    kept: bool = False
    """Nothing changed since the last delivery: its files were left as they were."""

    @property
    def status(self) -> str:
        """``fail`` if any check failed, else ``warn`` if any warned, else ``pass``."""
        found = {check["status"] for check in self.checks}
        return "fail" if "fail" in found else "warn" if "warn" in found else "pass"

    def describe(self, session_rate: int) -> dict[str, Any]:
        """The target as the report has it."""
        t = self.target
        return {"name": t.name, "description": t.description, "format": t.format,
                "sample_rate": t.rate(session_rate), "bit_depth": t.bit_depth,
                "status": self.status,
                "kept": self.kept, "files": self.files, "checks": self.checks,
                "splits": self.splits}


@dataclass
class Album:
    """The album timeline at the session's rate, and what was measured of each song."""

    audio: np.ndarray
    """float32 (frames, 2)."""
    rate: int
    measured: list[Measured]
    arc: dict[str, Any]


def render_album(folder: str | Path, session: Session, masters: Masters) -> Album:
    """The album timeline from the songs' masters (float32 in memory) and its arc."""
    pieces: list[np.ndarray] = []
    meter = LoudnessMeter(session.sample_rate, 2)

    def emit(piece: np.ndarray) -> None:
        pieces.append(dither.to_float32(piece))
        meter.process(piece)

    measured = assemble(folder, session, emit, mastered_by=masters.load)
    audio = np.concatenate(pieces) if pieces else np.zeros((0, 2), dtype=np.float32)
    arc = arc_of(measured, meter, session.sample_rate)
    arc["platforms"] = preview(arc["songs"], arc["album"])
    return Album(audio, session.sample_rate, measured, arc)


# ---- one target ------------------------------------------------------------------------
def _at_rate(album: Album, rate: int) -> np.ndarray:
    if rate == album.rate or album.audio.shape[0] == 0:
        return album.audio
    return dither.to_float32(soxr.resample(album.audio, album.rate, rate, quality="VHQ"))


def _quantised(audio: np.ndarray, bits: str, with_dither: bool, gain_db: float = 0.0
               ) -> np.ndarray:
    """``audio`` at ``bits`` (int16 / int32 left-justified for 24-bit / float32), dithered once.

    Digital silence stays digital silence: where a channel is exactly 0 (the
    gaps between songs, the CD's pregap) the quantiser writes 0 and its
    dither rests (:func:`dsp.dither.quantize`'s ``rest``, always on here), as
    a plant expects of a pregap and a listener of a gap. A 32-bit float
    result has no subnormal sample (:func:`dsp.dither.to_float32`).
    """
    gain = 10.0 ** (gain_db / 20.0)
    if bits == "32f":
        return dither.to_float32(audio * gain)
    depth = int(bits)
    errors, rng = dither.prepare(2)
    mode = dither.TPDF if with_dither else dither.OFF
    out = np.zeros(audio.shape, dtype=np.int32)
    for at in range(0, audio.shape[0], BLOCK):
        part = np.ascontiguousarray(audio[at:at + BLOCK], dtype=np.float64) * gain
        dither.quantize(part, out[at:at + BLOCK], depth, mode, errors, rng, True)
    return out.astype(np.int16) if depth == 16 else out << 8


def _as_float(pcm: np.ndarray) -> np.ndarray:
    if pcm.dtype == np.int16:
        return pcm.astype(np.float64) / 32768.0
    if pcm.dtype == np.int32:
        return pcm.astype(np.float64) / 2147483648.0
    return pcm.astype(np.float64)


_SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}


def _write(path: Path, pcm: np.ndarray, rate: int, target: Target) -> dict[str, Any]:
    sf.write(path, pcm, rate, subtype=_SUBTYPES[target.bit_depth],
             format="FLAC" if target.format == "flac" else "WAV")
    return {"path": path.name}


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _judge(target: Target, figures: dict[str, Any], song: int | None, scope: str,
           title: str) -> list[dict[str, Any]]:
    checks = []
    for rule in target.rules:
        if MEASURES[rule.measure] != scope or rule.measure not in figures:
            continue
        status, detail = rule.judge(figures[rule.measure])
        checks.append({"song": song, "rule": rule.measure, "status": status,
                       "detail": f"{title}: {detail}"})
    return checks


def _song_names(session: Session, ext: str) -> list[str]:
    return [f"{k:02d}-{song.id}.{ext}" for k, song in enumerate(session.songs, start=1)]


def write_target(target: Target, session: Session, album: Album, folder: Path,
                 hooks: Hooks) -> Outcome:
    """Every file of ``target`` into ``folder`` (which exists and is empty); its checks."""
    outcome = Outcome(target)
    rate = target.rate(album.rate)
    audio = _at_rate(album, rate)
    placed = [m.placed for m in album.measured]
    bounds = layout.scaled(placed, album.rate, rate)
    total = audio.shape[0]
    ext = target.format
    names = _song_names(session, ext)
    cd = None
    if "cd" in target.files:
        lead, cd = layout.cd_program(bounds, total, session)
        problems = hooks.check_cd(cd)
        failing = [p for p in problems if p["status"] == "fail"]
        outcome.checks += problems
        if failing:
            first = failing[0]
            where = "the album"
            if first["song"] is not None:
                where = f"song {first['song']} {session.songs[first['song'] - 1].title!r}"
            raise DeliveryError(f"{target.name}: {where}: {first['detail']} "
                                f"({first['rule']}); nothing of this target was written")
        audio = np.concatenate([np.zeros((lead, 2), dtype=np.float32), audio,
                                np.zeros((cd.frames - lead - total, 2), dtype=np.float32)])
        # the first pregap is digital silence: the resampler's pre-ringing of the first
        # song's onset (below -90 dBFS) would dither into it
        audio[:cd.tracks[0].start] = 0.0
        bounds = [(track.start, track.start) for track in cd.tracks]
        total = cd.frames
    spans: list[layout.Span] = []
    if cd is not None:  # the CUE sheet's WAV: the program from disc time 00:02:00
        spans.append(layout.Span(CD_WAV, CUE_START, total, None))
    elif "album" in target.files:
        spans.append(layout.album_span(bounds, total, f"album.{ext}"))
    if "songs" in target.files:
        spans += layout.song_spans(bounds, total, names)
    if "sides" in target.files:
        spans += [layout.Span(f"{s.name}.{ext}", s.start, s.end, None, s.songs)
                  for s in layout.side_spans(layout.scaled(placed, album.rate, rate),
                                             target.sides)]
    origin = CUE_START if cd is not None else bounds[0][0]
    outcome.splits = [{"song": k + 1, "start": start - origin,
                       "start_s": round((start - origin) / rate, 6)}
                      for k, (start, _end) in enumerate(bounds)]
    normalise = target.normalise_lufs
    whole = None if normalise is not None else _quantised(audio, target.bit_depth,
                                                           target.dither)
    for span in spans:
        if whole is not None:
            pcm = whole[span.start:span.end]
        else:
            level = measure.figures(audio[span.start:span.end], rate)["integrated_lufs"]
            gain = 0.0 if level is None else normalise - level
            pcm = _quantised(audio[span.start:span.end], target.bit_depth, target.dither, gain)
        written = _write(folder / span.name, pcm, rate, target)
        written["song"] = span.song
        outcome.files.append(written)
        heard = _as_float(pcm)
        title = span.name
        if span.song is not None:
            song = session.songs[span.song - 1]
            title = f"song {span.song} {song.title!r}"
            figures = measure.figures(heard, rate)
            outcome.checks += _judge(target, figures, span.song, "song", title)
            hooks.tag(folder / span.name, target, session, span.song, figures)
            if target.codec_check:
                outcome.codecs += hooks.codecs(heard, rate, span.song)
        elif span.name.startswith("side-"):
            figures = {"side_length_s": round(span.frames / rate, 3),
                       "low_side_db": measure.low_side_db(heard, rate)}
            outcome.checks += _judge(target, figures, None, "side", span.name)
    if cd is not None:
        outcome.files += hooks.write_cd(cd, whole if whole is not None else
                                        _quantised(audio, "16", target.dither), folder, CD_WAV)
    for entry in outcome.files:  # once every file is whole and tagged
        entry["md5"] = _md5(folder / entry["path"])
    _write_checksums(folder, outcome.files)
    return outcome


def _write_checksums(folder: Path, files: list[dict[str, Any]]) -> None:
    """``MD5SUMS`` in the target's folder, as ``md5sum -c`` reads it."""
    lines = [f"{f['md5']} *{f['path']}" for f in files if "md5" in f]
    (folder / "MD5SUMS").write_text("\n".join(lines) + "\n", encoding="ascii")


# ---- what the optional parts do (the CD image, tags, codecs) -----------------------------
@dataclass
class Hooks:
    """The parts of a delivery that live in modules of their own."""

    check_cd: Callable[[Any], list[dict[str, Any]]]
    write_cd: Callable[[Any, np.ndarray, Path, str], list[dict[str, Any]]]
    tag: Callable[[Path, Target, Session, int, dict[str, Any]], None]
    codecs: Callable[[np.ndarray, int, int], list[dict[str, Any]]]


def default_hooks() -> Hooks:
    """The CD image, tags and codec check as built in :mod:`console.delivery`."""
    from console.delivery import parts

    return Hooks(parts.check_cd, parts.write_cd, parts.tag, parts.codecs)


# ---- the whole delivery ------------------------------------------------------------------
def _target_key(target: Target, session: Session, masters: Masters) -> str:
    facts = {"target": target.key(), "rules": [vars(r) for r in target.rules],
             "masters": [masters.keys[s.id] for s in session.songs],
             "plan": [[s.gap_s, s.crossfade_s, s.title, s.isrc, s.performer]
                      for s in session.songs],
             "album": [session.title, session.performer, session.upc],
             "masterdeck": version()}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:24]


def _kept(folder: Path, key: str) -> dict[str, Any] | None:
    """The manifest of a target delivered before from the same key, if its files are whole."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("key") != key:
        return None
    for entry in manifest.get("files", []):
        path = folder / entry["path"]
        if not path.is_file() or _md5(path) != entry.get("md5"):
            return None
    return manifest


def _place(outdir: Path, name: str, build: Callable[[Path], None]) -> None:
    """Build a target's folder in a hidden one beside it, then swap it into place."""
    partial = outdir / f".{name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        build(partial)
        final = outdir / name
        old = outdir / f".{name}.old-{os.getpid()}"
        if final.exists():
            final.rename(old)
        partial.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def deliver(session_folder: str | Path, outdir: str | Path, names: list[str] | None = None,
            workers: int | None = None, progress: Progress | None = None,
            hooks: Hooks | None = None) -> dict[str, Any]:
    """Deliver the session in ``session_folder`` into ``outdir``; the report (also written).

    Raises :class:`DeliveryError` for a target that cannot be delivered (the
    targets before it are in place; it and those after are not).
    """
    started = time.perf_counter()
    hooks = hooks or default_hooks()
    session = open_for_render(session_folder)
    if not session.songs:
        raise DeliveryError("the album has no songs: add one with 'masterdeck session add'")
    targets = pick(names)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    masters = Masters(session_folder, session, out / CACHE)

    def tell(fraction: float, note: str) -> None:
        if progress is not None:
            progress(fraction, note)

    masters.make(workers, lambda f, song: tell(0.6 * f, f"mastered {song}"))
    tell(0.6, "placing the album")
    album = render_album(session_folder, session, masters)
    outcomes = []
    for k, target in enumerate(targets):
        tell(0.65 + 0.3 * k / len(targets), f"target {target.name}")
        key = _target_key(target, session, masters)
        kept = _kept(out / target.name, key)
        if kept is not None:
            outcome = Outcome(target, kept["files"], kept["checks"], kept.get("codecs", []),
                              kept.get("splits", []), kept=True)
        else:
            holder: list[Outcome] = []

            def build(folder: Path, target: Target = target, key: str = key,
                      holder: list[Outcome] = holder) -> None:
                made = write_target(target, session, album, folder, hooks)
                (folder / MANIFEST).write_text(json.dumps(
                    {"key": key, "files": made.files, "checks": made.checks,
                     "codecs": made.codecs, "splits": made.splits}, indent=1) + "\n")
                holder.append(made)

            _place(out, target.name, build)
            outcome = holder[0]
        outcomes.append(outcome)
    masters.forget_others()
    report = build_report(session, Path(session_folder), album, outcomes, masters,
                          time.perf_counter() - started)
    hooks_report = _write_report(report, out)
    report["written"] = hooks_report
    tell(1.0, "done")
    return report


def build_report(session: Session, folder: Path, album: Album, outcomes: list[Outcome],
                 masters: Masters, seconds: float) -> dict[str, Any]:
    """The report's data: the arc, each song's figures, the targets, the codecs, platforms."""
    from console.delivery import parts

    songs = []
    for song, entry, measured in zip(session.songs, album.arc["songs"], album.measured,
                                     strict=True):
        placed = measured.placed
        audio = album.audio[placed.start:placed.end]
        peak, level = entry["true_peak_dbtp"], entry["integrated_lufs"]
        songs.append({**{k: entry[k] for k in (
            "number", "id", "title", "start_s", "length_s", "integrated_lufs",
            "max_short_term_lufs", "lra_lu", "true_peak_dbtp", "change_lu",
            "short_term_lufs")},
            "isrc": song.isrc,
            "plr_db": None if peak is None or level is None else round(peak - level, 2),
            "spectrum": parts.spectrum(audio, album.rate)})
    reference = parts.reference_spectrum(folder, session)
    platforms = parts.flat_platforms(album.arc.get("platforms"))
    return {"session": {"title": session.title, "folder": str(folder)},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "masterdeck": version(),
            "album": album.arc["album"], "songs": songs, "reference": reference,
            "targets": [o.describe(album.rate) for o in outcomes],
            "codecs": [c for o in outcomes for c in o.codecs],
            "platforms": platforms,
            "mastered": sorted(masters.mastered), "elapsed_s": round(seconds, 2)}


def _write_report(report: dict[str, Any], out: Path) -> list[str]:
    from console.delivery import parts

    return [str(p) for p in parts.write_report(report, out)]
