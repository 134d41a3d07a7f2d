"""Loudness of audio files to EBU R128 / BS.1770-4, measured as they are read.

Files are read in blocks, so a long file never has to fit in memory. The
true-peak meter (4x oversampled, the costlier half) runs on a second thread,
one block behind the gated loudness, while this thread reads on: both
kernels release the GIL, so a two-core machine measures a file in about the
time of the costlier half alone.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor

import soundfile as sf

from dsp import truepeak
from dsp.errors import MasterdeckError
from dsp.meter import LoudnessMeter

BLOCK_FRAMES = 65536
"""Frames read per block."""

KEYS = ("path", "sample_rate", "channels", "duration_s", "integrated_lufs",
        "loudness_range_lu", "true_peak_dbtp", "sample_peak_dbfs", "momentary_max_lufs",
        "short_term_max_lufs", "plr_db")
"""The keys of every JSON object, in order (failed files add ``error``)."""

DECIMALS = 4


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def analyze_file(path: str, *, dual_mono: bool = False) -> dict:
    """Measure one file; return its result object (see :data:`KEYS`).

    Raises
    ------
    OSError, RuntimeError, MasterdeckError
        The file is missing or not audio soundfile can decode, or holds
        NaN/Inf samples.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"is a directory: {path}")
    with sf.SoundFile(path) as audio, ThreadPoolExecutor(1, "true-peak") as peaks:
        rate, channels = audio.samplerate, audio.channels
        meter = LoudnessMeter(rate, channels, dual_mono=dual_mono and channels == 1)
        behind: Future | None = None
        try:
            for block in audio.blocks(BLOCK_FRAMES, dtype="float64", always_2d=True):
                measured = meter.process(block, true_peak=False)
                if behind is not None:
                    behind.result()  # the meter's state takes blocks in order
                behind = peaks.submit(truepeak.process, measured, meter.true_peak_state)
        finally:
            if behind is not None:
                behind.result()
    reading = meter.reading()
    return {
        "path": path,
        "sample_rate": rate,
        "channels": channels,
        "duration_s": _rounded(reading.duration_s),
        **{key: _rounded(getattr(reading, key)) for key in KEYS[4:]},
    }


def failure(path: str, exc: BaseException) -> dict:
    """The result object of a file that could not be measured, with its reason."""
    result: dict = dict.fromkeys(KEYS)
    result["path"] = path
    if isinstance(exc, (FileNotFoundError, IsADirectoryError)):
        message = str(exc)
    elif isinstance(exc, MasterdeckError):
        message = f"cannot measure {path}: {exc}"
    else:  # soundfile's errors carry libsndfile's reason, e.g. "Format not recognised."
        reason = getattr(exc, "error_string", None) or str(exc)
        message = f"cannot read {path} as audio: {reason}"
    result["error"] = message
    return result
