"""Measure aliasing: the strongest spectral component that is not a harmonic of a tone.

A nonlinearity fed a sine of ``f0`` makes harmonics ``k f0``; those above
Nyquist must be removed before (or instead of) folding back. What folds
back lands at ``|k f0 - m fs|``, which for a tone coprime with the sample
rate is never a harmonic's frequency below Nyquist. So everything in the
spectrum but the harmonics (and DC) is aliasing, or noise.

The measurement uses coherent sampling: ``n = fs`` samples (1 Hz bins) and
an integer ``f0``, so every harmonic and every alias of a periodic output
sits exactly on a bin and a rectangular window leaks nothing: the floor is
the float64 rounding (about -300 dB), not a window's sidelobes (a
Blackman-Harris window's -92 dB would hide the -90 dB bound).
"""

from __future__ import annotations

import math

import numpy as np


def coprime_tone(freq_hz: float, fs: float) -> int:
    """The integer frequency nearest ``freq_hz`` that shares no factor with ``fs``.

    Then no harmonic folds onto another harmonic (or DC), so aliases cannot
    hide under the components the measurement excludes.
    """
    rate = round(fs)
    f = round(freq_hz)
    for step in range(10000):
        for cand in (f + step, f - step):
            if 0 < cand < rate // 2 and math.gcd(cand, rate) == 1:
                return cand
    raise ValueError(f"no tone coprime with {fs} Hz near {freq_hz} Hz")


def alias_level_db(y: np.ndarray, f0: int, fs: float) -> tuple[float, float]:
    """Strongest non-harmonic component of ``y`` relative to the fundamental, in dB.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Exactly ``round(fs)`` samples of a steady (periodic) output, so bins are 1 Hz.
    f0 : int
        The tone's frequency in Hz (an integer: it sits on a bin).
    fs : float
        Sample rate in Hz.

    Returns
    -------
    (float, float)
        The level in dB relative to the fundamental, and the frequency in Hz
        where it lies.
    """
    n = round(fs)
    if y.shape != (n,):
        raise ValueError(f"need exactly {n} samples (1 Hz bins), got {y.shape}")
    power = np.abs(np.fft.rfft(y)) ** 2
    fundamental = power[f0]
    others = power.copy()
    others[0] = 0.0  # DC: the input high-pass's business, not an alias
    others[f0 : len(others) : f0] = 0.0  # the harmonics below Nyquist
    worst = int(np.argmax(others))
    return 10.0 * math.log10(max(others[worst], 1e-300) / fundamental), float(worst)
