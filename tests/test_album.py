"""The album timeline offline: gaps to the sample, gapless joins, crossfades, the arc.

Every album here is rendered by ``masterdeck render --session DIR --album`` as
a user runs it, and compared with each song rendered on its own
(``--song N``): the album must be those masters, placed.
"""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from console.session.errors import SessionError
from console.session.model import Session
from console.session.store import SessionStore
from dsp import dither
from tests.jackrecorder import clicks

RATE = 48000


def tone(path, seconds, freq, level_db, phase=0.0):
    t = np.arange(round(seconds * RATE)) / RATE
    x = 10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t + phase)
    sf.write(path, np.stack([x, x], axis=1), RATE, subtype="FLOAT")


def make_album(folder, songs):
    """A session of ``songs``: (file name, song fields, settings) each."""
    session = Session(title="album")
    for k, (name, fields, settings) in enumerate(songs, start=1):
        session.apply({"op": "song_add", "song": {"title": f"Song {k}", "file": f"../{name}"}})
        song_id = session.songs[-1].id
        if fields:
            session.apply({"op": "song_set", "id": song_id, "fields": fields})
        if settings:
            session.apply({"op": "params", "id": song_id, "values": settings})
    store = SessionStore(folder)
    store.save(session, 1)
    store.close()
    return folder


def masterdeck(*words):
    return subprocess.run([sys.executable, "-m", "console", *words], capture_output=True,
                          text=True, timeout=300)


def render_album(album, out):
    done = masterdeck("render", "--session", str(album), "--album", str(out),
                      "--bit-depth", "32f", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout), sf.read(out, dtype="float32")[0]


def render_song(album, number, out):
    done = masterdeck("render", "--session", str(album), "--song", str(number), str(out),
                      "--bit-depth", "32f")
    assert done.returncode == 0, done.stderr[-3000:]
    return sf.read(out, dtype="float32")[0]


def test_songs_sit_after_their_gaps_to_the_sample(tmp_path):
    tone(tmp_path / "a.wav", 1.0, 440, -14)
    tone(tmp_path / "b.wav", 0.8, 550, -10)
    tone(tmp_path / "c.wav", 1.2, 660, -18)
    album = make_album(tmp_path / "album", [
        ("a.wav", {"gap_s": 0.25}, {}),
        ("b.wav", {"gap_s": 0.5}, {"output.gain_db": -12.0}),  # very different settings
        ("c.wav", {"gap_s": 1.0 / 3.0}, {"eq.band3.gain_db": 6.0, "comp.bypass": 0.0}),
    ])
    report, x = render_album(album, tmp_path / "album.wav")
    starts = [round(0.25 * RATE)]
    starts.append(starts[0] + RATE + round(0.5 * RATE))
    starts.append(starts[1] + round(0.8 * RATE) + round(RATE / 3))
    frames = [RATE, round(0.8 * RATE), round(1.2 * RATE)]
    assert [s["start"] for s in report["songs"]] == starts
    assert [s["frames"] for s in report["songs"]] == frames
    assert report["album"]["frames"] == x.shape[0] == starts[2] + frames[2]
    assert sf.info(str(tmp_path / "album.wav")).frames == x.shape[0]
    silent = np.ones(x.shape[0], bool)
    for number, (start, n) in enumerate(zip(starts, frames, strict=True), start=1):
        alone = render_song(album, number, tmp_path / f"{number}.wav")
        np.testing.assert_array_equal(x[start:start + n], alone)  # its own chain, bit for bit
        silent[start:start + n] = False
    assert not np.any(x[silent])  # the gaps are digital silence, every sample of them
    # the step between two songs' settings lands on the song's first sample
    assert np.abs(x[starts[1]:starts[1] + 100]).max() > 0 and not np.any(x[starts[1] - 1])


