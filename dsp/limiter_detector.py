"""The limiter's true-peak detector: how loud each sample really is, and the gain it asks for.

A sample-peak limiter lets inter-sample peaks through by several dB, and one
that detects with the BS.1770 Annex-2 FIR passes the BS.1770 meter by
construction but not an independent reconstruction (see the reference
notes). So every interval between two samples is checked at 7 points (8x)
with a Kaiser-windowed sinc *and* at the 4 points of the Annex-2 meter. The
sinc's far taps are shared by all 7 points (for any point they are
sin(pi mu) times the same alternating 1/(j + 1/2) sum), so a 96-tap reach
costs one sum plus 8 near taps per point: short interpolators read
phase-flip signals near Nyquist 3 dB low, this one does not. Both
interpolators are symmetric about the interval's centre, so points come in
mirrored pairs whose larger magnitude is ``|S| + |D|`` (see
:func:`_mirrored`): half the near multiplies. The detector runs in single
precision (twice the vector lanes of double): it only *estimates* peaks for
the gain computer, the audio itself stays double. Its rounding (measured
below 3e-7 of the peak, in a test) is covered by ``IP_GUARD``; a 0.05 dB
meter tolerance is 3,000 times more.

And libebur128's points. A meter whose interpolator is short reads some
programme above the waveform a long sinc reconstructs: libebur128 (4x below
96 kHz, 2x below 192 kHz, each a 49-tap Hann-windowed sinc) read a hot
master 0.07 dB over a ceiling that the 16x reconstruction and the Annex-2
meter both saw held, with hi-hat and guitar energy at 10-20 kHz. So below
192 kHz the detector also reads each interval at that meter's points with
its filter (:data:`EBU_RATES`), and the ceiling holds on it too.

Margin where it is needed. Near Nyquist no interpolator of finite reach
agrees with every other one: on hard onsets of 22-24 kHz tones (at 48 kHz)
this detector reads up to 0.28 dB below a 2049-tap 16x reconstruction.
Rather than lowering every peak by that much, the peak estimate gets
``SLOPE_MARGIN`` times half the largest nearby sample step: about 6 % of the
peak for content at Nyquist, 0.4 % at 1 kHz, nothing for bass, so ordinary
programme loses almost no level. 6 % rather than the 3 % the tone onsets
needed, because ffmpeg's meter (libswresample's short filter up to 192 kHz)
read cymbal-heavy masters 0.046 dB over with 3 %; with 6 % it reads at most
0.017 dB over, for 0.01-0.06 LU of loudness (docs/decisions.md).

Its answer is a request per sample: the gain ``ceiling / max(peak, ceiling)``
that would bring the sample's peak estimate to the ceiling, with the stereo
link applied. The gain computer (:mod:`dsp.limiter_gain`) takes it from
there. The interpolators are designed once, at import, in double precision
(:func:`_interpolator`); :func:`detect` reads their single-precision copies.
"""

from __future__ import annotations

import numpy as np

from dsp._jit import kernel
from dsp.fastmath import fma32
from dsp.truepeak import ANNEX2

REACH = 48
"""Half-length of the 8x interpolator in samples (the detector's delay)."""
NEAR = 4
"""Taps per side computed exactly for each interpolation point."""
KAISER_BETA = 4.0
SLOPE_MARGIN = 0.06
"""Peak allowance per unit of local sample-to-sample step (see the module notes)."""
IP_GUARD = 1.0 + 2.0**-16
"""Allowance on the single-precision interval peaks for their rounding (0.00013 dB)."""
HIST = 2 * REACH - 1
"""Detector history kept between chunks, in samples."""


def _interpolator() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Near taps per point, the shared far taps and the per-point far gain.

    The value at ``k + mu`` (mu = p/8) is ``sum_j NEAR_L[p, j] x[k-j] +
    NEAR_R[p, j] x[k+1+j] + SIN[p] * sum_j FAR[j] (x[k-j] + x[k+1+j])``.
    """
    def window(dist: np.ndarray) -> np.ndarray:
        r = np.clip(1.0 - (dist / (REACH + 0.5)) ** 2, 0.0, 1.0)
        return np.i0(KAISER_BETA * np.sqrt(r)) / np.i0(KAISER_BETA)

    mu = np.arange(1, 8)[:, None] / 8.0
    j = np.arange(NEAR)[None, :]
    near_l = np.sinc(j + mu) * window(j + mu)
    near_r = np.sinc(j + 1.0 - mu) * window(j + 1.0 - mu)
    far_j = np.arange(REACH, dtype=np.float64)
    far = (-1.0) ** far_j * window(far_j + 0.5) / (np.pi * (far_j + 0.5))
    far[:NEAR] = 0.0
    return near_l, near_r, far, np.sin(np.pi * mu[:, 0])


NEAR_L, NEAR_R, FAR, SIN = _interpolator()
_ANNEX = ANNEX2[:, ::-1].copy()  # oldest sample first
EBU_TAPS = 49
EBU_RATES = (96000.0, 192000.0)
"""libebur128 oversamples 4x below the first rate, 2x below the second, not at all above."""


@kernel(inline="always")
def ebu_factor(sample_rate: float) -> int:
    """libebur128's oversampling factor at ``sample_rate`` (1: none)."""
    return 4 if sample_rate < EBU_RATES[0] else (2 if sample_rate < EBU_RATES[1] else 1)


