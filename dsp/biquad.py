"""Second-order sections: coefficient design, kept apart from processing.

``design`` turns one EQ band's settings into normalised biquad coefficients
``(b0, b1, b2, a1, a2)`` (``a0 = 1``), for

    H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2).

It is a jitted scalar function, so the EQ kernel calls it per sample while a
parameter glides; Python calls it too. ``response`` gives the digital filter's
complex response (tests, the UI's EQ curve); ``analog_response`` the analog
prototype's magnitude, which the design imitates.

The prototypes are the RBJ cookbook's analog filters (``A = 10^(dB/40)``,
``x = f / f0``): bell ``(s² + sA/Q + 1) / (s² + s/(AQ) + 1)``, low shelf
``A (s² + s√A/Q + A) / (A s² + s√A/Q + 1)``, high shelf its mirror,
``s² / (s² + s/Q + 1)`` and ``1 / (s² + s/Q + 1)``.

Design: matched, not bilinear (Vicanek 2016, "Matched Second Order Digital
Filters"). The bilinear transform squeezes the whole analog axis below
Nyquist, so a 16 kHz bell at 48 kHz loses 3 dB at 20 kHz ("cramping"). Here
one pair of roots, the lower one, is mapped by impulse invariance
(``z = e^{s}``, exact placement and damping), and the other pair is chosen so
that ``|H|²`` equals the analog ``|H|²`` at DC and in value and slope at a
matching frequency ``wm`` (the peak of a bell, the upper corner of a shelf),
and so it stays close up to Nyquist. All ``|.|²`` are handled as quadratics
in ``s = sin²(w/2)``, which keeps the arithmetic well conditioned down to
20 Hz at 192 kHz. Cuts are the exact inverses of boosts (the prototypes obey
``H(-dB) = 1 / H(+dB)``, and the high shelf is ``G / low shelf``), so boost
and cut are mirror images in dB and the impulse-invariant pair always sits at
the lower frequency. The high pass keeps its double zero at DC exact (12 dB
per octave at the bottom) and matches its poles instead. A fit that would
not be realisable (a negative ``|B|²`` at Nyquist, roots on the unit circle)
is clamped, continuously, so the poles stay strictly inside the unit circle.
"""

from __future__ import annotations

import math

import numpy as np

from dsp._jit import kernel
from dsp.params import EQ_TYPES

BELL, LOW_SHELF, HIGH_SHELF, HIGH_PASS, LOW_PASS = range(5)
if EQ_TYPES != ("bell", "low_shelf", "high_shelf", "high_pass", "low_pass"):
    raise RuntimeError("dsp.biquad: type constants no longer follow params.EQ_TYPES")

MAX_FREQ_RATIO = 0.49
"""Design frequencies are clamped to this fraction of the sample rate."""
MATCH_CAP = 0.9 * math.pi
"""Highest matching frequency (rad/sample); above it the slope condition is ill posed."""
NYQUIST_FLOOR = 0.25
"""A fit may undershoot the analog ``|H|²`` at Nyquist by at most this factor."""
ROOT_MARGIN = 1e-7
"""Fitted roots keep at least this relative distance from the unit circle."""


