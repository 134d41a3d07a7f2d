"""``masterdeck demo``: the album it makes, and a run on its own dummy JACK server."""

import os
import re
import subprocess
import sys

import numpy as np
import soundfile as sf

from console.demo_album import SONGS, make_album
from dsp.meter import measure


def test_the_demo_album_is_an_album_of_different_songs_and_a_loud_reference(tmp_path):
    paths = make_album(tmp_path)
    assert [p.name for p in paths] == [s.filename for s in SONGS]
    loudness = {}
    for path, song in zip(paths, SONGS, strict=True):
        x, rate = sf.read(path)
        assert rate == 48000 and x.shape[1] == 2 and x.shape[0] > 10 * rate
        assert np.abs(x).max() < 1.0
        loudness[song.filename] = measure(x, rate).integrated_lufs
    ballad, rock, electronic, reference = loudness.values()
    assert reference > rock > electronic > ballad  # different character and loudness
    assert reference - ballad > 10.0
    again = make_album(tmp_path / "again")  # the same on every machine
    assert sf.read(again[1])[0].tobytes() == sf.read(paths[1])[0].tobytes()


def test_demo_runs_on_its_own_jack_server_and_stops_cleanly(tmp_path):
    env_home = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "c"),
                "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    (tmp_path / "run").mkdir(mode=0o700)
    result = subprocess.run(
        [sys.executable, "-m", "console", "demo", "--seconds", "4", "--jack", "always"],
        env={**os.environ, **env_home}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dummy JACK server" in result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert "Slow Light" in last and "LUFS" in last and "[master]" in last
    assert re.search(r" S *-\d+\.\d I *-\d+\.\d LUFS", last)  # loudness was measured