def ebu_taps(factor: int, mu: float, sides: int) -> tuple[np.ndarray, np.ndarray]:
    """libebur128's interpolator at ``mu`` into an interval: taps on ``x[k - j]``, ``x[k + 1 + j]``.

    Its filter is a sinc at the input's Nyquist frequency under a Hann window
    ``EBU_TAPS`` long at the oversampled rate (``factor`` points per sample),
    so the tap for a sample ``d`` samples away is ``sinc(d) hann(factor d)``;
    ``sides`` taps are returned per side (the rest are zero).
    """
    def tap(d: np.ndarray) -> np.ndarray:
        t = factor * d + (EBU_TAPS - 1) / 2.0
        hann = np.where(np.abs(factor * d) <= (EBU_TAPS - 1) / 2.0,
                        0.5 * (1.0 - np.cos(2.0 * np.pi * t / (EBU_TAPS - 1))), 0.0)
        return np.sinc(d) * hann

    j = np.arange(sides, dtype=np.float64)
    return tap(j + mu), tap(j + 1.0 - mu)


def _mirrored() -> tuple[np.ndarray, ...]:
    """The detector's points in mirrored pairs, as half sums and half differences of taps.

    Both interpolators are symmetric about the interval's centre: the sinc
    point at ``mu`` reads the taps of ``1 - mu`` mirrored (``NEAR_L[p] ==
    NEAR_R[6 - p]``; ``SIN[p] == SIN[6 - p]`` in single precision) and so do
    the Annex-2 phases ``q`` and ``3 - q``. With ``u``, ``w`` the sums and
    differences of mirrored samples, a pair's values are ``S + D`` and
    ``S - D`` with ``S = sum (taps + mirrored taps) / 2 * u`` and ``D = sum
    (taps - mirrored taps) / 2 * w``, and the larger magnitude of the two is
    ``|S| + |D|``: half the multiplies of eleven points computed one by one.
    """
    sin32 = SIN.astype(np.float32)  # sin(pi mu) and sin(pi (1 - mu)) differ by an ulp in double
    if not (np.array_equal(NEAR_L, NEAR_R[::-1]) and np.array_equal(sin32, sin32[::-1])
            and np.array_equal(_ANNEX, _ANNEX[::-1, ::-1])):
        raise RuntimeError("dsp.limiter_detector: the detector's interpolators are not symmetric")
    near_s = 0.5 * (NEAR_L[:3] + NEAR_R[:3])  # points 0..2 with 6..4; u_j = x[k-j] + x[k+1+j]
    near_d = 0.5 * (NEAR_L[:3] - NEAR_R[:3])
    annex_s = 0.5 * (_ANNEX[:2, :6] + _ANNEX[:2, :5:-1])  # phases 0, 1 with 3, 2
    annex_d = 0.5 * (_ANNEX[:2, :6] - _ANNEX[:2, :5:-1])
    # libebur128 at 4x: the point at 1/4 with its mirror at 3/4 (6 taps a side), and
    # the centre at 4x and at 2x (12 taps a side at 2x), each its own mirror
    left, right = ebu_taps(4, 0.25, 6)
    ebu4_s, ebu4_d = 0.5 * (left + right), 0.5 * (left - right)
    ebu4_mid = ebu_taps(4, 0.5, 6)[0]
    ebu2_mid = ebu_taps(2, 0.5, 12)[0]
    return tuple(a.astype(np.float32) for a in (near_s, near_d, NEAR_L[3], annex_s, annex_d,
                                                ebu4_s, ebu4_d, ebu4_mid, ebu2_mid))


# the detector's single-precision tables
_FAR, _SIN = FAR.astype(np.float32), SIN.astype(np.float32)
(_NEAR_S, _NEAR_D, _NEAR_MID, _ANNEX_S, _ANNEX_D, _EBU4_S, _EBU4_D, _EBU4_MID,
 _EBU2_MID) = _mirrored()


