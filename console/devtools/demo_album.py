"""The built-in demo album: short songs the project synthesises itself.

A new user hears the console at once, with no files of their own. The songs
differ on purpose, the way an album does: an opener that builds (steady in
the mix: the session's automation makes it grow), a dense rock song, a
quiet ballad, an electronic track with deep bass, and a loud "client
reference" master to compare against. Everything is additive synthesis and
shaped noise from a fixed seed, so the album is identical on every machine.
:mod:`console.devtools.demo_session` makes a session of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 48000


@dataclass(frozen=True)
class DemoSong:
    """One song of the demo album."""

    id: str
    """Short name: the song's id in the demo session."""
    title: str
    filename: str
    reference: bool = False


SONGS = (
    DemoSong("rising-tide", "Rising Tide (the build)", "01-rising-tide.wav"),
    DemoSong("engine-room", "Engine Room (rock)", "02-engine-room.wav"),
    DemoSong("slow-light", "Slow Light (ballad)", "03-slow-light.wav"),
    DemoSong("undertow", "Undertow (electronic)", "04-undertow.wav"),
    DemoSong("client-ref", "Client Reference (loud master)", "ref-client-reference.wav",
             reference=True),
)
"""The album in order, then the reference."""
STAMP = ".demo-album"
"""A file beside the songs naming the generator that wrote them (see :func:`ensure_album`)."""


def _note(semitones_from_a4: float) -> float:
    return 440.0 * 2.0 ** (semitones_from_a4 / 12.0)


def _additive(freq: float, seconds: float, partials: int, tilt: float,
              rng: np.random.Generator) -> np.ndarray:
    """A band-limited tone: partial k at amplitude k**-tilt, random phases."""
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros_like(t)
    for k in range(1, partials + 1):
        if k * freq >= 0.45 * RATE:
            break
        out += np.sin(2 * np.pi * k * freq * t + rng.uniform(0, 2 * np.pi)) / k**tilt
    return out


def _envelope(n: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / RATE
    return np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t / decay)


def _shaped_noise(n: int, low: float, high: float, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0.0
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.abs(noise).max() + 1e-12)


def _kick(rng: np.random.Generator) -> np.ndarray:
    n = int(0.35 * RATE)
    t = np.arange(n) / RATE
    freq = 45.0 + 90.0 * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    click = _shaped_noise(n, 1000, 6000, rng) * np.exp(-t / 0.004) * 0.3
    return np.sin(phase) * np.exp(-t / 0.12) + click


def _snare(rng: np.random.Generator) -> np.ndarray:
    n = int(0.25 * RATE)
    t = np.arange(n) / RATE
    body = np.sin(2 * np.pi * 185 * t) * np.exp(-t / 0.05)
    return 0.6 * body + _shaped_noise(n, 900, 9000, rng) * np.exp(-t / 0.07)


def _hat(rng: np.random.Generator) -> np.ndarray:
    n = int(0.06 * RATE)
    return _shaped_noise(n, 7000, 16000, rng) * np.exp(-np.arange(n) / RATE / 0.015)


def _place(track: np.ndarray, sound: np.ndarray, at: float, gain: float, pan: float) -> None:
    start = int(at * RATE)
    end = min(track.shape[0], start + sound.shape[0])
    if start >= end:
        return
    piece = sound[: end - start] * gain
    track[start:end, 0] += piece * np.sqrt(0.5 * (1 - pan))
    track[start:end, 1] += piece * np.sqrt(0.5 * (1 + pan))


def _song(seconds: float, bpm: float, chords: list[list[int]], drums: bool, bass_octave: int,
          brightness: float, density: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    mix = np.zeros((n, 2))
    beat = 60.0 / bpm
    bar = 4 * beat
    kick, snare, hat = _kick(rng), _snare(rng), _hat(rng)
    for b in range(int(seconds / bar) + 1):
        chord = chords[b % len(chords)]
        start = b * bar
        for v, semis in enumerate(chord):
            tone = _additive(_note(semis), bar, 12, 2.0 - brightness, rng)
            env = _envelope(tone.size, 0.08, bar * 1.5)
            _place(mix, tone * env, start, 0.12 * density, pan=(v - 1) * 0.5)
        root = _note(chord[0] - 12 * bass_octave)
        for step in range(4 if drums else 1):
            length = beat if drums else bar
            tone = _additive(root, length, 8, 1.2, rng) * _envelope(int(length * RATE), 0.005,
                                                                   length * 0.8)
            _place(mix, tone, start + step * beat, 0.35 * density, pan=0.0)
        if drums:
            for step in range(4):
                t0 = start + step * beat
                if step in (0, 2):
                    _place(mix, kick, t0, 0.9 * density, 0.0)
                else:
                    _place(mix, snare, t0, 0.5 * density, 0.1)
                for half in (0, 0.5):
                    _place(mix, hat, t0 + half * beat, 0.15 * brightness, 0.4)
    fade = int(0.5 * RATE)
    mix[-fade:] *= np.linspace(1, 0, fade)[:, None]
    return mix


def _normalise_peak(x: np.ndarray, peak_db: float) -> np.ndarray:
    return x * (10 ** (peak_db / 20) / (np.abs(x).max() + 1e-12))


def make_album(folder: str | Path) -> list[Path]:
    """Write the demo songs (48 kHz, 24-bit WAV) into ``folder``; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    am, f, c, g = [0, 3, 7], [-4, 0, 3], [3, 7, 10], [-2, 2, 5]
    mixes = [
        _normalise_peak(_song(30, 100, [f, c, g, am], True, 2, 0.8, 0.9, 5), -3.0),
        _normalise_peak(np.tanh(1.8 * _song(20, 132, [am, am, f, g], True, 2, 1.0, 1.0, 2)),
                        -3.0),
        _normalise_peak(_song(20, 68, [am, f, c, g], False, 2, 0.4, 0.6, 1), -12.0),
        _normalise_peak(_song(20, 124, [am, f], True, 3, 0.7, 0.9, 3), -4.0),
        _normalise_peak(np.tanh(1.5 * _song(15, 120, [c, g, am, f], True, 2, 0.9, 1.0, 4)),
                        -0.5),
    ]
    paths = []
    for song, mix in zip(SONGS, mixes, strict=True):
        path = folder / song.filename
        sf.write(str(path), mix.astype(np.float32), RATE, subtype="PCM_24")
        paths.append(path)
    return paths


def _generator() -> str:
    """What wrote the songs: a hash of this module's source and the rate."""
    source = Path(__file__).read_bytes()
    return f"{hashlib.sha256(source).hexdigest()[:16]} {RATE}"


def ensure_album(folder: str | Path) -> list[Path]:
    """The demo songs in ``folder``, written only if missing or made by other code.

    The songs are the same on every run, so a second run reuses them (writing
    them takes seconds); the stamp is written last, so an interrupted write
    is done again next time.
    """
    folder = Path(folder)
    paths = [folder / song.filename for song in SONGS]
    stamp = folder / STAMP
    fresh = stamp.is_file() and stamp.read_text().strip() == _generator()
    if fresh and all(p.is_file() for p in paths):
        return paths
    stamp.unlink(missing_ok=True)
    paths = make_album(folder)
    stamp.write_text(_generator() + "\n")
    return paths
