"""The daemon keeps its session's album arc current, measured in a worker process."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from console.control.client import Client
from console.offline.album import measure_album
from console.session.model import Session
from console.session.store import SessionStore
from tests.test_session_daemon import Daemon

RATE = 48000


def _tone(path, seconds, freq, level_db):
    t = np.arange(int(seconds * RATE)) / RATE
    x = 10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t)
    sf.write(path, np.stack([x, x], 1), RATE)


@pytest.fixture
def daemon(jack, tmp_path):  # stopped with SIGTERM: a JACK client killed outright can wedge
    # the dummy server for the clients of this process that close after it
    _tone(tmp_path / "one.wav", 4.0, 440, -22)
    _tone(tmp_path / "two.wav", 4.0, 550, -18)
    session = Session(title="arc")
    for name in ("one", "two"):
        session.apply({"op": "song_add", "song": {"title": name.title(),
                                                  "file": f"../{name}.wav"}})
    store = SessionStore(tmp_path / "album")
    store.save(session, 1)
    store.close()
    d = Daemon(jack, tmp_path)
    yield d
    if d.process is not None and d.process.poll() is None:
        d.stop()
    d.close()


def _arc_after(client, runs, timeout=120.0):
    """The arc once ``runs`` measurements have finished and none is under way."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.request("album")["album"]
        if answer["runs"] >= runs and not answer["measuring"]:
            return answer["arc"]
        time.sleep(0.2)
    raise AssertionError(f"no arc after {runs} measurements: {answer}")


def test_the_arc_is_measured_and_measured_again_when_the_level_plan_changes(daemon):
    daemon.start()
    with Client(socket_path=daemon.socket) as client:
        first = _arc_after(client, 1)
        assert "error" not in first, first
        here = measure_album(daemon.folder)  # the same session, measured in this process
        assert first == here
        change = first["songs"][1]["change_lu"]
        assert change == pytest.approx(4.0, abs=0.1)  # the second mix is 4 dB hotter
        client.request("song_set", id="two", level_offset_db=-3.0)
        second = _arc_after(client, 2)
    assert second["songs"][1]["integrated_lufs"] == pytest.approx(
        first["songs"][1]["integrated_lufs"] - 3.0, abs=0.02)
    assert second["songs"][1]["change_lu"] == pytest.approx(change - 3.0, abs=0.02)
    assert second["songs"][0] == first["songs"][0]
    done = subprocess.run([sys.executable, "-m", "console", "album", "--json", "--wait",
                           "--socket", daemon.socket], capture_output=True, text=True,
                          env=daemon.env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == second
    assert daemon.stop() == 0


def test_a_ride_is_one_measurement_not_one_per_move(daemon):
    daemon.start()
    with Client(socket_path=daemon.socket) as client:
        before = _arc_after(client, 1)
        for k in range(40):  # a fader ridden for a second
            client.request("song_set", id="one", level_offset_db=-0.1 * (k + 1))
            time.sleep(0.025)
        arc = _arc_after(client, 2)
        time.sleep(2.0)  # nothing more was asked for
        answer = client.request("album")["album"]
    assert answer["runs"] == 2 and not answer["measuring"]
    assert arc["songs"][0]["integrated_lufs"] == pytest.approx(
        before["songs"][0]["integrated_lufs"] - 4.0, abs=0.02)


def test_a_song_that_cannot_be_read_is_reported_and_the_daemon_goes_on(daemon, tmp_path):
    daemon.start()
    with Client(socket_path=daemon.socket) as client:
        _arc_after(client, 1)
        (tmp_path / "broken.wav").write_bytes(b"RIFF not really")
        client.request("song_set", id="two", file="../broken.wav")
        arc = _arc_after(client, 2)
        assert "error" in arc and "broken.wav" in arc["error"]
        assert isinstance(client.request("status"), dict)  # still answering
    done = subprocess.run([sys.executable, "-m", "console", "album", "--socket",
                           daemon.socket], capture_output=True, text=True, env=daemon.env,
                          timeout=60)
    assert done.returncode == 2 and "could not measure the album" in done.stderr


def test_the_level_plan_is_undone_and_redone_a_ride_at_a_time(daemon):
    daemon.start()

    def plan(client):
        song = next(s for s in client.request("session")["session"]["songs"] if s["id"] == "two")
        return song["level_offset_db"], song["gap_s"]

    with Client(socket_path=daemon.socket) as client:
        for k in range(20):  # one ride of the fader that is song two's level offset
            client.request("song_set", id="two", level_offset_db=-0.25 * (k + 1))
        assert plan(client) == (-5.0, 2.0)
        time.sleep(1.2)  # a pause: the next change is a step of its own
        client.request("song_set", id="two", gap_s=0.5)
        undone = client.request("undo")["undone"]
        assert undone["kind"] == "plan" and undone["song"] == "two"
        assert plan(client) == (-5.0, 2.0)
        client.request("undo")
        assert plan(client) == (0.0, 2.0)  # the whole ride, at once
        client.request("redo")
        assert plan(client) == (-5.0, 2.0)
        client.request("song_set", id="two", title="Renamed")  # not the level plan
        assert client.request("session")["session"]["undo"]["undo"]["kind"] == "plan"


def test_the_master_is_previewed_at_a_platforms_gain_from_the_arc(daemon):
    from console.offline.platforms import BY_ID

    daemon.start()
    with Client(socket_path=daemon.socket) as client:
        arc = _arc_after(client, 1)
        one = arc["songs"][0]  # the current song: a -22 dBFS tone, quiet
        state = client.request("preview", platform="spotify")["preview"]
        want = BY_ID["spotify"].track_gain_db(one["integrated_lufs"], one["true_peak_dbtp"])
        assert state["gain_db"] == pytest.approx(want, abs=0.01) and state["turns"] == "up"
        assert state["gain_db"] <= -1.0 - one["true_peak_dbtp"] + 0.01  # up to -1 dBTP only
        album = client.request("preview", platform="spotify", album=True)["preview"]
        assert album["gain_db"] == pytest.approx(BY_ID["spotify"].album_gain_db(
            arc["album"]["integrated_lufs"], arc["album"]["true_peak_dbtp"]), abs=0.01)
        youtube = client.request("preview", platform="youtube", album=True)["preview"]
        assert youtube["gain_db"] == 0.0 and youtube["turns"] == "neither"
        assert "track by track" in youtube["why"]
        client.request("song_select", number=2)
        custom = client.request("preview", platform="custom", reference_lufs=-30.0)["preview"]
        two = arc["songs"][1]
        assert custom["gain_db"] == pytest.approx(-30.0 - two["integrated_lufs"], abs=0.01)
        assert client.request("preview", platform="off")["preview"] == {"platform": None}
    done = subprocess.run([sys.executable, "-m", "console", "preview", "apple", "--socket",
                           daemon.socket], capture_output=True, text=True, env=daemon.env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Apple Music" in done.stdout and "dB" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "console", "preview", "custom", "--socket",
                          daemon.socket], capture_output=True, text=True, env=daemon.env,
                         timeout=60)
    assert bad.returncode == 2 and "reference_lufs" in bad.stderr