@kernel
def _poles(w, zeta):
    """Impulse-invariant roots of ``s² + 2ζws + w²`` and their ``|A|²`` quadratic.

    Returns ``a1, a2, c0, c1, c2`` with ``|1 + a1/z + a2/z²|² = c0 + c1 s + c2 s²``
    on the unit circle, ``s = sin²(w/2)``; computed from ``1 - r`` and
    ``sin²`` terms, never from ``1 + a1 + a2``, so poles near z = 1 keep their
    precision.
    """
    if zeta < 1.0:
        r = math.exp(-zeta * w)
        theta = w * math.sqrt(1.0 - zeta * zeta)
        a1 = -2.0 * r * math.cos(theta)
        a2 = r * r
        one_minus_r = -math.expm1(-zeta * w)
        sin_half = math.sin(0.5 * theta)
        m = one_minus_r * one_minus_r + 4.0 * r * sin_half * sin_half  # 1 + a1 + a2
        e2 = -math.expm1(-2.0 * zeta * w)  # 1 - a2
    else:
        root = math.sqrt(zeta * zeta - 1.0)
        x1 = w / (zeta + root)
        x2 = w * (zeta + root)
        p1 = math.exp(-x1)
        p2 = math.exp(-x2)
        a1 = -(p1 + p2)
        a2 = p1 * p2
        m = math.expm1(-x1) * math.expm1(-x2)
        e2 = -math.expm1(-x1 - x2)
    return a1, a2, m * m, 4.0 * e2 * (m + e2) - 8.0 * m, 16.0 * (1.0 - e2)


@kernel
def _analog2(c2, c1, c0, x):
    """``|c2 (jx)² + c1 (jx) + c0|²`` and its derivative in ``x``."""
    re = c0 - c2 * x * x
    return re * re + c1 * c1 * x * x, 2.0 * x * (c1 * c1 - 2.0 * c2 * re)


@kernel
def _fit(y0, ym, dym, yn, sm):
    """Quadratic ``p0 + p1 s + p2 s²``: ``y0`` at 0, value ``ym`` and slope ``dym`` at ``sm``.

    If that parabola would fall below ``NYQUIST_FLOOR * yn`` at Nyquist (``s = 1``),
    the slope condition gives way to that floor; both fits agree at the switch.
    """
    p2 = (y0 + dym * sm - ym) / (sm * sm)
    p1 = dym - 2.0 * p2 * sm
    floor = NYQUIST_FLOOR * yn
    if y0 + p1 + p2 < floor:
        u = floor - y0
        p2 = (u * sm - (ym - y0)) / (sm * (1.0 - sm))
        p1 = u - p2
    return y0, p1, p2


@kernel
def _factor(p0, p1, p2):
    """Minimum-phase ``(b0, b1, b2)`` with ``|b0 + b1/z + b2/z²|² = p0 + p1 s + p2 s²``.

    ``B0 = p0`` and ``B1 = p0 + p1 + p2`` are the squared gains at DC and
    Nyquist; ``d = (b0 - b2)²`` is formed without the cancellation of
    ``W² + B2``. A non-realisable input is pulled onto the unit circle and
    then ``ROOT_MARGIN`` inside it.
    """
    r0 = math.sqrt(max(p0, 0.0))
    r1 = math.sqrt(max(p0 + p1 + p2, 0.0))
    w = 0.5 * (r0 + r1)
    b1 = 0.5 * (r0 - r1)
    d = 0.25 * (2.0 * p0 + p1 + 2.0 * r0 * r1)
    d_min = ROOT_MARGIN * w * ROOT_MARGIN * w
    if d > d_min:
        b0 = 0.5 * (w + math.sqrt(d))
        b2 = p2 / (16.0 * b0)
    else:
        b0 = 0.5 * (w + math.sqrt(d_min))
        b2 = w - b0
    return b0, b1, b2


@kernel
def _matched(n2, n1, n0, d2, d1, d0, w0, wm):
    """Impulse-invariant poles of the analog denominator, magnitude-matched zeros.

    Analog ``(n2 p² + n1 p + n0) / (d2 p² + d1 p + d0)`` in ``p = s/w0``;
    ``w0`` and the matching frequency ``wm`` in rad/sample.
    """
    wp = w0 * math.sqrt(d0 / d2)
    a1, a2, c0, c1, c2 = _poles(wp, d1 / (2.0 * math.sqrt(d0 * d2)))
    sm = math.sin(0.5 * wm) ** 2
    xm = wm / w0
    num, dnum = _analog2(n2, n1, n0, xm)
    den, dden = _analog2(d2, d1, d0, xm)
    t = num / den
    dt_ds = (dnum * den - num * dden) / (den * den) / w0 * 2.0 / math.sin(wm)
    pa = c0 + (c1 + c2 * sm) * sm
    y0 = (n0 / d0) ** 2 * c0
    ym = t * pa
    dym = dt_ds * pa + t * (c1 + 2.0 * c2 * sm)
    num_n, _ = _analog2(n2, n1, n0, math.pi / w0)
    den_n, _ = _analog2(d2, d1, d0, math.pi / w0)
    yn = num_n / den_n * (c0 + c1 + c2)
    b0, b1, b2 = _factor(*_fit(y0, ym, dym, yn, sm))
    return b0, b1, b2, a1, a2


