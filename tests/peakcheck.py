"""An independent 16x oversampled peak check and hostile test signals, for tests only.

The check shares no code or coefficients with :mod:`dsp.truepeak` or
:mod:`dsp.limiter`: it is scipy's polyphase resampler with a long
Kaiser-windowed sinc whose cut-off sits at the original Nyquist frequency,
i.e. close to what a good DAC or sample-rate converter reconstructs.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

OVERSAMPLE = 16
HALF_TAPS = 64
"""Half-length of the interpolator in input samples (2049 taps at 16x)."""
EDGE = HALF_TAPS
"""Input samples ignored at each end, where the interpolator sees the zero padding."""

_FIR = signal.firwin(2 * HALF_TAPS * OVERSAMPLE + 1, 1.0 / OVERSAMPLE, window=("kaiser", 12.0))


def peak16_db(x: np.ndarray) -> float:
    """Largest magnitude of the 16x reconstruction of ``x``, in dB, edges excluded.

    Parameters
    ----------
    x : ndarray, shape (n,) or (n, channels)
        Audio at any sample rate (the check is relative to the sample rate).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    up = signal.resample_poly(x, OVERSAMPLE, 1, axis=0, window=_FIR, padtype="constant")
    core = up[EDGE * OVERSAMPLE : up.shape[0] - EDGE * OVERSAMPLE]
    peak = float(np.max(np.abs(core))) if core.size else 0.0
    return 20.0 * np.log10(max(peak, 1e-300))


def db(v: float) -> float:
    """Linear magnitude to dB (floor at -600 dB)."""
    return 20.0 * float(np.log10(max(v, 1e-30)))


def fade(n: int, fade_len: int) -> np.ndarray:
    """Linear fade-in/fade-out envelope of ``n`` samples."""
    k = np.arange(n, dtype=np.float64)
    if fade_len <= 0:
        return np.ones(n)
    return np.clip(np.minimum(k / fade_len, (n - 1 - k) / fade_len), 0.0, 1.0)


def tp_case(div: float, amp: float, phase_deg: float, fs: float = 48000.0,
            dur: float = 0.25) -> np.ndarray:
    """Tech 3341 cases 15-19: a sine at fs/div, amplitude ``amp``, 10 ms fades (mono)."""
    n = int(dur * fs)
    k = np.arange(n, dtype=np.float64)
    return fade(n, int(0.01 * fs)) * amp * np.sin(2 * np.pi * k / div + np.deg2rad(phase_deg))


def tp_burst(offset: int, fs: float = 48000.0, dur: float = 0.25) -> np.ndarray:
    """Tech 3341 cases 20-23: fs/6 carrier with one fs/4 full-scale period, built at 4 fs.

    Built at four times the rate, low-pass filtered with a long Kaiser FIR and
    decimated with ``offset`` (0..3) samples at the high rate (mono).
    """
    n4 = int(dur * fs * 4)
    k = np.arange(n4)
    start = (n4 // 2 // 24) * 24
    x = 0.5 * np.sin(2 * np.pi * k / 24)
    after = k >= start + 16
    x[after] = 0.5 * np.sin(2 * np.pi * (k[after] - start - 16) / 24)
    x[start : start + 16] = np.sin(2 * np.pi * np.arange(16) / 16)
    x *= fade(n4, int(0.01 * fs * 4))
    h = signal.firwin(1023, 0.245, window=("kaiser", 12.0))
    return np.convolve(x, h, mode="same")[offset::4].copy()


def alternating_run(run: int, pad: int = 400, amp: float = 1.0) -> np.ndarray:
    """``run`` alternating full-scale samples then the mirrored run: a phase flip (mono).

    Every sample is ``amp`` in magnitude, but the ideal reconstruction peaks at
    20 log10((2/pi) sum_{k<run} 1/(k + 1/2)) dB above it at the junction.
    """
    first = amp * np.array([(-1.0) ** (run - k) for k in range(run)])
    x = np.concatenate([np.zeros(pad), first, first[::-1], np.zeros(pad)])
    return x


def alternating_run_peak_db(run: int) -> float:
    """Closed-form ideal reconstruction peak of :func:`alternating_run` at unit amplitude."""
    return db(2.0 / np.pi * sum(1.0 / (k + 0.5) for k in range(run)))


def stereo(x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """Stack mono signals into a C-contiguous (n, 2) float64 block."""
    return np.ascontiguousarray(np.stack([x, x if y is None else y], axis=1), dtype=np.float64)


def ebur128_true_peak_db(x: np.ndarray, rate: float) -> float:
    """libebur128's true peak of stereo ``x`` (through pyebur128), largest channel, in dB.

    libebur128 oversamples 4x below 96 kHz, 2x below 192 kHz and not at all
    from 192 kHz up, with its own interpolator: a third opinion.
    """
    import pyebur128

    meter = pyebur128.R128State(2, int(rate), pyebur128.MeasurementMode.MODE_TRUE_PEAK)
    meter.add_frames(np.ascontiguousarray(x, dtype=np.float64).ravel(), x.shape[0])
    peak = max(pyebur128.get_true_peak(meter, 0), pyebur128.get_true_peak(meter, 1))
    return db(peak)


def ffmpeg_true_peak_db(x: np.ndarray, rate: float, folder: str) -> float:
    """ffmpeg's ``ebur128=peak=true`` reading of stereo ``x``, largest channel, in dB.

    Read from the filter's per-frame metadata (linear, three decimals: the
    summary line rounds to 0.1 dB), so it resolves about 0.005 dB near 0 dBFS.
    The file is 64-bit float, so nothing is lost on the way.
    """
    import re
    import subprocess
    from pathlib import Path

    import soundfile

    path = Path(folder) / "tp.wav"
    soundfile.write(path, x, int(rate), subtype="DOUBLE")
    done = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af",
         "ebur128=peak=true:metadata=1,ametadata=mode=print", "-f", "null", "-"],
        capture_output=True, text=True, check=True)
    values = [float(v) for v in re.findall(r"lavfi\.r128\.true_peaks_ch\d=([0-9.]+)",
                                           done.stderr)]
    return db(max(values))


def limiter_knobs(draw) -> dict[str, float]:
    """Every limiter knob the hostile-signal tests draw (hypothesis ``draw``), over its range."""
    from hypothesis import strategies as st

    return {
        "drive_db": draw(st.floats(0.0, 24.0)),
        "ceiling_dbtp": draw(st.floats(-12.0, 0.0)),
        "release_ms": draw(st.floats(1.0, 1000.0)),
        "lookahead_ms": draw(st.floats(0.5, 5.0)),
        "link_pct": draw(st.floats(0.0, 100.0)),
    }
