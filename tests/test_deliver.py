"""``masterdeck deliver`` end to end, its files checked by tools we did not write.

A session of three songs (the second runs gapless into the third) is
delivered to every shipped target once (module fixture), then the tests read
what was written: ffmpeg's ``ebur128`` for loudness, ``md5sum -c`` for the
checksums, libcdio's ``cd-info`` for the CUE sheet, mutagen for tags, and
soundfile for the samples (the song files laid end to end are the album).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from console.delivery.deliver import DeliveryError, deliver
from console.session.model import Session
from console.session.store import SessionStore

RATE = 48000


def _song(path, seconds, f0, f1, level_db, seed):
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * f0 * seconds / np.log(f1 / f0) * (np.exp(t / seconds * np.log(f1 / f0))
                                                         - 1)
    noise = np.random.default_rng(seed).standard_normal((t.size, 2)) * 0.05
    x = 10 ** (level_db / 20) * (np.sin(phase)[:, None] * np.array([1.0, 0.8]) + noise)
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.05)[:, None]
    sf.write(path, x * ramp, RATE, subtype="FLOAT")


def _make_session(folder, second_s=5.0):
    _song(folder / "one.wav", 6.0, 100, 4000, -10, 1)
    _song(folder / "two.wav", second_s, 200, 6000, -8, 2)
    _song(folder / "three.wav", 5.5, 150, 3000, -12, 3)
    session = Session(title="Night Drive", performer="The Band", upc="0123456789012")
    session.sample_rate = RATE
    for name in ("one", "two", "three"):
        session.apply({"op": "song_add", "song": {"title": name.title(),
                                                  "file": f"../{name}.wav"}})
    session.apply({"op": "song_set", "id": "one", "fields": {"isrc": "GBABC2600001",
                                                           "gap_s": 1.0}})
    session.apply({"op": "song_set", "id": "two", "fields": {"isrc": "GBABC2600002",
                                                           "gap_s": 1.5}})
    session.apply({"op": "song_set", "id": "three", "fields": {"isrc": "GBABC2600003",
                                                             "gap_s": 0.0}})
    session.apply({"op": "params", "id": "two", "values": {"comp.threshold_db": -28.0}})
    store = SessionStore(folder / "album")
    store.save(session, 1)
    store.close()
    return folder / "album"


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deliver")
    session = _make_session(folder)
    out = folder / "out"
    report = deliver(session, out, workers=2)
    return session, out, report


def _ebur128(path):
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af",
                           "ebur128=peak=true", "-f", "null", "-"], capture_output=True,
                          text=True, check=True)
    summary = done.stderr[done.stderr.rindex("Summary:"):]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    return integrated, peak


def test_every_target_is_written_with_a_report(delivered):
    _, out, report = delivered
    names = [t["name"] for t in report["targets"]]
    assert {"streaming", "cd", "hires", "broadcast", "vinyl"} <= set(names)
    for target in report["targets"]:
        folder = out / target["name"]
        assert folder.is_dir() and not target["kept"]
        for entry in target["files"]:
            assert (folder / entry["path"]).is_file(), entry
    saved = json.loads((out / "report.json").read_text())
    assert [s["title"] for s in saved["songs"]] == ["One", "Two", "Three"]
    assert (out / "report.html").read_text().count("<svg") >= 3
    assert not list(out.glob(".*.partial-*"))  # nothing half-delivered left behind


def test_the_checksums_pass_md5sum(delivered):
    _, out, report = delivered
    for target in report["targets"]:
        done = subprocess.run(["md5sum", "-c", "MD5SUMS"], cwd=out / target["name"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.count(": OK") == len([f for f in target["files"] if "md5" in f])


def test_song_files_laid_end_to_end_are_the_album_file(delivered):
    _, out, report = delivered
    album, rate = sf.read(out / "streaming" / "album.wav", dtype="int32")
    songs = [sf.read(path, dtype="int32")[0]
             for path in sorted((out / "streaming").glob("0*.wav"))]
    assert rate == RATE and len(songs) == 3
    assert np.array_equal(np.concatenate(songs), album)
    target = next(t for t in report["targets"] if t["name"] == "streaming")
    starts = [split["start"] for split in target["splits"]]
    assert starts == list(np.cumsum([0] + [len(s) for s in songs[:-1]]))  # the split points
    info = sf.info(out / "streaming" / "album.wav")
    assert info.subtype == "PCM_24"


def test_broadcast_songs_are_at_minus_23_lufs_by_ffmpeg(delivered):
    _, out, report = delivered
    target = next(t for t in report["targets"] if t["name"] == "broadcast")
    for path in sorted((out / "broadcast").glob("0*.wav")):
        integrated, _ = _ebur128(path)
        assert integrated == pytest.approx(-23.0, abs=0.5), path.name
    assert all(c["status"] == "pass" for c in target["checks"]
               if c["rule"] == "integrated_lufs")


def test_the_cd_is_16_bit_44_1_with_a_cue_cd_info_reads(delivered, tmp_path):
    _, out, _ = delivered
    cd = out / "cd"
    info = sf.info(cd / "cd-album.wav")
    assert (info.samplerate, info.subtype) == (44100, "PCM_16")
    assert info.frames % 588 == 0
    look = tmp_path / "look"  # cd-info sizes the disc from a raw <cue stem>.bin beside it
    look.mkdir()
    shutil.copy(cd / "album.cue", look / "album.cue")
    (look / "album.bin").write_bytes(sf.read(cd / "cd-album.wav", dtype="int16")[0]
                                     .astype("<i2").tobytes())
    done = subprocess.run(["cd-info", "--no-device-info", "--cue-file", "album.cue"],
                          capture_output=True, text=True, cwd=look)
    assert done.returncode == 0, done.stderr
    tracks = re.findall(r"^\s+(\d+): \d\d:\d\d:\d\d\s+\d+ audio", done.stdout, re.M)
    assert tracks == ["1", "2", "3"], done.stdout
    assert (cd / "DDP" / "DDPID").is_file() and (cd / "DDP" / "IMAGE.DAT").is_file()
    image = (cd / "DDP" / "IMAGE.DAT").read_bytes()
    heard = sf.read(cd / "cd-album.wav", dtype="int16")[0]  # from disc time 00:02:00
    pregap = image[:88200 * 4]
    assert pregap == bytes(len(pregap))  # the first 2 s: digital silence
    assert image[88200 * 4:] == heard.astype("<i2").tobytes()  # the rest: the WAV, byte for byte


def test_tags_carry_the_isrc(delivered):
    from mutagen.flac import FLAC

    _, out, _ = delivered
    first = sorted((out / "hires").glob("01-*.flac"))[0]
    tags = FLAC(first)
    assert tags["ISRC"] == ["GBABC2600001"] and tags["TITLE"] == ["One"]
    assert sf.info(first).samplerate == 96000


def test_vinyl_sides_and_their_checks(delivered):
    _, out, report = delivered
    vinyl = next(t for t in report["targets"] if t["name"] == "vinyl")
    assert sorted(p.name for p in (out / "vinyl").glob("side-*.wav")) == ["side-A.wav",
                                                                          "side-B.wav"]
    rules = {c["rule"] for c in vinyl["checks"]}
    assert {"side_length_s", "low_side_db"} <= rules


def test_a_second_run_masters_and_writes_only_what_changed(delivered, tmp_path):
    session, out, _ = delivered
    again = deliver(session, out, workers=2)
    assert again["mastered"] == [] and all(t["kept"] for t in again["targets"])
    store = SessionStore(session)
    loaded = store.load().session
    loaded.apply({"op": "song_set", "id": "two", "fields": {"level_offset_db": -2.0}})
    store.save(loaded, loaded.generation + 1)
    store.close()
    changed = deliver(session, out, ["streaming"], workers=2)
    assert changed["mastered"] == ["two"] and not changed["targets"][0]["kept"]


def test_a_cd_that_breaks_the_red_book_is_refused_and_the_last_one_kept(tmp_path):
    session = _make_session(tmp_path)
    out = tmp_path / "out"
    deliver(session, out, ["cd"], workers=2)
    before = (out / "cd" / "MD5SUMS").read_text()
    _song(tmp_path / "two.wav", 3.0, 200, 6000, -8, 2)  # song two: 3 s, the Red Book asks 4
    with pytest.raises(DeliveryError) as refused:
        deliver(session, out, ["cd"], workers=2)
    message = str(refused.value)
    assert message.startswith("cd: song 2 'Two': ") and "track-length" in message
    assert (out / "cd" / "MD5SUMS").read_text() == before  # the last CD, as it was
    done = subprocess.run(["md5sum", "-c", "MD5SUMS"], cwd=out / "cd", capture_output=True)
    assert done.returncode == 0


def test_the_command_exits_1_when_a_rule_fails_and_says_which(tmp_path):
    session = _make_session(tmp_path)
    config = tmp_path / "config" / "masterdeck" / "targets"
    config.mkdir(parents=True)
    (config / "strict.toml").write_text(
        'description = "a plant that wants it very quiet"\nfiles = ["songs"]\n'
        '[[rule]]\nmeasure = "true_peak_dbtp"\nmax = -30.0\nwhy = "far too hot for us"\n')
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-m", "console", "deliver", str(session),
                           str(tmp_path / "out"), "--target", "strict"], capture_output=True,
                          text=True, env=env, timeout=600)
    assert done.returncode == 1, done.stderr
    assert re.search(r"FAIL strict: song 1 'One': true_peak_dbtp .* far too hot", done.stdout)
    shutil.rmtree(tmp_path / "out")
