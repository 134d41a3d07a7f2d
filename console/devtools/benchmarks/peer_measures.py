"""What the limiter peer benchmark measures, one function per figure.

Each function takes plain arrays (float64, shape (n, 2) or (n,)) so the tests
can show it measures what it says on signals with a known answer: a gain
against a clipper, a clean two-tone against a clipped one, a known delay.

- **Loudness**: BS.1770 integrated loudness by pyloudnorm, or ffmpeg's
  ``ebur128`` filter when pyloudnorm is missing; independent of masterdeck's
  own meter, since that meter is half of what is under test.
- **Added distortion** (a null test): the limiter's output against its input,
  after removing the latency and the best fixed linear filter (a short
  least-squares FIR: gain, fractional delay, an oversampler's roll-off).
  What is left is everything no fixed filter can explain: the gain riding
  itself, clipping and aliasing. Reported in dB relative to the output.
- **IMD**: SMPTE (60 Hz + 7 kHz, 4:1; sidebands at 7 kHz +/- n*60 Hz) and
  CCIF (19 + 20 kHz, 1:1; products at 1, 18 and 21 kHz), from a windowed FFT
  over a steady stretch, in dB relative to the tones.
- **True peak** on three meters: masterdeck's (``dsp.truepeak``), libebur128's
  (pyebur128, or ffmpeg's ``ebur128=peak=true``) and a 16x reconstruction
  (soxr's very-high-quality resampler, or scipy's polyphase one), which is
  the closest thing to what a DAC or a codec's decoder will do.
- **Latency**: the lag that best aligns an impulse's output with its input.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np

SMPTE_HZ = (60.0, 7000.0)
CCIF_HZ = (19000.0, 20000.0)


def _db(ratio: float) -> float:
    return 10.0 * float(np.log10(max(ratio, 1e-30)))


def integrated_lufs(x: np.ndarray, rate: int) -> float:
    """BS.1770 integrated loudness of ``x`` (n, channels), pyloudnorm or ffmpeg."""
    try:
        import pyloudnorm
    except ImportError:
        return _ffmpeg_ebur128(x, rate)["integrated_lufs"]
    return float(pyloudnorm.Meter(rate, filter_class="DeMan").integrated_loudness(x))


def _ffmpeg_ebur128(x: np.ndarray, rate: int) -> dict[str, float]:
    """Integrated loudness and true peak as ffmpeg's ebur128 filter reads them."""
    data = np.ascontiguousarray(x, dtype="<f4")
    proc = subprocess.run(
        ["ffmpeg", "-nostats", "-hide_banner", "-f", "f32le", "-ar", str(rate), "-ac",
         str(data.shape[1]), "-i", "pipe:0", "-af", "ebur128=peak=true", "-f", "null", "-"],
        input=data.tobytes(), capture_output=True, check=True)
    text = proc.stderr.decode(errors="replace").rsplit("Summary:", 1)[-1]
    lufs = float(re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", text).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", text).group(1))
    return {"integrated_lufs": lufs, "true_peak_dbtp": peak}