@kernel
def _matched_highpass(q, w0, wm):
    """High-pass: a fixed double zero at DC and a magnitude-matched denominator.

    With ``b = b0 (1 - 1/z)²`` we need ``|A|²/b0² = 16 s² / T``, which is
    ``k² |D(jx)|²`` with ``k = w0² sinc²(w/2)``; fit that at DC and in value
    and slope at ``wm``, then factor it into stable poles.
    """
    u = 0.5 * wm
    sinc = math.sin(u) / u
    k = w0 * w0 * sinc * sinc
    dk = w0 * w0 * sinc * (u * math.cos(u) - math.sin(u)) / (u * u)
    den, dden = _analog2(1.0, 1.0 / q, 1.0, wm / w0)
    ym = k * k * den
    dym = (2.0 * k * dk * den + k * k * dden / w0) * 2.0 / math.sin(wm)
    kn = w0 * w0 * 4.0 / (math.pi * math.pi)
    den_n, _ = _analog2(1.0, 1.0 / q, 1.0, math.pi / w0)
    c0, c1, c2 = _factor(*_fit(w0 ** 4, ym, dym, kn * kn * den_n, math.sin(u) ** 2))
    g = 1.0 / c0
    return g, -2.0 * g, g, c1 * g, c2 * g


@kernel
def _invert(b0, b1, b2, a1, a2):
    """Coefficients of ``1 / H``."""
    g = 1.0 / b0
    return g, a1 * g, a2 * g, b1 * g, b2 * g


@kernel
def design(kind, freq_hz, gain_db, q, sample_rate):
    """Design one band: normalised ``(b0, b1, b2, a1, a2)`` matched to the analog prototype.

    Parameters
    ----------
    kind : int
        Index into ``params.EQ_TYPES`` (``BELL`` .. ``LOW_PASS``); others give identity.
    freq_hz : float
        Centre / corner frequency; clamped to ``MAX_FREQ_RATIO * sample_rate``.
    gain_db : float
        Bell and shelf gain; exactly 0 gives the identity filter. Ignored by the passes.
    q : float
        Quality factor (RBJ's Q, for shelves too).
    sample_rate : float
        Hz.

    Returns
    -------
    tuple of 5 float
        ``b0, b1, b2, a1, a2``; poles strictly inside the unit circle.
    """
    f = min(max(freq_hz, 1e-3), MAX_FREQ_RATIO * sample_rate)
    w0 = 2.0 * math.pi * f / sample_rate
    q = max(q, 1e-3)
    wm = min(w0, MATCH_CAP)
    if kind == HIGH_PASS:
        return _matched_highpass(q, w0, wm)
    if kind == LOW_PASS:
        return _matched(0.0, 0.0, 1.0, 1.0, 1.0 / q, 1.0, w0, wm)
    if gain_db == 0.0 or kind < BELL or kind > HIGH_SHELF:
        return 1.0, 0.0, 0.0, 0.0, 0.0
    a = 10.0 ** (abs(gain_db) / 40.0)  # boost amount; cuts are inverted boosts
    if kind == BELL:
        b0, b1, b2, a1, a2 = _matched(1.0, a / q, 1.0, 1.0, 1.0 / (a * q), 1.0, w0, wm)
        if gain_db < 0.0:
            return _invert(b0, b1, b2, a1, a2)
        return b0, b1, b2, a1, a2
    ra = math.sqrt(a)  # low-shelf boost: poles at w0/√A (impulse invariant), zeros at w0·√A
    b0, b1, b2, a1, a2 = _matched(a, a * ra / q, a * a, a, ra / q, 1.0, w0,
                                  min(w0 * ra, MATCH_CAP))
    if kind == LOW_SHELF:
        if gain_db < 0.0:
            return _invert(b0, b1, b2, a1, a2)
        return b0, b1, b2, a1, a2
    if gain_db > 0.0:  # high shelf(A) = G / low shelf(A), G = A²
        b0, b1, b2, a1, a2 = _invert(b0, b1, b2, a1, a2)
        g = a * a
    else:  # high shelf(1/A) = low shelf(A) / G
        g = 1.0 / (a * a)
    return b0 * g, b1 * g, b2 * g, a1, a2


