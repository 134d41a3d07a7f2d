"""A small CD album for the delivery tests, and a program whose samples give their place."""

from __future__ import annotations

import numpy as np

from console.delivery.model import SECTOR, CdAlbum, CdTrack

S = 75  # sectors a second
UPC = "4006381333931"


def sectors(n: int) -> int:
    return n * SECTOR


def album(**changes) -> CdAlbum:
    """3 tracks: 2 s first pregap, 5 s; a 2 s pregap then 6 s; 4 s with no pregap.

    Disc times (A-time): INDEX 01 at 00:02:00, 00:09:00, 00:15:00; lead-out 00:19:00.
    """
    tracks = (
        CdTrack(1, "Track One", "Artist", "GBAYE2600001", sectors(2 * S), sectors(2 * S)),
        CdTrack(2, "Café Two", "Artist", "GBAYE2600002", sectors(9 * S), sectors(2 * S)),
        CdTrack(3, "Track Three", "Other", "", sectors(15 * S), 0),
    )
    fields = {"title": "Disc", "performer": "Artist", "upc": UPC, "tracks": tracks,
              "frames": sectors(19 * S)}
    return CdAlbum(**{**fields, **changes})


def replace_track(base: CdAlbum, which: int, **changes) -> CdAlbum:
    """The album with one track's fields changed."""
    from dataclasses import replace

    tracks = tuple(replace(t, **changes) if t.number == which else t for t in base.tracks)
    return replace(base, tracks=tracks)


def program(frames: int, silent: int) -> np.ndarray:
    """int16 (frames, 2): left counts frames, right counts by 7; the first ``silent`` are 0.

    Any sample moved, dropped or byte-swapped shows up as a wrong number.
    """
    i = np.arange(frames, dtype=np.int64)
    pcm = np.stack([i % 65536 - 32768, (i * 7 + 12345) % 65536 - 32768], axis=1)
    pcm = pcm.astype(np.int16)
    pcm[:silent] = 0
    return pcm
