"""The delivery's parts that live in modules of their own, as :mod:`deliver` calls them.

The CD image and CUE sheet (:mod:`redbook`, :mod:`ddp`, :mod:`cue`), the
masters' metadata (:mod:`metadata`), the codec check (:mod:`codecs`) and the
report (:mod:`report`) each keep their own data types; this module turns
them into the plain dicts the report and the terminal summary use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from console.delivery.model import CdAlbum
from console.session.model import Session


def check_cd(album: CdAlbum) -> list[dict[str, Any]]:
    """The Red Book's rules for ``album``, as report checks (failing ones stop the CD)."""
    from console.delivery import redbook

    checks = []
    for problem in redbook.check(album):
        checks.append({"song": problem.track, "rule": f"red book: {problem.rule}",
                       "status": problem.severity, "detail": problem.message})
    if not checks:
        checks.append({"song": None, "rule": "red book", "status": "pass",
                       "detail": f"{len(album.tracks)} tracks, every rule checked"})
    return checks


def write_cd(album: CdAlbum, pcm: np.ndarray, folder: Path, program: str
             ) -> list[dict[str, Any]]:
    """The CUE sheet beside the program WAV, and the DDP 2.0 image in ``DDP/``."""
    from console.delivery import cue, ddp

    sheet = folder / "album.cue"
    cue.write_cue(album, program, sheet)
    written = [{"path": sheet.name, "song": None}]
    image = folder / "DDP"
    image.mkdir()
    for path in ddp.write_ddp(album, pcm, image):
        written.append({"path": f"DDP/{path.name}", "song": None})
    return written


def tag(path: Path, target: Any, session: Session, number: int, figures: dict[str, Any]
        ) -> None:
    """The song's metadata in its file: BWF ``bext`` (WAV) or Vorbis comments (FLAC)."""
    from console.delivery import metadata
    from console.delivery.bext import Loudness

    song = session.songs[number - 1]
    tags = metadata.TrackTags(title=song.title, artist=song.performer or session.performer,
                              album=session.title, track_number=number,
                              track_total=len(session.songs), isrc=song.isrc)
    loudness = Loudness(figures.get("integrated_lufs"), figures.get("lra_lu"),
                        figures.get("true_peak_dbtp"), figures.get("max_momentary_lufs"),
                        figures.get("max_short_term_lufs"))
    if path.suffix.lower() == ".flac":
        metadata.write_flac(path, tags, loudness)
    else:
        metadata.write_wav(path, tags, loudness)


def codecs(audio: np.ndarray, rate: int, number: int) -> list[dict[str, Any]]:
    """Song ``number`` through the lossy codecs: each one's decoded true peak."""
    from console.delivery import codecs as lossy

    return [{"song": number, "codec": r.codec, "true_peak_dbtp": r.true_peak_dbtp,
             "delay_samples": r.delay_samples, "status": r.status}
            for r in lossy.check_codecs(audio, rate)]


def spectrum(audio: np.ndarray, rate: int) -> dict[str, list[float]]:
    """A master's long-term spectrum, for the report."""
    from console.delivery.spectrum import spectrum as long_term

    return long_term(audio, rate)


def reference_spectrum(folder: Path, session: Session) -> dict[str, Any] | None:
    """The client's reference (the session's selected one, or its first) as the report shows it."""
    if not session.references:
        return None
    from console.engine.tracks import load_track
    from console.offline.session_render import audio_file

    ref = (session.find_reference(session.reference) if session.reference
           else session.references[0])
    try:
        track = load_track(audio_file(folder, ref.file), session.sample_rate, ref.title)
    except Exception as exc:  # a reference that cannot be read is left out, and said so
        return {"title": ref.title, "error": str(exc), "spectrum": None}
    return {"title": ref.title, "spectrum": spectrum(track.audio, session.sample_rate)}


def flat_platforms(platforms: Any) -> list[dict[str, Any]]:
    """The arc's platform preview as one row per platform and song (None: the album)."""
    rows: list[dict[str, Any]] = []
    for entry in platforms or []:
        for number, gain in enumerate(entry.get("track_gains_db") or [], start=1):
            rows.append({"platform": entry["id"], "name": entry["name"], "song": number,
                         "gain_db": gain})
        rows.append({"platform": entry["id"], "name": entry["name"], "song": None,
                     "gain_db": entry.get("album_gain_db")})
    return rows


def write_report(report: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """``report.json`` and the self-contained ``report.html``."""
    from console.delivery import report as pages

    return pages.write_report(report, folder)
