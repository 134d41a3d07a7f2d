"""True-peak meter of ITU-R BS.1770-4 Annex 2, streaming and whole-file alike.

The signal is oversampled with the Annex-2 48-tap polyphase FIR (12 taps per
phase) and the largest magnitude is kept per channel; the reading is the
larger of that and the sample peak. The oversampling factor follows the
sample rate the way libebur128 does: 4x below 88.2 kHz, 2x at 88.2/96 kHz and
none from 176.4 kHz up, so the interpolated rate is always about 192 kHz.

Every interpolated point is the same sum, in the same order, whatever the
block size, so feeding a file in blocks of any size gives the very same
reading as one call over the whole array. The FIR is not flushed at the end:
the last interpolated points of a file are those the streaming meter has seen.

The work goes in runs of :data:`RUN` samples: the 12 samples before a run and
the run itself are laid out in one line, so the four branches of every point
are computed side by side (the loop vectorises), then the maxima are kept.

The state is one float64 array::

    [sample_rate, channels, oversampling, position,
     running max per channel (channels values),
     doubled FIR history per channel (channels x 24 values),
     a run's line (12 + RUN values), its points' magnitudes (RUN values)]
"""

from __future__ import annotations

import numpy as np

from dsp._jit import kernel

TAPS = 12
"""Taps per polyphase branch of the Annex-2 interpolator."""

ANNEX2 = np.array(
    [
        [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000,
         -0.0594482421875, 0.1373291015625, 0.9721679687500, -0.1022949218750,
         0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500],
        [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250,
         -0.1665039062500, 0.4650878906250, 0.7797851562500, -0.2003173828125,
         0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375],
        [-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000,
         -0.2003173828125, 0.7797851562500, 0.4650878906250, -0.1665039062500,
         0.0891113281250, -0.0517578125000, 0.0292968750000, -0.0291748046875],
        [-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750,
         -0.1022949218750, 0.9721679687500, 0.1373291015625, -0.0594482421875,
         0.0332031250000, -0.0196533203125, 0.0109863281250, 0.0017089843750],
    ]
)
"""Annex-2 polyphase branches, ``ANNEX2[k, j]`` multiplies ``x[n - j]``.

Branch k interpolates at n - 5.875 + k/4, so all four points fall between
x[n - 6] and x[n - 5]; none coincides with a sample, hence the separate
sample peak.
"""

_W = ANNEX2[:, ::-1].copy()  # _W[k, i] multiplies the i-th oldest of the last 12 samples

_SR, _CH, _OS, _POS = 0, 1, 2, 3
_PEAK = 4
RUN = 256
"""Samples the meter lays out and interpolates together."""
_SCRATCH = TAPS + 2 * RUN


def oversampling(sample_rate: float) -> int:
    """Oversampling factor of the meter at ``sample_rate`` (4, 2 or 1, as libebur128)."""
    if sample_rate < 88200.0:
        return 4
    if sample_rate < 176400.0:
        return 2
    return 1


def prepare(sample_rate: float, channels: int) -> np.ndarray:
    """Allocate a meter for ``channels`` channels at ``sample_rate`` (off the audio thread).

    Parameters
    ----------
    sample_rate : float
        Sample rate in Hz; it picks the oversampling factor.
    channels : int
        Number of channels the blocks given to :func:`process` will have.

    Returns
    -------
    ndarray, shape (4 + 25 * channels + 12 + 2 * RUN,)
        The meter state, cleared.
    """
    state = np.zeros(_PEAK + channels * (1 + 2 * TAPS) + _SCRATCH)
    state[_SR] = sample_rate
    state[_CH] = channels
    state[_OS] = oversampling(sample_rate)
    return state


@kernel
def reset(state: np.ndarray) -> None:
    """Clear the running maxima and the FIR history; keep rate and channel count."""
    state[_POS] = 0.0
    state[_PEAK:] = 0.0


