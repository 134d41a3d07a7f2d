"""Chain benchmark: the whole mastering chain and each stage, in times real time.

Every stage is engaged and working: EQ bands boosting and cutting, the
compressor compressing, the exciter adding harmonics, the stereo stage
widening with bass mono, the limiter limiting. The audio is stereo 48 kHz,
processed at blocks of 64, 256 and 1024 frames. Each figure is the median of
several timed passes after a warm-up.

For a reference in the same process, Spotify's pedalboard (JUCE C++) runs an
EQ (high-pass, three peaks, high shelf), its compressor and its limiter over
the same audio at the same block sizes, called from Python block by block, as
our chain is. pedalboard is optional (``pip install masterdeck[bench]``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from dsp import compressor, eq, exciter, limiter, stereo, taps
from dsp.chain import Chain

RATE = 48000
BLOCKS = (64, 256, 1024)

ENGAGED = {
    "eq.band1.type": 3.0, "eq.band1.freq_hz": 30.0, "eq.band1.q": 0.707,  # high-pass
    "eq.band2.gain_db": -2.5, "eq.band2.freq_hz": 300.0, "eq.band2.q": 1.2,
    "eq.band3.gain_db": 1.5, "eq.band3.freq_hz": 2500.0, "eq.band3.mode": 1.0,  # mid only
    "eq.band4.gain_db": -1.0, "eq.band4.freq_hz": 6000.0, "eq.band4.mode": 2.0,  # side only
    "eq.band5.gain_db": 2.0, "eq.band5.freq_hz": 12000.0,
    "comp.bypass": 0.0, "comp.threshold_db": -24.0, "comp.ratio": 3.0,
    "comp.makeup_db": 3.0, "comp.sc_hpf_hz": 80.0,
    "exciter.bypass": 0.0, "exciter.amount_pct": 50.0, "exciter.mix_pct": 30.0,
    "stereo.width_pct": 120.0, "stereo.bass_mono": 1.0,
    "limiter.drive_db": 8.0, "limiter.ceiling_dbtp": -1.0,
}


def program(seconds: float, rate: int = RATE, seed: int = 7) -> np.ndarray:
    """Music-like test audio: pink-ish noise with a beat envelope and a bass line."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    spectrum = np.fft.rfft(rng.standard_normal((2, n)), axis=1)
    f = np.fft.rfftfreq(n, 1 / rate)
    spectrum /= np.sqrt(np.maximum(f, 20.0))
    noise = np.fft.irfft(spectrum, n, axis=1).T
    t = np.arange(n) / rate
    beat = 0.4 + 0.6 * np.exp(-(t % 0.5) / 0.08)
    bass = 0.3 * np.sin(2 * np.pi * 55 * t)
    x = noise / np.abs(noise).max() * beat[:, None] + bass[:, None]
    return np.ascontiguousarray(0.5 * x / np.abs(x).max())


def _timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _median_time(run: Callable[[], None], repeats: int) -> float:
    run()  # warm-up: compiles, fills caches
    return statistics.median(_timed(run) for _ in range(repeats))


def _engaged_chain() -> Chain:
    chain = Chain(RATE)
    for param_id, value in ENGAGED.items():
        chain.set(param_id, value, glide=False)
    return chain


def _stage_runner(module, audio: np.ndarray, block: int) -> Callable[[], None]:
    chain = _engaged_chain()
    state = module.prepare(RATE)
    tap = np.zeros(taps.COUNT)

    def run() -> None:
        x = audio.copy()
        for s in range(0, x.shape[0], block):
            module.process(x[s:s + block], chain.values, chain.current, state, tap)

    return run


def _chain_runner(audio: np.ndarray, block: int) -> Callable[[], None]:
    chain = _engaged_chain()

    def run() -> None:
        x = audio.copy()
        for s in range(0, x.shape[0], block):
            chain.process(x[s:s + block])

    return run


def _pedalboard_runner(audio: np.ndarray, block: int) -> Callable[[], None] | None:
    try:
        import pedalboard as pb
    except ImportError:
        return None
    board = pb.Pedalboard([
        pb.HighpassFilter(cutoff_frequency_hz=30.0),
        pb.PeakFilter(cutoff_frequency_hz=300.0, gain_db=-2.5, q=1.2),
        pb.PeakFilter(cutoff_frequency_hz=2500.0, gain_db=1.5, q=1.0),
        pb.PeakFilter(cutoff_frequency_hz=6000.0, gain_db=-1.0, q=1.0),
        pb.HighShelfFilter(cutoff_frequency_hz=12000.0, gain_db=2.0),
        pb.Compressor(threshold_db=-24.0, ratio=3.0, attack_ms=10.0, release_ms=150.0),
        pb.Gain(gain_db=8.0),
        pb.Limiter(threshold_db=-1.0, release_ms=100.0),
    ])
    planar = np.ascontiguousarray(audio.T.astype(np.float32))

    def run() -> None:
        board.reset()
        for s in range(0, planar.shape[1], block):
            board(planar[:, s:s + block], RATE, reset=False)

    return run


def _interleaved(chain: Callable[[], None], other: Callable[[], None],
                 repeats: int) -> tuple[float, float, float]:
    """Median times of two runners timed turn about, and the median of their ratios.

    A shared machine's speed drifts over seconds; timing the two in turn (and
    taking each pass's ratio) keeps that drift out of the comparison.
    """
    chain()
    other()  # warm-up: compiles, fills caches
    pairs = [(_timed(chain), _timed(other)) for _ in range(repeats)]
    ratio = statistics.median(b / a for a, b in pairs)
    return (statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs),
            ratio)


def run_chain_bench(seconds: float = 20.0, repeats: int = 5) -> dict[str, object]:
    """Time the chain, each stage and pedalboard; return figures as times real time."""
    audio = program(seconds)
    stages = {"eq": eq, "comp": compressor, "exciter": exciter, "stereo": stereo,
              "limiter": limiter}
    results: dict[str, object] = {"seconds_of_audio": seconds, "sample_rate": RATE,
                                  "repeats": repeats, "blocks": {}}
    for block in BLOCKS:
        row: dict[str, object] = {}
        chain_run = _chain_runner(audio, block)
        pedal = _pedalboard_runner(audio, block)
        if pedal is not None:
            chain_time, pedal_time, ratio = _interleaved(chain_run, pedal, repeats)
        else:
            chain_time = _median_time(chain_run, repeats)
        row["chain_x_realtime"] = round(seconds / chain_time, 1)
        for name, module in stages.items():
            t = _median_time(_stage_runner(module, audio, block), repeats)
            row[f"{name}_x_realtime"] = round(seconds / t, 1)
        # a hot master: the limiter works on nearly every sample (its worst case)
        t = _median_time(_stage_runner(limiter, 4.0 * audio, block), repeats)
        row["limiter_12db_hotter_x_realtime"] = round(seconds / t, 1)
        if pedal is not None:
            row["pedalboard_x_realtime"] = round(seconds / pedal_time, 1)
            row["chain_vs_pedalboard"] = round(ratio, 2)  # each pass's ratio, median
        results["blocks"][str(block)] = row
    results["latency_samples"] = Chain(RATE).latency
    return results

