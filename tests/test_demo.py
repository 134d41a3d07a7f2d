"""``masterdeck demo``: the album it makes, and a run on its own dummy JACK server."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from console.automation.lanes import value_at
from console.devtools import demo_session
from console.devtools.demo_album import SONGS, ensure_album, make_album
from console.session.errors import SessionError
from console.session.store import SessionStore
from dsp.meter import measure


@pytest.fixture(scope="module")
def mixes(tmp_path_factory):
    """The demo songs, written once for the module (a build finds and keeps them)."""
    folder = tmp_path_factory.mktemp("demo-mixes")
    ensure_album(folder)
    return folder


def _seed(root: Path, mixes: Path) -> Path:
    """A demo folder holding the module's songs already, as after an earlier run."""
    shutil.copytree(mixes, root / demo_session.MIXES_DIR, copy_function=shutil.copy)
    return root


# the album and the session ---------------------------------------------------------------------
def test_the_demo_album_is_an_album_of_different_songs_and_a_loud_reference(tmp_path, mixes):
    paths = make_album(tmp_path)
    assert [p.name for p in paths] == [s.filename for s in SONGS]
    loudness = {}
    for path, song in zip(paths, SONGS, strict=True):
        x, rate = sf.read(path)
        assert rate == 48000 and x.shape[1] == 2 and x.shape[0] > 10 * rate
        assert np.abs(x).max() < 1.0
        loudness[song.id] = measure(x, rate).integrated_lufs
    assert loudness["client-ref"] > loudness["engine-room"] > loudness["undertow"] \
        > loudness["slow-light"]  # different character and loudness
    assert loudness["client-ref"] - loudness["slow-light"] > 10.0
    for path in paths:  # the same on every machine: as written in another folder
        assert path.read_bytes() == (mixes / path.name).read_bytes()


def test_the_album_is_written_once_and_again_only_when_missing(tmp_path):
    first = ensure_album(tmp_path)
    stamps = [p.stat().st_mtime_ns for p in first]
    assert ensure_album(tmp_path) == first
    assert [p.stat().st_mtime_ns for p in first] == stamps  # not rewritten
    first[2].unlink()
    assert ensure_album(tmp_path)[2].is_file()


def test_the_demo_session_is_an_album_with_a_plan_notes_automation_and_a_reference(tmp_path,
                                                                                    mixes):
    demo = demo_session.build(_seed(tmp_path, mixes))
    session = SessionStore(demo.folder, lock=False).load().session
    assert session.title == demo_session.TITLE
    songs = session.songs
    assert [s.id for s in songs] == ["rising-tide", "engine-room", "slow-light", "undertow"]
    assert [s.title for s in songs] == [s.title for s in SONGS[:4]]
    for song in songs:
        assert (demo.folder / song.file).resolve().is_file(), song.file
        assert song.settings.get("comp.bypass") == 0.0  # the gentle master is on every song
    offsets = {s.id: s.level_offset_db for s in songs}
    assert offsets["slow-light"] <= offsets["undertow"] - 1.0  # the ballad sits lower
    assert max(offsets.values()) == 0.0 and min(offsets.values()) >= -3.0
    assert songs[0].gap_s == 0.0 and all(s.gap_s >= 1.0 for s in songs[1:])
    assert songs[-1].fade_out_s > 0.0  # the album ends in a fade
    notes = [m.note for s in songs for m in s.markers]
    assert all(s.markers for s in songs) and all(notes)
    assert any("chorus lifts here" in n for n in notes)
    assert any(n.startswith("client: vocal a touch loud") for n in notes)
    assert session.current == "rising-tide" and session.automation_mode == "read"

    lanes = songs[0].automation.lanes
    rate = session.sample_rate
    gain = lanes["output.gain_db"]
    start, end = (value_at(gain.param, gain.points, t * rate) for t in (0.0, 30.0))
    assert end - start >= 10.0  # grows from soft to loud
    samples = [value_at(gain.param, gain.points, t * rate) for t in np.arange(0, 30, 0.5)]
    assert all(b >= a for a, b in pairwise(samples))  # never falls
    drive = lanes["limiter.drive_db"]
    assert drive.points[-1][1] > drive.points[0][1]

    assert [r.id for r in session.references] == ["client-ref"]
    assert session.reference == "client-ref"
    assert (demo.folder / session.references[0].file).resolve().is_file()


def test_the_demo_session_is_built_the_same_every_time_and_never_over_a_real_one(tmp_path,
                                                                                   mixes):
    demo = demo_session.build(_seed(tmp_path, mixes))
    files = sorted(p for p in demo.folder.rglob("*") if p.is_file())
    first = {p: p.read_bytes() for p in files}
    (demo.folder / "journal").mkdir(exist_ok=True)  # what a demo run leaves behind
    (demo.folder / "journal" / "000002.jsonl").write_text("{}\n")
    demo_session.build(tmp_path)
    assert sorted(p for p in demo.folder.rglob("*") if p.is_file()) == files
    assert {p: p.read_bytes() for p in files} == first

    mine = _seed(tmp_path / "mine", mixes)
    (mine / demo_session.SESSION_DIR).mkdir(parents=True)
    toml = mine / demo_session.SESSION_DIR / "session.toml"
    toml.write_text('format = 1\ntitle = "My album"\n')
    with pytest.raises(SessionError, match="other than the demo session"):
        demo_session.build(mine)
    assert toml.read_text() == 'format = 1\ntitle = "My album"\n'


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
    assert "Rising Tide" in last and "LUFS" in last and "[master]" in last
    assert re.search(r" S *-\d+\.\d I *-\d+\.\d LUFS", last)  # loudness was measured


def _jackd_running(name: str) -> bool:
    """Whether a jackd process serving ``name`` is alive (zombies excluded)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if name.encode() in argv and state != "Z":
            return True
    return False


def test_sigterm_stops_the_demo_and_the_jack_server_it_started(tmp_path):
    env_home = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "c"),
                "XDG_RUNTIME_DIR": str(tmp_path / "run"), "PYTHONUNBUFFERED": "1"}
    (tmp_path / "run").mkdir(mode=0o700)
    process = subprocess.Popen(
        [sys.executable, "-m", "console", "demo", "--jack", "always"],
        env={**os.environ, **env_home}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    try:
        seen = ""
        deadline = time.monotonic() + 240
        while "ready in" not in seen and time.monotonic() < deadline:
            line = process.stderr.readline()
            assert line, f"demo ended early: {seen[-2000:]}"
            seen += line
        name = re.search(r"dummy JACK server \(([^)]+)\)", seen).group(1)
        assert _jackd_running(name)
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, process.stderr.read()[-2000:]
        assert not _jackd_running(name)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stderr.close()
