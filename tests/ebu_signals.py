"""Synthesis of the EBU Tech 3341 and Tech 3342 test signals (their definitions are public).

"Tone" is a 1 kHz sine whose level is the per-channel peak in dBFS; stereo
means the same signal in phase in both channels. Only the signals defined
exactly are here: Tech 3341 cases 1-6 and 9-14 and Tech 3342 cases 1-4 (3341
cases 7/8 and 3342 cases 5/6 are recorded programme). Levels and durations
follow Tech 3341 Table 1 and Tech 3342 Table 1.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

Part = tuple[float | None, float]
"""A (level in dBFS or None for silence, duration in seconds) segment."""


def tone(level_db: float, seconds: float, rate: int = 48000, channels: int = 2,
         freq: float = 1000.0) -> np.ndarray:
    """A sine of peak ``level_db`` dBFS in every channel, shape (n, channels)."""
    n = round(seconds * rate)
    s = 10.0 ** (level_db / 20.0) * np.sin(2.0 * np.pi * freq * np.arange(n) / rate)
    return np.repeat(s[:, None], channels, axis=1)


def sequence(parts: list[Part], rate: int = 48000, channels: int = 2) -> np.ndarray:
    """Concatenate tones and silences; each tone restarts at phase 0 as the EBU files do."""
    pieces = [
        np.zeros((round(seconds * rate), channels)) if level is None
        else tone(level, seconds, rate, channels)
        for level, seconds in parts
    ]
    return np.ascontiguousarray(np.concatenate(pieces))


def case_3341(number: int, rate: int = 48000) -> np.ndarray:
    """Tech 3341 case 1-5, 9, 11, 12 or 14 as one signal (stereo)."""
    parts: dict[int, list[Part]] = {
        1: [(-23.0, 20.0)],
        2: [(-33.0, 20.0)],
        3: [(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)],
        4: [(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)],
        5: [(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)],
        9: [(-20.0, 1.34), (-30.0, 1.66)] * 5,
        11: [p for k in range(20) for p in ((None, 0.15 * k), (-38.0 + k, 3.0),
                                            (None, 3.0 - 0.15 * k))],
        12: [(-20.0, 0.18), (-30.0, 0.22)] * 25,
        14: [p for k in range(20) for p in ((None, 0.02 * k), (-38.0 + k, 0.4),
                                            (None, 0.4 - 0.02 * k))],
    }
    return sequence([p for p in parts[number] if p[1] > 0.0], rate)


def case_3341_6(rate: int = 48000, with_lfe: bool = False) -> np.ndarray:
    """Case 6: 5.0 tones L,R -28, C -24, Ls,Rs -30 dBFS for 20 s (L R C [LFE] Ls Rs)."""
    levels = [-28.0, -28.0, -24.0, -30.0, -30.0]
    chans = [tone(level, 20.0, rate, 1) for level in levels]
    if with_lfe:
        chans.insert(3, tone(-20.0, 20.0, rate, 1))  # LFE content the meter must ignore
    return np.ascontiguousarray(np.concatenate(chans, axis=1))


def case_3341_file(number: int, i: int, rate: int = 48000) -> np.ndarray:
    """Case 10 or 13, file ``i`` of 0..19 (silence offset, tone at -23 dBFS, 1 s silence)."""
    if number == 10:
        parts: list[Part] = [(None, 0.15 * i), (-23.0, 3.0), (None, 1.0)]
    elif number == 13:
        parts = [(None, 0.02 * i), (-23.0, 0.4), (None, 1.0)]
    else:
        raise ValueError(f"case {number} is not a multi-file case (10 or 13)")
    return sequence([p for p in parts if p[1] > 0.0], rate)


def case_3342(number: int, rate: int = 48000) -> np.ndarray:
    """Tech 3342 case 1-4: consecutive 20 s tones."""
    levels = {1: [-20.0, -30.0], 2: [-20.0, -15.0], 3: [-40.0, -20.0],
              4: [-50.0, -35.0, -20.0, -35.0, -50.0]}[number]
    return sequence([(level, 20.0) for level in levels], rate)


EXPECTED_3342 = {1: 10.0, 2: 5.0, 3: 20.0, 4: 15.0}


def music_like(seconds: float, rate: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    """Programme-like test material: partials with slow envelopes, pink-ish noise, pauses.

    Not music, but it has what meters react to: a spectrum across the band,
    level changes of tens of dB at several time scales, decorrelated channels
    and a few near-silent gaps.
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    out = np.zeros((n, channels))
    for _ in range(12):
        freq = float(np.exp(rng.uniform(np.log(40.0), np.log(min(12000.0, rate * 0.4)))))
        rate_hz = rng.uniform(0.05, 2.0)
        env = 0.5 * (1.0 + np.sin(2.0 * np.pi * rate_hz * t + rng.uniform(0, 6.3))) ** 2
        for c in range(channels):
            phase = rng.uniform(0, 2.0 * np.pi)
            out[:, c] += 0.05 * env * np.sin(2.0 * np.pi * freq * t + phase)
    noise = lfilter([1.0], [1.0, -0.9], rng.standard_normal((n, channels)), axis=0)
    noise *= 0.02 / float(np.std(noise))
    swell = 10.0 ** ((-20.0 + 20.0 * np.sin(2.0 * np.pi * t / max(seconds, 1.0)) ** 2) / 20.0)
    out += noise * swell[:, None]
    gap = (t % 7.0) > 6.5
    out[gap] *= 1e-3
    return np.ascontiguousarray(out)


def white_noise(seconds: float, rate: int, channels: int = 2, level_db: float = -20.0,
                seed: int = 1) -> np.ndarray:
    """Gaussian white noise with an RMS of ``level_db`` dBFS per channel."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    return 10.0 ** (level_db / 20.0) * rng.standard_normal((n, channels))