def null_residual_db(reference: np.ndarray, output: np.ndarray, half_taps: int = 32) -> float:
    """Energy left after the best linear filter maps ``reference`` onto ``output``, in dB.

    Both must be aligned to the sample (latency removed) and the same shape.
    The filter is the least-squares (Wiener) FIR of ``2 * half_taps + 1``
    taps, one for both channels, so a gain nulls to nothing (about -200 dB),
    and so do a fraction of a sample of delay and the gentle roll-off of an
    oversampling filter: fixed and linear, not distortion, yet a plain gain
    would count them as -10 dB of "distortion" on bright music. Whatever
    depends on the level does not null: gain riding, clipping, aliasing. The
    figure is relative to the output's energy (-30: the residual is 30 dB
    below the music); it counts a clean limiter's gain riding as added, as a
    listener hears pumping. The edges (``half_taps`` samples) are left out.
    """
    ref = np.asarray(reference, dtype=np.float64)
    out = np.asarray(output, dtype=np.float64)
    ref = ref[:, None] if ref.ndim == 1 else ref
    out = out[:, None] if out.ndim == 1 else out
    n, h = ref.shape[0], half_taps
    size = 1 << (2 * n - 1).bit_length()
    spec_x = np.fft.rfft(ref, size, axis=0)
    auto = np.fft.irfft((np.abs(spec_x) ** 2).sum(axis=1), size)
    cross = np.fft.irfft((np.fft.rfft(out, size, axis=0) * np.conj(spec_x)).sum(axis=1), size)
    lags = np.arange(-h, h + 1)
    gram = auto[np.abs(lags[:, None] - lags[None, :])]
    ridge = 1e-12 * max(auto[0], 1e-30)  # silence or a pure tone: keep it solvable
    taps = np.linalg.solve(gram + ridge * np.eye(lags.size), cross[lags % size])
    fit = np.stack([np.convolve(ref[:, c], taps)[h:h + n] for c in range(ref.shape[1])], axis=1)
    residual = (out - fit)[h:n - h]
    target = out[h:n - h]
    return _db(float(np.sum(residual ** 2)) / max(float(np.sum(target ** 2)), 1e-30))


def smpte_signal(rate: int, seconds: float, peak: float) -> np.ndarray:
    """SMPTE RP120 twin tone, 60 Hz and 7 kHz at 4:1, peak ``peak``, stereo, faded."""
    return _two_tone(rate, seconds, SMPTE_HZ, (0.8 * peak, 0.2 * peak))


def ccif_signal(rate: int, seconds: float, peak: float) -> np.ndarray:
    """CCIF (ITU-R) twin tone, 19 and 20 kHz at 1:1, peak ``peak``, stereo, faded."""
    return _two_tone(rate, seconds, CCIF_HZ, (0.5 * peak, 0.5 * peak))


def _two_tone(rate: int, seconds: float, freqs: tuple[float, float],
              amps: tuple[float, float]) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = amps[0] * np.sin(2 * np.pi * freqs[0] * t) + amps[1] * np.sin(2 * np.pi * freqs[1] * t)
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.01)  # no clicks at the ends
    return np.repeat((x * fade)[:, None], 2, axis=1)


