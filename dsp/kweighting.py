"""K-weighting coefficients for any sample rate, and BS.1770 channel weights.

ITU-R BS.1770-4 tabulates the two K-weighting biquads for 48 kHz only. The
analog prototypes behind that table (a +4 dB high shelf near 1.68 kHz and a
second-order high-pass near 38 Hz) can be recovered from it and re-discretised
with the bilinear transform at any rate; at 48 kHz the result reproduces the
ITU table to about 1e-15, and it is the filter libebur128 and pyloudnorm's
``"DeMan"`` class use. (pyloudnorm's default RBJ-cookbook shelf is a different
curve and reads about 0.04 LU low at 44.1/48 kHz.)
"""

from __future__ import annotations

import math

import numpy as np

from dsp.errors import ParameterError

SHELF_HZ = 1681.974450955533
"""Corner of the pre-filter (high shelf) prototype, Hz."""
SHELF_GAIN_DB = 3.999843853973347
"""High-frequency gain of the shelf, dB."""
SHELF_Q = 0.7071752369554196
SHELF_VB_EXPONENT = 0.4996667741545416
"""Band-gain exponent: Vb = Vh ** exponent (the 48 kHz table is not quite Vh ** 0.5)."""
HIGHPASS_HZ = 38.13547087602444
"""Corner of the RLB high-pass prototype, Hz."""
HIGHPASS_Q = 0.5003270373238773

MIN_RATE_HZ = 8000.0
MAX_RATE_HZ = 768000.0

SURROUND_WEIGHT = 1.41
"""BS.1770 weight of the surround channels (+1.5 dB); L, R and C weigh 1.0."""

_LAYOUTS = {
    1: (1.0,),
    2: (1.0, 1.0),
    3: (1.0, 1.0, 1.0),  # L R C
    4: (1.0, 1.0, SURROUND_WEIGHT, SURROUND_WEIGHT),  # L R Ls Rs (quad)
    5: (1.0, 1.0, 1.0, SURROUND_WEIGHT, SURROUND_WEIGHT),  # L R C Ls Rs
    6: (1.0, 1.0, 1.0, 0.0, SURROUND_WEIGHT, SURROUND_WEIGHT),  # L R C LFE Ls Rs (WAVE order)
    8: (1.0, 1.0, 1.0, 0.0) + (SURROUND_WEIGHT,) * 4,  # L R C LFE + four surrounds (7.1)
}


def check_rate(sample_rate: float) -> float:
    """Return ``sample_rate`` as a float, or raise ParameterError if it is unusable."""
    rate = float(sample_rate)
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise ParameterError(
            f"sample rate {sample_rate!r} Hz is outside {MIN_RATE_HZ:g}..{MAX_RATE_HZ:g} Hz"
        )
    return rate


def coefficients(sample_rate: float) -> np.ndarray:
    """Return the two K-weighting biquads for ``sample_rate``.

    Parameters
    ----------
    sample_rate : float
        Hz, 8 kHz to 768 kHz.

    Returns
    -------
    ndarray, shape (2, 5)
        Row 0 the shelf, row 1 the high-pass, each ``[b0, b1, b2, a1, a2]``
        normalised so that ``a0 == 1``.
    """
    rate = check_rate(sample_rate)
    k = math.tan(math.pi * SHELF_HZ / rate)
    vh = 10.0 ** (SHELF_GAIN_DB / 20.0)
    vb = vh**SHELF_VB_EXPONENT
    a0 = 1.0 + k / SHELF_Q + k * k
    shelf = (
        (vh + vb * k / SHELF_Q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / SHELF_Q + k * k) / a0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / SHELF_Q + k * k) / a0,
    )
    k = math.tan(math.pi * HIGHPASS_HZ / rate)
    d = 1.0 + k / HIGHPASS_Q + k * k
    highpass = (1.0, -2.0, 1.0, 2.0 * (k * k - 1.0) / d, (1.0 - k / HIGHPASS_Q + k * k) / d)
    return np.array([shelf, highpass], dtype=np.float64)


def channel_weights(channels: int, *, dual_mono: bool = False) -> np.ndarray:
    """Return the BS.1770 weight of each channel for a file's channel count.

    Parameters
    ----------
    channels : int
        1 (mono), 2 (L R), 3 (L R C), 4 (L R Ls Rs), 5 (L R C Ls Rs),
        6 (L R C LFE Ls Rs, the WAVE order: the LFE weighs 0), 8 (7.1, LFE
        fourth); any other count weighs every channel 1.0.
    dual_mono : bool
        For a mono file: measure it as played on two speakers, i.e. weight 2
        (+3.01 dB). BS.1770 itself measures mono as one channel of weight 1.

    Returns
    -------
    ndarray, shape (channels,)
    """
    if int(channels) != channels or channels < 1:
        raise ParameterError(f"channels must be a whole number >= 1, got {channels!r}")
    if dual_mono and channels != 1:
        raise ParameterError(f"dual mono applies to 1-channel audio, got {channels} channels")
    if dual_mono:
        return np.array([2.0])
    return np.array(_LAYOUTS.get(int(channels), (1.0,) * int(channels)), dtype=np.float64)