def _prototype(kind: int, gain_db: float, q: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Analog numerator and denominator ``(c2, c1, c0)`` in ``p = s / w0``."""
    a = 10.0 ** (gain_db / 40.0)
    ra = math.sqrt(a)
    return {
        BELL: ((1.0, a / q, 1.0), (1.0, 1.0 / (a * q), 1.0)),
        LOW_SHELF: ((a, a * ra / q, a * a), (a, ra / q, 1.0)),
        HIGH_SHELF: ((a * a, a * ra / q, a), (1.0, ra / q, a)),
        HIGH_PASS: ((1.0, 0.0, 0.0), (1.0, 1.0 / q, 1.0)),
        LOW_PASS: ((0.0, 0.0, 1.0), (1.0, 1.0 / q, 1.0)),
    }[kind]


def analog_response(kind: int, freq_hz: float, gain_db: float, q: float,
                    freqs: np.ndarray) -> np.ndarray:
    """Magnitude of the analog prototype, in dB.

    Parameters
    ----------
    kind, freq_hz, gain_db, q : as for :func:`design` (no clamping).
    freqs : array_like, shape (m,)
        Frequencies in Hz.

    Returns
    -------
    ndarray, shape (m,)
        ``20 log10 |H(j 2π f)|``.
    """
    num, den = _prototype(kind, gain_db, q)
    x = np.asarray(freqs, dtype=np.float64) / freq_hz
    n2 = (num[2] - num[0] * x * x) ** 2 + (num[1] * x) ** 2
    d2 = (den[2] - den[0] * x * x) ** 2 + (den[1] * x) ** 2
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(n2 / d2)


def response(coefs: np.ndarray, freqs: np.ndarray, sample_rate: float) -> np.ndarray:
    """Complex frequency response of one biquad or a cascade.

    Parameters
    ----------
    coefs : array_like, shape (5,) or (k, 5)
        ``b0, b1, b2, a1, a2`` per section; sections are multiplied (in series).
    freqs : array_like, shape (m,)
        Frequencies in Hz.
    sample_rate : float
        Hz.

    Returns
    -------
    ndarray of complex128, shape (m,)
    """
    c = np.atleast_2d(np.asarray(coefs, dtype=np.float64))[:, :, None]
    z = np.exp(-2j * np.pi * np.asarray(freqs, dtype=np.float64) / sample_rate)
    num = c[:, 0] + z * (c[:, 1] + z * c[:, 2])
    den = 1.0 + z * (c[:, 3] + z * c[:, 4])
    return np.prod(num / den, axis=0)


def response_db(coefs: np.ndarray, freqs: np.ndarray, sample_rate: float) -> np.ndarray:
    """Magnitude of :func:`response` in dB (floored at -400 dB), shape (m,)."""
    return 20.0 * np.log10(np.maximum(np.abs(response(coefs, freqs, sample_rate)), 1e-20))
