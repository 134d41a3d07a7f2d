"""Loading a long song holds little more than the song (issue 16, item 6).

A 2-hour 96 kHz file once peaked at 8.79 GB of RSS to hold 2.76 GB: the
decoded file, its resampled copy, a cleaned copy and a float64 copy for the
meter were all alive at once. Measured here in a fresh process (its peak
RSS before and after the load) on a four-minute file resampled to 96 kHz.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from console.engine import tracks
from console.offline.audiofile import AudioFileError

MEASURE = """
import json, resource, sys
from console.engine.tracks import load_track
import numpy as np, soxr, dsp.meter  # what loading imports, loaded before the baseline
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
track = load_track(sys.argv[1], 96000)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"held": track.audio.nbytes, "grew": after - before,
                  "lufs": track.integrated_lufs}))
"""


def test_a_long_song_loads_in_at_most_one_and_a_half_times_what_it_holds(tmp_path):
    seconds, rate = 240, 44100
    t = np.arange(seconds * rate) / rate
    x = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    path = tmp_path / "long.wav"
    sf.write(path, np.stack([x, x], 1), rate, subtype="FLOAT")
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                          text=True, timeout=300, check=True)
    figures = json.loads(done.stdout)
    assert figures["held"] == pytest.approx(seconds * 96000 * 8, rel=0.001)
    assert figures["grew"] <= 1.5 * figures["held"], figures
    import soxr

    from dsp.meter import measure

    whole = soxr.resample(np.stack([x, x], 1), rate, 96000, quality="VHQ").astype(np.float64)
    assert figures["lufs"] == pytest.approx(measure(whole, 96000).integrated_lufs, abs=1e-9)


def test_a_song_too_big_to_hold_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "song.wav"
    sf.write(path, np.zeros((48000, 2), dtype=np.float32), 48000)
    monkeypatch.setattr(tracks, "MAX_HELD_BYTES", 100_000)
    with pytest.raises(AudioFileError, match=r"GiB to hold at this rate; a song may take"):
        tracks.load_track(path, 192000)
