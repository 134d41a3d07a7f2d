"""Line a decoded file up with its source: find the encoder's delay and cut it away.

Every lossy encoder starts its output late. FFmpeg's AAC encoder primes 1,024
samples, LAME 1,105 (576 + 529 of decoder delay), libopus 312 (the Ogg
pre-skip). Containers say so in metadata (an MP4 edit list, the LAME tag, the
Ogg header) that some decoders honour and some ignore, so we trust none of it:
the codec check decodes the raw stream and finds the delay by cross-correlation
with the signal that went in. A decoded file that is not aligned compares
sample ``n`` of the source with sample ``n - delay`` of the decode, which makes
every difference and per-position over count wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsp.errors import ParameterError

MAX_LAG = 8192
"""Largest delay searched, either way (about 0.19 s at 44.1 kHz): every encoder we use is
far inside it."""

WINDOW = 1 << 17
"""Source samples correlated (about 3 s at 44.1 kHz): enough to lock on, cheap on long files."""

RIVAL = 0.9
"""A second lag correlating this well (as a fraction of the best) makes the best one uncertain."""


@dataclass(frozen=True)
class Alignment:
    """Where the decoded signal lines up with its source, and whether that is certain."""

    delay: int
    """``decoded[delay + i]`` lines up with ``reference[i]``."""
    certain: bool
    """False when a lag outside the best peak's main lobe correlates nearly as well: a
    periodic signal (a test tone) lines up once every period, so the audio cannot say
    which period is the delay."""


def _mono(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a if a.ndim == 1 else a.sum(axis=1)


def _loudest_window(x: np.ndarray, window: int) -> int:
    """Start of the most energetic ``window`` samples: a fade-in or pregap says nothing."""
    if x.shape[0] <= window:
        return 0
    energy = np.concatenate(([0.0], np.cumsum(x * x)))
    starts = np.arange(0, x.shape[0] - window + 1, max(window // 8, 1))
    sums = energy[starts + window] - energy[starts]
    return int(starts[int(np.argmax(sums))])


def find_delay(reference: np.ndarray, decoded: np.ndarray, *, max_lag: int = MAX_LAG,
               window: int = WINDOW) -> int:
    """Samples by which ``decoded`` lags ``reference`` (negative when it leads).

    The best lag of :func:`locate`, certain or not; see there.
    """
    return locate(reference, decoded, max_lag=max_lag, window=window).delay


def _certain(corr: np.ndarray, best: int) -> bool:
    """Whether no lag outside the best one's main lobe (to the first zero) comes near it."""
    peak = corr[best]
    lo = best
    while lo > 0 and corr[lo - 1] > 0.0:
        lo -= 1
    hi = best
    while hi < corr.shape[0] - 1 and corr[hi + 1] > 0.0:
        hi += 1
    rivals = np.concatenate((corr[:lo], corr[hi + 1:]))
    return not rivals.size or float(rivals.max()) < RIVAL * peak


def locate(reference: np.ndarray, decoded: np.ndarray, *, max_lag: int = MAX_LAG,
           window: int = WINDOW) -> Alignment:
    """Find the lag of ``decoded`` behind ``reference``, and say if it is certain.

    The channels are summed, the loudest ``window`` samples of the reference are
    picked, and their cross-correlation with the decoded signal is taken over
    every lag in ``-max_lag..max_lag`` at once with an FFT. The lag of the
    largest (positive) correlation wins: codecs do not invert polarity, so a
    negative peak is not a match.

    Parameters
    ----------
    reference : ndarray, shape (n,) or (n, channels)
        The signal that went into the encoder, at the decoded signal's rate.
    decoded : ndarray, shape (m,) or (m, channels)
        What came out of the decoder, untrimmed.
    max_lag : int
        Largest delay searched in either direction.
    window : int
        Reference samples correlated.

    Returns
    -------
    Alignment
        The delay, and whether another lag (a period away, say) rivals it.

    Raises
    ------
    ParameterError
        Either signal is silent where it is compared, so no delay can be found.
    """
    ref = _mono(reference)
    dec = _mono(decoded)
    if max_lag < 0 or window <= 0:
        raise ParameterError(f"max_lag must be >= 0 and window > 0, got {max_lag}, {window}")
    start = _loudest_window(ref, window)
    seg = ref[start:start + window]
    # decoded samples start - max_lag .. start + len(seg) + max_lag, zero outside the file
    lo = start - max_lag
    span = np.zeros(seg.shape[0] + 2 * max_lag)
    src_lo, src_hi = max(lo, 0), min(lo + span.shape[0], dec.shape[0])
    if src_hi > src_lo:
        span[src_lo - lo:src_hi - lo] = dec[src_lo:src_hi]
    if not np.any(seg) or not np.any(span):
        raise ParameterError("cannot align: the source or the decoded audio is silent")
    size = 1 << int(np.ceil(np.log2(span.shape[0] + seg.shape[0])))
    corr = np.fft.irfft(np.fft.rfft(span, size) * np.conj(np.fft.rfft(seg, size)), size)
    # corr[k] = sum_i seg[i] * span[i + k], for k = 0 .. 2 * max_lag: lag = k - max_lag
    corr = corr[:2 * max_lag + 1]
    best = int(np.argmax(corr))
    return Alignment(best - max_lag, _certain(corr, best))


def trim(decoded: np.ndarray, delay: int, frames: int) -> np.ndarray:
    """The decoded samples that line up with the source's ``frames``, zero where missing.

    Cuts the priming before and the padding after, as a gapless player does, so
    the decode is measured over exactly the span the source covers.
    """
    out = np.zeros((frames, *decoded.shape[1:]), dtype=np.float64)
    lo, hi = max(delay, 0), min(delay + frames, decoded.shape[0])
    if hi > lo:
        out[lo - delay:hi - delay] = decoded[lo:hi]
    return out
