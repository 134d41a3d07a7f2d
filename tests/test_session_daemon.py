"""``masterdeck serve --session`` as a real process: kill -9 and the journal, broken files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from console.control.client import Client
from console.session.store import SessionStore
from tests.test_daemon import _wait_for


def _tone(path, seconds=4.0, rate=48000):
    t = np.arange(int(seconds * rate)) / rate
    s = 0.1 * np.sin(2 * np.pi * 330 * t)
    sf.write(path, np.stack([s, s], 1), rate)
    return path


class Daemon:
    """Starts ``masterdeck serve --session`` on the test's JACK server."""

    def __init__(self, jack, tmp_path):
        self.folder = tmp_path / "album"
        self.run_dir = tmp_path / "run"
        self.run_dir.mkdir(mode=0o700, exist_ok=True)
        (tmp_path / "config" / "masterdeck").mkdir(parents=True, exist_ok=True)
        self.env = {**jack.env(), "XDG_CONFIG_HOME": str(tmp_path / "config"),
                    "XDG_RUNTIME_DIR": str(self.run_dir), "PYTHONUNBUFFERED": "1"}
        self.socket = str(self.run_dir / "masterdeck" / "control.sock")
        self.song = _tone(tmp_path / "song.wav")
        self.process: subprocess.Popen | None = None

    def start(self, *extra: str) -> dict:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "console", "serve", "--session", str(self.folder), *extra],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        return _wait_for(self.socket, self.process)

    def log(self) -> str:
        return self.process.stderr.read() if self.process else ""

    def stop(self, sig=signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(30)
        if os.path.exists(self.socket) and sig == signal.SIGKILL:
            os.unlink(self.socket)  # a killed daemon leaves its socket behind
        return code

    def close(self):
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)
            self.process.stderr.close()


@pytest.fixture
def daemon(jack, tmp_path):
    d = Daemon(jack, tmp_path)
    yield d
    d.close()


def test_kill_9_loses_at_most_one_second_of_moves(daemon):
    daemon.start("--song", str(daemon.song))
    moves: list[tuple[float, float]] = []
    with Client(socket_path=daemon.socket) as client:
        client.request("song_set", id="song", level_offset_db=-2.5)
        client.request("automation_lane", param="limiter.drive_db", points=[[0, 0.0],
                                                                            [96000, 6.0]])
        for k in range(150):  # a fader ridden for three seconds, ~50 moves a second
            value = -0.1 * (k + 1)
            client.request("set", values={"output.gain_db": round(value, 1)})
            moves.append((time.monotonic(), round(value, 1)))
            time.sleep(0.02)
        killed_at = time.monotonic()
        assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    daemon.close()
    loaded = SessionStore(daemon.folder, lock=False).load()
    song = loaded.session.song("song")
    value = song.settings["output.gain_db"]
    made_at = next(t for t, v in moves if v == value)
    assert killed_at - made_at <= 1.0, f"{killed_at - made_at:.2f} s of moves lost"
    assert song.level_offset_db == -2.5
    assert song.automation.lanes["limiter.drive_db"].points == ((0, 0.0), (96000, 6.0))
    # and the daemon itself comes back with it
    daemon.start()
    with Client(socket_path=daemon.socket) as client:
        assert client.request("get", ids=["output.gain_db"])["values"]["output.gain_db"] == value
        described = client.request("session")["session"]
        assert described["songs"][0]["level_offset_db"] == -2.5
    assert daemon.stop() == 0


def test_a_broken_session_file_is_reported_and_the_daemon_starts_from_the_last_good_save(
        daemon):
    daemon.start("--song", str(daemon.song))
    with Client(socket_path=daemon.socket) as client:
        client.request("set", values={"limiter.drive_db": 4.0})
        client.request("session_save")
    assert daemon.stop() == 0  # SIGTERM saves once more
    daemon.close()
    path = daemon.folder / "session.toml"
    text = path.read_text()
    broken = text.replace('"limiter.drive_db" = 4.0', '"limiter.drive_db" = four')
    path.write_text(broken)
    line = broken.splitlines().index('"limiter.drive_db" = four') + 1
    backups = {p: p.read_bytes() for p in daemon.folder.glob("backups/*/*") if p.is_file()}

    daemon.start()
    with Client(socket_path=daemon.socket) as client:
        described = client.request("session")["session"]
        assert described["loaded_from"].startswith("backups/")
        assert described["broken_file"] == str(path)
        assert client.request("get", ids=["limiter.drive_db"])["values"] == {
            "limiter.drive_db": 4.0}
        client.request("set", values={"limiter.drive_db": 5.0})
        saved = client.request("session_save")["saved"]
        assert saved["session_file"] is None
    assert daemon.stop() == 0
    log = daemon.log()
    assert f"{path}:{line}: not valid TOML" in log
    assert "left as it is until it is fixed" in log
    assert path.read_text() == broken
    for p, data in backups.items():
        assert p.read_bytes() == data
    newest = SessionStore(daemon.folder, lock=False).load()
    assert newest.session.song("song").settings["limiter.drive_db"] == 5.0  # nothing lost


def test_a_session_from_a_newer_masterdeck_is_refused_with_a_clear_message(daemon):
    daemon.folder.mkdir()
    newer = 'format = 7\nwritten_by = "masterdeck 9.0"\ntitle = "future"\n'
    (daemon.folder / "session.toml").write_text(newer)
    result = subprocess.run(
        [sys.executable, "-m", "console", "serve", "--session", str(daemon.folder)],
        env=daemon.env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "written by a newer masterdeck (masterdeck 9.0, session format 7)" in result.stderr
    assert "Upgrade masterdeck" in result.stderr
    assert (daemon.folder / "session.toml").read_text() == newer


def test_the_album_is_edited_from_the_shell(daemon, tmp_path):
    daemon.start()
    second = _tone(tmp_path / "second.wav", seconds=2.0)

    def cli(*words):
        result = subprocess.run([sys.executable, "-m", "console", "session",
                                 "--socket", daemon.socket, *words],
                                env=daemon.env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    cli("add", str(daemon.song), "--title", "Opener")
    listing = cli("add", str(second))
    assert "  1. Opener  [opener]  ../song.wav" in listing and " 2. second" in listing
    assert cli("select", "2").splitlines()[2].startswith(">  2. second")
    cli("move", "second", "0")
    cli("mode", "latch")
    assert "automation latch" in cli()
    assert "saved as generation" in cli("save")
    assert daemon.stop() == 0
    on_disk = SessionStore(daemon.folder, lock=False).load().session
    assert [s.id for s in on_disk.songs] == ["second", "opener"]
    assert on_disk.current == "second" and on_disk.automation_mode == "latch"
