"""A CDRWin CUE sheet for the CD master's WAV: what burners and checkers read.

The WAV starts at disc time 00:02:00, not 00:00:00: a burner adds the disc's
first 2 s pregap itself, and a cue whose file holds it shows that pregap as a
hidden track (libcdio's ``cd-info`` does). So the WAV is the program from
:data:`CUE_START` on (:func:`cue_audio`), and every time in the sheet is the
disc time less 2 s. A track 1 pregap longer than 2 s (a hidden track) keeps
its extra audio as track 1's INDEX 00 at 00:00:00.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from console.delivery import redbook
from console.delivery.model import SECTOR, CdAlbum
from console.delivery.redbook import msf_text

CUE_START = redbook.FIRST_PREGAP_MIN * SECTOR
"""The frame of the program where the CUE's audio file starts (disc time 00:02:00)."""
ENCODING = "iso-8859-1"
"""The sheet's text is written as CD-Text carries it."""


def cue_audio(pcm: np.ndarray) -> np.ndarray:
    """The part of the whole program (from 00:00:00) that the CUE's WAV holds: a view."""
    return pcm[CUE_START:]


def cue_text(album: CdAlbum, audio_file_name: str) -> str:
    """The sheet as text, LF line ends; the Red Book rules must pass (see :func:`write_cue`)."""
    lines = []
    if album.upc:
        lines.append(f"CATALOG {album.upc}")
    lines += _text_lines(album.title, album.performer, indent="")
    lines.append(f"FILE {_quoted(audio_file_name)} WAVE")
    first = CUE_START // SECTOR
    for track in album.tracks:
        lines.append(f"  TRACK {track.number:02d} AUDIO")
        lines += _text_lines(track.title, track.performer, indent="    ")
        if track.isrc:
            lines.append(f"    ISRC {track.isrc}")
        start = track.start // SECTOR - first
        index0 = start - track.pregap // SECTOR
        if track.number == 1:
            index0 = 0
        if index0 < start:
            lines.append(f"    INDEX 00 {msf_text(index0)}")
        lines.append(f"    INDEX 01 {msf_text(start)}")
    return "\n".join(lines) + "\n"


def write_cue(album: CdAlbum, audio_file_name: str, path: Path) -> Path:
    """Write the album's CUE sheet for ``audio_file_name`` (the WAV of :func:`cue_audio`).

    The Red Book rules are checked first (:class:`redbook.RedBookError`). A
    double quote in a title becomes ``'``: a CUE string has no escape for it.
    """
    redbook.require(album)
    path.write_bytes(cue_text(album, audio_file_name).encode(ENCODING))
    return path


def _text_lines(title: str, performer: str, indent: str) -> list[str]:
    lines = []
    if performer:
        lines.append(f"{indent}PERFORMER {_quoted(performer)}")
    if title:
        lines.append(f"{indent}TITLE {_quoted(title)}")
    return lines


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'