def _spectrum(x: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """Amplitude spectrum of the middle second of channel 0 (1 Hz bins), Blackman-Harris."""
    mono = np.asarray(x, dtype=np.float64)
    mono = mono[:, 0] if mono.ndim == 2 else mono
    start = max(0, (mono.shape[0] - rate) // 2)
    seg = mono[start:start + rate]
    window = np.blackman(seg.shape[0]) ** 2  # sidelobes far below -120 dB
    mag = np.abs(np.fft.rfft(seg * window)) / window.sum() * 2
    return mag, rate / seg.shape[0]


def _amp(mag: np.ndarray, bin_hz: float, f: float) -> float:
    """Tone amplitude at ``f``: the largest bin within 3 Hz (the window's main lobe)."""
    k = round(f / bin_hz)
    return float(mag[max(k - 3, 0):k + 4].max()) if 0 < k < mag.shape[0] - 3 else 0.0


def smpte_imd_db(y: np.ndarray, rate: int, orders: int = 4) -> float:
    """SMPTE IMD: sidebands at 7 kHz +/- n*60 Hz (n = 1..orders), rms over the 7 kHz tone, dB."""
    mag, hz = _spectrum(y, rate)
    low, high = SMPTE_HZ
    carrier = _amp(mag, hz, high)
    sides = sum(_amp(mag, hz, high + s * n * low) ** 2 for n in range(1, orders + 1)
                for s in (-1, 1))
    return _db(sides / max(carrier ** 2, 1e-30))


def ccif_imd_db(y: np.ndarray, rate: int) -> float:
    """CCIF IMD: the 1 kHz difference tone and the 18 and 21 kHz products, over the tones, dB."""
    mag, hz = _spectrum(y, rate)
    f1, f2 = CCIF_HZ
    tones = _amp(mag, hz, f1) ** 2 + _amp(mag, hz, f2) ** 2
    products = [f2 - f1, 2 * f1 - f2, 2 * f2 - f1]
    energy = sum(_amp(mag, hz, f) ** 2 for f in products if f < rate / 2)
    return _db(energy / max(tones, 1e-30))


def reconstructed_peak_dbtp(x: np.ndarray, rate: int, factor: int = 16) -> float:
    """Peak of ``x`` reconstructed at ``factor`` times the rate (soxr VHQ or scipy), dBTP."""
    data = np.asarray(x, dtype=np.float64)
    data = data[:, None] if data.ndim == 1 else data
    try:
        import soxr

        up = soxr.resample(data, rate, rate * factor, quality="VHQ")
    except ImportError:
        from scipy.signal import resample_poly

        up = resample_poly(data, factor, 1, axis=0, window=("kaiser", 12.0))
    return 20.0 * float(np.log10(max(np.abs(up).max(), np.abs(data).max(), 1e-15)))


def libebur128_peak_dbtp(x: np.ndarray, rate: int) -> float:
    """True peak as libebur128 reads it (pyebur128), else ffmpeg's ebur128 filter."""
    try:
        import pyebur128 as ebu
    except ImportError:
        return _ffmpeg_ebur128(x, rate)["true_peak_dbtp"]
    data = np.ascontiguousarray(x, dtype=np.float64)
    state = ebu.R128State(data.shape[1], rate, ebu.MeasurementMode.MODE_TRUE_PEAK)
    state.add_frames(data.reshape(-1), data.shape[0])
    peak = max(ebu.get_true_peak(state, c) for c in range(data.shape[1]))
    return 20.0 * float(np.log10(max(peak, 1e-15)))


def masterdeck_peak_dbtp(x: np.ndarray, rate: int) -> float:
    """True peak on masterdeck's own meter (the one its limiter is built to satisfy)."""
    from dsp import truepeak

    return 20.0 * float(np.log10(max(truepeak.true_peak(x, rate), 1e-15)))


def true_peaks_dbtp(x: np.ndarray, rate: int) -> dict[str, float]:
    """The true peak on all three meters, in dBTP."""
    return {"masterdeck": round(masterdeck_peak_dbtp(x, rate), 3),
            "libebur128": round(libebur128_peak_dbtp(x, rate), 3),
            "x16": round(reconstructed_peak_dbtp(x, rate), 3)}


def impulse(rate: int, at: int = 4096, level: float = 0.1) -> np.ndarray:
    """One second of stereo silence with one sample at ``level`` (well under any ceiling)."""
    x = np.zeros((rate, 2))
    x[at] = level
    return x


def latency_samples(sent: np.ndarray, received: np.ndarray) -> int:
    """The delay of ``received`` behind ``sent``: the lag of their cross-correlation's peak.

    Cross-correlating (rather than finding the loudest output sample) still
    finds the delay when a plug-in's oversampling filters smear the impulse.
    """
    a = np.asarray(sent, dtype=np.float64)
    b = np.asarray(received, dtype=np.float64)
    a = a[:, 0] if a.ndim == 2 else a
    b = b[:, 0] if b.ndim == 2 else b
    n = a.shape[0] + b.shape[0]
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    lag = int(np.argmax(np.abs(corr)))
    return lag if lag < size // 2 else lag - size


def align(output: np.ndarray, latency: int, n: int) -> np.ndarray:
    """``output`` moved ``latency`` samples earlier, cut or zero-padded to ``n`` frames."""
    out = np.asarray(output, dtype=np.float64)[max(latency, 0):]
    if out.shape[0] < n:
        out = np.concatenate([out, np.zeros((n - out.shape[0], *out.shape[1:]))])
    return out[:n]
