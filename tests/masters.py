"""Synthetic dense masters for limiter loudness tests: a rock-like mix and a sub-heavy one.

Both are built from plain numpy (no soundfont, no files), seeded, at any rate,
and peak-normalised to -1 dBFS (sample peak) so that drive is the only thing
pushing them into the limiter. They are crude but have what matters to a
limiter: kick and snare transients over sustained, dense material (the rock
mix), or a sustained sub bass carrying most of the energy (the sub-heavy one).
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def _env(n: int, rate: float, decay_s: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (decay_s * rate))


def _kick(rate: float, decay_s: float = 0.25) -> np.ndarray:
    n = int(0.4 * rate)
    t = np.arange(n) / rate
    freq = 45.0 + 90.0 * np.exp(-t / 0.03)
    return np.sin(2 * np.pi * np.cumsum(freq) / rate) * _env(n, rate, decay_s)


def _snare(rate: float, rng: np.random.Generator) -> np.ndarray:
    n = int(0.25 * rate)
    t = np.arange(n) / rate
    noise = signal.lfilter([1.0, -0.6], [1.0], rng.standard_normal(n)) * 0.5
    return (noise + 0.6 * np.sin(2 * np.pi * 190.0 * t)) * _env(n, rate, 0.06)


def _place(out: np.ndarray, hit: np.ndarray, at: int, gain: float) -> None:
    end = min(out.shape[0], at + hit.shape[0])
    if at < end:
        out[at:end] += gain * hit[:end - at, None] if out.ndim == 2 else gain * hit[:end - at]


def _saw_chord(t: np.ndarray, roots: list[float], rate: float) -> np.ndarray:
    out = np.zeros_like(t)
    for f in roots:
        for k in range(1, int(min(20, (rate / 2.2) // f)) + 1):
            out += np.sin(2 * np.pi * k * f * t + 0.37 * k) / k
    return out


def rock(rate: float, seconds: float = 8.0, seed: int = 1) -> np.ndarray:
    """A dense rock-like master, shape (n, 2): drums at 120 bpm, bass, saturated chords, hats."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    beat = int(0.5 * rate)
    x = np.zeros((n, 2))
    kick, snare = _kick(rate, 0.18), _snare(rate, rng)
    for b in range(n // beat + 1):
        if b % 2 == 0:
            _place(x, kick, b * beat, 0.9)
        else:
            _place(x, snare, b * beat, 0.7)
    roots = [82.4, 110.0, 98.0, 73.4]
    bar = 4 * beat
    chord = np.zeros(n)
    bass = np.zeros(n)
    for i in range(0, n, bar):
        root = roots[(i // bar) % 4]
        seg = slice(i, min(n, i + bar))
        chord[seg] = _saw_chord(t[seg], [2 * root, 3 * root, 4 * root], rate)[: n - i]
        bass[seg] = np.sin(2 * np.pi * root * t[seg]) + 0.3 * np.sin(4 * np.pi * root * t[seg])
    guitar = np.tanh(1.5 * chord)
    hats = signal.lfilter([1.0, -1.0], [1.0], rng.standard_normal(n)) * 0.15
    hats *= (np.sin(2 * np.pi * 4.0 * t) > 0.0) * _env(n, rate, 1e9)
    x[:, 0] += 0.35 * guitar + 0.45 * bass + hats
    x[:, 1] += 0.35 * np.roll(guitar, int(0.011 * rate)) + 0.45 * bass + np.roll(hats, 7)
    return x * (10.0 ** (-1.0 / 20.0) / np.max(np.abs(x)))


def sub_heavy(rate: float, seconds: float = 8.0, seed: int = 2) -> np.ndarray:
    """A sub-heavy electronic master, shape (n, 2): a long 808-like kick, sub bass, pads."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    beat = int(rate * 60.0 / 128.0)
    x = np.zeros((n, 2))
    kick = _kick(rate, 0.45)
    clap = _snare(rate, rng)
    for b in range(n // beat + 1):
        _place(x, kick, b * beat, 1.0)
        if b % 2:
            _place(x, clap, b * beat, 0.35)
    notes = [41.2, 43.65, 36.7, 49.0]
    sub = np.zeros(n)
    for i in range(0, n, 4 * beat):
        seg = slice(i, min(n, i + 4 * beat))
        sub[seg] = np.sin(2 * np.pi * notes[(i // (4 * beat)) % 4] * t[seg])
    pump = 1.0 - 0.6 * _env(beat, rate, 0.08)
    sub *= np.tile(pump, n // beat + 1)[:n]
    pad = 0.12 * _saw_chord(t, [220.0, 277.2, 329.6], rate)
    x[:, 0] += 0.8 * sub + pad
    x[:, 1] += 0.8 * sub + np.roll(pad, int(0.007 * rate))
    return x * (10.0 ** (-1.0 / 20.0) / np.max(np.abs(x)))
