"""Music for the limiter peer benchmark, made from arrangements kept in the repo.

A limiter's loudness and distortion depend on the programme: sub bass pumps a
slow release, dense rock leaves no gaps to recover in, bright percussion is
all onsets and inter-sample peaks. Test tones and noise hide all of that, and
commercial masters can't be shipped, so the bench writes its own songs: each
``arrangements/*.toml`` is a bar of notes per track, repeated with a
transposition (and a velocity scale) per bar. They become MIDI files with
mido and audio with fluidsynth and the GM soundfont; without fluidsynth a
crude additive synth stands in, so the bench still runs (the table says which).

Every song is normalised to a sample peak of -1 dBFS: an unmastered mix as it
arrives, so that drive 0 dB means "the mix as is".
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ARRANGEMENTS = Path(__file__).with_name("arrangements")
SOUNDFONTS = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
              Path("/usr/share/sounds/sf2/default-GM.sf2"))
TICKS_PER_BEAT = 480
PEAK_DBFS = -1.0


@dataclass(frozen=True)
class Note:
    """One note of a one-bar pattern, in beats from the bar's start."""

    start_beats: float
    length_beats: float
    key: int


@dataclass(frozen=True)
class Track:
    """A GM instrument (or the drum channel) playing one bar over and over."""

    channel: int
    program: int
    velocity: int
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class Arrangement:
    """A few bars of a song: tempo, tracks, and per-bar transposition and dynamics."""

    name: str
    tempo_bpm: float
    bars: int
    transpose: tuple[int, ...]
    dynamics: tuple[float, ...]
    tracks: tuple[Track, ...]

    @property
    def seconds(self) -> float:
        """Length of the notes (4/4), without the release tail."""
        return self.bars * 4 * 60.0 / self.tempo_bpm


def load_arrangement(path: Path) -> Arrangement:
    """Read one arrangement file; notes are ``beat:length:key`` triples."""
    data = tomllib.loads(path.read_text())
    bars = int(data["bars"])
    tracks = []
    for i, raw in enumerate(data["track"]):
        notes = []
        for word in raw["notes"].split():
            start, length, key = word.split(":")
            notes.append(Note(float(start), float(length), int(key)))
        tracks.append(Track(channel=int(raw.get("channel", min(i, 8))),
                            program=int(raw.get("program", 0)),
                            velocity=int(raw["velocity"]), notes=tuple(notes)))
    return Arrangement(name=path.stem, tempo_bpm=float(data["tempo_bpm"]), bars=bars,
                       transpose=tuple(data.get("transpose", [0] * bars)),
                       dynamics=tuple(data.get("dynamics", [1.0] * bars)),
                       tracks=tuple(tracks))


def arrangements() -> list[Arrangement]:
    """Every arrangement in the repo, by name."""
    return [load_arrangement(p) for p in sorted(ARRANGEMENTS.glob("*.toml"))]


def _events(arr: Arrangement, track: Track) -> list[tuple[float, int, int]]:
    """(beat, key, velocity) note-ons and (beat, key, 0) note-offs, the drums never transposed."""
    events = []
    for bar in range(arr.bars):
        shift = 0 if track.channel == 9 else arr.transpose[bar % len(arr.transpose)]
        vel = max(1, min(127, round(track.velocity * arr.dynamics[bar % len(arr.dynamics)])))
        for note in track.notes:
            start = bar * 4 + note.start_beats
            events.append((start, note.key + shift, vel))
            events.append((start + note.length_beats, note.key + shift, 0))
    return sorted(events, key=lambda e: (e[0], e[2]))  # offs before ons at one time


def write_midi(arr: Arrangement, path: Path) -> None:
    """Write the arrangement as a type-1 MIDI file, one MIDI track per part."""
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(arr.tempo_bpm))])
    midi.tracks.append(meta)
    for track in arr.tracks:
        part = mido.MidiTrack()
        if track.channel != 9:
            part.append(mido.Message("program_change", channel=track.channel,
                                     program=track.program))
        now = 0
        for beat, key, vel in _events(arr, track):
            tick = round(beat * TICKS_PER_BEAT)
            kind = "note_on" if vel else "note_off"
            part.append(mido.Message(kind, channel=track.channel, note=key, velocity=vel,
                                     time=tick - now))
            now = tick
        midi.tracks.append(part)
    midi.save(path)


def soundfont() -> Path | None:
    """The GM soundfont fluidsynth renders with (Debian's fluid-soundfont-gm), if any."""
    return next((p for p in SOUNDFONTS if p.exists()), None)


def render(arr: Arrangement, rate: int) -> tuple[np.ndarray, str]:
    """The song as float64 stereo, shape (n, 2), and how it was made (fluidsynth or synth)."""
    font = soundfont()
    if shutil.which("fluidsynth") and font is not None:
        audio, how = _fluidsynth(arr, rate, font), "fluidsynth"
    else:
        audio, how = synthesise(arr, rate), "synth"
    peak = np.abs(audio).max()
    return audio * (10 ** (PEAK_DBFS / 20) / peak), how


def _fluidsynth(arr: Arrangement, rate: int, font: Path) -> np.ndarray:
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="masterdeck-peers-") as tmp:
        mid, wav = Path(tmp) / "song.mid", Path(tmp) / "song.wav"
        write_midi(arr, mid)
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(rate), "-O", "float",
                        "-T", "wav", "-F", str(wav), str(font), str(mid)],
                       check=True, capture_output=True)
        audio, _ = sf.read(wav, dtype="float64", always_2d=True)
    n = int((arr.seconds + 1.0) * rate)  # the notes and a second of tail
    return np.ascontiguousarray(audio[:n, :2])


def synthesise(arr: Arrangement, rate: int) -> np.ndarray:
    """A stand-in when fluidsynth is missing: decaying partials for notes, noise for drums.

    Crude, but it keeps what matters to a limiter: low thumps, dense chords,
    bright transients and the arrangement's dynamics.
    """
    n = int((arr.seconds + 1.0) * rate)
    out = np.zeros((n, 2))
    rng = np.random.default_rng(len(arr.name))
    beat_s = 60.0 / arr.tempo_bpm
    for t_index, track in enumerate(arr.tracks):
        pan = 0.5 + 0.3 * np.sin(t_index * 2.1)
        ons = [e for e in _events(arr, track) if e[2]]
        for beat, key, vel in ons:
            start = int(beat * beat_s * rate)
            length = min(n - start, int(0.6 * rate))
            t = np.arange(length) / rate
            amp = (vel / 127) ** 2
            if track.channel == 9:
                if key in (35, 36):  # kick: a falling sine
                    sound = np.sin(2 * np.pi * (50 * t + 60 * (1 - np.exp(-t / 0.03)) * 0.03))
                    sound *= np.exp(-t / 0.15)
                else:
                    sound = rng.standard_normal(length) * np.exp(-t / 0.05)
            else:
                f0 = 440.0 * 2 ** ((key - 69) / 12)
                sound = sum(np.sin(2 * np.pi * f0 * h * t) / h
                            for h in range(1, 6) if f0 * h < rate / 2.2)
                sound = sound * np.exp(-t / 0.4)
            out[start:start + length, 0] += amp * (1 - pan) * sound
            out[start:start + length, 1] += amp * pan * sound
    return out
