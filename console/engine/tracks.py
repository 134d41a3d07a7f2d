"""Songs and references, decoded into memory at the device's sample rate.

The audio callback plays from a preallocated float32 array, so a file is
decoded whole before it is handed over (a five-minute stereo song at 48 kHz is
about 110 MB). When the file's rate differs from the device's, soxr (the SoX
resampler, its "very high quality" setting) converts it: linear-phase, flat
to 0.91 of Nyquist, aliasing below -140 dB.

The file is decoded a block at a time, each block resampled (soxr's stream)
and measured as it arrives and written straight into the array that is
kept: loading needs little more memory than the song it holds (a 2-hour
96 kHz file once peaked at three times it). A song that would hold more
than :data:`MAX_HELD_BYTES`, or more than half the memory free now, is
refused before anything is read.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from console.offline.audiofile import AudioFileError, open_source, shortfall
from dsp.meter import LoudnessMeter

log = logging.getLogger(__name__)

MAX_HELD_BYTES = 6 * 2**30
"""The most one song may hold in memory: 6 GiB (a 2-hour stereo song at 192 kHz, float32,
takes 5.5 GiB). Also never more than half the memory free when it loads."""
DECODE_BLOCK = 1 << 18
"""Frames decoded (and resampled, and measured) at a time."""
RESAMPLER_SPARE = 4096
"""Room for what soxr's stream gives beyond the rate ratio's length at its end."""


@dataclass
class Track:
    """A decoded song or reference, ready for the callback."""

    path: str
    title: str
    audio: np.ndarray
    """float32, shape (frames, 2), C-contiguous, at ``sample_rate``."""
    sample_rate: int
    source_rate: int
    integrated_lufs: float | None
    true_peak_dbtp: float | None

    @property
    def frames(self) -> int:
        """Length in frames at the device rate."""
        return int(self.audio.shape[0])

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate

    def describe(self) -> dict[str, object]:
        """Plain data for status and the protocol."""
        return {
            "path": self.path, "title": self.title, "duration_s": round(self.duration_s, 3),
            "sample_rate": self.sample_rate, "source_rate": self.source_rate,
            "integrated_lufs": _round(self.integrated_lufs),
            "true_peak_dbtp": _round(self.true_peak_dbtp),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def load_track(path: str | Path, sample_rate: int, title: str | None = None) -> Track:
    """Decode ``path`` to stereo float32 at ``sample_rate`` and measure its loudness."""
    with open_source(path) as source:
        source_rate = source.samplerate
        expected = math.ceil(source.frames * sample_rate / source_rate) + RESAMPLER_SPARE
        _check_room(path, expected)
        audio = np.zeros((expected, 2), dtype=np.float32)
        meter = LoudnessMeter(sample_rate, 2)
        stream = (soxr.ResampleStream(source_rate, sample_rate, 2, dtype="float32",
                                      quality="VHQ") if source_rate != sample_rate else None)
        held = 0

        def keep(block: np.ndarray) -> None:
            nonlocal held, audio
            if held + block.shape[0] > audio.shape[0]:  # a header that said less than there is
                audio = np.concatenate([audio, np.zeros((block.shape[0], 2), np.float32)])
            part = audio[held:held + block.shape[0]]
            np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            part[:] = block
            meter.process(part)
            held += block.shape[0]

        read = 0
        for block in source.blocks(blocksize=DECODE_BLOCK, dtype="float32", always_2d=True):
            read += block.shape[0]
            if block.shape[1] == 1:
                block = np.repeat(block, 2, axis=1)
            keep(stream.resample_chunk(block) if stream is not None else block)
        if stream is not None:
            keep(stream.resample_chunk(np.zeros((0, 2), np.float32), last=True))
    problem = shortfall(path, read)
    if problem is not None:
        log.warning("%s", problem)
    audio = audio[:held]  # the first rows of a C-contiguous array: still contiguous
    reading = meter.reading() if held else None
    return Track(
        path=str(path),
        title=title or Path(path).stem,
        audio=audio,
        sample_rate=sample_rate,
        source_rate=source_rate,
        integrated_lufs=reading.integrated_lufs if reading else None,
        true_peak_dbtp=reading.true_peak_dbtp if reading else None,
    )


def _check_room(path: str | Path, frames: int) -> None:
    """Refuse a song too big to hold, before reading it (the daemon must not be killed)."""
    need = frames * 2 * 4
    free = _available_bytes()
    if need > MAX_HELD_BYTES or (free is not None and need > free // 2):
        room = f"{MAX_HELD_BYTES / 2**30:.0f} GiB at most"
        if free is not None:
            room += f", and half of the {free / 2**30:.1f} GiB free now"
        raise AudioFileError(f"{path}: {need / 2**30:.2f} GiB to hold at this rate; a song "
                             f"may take {room}")


def _available_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def silence() -> np.ndarray:
    """A one-frame silent buffer for an empty slot."""
    return np.zeros((1, 2), dtype=np.float32)
