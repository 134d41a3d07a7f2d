"""A live take against its offline render: lining up, and levels window by window.

The live tests record what the engine plays on the dummy JACK server and
compare it with what the offline render of the same session holds. The
take starts at some lag (the time to press play, the stream's latency), and
on a loaded machine the dummy driver now and then drops or repeats a period,
which shifts the rest of the take by that much. These helpers find the lag,
line each window up on its own, and report the level differences.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve

WINDOW = 2400
"""Samples per compared window: 50 ms at 48 kHz."""
PERIOD = 256
"""The test JACK server's period: a dropped or repeated block shifts a take by this."""


def levels(x: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Mean-square level (dB) of the first channel per window (the incomplete last one left out)."""
    n = len(x) // window
    frames = x[: n * window, 0].reshape(n, window)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)


def align(live: np.ndarray, offline: np.ndarray) -> int:
    """The lag at which ``offline`` appears in ``live`` (samples), by cross-correlation.

    Unambiguous for a signal that never repeats itself (the tests play a
    chirp); a periodic tone lines up at any whole number of its periods.
    """
    corr = fftconvolve(live[:, 0], offline[::-1, 0], mode="full")
    return int(np.argmax(corr)) - (len(offline) - 1)


def compare(live: np.ndarray, offline: np.ndarray, xruns: int = 0,
            window: int = WINDOW, period: int = PERIOD) -> np.ndarray:
    """Level differences live - offline (dB) per window over the whole render.

    Each window is lined up on its own, at the take's lag give or take whole
    periods, where it matches the render sample for sample (the residual is
    then a few thousandths of the signal; one period off, it is the size of
    the signal). A window where that shift changes holds the splice itself
    (a period missing or twice), so it is left out, but only as many splices
    as the xruns the JACK server reported during the take account for (one
    splice may change the shift at two windows in a row: the window holding
    it can line up at a shift of its own); more raise ``AssertionError``. The
    first window is left out too: pressing play fades in over 10 ms (the
    transport's click guard), which is not part of the song.
    """
    lag = align(live, offline)
    assert lag >= 0, "the take started after the song"
    windows = len(offline) // window
    shifts, diffs = [], []
    for k in range(windows):
        ref = offline[k * window:(k + 1) * window, 0]
        best = None
        # the take's own lag first: a silent window fits every shift, and keeps that one
        for shift in sorted(range(-4 * period, 4 * period + 1, period), key=abs):
            at = lag + k * window + shift
            got = live[at:at + window, 0] if at >= 0 else np.zeros(0)
            if len(got) < window:
                continue
            residual = np.sum((got - ref) ** 2)
            if best is None or residual < best[0]:
                best = (residual, shift, got)
        assert best is not None, "the take ended before the song"
        _, shift, got = best
        shifts.append(shift)
        diffs.append(10 * np.log10((np.mean(got**2) + 1e-20) / (np.mean(ref**2) + 1e-20)))
    splices = {k for k in range(1, windows) if shifts[k] != shifts[k - 1]}
    spliced = splices | {k - 1 for k in splices}
    # the window that holds a splice may line up at a shift of its own (part of
    # it on each side), so one splice can change the shift at two windows in a row
    events = sum(1 for k in splices if k - 1 not in splices)
    assert events <= xruns, f"the take jumps at windows {sorted(splices)} with " \
        f"{xruns} xruns reported"
    return np.array([d for k, d in enumerate(diffs) if k > 0 and k not in spliced])
