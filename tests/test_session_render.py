"""Offline render of a session: settings, level offset, fades and automation, any block size."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from console.offline.session_render import render_song
from console.session.model import Session
from console.session.store import SessionStore
from tests.helpers import db, rms

RATE = 48000


def _tone(path, seconds=3.0, freq=440.0, level_db=-20.0):
    t = np.arange(int(seconds * RATE)) / RATE
    s = 10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t)
    sf.write(path, np.stack([s, s], axis=1), RATE, subtype="FLOAT")


@pytest.fixture
def album(tmp_path):
    folder = tmp_path / "album"
    (tmp_path / "mixes").mkdir()
    _tone(tmp_path / "mixes" / "one.wav")
    _tone(tmp_path / "mixes" / "two.wav", seconds=2.0, freq=300.0)
    s = Session(title="render me")
    s.apply({"op": "song_add", "song": {"title": "One", "file": "../mixes/one.wav"}})
    s.apply({"op": "song_add", "song": {"title": "Two", "file": "../mixes/two.wav"}})
    s.apply({"op": "params", "id": "one", "values": {"eq.band3.gain_db": 3.0}})
    s.apply({"op": "lane", "id": "one", "param": "output.gain_db",
             "points": [[0, -20.0], [2 * RATE, 0.0]]})
    s.apply({"op": "song_set", "id": "two", "fields": {"level_offset_db": -6.0,
                                                        "fade_in_s": 0.5, "fade_out_s": 0.5}})
    store = SessionStore(folder)
    store.save(s, 1)
    store.close()
    return folder


def test_a_song_renders_the_same_whatever_the_block_size(album, tmp_path):
    render_song(album, 1, tmp_path / "a.wav", "32f", block=8192)
    render_song(album, 1, tmp_path / "b.wav", "32f", block=777)
    a, _ = sf.read(tmp_path / "a.wav")
    b, _ = sf.read(tmp_path / "b.wav")
    np.testing.assert_array_equal(a, b)
    level = [db(rms(a[k * RATE // 2:(k + 1) * RATE // 2])) for k in range(6)]
    assert level[0] < level[3] - 12  # the lane: -20 dB rising to 0 dB over two seconds
    assert level[5] == pytest.approx(level[4], abs=0.05)  # after the last point it holds


def test_level_offset_and_fades_are_rendered(album, tmp_path):
    render_song(album, 2, tmp_path / "two.wav", "32f")
    x, _ = sf.read(tmp_path / "two.wav")
    assert len(x) == 2 * RATE
    assert abs(x[0, 0]) < 1e-6 and abs(x[-1, 0]) < 1e-3  # faded in and out
    middle = x[RATE - RATE // 4:RATE + RATE // 4]
    assert db(rms(middle)) == pytest.approx(-23.01 - 6.0, abs=0.1)  # the -6 dB level plan


def test_render_from_the_command_line_one_song_or_all(album, tmp_path):
    def masterdeck(*words):
        return subprocess.run([sys.executable, "-m", "console", "render", *words],
                              capture_output=True, text=True, timeout=300)

    one = masterdeck("--session", str(album), "--song", "1", str(tmp_path / "one.flac"))
    assert one.returncode == 0, one.stderr
    assert "song 1 'One'" in one.stdout and "automation: output.gain_db" in one.stdout
    every = masterdeck("--session", str(album), "--all", str(tmp_path / "out"), "--json")
    assert every.returncode == 0, every.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["01-one.wav", "02-two.wav"]
    bad = masterdeck("--session", str(album), str(tmp_path / "x.wav"))
    assert bad.returncode == 2 and "give --song N" in bad.stderr
    missing = masterdeck("--session", str(album), "--song", "9", str(tmp_path / "x.wav"))
    assert missing.returncode == 2 and "song 9: the album has 2 songs" in missing.stderr