def _cli(daemon, *args):
    return subprocess.run([sys.executable, "-m", "console", *args, "--socket", daemon.socket],
                          capture_output=True, text=True, env=daemon.env, timeout=120)


def test_mode_album_and_join_from_the_command_line(daemon):
    daemon.start()
    done = _cli(daemon, "mode", "album")
    assert done.returncode == 0, done.stderr
    assert "album mode: 2 songs" in done.stdout
    with Client(socket_path=daemon.socket) as client:
        state = client.request("album_mode")["album_mode"]
        assert state["on"] and [s["id"] for s in state["songs"]] == ["one", "two"]
        start = state["songs"][1]["start_s"]
        assert client.request("status")["transport"]["album_mode"]
    done = _cli(daemon, "join", "2", "--loop")
    assert done.returncode == 0, done.stderr
    assert "join into song 2" in done.stdout and "(looped)" in done.stdout
    with Client(socket_path=daemon.socket) as client:
        loop = client.request("status")["transport"]["loop"]
        assert loop["on"] and loop["start_s"] == pytest.approx(start - 3.0, abs=0.001)
        # a level offset moved while the album plays goes to the session as any other
        client.request("song_set", id="two", level_offset_db=-2.0)
        assert client.request("session")["session"]["songs"][1]["level_offset_db"] == -2.0
    bad = _cli(daemon, "join", "7")
    assert bad.returncode == 2 and "songs 2 to 2" in bad.stderr
    done = _cli(daemon, "mode", "song")
    assert done.returncode == 0 and "album mode off" in done.stdout
    assert daemon.stop() == 0
