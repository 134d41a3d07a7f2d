"""The audio files the chaos driver loads: a few short songs, and files that must be refused.

The bad ones are what a real album folder holds by accident: a FIFO named
like a song (reading it would block for ever), a WAV cut off mid-data (a
copy that died), a header with no audio, a text file named ``.wav``, and a
path that is gone. They live outside the session's small disk, so a
disk-full spell never touches them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 48000


@dataclass
class AudioFiles:
    """Good songs, and bad files by kind."""

    good: list[Path]
    bad: dict[str, Path] = field(default_factory=dict)


def write_audio_files(folder: Path, songs: int = 4, seconds: float = 4.0) -> AudioFiles:
    """Write ``songs`` short stereo songs (a tone each) and one bad file of each kind."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    good = []
    for k in range(songs):
        tone = 0.2 * np.sin(2 * np.pi * (220.0 * (k + 1)) * t) * (0.7 + 0.3 * np.sin(t))
        path = folder / f"song{k + 1}.wav"
        sf.write(path, np.stack([tone, tone], 1), RATE, subtype="PCM_24")
        good.append(path)
    whole = good[0].read_bytes()
    bad = {"truncated": folder / "truncated.wav", "header_only": folder / "header-only.wav",
           "text": folder / "notes.wav", "fifo": folder / "fifo.wav",
           "missing": folder / "gone.wav"}
    bad["truncated"].write_bytes(whole[:len(whole) // 3])
    bad["header_only"].write_bytes(whole[:44])
    bad["text"].write_text("mix notes: the snare is too loud in the bridge\n")
    if not bad["fifo"].exists():
        os.mkfifo(bad["fifo"])
    return AudioFiles(good, bad)
