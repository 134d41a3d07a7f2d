"""Codec check: what a streaming master's true peak becomes after AAC, MP3 and Opus.

A lossy codec throws away parts of the spectrum and adds quantisation noise, so
the decoded waveform peaks above the master: a dense master at -1 dBTP can come
back at +2 or +3 dBTP. A listener's fixed-point decoder clips there. So each
master is encoded with the real encoder from its first sample, decoded back to
float (nothing clipped), lined up with the source (:mod:`.align`), and measured
with masterdeck's own BS.1770 true-peak meter. Above :data:`WARN_DBTP` the
result is a warning: the master needs less level or a lower ceiling.

Opus only runs at 48 kHz, and every Opus decoder outputs 48 kHz, so the source
is resampled to 48 kHz with soxr VHQ before encoding and the decode is measured
at 48 kHz, as a listener's player produces it; resampling it back would add a
second resampler's overshoot to the figure. ``CodecResult.rate_hz`` says which
rate a figure is at.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from console.delivery import align, ffmpeg
from dsp import truepeak
from dsp.errors import ParameterError

WARN_DBTP = -0.1
"""Decoded true peak above which a codec result is a warning: a decoder clips near 0 dBFS."""

OPUS_RATE = 48000


@dataclass(frozen=True)
class Codec:
    """One lossy target: ffmpeg's encoder, its bit rate and the file it goes into."""

    name: str
    encoder: str
    bitrate_kbps: int
    suffix: str
    priming: int
    """The encoder's documented delay in samples at its rate (1024 for FFmpeg's AAC, 576 + 529
    for LAME, the 312-sample pre-skip for libopus): used only when the audio cannot tell."""
    rate_hz: int | None = None
    """The rate the codec must run at, or None for the source's."""


CODECS: dict[str, Codec] = {c.name: c for c in (
    Codec("aac-256", "aac", 256, ".m4a", 1024),
    Codec("mp3-320", "libmp3lame", 320, ".mp3", 1105),
    Codec("mp3-128", "libmp3lame", 128, ".mp3", 1105),
    Codec("opus-160", "libopus", 160, ".opus", 312, OPUS_RATE),
    Codec("opus-96", "libopus", 96, ".opus", 312, OPUS_RATE),
)}
"""The codecs :func:`check_codecs` knows, by name."""

DEFAULT_CODECS = ("aac-256", "mp3-320", "opus-160")


@dataclass(frozen=True)
class CodecResult:
    """What one codec did to a master. dB figures are None for silence."""

    codec: str
    """Name from :data:`CODECS`, e.g. ``"aac-256"``."""
    bitrate_kbps: int
    rate_hz: int
    """The rate the figures were measured at (48000 for Opus)."""
    source_true_peak_dbtp: float | None
    """The master's true peak at ``rate_hz``: what went into the encoder."""
    true_peak_dbtp: float | None
    """The decoded audio's BS.1770 true peak."""
    sample_peak_dbfs: float | None
    delay_samples: int
    """The encoder's delay cut away, at ``rate_hz``."""
    delay_measured: bool
    """True when ``delay_samples`` was found in the audio by cross-correlation; False when
    the audio could not tell (a steady tone lines up once a period) and the encoder's
    documented delay was used."""
    overs: int
    """Decoded sample values (all channels) above full scale: what a fixed-point decoder clips."""
    status: str
    """``"warn"`` when ``true_peak_dbtp`` is above :data:`WARN_DBTP`, else ``"pass"``."""

    def as_dict(self) -> dict[str, object]:
        """The result as a plain dict (JSON-ready)."""
        return asdict(self)


def _db(linear: float) -> float | None:
    return 20.0 * math.log10(linear) if linear > 0.0 else None


