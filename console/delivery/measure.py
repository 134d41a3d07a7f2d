"""The figures a target's rules are judged on, measured on the samples that are delivered."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dsp.meter import LoudnessMeter

LOW_HZ = 150.0
"""Below this, vinyl wants the channels in phase (the cutter's vertical excursion)."""
BLOCK = 65536


def figures(audio: np.ndarray, rate: int) -> dict[str, Any]:
    """Integrated loudness, LRA, max short-term, true peak and length of ``audio`` (frames, 2).

    Measured with masterdeck's own meter (EBU Tech 3341/3342 conformant);
    the tests check the files against ffmpeg's ``ebur128`` as well.
    """
    meter = LoudnessMeter(rate, 2)
    for at in range(0, audio.shape[0], BLOCK):
        meter.process(np.ascontiguousarray(audio[at:at + BLOCK], dtype=np.float64))
    reading = meter.reading()
    return {"integrated_lufs": _round(reading.integrated_lufs),
            "lra_lu": _round(reading.loudness_range_lu),
            "max_short_term_lufs": _round(reading.short_term_max_lufs),
            "max_momentary_lufs": _round(reading.momentary_max_lufs),
            "true_peak_dbtp": _round(reading.true_peak_dbtp),
            "length_s": round(audio.shape[0] / rate, 3)}


def low_side_db(audio: np.ndarray, rate: int) -> float | None:
    """Energy of the side signal (L-R)/2 below :data:`LOW_HZ`, against the mid's, in dB.

    Bass in phase (mono) gives a very low figure; bass out of phase between
    the channels raises it toward 0 dB and above.
    """
    x = np.asarray(audio, dtype=np.float64)
    window = np.hanning(BLOCK)
    low = np.fft.rfftfreq(BLOCK, 1.0 / rate) < LOW_HZ
    mid_energy = side_energy = 0.0
    for at in range(0, x.shape[0], BLOCK // 2):  # Hann windows, half overlapped
        part = x[at:at + BLOCK]
        if part.shape[0] < BLOCK:
            part = np.concatenate([part, np.zeros((BLOCK - part.shape[0], 2))])
        mid = np.fft.rfft(window * 0.5 * (part[:, 0] + part[:, 1]))[low]
        side = np.fft.rfft(window * 0.5 * (part[:, 0] - part[:, 1]))[low]
        mid_energy += float(np.sum(np.abs(mid) ** 2))
        side_energy += float(np.sum(np.abs(side) ** 2))
    if mid_energy <= 0.0 and side_energy <= 0.0:
        return None
    return round(10.0 * math.log10((side_energy + 1e-30) / (mid_energy + 1e-30)), 2)


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 2)