@pytest.mark.parametrize("depth", ["24", "16"])
def test_the_gaps_of_a_dithered_album_are_digital_silence(tmp_path, depth):
    tone(tmp_path / "a.wav", 0.6, 440, -30)
    tone(tmp_path / "b.wav", 0.6, 550, -40)
    album = make_album(tmp_path / "album", [
        ("a.wav", {"gap_s": 0.3}, {"comp.bypass": 0.0, "eq.band3.gain_db": 6.0}),
        ("b.wav", {"gap_s": 0.4}, {"exciter.bypass": 0.0}),
    ])
    out = tmp_path / "album.wav"
    done = masterdeck("render", "--session", str(album), "--album", str(out),
                      "--bit-depth", depth, "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    words = sf.read(out, dtype="int32")[0] >> (32 - int(depth))
    silent = np.ones(words.shape[0], bool)
    for song in report["songs"]:
        silent[song["start"]:song["start"] + song["frames"]] = False
        assert np.count_nonzero(words[song["start"]:song["start"] + song["frames"]]) > 0
    assert not np.any(words[silent])  # no dither in the gaps (before each song, after none)
    # the music is dithered: past the dither's fade-in, the error is TPDF's 1/4 LSB^2
    exact = render_album(album, tmp_path / "float.wav")[1].astype(np.float64)
    two = report["songs"][1]
    music = slice(two["start"] + dither.REST_RAMP, two["start"] + two["frames"])
    err = words[music] - exact[music] * 2.0 ** (int(depth) - 1)
    assert abs(np.var(err) - 0.25) < 0.03


def test_a_gapless_join_follows_the_last_sample_with_the_first(tmp_path):
    freq, level = 441.0, -12.0  # 441 Hz: a whole cycle every 100 samples
    tone(tmp_path / "whole.wav", 2.0, freq, level)
    whole = sf.read(tmp_path / "whole.wav")[0]
    cut = RATE + 37  # mid-cycle, far from a zero crossing
    sf.write(tmp_path / "one.wav", whole[:cut], RATE, subtype="FLOAT")
    sf.write(tmp_path / "two.wav", whole[cut:], RATE, subtype="FLOAT")
    album = make_album(tmp_path / "album", [("one.wav", {"gap_s": 0.0}, {}),
                                            ("two.wav", {"gap_s": 0.0}, {})])
    report, x = render_album(album, tmp_path / "album.wav")
    assert [s["start"] for s in report["songs"]] == [0, cut]
    assert x.shape[0] == whole.shape[0]
    # the default chain passes a -12 dBFS tone through: the album is the tone, unbroken
    np.testing.assert_allclose(x, whole, atol=1e-4)
    assert clicks(x) == []
    # and the detector would have seen a join that was not gapless: the same two songs,
    # the second started 25 samples late
    late = np.concatenate([x[:cut], x[cut + 25:]])
    assert any(abs(c - cut) < 4 for c in clicks(late))


def test_a_crossfade_is_the_two_masters_mixed_at_equal_power(tmp_path):
    tone(tmp_path / "a.wav", 1.5, 330, -10)
    tone(tmp_path / "b.wav", 1.5, 495, -16)
    album = make_album(tmp_path / "album", [
        ("a.wav", {"gap_s": 0.0}, {"limiter.drive_db": 6.0}),
        ("b.wav", {"gap_s": 2.0, "crossfade_s": 0.5}, {"eq.band2.gain_db": -4.0}),
    ])
    report, x = render_album(album, tmp_path / "album.wav")
    one = render_song(album, 1, tmp_path / "1.wav").astype(np.float64)
    two = render_song(album, 2, tmp_path / "2.wav").astype(np.float64)
    overlap = RATE // 2
    start = one.shape[0] - overlap  # the crossfade replaces the gap
    assert [s["start"] for s in report["songs"]] == [0, start]
    assert report["songs"][1]["crossfade_s"] == 0.5 and report["songs"][1]["gap_s"] == 0.0
    assert x.shape[0] == start + two.shape[0]
    turn = 0.5 * math.pi * np.arange(overlap) / overlap
    mixed = one[start:] * np.cos(turn)[:, None] + two[:overlap] * np.sin(turn)[:, None]
    assert np.abs(x[start:start + overlap] - mixed).max() < 10 ** (-100 / 20)
    np.testing.assert_array_equal(x[:start], one[:start].astype(np.float32))
    np.testing.assert_array_equal(x[start + overlap:], two[overlap:].astype(np.float32))
    # equal power: at the middle each is at -3 dB
    assert np.cos(turn[overlap // 2]) == pytest.approx(math.sqrt(0.5), abs=1e-4)


def _ffmpeg_integrated(path):
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af",
                           "ebur128=peak=true", "-f", "null", "-"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = done.stderr[done.stderr.rindex("Summary:"):]
    integrated = float(summary.split("I:")[1].split("LUFS")[0])
    lra = float(summary.split("LRA:")[1].split("LU")[0])
    return integrated, lra


def test_the_album_arc_agrees_with_ffmpeg(tmp_path):
    tone(tmp_path / "a.wav", 6.0, 440, -24)
    tone(tmp_path / "b.wav", 6.0, 523, -18)
    tone(tmp_path / "c.wav", 6.0, 392, -14)
    album = make_album(tmp_path / "album", [
        ("a.wav", {"gap_s": 0.5}, {}),
        ("b.wav", {"gap_s": 1.0, "level_offset_db": -1.0}, {}),
        ("c.wav", {"gap_s": 1.0, "fade_out_s": 1.0}, {"limiter.drive_db": 3.0}),
    ])
    done = masterdeck("album", "--session", str(album), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    arc = json.loads(done.stdout)
    report, _ = render_album(album, tmp_path / "album.wav")
    assert [s["start"] for s in arc["songs"]] == [s["start"] for s in report["songs"]]
    before = None
    for number, song in enumerate(arc["songs"], start=1):
        render_song(album, number, tmp_path / f"{number}.wav")
        integrated, _ = _ffmpeg_integrated(tmp_path / f"{number}.wav")
        assert song["integrated_lufs"] == pytest.approx(integrated, abs=0.1)
        assert song["true_peak_dbtp"] <= -0.9 and song["max_short_term_lufs"] is not None
        assert len(song["short_term_lufs"]) == 6  # a figure a second: the shape over time
        assert song["short_term_lufs"][-1] == pytest.approx(song["integrated_lufs"], abs=1.0)
        if before is not None:
            assert song["change_lu"] == pytest.approx(song["integrated_lufs"] - before, abs=0.011)
        before = song["integrated_lufs"]
    assert arc["songs"][0]["change_lu"] is None
    assert [s["level_offset_db"] for s in arc["songs"]] == [0.0, -1.0, 0.0]
    assert arc["songs"][1]["change_lu"] > 3.0  # the album builds: each song louder
    integrated, _ = _ffmpeg_integrated(tmp_path / "album.wav")
    assert arc["album"]["integrated_lufs"] == pytest.approx(integrated, abs=0.1)
    assert arc["album"]["length_s"] == pytest.approx(0.5 + 6 + 1 + 6 + 1 + 6)
    rows = {row["id"]: row for row in arc["platforms"]}
    loudness, peak = arc["album"]["integrated_lufs"], arc["album"]["true_peak_dbtp"]
    assert rows["spotify"]["album_gain_db"] == pytest.approx(
        min(-14.0 - loudness, max(-1.0 - peak, 0.0)), abs=0.011)  # quiet: up, to -1 dBTP
    assert rows["youtube"]["album_gain_db"] is None
    youtube = rows["youtube"]["track_gains_db"]
    assert youtube[:2] == [0.0, 0.0]  # never up
    assert youtube[2] == pytest.approx(-14.0 - arc["songs"][2]["integrated_lufs"], abs=0.011)
    assert youtube[2] < 0  # the loud closer is turned down
    table = masterdeck("album", "--session", str(album))
    assert table.returncode == 0 and "Song 3" in table.stdout and "album" in table.stdout
    assert "Spotify" in table.stdout and "unverified" in table.stdout


def test_what_cannot_be_an_album_is_refused_before_anything_is_written(tmp_path):
    tone(tmp_path / "a.wav", 0.5, 440, -14)
    empty = make_album(tmp_path / "empty", [])
    done = masterdeck("render", "--session", str(empty), "--album", str(tmp_path / "x.wav"))
    assert done.returncode == 2 and "no songs" in done.stderr
    assert not (tmp_path / "x.wav").exists()
    long = make_album(tmp_path / "long", [("a.wav", {}, {}),
                                          ("a.wav", {"crossfade_s": 2.0}, {})])
    done = masterdeck("render", "--session", str(long), "--album", str(tmp_path / "x.wav"))
    assert done.returncode == 2 and "crossfade" in done.stderr and "longer" in done.stderr
    assert not (tmp_path / "x.wav").exists()
    done = masterdeck("render", "--session", str(long), "--album", str(tmp_path / "x.wav"),
                      "--song", "1")
    assert done.returncode == 2 and "--album" in done.stderr


def test_a_crossfade_is_kept_by_the_session_and_checked(tmp_path):
    session = Session()
    session.apply({"op": "song_add", "song": {"title": "One", "file": "one.wav"}})
    session.apply({"op": "song_set", "id": "one", "fields": {"crossfade_s": 1.5}})
    with pytest.raises(SessionError):
        session.apply({"op": "song_set", "id": "one", "fields": {"crossfade_s": -1.0}})
    store = SessionStore(tmp_path / "s")
    store.save(session, 1)
    store.close()
    again = SessionStore(tmp_path / "s", lock=False).load().session
    assert again.songs[0].crossfade_s == 1.5
    assert "crossfade_s = 1.5" in (tmp_path / "s" / "session.toml").read_text()
