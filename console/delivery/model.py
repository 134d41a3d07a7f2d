"""What a CD master is made of: the album's and each track's place and PQ data.

Positions are CD frames of audio (44.1 kHz stereo samples) counted from the
start of the program, which is the start of ``IMAGE.DAT`` and of the CUE
sheet's audio file: disc time 00:00:00, so track 1's pregap (at least 2 s
of digital silence) comes first. A *sector* is 588 frames (1/75 s): every
index point sits on one.
"""

from __future__ import annotations

from dataclasses import dataclass

RATE = 44100
SECTOR = 588
"""Frames per CD sector (1/75 s): 2,352 bytes of 16-bit stereo."""


@dataclass(frozen=True)
class CdTrack:
    """One track of the disc."""

    number: int
    """From 1."""
    title: str
    performer: str
    isrc: str
    """12 characters ``CCXXXYYNNNNN``, or "" for none."""
    start: int
    """INDEX 01: the track's first frame in the program (a multiple of :data:`SECTOR`)."""
    pregap: int
    """Frames of INDEX 00 before ``start`` (a multiple of :data:`SECTOR`; 0 for none)."""


@dataclass(frozen=True)
class CdAlbum:
    """The disc: its tracks in order and the album's CD-Text and catalogue number."""

    title: str
    performer: str
    upc: str
    """The UPC/EAN (MCN), 13 digits, or "" for none."""
    tracks: tuple[CdTrack, ...]
    frames: int
    """The program's length in frames (a multiple of :data:`SECTOR`): the lead-out's start."""