@kernel
def detect(line64: np.ndarray, line: np.ndarray, peak: np.ndarray, far: np.ndarray,
           m: int, ebu: int) -> None:
    """Peak of each of the ``m`` newest complete intervals of one channel's detector line.

    ``line64`` holds ``HIST`` samples of history then ``m`` new ones; interval
    i lies between ``line64[i + REACH - 1]`` and the next sample and reads
    ``line64[i : i + 2 * REACH]``. The work is in single precision: ``line``
    is the same line in float32 (its history already there; the new samples
    are converted here), ``peak`` gets the peaks, ``far`` is scratch, all
    float32 (a wider type anywhere in a loop halves its vector lanes). The loops run
    over i innermost, so they vectorise, and every sum is a chain of fused
    multiply-adds in a fixed order: results do not depend on how a stream is
    cut into blocks (fma rounds once, so vector and scalar code agree).
    ``ebu`` is libebur128's oversampling factor at the stream's rate
    (:func:`ebu_factor`): its points are read too.
    """
    for i in range(HIST, HIST + m):
        line[i] = np.float32(line64[i])
    c = REACH - 1  # line[c + i] is the sample at the start of interval i
    g0, g1, g2, g3 = _FAR[NEAR], _FAR[NEAR + 1], _FAR[NEAR + 2], _FAR[NEAR + 3]
    left = line[c - NEAR - 3:]  # views, so every index below is provably >= 0
    right = line[c + 1 + NEAR:]
    for i in range(m):  # the first four far taps start the sum
        a = g0 * (left[3 + i] + right[i])
        b = g1 * (left[2 + i] + right[1 + i])
        a = fma32(g2, left[1 + i] + right[2 + i], a)
        b = fma32(g3, left[i] + right[3 + i], b)
        far[i] = a + b
    for j in range(2 * NEAR, REACH, 8):  # shared far taps, eight per pass over the chunk
        g0, g1, g2, g3 = _FAR[j], _FAR[j + 1], _FAR[j + 2], _FAR[j + 3]
        g4, g5, g6, g7 = _FAR[j + 4], _FAR[j + 5], _FAR[j + 6], _FAR[j + 7]
        left = line[c - j - 7:]
        right = line[c + 1 + j:]
        for i in range(m):
            a = g0 * (left[7 + i] + right[i])
            b = g1 * (left[6 + i] + right[1 + i])
            a = fma32(g2, left[5 + i] + right[2 + i], a)
            b = fma32(g3, left[4 + i] + right[3 + i], b)
            a = fma32(g4, left[3 + i] + right[4 + i], a)
            b = fma32(g5, left[2 + i] + right[5 + i], b)
            a = fma32(g6, left[1 + i] + right[6 + i], a)
            b = fma32(g7, left[i] + right[7 + i], b)
            far[i] += a + b
    for i in range(m):  # all eleven points of an interval in one pass, in mirrored pairs
        f = far[i]
        x0, x1, x2, x3 = line[c - 5 + i], line[c - 4 + i], line[c - 3 + i], line[c - 2 + i]
        x4, x5, x6, x7 = line[c - 1 + i], line[c + i], line[c + 1 + i], line[c + 2 + i]
        x8, x9, x10, x11 = line[c + 3 + i], line[c + 4 + i], line[c + 5 + i], line[c + 6 + i]
        u0, u1, u2, u3, u4, u5 = x5 + x6, x4 + x7, x3 + x8, x2 + x9, x1 + x10, x0 + x11
        w0, w1, w2, w3, w4, w5 = x5 - x6, x4 - x7, x3 - x8, x2 - x9, x1 - x10, x0 - x11
        # the centre point (mu = 1/2) is its own mirror
        a = fma32(_NEAR_MID[0], u0, _SIN[3] * f)
        a = fma32(_NEAR_MID[1], u1, a)
        a = fma32(_NEAR_MID[2], u2, a)
        pk = abs(fma32(_NEAR_MID[3], u3, a))
        for p in range(3):  # sinc points p and 6 - p
            a = fma32(_NEAR_S[p, 0], u0, _SIN[p] * f)
            b = _NEAR_D[p, 0] * w0
            a = fma32(_NEAR_S[p, 1], u1, a)
            b = fma32(_NEAR_D[p, 1], w1, b)
            a = fma32(_NEAR_S[p, 2], u2, a)
            b = fma32(_NEAR_D[p, 2], w2, b)
            a = fma32(_NEAR_S[p, 3], u3, a)
            b = fma32(_NEAR_D[p, 3], w3, b)
            pk = max(pk, abs(a) + abs(b))
        for q in range(2):  # the Annex-2 phases q and 3 - q, so the BS.1770 meter agrees
            a = _ANNEX_S[q, 0] * u5
            b = _ANNEX_D[q, 0] * w5
            a = fma32(_ANNEX_S[q, 1], u4, a)
            b = fma32(_ANNEX_D[q, 1], w4, b)
            a = fma32(_ANNEX_S[q, 2], u3, a)
            b = fma32(_ANNEX_D[q, 2], w3, b)
            a = fma32(_ANNEX_S[q, 3], u2, a)
            b = fma32(_ANNEX_D[q, 3], w2, b)
            a = fma32(_ANNEX_S[q, 4], u1, a)
            b = fma32(_ANNEX_D[q, 4], w1, b)
            a = fma32(_ANNEX_S[q, 5], u0, a)
            b = fma32(_ANNEX_D[q, 5], w0, b)
            pk = max(pk, abs(a) + abs(b))
        peak[i] = pk
    if ebu == 4:
        _ebu4(line, peak, m)
    elif ebu == 2:
        _ebu2(line, peak, m)


