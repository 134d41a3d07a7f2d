"""A master's long-term average spectrum, drawn in the report beside the client's reference.

Welch's method (Hann windows, half overlapping, power averaged over both
channels so out-of-phase content is not cancelled as a mid sum would cancel
it), then read on about 100 log-spaced points from 20 Hz to 20 kHz, each the
mean of *power × frequency* over a sixth of an octave around it. Multiplying
by frequency is what makes pink noise (equal power per octave, the rough
shape of most finished music) a flat line: a master's tilt then reads as
"brighter" or "darker than pink" instead of a steep slope that hides it.

Each spectrum is normalised on its own, 0 dB being its mean power across the
band, so a master and a reference of different loudness share one scale and
the chart compares tone, not level. Only numpy is needed (scipy is a test
dependency, not a runtime one).
"""

from __future__ import annotations

import math

import numpy as np

LOW_HZ = 20.0
HIGH_HZ = 20000.0
POINTS = 100
SMOOTH_OCTAVES = 1.0 / 6.0
SEGMENT_S = 0.35
"""Welch segment length: about 2.9 Hz per bin at 48 kHz (16,384 frames)."""
_CHUNK = 64
"""Segments transformed at once: bounds memory on an hour-long album."""


def _segment_frames(rate: int, frames: int) -> int:
    """A power of two near :data:`SEGMENT_S`, shorter for a shorter file."""
    wanted = 1 << max(8, round(math.log2(SEGMENT_S * rate)))
    while wanted > frames and wanted > 256:
        wanted //= 2
    return wanted


def _welch(audio: np.ndarray, size: int) -> np.ndarray:
    """Mean power per rfft bin of ``audio`` (frames, channels), averaged over channels."""
    frames = audio.shape[0]
    if frames < size:
        audio = np.concatenate([audio, np.zeros((size - frames, audio.shape[1]))])
        frames = size
    hop = size // 2
    starts = np.arange(0, frames - size + 1, hop)
    window = np.hanning(size)
    total = np.zeros(size // 2 + 1)
    for first in range(0, len(starts), _CHUNK):
        idx = starts[first:first + _CHUNK, None] + np.arange(size)[None, :]
        segments = audio[idx] * window[None, :, None]  # (segments, size, channels)
        power = np.abs(np.fft.rfft(segments, axis=1)) ** 2
        total += power.sum(axis=(0, 2))
    return total / (len(starts) * audio.shape[1])


def centres_hz(rate: int) -> np.ndarray:
    """The log-spaced points a spectrum is read on: 20 Hz up to 20 kHz or just under Nyquist."""
    high = min(HIGH_HZ, 0.47 * rate)
    count = max(2, round(POINTS * math.log(high / LOW_HZ) / math.log(HIGH_HZ / LOW_HZ)))
    return np.geomspace(LOW_HZ, high, count)


def spectrum(audio: np.ndarray, rate: int) -> dict[str, list]:
    """Long-term average spectrum of a stereo master for the report.

    Parameters
    ----------
    audio : ndarray, shape (frames, 2)
        The master, floating point, any level.
    rate : int
        Its sample rate in Hz.

    Returns
    -------
    dict
        ``{"freqs_hz": [...], "db": [...]}``, about 100 points from 20 Hz to
        20 kHz; ``db`` is power per sixth of an octave relative to the mean
        across the band (pink noise reads flat near 0 dB). Every ``db`` is
        None for digital silence.

    Raises
    ------
    ValueError
        When ``audio`` is not (frames, 2), holds NaN or Inf, or ``rate`` is not positive.
    """
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim != 2 or audio.shape[1] != 2:
        raise ValueError(f"audio must have shape (frames, 2), not {audio.shape}")
    if rate <= 0:
        raise ValueError(f"rate must be positive, not {rate}")
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio holds NaN or Inf")
    centres = centres_hz(rate)
    freqs = [round(float(f), 2) for f in centres]
    if audio.shape[0] == 0 or not np.any(audio):
        return {"freqs_hz": freqs, "db": [None] * len(freqs)}
    size = _segment_frames(rate, audio.shape[0])
    bins = np.fft.rfftfreq(size, 1.0 / rate)
    weighted = _welch(audio, size) * bins  # power x frequency: pink is flat
    half = 2.0 ** (SMOOTH_OCTAVES / 2.0)
    bands = np.empty(len(centres))
    for k, centre in enumerate(centres):
        inside = (bins >= centre / half) & (bins <= centre * half)
        # below a few hundred Hz a sixth of an octave may hold no bin: read between bins
        bands[k] = weighted[inside].mean() if inside.any() else np.interp(centre, bins, weighted)
    mean = bands.mean()
    db = 10.0 * np.log10(np.maximum(bands / mean, 1e-12))
    return {"freqs_hz": freqs, "db": [round(float(v), 2) for v in db]}
