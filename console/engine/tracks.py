"""Songs and references, decoded into memory at the device's sample rate.

The audio callback plays from a preallocated float32 array, so a file is
decoded whole before it is handed over (a five-minute stereo song at 48 kHz is
about 110 MB). When the file's rate differs from the device's, soxr (the SoX
resampler, its "very high quality" setting) converts it: linear-phase, flat
to 0.91 of Nyquist, aliasing below -140 dB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from console.offline.audiofile import open_source
from dsp.meter import measure


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
        data = source.read(dtype="float32", always_2d=True)
        source_rate = source.samplerate
    if data.shape[1] == 1:
        data = np.repeat(data, 2, axis=1)
    if source_rate != sample_rate and data.shape[0]:
        data = soxr.resample(data, source_rate, sample_rate, quality="VHQ")
    data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    audio = np.ascontiguousarray(data, dtype=np.float32)
    reading = measure(audio.astype(np.float64), sample_rate) if audio.shape[0] else None
    return Track(
        path=str(path),
        title=title or Path(path).stem,
        audio=audio,
        sample_rate=sample_rate,
        source_rate=source_rate,
        integrated_lufs=reading.integrated_lufs if reading else None,
        true_peak_dbtp=reading.true_peak_dbtp if reading else None,
    )


def silence() -> np.ndarray:
    """A one-frame silent buffer for an empty slot."""
    return np.zeros((1, 2), dtype=np.float32)
