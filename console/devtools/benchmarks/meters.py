"""Meter benchmark: integrated + LRA + true peak + sample peak in one pass, vs references.

The audio is stereo 48 kHz programme-like material (partials under slow
envelopes, noise with swells and pauses), 5 minutes by default. Timed, each
the median of several passes in this process on the same array:

- ours: :class:`dsp.meter.LoudnessMeter` over the whole array (it feeds its
  kernels in pieces of about 100 s), then ``reading()`` (integrated, LRA,
  true peak, sample peak, maxima, PLR); the same fed in 1024-frame blocks
  from Python, the way a file reader or a live chain calls it; and the
  loudness kernel and gating alone (integrated + LRA, no peaks), which is
  the work pyloudnorm does;
- libebur128 1.2.x through pyebur128, modes I | LRA | TRUE_PEAK, frames added
  in one call, then the three readings (its true peak is the slow part);
- pyloudnorm, ``integrated_loudness`` + ``loudness_range`` with the exact
  BS.1770 filter (``filter_class="DeMan"``); fewer passes, it is slow.

JIT compilation is excluded (one warm-up pass). The references are optional
(``pip install masterdeck[bench]``); a missing one is reported as such.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from dsp import gating, loudness
from dsp.meter import LoudnessMeter

RATE = 48000
CHANNELS = 2


def programme(seconds: float, rate: int = RATE, seed: int = 11) -> np.ndarray:
    """Stereo programme-like audio, shape (n, 2), peaks near -1 dBFS."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    x = np.zeros((n, CHANNELS))
    for _ in range(8):
        freq = float(np.exp(rng.uniform(np.log(50.0), np.log(8000.0))))
        envelope = np.sin(2 * np.pi * rng.uniform(0.02, 1.0) * t + rng.uniform(0, 6.3)) ** 2
        for c in range(CHANNELS):
            x[:, c] += 0.08 * envelope * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.3))
    swell = 10.0 ** ((-24.0 + 18.0 * np.sin(np.pi * t / max(seconds, 1.0)) ** 2) / 20.0)
    x += rng.standard_normal((n, CHANNELS)) * swell[:, None]
    x[(t % 11.0) > 10.5] *= 0.01  # pauses
    x *= 0.89 / np.abs(x).max()
    return np.ascontiguousarray(x)


def _median(run: Callable[[], dict], repeats: int) -> tuple[float, dict]:
    result = run()  # warm-up: compiles, fills caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _ours(audio: np.ndarray, block: int | None) -> Callable[[], dict]:
    def run() -> dict:
        meter = LoudnessMeter(RATE, CHANNELS)
        if block is None:
            meter.process(audio)
        else:
            for start in range(0, audio.shape[0], block):
                meter.process(audio[start:start + block])
        r = meter.reading()
        return {"integrated_lufs": r.integrated_lufs, "loudness_range_lu": r.loudness_range_lu,
                "true_peak_dbtp": r.true_peak_dbtp, "sample_peak_dbfs": r.sample_peak_dbfs}
    return run


def _ours_loudness_only(audio: np.ndarray) -> Callable[[], dict]:
    """Integrated + LRA without true peak: the like-for-like match for pyloudnorm."""
    def run() -> dict:
        state = loudness.prepare(RATE, CHANNELS)
        history = gating.ChunkHistory(state)
        piece = 60 * RATE  # keep inside the chunk ring between history updates
        for start in range(0, audio.shape[0], piece):
            loudness.process(audio[start:start + piece], state)
            history.update()
        energy = history.data[gating.ENERGY]
        return {"integrated_lufs": gating.integrated_lufs(energy, history.hop),
                "loudness_range_lu": gating.loudness_range_lu(energy, history.hop)}
    return run


def _libebur128(audio: np.ndarray) -> Callable[[], dict] | None:
    try:
        import pyebur128 as ebu
    except ImportError:
        return None
    interleaved = np.ascontiguousarray(audio).reshape(-1)
    mode = (ebu.MeasurementMode.MODE_I | ebu.MeasurementMode.MODE_LRA
            | ebu.MeasurementMode.MODE_TRUE_PEAK)

    def run() -> dict:
        state = ebu.R128State(CHANNELS, RATE, mode)
        state.add_frames(interleaved, audio.shape[0])
        peak = max(ebu.get_true_peak(state, c) for c in range(CHANNELS))
        return {"integrated_lufs": ebu.get_loudness_global(state),
                "loudness_range_lu": ebu.get_loudness_range(state),
                "true_peak_dbtp": 20.0 * float(np.log10(peak))}
    return run


def _pyloudnorm(audio: np.ndarray) -> Callable[[], dict] | None:
    try:
        import pyloudnorm
    except ImportError:
        return None

    def run() -> dict:
        meter = pyloudnorm.Meter(RATE, filter_class="DeMan")
        return {"integrated_lufs": float(meter.integrated_loudness(audio)),
                "loudness_range_lu": float(meter.loudness_range(audio))}
    return run


def _figures(seconds_taken: float, audio_seconds: float, readings: dict) -> dict:
    return {"seconds": round(seconds_taken, 4),
            "x_realtime": round(audio_seconds / seconds_taken, 1), "readings": readings}


def run_meter_bench(seconds: float = 300.0, repeats: int = 5) -> dict:
    """Run the meter benchmark and return its figures.

    Parameters
    ----------
    seconds : float
        Length of the test audio (stereo 48 kHz).
    repeats : int
        Timed passes per figure (pyloudnorm gets at most 3).

    Returns
    -------
    dict
        ``ours``, ``ours_1024_frame_blocks``, ``ours_loudness_only``,
        ``libebur128``, ``pyloudnorm``: each ``{"seconds", "x_realtime",
        "readings"}`` or None if not installed; ``speedup``: their time over
        our full pass per reference, and pyloudnorm's over our loudness-only
        pass (``pyloudnorm_loudness_only``).
    """
    audio = programme(seconds)
    results: dict = {"seconds_of_audio": seconds, "sample_rate": RATE, "channels": CHANNELS,
                     "repeats": repeats}
    runners = {
        "ours": (_ours(audio, None), repeats),
        "ours_1024_frame_blocks": (_ours(audio, 1024), repeats),
        "ours_loudness_only": (_ours_loudness_only(audio), repeats),
        "libebur128": (_libebur128(audio), repeats),
        "pyloudnorm": (_pyloudnorm(audio), min(repeats, 3)),
    }
    for name, (runner, passes) in runners.items():
        if runner is None:
            results[name] = None
            continue
        taken, readings = _median(runner, passes)
        results[name] = _figures(taken, seconds, readings)
    ours = results["ours"]["seconds"]
    speedup = {
        name: (None if results[name] is None else round(results[name]["seconds"] / ours, 2))
        for name in ("libebur128", "pyloudnorm")
    }
    if results["pyloudnorm"] is not None:  # same work on both sides: I + LRA, no true peak
        speedup["pyloudnorm_loudness_only"] = round(
            results["pyloudnorm"]["seconds"] / results["ours_loudness_only"]["seconds"], 2)
    results["speedup"] = speedup
    return results


def main() -> None:
    """Print the figures as JSON (``python -m console.devtools.benchmarks.meters [SECONDS]``)."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    sys.stdout.write(json.dumps(run_meter_bench(seconds), indent=1) + "\n")


if __name__ == "__main__":
    main()