def _check_input(audio: np.ndarray, rate: int, codecs: tuple[str, ...]) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] == 0:
        raise ParameterError(f"audio must have shape (frames, 2), got {np.shape(audio)}")
    if not np.isfinite(x).all():
        raise ParameterError("audio contains NaN or infinite samples")
    if not np.any(x):
        raise ParameterError("audio is digital silence: a codec check has nothing to measure")
    if not isinstance(rate, int) or not 8000 <= rate <= 384000:
        raise ParameterError(f"rate must be an int in 8000..384000 Hz, got {rate!r}")
    for name in codecs:
        if name not in CODECS:
            raise ParameterError(f"unknown codec {name!r}; choose from {', '.join(CODECS)}")
    return x


def _check_one(x: np.ndarray, rate: int, codec: Codec, folder: Path) -> CodecResult:
    """Encode, decode, align and measure one codec (runs on a worker thread)."""
    at = codec.rate_hz or rate
    source = x if at == rate else soxr.resample(x, rate, at, quality="VHQ")
    wav = folder / f"{codec.name}.wav"
    sf.write(wav, source.astype(np.float32), at, subtype="FLOAT")
    encoded = folder / f"{codec.name}{codec.suffix}"
    ffmpeg.encode(wav, encoded, codec.encoder, codec.bitrate_kbps)
    decoded = ffmpeg.decode(encoded, source.shape[1])
    try:
        found = align.locate(source, decoded)
    except ParameterError:  # the decode is silent: nothing to line up, nothing to measure
        found = align.Alignment(codec.priming, certain=False)
    delay = found.delay if found.certain else codec.priming
    aligned = align.trim(decoded, delay, source.shape[0])
    peak = _db(truepeak.true_peak(aligned, at))
    return CodecResult(
        codec=codec.name,
        bitrate_kbps=codec.bitrate_kbps,
        rate_hz=at,
        source_true_peak_dbtp=_db(truepeak.true_peak(source, at)),
        true_peak_dbtp=peak,
        sample_peak_dbfs=_db(float(np.max(np.abs(aligned)))),
        delay_samples=delay,
        delay_measured=found.certain,
        overs=int(np.count_nonzero(np.abs(aligned) > 1.0)),
        status="warn" if peak is not None and peak > WARN_DBTP else "pass",
    )


def check_codecs(audio: np.ndarray, rate: int,
                 codecs: tuple[str, ...] = DEFAULT_CODECS, *,
                 workers: int | None = None, keep: Path | None = None) -> list[CodecResult]:
    """Encode a master with each codec from sample 0, decode, align and measure it.

    Parameters
    ----------
    audio : ndarray, shape (frames, 2)
        The streaming master, float, full scale 1.0.
    rate : int
        Its sample rate in Hz.
    codecs : tuple of str
        Names from :data:`CODECS`.
    workers : int, optional
        Codecs run at once, each an ffmpeg process and a meter; default one per core.
    keep : Path, optional
        A folder to keep the encoded files in, to listen to or measure again;
        by default they go into a temporary folder that is removed.

    Returns
    -------
    list of CodecResult
        In the order of ``codecs``.

    Raises
    ------
    ParameterError
        Wrong shape, NaN, digital silence, rate out of range, an unknown codec
        name or fewer than one worker.
    CodecError
        ffmpeg is missing or failed.
    """
    names = tuple(codecs)
    x = _check_input(audio, rate, names)
    if workers is not None and workers < 1:
        raise ParameterError(f"workers must be at least 1, got {workers}")
    count = workers or max(min(len(names), os.cpu_count() or 1), 1)
    with tempfile.TemporaryDirectory(prefix="masterdeck-codecs-") as tmp:
        with ThreadPoolExecutor(max_workers=count) as pool:
            jobs = [pool.submit(_check_one, x, rate, CODECS[n], Path(tmp)) for n in names]
            results = [job.result() for job in jobs]
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for name in names:
                encoded = f"{name}{CODECS[name].suffix}"
                shutil.copyfile(Path(tmp) / encoded, keep / encoded)
    return results