@kernel
def process(x: np.ndarray, state: np.ndarray) -> None:
    """Feed a block to the meter and update the per-channel running maxima.

    Parameters
    ----------
    x : ndarray, shape (n, channels), float64
        The block; not modified. Any n, including 0.
    state : ndarray
        From :func:`prepare`.
    """
    channels = int(state[_CH])
    os = int(state[_OS])
    start = int(state[_POS])
    n = x.shape[0]
    line = _PEAK + channels * (1 + 2 * TAPS)  # the run's 12 + RUN samples, oldest first
    mags = line + TAPS + RUN  # the largest magnitude of each point's branches
    for c in range(channels):
        base = _PEAK + channels + 2 * TAPS * c
        peak = state[_PEAK + c]
        p = start
        for first in range(0, n, RUN):
            m = min(RUN, n - first)
            for k in range(TAPS):  # the 12 newest samples so far, oldest first
                state[line + k] = state[base + p + k]
            for i in range(m):
                state[line + TAPS + i] = x[first + i, c]
            # as views of their own, LLVM sees that the line and the results are
            # apart, and vectorises (3x faster than indexing ``state`` itself)
            if os == 4:
                _branches4(state[line:mags], state[mags:mags + RUN], m)
            elif os == 2:
                _branches2(state[line:mags], state[mags:mags + RUN], m)
            for i in range(m):
                a = abs(state[line + TAPS + i])
                if a > peak:
                    peak = a
                if os != 1:
                    peak = max(peak, state[mags + i])
            for i in range(max(0, m - TAPS), m):  # the ring keeps the last 12
                q = (p + i) % TAPS
                state[base + q] = state[line + TAPS + i]
                state[base + q + TAPS] = state[line + TAPS + i]
            p = (p + m) % TAPS
        state[_PEAK + c] = peak
    state[_POS] = (start + n) % TAPS


@kernel
def _branches4(line: np.ndarray, mags: np.ndarray, m: int) -> None:
    """The largest magnitude of the four branches at each of a run's ``m`` samples.

    Point i's 12 newest samples, oldest first, are ``line[i + 1 : i + 13]``;
    each branch sums them in that order.
    """
    for i in range(m):
        h = i + 1
        y0 = 0.0
        y1 = 0.0
        y2 = 0.0
        y3 = 0.0
        for k in range(TAPS):
            s = line[h + k]
            y0 += _W[0, k] * s
            y1 += _W[1, k] * s
            y2 += _W[2, k] * s
            y3 += _W[3, k] * s
        mags[i] = max(abs(y0), abs(y1), abs(y2), abs(y3))


@kernel
def _branches2(line: np.ndarray, mags: np.ndarray, m: int) -> None:
    """:func:`_branches4` for 2x oversampling: branches 0 and 2."""
    for i in range(m):
        h = i + 1
        y0 = 0.0
        y2 = 0.0
        for k in range(TAPS):
            s = line[h + k]
            y0 += _W[0, k] * s
            y2 += _W[2, k] * s
        mags[i] = max(abs(y0), abs(y2), 0.0)


def channel_peaks(state: np.ndarray) -> np.ndarray:
    """Linear true peak of each channel so far: the larger of true and sample peak.

    Returns
    -------
    ndarray, shape (channels,)
        A copy, safe to keep.
    """
    channels = int(state[_CH])
    return state[_PEAK : _PEAK + channels].copy()


def true_peak(x: np.ndarray, sample_rate: float) -> float:
    """Linear true peak of a whole array, all channels together.

    Parameters
    ----------
    x : ndarray, shape (n,) or (n, channels)
        Audio; converted to float64 if needed.
    sample_rate : float
        Sample rate in Hz.

    Returns
    -------
    float
        The largest per-channel reading (0.0 for an empty array).
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    state = prepare(sample_rate, a.shape[1])
    process(np.ascontiguousarray(a), state)
    peaks = channel_peaks(state)
    return float(peaks.max()) if peaks.size else 0.0