@kernel
def _ebu4(line: np.ndarray, peak: np.ndarray, m: int) -> None:
    """libebur128's three 4x points of each interval into ``peak`` (a pair and the centre)."""
    c = REACH - 1
    for i in range(m):
        a = np.float32(0.0)
        b = np.float32(0.0)
        mid = np.float32(0.0)
        for j in range(6):
            u = line[c - j + i] + line[c + 1 + j + i]
            a = fma32(_EBU4_S[j], u, a)
            b = fma32(_EBU4_D[j], line[c - j + i] - line[c + 1 + j + i], b)
            mid = fma32(_EBU4_MID[j], u, mid)
        peak[i] = max(peak[i], max(abs(a) + abs(b), abs(mid)))


@kernel
def _ebu2(line: np.ndarray, peak: np.ndarray, m: int) -> None:
    """libebur128's 2x point of each interval (its centre) into ``peak``."""
    c = REACH - 1
    for i in range(m):
        mid = np.float32(0.0)
        for j in range(12):
            mid = fma32(_EBU2_MID[j], line[c - j + i] + line[c + 1 + j + i], mid)
        peak[i] = max(peak[i], abs(mid))


@kernel(inline="always")
def _slope(line: np.ndarray, j: int) -> float:
    """Half the largest step among the four sample pairs around ``line[j]``."""
    a = abs(line[j - 1] - line[j - 2])
    b = abs(line[j] - line[j - 1])
    c = abs(line[j + 1] - line[j])
    d = abs(line[j + 2] - line[j + 1])
    return 0.5 * max(max(a, b), max(c, d))


@kernel(inline="always")
def peak_estimate(line: np.ndarray, j: int, ip: float, ip_before: float) -> float:
    """Peak estimate around the sample ``line[j]``, from its two intervals' peaks.

    The gain that brings it to a ceiling ``c`` is ``c / max(peak, c)``: exactly
    1 at or below the ceiling, and no branch, so the loops vectorise.
    """
    p = max(abs(line[j]), IP_GUARD * np.float64(max(ip, ip_before)))
    return p + SLOPE_MARGIN * _slope(line, j)


@kernel
def gain_requests(line0: np.ndarray, line1: np.ndarray, ip0: np.ndarray, ip1: np.ndarray,
                  req0: np.ndarray, req1: np.ndarray, ceil_det: float, link: float,
                  m: int) -> None:
    """Requests of samples 1 .. m - 1 of a settled chunk (sample 0 needs the last chunk's peak).

    A function of its own, so its loops vectorise (inlined into the stage's
    big loop they did not).
    """
    if link == 1.0:  # both channels get the gain for the louder: one division
        for i in range(1, m):
            p0 = peak_estimate(line0, REACH - 1 + i, ip0[i], ip0[i - 1])
            p1 = peak_estimate(line1, REACH - 1 + i, ip1[i], ip1[i - 1])
            req0[i] = ceil_det / max(max(p0, p1), ceil_det)
        for i in range(1, m):
            req1[i] = req0[i]
    else:
        for i in range(1, m):
            p0 = peak_estimate(line0, REACH - 1 + i, ip0[i], ip0[i - 1])
            p1 = peak_estimate(line1, REACH - 1 + i, ip1[i], ip1[i - 1])
            req0[i], req1[i] = linked_requests(ceil_det / max(p0, ceil_det),
                                               ceil_det / max(p1, ceil_det), link)


@kernel(inline="always")
def linked_requests(r0: float, r1: float, link: float) -> tuple:
    """Both channels' requests pulled toward the smaller by ``link`` (1: exactly the smaller)."""
    low = min(r0, r1)
    if link == 1.0:
        return low, low
    return r0 - link * (r0 - low), r1 - link * (r1 - low)
